"""Start the stand-in as a subprocess and drive its test controls (stdlib).

    from stripe_standin.process import start_standin, inject_fault, reset

    with start_standin() as standin:          # port 0: a free port
        client = stripe.StripeClient("sk_test_x",
                                     base_addresses={"api": standin.url},
                                     max_network_retries=2)
        inject_fault(standin.url, count=1, status=500, when="after")
        ...
        reset(standin.url)                    # DELETE /_config/data

Nothing here imports localstripe: the test suite and ``make run`` can import
this module without the GPL code in their own process.
"""

import json
import os
import pathlib
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref

READY_RE = re.compile(r"^stripe-standin listening on (http://127\.0\.0\.1:(\d+))\s*$")
ROOT = pathlib.Path(__file__).resolve().parent.parent


class StandinError(RuntimeError):
    """The stand-in did not start, or answered a control call with an error."""


def _terminate(proc, timeout=5.0):
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
        except ProcessLookupError:
            pass
    if proc.stdout is not None and not proc.stdout.closed:
        proc.stdout.close()
    return proc.returncode


class StandinProcess:
    """A running ``python -m stripe_standin``; ``.url``, ``.port``, ``.stop()``."""

    def __init__(self, process, url, port):
        self.process = process
        self.url = url
        self.port = port
        self._finalizer = weakref.finalize(self, _terminate, process)

    @property
    def pid(self):
        return self.process.pid

    @property
    def running(self):
        return self.process.poll() is None

    def stop(self, timeout=5.0):
        """SIGTERM, wait up to ``timeout`` s, then SIGKILL. Returns exit code."""
        self._finalizer.detach()
        return _terminate(self.process, timeout)

    def reset(self):
        reset(self.url)

    def inject_fault(self, **kwargs):
        return inject_fault(self.url, **kwargs)

    def clear_faults(self):
        clear_faults(self.url)

    def set_search_lag(self, seconds):
        return set_search_lag(self.url, seconds)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        state = "running" if self.running else "stopped"
        return f"<StandinProcess {self.url} pid={self.pid} {state}>"


def _env(extra=None):
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + path if path else "")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(extra or {})
    return env


def start_standin(port=0, timeout=10.0, *, stderr=None, access_log=False, env=None, python=None):
    """Spawn ``python -m stripe_standin --port PORT`` and wait until healthy.

    ``stderr``: where the stand-in's log goes (default: inherited).
    Raises StandinError if it exits, or is not healthy within ``timeout`` s.
    """
    cmd = [python or sys.executable, "-m", "stripe_standin", "--port", str(int(port))]
    if access_log:
        cmd.append("--access-log")
    deadline = time.monotonic() + timeout
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, env=_env(env), cwd=str(ROOT)
    )
    lines = queue.Queue()

    def read_first_line():
        try:
            lines.put(proc.stdout.readline())
        except (OSError, ValueError):
            lines.put(b"")

    threading.Thread(target=read_first_line, daemon=True, name="stripe-standin-ready").start()
    try:
        line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
    except queue.Empty:
        _terminate(proc)
        raise StandinError(f"stripe-standin did not start within {timeout}s") from None
    text = line.decode("utf-8", "replace").strip()
    m = READY_RE.match(text)
    if not m:
        code = _terminate(proc)
        raise StandinError(f"stripe-standin did not start (exit code {code}); first line: {text!r}. See its stderr.")
    url, bound = m.group(1), int(m.group(2))
    standin = StandinProcess(proc, url, bound)

    while True:
        if health(url, timeout=1.0):
            return standin
        if proc.poll() is not None or time.monotonic() > deadline:
            standin.stop()
            raise StandinError(f"stripe-standin at {url} is not healthy")
        time.sleep(0.02)


# ------------------------------------------------------------ control calls

# Never send loopback control calls through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _request(method, url, fields=None, timeout=5.0):
    data = None
    headers = {}
    if fields is not None:
        data = json.dumps(fields).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
        raise StandinError(f"{method} {url} -> {exc.code}: {body.decode('utf-8', 'replace')}") from None


def health(url, timeout=2.0):
    """True if ``GET /_standin/health`` answers 200 "ok"."""
    try:
        status, body = _request("GET", url.rstrip("/") + "/_standin/health", timeout=timeout)
    except (StandinError, OSError):
        return False
    return status == 200 and body.strip() == b"ok"


