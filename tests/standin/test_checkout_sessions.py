"""Checkout Sessions and their hosted payment page, through the real SDK (the store's side) and over
plain HTTP as a browser without JavaScript pays (``process.pay_checkout_session``)."""

import re
import time

import pytest
import stripe

from stripe_standin.process import (
    CheckoutPageError,
    StandinError,
    expire_checkout_session,
    pay_checkout_session,
    settle_checkout_session,
)

from .test_standin import http

pytestmark = [pytest.mark.standin_only, pytest.mark.stripe]

SUCCESS = "http://localhost:6543/purchases/r1/done?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://localhost:6543/albums/blue-skies"
DECLINED = "Your card was declined."
AUTH_FAILED = (
    "We are unable to authenticate your payment method. Please choose a different payment method and try again."
)


def line_item(amount=1299, tax_behavior="exclusive", quantity=1, currency="usd", **product):
    price = {
        "currency": currency,
        "unit_amount": amount,
        "product_data": {
            "name": "Blue Skies",
            "description": "by The Lanterns",
            "images": ["http://localhost:6543/static/covers/blue-skies.jpg"],
            "tax_code": "txcd_10401100",
            **product,
        },
    }
    if tax_behavior is not None:
        price["tax_behavior"] = tax_behavior
    return {"price_data": price, "quantity": quantity}


def session_params(**extra):
    params = {
        "mode": "payment",
        "ui_mode": "hosted_page",
        "success_url": SUCCESS,
        "cancel_url": CANCEL,
        "line_items": [line_item()],
        "client_reference_id": "r1",
        "metadata": {"purchase_ref": "r1", "store_name": "Album Store"},
        "customer_email": "ana@example.com",
        "automatic_tax": {"enabled": True},
        "payment_intent_data": {
            "description": "Blue Skies — Album Store",
            "receipt_email": "ana@example.com",
            "metadata": {"purchase_ref": "r1", "purchase_id": "7"},
        },
    }
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def create(client, key=None, **extra):
    options = {"idempotency_key": key} if key else {}
    return client.v1.checkout.sessions.create(params=session_params(**extra), options=options)


def refused(client, **extra):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        create(client, **extra)
    return caught.value


def success_url(session):
    return SUCCESS.replace("{CHECKOUT_SESSION_ID}", session.id)


# ---------------------------------------------------------------- the API


def test_create_answers_a_hosted_session(client, url):
    before = int(time.time())
    session = create(client)
    assert re.fullmatch(r"cs_test_\w{50,}", session.id) and session.object == "checkout.session"
    assert session.url == f"{url}/checkout/pay/{session.id}"
    assert (session.status, session.payment_status, session.payment_intent) == ("open", "unpaid", None)
    assert (session.mode, session.ui_mode, session.currency, session.livemode) == (
        "payment",
        "hosted_page",
        "usd",
        False,
    )
    assert (session.amount_subtotal, session.total_details.amount_tax, session.amount_total) == (1299, 260, 1559)
    assert session.automatic_tax.enabled is True and session.automatic_tax.status == "complete"
    assert session.client_reference_id == "r1" and session.metadata["purchase_ref"] == "r1"
    assert session.customer_email == "ana@example.com" and session.customer_details is None
    assert (session.success_url, session.cancel_url) == (SUCCESS, CANCEL)
    assert before <= session.created <= int(time.time())
    assert session.expires_at - session.created == 24 * 3600  # Stripe's default

    again = client.v1.checkout.sessions.retrieve(session.id)
    assert again.id == session.id and again.amount_total == 1559
    listed = client.v1.checkout.sessions.list()
    assert [s.id for s in listed.data] == [session.id] and listed.url == "/v1/checkout/sessions"


def test_line_items(client):
    session = create(
        client, line_items=[line_item(1000, "exclusive", quantity=2), line_item(500, "exclusive", name="Other")]
    )
    items = client.v1.checkout.sessions.line_items.list(session.id).data
    assert [(i.object, i.description, i.quantity, i.amount_subtotal, i.amount_tax, i.amount_total) for i in items] == [
        ("item", "Blue Skies", 2, 2000, 400, 2400),
        ("item", "Other", 1, 500, 100, 600),
    ]
    assert items[0].price.unit_amount == 1000 and items[0].price.tax_behavior == "exclusive"
    assert items[0].taxes[0].rate.percentage == 20.0 and items[0].taxes[0].amount == 400
    assert client.v1.checkout.sessions.line_items.list(session.id, params={"limit": 1}).has_more is True
    expanded = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["line_items"]})
    assert len(expanded.line_items.data) == 2 and session.amount_total == 3000


