"""Buying an album: card → payment → purchase → receipt, and every way it can go wrong.

The tests taking ``shop`` or ``flow`` run in both payment flows (``checkout_js``: token → charge;
``payment_intents``: PaymentIntent confirmed by Stripe.js), paying as a browser does (tests/paying.py):
the same acceptance tests for both. These talk HTTP through the real stripe SDK to the local stand-in
(or to Stripe's test mode).
"""

import logging
from decimal import Decimal

import pytest
from sqlalchemy import select

from album_store.models import Purchase
from tests.conftest import PASSWORD, STRIPE_MODE, StoreTestApp, real_stripe_only, standin_only
from tests.factories import make_album, make_user
from tests.stripe_reads import charges_for, ids, payment_intents_for

#: Where each flow's payment is made at Stripe (for fault injection).
STRIPE_PATH = {
    "checkout_js": "/v1/charges",
    "payment_intents": "/v1/payment_intents",
    "checkout_session": "/v1/checkout/sessions",
}

pytestmark = pytest.mark.stripe


def purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


def test_paying_charges_the_database_price_and_shows_the_receipt(shop, flow, dbsession, stripe_client):
    album = make_album(dbsession, slug="blue-skies", title="Blue Skies", artist="The Paper Lanterns", price_cents=999)
    payment = shop.pay("blue-skies", email="ana@example.com")
    assert payment.paid, payment

    [purchase] = purchases(dbsession)
    assert payment.receipt_url == f"http://localhost/purchases/{purchase.id}"
    assert purchase.status == "paid"
    assert (purchase.album_id, purchase.amount_cents, purchase.currency) == (album.id, 999, "usd")
    assert purchase.email == "ana@example.com"
    assert purchase.user_id is None
    assert purchase.paid_at is not None and purchase.paid_at.tzinfo is not None
    assert purchase.card_last4 == "4242"

    charge = stripe_client.v1.charges.retrieve(purchase.stripe_charge_id)
    assert (charge.amount, charge.currency, charge.status) == (999, "usd", "succeeded")
    assert charge.receipt_email == "ana@example.com"
    assert charge.metadata["purchase_id"] == str(purchase.id)
    assert charge.metadata["purchase_ref"] == purchase.reference
    assert charge.metadata["album_id"] == str(album.id)
    assert "Blue Skies" in charge.description
    if flow == "payment_intents":
        intent = stripe_client.v1.payment_intents.retrieve(purchase.stripe_payment_intent_id)
        assert (intent.amount, intent.status, intent.latest_charge) == (999, "succeeded", charge.id)
        assert intent.metadata["purchase_ref"] == purchase.reference and purchase.checkout_token is None

    receipt = shop.get(payment.receipt_url)
    text = receipt.html.get_text(" ", strip=True)
    for expected in (
        "Paid",
        "Blue Skies",
        "The Paper Lanterns",
        "$9.99",
        "ending in 4242",
        "ana@example.com",
        f"#{purchase.id}",
    ):
        assert expected in text, expected
    assert "Getting your music" in text


def test_the_amount_is_never_read_from_the_request(shop, dbsession, stripe_client):
    make_album(dbsession, slug="cheap-trick", price_cents=1999)
    assert shop.pay("cheap-trick", extra={"amount": "1", "data_amount": "1", "price_cents": "1"}).paid
    [purchase] = purchases(dbsession)
    assert purchase.amount_cents == 1999
    assert stripe_client.v1.charges.retrieve(purchase.stripe_charge_id).amount == 1999


DECLINES = [
    ("4000000000000002", "Your card was declined."),
    ("4000000000009995", "Your card has insufficient funds."),
    ("4000000000000069", "Your card has expired."),
    ("4000000000000127", "Your card's security code is incorrect."),
    ("4000000000000119", "An error occurred while processing your card."),
]


