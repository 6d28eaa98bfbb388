"""The stand-in's PaymentMethods, PaymentIntents and Stripe.js, through the real SDK as the store and
Stripe.js use them (the secret key on the server, the publishable key + client secret in the browser)."""

import json
import re
import urllib.parse

import pytest
import stripe

from .conftest import PUBLISHABLE_KEY, make_client
from .test_standin import http

pytestmark = [pytest.mark.standin_only, pytest.mark.stripe]


@pytest.fixture
def browser(url):
    """What Stripe.js does, with the publishable key."""
    return make_client(url, key=PUBLISHABLE_KEY, retries=0)


def card(number="4242424242424242", **extra):
    return {"type": "card", "card": {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"}, **extra}


def create_intent(client, ref="ref001", amount=1299, key=None, **extra):
    params = {
        "amount": amount,
        "currency": "usd",
        "allowed_payment_method_types": ["card"],
        "description": "Blue Skies by Lanterns",
        "receipt_email": "ana@example.com",
        "metadata": {"purchase_ref": ref, "purchase_id": "7"},
        **extra,
    }
    options = {"idempotency_key": key} if key else {}
    return client.v1.payment_intents.create(params=params, options=options)


def pay(browser, intent, number="4242424242424242"):
    pm = browser.v1.payment_methods.create(params=card(number, billing_details={"email": "ana@example.com"}))
    return browser.v1.payment_intents.confirm(
        intent.id, params={"client_secret": intent.client_secret, "payment_method": pm.id}
    )


def authenticate(url, intent, success):
    status, _, body = http(
        "POST",
        f"{url}/v1/payment_intents/{intent.id}/_authenticate",
        data={"key": PUBLISHABLE_KEY, "client_secret": intent.client_secret, "success": "true" if success else "false"},
    )
    assert status == 200, body
    return body


def test_create_takes_what_the_store_sends(client):
    intent = create_intent(client)
    assert intent.id.startswith("pi_") and re.match(rf"^{intent.id}_secret_\w+$", intent.client_secret)
    assert (intent.amount, intent.currency, intent.status) == (1299, "usd", "requires_payment_method")
    assert intent.receipt_email == "ana@example.com" and intent.description == "Blue Skies by Lanterns"
    assert intent.metadata["purchase_ref"] == "ref001" and intent.payment_method_types == ["card"]
    assert intent.latest_charge is None and intent.last_payment_error is None
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"


@pytest.mark.parametrize(
    "params, param",
    [
        ({"amount": 1299, "currency": "usd", "colour": "blue"}, "colour"),
        ({"currency": "usd"}, "amount"),
        ({"amount": 20, "currency": "usd"}, "amount"),
        ({"amount": 1299, "currency": "usd", "receipt_email": "not an email"}, "receipt_email"),
        # Gone in API 2026-10-28.endive (the pinned SDK): unknown, as on Stripe.
        ({"amount": 1299, "currency": "usd", "payment_method_types": ["card"]}, "payment_method_types"),
        (
            {"amount": 1299, "currency": "usd", "allowed_payment_method_types": ["sepa_debit"]},
            "allowed_payment_method_types",
        ),
    ],
)
def test_create_refuses_what_stripe_refuses(client, params, param):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.create(params=params)
    assert refused.value.param == param


def test_create_is_idempotent(client):
    first = create_intent(client, key="purchase:abc:payment_intent")
    again = create_intent(client, key="purchase:abc:payment_intent")
    assert again.id == first.id and again.client_secret == first.client_secret
    with pytest.raises(stripe.IdempotencyError):
        create_intent(client, key="purchase:abc:payment_intent", amount=1500)
    assert len(client.v1.payment_intents.search(params={"query": "metadata['purchase_ref']:'ref001'"}).data) == 1


def test_a_publishable_key_cannot_create_or_cancel_or_search(url, client, browser):
    intent = create_intent(client)
    with pytest.raises(stripe.AuthenticationError):
        create_intent(browser)
    with pytest.raises(stripe.AuthenticationError):
        browser.v1.payment_intents.cancel(intent.id)
    with pytest.raises(stripe.AuthenticationError):
        browser.v1.payment_intents.search(params={"query": "status:'succeeded'"})


def test_the_browser_needs_the_client_secret(client, browser):
    intent = create_intent(client)
    pm = browser.v1.payment_methods.create(params=card())
    with pytest.raises(stripe.InvalidRequestError, match="client_secret"):
        browser.v1.payment_intents.confirm(intent.id, params={"payment_method": pm.id})
    with pytest.raises(stripe.InvalidRequestError, match="does not match"):
        browser.v1.payment_intents.confirm(
            intent.id, params={"payment_method": pm.id, "client_secret": intent.id + "_secret_wrong"}
        )
    seen = browser.v1.payment_intents.retrieve(intent.id, params={"client_secret": intent.client_secret})
    assert seen.status == "requires_payment_method" and "metadata" not in seen.to_dict(), "a browser sees less"


def test_paying_makes_a_charge_with_the_intents_metadata_and_receipt_email(client, browser):
    intent = create_intent(client)
    confirmed = pay(browser, intent)
    assert confirmed.status == "succeeded"
    done = client.v1.payment_intents.retrieve(intent.id, params={"expand": ["latest_charge"]})
    charge = done.latest_charge
    assert done.status == "succeeded" and done.amount_received == 1299
    assert (charge.amount, charge.status, charge.payment_intent) == (1299, "succeeded", intent.id)
    assert charge.metadata["purchase_ref"] == "ref001" and charge.receipt_email == "ana@example.com"
    assert charge.payment_method_details.card.last4 == "4242" and charge.billing_details.email == "ana@example.com"
    assert isinstance(client.v1.payment_intents.retrieve(intent.id).latest_charge, str), "an id unless expanded"
    with pytest.raises(stripe.InvalidRequestError, match="status of succeeded"):
        pay(browser, intent)


@pytest.mark.parametrize(
    "number, code, decline_code, message",
    [
        ("4000000000000002", "card_declined", "generic_decline", "Your card was declined."),
        ("4000000000009995", "card_declined", "insufficient_funds", "Your card has insufficient funds."),
        ("4000000000000069", "expired_card", "expired_card", "Your card has expired."),
        ("4000000000000127", "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
        (
            "4000000000000119",
            "processing_error",
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
        ),
    ],
)
def test_a_declined_card_is_a_card_error_and_the_intent_waits_for_another_card(
    client, browser, number, code, decline_code, message
):
    intent = create_intent(client)
    with pytest.raises(stripe.CardError) as declined:
        pay(browser, intent, number)
    error = declined.value
    assert (error.code, error.error.decline_code, error.user_message) == (code, decline_code, message)
    assert error.error.payment_intent.id == intent.id
    after = client.v1.payment_intents.retrieve(intent.id)
    assert after.status == "requires_payment_method" and after.last_payment_error.code == code
    assert after.last_payment_error.decline_code == decline_code
    assert pay(browser, intent).status == "succeeded", "another card on the same PaymentIntent"


def test_3d_secure_completed(url, client, browser):
    intent = create_intent(client)
    confirmed = pay(browser, intent, "4000002500003155")
    assert confirmed.status == "requires_action" and confirmed.next_action.type == "use_stripe_sdk"
    assert confirmed.latest_charge is None if "latest_charge" in confirmed.to_dict() else True
    authenticate(url, intent, success=True)
    done = client.v1.payment_intents.retrieve(intent.id, params={"expand": ["latest_charge"]})
    assert (
        done.status == "succeeded"
        and done.latest_charge.payment_method_details.card.three_d_secure.result == "authenticated"
    )


def test_3d_secure_failed_or_cancelled(url, client, browser):
    intent = create_intent(client)
    pay(browser, intent, "4000000000003220")
    authenticate(url, intent, success=False)
    after = client.v1.payment_intents.retrieve(intent.id)
    assert after.status == "requires_payment_method" and after.latest_charge is None
    assert after.last_payment_error.code == "payment_intent_authentication_failure"
    assert client.v1.charges.list().data == [], "nothing was charged"


def test_3d_secure_then_declined(url, client, browser):
    intent = create_intent(client)
    pay(browser, intent, "4000008260003178")
    authenticate(url, intent, success=True)
    after = client.v1.payment_intents.retrieve(intent.id)
    assert after.status == "requires_payment_method" and after.last_payment_error.decline_code == "insufficient_funds"


def test_authenticate_needs_the_client_secret_and_a_challenge(url, client, browser):
    intent = create_intent(client)
    status, _, _ = http(
        "POST",
        f"{url}/v1/payment_intents/{intent.id}/_authenticate",
        data={"key": PUBLISHABLE_KEY, "client_secret": "wrong", "success": "true"},
    )
    assert status == 400
    status, _, _ = http(
        "POST",
        f"{url}/v1/payment_intents/{intent.id}/_authenticate",
        data={"key": PUBLISHABLE_KEY, "client_secret": intent.client_secret, "success": "true"},
    )
    assert status == 400, "no challenge is pending"


def test_a_bare_charge_on_a_3d_secure_card_is_declined(client):
    token = client.v1.tokens.create(params={"card": card("4000002760003184")["card"]})
    with pytest.raises(stripe.CardError) as declined:
        client.v1.charges.create(params={"amount": 999, "currency": "usd", "source": token.id})
    assert declined.value.error.decline_code == "authentication_required"


def test_magic_payment_methods(client, browser):
    intent = create_intent(client)
    assert (
        browser.v1.payment_intents.confirm(
            intent.id, params={"client_secret": intent.client_secret, "payment_method": "pm_card_visa"}
        ).status
        == "succeeded"
    )
    declined = create_intent(client, ref="ref002")
    with pytest.raises(stripe.CardError) as error:
        browser.v1.payment_intents.confirm(
            declined.id,
            params={
                "client_secret": declined.client_secret,
                "payment_method": "pm_card_visa_chargeDeclinedInsufficientFunds",
            },
        )
    assert error.value.error.decline_code == "insufficient_funds"
    three_ds = create_intent(client, ref="ref003")
    assert (
        client.v1.payment_intents.confirm(
            three_ds.id, params={"payment_method": "pm_card_authenticationRequired"}
        ).status
        == "requires_action"
    )


def test_payment_methods_are_checked_like_stripe(browser):
    pm = browser.v1.payment_methods.create(
        params=card("378282246310005", billing_details={"email": "a@example.com"})
        | {"card": {"number": "378282246310005", "exp_month": "1", "exp_year": "2035", "cvc": "1234"}}
    )
    assert (pm.card.brand, pm.card.last4, pm.billing_details.email) == ("amex", "0005", "a@example.com")
    with pytest.raises(stripe.CardError) as bad:
        browser.v1.payment_methods.create(params=card("4242424242424241"))
    assert bad.value.code == "incorrect_number"


def test_cancel(client, browser):
    intent = create_intent(client)
    canceled = client.v1.payment_intents.cancel(intent.id)
    assert canceled.status == "canceled" and canceled.canceled_at
    with pytest.raises(stripe.InvalidRequestError, match="status of canceled"):
        pay(browser, intent)
    paid = create_intent(client, ref="ref002")
    pay(browser, paid)
    with pytest.raises(stripe.InvalidRequestError, match="status of succeeded"):
        client.v1.payment_intents.cancel(paid.id)


def test_search_by_metadata_and_status(client, browser):
    one, two = create_intent(client, ref="aaa111"), create_intent(client, ref="bbb222")
    pay(browser, two)
    found = client.v1.payment_intents.search(params={"query": "metadata['purchase_ref']:'aaa111'"}).data
    assert [p.id for p in found] == [one.id]
    found = client.v1.payment_intents.search(
        params={"query": "status:'succeeded'", "expand": ["data.latest_charge"]}
    ).data
    assert [p.id for p in found] == [two.id] and found[0].latest_charge.amount == 1299
    with pytest.raises(stripe.InvalidRequestError, match="unsupported search field"):
        client.v1.payment_intents.search(params={"query": "colour:'blue'"})


def test_retrieve_a_missing_intent_is_404(client):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.retrieve("pi_doesnotexist")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"


def test_refund_by_payment_intent(client, browser):
    intent = create_intent(client)
    pay(browser, intent)
    refund = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 300})
    charge = client.v1.payment_intents.retrieve(intent.id, params={"expand": ["latest_charge"]}).latest_charge
    assert refund.charge == charge.id and charge.amount_refunded == 300


def test_payment_intent_events_are_recorded(url, client, browser):
    paid = create_intent(client)
    pay(browser, paid)
    declined = create_intent(client, ref="ref002")
    with pytest.raises(stripe.CardError):
        pay(browser, declined, "4000000000000002")
    failed_3ds = create_intent(client, ref="ref003")
    pay(browser, failed_3ds, "4000002500003155")
    authenticate(url, failed_3ds, success=False)
    events = client.v1.events.list(params={"limit": 100}).data
    by_type = {}
    for event in events:
        by_type.setdefault(event.type, []).append(event.data.object.id)
    assert by_type["payment_intent.succeeded"] == [paid.id]
    assert sorted(by_type["payment_intent.payment_failed"]) == sorted([declined.id, failed_3ds.id])
    assert "charge.succeeded" in by_type and "charge.failed" in by_type


# --- the Payment Element's confirm (what its frame sends) ------------------------------------------
def element_confirm(url, intent, number="4242424242424242", **extra):
    """POST …/confirm as the stand-in's Payment Element frame sends it (real Stripe.js's shape: the card
    inline in payment_method_data, its telemetry there, expected_payment_method_type, use_stripe_sdk)."""
    data = {
        "return_url": "http://localhost:6543/purchases/7",
        "payment_method_data[billing_details][email]": "ana@example.com",
        "payment_method_data[type]": "card",
        "payment_method_data[card][number]": number,
        "payment_method_data[card][cvc]": "123",
        "payment_method_data[card][exp_month]": "12",
        "payment_method_data[card][exp_year]": "2034",
        "payment_method_data[payment_user_agent]": "stripe-standin; payment-element",
        "payment_method_data[time_on_page]": "4321",
        "expected_payment_method_type": "card",
        "use_stripe_sdk": "true",
        "key": PUBLISHABLE_KEY,
        "client_secret": intent.client_secret,
        **extra,
    }
    data = {k: v for k, v in data.items() if v is not None}
    status, _, body = http("POST", f"{url}/v1/payment_intents/{intent.id}/confirm", data=data)
    return status, json.loads(body)


def test_the_payment_elements_confirm_pays_with_the_card_inline(url, client):
    intent = create_intent(client)
    status, body = element_confirm(url, intent)
    assert status == 200, body
    assert body["status"] == "succeeded" and body["payment_method"].startswith("pm_")
    assert "metadata" not in body, "a browser gets the public fields only"
    paid = client.v1.payment_intents.retrieve(intent.id, params={"expand": ["latest_charge"]})
    charge = paid.latest_charge
    assert charge.payment_method_details.card.last4 == "4242" and charge.billing_details.email == "ana@example.com"
    method = client.v1.payment_methods.retrieve(paid.payment_method)
    assert method.card.last4 == "4242" and method.type == "card"


def test_the_payment_elements_confirm_with_3d_secure_and_with_a_declined_card(url, client):
    secure = create_intent(client)
    status, body = element_confirm(url, secure, "4000002500003155")
    assert status == 200 and body["status"] == "requires_action"
    assert body["next_action"]["type"] == "use_stripe_sdk"
    assert json.loads(authenticate(url, secure, success=True))["status"] == "succeeded"

    declined = create_intent(client, ref="ref002")
    status, body = element_confirm(url, declined, "4000000000000002")
    assert status == 402
    error = body["error"]
    assert (error["type"], error["code"], error["decline_code"]) == ("card_error", "card_declined", "generic_decline")
    assert (
        error["message"] == "Your card was declined." and error["payment_intent"]["status"] == "requires_payment_method"
    )


@pytest.mark.parametrize(
    "extra, param",
    [
        ({"payment_method_data[card][colour]": "blue"}, "payment_method_data[card][colour]"),
        ({"payment_method_data[colour]": "blue"}, "payment_method_data[colour]"),
        ({"colour": "blue"}, "colour"),
        ({"expected_payment_method_type": "sepa_debit"}, "expected_payment_method_type"),
        ({"payment_method": "pm_card_visa"}, "payment_method_data"),
    ],
)
def test_the_payment_elements_confirm_refuses_what_stripe_refuses(url, client, extra, param):
    intent = create_intent(client)
    status, body = element_confirm(url, intent, **extra)
    assert status == 400 and body["error"]["param"] == param, body
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"


def test_card_numbers_inline_and_the_frames_telemetry_only_from_a_browser(url, client):
    """A server (secret key) cannot send payment_method_data[card] nor Stripe.js's names: on Stripe they are
    not parameters of the server-side confirm."""
    intent = create_intent(client)
    for params, param in (
        (
            {"payment_method_data": {"type": "card", "card": {"number": "4242424242424242"}}},
            "payment_method_data[card]",
        ),
        (
            {"payment_method_data": {"type": "card", "payment_user_agent": "x"}},
            "payment_method_data[payment_user_agent]",
        ),
        ({"payment_method": "pm_card_visa", "expected_payment_method_type": "card"}, "expected_payment_method_type"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            client.v1.payment_intents.confirm(intent.id, params=params)
        assert refused.value.param == param


def test_browser_only_names_of_the_payment_elements_confirm_are_listed():
    from stripe_standin import params

    allowed = params.BROWSER_ONLY["PaymentIntentConfirmParams"]
    assert {
        "key",
        "client_secret",
        "expected_payment_method_type",
        "payment_method_data[card]",
        "payment_method_data[payment_user_agent]",
        "payment_method_data[time_on_page]",
    } <= allowed
    known = params.known("PaymentIntentConfirmParams")
    for name in ("return_url", "use_stripe_sdk", "receipt_email", "payment_method_data"):
        assert name in known, "sent as a server-side parameter, not a browser-only one"
    assert not {name for name in allowed if "[" not in name} & known


# --- Stripe.js ------------------------------------------------------------------------------------
def test_stripe_js_is_served_as_javascript(url):
    status, headers, body = http("GET", f"{url}/js.stripe.com/v3/")
    assert status == 200 and headers["Content-Type"].startswith("application/javascript")
    source = body.decode()
    assert "stripe-standin Stripe.js v3" in source and "localstripe" not in source
    for name in (
        "confirmCardPayment",
        "retrievePaymentIntent",
        "createPaymentMethod",
        "/_authenticate",
        "/confirm",
        "confirmPayment",
        "/elements/payment",
        "if_required",
        "submit",
    ):
        assert name in source
    assert "event.origin !== ORIGIN" in source


@pytest.mark.parametrize(
    "name",
    [
        "js.stripe.com/v3/",
        "js.stripe.com/v3/elements/card.js",
        "js.stripe.com/v3/elements/payment.js",
        "js.stripe.com/v3/three-d-secure.js",
    ],
)
def test_stripe_js_needs_no_csp_exceptions(url, name):
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


@pytest.mark.parametrize(
    "path, ids",
    [
        ("js.stripe.com/v3/elements/card", ("number", "exp", "cvc")),
        ("js.stripe.com/v3/elements/payment", ("method-card", "standin-note", "number", "exp", "cvc")),
        ("js.stripe.com/v3/three-d-secure", ("tds-complete", "tds-fail", "tds-close")),
    ],
)
def test_stripe_js_frames_are_served_by_the_standin(url, path, ids):
    query = urllib.parse.urlencode({"key": PUBLISHABLE_KEY, "origin": "http://127.0.0.1:6543", "amount": "999"})
    status, headers, body = http("GET", f"{url}/{path}?{query}")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    html = body.decode()
    for element_id in ids:
        assert f'id="{element_id}"' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "no inline scripts"
    assert "<style" not in html and "style=" not in html
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    for asset in re.findall(r'(?:src|href)="(/js\.stripe\.com/[^"]+)"', html):
        assert http("GET", url + asset)[0] == 200, asset