def test_retrieve_missing_session(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.retrieve("cs_test_nope")
    assert caught.value.http_status == 404 and "No such checkout.session: 'cs_test_nope'" in str(caught.value)


@pytest.mark.parametrize(
    "extra, param",
    [
        ({"colour": "blue"}, "colour"),
        (
            {
                "line_items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": 1299,
                            "tax_behavior": "exclusive",
                            "product_data": {"name": "x", "colour": "blue"},
                        },
                        "quantity": 1,
                    }
                ]
            },
            "line_items[0][price_data][product_data][colour]",
        ),
        ({"payment_intent_data": {"metadata": {"a": "b"}, "colour": "blue"}}, "payment_intent_data[colour]"),
        ({"automatic_tax": {"enabled": True, "colour": "blue"}}, "automatic_tax[colour]"),
        # Gone from Checkout Sessions long before API 2026-10-28.endive: unknown, as on Stripe.
        ({"payment_method_types": ["card"]}, "payment_method_types"),
    ],
)
def test_unknown_parameters_are_refused(client, extra, param):
    error = refused(client, **extra)
    assert error.http_status == 400 and error.code == "parameter_unknown" and error.param == param
    assert str(error.user_message) == f"Received unknown parameter: {param}"
    assert client.v1.checkout.sessions.list().data == []


@pytest.mark.parametrize("old", ["hosted", "embedded", "custom", "page"])
def test_ui_mode_values_before_2026_03_25_dahlia_are_refused(client, old):
    error = refused(client, ui_mode=old)
    assert error.param == "ui_mode"
    assert error.user_message == "Invalid ui_mode: must be one of elements, embedded_page, form, or hosted_page"


def test_ui_mode_defaults_to_the_hosted_page_and_other_current_values_are_not_hosted(client):
    assert create(client, ui_mode=None).ui_mode == "hosted_page"
    for other in ("embedded_page", "elements", "form"):
        error = refused(client, ui_mode=other)
        assert error.param == "ui_mode" and "only hosts the payment page" in error.user_message


@pytest.mark.parametrize(
    "offset, message",
    [
        (29 * 60, "must be at least 30 minutes from Checkout Session creation"),
        (-60, "must be at least 30 minutes from Checkout Session creation"),
        (24 * 3600 + 120, "must be less than 24 hours from Checkout Session creation"),
    ],
)
def test_expires_at_out_of_range_is_refused(client, offset, message):
    error = refused(client, expires_at=int(time.time()) + offset)
    assert error.param == "expires_at" and message in error.user_message


def test_expires_at_in_range(client):
    at = int(time.time()) + 31 * 60
    assert create(client, expires_at=at).expires_at == at


@pytest.mark.parametrize(
    "extra, param, words",
    [
        ({"mode": None}, "mode", "Missing required param: mode."),
        ({"mode": "subscription"}, "mode", "does not support"),
        ({"line_items": None}, "line_items", "`line_items` is required in `payment` mode."),
        ({"success_url": None}, "success_url", "Missing required param: success_url."),
        ({"success_url": "not a url"}, "success_url", "Not a valid URL"),
        (
            {"line_items": [{"price_data": line_item()["price_data"]}]},
            "line_items[0][quantity]",
            "Missing required param: line_items[0][quantity].",
        ),
        (
            {"line_items": [line_item(amount="12.99")]},
            "line_items[0][price_data][unit_amount]",
            "Invalid integer: 12.99",
        ),
        (
            {"line_items": [line_item(tax_behavior=None)]},
            "line_items[0][price_data][tax_behavior]",
            "does not have a `tax_behavior` set which is required for automatic tax computation",
        ),
        (
            {"line_items": [line_item(tax_behavior="unspecified")]},
            "line_items[0][price_data][tax_behavior]",
            "required for automatic tax computation",
        ),
        (
            {"line_items": [line_item(), line_item(currency="eur")]},
            "line_items[1][price_data][currency]",
            "same currency",
        ),
        ({"line_items": [line_item(amount=20, tax_behavior="inclusive")]}, None, "must add up to at least $0.50 usd"),
        ({"customer_email": "not an email"}, "customer_email", "Invalid email address"),
        ({"line_items": [{"price": "price_123", "quantity": 1}]}, "line_items[0][price]", "has no Prices"),
    ],
)
def test_what_stripe_refuses(client, extra, param, words):
    error = refused(client, **extra)
    assert error.http_status == 400 and error.param == param and words in error.user_message