@pytest.mark.parametrize("card, message", DECLINES)
def test_a_declined_card_gets_402_with_stripes_message_and_a_way_to_retry(shop, flow, dbsession, card, message):
    make_album(dbsession, slug="declined", title="Declined Album", price_cents=1099)
    payment = shop.pay("declined", card=card)
    assert (payment.outcome, payment.status) == ("declined", 402)
    assert message in payment.message
    if flow == "checkout_js":
        page = payment.response
        assert "not charged" in payment.message
        assert page.html.find("script", class_="stripe-button")["data-amount"] == "1099", "the button to try again"
        assert page.html.find("input", attrs={"name": "csrf_token"})["value"]
    elif flow == "payment_intents":
        assert payment.response.json["attempt_id"].startswith("att_"), "the next attempt, without reloading"
    [purchase] = purchases(dbsession)
    assert purchase.stripe_charge_id is None and purchase.paid_at is None
    if flow == "checkout_session":
        # Declined on Stripe's page, which stays open for another card: the store has heard nothing.
        assert purchase.status == "pending"
        return
    assert purchase.status == "failed"
    assert purchase.failure_message.startswith(message[:20])


@standin_only
def test_a_declined_checkout_posted_again_repeats_why_and_charges_nothing(
    testapp, dbsession, new_card_token, stripe_client, caplog
):
    """A double click on a declined card, or the back button and Pay again with the same token: the
    same purchase answers with the bank's reason again, its code kept for the owner, and the failed
    charge named in the log; Stripe is not asked again."""
    make_album(dbsession, slug="expired", price_cents=1099)
    token = new_card_token("4000000000000069")
    caplog.set_level(logging.INFO, logger="album_store")
    first = testapp.buy("expired", token=token, status=402)
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.failure_code) == ("failed", "expired_card")
    [failed_charge] = stripe_client.v1.charges.list(params={"limit": 100}).data[:1]
    assert f"purchase_id={purchase.id} from=pending to=failed charge_id={failed_charge.id}" in caplog.text
    again = testapp.buy("expired", token=token, status=402)
    for page in (first, again):
        assert "Your card has expired." in page.html.find(class_="alert--error").text
    assert len(purchases(dbsession)) == 1
    assert [c.id for c in stripe_client.v1.charges.list(params={"limit": 100}).data[:1]] == [failed_charge.id]


@standin_only
def test_a_card_pays_with_its_last_four_digits(shop, dbsession):
    make_album(dbsession, slug="card")
    payment = shop.pay("card", card="5555555555554444")
    assert "ending in 4444" in shop.get(payment.receipt_url).text
    assert purchases(dbsession)[0].card_brand.lower() == "mastercard"


def test_posting_the_same_checkout_twice_charges_once(testapp, dbsession, stripe_client, new_card_token):
    make_album(dbsession, slug="double-click", price_cents=1500)
    token = new_card_token()
    first = testapp.buy("double-click", token=token, status=303)
    second = testapp.buy("double-click", token=token, status=303)
    assert first.location == second.location
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid"
    charges = charges_for(stripe_client, purchase)
    assert [c.id for c in charges if c.status == "succeeded"] == [purchase.stripe_charge_id]


def test_a_checkout_token_used_for_another_album_is_refused(testapp, dbsession, new_card_token):
    make_album(dbsession, slug="first")
    make_album(dbsession, slug="second")
    token = new_card_token()
    testapp.buy("first", token=token, status=303)
    page = testapp.buy("second", token=token, status=409)
    assert "already used" in page.text and "enter your card again" in page.text
    assert [p.status for p in purchases(dbsession)] == ["paid"]


