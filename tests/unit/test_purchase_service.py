"""``PurchaseService`` on its own: a migrated SQLite file, a transaction manager, and the in-memory
payment service (tests/fake_payments.py) instead of Stripe: no HTTP, no stand-in, no app.

What is checked is what the store promises about money, from both sides at once: the purchase rows
and the charges the fake was asked to make.
"""

import pytest
import transaction
from sqlalchemy import func, select
from transaction.interfaces import NoTransaction
from zope.interface.verify import verifyObject

from album_store.cli import migrate
from album_store.models import Base, Purchase, PurchaseStatus, User, get_engine, get_session_factory, get_tm_session
from album_store.services.payments import CardDeclined, IPaymentService
from album_store.services.purchases import AlreadyBought, PurchaseService, StillPending
from album_store.settings import load_settings

from ..factories import make_album
from ..fake_payments import FakePayments


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('purchase-service') / 'store.sqlite'}"
    settings = load_settings({"sqlalchemy.url": url, "store.secret": "unit-test-secret"}, environ={})
    engine = get_engine(settings)
    migrate(settings, engine)
    yield engine
    engine.dispose()


def _abort(manager):
    try:
        manager.abort()
    except NoTransaction:
        pass  # ended already


@pytest.fixture
def tm():
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    yield manager
    _abort(manager)


@pytest.fixture
def db(engine, tm):
    with engine.begin() as connection:  # every test starts from empty tables
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    session = get_tm_session(get_session_factory(engine), tm)
    yield session
    _abort(tm)  # what a test left open (a webhook's record, say) is not kept
    session.close()  # and its connection goes back: the next test empties the tables


@pytest.fixture
def stripe():
    return FakePayments()


@pytest.fixture
def service(db, tm, stripe):
    return PurchaseService(db, tm, stripe)


@pytest.fixture
def album(db, tm):
    album = make_album(db, commit=False, price_cents=1299, currency="usd")
    tm.commit()  # the session is the transaction manager's: it commits, never the session itself
    tm.begin()
    return album


def purchases(db):
    return db.scalars(select(Purchase).order_by(Purchase.id)).all()


def test_the_fake_is_a_payment_service():
    """Every method and attribute of the interface, with the interface's own signatures."""
    assert verifyObject(IPaymentService, FakePayments())


def test_a_charge_is_recorded_paid_with_the_charge_the_card_was_charged(service, db, stripe, album):
    purchase = service.charge_for_album(album, token="tok_visa_1", email="Buyer@Example.com")

    [charge] = stripe.charges.values()
    assert (charge.amount_cents, charge.currency, charge.status) == (1299, "usd", "succeeded")
    assert charge.metadata["purchase_ref"] == purchase.reference
    assert stripe.requests == [("charge", purchase.idempotency_key)]
    [row] = purchases(db)
    assert (row.status, row.amount_cents, row.currency) == (PurchaseStatus.PAID, 1299, "usd")
    assert row.stripe_charge_id == charge.id
    assert row.paid_at is not None and row.card_last4 == "4242"


def test_a_declined_card_is_recorded_failed_and_nothing_is_paid(service, db, stripe, album):
    stripe.decline("tok_declined", "Your card has insufficient funds.")

    with pytest.raises(CardDeclined) as declined:
        service.charge_for_album(album, token="tok_declined", email="buyer@example.com")

    assert declined.value.user_message == "Your card has insufficient funds."
    assert [c.status for c in stripe.charges.values()] == ["failed"]
    [row] = purchases(db)
    assert (row.status, row.paid_at, row.stripe_charge_id) == (PurchaseStatus.FAILED, None, None)
    assert row.failure_message == "Your card has insufficient funds."
    assert row.buyer_album_key is None, "a failed purchase holds no place: the buyer may try another card"
    # ... and so the same buyer's next card goes through.
    assert service.charge_for_album(album, token="tok_visa_2", email="buyer@example.com").status == PurchaseStatus.PAID