def test_without_automatic_tax_no_tax_and_no_tax_behavior_needed(client):
    session = create(client, automatic_tax=None, line_items=[line_item(tax_behavior=None)])
    assert (session.amount_subtotal, session.total_details.amount_tax, session.amount_total) == (1299, 0, 1299)
    assert session.automatic_tax.enabled is False and session.automatic_tax.status is None


@pytest.mark.parametrize(
    "behavior, amount, tax, total",
    [
        ("exclusive", 1299, 260, 1559),  # 259.8 -> 260
        ("inclusive", 1299, 217, 1299),  # 1299 * 0.2 / 1.2 = 216.5 -> 217 (half up)
        ("exclusive", 1000, 200, 1200),
        ("inclusive", 1200, 200, 1200),
    ],
)
def test_tax_at_the_stand_ins_test_rate(client, behavior, amount, tax, total):
    session = create(client, line_items=[line_item(amount, behavior)])
    assert (session.amount_subtotal, session.total_details.amount_tax, session.amount_total) == (amount, tax, total)


def test_create_is_idempotent(client):
    first = create(client, key="purchase:r1:checkout")
    again = create(client, key="purchase:r1:checkout")
    assert again.id == first.id and again.url == first.url
    with pytest.raises(stripe.IdempotencyError):
        create(client, key="purchase:r1:checkout", client_reference_id="r2")
    assert len(client.v1.checkout.sessions.list().data) == 1


# ---------------------------------------------------------------- the hosted page


def test_the_page_is_a_plain_local_test_page(client, url):
    session = create(client)
    status, headers, body = http("GET", session.url)
    page = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "Local test checkout — no real payment" in page
    assert "Album Store" in page and "Blue Skies" in page and "by The Lanterns" in page
    assert "blue-skies.jpg" in page and "$15.59" in page and "$2.60" in page and "Tax (20 %, test rate)" in page
    assert re.search(r'<input id="cs-email" name="email" value="ana@example.com"[^>]*\breadonly\b', page)
    assert f'href="{CANCEL}"' in page and "Cancel and go back" in page
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "form-action 'self' http://localhost:6543" in csp
    # Self-contained: every script and stylesheet from the stand-in itself.
    assert re.findall(r'(?:src|href)="(/checkout/pay\.(?:js|css))"', page) == ["/checkout/pay.css", "/checkout/pay.js"]
    for asset in ("/checkout/pay.css", "/checkout/pay.js"):
        assert http("GET", url + asset)[0] == 200


def test_pay_with_4242(client):
    session = create(client)
    assert pay_checkout_session(session.url) == success_url(session)
    paid = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent.latest_charge"]})
    assert (paid.status, paid.payment_status, paid.url) == ("complete", "paid", None)
    assert paid.customer_details.email == "ana@example.com"
    intent = paid.payment_intent
    assert intent.status == "succeeded" and intent.amount == 1559 and intent.currency == "usd"
    assert intent.metadata["purchase_ref"] == "r1" and intent.description == "Blue Skies — Album Store"
    charge = intent.latest_charge
    assert charge.status == "succeeded" and charge.amount == 1559 and charge.receipt_email == "ana@example.com"
    assert charge.metadata["purchase_ref"] == "r1" and charge.payment_intent == intent.id
    assert charge.payment_method_details.card.last4 == "4242"
    assert [s.id for s in client.v1.checkout.sessions.list(params={"payment_intent": intent.id}).data] == [session.id]
    assert client.v1.checkout.sessions.list(params={"payment_intent": "pi_other"}).data == []
    assert [s.id for s in client.v1.checkout.sessions.list(params={"status": "complete"}).data] == [session.id]
    # The page of a complete session says so, and leads to the success page; paying again is refused.
    page = http("GET", session.url)[2].decode()
    assert "Already paid" in page and f'href="{success_url(session)}"'.replace("&", "&amp;") in page
    with pytest.raises(CheckoutPageError) as again:
        pay_checkout_session(session.url)
    assert "complete" in again.value.message


def test_declined_card_shows_its_message_and_the_session_stays_open(client):
    session = create(client)
    with pytest.raises(CheckoutPageError) as declined:
        pay_checkout_session(session.url, card="4000000000000002")
    assert declined.value.message == DECLINED and declined.value.status == 402
    with pytest.raises(CheckoutPageError) as funds:
        pay_checkout_session(session.url, card="4000 0000 0000 9995")
    assert funds.value.message == "Your card has insufficient funds."
    still = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert (still.status, still.payment_status) == ("open", "unpaid")
    assert still.payment_intent.status == "requires_payment_method"
    assert still.payment_intent.last_payment_error.decline_code == "insufficient_funds"
    assert pay_checkout_session(session.url) == success_url(session)
    paid = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert paid.payment_intent.id == still.payment_intent.id and paid.payment_intent.status == "succeeded"