def test_a_missing_token_is_a_400_page_and_records_nothing(testapp, dbsession):
    make_album(dbsession, slug="no-token")
    csrf = testapp.csrf_token("no-token")
    page = testapp.post("/albums/no-token/buy", {"csrf_token": csrf, "stripeEmail": "a@example.com"}, status=400)
    assert "without a card token" in page.text and "nothing was charged" in page.text
    assert page.html.find("header", class_="site-header")
    page = testapp.post("/albums/no-token/buy", {"csrf_token": csrf, "stripeToken": "tok_visa"}, status=400)
    assert "email" in page.text
    page = testapp.post(
        "/albums/no-token/buy",
        {"csrf_token": csrf, "stripeToken": "<script>", "stripeEmail": "a@example.com"},
        status=400,
    )
    assert purchases(dbsession) == []


def test_a_missing_or_wrong_csrf_token_is_a_403_page_and_charges_nothing(testapp, dbsession):
    make_album(dbsession, slug="csrf")
    page = testapp.buy("csrf", csrf=False, status=403)
    assert "security token" in page.text and "Nothing was charged" in page.text
    testapp.get("/albums/csrf")  # a session exists now, with a token that is not this one
    page = testapp.post(
        "/albums/csrf/buy",
        {"csrf_token": "forged", "stripeToken": "tok_visa", "stripeEmail": "a@example.com"},
        status=403,
    )
    assert page.html.find("header", class_="site-header")
    assert purchases(dbsession) == []


def test_paying_without_the_csrf_token_is_refused_in_both_flows(shop, dbsession):
    make_album(dbsession, slug="csrf")
    payment = shop.pay("csrf", csrf=False)
    assert (payment.outcome, payment.status) == ("forbidden", 403)
    assert "Nothing was charged" in payment.message
    assert purchases(dbsession) == []


def test_buying_an_unpublished_or_unknown_album_is_404(testapp, dbsession):
    make_album(dbsession, slug="on-sale")
    make_album(dbsession, slug="draft", is_published=False)
    csrf = testapp.csrf_token("on-sale")
    for slug in ("draft", "missing"):
        page = testapp.post(
            f"/albums/{slug}/buy",
            {"csrf_token": csrf, "stripeToken": "tok_visa", "stripeEmail": "a@example.com"},
            status=404,
        )
        assert "There is no album at this address" in page.text, "the album's refusal, not a missing route's"
    assert purchases(dbsession) == []


def test_a_get_on_the_buy_address_goes_back_to_the_album(testapp, dbsession):
    make_album(dbsession, slug="reload")
    assert testapp.get("/albums/reload/buy", status=303).location == "http://localhost/albums/reload"


def test_only_the_buyer_sees_the_receipt(shop, dbsession, new_card_token):
    make_album(dbsession, slug="private")
    receipt_url = shop.pay("private").receipt_url
    shop.get(receipt_url, status=200)
    stranger = StoreTestApp(shop.app, new_card_token)
    page = stranger.get(receipt_url, status=404)
    assert "receipt" in page.text
    stranger.get("/purchases/999999", status=404)
    stranger.get("/purchases/not-a-number", status=404)

    # A past buyer of another album: their browser remembers their own purchase, not this one.
    make_album(dbsession, slug="another")
    other_buyer = StoreTestApp(shop.app, new_card_token)
    their_receipt = other_buyer.pay("another", email="other@example.com").receipt_url
    other_buyer.get(their_receipt, status=200)
    assert "receipt" in other_buyer.get(receipt_url, status=404).text
    # A signed-in buyer with purchases of their own: their account does not open this receipt either.
    make_user(dbsession, "account@example.com", PASSWORD)
    account = StoreTestApp(shop.app, new_card_token)
    account.login("account@example.com")
    own = account.pay("another")
    assert own.paid, own.message
    account.get(own.receipt_url, status=200)
    assert "receipt" in account.get(receipt_url, status=404).text
    assert "receipt" in account.get(their_receipt, status=404).text


