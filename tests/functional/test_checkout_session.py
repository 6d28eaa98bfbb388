"""The checkout_session flow: the buyer pays on Stripe's hosted page (the stand-in hosts it), and the
store settles the purchase from the Checkout Session it retrieves — on the way back, from the
webhooks, or from reconcile."""

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from album_store.models import Purchase
from album_store.models.meta import utcnow
from stripe_standin import process
from tests.conftest import StoreTestApp, standin_only
from tests.factories import make_album
from tests.functional.test_webhooks import event, signed
from tests.live import all_purchases
from tests.paying import THREE_D_SECURE, VISA, shown_price

pytestmark = [pytest.mark.stripe, standin_only]
DECLINED = "4000000000000002"


@pytest.fixture(scope="module")
def session_app(app_settings, db_engine):
    from album_store import main

    return main({}, **{**app_settings, "store.payment_flow": "checkout_session"})


@pytest.fixture
def store(session_app, dbsession, new_card_token):
    make_album(dbsession, slug="hosted", title="Hosted Sound", price_cents=1250)
    return StoreTestApp(session_app, new_card_token)


def email_of(name):
    return f"{name}-{uuid.uuid4().hex[:8]}@example.com"


def press_buy(store, slug="hosted", email=None, *, status=303, **extra):
    page = store.get(f"/albums/{slug}")
    fields = {"csrf_token": store.csrf_token(), "email": email or email_of("buyer"), **shown_price(page), **extra}
    return store.post(f"/albums/{slug}/checkout-session", fields, status=status)


def local_path(url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def only_purchase(dbsession):
    [purchase] = all_purchases(dbsession)
    return purchase


@pytest.fixture
def post_event(store, app_settings):
    def post(payload, status=200):
        body, headers = signed(payload, app_settings["stripe.webhook_secret"])
        return store.post("/stripe/webhook", body, headers=headers, status=status)

    return post


def test_the_album_page_has_a_buy_form_and_no_stripe_script(store, standin):
    page = store.get("/albums/hosted")
    form = page.html.find("form", id="hosted-checkout")
    assert form["action"] == "/albums/hosted/checkout-session"
    assert not page.html.find("script", src=lambda src: src and standin.url in src)
    policy = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";"))
    assert standin.url not in policy["script-src"] and standin.url in policy["form-action"]


def test_paying_on_the_hosted_page_charges_the_database_price_and_shows_the_receipt(store, dbsession, stripe_client):
    email = email_of("ana")
    answer = press_buy(store, email=email)
    purchase = only_purchase(dbsession)
    assert purchase.status == "pending" and purchase.stripe_checkout_session_id
    session = stripe_client.v1.checkout.sessions.retrieve(purchase.stripe_checkout_session_id)
    assert answer.location == session.url
    assert (session.amount_total, session.currency, session.customer_email) == (1250, "usd", email)
    assert session.metadata["purchase_ref"] == purchase.reference and session.client_reference_id == purchase.reference
    assert session.success_url == f"http://localhost/purchases/{purchase.id}?session_id={{CHECKOUT_SESSION_ID}}"
    assert session.cancel_url == "http://localhost/albums/hosted"

    back = process.pay_checkout_session(session.url, card=VISA)
    assert back == f"http://localhost/purchases/{purchase.id}?session_id={session.id}"
    receipt = store.get(local_path(back))
    text = receipt.html.get_text(" ", strip=True)
    assert "Paid" in text and "Hosted Sound" in text and "$12.50" in text
    purchase = only_purchase(dbsession)
    assert purchase.status == "paid" and purchase.stripe_payment_intent_id and purchase.stripe_charge_id
    charge = stripe_client.v1.charges.retrieve(purchase.stripe_charge_id)
    assert (charge.amount, charge.status, charge.metadata["purchase_ref"]) == (1250, "succeeded", purchase.reference)


