"""The hosted payment page of a Checkout Session, at the session's ``url``.

``GET /checkout/pay/{id}``: a plain HTML page on the stand-in's own origin (its CSS and optional JS
from ``/checkout/pay.css`` and ``/checkout/pay.js``, nothing from elsewhere but the line items'
images), plainly a local test page. It shows the store's name (``branding_settings[display_name]``,
else ``metadata[store_name]``, else "Stand-in test shop"), each line item (name, description, first
image, quantity × unit price), the subtotal, the tax line when there is tax, the total, and a form:

    <form id="cs-pay-form" method="post" action="/checkout/pay/{id}">
      csrf (hidden, the session's anti-forgery value), email (read-only when customer_email was
      given), number, exp ("MM / YY"), cvc

Without JavaScript the form posts as is; with it, ``pay.js`` formats and checks the fields as the
checkout.js modal does. The server checks them the same way (same messages) and then:

- a card that pays: the PaymentIntent (amount_total) and its charge are made, the session becomes
  ``complete``/``paid`` and the answer is a 303 to ``success_url`` (``{CHECKOUT_SESSION_ID}``
  filled in);
- a decline card (0002, 9995, 0069, 0127, 0119, 9987, 9979, 4100…0019, 0341): 402, the page again
  with the card's message (``#cs-error``), the session still ``open``;
- a 3-D Secure card (3155, 3184, 3220, 3063, 3178, 1629): 303 back to the page, which now shows the
  bank check (``#cs-3ds-form``, ``POST /checkout/pay/{id}/authenticate`` with ``result=complete``
  or ``result=fail``); failing shows Stripe's authentication message and the card form again;
- the stand-in's delayed card (4000 0099 0000 0004): the session completes ``unpaid``; its payment
  settles through ``POST /_standin/checkout/sessions/{id}/settle``.

"Cancel and go back" links to ``cancel_url`` (when given). An expired session's page says so; a
complete one says so and links to ``success_url``. A post without the right anti-forgery value, or
from another origin (``Origin``/``Sec-Fetch-Site``), is refused (403).
"""

import datetime
import html
import re
import secrets
import urllib.parse

from aiohttp import web

from . import cards, payment_intents
from .checkout_sessions import DELAYED_CARD, TAX_RATE, get_session
from .currencies import currency_digits
from .errors import StripeError

NOTICE = "Local test checkout — no real payment"
SYMBOLS = {
    "usd": "$",
    "eur": "€",
    "gbp": "£",
    "jpy": "¥",
    "cad": "CA$",
    "aud": "A$",
    "nzd": "NZ$",
    "chf": "CHF ",
    "inr": "₹",
}
TEST_CARDS = [
    ("4242 4242 4242 4242", "pays"),
    ("4000 0025 0000 3155", "asks for 3-D Secure"),
    ("4000 0000 0000 0002", "is declined"),
    ("4000 0000 0000 9995", "insufficient funds"),
]


def display_amount(amount, currency):
    digits = currency_digits(currency)
    value = f"{amount / 10**digits:,.{digits}f}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{value}" if symbol else f"{value} {currency.upper()}"


def _origin(url):
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _csp(session):
    targets = ["'self'"]
    if session._p["success_url"]:
        targets.append(_origin(session._p["success_url"]))  # the 303 after the post goes there
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src * data:; "
        f"form-action {' '.join(dict.fromkeys(targets))}; base-uri 'none'; frame-ancestors 'none'"
    )


# ------------------------------------------------------------ the checks (as the checkout.js modal's)


def _brand(digits):
    return cards.card_brand(digits)[1] if digits else "unknown"


def _valid_lengths(brand):
    return {"amex": [15], "diners": [14, 16], "visa": [13, 16, 19]}.get(brand, [16, 17, 18, 19])