def test_stripe_unreachable_is_a_503_and_the_purchase_waits_for_reconcile(make_app, flow, dbsession):
    make_album(dbsession, slug="offline")
    offline = make_app(
        **{"stripe.api_base": "http://127.0.0.1:9", "stripe.max_network_retries": "0", "store.payment_flow": flow}
    )
    payment = offline.pay("offline")
    assert (payment.outcome, payment.status) == ("unavailable", 503)
    assert "could not" in payment.message and "not be charged again" in payment.message
    assert payment.response.headers["Retry-After"] == "10"
    [purchase] = purchases(dbsession)
    assert purchase.status == "pending" and purchase.stripe_charge_id is None
    # The buyer's browser may open the pending receipt, which keeps reloading itself until settled.
    receipt = offline.get(f"/purchases/{purchase.id}")
    assert "Being confirmed" in receipt.text and "not be charged again" in receipt.text
    assert receipt.html.find("meta", attrs={"http-equiv": "refresh"})["content"] == f"10; url=/purchases/{purchase.id}"


@real_stripe_only
def test_a_wrong_secret_key_is_a_503_and_charges_nothing(make_app, dbsession, caplog):
    make_album(dbsession, slug="bad-key")
    misconfigured = make_app(**{"stripe.secret_key": "sk_test_wrong_key_for_this_account"})
    misconfigured.buy("bad-key", token="tok_visa", status=503)
    assert purchases(dbsession)[0].status == "pending"
    assert "stripe.secret_key" in caplog.text


@standin_only
def test_stripe_failing_is_a_503_and_reconcile_marks_it_failed_when_nothing_was_charged(
    shop, flow, dbsession, faults, ini_file
):
    from album_store.cli import main as cli

    make_album(dbsession, slug="flaky")
    faults.inject(
        count=3, status=500, when="before", path_prefix=STRIPE_PATH[flow]
    )  # the first try and both retries fail
    assert shop.pay("flaky").status == 503
    [purchase] = purchases(dbsession)
    assert purchase.status == "pending"

    # Stripe's search can lag for up to an hour: finding nothing for a young purchase proves nothing.
    # (A Checkout Session is never searched for: none was made, so nobody could have paid.)
    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0"]) == 0
    assert purchases(dbsession)[0].status == ("failed" if flow == "checkout_session" else "pending")
    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0", "--search-lag-minutes", "0"]) == 0
    [purchase] = purchases(dbsession)
    assert purchase.status == "failed" and purchase.stripe_charge_id is None
    # What the buyer's receipt then says.
    assert purchase.failure_message == (
        "The payment did not go through; nothing was charged."
        if flow == "checkout_js"
        else "The payment was not completed."
    )


@standin_only
def test_a_charge_whose_answer_was_lost_is_settled_as_paid_by_reconcile(
    make_app, dbsession, faults, ini_file, stripe_client, capsys
):
    from album_store.cli import main as cli

    make_album(dbsession, slug="lost-answer", price_cents=2500)
    no_retries = make_app(**{"stripe.max_network_retries": "0"})
    faults.inject(count=1, status=500, when="after")  # the charge is made; its answer is lost
    page = no_retries.buy("lost-answer", status=503)
    assert "not be charged again" in page.text
    [purchase] = purchases(dbsession)
    assert purchase.status == "pending"

    # Too recent for reconcile's default grace period: a checkout may still be in flight.
    capsys.readouterr()
    assert cli(["reconcile", str(ini_file)]) == 0
    assert purchases(dbsession)[0].status == "pending"
    assert capsys.readouterr().out.strip() == "Reconciled 0 purchases."

    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0"]) == 0
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid" and purchase.amount_cents == 2500
    assert capsys.readouterr().out.strip() == "Reconciled 1 purchase.", "the owner is told what it settled"
    charge = stripe_client.v1.charges.retrieve(purchase.stripe_charge_id)
    assert charge.amount == 2500 and charge.metadata["purchase_id"] == str(purchase.id)

    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0"]) == 0  # twice changes nothing
    assert purchases(dbsession)[0].stripe_charge_id == charge.id