def test_a_buyer_who_has_the_album_is_not_charged_again(service, db, tm, stripe, album):
    user = User(email="owner@example.com", password_hash="x")
    db.add(user)
    tm.commit()
    tm.begin()
    first = service.charge_for_album(album, token="tok_visa_1", email=user.email, user=user)

    with pytest.raises(AlreadyBought) as signed_in:
        service.charge_for_album(album, token="tok_visa_2", email=user.email, user=user)
    with pytest.raises(AlreadyBought) as as_guest:  # the same address, signed out: the database's unique key
        service.charge_for_album(album, token="tok_visa_3", email="OWNER@example.com")

    assert signed_in.value.purchase.id == as_guest.value.purchase.id == first.id
    assert len(stripe.charges) == 1, "only the first checkout charged"
    assert db.scalar(select(func.count()).select_from(Purchase)) == 1


def test_the_same_token_posted_again_is_the_same_purchase_and_one_charge(service, db, stripe, album):
    first = service.charge_for_album(album, token="tok_visa_1", email="buyer@example.com")
    again = service.charge_for_album(album, token="tok_visa_1", email="buyer@example.com")

    assert again.id == first.id
    assert len(stripe.charges) == 1
    assert stripe.requests == [("charge", first.idempotency_key)], "settled already: Stripe is not asked again"


def test_a_retry_after_a_lost_answer_replays_the_charge_instead_of_making_another(service, db, stripe, album):
    """The charge is made but its answer never arrives: the purchase waits, pending; the buyer's retry
    sends the same idempotency key and gets the first charge back."""
    stripe.lose_next_answer()
    with pytest.raises(StillPending) as waiting:
        service.charge_for_album(album, token="tok_visa_1", email="buyer@example.com")
    assert waiting.value.purchase.status == PurchaseStatus.PENDING
    [made] = stripe.charges.values()

    paid = service.charge_for_album(album, token="tok_visa_1", email="buyer@example.com")

    assert (paid.status, paid.stripe_charge_id) == (PurchaseStatus.PAID, made.id)
    assert list(stripe.charges) == [made.id], "one charge at Stripe"
    assert stripe.requests == [("charge", paid.idempotency_key)] * 2
    assert [row.status for row in purchases(db)] == [PurchaseStatus.PAID]


def test_stripe_down_leaves_a_pending_purchase_and_no_charge(service, db, stripe, album):
    stripe.go_down()
    with pytest.raises(StillPending):
        service.charge_for_album(album, token="tok_visa_1", email="buyer@example.com")

    assert stripe.charges == {}
    assert [(row.status, row.paid_at) for row in purchases(db)] == [(PurchaseStatus.PENDING, None)]


def test_a_refund_gives_the_whole_charge_back_and_ends_the_purchase(service, db, stripe, album):
    purchase = service.charge_for_album(album, token="tok_visa_1", email="buyer@example.com")

    service.refund_purchase(purchase, actor=None)

    [charge] = stripe.charges.values()
    assert charge.amount_refunded_cents == 1299
    assert ("refund", purchase.refund_idempotency_key) in stripe.requests
    [row] = purchases(db)
    assert (row.status, row.amount_refunded_cents) == (PurchaseStatus.REFUNDED, 1299)


def test_a_refund_made_in_stripes_dashboard_arrives_by_webhook_and_is_recorded_once(service, db, stripe, album):
    """The event is only news: the charge is fetched again (here, from the fake) and settles the purchase."""
    import json

    purchase = service.charge_for_album(album, token="tok_visa_1", email="buyer@example.com")
    stripe.refund(purchase.stripe_charge_id, idempotency_key="dashboard")  # not the store's refund
    body = json.dumps(
        {"id": "evt_1", "type": "charge.refunded", "data": {"object": {"id": purchase.stripe_charge_id}}}
    ).encode()
    event = stripe.verify_webhook(body, stripe.signature(body))

    assert service.handle_stripe_event(event) == "refunded"
    assert service.handle_stripe_event(event) == "duplicate"
    [row] = purchases(db)
    assert (row.status, row.amount_refunded_cents) == (PurchaseStatus.REFUNDED, 1299)


