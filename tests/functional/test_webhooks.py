"""Stripe's webhooks, signed with a real HMAC header as Stripe signs them."""

import json
import logging
import time
import uuid

import pytest
from sqlalchemy import func, select

from album_store.models import Purchase, WebhookEvent
from tests.conftest import standin_only
from tests.factories import make_album, stripe_signature
from tests.stripe_reads import charges_for

pytestmark = pytest.mark.stripe


def signed(payload, secret, timestamp=None):
    body = json.dumps(payload).encode()
    return body, {"Stripe-Signature": stripe_signature(body, secret, timestamp), "Content-Type": "application/json"}


def event(event_type, obj, event_id=None):
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": event_type,
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


@pytest.fixture
def secret(app_settings):
    return app_settings["stripe.webhook_secret"]


@pytest.fixture
def post_event(testapp, secret):
    def post(payload, *, status=200, secret_=None, timestamp=None):
        body, headers = signed(payload, secret_ or secret, timestamp)
        return testapp.post("/stripe/webhook", body, headers=headers, status=status)

    return post


@pytest.fixture
def paid_purchase(testapp, dbsession):
    make_album(dbsession, slug="hooked", price_cents=1200)
    testapp.buy("hooked", status=303)
    return current(dbsession)


def current(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase)).one()


def events_recorded(dbsession):
    return dbsession.scalar(select(func.count()).select_from(WebhookEvent))


def test_a_full_refund_in_the_dashboard_marks_the_purchase_refunded(
    post_event, paid_purchase, stripe_client, dbsession
):
    stripe_client.v1.refunds.create(params={"charge": paid_purchase.stripe_charge_id})
    reply = post_event(event("charge.refunded", {"id": paid_purchase.stripe_charge_id, "object": "charge"}))
    assert reply.json["outcome"] == "refunded"
    purchase = current(dbsession)
    assert purchase.status == "refunded" and purchase.amount_refunded_cents == 1200 and purchase.refunded_at


def test_each_event_is_kept_with_what_was_done_and_for_which_purchase(
    post_event, paid_purchase, stripe_client, dbsession, caplog
):
    """The owner (or whoever debugs a sale) can tell which events reached which purchase, and what
    the store did: the webhook_events row and the stripe_event log line say the same."""
    stripe_client.v1.refunds.create(params={"charge": paid_purchase.stripe_charge_id})
    caplog.set_level(logging.INFO, logger="album_store")
    refunded = event("charge.refunded", {"id": paid_purchase.stripe_charge_id, "object": "charge"})
    post_event(refunded)
    stranger = event("charge.refunded", {"id": "ch_notours000000", "object": "charge"})
    post_event(stranger)
    dbsession.expire_all()
    rows = {row.id: (row.type, row.outcome, row.purchase_id) for row in dbsession.scalars(select(WebhookEvent))}
    assert rows == {
        refunded["id"]: ("charge.refunded", "refunded", paid_purchase.id),
        stranger["id"]: ("charge.refunded", "not ours", None),
    }
    assert (
        f"stripe_event id={refunded['id']} type=charge.refunded outcome=refunded purchase_id={paid_purchase.id}"
        in caplog.messages
    )
    assert f"stripe_event id={stranger['id']} type=charge.refunded outcome=not ours purchase_id=-" in caplog.messages


def test_a_partial_refund_is_recorded_and_the_purchase_stays_paid(post_event, paid_purchase, stripe_client, dbsession):
    stripe_client.v1.refunds.create(params={"charge": paid_purchase.stripe_charge_id, "amount": 300})
    assert (
        post_event(event("charge.refunded", {"id": paid_purchase.stripe_charge_id, "object": "charge"})).json["outcome"]
        == "partially refunded"
    )
    purchase = current(dbsession)
    assert purchase.status == "paid" and purchase.amount_refunded_cents == 300


def test_the_event_body_is_not_trusted_the_charge_is_fetched_again(post_event, paid_purchase, dbsession):
    lie = {"id": paid_purchase.stripe_charge_id, "object": "charge", "refunded": True, "amount_refunded": 1200}
    assert post_event(event("charge.refunded", lie)).json["outcome"] == "partially refunded"
    purchase = current(dbsession)
    assert purchase.status == "paid" and purchase.amount_refunded_cents == 0