def check_fields(email, number, exp, cvc, email_locked, today=None):
    """{field: message} for what the modal's checks refuse, and the parsed card."""
    today = today or datetime.date.today()
    errors = {}
    if not email_locked:
        if not email:
            errors["email"] = "Please enter your email address."
        elif not re.match(r"^[^\s@]+@[^\s@]+\.[^\s@]{2,}$", email):
            errors["email"] = "Please enter a valid email address."
    digits = re.sub(r"\D", "", number or "")
    brand = _brand(digits)
    if not digits:
        errors["number"] = "Please enter your card number."
    elif len(digits) < min(_valid_lengths(brand)):
        errors["number"] = "Your card number is incomplete."
    elif len(digits) not in _valid_lengths(brand) or not cards.luhn_ok(digits):
        errors["number"] = "Your card number is invalid."
    exp_digits = re.sub(r"\D", "", exp or "")
    month = int(exp_digits[:2]) if exp_digits[:2] else 0
    year = 2000 + int(exp_digits[2:4]) if len(exp_digits) >= 4 else 0
    if not exp_digits:
        errors["exp"] = "Please enter the expiry date."
    elif not 1 <= month <= 12:
        errors["exp"] = "Your card's expiration month is invalid."
    elif len(exp_digits) != 4:
        errors["exp"] = "Your card's expiration date is incomplete."
    elif year < today.year or (year == today.year and month < today.month):
        errors["exp"] = "Your card's expiration date is in the past."
    elif year > today.year + 50:
        errors["exp"] = "Your card's expiration year is invalid."
    cvc_digits = re.sub(r"\D", "", cvc or "")
    wanted = 4 if brand == "amex" else 3
    if not cvc_digits:
        errors["cvc"] = "Please enter your card's security code."
    elif len(cvc_digits) < wanted:
        errors["cvc"] = "Your card's security code is incomplete."
    elif len(cvc_digits) > wanted:
        errors["cvc"] = "Your card's security code is invalid."
    return errors, {"number": digits, "exp_month": month, "exp_year": year, "cvc": cvc_digits}


# ------------------------------------------------------------ rendering


def _e(value):
    return html.escape(str(value), quote=True)


def _summary(session):
    p = session._p
    currency = p["currency"]
    rows = []
    for item in session._items:
        image = (
            f'<img class="item-image" src="{_e(item["images"][0])}" alt="" width="64" height="64">'
            if item["images"]
            else '<span class="item-image placeholder" aria-hidden="true"></span>'
        )
        each = (
            f'<p class="item-qty">{item["quantity"]} × {_e(display_amount(item["unit_amount"], currency))}</p>'
            if item["quantity"] != 1
            else ""
        )
        desc = f'<p class="item-description">{_e(item["description"])}</p>' if item["description"] else ""
        rows.append(
            f'<li class="item">{image}<div class="item-text"><p class="item-name">{_e(item["name"])}</p>{desc}{each}'
            f'</div><p class="item-amount">{_e(display_amount(item["amount_subtotal"], currency))}</p></li>'
        )
    totals = []
    tax = p["amount_tax"]
    if tax:
        rate = f"{TAX_RATE * 100:.0f} %"
        inclusive = all(i["tax_behavior"] == "inclusive" for i in session._items)
        totals.append(
            f'<div class="row"><dt>Subtotal</dt><dd>{_e(display_amount(p["amount_subtotal"], currency))}</dd></div>'
        )
        label = f"Includes tax ({rate}, test rate)" if inclusive else f"Tax ({rate}, test rate)"
        totals.append(
            f'<div class="row" id="cs-tax"><dt>{label}</dt><dd>{_e(display_amount(tax, currency))}</dd></div>'
        )
    totals.append(
        f'<div class="row total"><dt>Total due</dt><dd id="cs-total">'
        f"{_e(display_amount(p['amount_total'], currency))}</dd></div>"
    )
    return f'<ul class="items">{"".join(rows)}</ul><dl class="totals">{"".join(totals)}</dl>'