@standin_only
def test_a_lost_answer_retried_by_the_sdk_charges_once(shop, flow, dbsession, faults, stripe_client):
    make_album(dbsession, slug="retry", price_cents=700)
    faults.inject(
        count=1, status=500, when="after", path_prefix=STRIPE_PATH[flow], method="POST"
    )  # the first answer is lost; the SDK retries
    assert shop.pay("retry").paid
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid"
    assert ids(charges_for(stripe_client, purchase)) == [purchase.stripe_charge_id]
    if flow == "payment_intents":
        assert ids(payment_intents_for(stripe_client, purchase)) == [purchase.stripe_payment_intent_id]


def test_every_demo_album_charges_exactly_what_its_button_shows(shop, flow, dbsession, stripe_client):
    from album_store.demo import DEMO_ALBUMS, seed_demo_catalog

    seed_demo_catalog(dbsession)
    dbsession.commit()
    published = [a for a in DEMO_ALBUMS if a["published"]]
    # Stripe's test mode has no single-use tokens to make from a server: one magic token per album.
    magic = iter(["tok_visa", "tok_mastercard", "tok_amex", "tok_visa_debit", "tok_discover", "tok_jcb", "tok_diners"])
    for data in published:
        page = shop.get(f"/albums/{data['slug']}")
        if data.get("minimum_cents") is not None:  # pay what you want: the amount field's suggestion, paid as it is
            shown = int(Decimal(page.html.find("input", attrs={"name": "amount"})["value"]) * 100)
        elif flow == "checkout_js":
            shown = int(page.html.find("script", class_="stripe-button")["data-amount"])
        elif flow == "checkout_session":
            shown = int(
                page.html.find("form", id="hosted-checkout").find("input", attrs={"name": "shown_amount"})["value"]
            )
        else:
            shown = int(page.html.find("form", id="card-payment")["data-amount"])
        card = next(magic) if STRIPE_MODE == "stripe" and flow == "checkout_js" else None
        payment = shop.pay(data["slug"], card=card)
        assert payment.paid, payment
        receipt = shop.get(payment.receipt_url)
        purchase = purchases(dbsession)[-1]
        charged = stripe_client.v1.charges.retrieve(purchase.stripe_charge_id).amount
        assert shown == charged == purchase.amount_cents == data["price_cents"], data["slug"]
        assert f"${data['price_cents'] // 100}.{data['price_cents'] % 100:02d}" in receipt.text
    assert len(purchases(dbsession)) == len(published)