def test_the_same_token_posted_after_a_refund_shows_the_refunded_purchase_and_asks_stripe_nothing(
    service, stripe, album
):
    purchase = service.charge_for_album(album, token="tok_visa_1", email="buyer@example.com")
    service.refund_purchase(purchase, actor=None)
    asked = list(stripe.requests)

    again = service.charge_for_album(album, token="tok_visa_1", email="buyer@example.com")

    assert (again.id, again.status) == (purchase.id, PurchaseStatus.REFUNDED)
    assert stripe.requests == asked, "a settled checkout is over: no charge, not even a replayed one"


def test_a_charge_naming_the_purchase_in_another_currency_settles_nothing(service, db, stripe, album):
    """The same number in another currency is not the buyer's price: the event is ignored, and the
    purchase waits for its own payment."""
    import json

    stripe.go_down()
    with pytest.raises(StillPending) as waiting:
        service.charge_for_album(album, token="tok_visa_1", email="buyer@example.com")
    stripe.go_down(False)
    stray = stripe._new_charge(1299, "eur", {"purchase_ref": waiting.value.purchase.reference}, "succeeded")
    body = json.dumps({"id": "evt_1", "type": "charge.succeeded", "data": {"object": {"id": stray.id}}}).encode()

    assert service.handle_stripe_event(stripe.verify_webhook(body, stripe.signature(body))) == "not ours"
    [row] = purchases(db)
    assert (row.status, row.stripe_charge_id) == (PurchaseStatus.PENDING, None)


def test_payment_intents_a_confirmed_payment_is_paid_by_what_stripe_says(service, db, stripe, album):
    purchase, intent = service.start_payment_intent(album, email="buyer@example.com", attempt_id="att_1")
    assert (intent.amount_cents, intent.currency, purchase.status) == (1299, "usd", PurchaseStatus.PENDING)
    assert service.start_payment_intent(album, email="buyer@example.com", attempt_id="att_1")[1].id == intent.id

    stripe.pay_intent(intent.id)  # the buyer's browser, with Stripe.js
    paid = service.confirm_payment_intent(purchase)

    [charge] = stripe.charges.values()
    assert (paid.status, paid.stripe_payment_intent_id) == (PurchaseStatus.PAID, intent.id)
    assert paid.stripe_charge_id == charge.id
    assert stripe.requests == [("payment_intent", purchase.payment_intent_idempotency_key)]


def test_payment_intents_a_declined_attempt_is_canceled_before_it_is_failed(service, db, stripe, album):
    purchase, intent = service.start_payment_intent(album, email="buyer@example.com", attempt_id="att_1")
    stripe.pay_intent(intent.id, succeed=False, message="Your card was declined.")

    with pytest.raises(CardDeclined):
        service.confirm_payment_intent(purchase)

    assert stripe.intents[intent.id].status == "canceled", "it can never take money later"
    [row] = purchases(db)
    assert (row.status, row.paid_at) == (PurchaseStatus.FAILED, None)


def test_checkout_session_paid_on_the_hosted_page_is_paid_when_the_buyer_comes_back(service, db, stripe, album):
    urls = {"success_url": "http://store.invalid/back", "cancel_url": "http://store.invalid/album"}
    purchase, url = service.start_checkout_session(
        album, email="buyer@example.com", browser_key="browser-1", urls=lambda purchase: urls
    )
    [session] = stripe.sessions.values()
    assert url == session.url and (session.amount_total_cents, session.currency) == (1299, "usd")

    stripe.pay_session(session.id)
    service.confirm_checkout_session(purchase)

    [row] = purchases(db)
    assert (row.status, row.stripe_checkout_session_id) == (PurchaseStatus.PAID, session.id)
    assert row.stripe_charge_id == stripe.sessions[session.id].payment_intent.charge.id
