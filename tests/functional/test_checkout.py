"""Buying an album: token → charge → purchase → receipt, and every way it can go wrong.

These talk HTTP through the real stripe SDK to the local stand-in (or to Stripe's test mode).
"""
import pytest
from sqlalchemy import func, select

from album_store.models import Purchase
from tests.conftest import STRIPE_MODE, StoreTestApp, real_stripe_only, standin_only
from tests.factories import make_album

pytestmark = pytest.mark.stripe


def purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


def test_paying_charges_the_database_price_and_shows_the_receipt(testapp, dbsession, stripe_client):
    album = make_album(dbsession, slug="blue-skies", title="Blue Skies", artist="The Paper Lanterns", price_cents=999)
    response = testapp.buy("blue-skies", email="ana@example.com", status=303)

    [purchase] = purchases(dbsession)
    assert response.location == f"http://localhost/purchases/{purchase.id}"
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
    assert charge.metadata["album_slug"] == "blue-skies"
    assert "Blue Skies" in charge.description

    receipt = response.follow()
    text = receipt.html.get_text(" ", strip=True)
    for expected in ("Paid", "Blue Skies", "The Paper Lanterns", "$9.99", "ending in 4242", "ana@example.com", f"#{purchase.id}"):
        assert expected in text, expected
    assert "Getting your music" in text


def test_the_amount_is_never_read_from_the_request(testapp, dbsession, stripe_client):
    make_album(dbsession, slug="cheap-trick", price_cents=1999)
    testapp.buy("cheap-trick", amount="1", data_amount="1", price_cents="1", status=303)
    [purchase] = purchases(dbsession)
    assert purchase.amount_cents == 1999
    assert stripe_client.v1.charges.retrieve(purchase.stripe_charge_id).amount == 1999


DECLINES = [
    ("tok_chargeDeclined", "Your card was declined."),
    ("tok_chargeDeclinedInsufficientFunds", "Your card has insufficient funds."),
    ("tok_chargeDeclinedExpiredCard", "Your card has expired."),
    ("tok_chargeDeclinedIncorrectCvc", "Your card's security code is incorrect."),
    ("tok_chargeDeclinedProcessingError", "An error occurred while processing your card."),
]


@pytest.mark.parametrize("token, message", DECLINES)
def test_a_declined_card_gets_402_with_stripes_message_and_a_way_to_retry(testapp, dbsession, token, message):
    make_album(dbsession, slug="declined", title="Declined Album", price_cents=1099)
    page = testapp.buy("declined", token=token, status=402)
    alert = page.html.find(class_="alert--error").get_text(" ", strip=True)
    assert message in alert and "not charged" in alert
    assert page.html.find("script", class_="stripe-button")["data-amount"] == "1099", "the button to try again"
    assert page.html.find("input", attrs={"name": "csrf_token"})["value"]
    [purchase] = purchases(dbsession)
    assert purchase.status == "failed"
    assert purchase.stripe_charge_id is None and purchase.paid_at is None
    assert purchase.failure_message.startswith(message[:20])