def test_a_redelivered_event_does_nothing(post_event, paid_purchase, stripe_client, dbsession):
    stripe_client.v1.refunds.create(params={"charge": paid_purchase.stripe_charge_id})
    payload = event("charge.refunded", {"id": paid_purchase.stripe_charge_id, "object": "charge"})
    assert post_event(payload).json["outcome"] == "refunded"
    assert post_event(payload).json["outcome"] == "duplicate"
    assert events_recorded(dbsession) == 1


def test_a_dispute_flags_the_purchase_for_the_owner(post_event, paid_purchase, dbsession):
    dispute = {"id": "dp_test", "object": "dispute", "charge": paid_purchase.stripe_charge_id, "amount": 1200}
    assert post_event(event("charge.dispute.created", dispute)).json["outcome"] == "flagged"
    purchase = current(dbsession)
    assert purchase.disputed_at is not None and purchase.status == "paid"


def test_events_for_charges_the_store_did_not_make_are_ignored(post_event, paid_purchase, stripe_client, dbsession):
    other = stripe_client.v1.charges.create(params={"amount": 500, "currency": "usd", "source": "tok_visa"})
    stripe_client.v1.refunds.create(params={"charge": other.id})
    assert post_event(event("charge.refunded", {"id": other.id, "object": "charge"})).json["outcome"] == "not ours"
    assert (
        post_event(event("charge.refunded", {"id": "ch_doesnotexist000", "object": "charge"})).json["outcome"]
        == "not ours"
    )
    assert post_event(event("customer.created", {"id": "cus_123", "object": "customer"})).json["outcome"] == "ignored"
    assert current(dbsession).status == "paid"


def test_a_refund_of_another_charge_naming_the_purchase_does_not_refund_it(
    post_event, paid_purchase, stripe_client, dbsession
):
    """A charge made by hand in Stripe's dashboard with the purchase's reference copied into its
    metadata is not the purchase's charge: refunding it leaves the buyer's album paid."""
    other = stripe_client.v1.charges.create(
        params={
            "amount": 1200,
            "currency": "usd",
            "source": "tok_visa",
            "metadata": {"purchase_ref": paid_purchase.reference},
        }
    )
    stripe_client.v1.refunds.create(params={"charge": other.id})
    assert post_event(event("charge.refunded", {"id": other.id, "object": "charge"})).json["outcome"] == "not ours"
    purchase = current(dbsession)
    assert (purchase.status, purchase.amount_refunded_cents, purchase.stripe_charge_id) == (
        "paid",
        0,
        paid_purchase.stripe_charge_id,
    )


def test_a_charge_of_another_amount_naming_a_pending_purchase_is_ignored_and_logged(
    post_event, dbsession, stripe_client, caplog
):
    from tests.factories import make_purchase

    album = make_album(dbsession, slug="mismatch", price_cents=1200)
    pending = make_purchase(dbsession, album, status="pending")
    other = stripe_client.v1.charges.create(
        params={"amount": 500, "currency": "usd", "source": "tok_visa", "metadata": {"purchase_ref": pending.reference}}
    )
    assert post_event(event("charge.succeeded", {"id": other.id, "object": "charge"})).json["outcome"] == "not ours"
    assert current(dbsession).status == "pending"
    assert f"charge {other.id} does not match purchase {pending.id}'s amount; ignored" in caplog.messages


@pytest.mark.parametrize("case", ["wrong secret", "stale", "missing", "tampered", "not json"])
def test_a_bad_signature_is_a_400_and_changes_nothing(
    testapp, post_event, paid_purchase, stripe_client, dbsession, secret, case
):
    stripe_client.v1.refunds.create(params={"charge": paid_purchase.stripe_charge_id})
    payload = event("charge.refunded", {"id": paid_purchase.stripe_charge_id, "object": "charge"})
    if case == "wrong secret":
        post_event(payload, secret_="whsec_someone_else", status=400)
    elif case == "stale":
        post_event(payload, timestamp=int(time.time()) - 3600, status=400)
    elif case == "missing":
        testapp.post(
            "/stripe/webhook", json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, status=400
        )
    elif case == "tampered":
        body, headers = signed(payload, secret)
        testapp.post(
            "/stripe/webhook", body.replace(b"charge.refunded", b"charge.succeeded"), headers=headers, status=400
        )
    else:
        body = b"not json at all"
        testapp.post("/stripe/webhook", body, headers={"Stripe-Signature": stripe_signature(body, secret)}, status=400)
    assert current(dbsession).status == "paid"
    assert events_recorded(dbsession) == 0