def test_the_database_failing_after_the_charge_loses_nothing(make_app, flow, dbsession, ini_file, stripe_client):
    """Charged at Stripe, then the database refuses the 'paid' update: a 503, and reconcile settles it."""
    from sqlalchemy import event

    from album_store.cli import main as cli

    make_album(dbsession, slug="db-down", price_cents=1700)
    store = make_app(**{"store.payment_flow": flow})
    engine = store.app.registry["db_engine"]

    def database_down(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("UPDATE purchases") and "paid" in repr(parameters):
            raise engine.dialect.dbapi.OperationalError("injected: the database went away")

    event.listen(engine, "before_cursor_execute", database_down)
    try:
        payment = store.pay("db-down")
    finally:
        event.remove(engine, "before_cursor_execute", database_down)
    if flow == "checkout_session":  # back from Stripe's page to the receipt, which is still confirming
        assert (payment.outcome, payment.status) == ("pending", 200)
    else:
        assert payment.status == 503
    assert "not be charged again" in payment.message
    [purchase] = purchases(dbsession)
    assert purchase.status == "pending"
    found = charges_for(stripe_client, purchase)  # the store has no charge id yet: only search finds it
    assert [c.status for c in found] == ["succeeded"], "the charge exists at Stripe"

    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0"]) == 0
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid" and purchase.stripe_charge_id == found[0].id


@standin_only
@pytest.mark.parametrize(
    "status, logged",
    [
        (429, "RateLimitError"),
        (500, "APIError"),
        (503, "APIError"),
        (401, "stripe.secret_key"),
    ],
)
def test_stripe_errors_leave_the_purchase_pending_behind_a_503(shop, flow, dbsession, faults, caplog, status, logged):
    make_album(dbsession, slug=f"error-{status}")
    faults.inject(
        count=3, status=status, when="before", path_prefix=STRIPE_PATH[flow]
    )  # outlasts the SDK's two retries
    payment = shop.pay(f"error-{status}")
    assert payment.status == 503 and "could not" in payment.message
    assert [p.status for p in purchases(dbsession)] == ["pending"]
    assert logged in caplog.text
    if status == 401:
        assert any(r.levelname == "CRITICAL" for r in caplog.records), "a wrong key is loud for the owner"


@standin_only
def test_a_retry_after_a_rename_sends_the_same_charge_and_shows_the_receipt(
    make_app, testapp, dbsession, faults, caplog, new_card_token, stripe_client
):
    """The answer to a charge is lost; the owner renames the album; the buyer posts the same checkout
    again. The retry sends exactly the first request (the purchase's own description), so Stripe
    replays the first charge: the buyer sees the receipt, and there is one charge."""
    album = make_album(dbsession, slug="renamed", title="Old Title", price_cents=1400)
    token = new_card_token()
    faults.inject(count=1, status=500, when="after")
    make_app(**{"stripe.max_network_retries": "0"}).buy("renamed", token=token, status=503)
    album.title = "New Title"
    dbsession.commit()
    page = testapp.buy("renamed", token=token, status=303)
    assert "idempotency" not in caplog.text
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid" and page.location.endswith(f"/purchases/{purchase.id}")
    found = charges_for(stripe_client, purchase)
    assert [c.id for c in found] == [purchase.stripe_charge_id]
    assert found[0].description == "Old Title by Test Artist"


def test_each_state_change_is_one_log_line_without_card_data_or_secrets(shop, flow, dbsession, caplog, app_settings):
    import logging

    caplog.set_level(logging.INFO, logger="album_store")
    make_album(dbsession, slug="logged", price_cents=999)
    payment = shop.pay("logged")
    assert payment.paid
    [purchase] = purchases(dbsession)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("purchase_state ")]
    assert lines == [
        f"purchase_state purchase_id={purchase.id} from=- to=pending charge_id=- amount_cents=999 currency=usd",
        f"purchase_state purchase_id={purchase.id} from=pending to=paid charge_id={purchase.stripe_charge_id} "
        "amount_cents=999 currency=usd",
    ]
    assert app_settings["stripe.secret_key"] not in caplog.text
    assert "4242424242424242" not in caplog.text and "_secret_" not in caplog.text


@standin_only
@pytest.mark.parametrize("kind", ["used", "unknown"])
def test_a_card_token_used_before_or_unknown_asks_for_the_card_again(
    testapp, dbsession, new_card_token, stripe_client, kind
):
    """Checkout's token is single-use: one already charged elsewhere (another shop's tab, a retry
    from an old page) or one Stripe does not know is not a payment error of ours: the buyer is asked
    to enter the card again, with a 402 on the album page, and that purchase records why."""
    make_album(dbsession, slug="token-again", price_cents=1100)
    token = new_card_token() if kind == "used" else "tok_" + "0" * 24
    if kind == "used":
        stripe_client.v1.charges.create(params={"amount": 500, "currency": "usd", "source": token})
    page = testapp.buy("token-again", token=token, email="again@example.com", status=402)
    assert " ".join(page.html.find(class_="alert--error").text.split()) == (
        "Your card was not charged. Your card details expired before the payment went through. "
        "Please enter them again. "
        "You can try again with another card."
    )
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.failure_code) == (
        "failed",
        "token_already_used" if kind == "used" else "resource_missing",
    )