def reset(url, timeout=5.0):
    """Forget everything: localstripe's data, used tokens, idempotency
    records and faults (``DELETE /_config/data``)."""
    _request("DELETE", url.rstrip("/") + "/_config/data", timeout=timeout)


def inject_fault(
    url,
    count=1,
    status=500,
    when="before",
    path_prefix="/v1/charges",
    *,
    method=None,
    delay=0.0,
    message=None,
    should_retry=None,
    timeout=5.0,
):
    """Make the next ``count`` API calls under ``path_prefix`` fail.

    ``when="before"``: answer ``status`` without doing anything.
    ``when="after"``: do the real work, then answer ``status`` instead (a
    lost response); an idempotent retry then gets the real response.
    ``status=0`` with ``delay``: no error, only a slow answer.
    Returns the fault as the stand-in stored it.
    """
    fields = {"count": count, "status": status, "when": when, "path_prefix": path_prefix, "delay": delay}
    if method is not None:
        fields["method"] = method
    if message is not None:
        fields["message"] = message
    if should_retry is not None:
        fields["should_retry"] = "true" if should_retry else "false"
    _, body = _request("POST", url.rstrip("/") + "/_standin/faults", fields, timeout=timeout)
    return json.loads(body)


def clear_faults(url, timeout=5.0):
    """Remove every pending fault, set the search lag back to 0 and webhook
    delivery back to the default, dropping held events
    (``DELETE /_standin/faults``)."""
    _request("DELETE", url.rstrip("/") + "/_standin/faults", timeout=timeout)


def set_search_lag(url, seconds, timeout=5.0):
    """Make search eventually consistent, as Stripe's is: an object written less
    than ``seconds`` ago is not yet found (or not yet in its new state) by
    ``/v1/charges/search`` and ``/v1/payment_intents/search``. 0 turns it off;
    :func:`clear_faults` does too (``POST /_standin/search_lag``)."""
    _, body = _request("POST", url.rstrip("/") + "/_standin/search_lag", {"seconds": seconds}, timeout=timeout)
    return json.loads(body)["seconds"]


def idempotent_requests(url, path=None, timeout=5.0):
    """The API requests the stand-in received with an ``Idempotency-Key``, oldest first (replays too):
    ``[{"method", "path", "idempotency_key", "status", "id", "replayed"}]``, only those to ``path``
    (e.g. ``/v1/refunds``) when given (``GET /_standin/idempotency``)."""
    query = "?" + urllib.parse.urlencode({"path": path}) if path else ""
    _, body = _request("GET", url.rstrip("/") + "/_standin/idempotency" + query, timeout=timeout)
    return json.loads(body)["data"]


def settle_charge(url, charge_id, outcome="succeeded", timeout=5.0):
    """A charge made with the stand-in's ``tok_standin_pending`` stays
    ``pending`` (as some payment methods do on Stripe) until this: ``outcome``
    ``succeeded`` or ``failed``, with its ``charge.succeeded`` /
    ``charge.failed`` webhook (``POST /_standin/charges/{id}/settle``)."""
    _, body = _request(
        "POST",
        url.rstrip("/") + "/_standin/charges/" + urllib.parse.quote(charge_id, safe="") + "/settle",
        {"outcome": outcome},
        timeout=timeout,
    )
    return json.loads(body)


def settle_payment_intent(url, payment_intent_id, outcome="succeeded", timeout=5.0):
    """A PaymentIntent confirmed with the stand-in's delayed test card (4000 0099 0000 0004) is
    ``processing`` until this: ``outcome`` ``succeeded`` or ``failed``, with its events
    (``POST /_standin/payment_intents/{id}/settle``). Returns the PaymentIntent."""
    _, body = _request(
        "POST",
        url.rstrip("/") + "/_standin/payment_intents/" + urllib.parse.quote(payment_intent_id, safe="") + "/settle",
        {"outcome": outcome},
        timeout=timeout,
    )
    return json.loads(body)