def test_the_webhook_needs_no_csrf_token_but_other_posts_do(testapp, post_event, paid_purchase):
    post_event(event("customer.created", {"id": "cus_1", "object": "customer"}), status=200)
    testapp.post("/albums/hooked/buy", {"stripeToken": "tok_visa", "stripeEmail": "a@example.com"}, status=403)


@standin_only
def test_charge_succeeded_settles_a_purchase_whose_buyer_never_came_back(
    make_app, dbsession, faults, post_event, stripe_client
):
    make_album(dbsession, slug="tab-closed", price_cents=800)
    faults.inject(count=1, status=500, when="after")
    make_app(**{"stripe.max_network_retries": "0"}).buy("tab-closed", status=503)
    pending = current(dbsession)
    assert pending.status == "pending"
    [charge] = charges_for(stripe_client, pending)
    assert post_event(event("charge.succeeded", {"id": charge.id, "object": "charge"})).json["outcome"] == "settled"
    purchase = current(dbsession)
    assert purchase.status == "paid" and purchase.stripe_charge_id == charge.id and purchase.paid_at


@standin_only
def test_stripe_unreachable_while_handling_is_a_503_so_stripe_retries(post_event, paid_purchase, faults, dbsession):
    faults.inject(count=3, status=500, when="before", path_prefix="/v1/charges")
    post_event(event("charge.refunded", {"id": paid_purchase.stripe_charge_id, "object": "charge"}), status=503)
    assert events_recorded(dbsession) == 0


# --- the payment_intents flow ----------------------------------------------------------------------
@pytest.fixture
def intents_store(payment_intents_app, dbsession, new_card_token):
    from tests.conftest import StoreTestApp

    make_album(dbsession, slug="intents", price_cents=1500)
    return StoreTestApp(payment_intents_app, new_card_token)


def intent_event(event_type, intent_id, event_id=None):
    return event(event_type, {"id": intent_id, "object": "payment_intent", "status": "succeeded"}, event_id)


def test_payment_intent_succeeded_settles_a_purchase_whose_buyer_closed_the_tab(intents_store, post_event, dbsession):
    buyer = intents_store.buyer
    started, _ = buyer.start("intents")
    assert buyer.confirm_at_stripe(started.json["client_secret"]) == "succeeded"  # the tab closes here
    pending = current(dbsession)
    assert pending.status == "pending"
    payload = intent_event("payment_intent.succeeded", pending.stripe_payment_intent_id)
    assert post_event(payload).json["outcome"] == "settled"
    purchase = current(dbsession)
    assert (
        purchase.status == "paid" and purchase.stripe_charge_id and purchase.card_last4 == "4242" and purchase.paid_at
    )
    assert post_event(payload).json["outcome"] == "duplicate"
    again = intent_event("payment_intent.succeeded", pending.stripe_payment_intent_id)
    assert post_event(again).json["outcome"] == "already settled"
    kept = dbsession.get(WebhookEvent, payload["id"])
    assert (kept.type, kept.outcome, kept.purchase_id) == ("payment_intent.succeeded", "settled", purchase.id)


def test_payment_intent_payment_failed_fails_the_purchase_and_cancels_its_payment_intent(
    intents_store, post_event, dbsession, stripe_client
):
    buyer = intents_store.buyer
    started, _ = buyer.start("intents")
    buyer.confirm_at_stripe(started.json["client_secret"], "4000000000009995")  # declined; the tab closes
    intent_id = current(dbsession).stripe_payment_intent_id
    assert post_event(intent_event("payment_intent.payment_failed", intent_id)).json["outcome"] == "failed"
    purchase = current(dbsession)
    assert (purchase.status, purchase.failure_code) == ("failed", "insufficient_funds")
    assert purchase.failure_message == "Your card has insufficient funds."
    assert stripe_client.v1.payment_intents.retrieve(intent_id).status == "canceled"


