"""The local Stripe stand-in, exercised through the real stripe SDK as the store uses it."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import stripe

from stripe_standin import process as standin_process
from stripe_standin.process import StandinError, clear_faults, inject_fault, reset, start_standin

from .conftest import PUBLISHABLE_KEY, ROOT, SECRET_KEY, make_client

pytestmark = [pytest.mark.standin_only, pytest.mark.stripe]

PICKLE = Path("/tmp/localstripe.pickle")
READY = re.compile(r"^stripe-standin listening on http://127\.0\.0\.1:(\d+)$")
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method, url, data=None, headers=None, json_body=None):
    """A raw HTTP call: (status, headers, body bytes)."""
    headers = dict(headers or {})
    body = None
    if json_body is not None:
        body = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    elif data is not None:
        body = urllib.parse.urlencode(data).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with _opener.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def card_token(client, number="4242424242424242", exp_month="12", exp_year="2034", cvc="123"):
    card = {"number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": cvc}
    return client.v1.tokens.create(params={"card": card}).id


def charge(client, source, amount=999, key=None, **params):
    options = {"idempotency_key": key} if key else {}
    return client.v1.charges.create(
        params={"amount": amount, "currency": "usd", "source": source, **params}, options=options
    )


def all_charges(client):
    return list(client.v1.charges.list(params={"limit": 100}).data)


# --- the process ---------------------------------------------------------------------------------
def test_module_prints_one_ready_line_and_exits_cleanly_on_sigint_and_sigterm():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = subprocess.Popen(
            [sys.executable, "-m", "stripe_standin", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        try:
            started = time.monotonic()
            line = proc.stdout.readline().decode()
            assert time.monotonic() - started < 5
            m = READY.match(line.rstrip("\n"))
            assert m, line
            port = int(m.group(1))
            assert port > 0
            status, _, body = http("GET", f"http://127.0.0.1:{port}/_standin/health")
            assert (status, body) == (200, b"ok")
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err
        assert out == b"", "only the ready line goes to stdout"
        assert b"Traceback" not in err


def _listening_addresses(port):
    """(ip hex, port) pairs listening on this port, from /proc/net/tcp{,6}."""
    found = []
    for name in ("tcp", "tcp6"):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.append((name, address))
    return found


def test_listens_on_127_0_0_1_only(standin_server):
    port = standin_server.port
    assert standin_server.url == f"http://127.0.0.1:{port}"
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs Linux /proc/net/tcp")
    assert _listening_addresses(port) == [("tcp", "0100007F")]  # 127.0.0.1, no 0.0.0.0, no ::
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        assert sock.connect_ex(("::1", port)) != 0


def test_start_standin_picks_free_ports_and_stops(tmp_path):
    with start_standin() as first, start_standin() as second:
        assert first.port != second.port
        assert first.running and second.running
        assert standin_process.health(first.url)
    assert not first.running and not second.running
    assert first.process.returncode == 0 and second.process.returncode == 0
    assert not standin_process.health(first.url, timeout=0.5)


def test_start_standin_reports_a_port_in_use(standin_server):
    with pytest.raises(StandinError):
        start_standin(port=standin_server.port, timeout=5, stderr=subprocess.DEVNULL)


def test_refuses_another_localstripe_version(tmp_path):
    fake = tmp_path / "localstripe"
    fake.mkdir()
    (fake / "__init__.py").write_text("__version__ = '1.15.11'\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-m", "stripe_standin", "--port", "0"],
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=20,
    )
    assert done.returncode == 2
    assert done.stdout == b""
    assert b"localstripe==1.15.10" in done.stderr and b"1.15.11" in done.stderr


def test_starts_fast(url):
    started = time.monotonic()
    with start_standin():
        elapsed = time.monotonic() - started
    assert elapsed < 2.0  # ~0.2 s here; generous for a loaded CI machine


def test_health(url):
    status, headers, body = http("GET", f"{url}/_standin/health")
    assert status == 200 and body == b"ok"


def test_writes_no_pickle_file(url, client):
    before = PICKLE.stat().st_mtime_ns if PICKLE.exists() else None
    token = card_token(client)
    created = charge(client, token, metadata={"purchase_id": "1"})
    client.v1.refunds.create(params={"charge": created.id})
    reset(url)
    after = PICKLE.stat().st_mtime_ns if PICKLE.exists() else None
    assert after == before


def test_two_instances_are_independent(url, client):
    with start_standin() as other:
        other_client = make_client(other.url)
        token = card_token(client)
        mine = charge(client, token, key="same-key")
        assert all_charges(other_client) == []
        with pytest.raises(stripe.InvalidRequestError, match="No such token"):
            charge(other_client, token)
        theirs = charge(other_client, "tok_visa", key="same-key")  # idempotency is per instance too
        assert theirs.id != mine.id
        reset(other.url)
        assert [c.id for c in all_charges(client)] == [mine.id]


# --- tokens as a charge source -------------------------------------------------------------------
def test_charge_with_a_token_from_the_api(client):
    token = client.v1.tokens.create(
        params={"card": {"number": "4242424242424242", "exp_month": "12", "exp_year": "2034", "cvc": "123"}}
    )
    assert token.id.startswith("tok_") and token.type == "card" and token.used is False
    assert token.card.last4 == "4242" and token.card.brand == "Visa"

    created = charge(client, token.id, description="Blue Skies — The Band", metadata={"purchase_id": "42"})
    assert created.id.startswith("ch_")
    assert (created.status, created.paid, created.captured) == ("succeeded", True, True)
    assert (created.amount, created.currency, created.amount_captured) == (999, "usd", 999)
    assert (created.refunded, created.amount_refunded) == (False, 0)
    assert created.description == "Blue Skies — The Band"
    assert created.metadata.to_dict() == {"purchase_id": "42"}
    assert isinstance(created.created, int) and abs(created.created - time.time()) < 60
    assert created.source.object == "card" and created.source.id == token.card.id
    assert (created.source.last4, created.source.brand) == ("4242", "Visa")
    assert (created.source.exp_month, created.source.exp_year) == (12, 2034)
    assert created.payment_method_details.type == "card"
    assert (created.payment_method_details.card.last4, created.payment_method_details.card.brand) == ("4242", "visa")
    assert created.failure_code is None and created.failure_message is None
    assert created.outcome.type == "authorized" and created.outcome.network_status == "approved_by_network"

    again = client.v1.charges.retrieve(created.id)
    assert again.to_dict() == created.to_dict()
    assert client.v1.tokens.retrieve(token.id).used is True


def test_token_from_a_browser_style_post_with_the_publishable_key(url, client):
    status, _, body = http(
        "POST",
        f"{url}/v1/tokens",
        data={
            "card[number]": "4242 4242 4242 4242",
            "card[exp_month]": "12",
            "card[exp_year]": "34",
            "card[cvc]": "123",
            "key": PUBLISHABLE_KEY,
            "payment_user_agent": "test",
            "email": "buyer@example.com",
        },
    )
    assert status == 200, body
    token = json.loads(body)
    assert token["id"].startswith("tok_") and token["card"]["exp_year"] == 2034
    assert token["email"] == "buyer@example.com"  # legacy Checkout reads token.email
    assert charge(client, token["id"]).status == "succeeded"


def test_publishable_key_cannot_charge(url):
    with pytest.raises(stripe.AuthenticationError):
        charge(make_client(url, key=PUBLISHABLE_KEY), "tok_visa")
    status, _, _ = http("POST", f"{url}/v1/charges", data={"amount": 999, "currency": "usd", "source": "tok_visa"})
    assert status == 401


@pytest.mark.parametrize(
    "card, code, param",
    [
        (
            {"number": "4242424242424241", "exp_month": "12", "exp_year": "2034", "cvc": "123"},
            "incorrect_number",
            "number",
        ),
        ({"number": "4242", "exp_month": "12", "exp_year": "2034", "cvc": "123"}, "invalid_number", "number"),
        (
            {"number": "4242424242424242", "exp_month": "13", "exp_year": "2034", "cvc": "123"},
            "invalid_expiry_month",
            "exp_month",
        ),
        (
            {"number": "4242424242424242", "exp_month": "12", "exp_year": "2001", "cvc": "123"},
            "invalid_expiry_year",
            "exp_year",
        ),
        ({"number": "4242424242424242", "exp_month": "12", "exp_year": "2034", "cvc": "12"}, "invalid_cvc", "cvc"),
        ({"number": "378282246310005", "exp_month": "12", "exp_year": "2034", "cvc": "123"}, "invalid_cvc", "cvc"),
    ],
)
def test_token_card_validation(client, card, code, param):
    with pytest.raises(stripe.CardError) as caught:
        client.v1.tokens.create(params={"card": card})
    assert (caught.value.code, caught.value.param) == (code, param)


@pytest.mark.parametrize(
    "token, brand, funding",
    [
        ("tok_visa", "Visa", "credit"),
        ("tok_visa_debit", "Visa", "debit"),
        ("tok_mastercard", "MasterCard", "credit"),
        ("tok_amex", "American Express", "credit"),
    ],
)
def test_magic_tokens_succeed_and_are_reusable(client, token, brand, funding):
    first = charge(client, token)
    second = charge(client, token)
    for created in (first, second):
        assert created.status == "succeeded" and created.paid
        assert (created.source.brand, created.source.funding) == (brand, funding)
    assert first.id != second.id
    assert len(all_charges(client)) == 2


def test_amex_token_from_card_details(client):
    token = card_token(client, number="378282246310005", cvc="1234")
    created = charge(client, token)
    assert created.source.last4 == "0005" and created.payment_method_details.card.brand == "amex"


def test_a_token_is_single_use(client):
    token = card_token(client)
    first = charge(client, token)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        charge(client, token)
    assert caught.value.http_status == 400
    assert caught.value.code == "token_already_used"
    assert caught.value.user_message == f"You cannot use a Stripe token more than once: {token}"
    assert caught.value.error.type == "invalid_request_error"
    assert [c.id for c in all_charges(client)] == [first.id]


def test_a_declined_charge_uses_up_its_token(client):
    token = card_token(client, number="4000000000000002")
    with pytest.raises(stripe.CardError):
        charge(client, token)
    with pytest.raises(stripe.InvalidRequestError, match="more than once"):
        charge(client, token)


def test_unknown_token(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        charge(client, "tok_doesnotexist")
    assert caught.value.code == "resource_missing" and caught.value.param == "source"


# --- declines -------------------------------------------------------------------------------------
DECLINES = [
    ("4000000000000002", "tok_chargeDeclined", "card_declined", "generic_decline", "Your card was declined."),
    (
        "4000000000009995",
        "tok_chargeDeclinedInsufficientFunds",
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    ("4000000000000069", "tok_chargeDeclinedExpiredCard", "expired_card", "expired_card", "Your card has expired."),
    (
        "4000000000000127",
        "tok_chargeDeclinedIncorrectCvc",
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
    (
        "4000000000000119",
        "tok_chargeDeclinedProcessingError",
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
    ("4000000000000341", "tok_chargeCustomerFail", "card_declined", "generic_decline", "Your card was declined."),
    ("4100000000000019", "tok_chargeDeclinedFraudulent", "card_declined", "fraudulent", "Your card was declined."),
]


def _check_decline(client, source, code, decline_code, message):
    with pytest.raises(stripe.CardError) as caught:
        charge(client, source, metadata={"purchase_id": "7"})
    error = caught.value
    assert error.http_status == 402
    assert error.code == code
    assert error.error.decline_code == decline_code
    assert error.user_message == message
    assert error.error.type == "card_error"
    failed = client.v1.charges.retrieve(error.error.charge)
    assert (failed.status, failed.paid, failed.captured) == ("failed", False, False)
    assert (failed.failure_code, failed.failure_message) == (code, message)
    assert failed.metadata.to_dict() == {"purchase_id": "7"}
    assert failed.outcome.type in ("issuer_declined", "blocked")
    return failed


@pytest.mark.parametrize("number, magic, code, decline_code, message", DECLINES)
def test_decline_cards(client, number, magic, code, decline_code, message):
    failed = _check_decline(client, card_token(client, number=number), code, decline_code, message)
    assert failed.source.last4 == number[-4:]


@pytest.mark.parametrize("number, magic, code, decline_code, message", DECLINES)
def test_decline_magic_tokens(client, number, magic, code, decline_code, message):
    failed = _check_decline(client, magic, code, decline_code, message)
    assert failed.source.last4 == number[-4:]


def test_decline_error_body_is_shaped_like_stripes(url):
    status, headers, body = http(
        "POST",
        f"{url}/v1/charges",
        data={"amount": 999, "currency": "usd", "source": "tok_chargeDeclinedIncorrectCvc"},
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
    )
    assert status == 402
    assert headers["Request-Id"].startswith("req_")
    error = json.loads(body)["error"]
    assert error["type"] == "card_error" and error["code"] == "incorrect_cvc"
    assert error["decline_code"] == "incorrect_cvc" and error["param"] == "cvc"
    assert error["charge"].startswith("ch_") and error["message"] == "Your card's security code is incorrect."


# --- charge parameters ----------------------------------------------------------------------------
def test_receipt_email_and_other_stripe_parameters_are_accepted(client):
    created = charge(
        client,
        "tok_visa",
        receipt_email="buyer@example.com",
        statement_descriptor="ALBUM STORE",
        statement_descriptor_suffix="BLUE SKIES",
        description="Blue Skies",
        expand=["balance_transaction"],
    )
    assert created.receipt_email == "buyer@example.com"
    assert created.statement_descriptor_suffix == "BLUE SKIES"
    assert created.balance_transaction.object == "balance_transaction"
    assert client.v1.charges.retrieve(created.id).receipt_email == "buyer@example.com"


def test_uncaptured_charge(client):
    created = charge(client, "tok_visa", capture=False)
    assert (created.status, created.paid, created.captured, created.amount_captured) == ("succeeded", True, False, 0)


@pytest.mark.parametrize(
    "params, param, code",
    [
        ({"amount": 999, "currency": "usd", "source": "tok_visa", "colour": "blue"}, "colour", "parameter_unknown"),
        ({"currency": "usd", "source": "tok_visa"}, "amount", "parameter_missing"),
        ({"amount": 999, "source": "tok_visa"}, "currency", "parameter_missing"),
        ({"amount": "lots", "currency": "usd", "source": "tok_visa"}, "amount", "parameter_invalid_integer"),
        ({"amount": 10, "currency": "usd", "source": "tok_visa"}, "amount", "amount_too_small"),
        (
            {"amount": 999, "currency": "usd", "source": "tok_visa", "receipt_email": "nope"},
            "receipt_email",
            "email_invalid",
        ),
    ],
)
def test_invalid_charge_parameters(client, params, param, code):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.create(params=params)
    assert (caught.value.param, caught.value.code) == (param, code)
    assert all_charges(client) == []


def test_zero_decimal_currency(client):
    created = client.v1.charges.create(params={"amount": 1500, "currency": "JPY", "source": "tok_visa"})
    assert (created.amount, created.currency) == (1500, "jpy")


def test_retrieve_a_missing_charge(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.retrieve("ch_missing")
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"
    assert caught.value.user_message == "No such charge: 'ch_missing'"


def test_no_key_is_unauthorized(url):
    status, _, body = http("GET", f"{url}/v1/charges")
    assert status == 401 and json.loads(body)["error"]["type"] == "invalid_request_error"


# --- idempotency ----------------------------------------------------------------------------------
def test_same_key_same_parameters_replays_the_first_response(client):
    token = card_token(client)
    first = charge(client, token, key="purchase-42", metadata={"purchase_id": "42"})
    second = charge(client, token, key="purchase-42", metadata={"purchase_id": "42"})  # no "used twice" error
    assert second.id == first.id
    assert second.to_dict() == first.to_dict()
    assert second.last_response.headers.get("idempotent-replayed") == "true"
    assert first.last_response.headers.get("idempotent-replayed") is None
    assert len(all_charges(client)) == 1


def test_the_keys_requests_were_made_with_can_be_read_back(url, client):
    from stripe_standin.process import idempotent_requests

    token = card_token(client)
    first = charge(client, token, key="purchase-43", metadata={"purchase_id": "43"})
    charge(client, token, key="purchase-43", metadata={"purchase_id": "43"})
    refund = client.v1.refunds.create(params={"charge": first.id}, options={"idempotency_key": "purchase-43-refund"})
    logged = [
        (r["method"], r["path"], r["idempotency_key"], r["status"], r["id"], r["replayed"])
        for r in idempotent_requests(url)
        if r["path"] != "/v1/tokens"
    ]  # the SDK keys every POST it may retry
    assert logged == [
        ("POST", "/v1/charges", "purchase-43", 200, first.id, False),
        ("POST", "/v1/charges", "purchase-43", 200, first.id, True),
        ("POST", "/v1/refunds", "purchase-43-refund", 200, refund.id, False),
    ]
    assert [r["id"] for r in idempotent_requests(url, "/v1/refunds")] == [refund.id]


def test_replays_a_card_error_without_charging_again(client):
    with pytest.raises(stripe.CardError) as first:
        charge(client, "tok_chargeDeclined", key="purchase-7")
    with pytest.raises(stripe.CardError) as second:
        charge(client, "tok_chargeDeclined", key="purchase-7")
    assert second.value.error.charge == first.value.error.charge
    assert second.value.headers.get("idempotent-replayed") == "true"
    assert len(all_charges(client)) == 1


def test_same_key_other_parameters_is_an_idempotency_error(client):
    charge(client, "tok_visa", amount=999, key="purchase-9")
    with pytest.raises(stripe.IdempotencyError) as caught:
        charge(client, "tok_visa", amount=1999, key="purchase-9")
    assert caught.value.http_status == 400
    assert "purchase-9" in caught.value.user_message
    assert len(all_charges(client)) == 1


def test_validation_errors_are_not_recorded(client):
    with pytest.raises(stripe.InvalidRequestError):
        charge(client, "tok_visa", amount=10, key="purchase-10")
    created = charge(client, "tok_visa", amount=999, key="purchase-10")
    assert created.status == "succeeded"


def test_idempotency_keys_are_per_api_key(url, client):
    other = make_client(url, key="sk_test_someone_else")
    first = charge(client, "tok_visa", key="shared-key")
    second = charge(other, "tok_visa", key="shared-key")
    assert first.id != second.id


def test_without_a_key_every_request_executes(client_no_retry):
    charge(client_no_retry, "tok_visa")
    charge(client_no_retry, "tok_visa")
    assert len(all_charges(client_no_retry)) == 2


def test_concurrent_requests_with_one_key_execute_once(url, client):
    # The first request is slow to answer after charging: the second arrives meanwhile.
    inject_fault(url, count=1, status=0, when="after", delay=0.6)
    results, errors = [], []

    def buy():
        try:
            results.append(charge(make_client(url), "tok_visa", key="double-click").id)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=buy) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.1)
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert len(results) == 2 and results[0] == results[1]
    assert len(all_charges(client)) == 1


# --- fault injection ------------------------------------------------------------------------------
def test_lost_response_then_sdk_retry_makes_exactly_one_charge(url, client):
    inject_fault(url, count=1, status=500, when="after")
    created = charge(client, card_token(client), metadata={"purchase_id": "5"})  # retried by the SDK
    assert created.status == "succeeded"
    assert created.last_response.headers.get("idempotent-replayed") == "true"
    assert [c.id for c in all_charges(client)] == [created.id]


def test_lost_response_without_retry_still_charged(url, client_no_retry):
    inject_fault(url, count=1, status=500, when="after")
    with pytest.raises(stripe.APIError) as caught:
        charge(client_no_retry, "tok_visa", key="purchase-11")
    assert caught.value.http_status == 500
    assert len(all_charges(client_no_retry)) == 1
    replay = charge(client_no_retry, "tok_visa", key="purchase-11")
    assert [c.id for c in all_charges(client_no_retry)] == [replay.id]


def test_fault_before_does_nothing(url, client, client_no_retry):
    inject_fault(url, count=1, status=503, when="before")
    with pytest.raises(stripe.APIError) as caught:
        charge(client_no_retry, "tok_visa")
    assert caught.value.http_status == 503
    assert all_charges(client) == []
    inject_fault(url, count=1, status=500, when="before")
    assert charge(client, "tok_visa").status == "succeeded"  # the SDK's retry goes through
    assert len(all_charges(client)) == 1


def test_fault_count_prefix_method_listing_and_clearing(url, client_no_retry):
    fault = inject_fault(url, count=2, status=500, path_prefix="/v1/tokens", method="POST")
    assert fault["count"] == 2 and fault["path_prefix"] == "/v1/tokens"
    assert charge(client_no_retry, "tok_visa").status == "succeeded"  # other paths are untouched
    for _ in range(2):
        with pytest.raises(stripe.APIError):
            card_token(client_no_retry)
    card_token(client_no_retry)
    inject_fault(url, count=5, status=429)
    status, _, body = http("GET", f"{url}/_standin/faults")
    assert [f["count"] for f in json.loads(body)["data"]] == [5]
    with pytest.raises(stripe.RateLimitError):
        charge(client_no_retry, "tok_visa")
    clear_faults(url)
    assert json.loads(http("GET", f"{url}/_standin/faults")[2])["data"] == []
    assert charge(client_no_retry, "tok_visa").status == "succeeded"


def test_fault_form_fields_and_validation(url):
    status, _, body = http("POST", f"{url}/_standin/faults", data={"count": "1", "status": "502", "when": "after"})
    assert status == 200 and json.loads(body)["status"] == 502
    for bad in ({"when": "during"}, {"status": "200"}, {"count": "0"}, {"path_prefix": "v1"}, {"colour": "red"}):
        status, _, _ = http("POST", f"{url}/_standin/faults", json_body=bad)
        assert status == 400, bad
    status, _, _ = http("DELETE", f"{url}/_standin/faults")
    assert status == 200
    assert json.loads(http("GET", f"{url}/_standin/faults")[2])["data"] == []


def test_faults_never_touch_the_standins_own_endpoints(url):
    inject_fault(url, count=1, status=500, path_prefix="/")
    assert http("GET", f"{url}/_standin/health")[0] == 200
    assert http("GET", f"{url}/checkout.js")[0] == 200


def test_reset_forgets_everything(url, client):
    token = card_token(client)
    first = charge(client, "tok_visa", key="purchase-1")
    inject_fault(url, count=3, status=500)
    reset(url)
    assert all_charges(client) == []
    again = charge(client, "tok_visa", key="purchase-1")  # no replay, no fault
    assert again.id != first.id
    with pytest.raises(stripe.InvalidRequestError, match="No such token"):
        charge(client, token)


# --- list, search, refunds ------------------------------------------------------------------------
def test_list_is_newest_first_and_pages(client):
    ids = [charge(client, "tok_visa").id for _ in range(3)]
    page = client.v1.charges.list(params={"limit": 2})
    assert [c.id for c in page.data] == ids[::-1][:2] and page.has_more
    rest = client.v1.charges.list(params={"limit": 2, "starting_after": page.data[-1].id})
    assert [c.id for c in rest.data] == [ids[0]] and not rest.has_more


def test_list_pages_back_with_ending_before(client):
    ids = [charge(client, "tok_visa").id for _ in range(4)][::-1]  # newest first, as listed
    before = client.v1.charges.list(params={"limit": 2, "ending_before": ids[3]})
    assert [c.id for c in before.data] == ids[1:3] and before.has_more  # the two just before it
    first = client.v1.charges.list(params={"limit": 2, "ending_before": ids[1]})
    assert [c.id for c in first.data] == [ids[0]] and not first.has_more
    with pytest.raises(stripe.InvalidRequestError, match="No such charge: 'ch_nope'"):
        client.v1.charges.list(params={"ending_before": "ch_nope"})


def test_search_by_metadata(client):
    wanted = charge(client, "tok_visa", metadata={"purchase_id": "42"})
    charge(client, "tok_visa", metadata={"purchase_id": "41"})
    with pytest.raises(stripe.CardError) as declined:
        charge(client, "tok_chargeDeclined", metadata={"purchase_id": "42"})

    found = client.v1.charges.search(params={"query": "metadata['purchase_id']:'42'"})
    assert found.object == "search_result"
    assert [c.id for c in found.data] == [declined.value.error.charge, wanted.id]
    assert found.has_more is False and found.next_page is None

    found = client.v1.charges.search(params={"query": "metadata['purchase_id']:'42' AND status:'succeeded'"})
    assert [c.id for c in found.data] == [wanted.id]
    found = client.v1.charges.search(params={"query": "status:'failed' OR metadata['purchase_id']:'41'"})
    assert len(found.data) == 2
    found = client.v1.charges.search(params={"query": 'metadata["purchase_id"]:"43"'})
    assert found.data == []
    found = client.v1.charges.search(params={"query": "amount>=999 AND -status:'failed'"})
    assert len(found.data) == 2


def test_search_pages(client):
    for _ in range(3):
        charge(client, "tok_visa", metadata={"purchase_id": "8"})
    first = client.v1.charges.search(params={"query": "metadata['purchase_id']:'8'", "limit": 2})
    assert len(first.data) == 2 and first.has_more and first.next_page
    second = client.v1.charges.search(
        params={"query": "metadata['purchase_id']:'8'", "limit": 2, "page": first.next_page}
    )
    assert len(second.data) == 1 and not second.has_more
    assert {c.id for c in first.data} | {c.id for c in second.data} == {c.id for c in all_charges(client)}


@pytest.mark.parametrize(
    "query",
    ["purchase_id:'42'", "metadata['purchase_id']", "status:succeeded", "", "status:'a' AND status:'b' OR status:'c'"],
)
def test_search_rejects_bad_queries(client, query):
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.search(params={"query": query})


def test_refunds_update_the_charge(client):
    created = charge(client, "tok_visa", amount=1000)
    partial = client.v1.refunds.create(params={"charge": created.id, "amount": 400, "reason": "requested_by_customer"})
    assert (partial.amount, partial.charge, partial.status) == (400, created.id, "succeeded")
    after = client.v1.charges.retrieve(created.id)
    assert (after.amount_refunded, after.refunded) == (400, False)
    with pytest.raises(stripe.InvalidRequestError, match="greater than unrefunded amount"):
        client.v1.refunds.create(params={"charge": created.id, "amount": 700})
    rest = client.v1.refunds.create(params={"charge": created.id})
    assert rest.amount == 600
    after = client.v1.charges.retrieve(created.id)
    assert (after.amount_refunded, after.refunded) == (1000, True)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"charge": created.id})
    assert caught.value.code == "charge_already_refunded"
    assert client.v1.charges.search(params={"query": "refunded:'true'"}).data[0].id == created.id


def test_refund_errors(client):
    with pytest.raises(stripe.CardError) as declined:
        charge(client, "tok_chargeDeclined")
    with pytest.raises(stripe.InvalidRequestError, match="failed payment"):
        client.v1.refunds.create(params={"charge": declined.value.error.charge})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"charge": "ch_missing"})
    assert caught.value.code == "resource_missing"


def test_charge_events_are_recorded(url, client):
    created = charge(client, "tok_visa")
    client.v1.refunds.create(params={"charge": created.id})
    with pytest.raises(stripe.CardError):
        charge(client, "tok_chargeDeclined")
    types = [e.type for e in client.v1.events.list(params={"limit": 100}).data]
    assert {"charge.succeeded", "charge.refunded", "charge.failed"} <= set(types)


# --- checkout.js ----------------------------------------------------------------------------------
def test_checkout_js_is_served_as_javascript(url):
    status, headers, body = http("GET", f"{url}/checkout.js")
    assert status == 200
    assert headers["Content-Type"].startswith("application/javascript")
    assert "no-cache" in headers["Cache-Control"]
    source = body.decode()
    assert "stripe-button-el" in source and "document.currentScript" in source
    assert "HTMLFormElement.prototype.submit.call" in source
    for name in ("stripeToken", "stripeTokenType", "stripeEmail"):
        assert f"'{name}'" in source
    assert "event.origin !== ORIGIN" in source  # only the stand-in's messages count


@pytest.mark.parametrize("name", ["checkout.js", "checkout/modal.js"])
def test_scripts_need_no_csp_exceptions(url, name):
    source = http("GET", f"{url}/{name}")[2].decode()
    code = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    for forbidden in (
        r"\beval\s*\(",
        r"new\s+Function\b",
        r"\binnerHTML\b",
        r"\bouterHTML\b",
        r"insertAdjacentHTML",
        r"document\.write",
        r"createElement\(\s*['\"]style",
        r"createElement\(\s*['\"]script",
        r"setAttribute\(\s*['\"]style",
        r"\.cssText\b",
        r"setTimeout\(\s*['\"]",
        r"setInterval\(\s*['\"]",
        r"postMessage\([^)]*['\"]\*['\"]",
    ):
        assert not re.search(forbidden, code), forbidden


def test_checkout_modal_is_served_by_the_standin(url):
    query = urllib.parse.urlencode(
        {"key": "pk_test_x", "amount": "999", "currency": "usd", "origin": "http://127.0.0.1:6543"}
    )
    status, headers, body = http("GET", f"{url}/checkout/modal?{query}")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    html = body.decode()
    assert "Local test checkout — no real card is charged. Try 4242 4242 4242 4242." in html
    assert 'aria-modal="true"' in html
    for field in ("sc-email", "sc-number", "sc-exp", "sc-cvc", "sc-pay"):
        assert f'id="{field}"' in html and (field == "sc-pay" or f'for="{field}"' in html)
    assert '<script src="/checkout/modal.js"' in html and '<link rel="stylesheet" href="/checkout/modal.css">' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "no inline scripts"
    assert "<style" not in html and "style=" not in html
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    status, headers, _ = http("GET", f"{url}/checkout/modal.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    status, headers, body = http("GET", f"{url}/checkout/modal.js")
    assert status == 200 and headers["Content-Type"].startswith("application/javascript")
    assert b"'/v1/tokens'" in body and b"stripe-standin:token" in body