def _field(name, label, value="", error=None, **attrs):
    extra = " ".join(
        f'{k.replace("_", "-")}="{_e(v)}"' if v is not True else k.replace("_", "-")
        for k, v in attrs.items()
        if v not in (None, False)
    )
    invalid = ' aria-invalid="true"' if error else ""
    return (
        f'<div class="field"><label for="cs-{name}">{label}</label>'
        f'<input id="cs-{name}" name="{name}" value="{_e(value)}" aria-describedby="cs-{name}-error"'
        f'{invalid} {extra}><p class="field-error" id="cs-{name}-error" aria-live="polite">'
        f"{_e(error or '')}</p></div>"
    )


def _card_form(session, errors, message, email):
    p = session._p
    locked = bool(p["customer_email"])
    email_value = p["customer_email"] if locked else (email or "")
    hints = "".join(f"<li><code>{n}</code> {what}</li>" for n, what in TEST_CARDS)
    cancel = (
        f'<a class="cancel" id="cs-cancel" href="{_e(p["cancel_url"])}">Cancel and go back</a>'
        if p["cancel_url"]
        else ""
    )
    return f"""
<form class="form" id="cs-pay-form" method="post" action="/checkout/pay/{_e(session.id)}" novalidate>
  <input type="hidden" name="csrf" value="{_e(session._page_token)}">
  <p class="form-error" id="cs-error" role="alert">{_e(message or "")}</p>
  {
        _field(
            "email",
            "Email",
            email_value,
            errors.get("email"),
            type="email",
            autocomplete="email",
            inputmode="email",
            spellcheck="false",
            autocapitalize="off",
            required=True,
            readonly=locked,
            placeholder="you@example.com",
        )
    }
  {
        _field(
            "number",
            "Card number",
            "",
            errors.get("number"),
            type="text",
            autocomplete="cc-number",
            inputmode="numeric",
            spellcheck="false",
            required=True,
            placeholder="1234 1234 1234 1234",
            maxlength="23",
        )
    }
  <div class="pair">
  {
        _field(
            "exp",
            "Expiry (MM / YY)",
            "",
            errors.get("exp"),
            type="text",
            autocomplete="cc-exp",
            inputmode="numeric",
            spellcheck="false",
            required=True,
            placeholder="MM / YY",
            maxlength="7",
        )
    }
  {
        _field(
            "cvc",
            "CVC",
            "",
            errors.get("cvc"),
            type="text",
            autocomplete="cc-csc",
            inputmode="numeric",
            spellcheck="false",
            required=True,
            placeholder="CVC",
            maxlength="4",
        )
    }
  </div>
  <button type="submit" class="pay" id="cs-pay">Pay {_e(display_amount(p["amount_total"], p["currency"]))}</button>
  {cancel}
  <details class="hints"><summary>Test cards</summary><ul>{hints}</ul>
  <p>Any future expiry date and any CVC. <code>4000 0099 0000 0004</code>: a delayed payment (the stand-in's own).</p>
  </details>
</form>"""


def _bank_check(session, message):
    return f"""
<section class="bank" id="cs-3ds" aria-labelledby="cs-3ds-title">
  <h2 id="cs-3ds-title">Bank check (test 3-D Secure)</h2>
  <p class="form-error" id="cs-error" role="alert">{_e(message or "")}</p>
  <p>Your bank asks you to confirm this payment of
     <strong>{_e(display_amount(session._p["amount_total"], session._p["currency"]))}</strong>.
     This is a test: choose how the check ends.</p>
  <form id="cs-3ds-form" method="post" action="/checkout/pay/{_e(session.id)}/authenticate">
    <input type="hidden" name="csrf" value="{_e(session._page_token)}">
    <button type="submit" class="pay" name="result" value="complete" \
id="cs-3ds-complete">Complete authentication</button>
    <button type="submit" class="secondary" name="result" value="fail" id="cs-3ds-fail">Fail authentication</button>
  </form>
</section>"""