def set_webhook_delivery(
    url, *, delay=None, duplicate=None, hold=None, hold_count=None, order=None, seed=None, timeout=5.0
):
    """How signed webhooks go out (``POST /_standin/webhooks``; see
    ``stripe_standin/webhook_delivery.py``): ``delay`` seconds late,
    ``duplicate`` (each twice), ``hold`` (kept until :func:`release_webhooks`;
    with ``hold_count``, released by themselves every N), in ``order``
    ``fifo``/``reverse``/``shuffle`` (``seed``). Only the options given change.
    :func:`clear_faults` goes back to the default (and drops held events)."""
    fields = {
        k: v
        for k, v in {
            "delay": delay,
            "duplicate": duplicate,
            "hold": hold,
            "hold_count": hold_count,
            "order": order,
            "seed": seed,
        }.items()
        if v is not None
    }
    _, body = _request("POST", url.rstrip("/") + "/_standin/webhooks", fields, timeout=timeout)
    return json.loads(body)


def held_webhooks(url, timeout=5.0):
    """The events held back (``[{"id", "type"}]``), oldest first."""
    _, body = _request("GET", url.rstrip("/") + "/_standin/webhooks", timeout=timeout)
    return json.loads(body)["held"]


def release_webhooks(url, *, count=None, order=None, seed=None, types=None, timeout=30.0):
    """Deliver held events now, and return them (``[{"id", "type"}]``) once
    they have been delivered: ``count`` (the first N), ``types`` (only
    those), ``order``/``seed`` (default: the delivery settings')."""
    fields = {
        k: v
        for k, v in {"count": count, "order": order, "seed": seed, "types": list(types) if types else None}.items()
        if v is not None
    }
    _, body = _request("POST", url.rstrip("/") + "/_standin/webhooks/release", fields, timeout=timeout)
    return json.loads(body)["data"]


def register_webhook(url, webhook_id, target_url, secret, events=None, timeout=5.0):
    """Have the stand-in POST signed events to ``target_url`` (localstripe's
    ``/_config/webhooks/{id}``); ``events``: list of types, None for all."""
    fields = {"url": target_url, "secret": secret}
    if events is not None:
        fields["events"] = list(events)
    _request(
        "POST",
        url.rstrip("/") + "/_config/webhooks/" + urllib.parse.quote(webhook_id, safe=""),
        fields,
        timeout=timeout,
    )


# ------------------------------------------------------------ Checkout Sessions' hosted page