def test_the_receipt_trusts_stripe_not_the_query_string(store, session_app, dbsession, new_card_token):
    press_buy(store)
    purchase = only_purchase(dbsession)
    page = store.get(f"/purchases/{purchase.id}?session_id=cs_test_forged")
    assert "Being confirmed" in page.text
    assert only_purchase(dbsession).status == "pending"
    # Nor the id of a real session that someone else paid: only this purchase's own session counts.
    other = StoreTestApp(session_app, new_card_token)
    paid = press_buy(other)
    back = process.pay_checkout_session(paid.location, card=VISA)
    other.get(local_path(back))
    paid_session = back.split("session_id=")[1]
    page = store.get(f"/purchases/{purchase.id}?session_id={paid_session}")
    assert "Being confirmed" in page.text
    assert {p.id: p.status for p in all_purchases(dbsession)}[purchase.id] == "pending"


def test_a_declined_card_leaves_the_page_open_and_a_good_card_then_pays(store, dbsession, stripe_client):
    answer = press_buy(store)
    with pytest.raises(process.CheckoutPageError, match="declined"):
        process.pay_checkout_session(answer.location, card=DECLINED)
    assert only_purchase(dbsession).status == "pending"
    back = process.pay_checkout_session(answer.location, card=VISA)
    store.get(local_path(back))
    assert only_purchase(dbsession).status == "paid"


@pytest.mark.parametrize("authenticate, paid", [(True, True), (False, False)])
def test_3d_secure_on_the_hosted_page(store, dbsession, authenticate, paid):
    answer = press_buy(store)
    if paid:
        store.get(local_path(process.pay_checkout_session(answer.location, card=THREE_D_SECURE, authenticate=True)))
    else:
        with pytest.raises(process.CheckoutPageError):
            process.pay_checkout_session(answer.location, card=THREE_D_SECURE, authenticate=False)
        store.get(f"/purchases/{only_purchase(dbsession).id}")
    assert only_purchase(dbsession).status == ("paid" if paid else "pending")


def test_coming_back_to_buy_again_in_the_same_browser_reopens_the_same_page(store, dbsession, stripe_client):
    email = email_of("twice")
    first = press_buy(store, email=email)
    again = press_buy(store, email=email)  # a double click, or back from "Cancel" to the album page
    assert again.location == first.location
    assert len(all_purchases(dbsession)) == 1


def test_a_double_click_before_the_first_answer_is_sent_back_to_the_same_page(store, dbsession):
    """The second press of a double click leaves before the first answer set this browser's session:
    the browser is known by its CSRF token (kept by the cookie), and goes to the same page."""
    email = email_of("double")
    first = press_buy(store, email=email)
    # As if the first answer had not arrived yet: no session cookie, only the CSRF cookie.
    for cookie in [c for c in store.cookiejar if c.name == "album_store_session"]:
        store.cookiejar.clear(cookie.domain, cookie.path, cookie.name)
    assert "album_store_session" not in store.cookies and "csrf_token" in store.cookies
    again = press_buy(store, email=email)
    assert again.location == first.location
    assert len(all_purchases(dbsession)) == 1


def test_someone_else_with_the_address_gets_a_neutral_answer_and_no_page(store, session_app, dbsession, new_card_token):
    email = email_of("victim")
    first = press_buy(store, email=email)
    stranger = StoreTestApp(session_app, new_card_token)
    answer = press_buy(stranger, email=email, status=409)
    assert "Nothing was charged" in answer.text and first.location not in answer.text
    assert len(all_purchases(dbsession)) == 1