def _closed(session):
    if session.status == "complete":
        paid = session.payment_status == "paid"
        text = (
            "This checkout session is complete: the payment went through."
            if paid
            else "This checkout session is complete: the payment is being processed."
        )
        return (
            f'<section class="closed" id="cs-closed" data-status="complete"><h2>Already paid</h2>'
            f'<p>{text}</p><p><a class="pay link" id="cs-continue" href="{_e(session.success_redirect())}">'
            "Continue to the shop</a></p></section>"
        )
    cancel = (
        f'<p><a id="cs-cancel" href="{_e(session._p["cancel_url"])}">Go back to the shop</a></p>'
        if session._p["cancel_url"]
        else ""
    )
    return (
        f'<section class="closed" id="cs-closed" data-status="expired"><h2>This checkout session has expired'
        f"</h2><p>Nothing was paid. Go back to the shop to start again.</p>{cancel}</section>"
    )


def render(session, *, errors=None, message=None, email=None):
    if session.status != "open":
        body = _closed(session)
    elif session._pending_card is not None:
        body = _bank_check(session, message)
    else:
        body = _card_form(session, errors or {}, message, email)
    name = session.store_name
    total = _e(display_amount(session._p["amount_total"], session._p["currency"]))
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{_e(name)} — {NOTICE}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/checkout/pay.css">
<script src="/checkout/pay.js" defer></script>
</head>
<body>
<main class="page" data-session="{_e(session.id)}" data-status="{_e(session.status)}">
  <p class="notice" id="cs-notice">{NOTICE}. This page is the local Stripe stand-in's, not Stripe's.</p>
  <div class="columns">
    <section class="order" aria-labelledby="cs-store">
      <p class="store" id="cs-store">{_e(name)}</p>
      <p class="due">Pay <span id="cs-amount">{total}</span></p>
      {_summary(session)}
    </section>
    <section class="payment" aria-label="Payment">
      {body}
    </section>
  </div>