class CheckoutPageError(StandinError):
    """The hosted payment page answered with a message instead of a redirect to ``success_url``:
    a declined card, a failed 3-D Secure check, a field error, an expired or complete session.
    ``.message`` is the page's message, ``.status`` its HTTP status, ``.field_errors`` the
    per-field messages ({"number": …}), ``.page`` the HTML."""

    def __init__(self, message, status, page, field_errors=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.page = page
        self.field_errors = field_errors or {}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_PAGE_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def _page_request(url, fields=None, timeout=10.0):
    """(status, Location or None, HTML) of a GET, or of a form POST when ``fields`` are given."""
    data = urllib.parse.urlencode(fields).encode() if fields is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if data is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        parts = urllib.parse.urlsplit(url)
        req.add_header("Origin", f"{parts.scheme}://{parts.netloc}")  # as a browser sends it
    try:
        with _PAGE_OPENER.open(req, timeout=timeout) as resp:
            return resp.status, resp.headers.get("Location"), resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location"), exc.read().decode("utf-8", "replace")


def _parse_page(text):
    """The page's forms ({id: {"action", "fields": {name: value}, "readonly": {names}}}), its
    message (``#cs-error`` or the closed-session notice) and its field errors."""
    from html.parser import HTMLParser

    class Parser(HTMLParser):
        def __init__(self):
            super().__init__()
            self.forms, self.form, self.capture, self.texts = {}, None, None, {}

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "form":
                self.form = self.forms.setdefault(
                    a.get("id", ""), {"action": a.get("action", ""), "fields": {}, "readonly": set()}
                )
            elif tag == "input" and self.form is not None and a.get("name"):
                self.form["fields"][a["name"]] = a.get("value") or ""
                if "readonly" in a:
                    self.form["readonly"].add(a["name"])
            if a.get("id") in ("cs-error", "cs-closed") or (a.get("id") or "").endswith("-error"):
                self.capture = a["id"]
                self.texts.setdefault(self.capture, "")

        def handle_endtag(self, tag):
            if tag == "form":
                self.form = None
            if tag in ("p", "section"):
                self.capture = None

        def handle_data(self, data):
            if self.capture is not None:
                self.texts[self.capture] += data

    parser = Parser()
    parser.feed(text)
    texts = {k: " ".join(v.split()) for k, v in parser.texts.items()}
    message = texts.get("cs-error") or texts.get("cs-closed") or ""
    fields = {
        k[len("cs-") : -len("-error")]: v
        for k, v in texts.items()
        if k.startswith("cs-") and k.endswith("-error") and k != "cs-error" and v
    }
    return parser.forms, message, fields


def _page_error(status, text, default):
    _, message, field_errors = _parse_page(text)
    if field_errors:
        message = (message + " " if message else "") + "; ".join(f"{k}: {v}" for k, v in field_errors.items())
    return CheckoutPageError(message or default, status, text, field_errors)


def pay_checkout_session(
    session_url, card="4242424242424242", email=None, authenticate=True, exp="12/34", cvc="123", timeout=10.0
):
    """Pay a Checkout Session's hosted page over HTTP as a browser would, and return the URL the
    buyer's browser is then sent to (``success_url`` with the session id filled in).

    GETs the page at ``session_url`` (the session's ``url``), fills its form (``email`` only when
    the page asks for one: default ``buyer@example.com``; a ``customer_email`` is prefilled and
    read-only), posts it and, for a 3-D Secure card, answers the bank check with Complete
    (``authenticate=True``) or Fail authentication. Raises :class:`CheckoutPageError` with the
    page's message when the page answers with one instead (a declined card, failed
    authentication, a field error, an expired or complete session)."""
    status, _, text = _page_request(session_url, timeout=timeout)
    forms, message, _ = _parse_page(text)
    form = forms.get("cs-pay-form")
    if status != 200 or form is None:
        raise _page_error(status, text, f"no payment form at {session_url} ({status})")
    fields = dict(form["fields"])
    if "email" not in form["readonly"]:
        fields["email"] = email or "buyer@example.com"
    fields.update(number=card, exp=exp, cvc=cvc)
    action = urllib.parse.urljoin(session_url, form["action"])
    status, location, text = _page_request(action, fields, timeout=timeout)
    if status == 303 and location:
        target = urllib.parse.urljoin(action, location)
        if urllib.parse.urlsplit(target).path != urllib.parse.urlsplit(session_url).path:
            return target
        # Back to the page: the bank asks for 3-D Secure.
        status, _, text = _page_request(target, timeout=timeout)
        forms, _, _ = _parse_page(text)
        check = forms.get("cs-3ds-form")
        if check is None:
            raise _page_error(status, text, "expected the 3-D Secure step")
        answer = dict(check["fields"], result="complete" if authenticate else "fail")
        action = urllib.parse.urljoin(target, check["action"])
        status, location, text = _page_request(action, answer, timeout=timeout)
        if status == 303 and location:
            return urllib.parse.urljoin(action, location)
    raise _page_error(status, text, f"the payment page answered {status}")


def expire_checkout_session(url, session_id, timeout=5.0):
    """Make an open Checkout Session expire now, as when its ``expires_at`` passes (its
    ``checkout.session.expired`` event goes out; an unpaid PaymentIntent is canceled). Returns
    the session (``POST /_standin/checkout/sessions/{id}/expire_now``)."""
    _, body = _request(
        "POST",
        url.rstrip("/") + "/_standin/checkout/sessions/" + urllib.parse.quote(session_id, safe="") + "/expire_now",
        {},
        timeout=timeout,
    )
    return json.loads(body)


def settle_checkout_session(url, session_id, outcome="succeeded", timeout=5.0):
    """A session paid with the stand-in's delayed test card (4000 0099 0000 0004) is ``complete``
    with ``payment_status: unpaid`` until this: ``outcome`` ``succeeded`` (``paid``,
    ``checkout.session.async_payment_succeeded``) or ``failed``
    (``checkout.session.async_payment_failed``). Returns the session, its PaymentIntent expanded
    (``POST /_standin/checkout/sessions/{id}/settle``)."""
    _, body = _request(
        "POST",
        url.rstrip("/") + "/_standin/checkout/sessions/" + urllib.parse.quote(session_id, safe="") + "/settle",
        {"outcome": outcome},
        timeout=timeout,
    )
    return json.loads(body)