@standin_only
@pytest.mark.parametrize(
    "number, message",
    [
        ("4000000000000002", "Your card was declined."),
        ("4000000000009995", "Your card has insufficient funds."),
        ("4000000000000069", "Your card has expired."),
        ("4000000000000127", "Your card's security code is incorrect."),
        ("4000000000000119", "An error occurred while processing your card."),
    ],
)
def test_the_standard_decline_cards_are_declined(testapp, dbsession, stripe_client, number, message):
    make_album(dbsession, slug="cards")
    token = stripe_client.v1.tokens.create(
        params={"card": {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"}}
    )
    page = testapp.buy("cards", token=token.id, status=402)
    assert message in page.html.find(class_="alert--error").text
    assert [p.status for p in purchases(dbsession)] == ["failed"]


@standin_only
def test_a_card_token_pays_with_its_last_four_digits(testapp, dbsession, stripe_client):
    make_album(dbsession, slug="card")
    token = stripe_client.v1.tokens.create(
        params={"card": {"number": "5555555555554444", "exp_month": "1", "exp_year": "2035", "cvc": "321"}}
    )
    receipt = testapp.buy("card", token=token.id, status=303).follow()
    assert "ending in 4444" in receipt.text
    assert purchases(dbsession)[0].card_brand.lower() == "mastercard"


def test_posting_the_same_checkout_twice_charges_once(testapp, dbsession, stripe_client, new_card_token):
    make_album(dbsession, slug="double-click", price_cents=1500)
    token = new_card_token()
    first = testapp.buy("double-click", token=token, status=303)
    second = testapp.buy("double-click", token=token, status=303)
    assert first.location == second.location
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid"
    charges = stripe_client.v1.charges.search(params={"query": f"metadata['purchase_ref']:'{purchase.reference}'"})
    assert len([c for c in charges.data if c.status == "succeeded"]) == 1


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
    page = testapp.post("/albums/no-token/buy", {"csrf_token": csrf, "stripeToken": "<script>", "stripeEmail": "a@example.com"}, status=400)
    assert purchases(dbsession) == []


def test_a_missing_or_wrong_csrf_token_is_a_403_page_and_charges_nothing(testapp, dbsession):
    make_album(dbsession, slug="csrf")
    page = testapp.buy("csrf", csrf=False, status=403)
    assert "security token" in page.text and "Nothing was charged" in page.text
    testapp.get("/albums/csrf")  # a session exists now, with a token that is not this one
    page = testapp.post("/albums/csrf/buy", {"csrf_token": "forged", "stripeToken": "tok_visa", "stripeEmail": "a@example.com"}, status=403)
    assert page.html.find("header", class_="site-header")
    assert purchases(dbsession) == []


def test_buying_an_unpublished_or_unknown_album_is_404(testapp, dbsession):
    make_album(dbsession, slug="on-sale")
    make_album(dbsession, slug="draft", is_published=False)
    csrf = testapp.csrf_token("on-sale")
    for slug in ("draft", "missing"):
        testapp.post(f"/albums/{slug}/buy", {"csrf_token": csrf, "stripeToken": "tok_visa", "stripeEmail": "a@example.com"}, status=404)
    assert purchases(dbsession) == []


def test_a_get_on_the_buy_address_goes_back_to_the_album(testapp, dbsession):
    make_album(dbsession, slug="reload")
    assert testapp.get("/albums/reload/buy", status=303).location == "http://localhost/albums/reload"


def test_only_the_buyer_sees_the_receipt(testapp, dbsession, app):
    make_album(dbsession, slug="private")
    receipt_url = testapp.buy("private", status=303).location
    testapp.get(receipt_url, status=200)
    stranger = StoreTestApp(app, testapp.new_card_token)
    page = stranger.get(receipt_url, status=404)
    assert "receipt" in page.text
    stranger.get("/purchases/999999", status=404)
    stranger.get("/purchases/not-a-number", status=404)


def test_stripe_unreachable_is_a_503_and_the_purchase_waits_for_reconcile(make_app, dbsession):
    make_album(dbsession, slug="offline")
    offline = make_app(**{"stripe.api_base": "http://127.0.0.1:9", "stripe.max_network_retries": "0"})
    page = offline.buy("offline", status=503)
    assert "could not confirm your payment" in page.text and "not be charged twice" in page.text
    assert page.headers["Retry-After"] == "60"
    [purchase] = purchases(dbsession)
    assert purchase.status == "pending" and purchase.stripe_charge_id is None


@real_stripe_only
def test_a_wrong_secret_key_is_a_503_and_charges_nothing(make_app, dbsession, caplog):
    make_album(dbsession, slug="bad-key")
    misconfigured = make_app(**{"stripe.secret_key": "sk_test_wrong_key_for_this_account"})
    misconfigured.buy("bad-key", token="tok_visa", status=503)
    assert purchases(dbsession)[0].status == "pending"
    assert "stripe.secret_key" in caplog.text


@standin_only
def test_stripe_failing_is_a_503_and_reconcile_marks_it_failed_when_nothing_was_charged(testapp, dbsession, faults, ini_file):
    from album_store.cli import main as cli

    make_album(dbsession, slug="flaky")
    faults.inject(count=3, status=500, when="before")  # the first try and both retries fail
    testapp.buy("flaky", status=503)
    [purchase] = purchases(dbsession)
    assert purchase.status == "pending"

    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0"]) == 0
    [purchase] = purchases(dbsession)
    assert purchase.status == "failed" and purchase.stripe_charge_id is None


@standin_only
def test_a_charge_whose_answer_was_lost_is_settled_as_paid_by_reconcile(make_app, dbsession, faults, ini_file, stripe_client):
    from album_store.cli import main as cli

    make_album(dbsession, slug="lost-answer", price_cents=2500)
    no_retries = make_app(**{"stripe.max_network_retries": "0"})
    faults.inject(count=1, status=500, when="after")  # the charge is made; its answer is lost
    page = no_retries.buy("lost-answer", status=503)
    assert "not be charged twice" in page.text
    [purchase] = purchases(dbsession)
    assert purchase.status == "pending"

    # Too recent for reconcile's default grace period: a checkout may still be in flight.
    assert cli(["reconcile", str(ini_file)]) == 0
    assert purchases(dbsession)[0].status == "pending"

    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0"]) == 0
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid" and purchase.amount_cents == 2500
    charge = stripe_client.v1.charges.retrieve(purchase.stripe_charge_id)
    assert charge.amount == 2500 and charge.metadata["purchase_id"] == str(purchase.id)

    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0"]) == 0  # twice changes nothing
    assert purchases(dbsession)[0].stripe_charge_id == charge.id


@standin_only
def test_a_lost_answer_retried_by_the_sdk_charges_once(testapp, dbsession, faults, stripe_client):
    make_album(dbsession, slug="retry", price_cents=700)
    faults.inject(count=1, status=500, when="after")  # the first answer is lost; the SDK retries
    testapp.buy("retry", status=303)
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid"
    found = stripe_client.v1.charges.search(params={"query": f"metadata['purchase_ref']:'{purchase.reference}'"})
    assert [c.id for c in found.data] == [purchase.stripe_charge_id]


def test_every_demo_album_charges_exactly_what_its_button_shows(testapp, dbsession, stripe_client):
    from album_store.demo import DEMO_ALBUMS, seed_demo_catalog

    seed_demo_catalog(dbsession)
    dbsession.commit()
    published = [a for a in DEMO_ALBUMS if a["published"]]
    # Stripe's test mode has no single-use tokens to make from a server: one magic token per album.
    magic = iter(["tok_visa", "tok_mastercard", "tok_amex", "tok_visa_debit", "tok_discover", "tok_jcb", "tok_diners"])
    for data in published:
        page = testapp.get(f"/albums/{data['slug']}")
        shown = int(page.html.find("script", class_="stripe-button")["data-amount"])
        token = next(magic) if STRIPE_MODE == "stripe" else None
        receipt = testapp.buy(data["slug"], token=token, status=303).follow()
        purchase = purchases(dbsession)[-1]
        charged = stripe_client.v1.charges.retrieve(purchase.stripe_charge_id).amount
        assert shown == charged == purchase.amount_cents == data["price_cents"], data["slug"]
        assert f"${data['price_cents'] // 100}.{data['price_cents'] % 100:02d}" in receipt.text
    assert len(purchases(dbsession)) == len(published)


def test_the_database_failing_after_the_charge_loses_nothing(make_app, dbsession, ini_file, stripe_client):
    """Charged at Stripe, then the database refuses the 'paid' update: a 503, and reconcile settles it."""
    from sqlalchemy import event

    from album_store.cli import main as cli

    make_album(dbsession, slug="db-down", price_cents=1700)
    store = make_app()
    engine = store.app.registry["db_engine"]

    def database_down(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("UPDATE purchases") and "paid" in repr(parameters):
            raise engine.dialect.dbapi.OperationalError("injected: the database went away")

    event.listen(engine, "before_cursor_execute", database_down)
    try:
        page = store.buy("db-down", status=503)
    finally:
        event.remove(engine, "before_cursor_execute", database_down)
    assert "could not confirm your payment" in page.text
    [purchase] = purchases(dbsession)
    assert purchase.status == "pending"
    found = stripe_client.v1.charges.search(params={"query": f"metadata['purchase_ref']:'{purchase.reference}'"}).data
    assert [c.status for c in found] == ["succeeded"], "the charge exists at Stripe"

    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0"]) == 0
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid" and purchase.stripe_charge_id == found[0].id


@standin_only
@pytest.mark.parametrize("status, logged", [
    (429, "RateLimitError"),
    (500, "APIError"),
    (503, "APIError"),
    (401, "stripe.secret_key"),
])
def test_stripe_errors_leave_the_purchase_pending_behind_a_503(testapp, dbsession, faults, caplog, status, logged):
    make_album(dbsession, slug=f"error-{status}")
    faults.inject(count=3, status=status, when="before")  # outlasts the SDK's two retries
    page = testapp.buy(f"error-{status}", status=503)
    assert "could not confirm your payment" in page.text
    assert [p.status for p in purchases(dbsession)] == ["pending"]
    assert logged in caplog.text
    if status == 401:
        assert any(r.levelname == "CRITICAL" for r in caplog.records), "a wrong key is loud for the owner"


@standin_only
def test_an_idempotency_mismatch_is_logged_as_a_bug_and_reconcile_still_settles(make_app, testapp, dbsession, faults, caplog, ini_file, new_card_token):
    """The answer to a charge is lost; the owner renames the album; the buyer posts the same checkout
    again. The retried charge differs from the first, Stripe refuses the key: never a second charge."""
    from album_store.cli import main as cli

    album = make_album(dbsession, slug="renamed", title="Old Title", price_cents=1400)
    token = new_card_token()
    faults.inject(count=1, status=500, when="after")
    make_app(**{"stripe.max_network_retries": "0"}).buy("renamed", token=token, status=503)
    album.title = "New Title"
    dbsession.commit()
    testapp.buy("renamed", token=token, status=503)
    assert "BUG: idempotency key" in caplog.text
    assert [p.status for p in purchases(dbsession)] == ["pending"]
    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0"]) == 0
    assert [p.status for p in purchases(dbsession)] == ["paid"]


def test_each_state_change_is_one_log_line_without_card_data_or_secrets(testapp, dbsession, caplog, new_card_token, app_settings):
    import logging

    caplog.set_level(logging.INFO, logger="album_store")
    make_album(dbsession, slug="logged", price_cents=999)
    token = new_card_token()
    testapp.buy("logged", token=token, status=303)
    [purchase] = purchases(dbsession)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("purchase_state ")]
    assert lines == [
        f"purchase_state purchase_id={purchase.id} from=- to=pending charge_id=- amount_cents=999 currency=usd",
        f"purchase_state purchase_id={purchase.id} from=pending to=paid charge_id={purchase.stripe_charge_id} amount_cents=999 currency=usd",
    ]
    assert token not in caplog.text and app_settings["stripe.secret_key"] not in caplog.text
    assert "4242424242424242" not in caplog.text