</main>
</body>
</html>
"""


def _page(session, status=200, **kwargs):
    return web.Response(
        text=render(session, **kwargs),
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers=_headers(session),
    )


def _headers(session=None):
    headers = {
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }
    if session is not None:
        headers["Content-Security-Policy"] = _csp(session)
    return headers


def _missing(session_id):
    text = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>No such checkout session</title>"
        "<link rel=icon href=data:,>"
        f'<link rel="stylesheet" href="/checkout/pay.css"><main class="page"><p class="notice">{NOTICE}.</p>'
        f'<section class="closed" id="cs-closed" data-status="missing"><h2>No such checkout session</h2>'
        f"<p>{_e(session_id)} is not a checkout session of this stand-in.</p></section></main>"
    )
    return web.Response(text=text, status=404, content_type="text/html", charset="utf-8", headers=_headers())


def _lookup(request):
    try:
        return get_session(request.match_info["id"])
    except StripeError:
        return None


def _same_origin(request):
    if request.headers.get("Sec-Fetch-Site") not in (None, "same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    return origin in (None, "null") or origin == f"{request.scheme}://{request.host}"


async def _form(request, session):
    form = await request.post()
    token = form.get("csrf", "")
    if (
        not _same_origin(request)
        or not isinstance(token, str)
        or not secrets.compare_digest(token, session._page_token)
    ):
        return form, _page(
            session, status=403, message="This form did not come from this page: reload the page and try again."
        )
    return form, None


def _redirect(location):
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


def _succeeded(session, intent, email):
    session.complete(email, paid=intent.status == "succeeded")
    return _redirect(session.success_redirect())


# ------------------------------------------------------------ handlers


async def show(request):
    session = _lookup(request)
    if session is None:
        return _missing(request.match_info["id"])
    return _page(session)


async def pay(request):
    session = _lookup(request)
    if session is None:
        return _missing(request.match_info["id"])
    form, refused = await _form(request, session)
    if refused is not None:
        return refused
    if session.status != "open" or session._pending_card is not None:
        return _page(session, status=409)
    locked = bool(session._p["customer_email"])
    email = session._p["customer_email"] if locked else (form.get("email") or "").strip()
    errors, card = check_fields(email, form.get("number"), form.get("exp"), form.get("cvc"), locked)
    if errors:
        return _page(session, status=400, errors=errors, email=email, message="Please check the highlighted fields.")
    try:
        number, exp_month, exp_year, cvc = cards.validate_card(
            {"number": card["number"], "exp_month": card["exp_month"], "exp_year": card["exp_year"], "cvc": card["cvc"]}
        )
    except StripeError as exc:
        return _page(session, status=402, email=email, message=exc.body["error"]["message"])
    pm = payment_intents.StandinPaymentMethod(number, exp_month, exp_year, cvc, billing_details={"email": email})
    intent = session.ensure_payment_intent()
    intent._last_payment_error = None
    try:
        if number == DELAYED_CARD:
            intent.payment_method = pm.id
            payment_intents._charge(intent, pm, pending=True)
        else:
            payment_intents._confirm(intent, pm)
    except StripeError as exc:  # a decline: the card's message, the session stays open
        return _page(session, status=402, email=email, message=exc.body["error"]["message"])
    if intent.status == "requires_action":
        session._pending_card = (pm, email)
        return _redirect(f"/checkout/pay/{session.id}")
    return _succeeded(session, intent, email)


async def authenticate(request):
    session = _lookup(request)
    if session is None:
        return _missing(request.match_info["id"])
    form, refused = await _form(request, session)
    if refused is not None:
        return refused
    if session.status != "open" or session._pending_card is None:
        return _page(session, status=409)
    pm, email = session._pending_card
    session._pending_card = None
    intent = session._payment_intent
    if form.get("result") == "complete":
        try:
            payment_intents._charge(intent, pm)
        except StripeError as exc:
            return _page(session, status=402, email=email, message=exc.body["error"]["message"])
        return _succeeded(session, intent, email)
    payment_intents.fail_authentication(intent, pm)
    return _page(session, status=402, email=email, message=payment_intents.AUTHENTICATION_FAILURE)


# ------------------------------------------------------------ test controls


async def expire_now(request):
    """``POST /_standin/checkout/sessions/{id}/expire_now``: as if its ``expires_at`` had passed."""
    try:
        session = get_session(request.match_info["id"])
    except StripeError as exc:
        return exc.to_response()
    if session.status != "open":
        return StripeError(400, f"Checkout Session {session.id} is not open (it is {session.status}).").to_response()
    session.expires_at = min(session.expires_at, int(datetime.datetime.now().timestamp()))
    session.refresh()
    return web.json_response(session._export())


async def settle(request):
    """``POST /_standin/checkout/sessions/{id}/settle`` with ``outcome`` succeeded/failed: the delayed
    payment's outcome (``checkout.session.async_payment_succeeded`` / ``_failed``)."""
    try:
        session = get_session(request.match_info["id"])
        if request.content_type == "application/json":
            fields = await request.json()
        else:
            fields = dict(await request.post())
        outcome = fields.get("outcome") if isinstance(fields, dict) else None
        if outcome not in ("succeeded", "failed"):
            raise StripeError(400, "outcome must be succeeded or failed", param="outcome")
        session.settle(outcome)
    except StripeError as exc:
        return exc.to_response()
    return web.json_response(session._export(expand=["payment_intent"]))


def add_routes(router):
    router.add_get("/checkout/pay/{id}", show)
    router.add_post("/checkout/pay/{id}", pay)
    router.add_post("/checkout/pay/{id}/authenticate", authenticate)
    router.add_post("/_standin/checkout/sessions/{id}/expire_now", expire_now)
    router.add_post("/_standin/checkout/sessions/{id}/settle", settle)