def test_field_checks_as_the_modal(client):
    session = create(client, customer_email=None)
    with pytest.raises(CheckoutPageError) as caught:
        pay_checkout_session(session.url, card="4242424242424241", exp="13/30", cvc="12", email="ana@example")
    assert caught.value.status == 400 and caught.value.field_errors == {
        "email": "Please enter a valid email address.",
        "number": "Your card number is invalid.",
        "exp": "Your card's expiration month is invalid.",
        "cvc": "Your card's security code is incomplete.",
    }
    with pytest.raises(CheckoutPageError) as past:
        pay_checkout_session(session.url, exp="01/20")
    assert past.value.field_errors == {"exp": "Your card's expiration date is in the past."}
    assert pay_checkout_session(session.url, email="bo@example.com") == success_url(session)
    assert client.v1.checkout.sessions.retrieve(session.id).customer_details.email == "bo@example.com"


def test_3d_secure_completed(client):
    session = create(client)
    assert pay_checkout_session(session.url, card="4000002500003155") == success_url(session)
    paid = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent.latest_charge"]})
    assert paid.payment_status == "paid"
    assert paid.payment_intent.latest_charge.payment_method_details.card.three_d_secure.result == "authenticated"


def test_3d_secure_failed_then_paid(client, url):
    session = create(client)
    with pytest.raises(CheckoutPageError) as failed:
        pay_checkout_session(session.url, card="4000002500003155", authenticate=False)
    assert failed.value.message == AUTH_FAILED
    still = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert still.status == "open" and still.payment_intent.status == "requires_payment_method"
    assert still.payment_intent.last_payment_error.code == "payment_intent_authentication_failure"
    assert pay_checkout_session(session.url) == success_url(session)


def test_3d_secure_then_declined(client):
    session = create(client)
    with pytest.raises(CheckoutPageError) as declined:
        pay_checkout_session(session.url, card="4000008260003178")
    assert declined.value.message == "Your card has insufficient funds."
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_posts_need_the_anti_forgery_value_and_the_same_origin(client, url):
    session = create(client)
    fields = {"number": "4242424242424242", "exp": "12/34", "cvc": "123"}
    status, _, body = http("POST", session.url, data=fields)
    assert status == 403 and b"did not come from this page" in body
    token = re.search(r'name="csrf" value="(\w+)"', http("GET", session.url)[2].decode()).group(1)
    status, _, _ = http("POST", session.url, data=dict(fields, csrf=token), headers={"Origin": "http://evil.example"})
    assert status == 403
    status, _, _ = http("POST", session.url, data=dict(fields, csrf=token), headers={"Sec-Fetch-Site": "cross-site"})
    assert status == 403
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    other = create(client)
    other_token = re.search(r'name="csrf" value="(\w+)"', http("GET", other.url)[2].decode()).group(1)
    assert other_token != token and http("POST", session.url, data=dict(fields, csrf=other_token))[0] == 403


def test_missing_session_page(url):
    status, _, body = http("GET", f"{url}/checkout/pay/cs_test_nope")
    assert status == 404 and b"No such checkout session" in body


# ---------------------------------------------------------------- expiry


def test_expire(client, url):
    session = create(client)
    with pytest.raises(CheckoutPageError):
        pay_checkout_session(session.url, card="4000000000000002")  # the PaymentIntent exists now
    expired = client.v1.checkout.sessions.expire(session.id, params={"expand": ["payment_intent"]})
    assert (expired.status, expired.payment_status, expired.url) == ("expired", "unpaid", None)
    assert expired.payment_intent.status == "canceled"
    page = http("GET", session.url)[2].decode()
    assert "This checkout session has expired" in page and 'id="cs-pay-form"' not in page
    with pytest.raises(CheckoutPageError) as late:
        pay_checkout_session(session.url)
    assert "expired" in late.value.message
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.checkout.sessions.expire(session.id)
    assert again.value.user_message == (
        'Only Checkout Sessions with a status in ["open"] can be expired. This '
        "Checkout Session has a status of `expired`."
    )


def test_a_complete_session_cannot_be_expired(client):
    session = create(client)
    pay_checkout_session(session.url)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.expire(session.id)
    assert caught.value.http_status == 400 and "has a status of `complete`" in caught.value.user_message
    assert client.v1.checkout.sessions.retrieve(session.id).status == "complete"