def test_checkout_session_completed_settles_a_buyer_who_never_came_back(store, dbsession, post_event, outbox):
    answer = press_buy(store)
    process.pay_checkout_session(answer.location, card=VISA)  # paid, and the tab closes before the redirect
    purchase = only_purchase(dbsession)
    assert purchase.status == "pending"
    completed = event(
        "checkout.session.completed",
        {"id": purchase.stripe_checkout_session_id, "object": "checkout.session", "payment_status": "paid"},
    )
    assert post_event(completed).json["outcome"] == "settled"
    assert post_event(completed).json["outcome"] == "duplicate"
    # The same news in another event (Stripe's async_payment_succeeded, say): nothing left to do.
    assert post_event({**completed, "id": completed["id"] + "_again"}).json["outcome"] == "already settled"
    assert only_purchase(dbsession).status == "paid"


def test_session_events_are_kept_for_their_purchase_and_unknown_sessions_are_not_ours(store, dbsession, post_event):
    from album_store.models import WebhookEvent

    press_buy(store)
    purchase = only_purchase(dbsession)
    ours = event("checkout.session.expired", {"id": purchase.stripe_checkout_session_id, "object": "checkout.session"})
    unknown = event("checkout.session.completed", {"id": "cs_test_unknown0000000000", "object": "checkout.session"})
    assert post_event(ours).json["outcome"] == "still open"  # the event is not trusted: it is still open
    assert post_event(unknown).json["outcome"] == "not ours"
    dbsession.expire_all()
    rows = {row.id: (row.outcome, row.purchase_id) for row in dbsession.scalars(select(WebhookEvent))}
    assert rows == {ours["id"]: ("still open", purchase.id), unknown["id"]: ("not ours", None)}


def test_an_expired_session_fails_the_purchase_and_nothing_can_be_paid(store, dbsession, post_event, stripe_client):
    answer = press_buy(store)
    purchase = only_purchase(dbsession)
    stripe_client.v1.checkout.sessions.expire(purchase.stripe_checkout_session_id)
    expired = event(
        "checkout.session.expired", {"id": purchase.stripe_checkout_session_id, "object": "checkout.session"}
    )
    assert post_event(expired).json["outcome"] == "failed"
    assert only_purchase(dbsession).status == "failed"
    with pytest.raises(process.CheckoutPageError):
        process.pay_checkout_session(answer.location, card=VISA)
    # The buyer may start again: a new purchase and a new page.
    again = press_buy(store, email=purchase.email)
    assert again.location != answer.location and len(all_purchases(dbsession)) == 2


def reconcile(ini_file):
    from album_store.cli import main as cli

    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "10"]) == 0


def age(dbsession, minutes):
    dbsession.execute(update(Purchase).values(created_at=utcnow() - timedelta(minutes=minutes)))
    dbsession.commit()


def test_reconcile_expires_a_page_left_unpaid_and_settles_one_paid_whose_news_was_lost(
    store, session_app, dbsession, stripe_client, ini_file, new_card_token
):
    left = press_buy(store)
    paid_browser = StoreTestApp(session_app, new_card_token)
    paid = press_buy(paid_browser, slug="hosted")
    process.pay_checkout_session(paid.location, card=VISA)  # no redirect followed, no webhook
    age(dbsession, 20)
    reconcile(ini_file)
    statuses = sorted(p.status for p in all_purchases(dbsession))
    assert statuses == ["failed", "paid"]
    unpaid = [p for p in all_purchases(dbsession) if p.status == "failed"][0]
    assert stripe_client.v1.checkout.sessions.retrieve(unpaid.stripe_checkout_session_id).status == "expired"
    assert left.location  # its page can no longer be paid
    with pytest.raises(process.CheckoutPageError):
        process.pay_checkout_session(left.location, card=VISA)


def test_a_price_changed_since_the_page_was_opened_creates_no_session(store, dbsession):
    page = store.get("/albums/hosted")
    stale = shown_price(page)
    from album_store.models import Album

    dbsession.execute(update(Album).values(price_cents=1500))
    dbsession.commit()
    fields = {"csrf_token": store.csrf_token(), "email": email_of("late"), **stale}
    answer = store.post("/albums/hosted/checkout-session", fields, status=409)
    assert "$15.00" in answer.text and all_purchases(dbsession) == []