def test_a_failed_try_of_a_payment_intent_leaves_the_purchase_open_for_another_card(
    intents_store, post_event, dbsession, stripe_client
):
    """charge.failed for one declined card: the PaymentIntent is still waiting for another card, so
    the purchase stays pending (never failed while it can still be paid), and a good card pays it."""
    buyer = intents_store.buyer
    started, csrf = buyer.start("intents")
    assert buyer.confirm_at_stripe(started.json["client_secret"], "4000000000000002") == "requires_payment_method"
    pending = current(dbsession)
    failed_charge = stripe_client.v1.payment_intents.retrieve(pending.stripe_payment_intent_id).latest_charge
    reply = post_event(event("charge.failed", {"id": failed_charge, "object": "charge"}))
    assert reply.json["outcome"] == "left to its PaymentIntent"
    assert current(dbsession).status == "pending"
    assert buyer.confirm_at_stripe(started.json["client_secret"]) == "succeeded"
    assert buyer.confirm(started.json["confirm_url"], csrf).json["status"] == "paid"
    assert current(dbsession).status == "paid"


def test_a_payment_intent_event_is_not_trusted_the_payment_intent_is_fetched_again(
    intents_store, post_event, dbsession
):
    started, _ = intents_store.buyer.start("intents")  # no card yet
    intent_id = current(dbsession).stripe_payment_intent_id
    assert post_event(intent_event("payment_intent.succeeded", intent_id)).json["outcome"] == "still open"
    assert post_event(intent_event("payment_intent.payment_failed", intent_id)).json["outcome"] == "still open"
    assert current(dbsession).status == "pending"


def test_payment_intents_the_store_did_not_make_are_ignored(intents_store, post_event, stripe_client, dbsession):
    other = stripe_client.v1.payment_intents.create(
        params={"amount": 500, "currency": "usd", "allowed_payment_method_types": ["card"]}
    )
    assert post_event(intent_event("payment_intent.succeeded", other.id)).json["outcome"] == "not ours"
    assert post_event(intent_event("payment_intent.succeeded", "pi_doesnotexist000")).json["outcome"] == "not ours"
    assert events_recorded(dbsession) == 2


def test_a_refund_of_a_payment_intent_purchase_arrives_as_charge_refunded(
    intents_store, post_event, stripe_client, dbsession
):
    assert intents_store.pay("intents").paid
    purchase = current(dbsession)
    stripe_client.v1.refunds.create(params={"payment_intent": purchase.stripe_payment_intent_id})
    reply = post_event(event("charge.refunded", {"id": purchase.stripe_charge_id, "object": "charge"}))
    assert reply.json["outcome"] == "refunded"
    assert current(dbsession).status == "refunded"


@standin_only
def test_a_refunded_charge_whose_purchase_reference_was_edited_away_is_found_by_its_payment_intent(
    intents_store, post_event, stripe_client, dbsession
):
    """The charge's metadata edited in Stripe's dashboard (the purchase's reference removed): the store
    still knows the charge by its PaymentIntent, and records the refund of that one purchase only."""
    assert intents_store.pay("intents", email="first@example.com").paid
    assert intents_store.pay("intents", email="second@example.com").paid
    first, second = sorted(dbsession.scalars(select(Purchase)).all(), key=lambda p: p.id)
    stripe_client.v1.charges.update(first.stripe_charge_id, params={"metadata": {"purchase_ref": ""}})
    assert "purchase_ref" not in stripe_client.v1.charges.retrieve(first.stripe_charge_id).metadata
    stripe_client.v1.refunds.create(params={"charge": first.stripe_charge_id})
    reply = post_event(event("charge.refunded", {"id": first.stripe_charge_id, "object": "charge"}))
    assert reply.json["outcome"] == "refunded"
    dbsession.expire_all()
    assert {p.email: p.status for p in dbsession.scalars(select(Purchase))} == {
        "first@example.com": "refunded",
        "second@example.com": "paid",
    }


@pytest.mark.parametrize("case", ["wrong secret", "tampered"])
def test_a_payment_intent_event_with_a_bad_signature_changes_nothing(
    intents_store, testapp, post_event, dbsession, secret, case
):
    buyer = intents_store.buyer
    started, _ = buyer.start("intents")
    buyer.confirm_at_stripe(started.json["client_secret"])
    payload = intent_event("payment_intent.succeeded", current(dbsession).stripe_payment_intent_id)
    if case == "wrong secret":
        post_event(payload, secret_="whsec_someone_else", status=400)
    else:
        body, headers = signed(payload, secret)
        testapp.post("/stripe/webhook", body.replace(b"succeeded", b"succeeded "), headers=headers, status=400)
    assert current(dbsession).status == "pending" and events_recorded(dbsession) == 0