def test_expires_when_its_time_comes(client, url):
    session = create(client)
    assert expire_checkout_session(url, session.id)["status"] == "expired"
    got = client.v1.checkout.sessions.retrieve(session.id)
    assert got.status == "expired" and got.expires_at <= int(time.time())
    assert [s.id for s in client.v1.checkout.sessions.list(params={"status": "expired"}).data] == [session.id]


# ---------------------------------------------------------------- events


@pytest.fixture
def hooks(url):
    """A webhook endpoint recording the events the stand-in delivers: ``hooks.wait(n)`` -> [event]."""
    import http.server
    import threading

    from stripe_standin.process import register_webhook

    got, lock = [], threading.Condition()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            event = stripe.Webhook.construct_event(body, self.headers["Stripe-Signature"], "whsec_test")
            with lock:
                got.append(event)
                lock.notify_all()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    register_webhook(url, "sessions", f"http://127.0.0.1:{server.server_port}/", "whsec_test")

    class Hooks:
        def wait(self, n, timeout=8.0):
            deadline = time.monotonic() + timeout
            with lock:
                while len(got) < n and time.monotonic() < deadline:
                    lock.wait(0.05)
                return list(got)

    yield Hooks()
    register_webhook(url, "sessions", "http://127.0.0.1:9/", "whsec_test", events=[])  # off
    server.shutdown()


def test_completed_event_and_the_payments_own(client, hooks):
    session = create(client)
    pay_checkout_session(session.url)
    events = {e.type: e for e in hooks.wait(4)}  # in no promised order, as on Stripe
    assert sorted(events) == [
        "charge.succeeded",
        "checkout.session.completed",
        "payment_intent.created",
        "payment_intent.succeeded",
    ]
    completed = events["checkout.session.completed"].data.object
    assert completed.id == session.id and completed.payment_status == "paid" and completed.status == "complete"
    assert completed.payment_intent == events["payment_intent.succeeded"].data.object.id
    assert completed.client_reference_id == "r1" and completed.customer_details.email == "ana@example.com"
    assert events["charge.succeeded"].data.object.metadata["purchase_ref"] == "r1"


def test_expired_event(client, url, hooks):
    session = create(client)
    expire_checkout_session(url, session.id)
    events = hooks.wait(1)
    assert [(e.type, e.data.object.id, e.data.object.status) for e in events] == [
        ("checkout.session.expired", session.id, "expired")
    ]


def test_events_go_through_the_delivery_controls(client, url, hooks):
    from stripe_standin.process import held_webhooks, release_webhooks, set_webhook_delivery

    set_webhook_delivery(url, hold=True)
    session = create(client)
    pay_checkout_session(session.url)
    assert "checkout.session.completed" in [e["type"] for e in held_webhooks(url)]
    release_webhooks(url, types=["checkout.session.completed"])
    assert [e.type for e in hooks.wait(1)] == ["checkout.session.completed"]


def test_delayed_payment_succeeds_later(client, url, hooks):
    session = create(client)
    assert pay_checkout_session(session.url, card="4000 0099 0000 0004") == success_url(session)
    got = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert (got.status, got.payment_status, got.payment_intent.status) == ("complete", "unpaid", "processing")
    settled = settle_checkout_session(url, session.id, "succeeded")
    assert settled["payment_status"] == "paid" and settled["payment_intent"]["status"] == "succeeded"
    types = [e.type for e in hooks.wait(7)]
    # Both are sent; like Stripe's, deliveries come in no guaranteed order (each about a second after
    # its event), so the settle that follows payment at once may be delivered first.
    assert {"checkout.session.completed", "checkout.session.async_payment_succeeded"} <= set(types)
    completed = [e for e in hooks.wait(7) if e.type == "checkout.session.completed"][0]
    assert completed.data.object.payment_status == "unpaid"


def test_delayed_payment_fails_later(client, url, hooks):
    session = create(client)
    pay_checkout_session(session.url, card="4000009900000004")
    settled = settle_checkout_session(url, session.id, "failed")
    assert (settled["status"], settled["payment_status"]) == ("complete", "unpaid")
    assert settled["payment_intent"]["status"] == "requires_payment_method"
    assert "checkout.session.async_payment_failed" in [e.type for e in hooks.wait(7)]
    with pytest.raises(StandinError, match="-> 400"):
        settle_checkout_session(url, session.id, "succeeded")  # nothing waits to settle any more


def test_control_calls_on_a_missing_session(url):
    from stripe_standin.process import StandinError

    with pytest.raises(StandinError, match="404"):
        expire_checkout_session(url, "cs_test_nope")
