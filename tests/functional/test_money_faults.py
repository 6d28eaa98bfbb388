"""Money when the world misbehaves: each test drives one way a charge, a refund or a status went wrong
(answers lost, search lagging, webhooks late, twice or reversed, two processes at once), the way it
happens, and checks both sides: what Stripe holds and what the store records and shows."""

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import text, update

from album_store.models import Purchase
from album_store.models.meta import utcnow
from stripe_standin import process
from tests.conftest import standin_only
from tests.factories import make_album
from tests.functional.test_webhooks import event, signed
from tests.live import all_purchases, browser_session

pytestmark = [pytest.mark.stripe, standin_only]


def unique_email(name):
    return f"{name}-{uuid.uuid4().hex[:8]}@example.com"


def charges_for(stripe_client, email):
    """Every charge Stripe made for this buyer's address (the store sends it as ``receipt_email``)."""
    found, page = [], stripe_client.v1.charges.list(params={"limit": 100})
    found += [c for c in page.data if c.receipt_email == email]
    return found


def money_held(stripe_client, email):
    """What Stripe keeps of this buyer's money, net of refunds."""
    return sum(c.amount - c.amount_refunded for c in charges_for(stripe_client, email) if c.status == "succeeded")


def reconcile(ini_file, *extra):
    from album_store.cli import main as cli

    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0", *extra]) == 0


@pytest.fixture
def post_event(testapp, app_settings):
    def post(payload, status=200):
        body, headers = signed(payload, app_settings["stripe.webhook_secret"])
        return testapp.post("/stripe/webhook", body, headers=headers, status=status)

    return post


def only_purchase(dbsession):
    [purchase] = all_purchases(dbsession)
    return purchase


def backdate(dbsession, purchase, **age):
    dbsession.execute(update(Purchase).where(Purchase.id == purchase.id).values(created_at=utcnow() - timedelta(**age)))
    dbsession.commit()


# --- 1. no double charge after an error page ---------------------------------------------------------
def test_a_retry_after_the_503_page_is_not_charged_again(make_app, dbsession, faults, stripe_client, new_card_token):
    make_album(dbsession, slug="retry-503", price_cents=1500)
    email = unique_email("retry")
    browser = make_app(**{"stripe.max_network_retries": "0"})
    faults.inject(count=1, status=500, when="after")  # the charge is made, its answer lost
    page = browser.buy("retry-503", email=email, status=503)
    pending = only_purchase(dbsession)
    assert "Being confirmed" in page.text and "not be charged again" in page.text
    assert browser.get(f"/purchases/{pending.id}").status_int == 200, "the buyer can open the pending receipt"

    # "Go back and try again": Checkout makes a new token for the same album.
    again = browser.buy("retry-503", token=new_card_token(), email=email, status=303)
    assert again.location.endswith(f"/purchases/{pending.id}")
    assert [(p.id, p.status) for p in all_purchases(dbsession)] == [(pending.id, "paid")]
    assert [c.status for c in charges_for(stripe_client, email)] == ["succeeded"]
    assert money_held(stripe_client, email) == 1500


def test_a_guest_whose_purchase_the_webhook_settled_is_not_charged_again_from_another_browser(
    make_app, testapp, dbsession, faults, stripe_client, post_event, new_card_token, outbox
):
    make_album(dbsession, slug="settled", title="Settled Sound", price_cents=900)
    email = unique_email("guest")
    faults.inject(count=1, status=500, when="after")
    make_app(**{"stripe.max_network_retries": "0"}).buy("settled", email=email, status=503)
    purchase = only_purchase(dbsession)
    [charge] = charges_for(stripe_client, email)
    assert post_event(event("charge.succeeded", {"id": charge.id, "object": "charge"})).json["outcome"] == "settled"

    # The same guest, on their phone (no session), buys the album again with the same address.
    phone = testapp
    answer = phone.buy("settled", token=new_card_token(), email=email.upper(), status=409)
    text_shown = answer.html.get_text(" ", strip=True)
    assert "Nothing was charged" in text_shown and "Settled Sound" in text_shown
    for private in ("$9.00", f"#{purchase.id}", f"/purchases/{purchase.id}", "4242"):
        assert private not in answer.text, "a stranger with the address learns nothing of the purchase"
    assert len(all_purchases(dbsession)) == 1
    assert money_held(stripe_client, email) == 900
    phone.get(f"/purchases/{purchase.id}", status=404)


def test_a_stranger_typing_a_pending_buyers_email_is_not_shown_their_receipt(
    make_app, testapp, dbsession, faults, new_card_token, stripe_client
):
    make_album(dbsession, slug="private", price_cents=1100)
    email = unique_email("victim")
    faults.inject(count=3, status=503, when="before")  # Stripe down: nothing charged, the purchase pending
    make_app(**{"stripe.max_network_retries": "0"}).buy("private", email=email, status=503)
    victim = only_purchase(dbsession)
    assert victim.status == "pending"

    stranger = testapp
    answer = stranger.buy("private", token=new_card_token(), email=email, status=409)
    assert "Nothing was charged" in answer.text and f"/purchases/{victim.id}" not in answer.text
    stranger.get(f"/purchases/{victim.id}", status=404)
    assert len(all_purchases(dbsession)) == 1


def test_a_new_payment_intent_attempt_replaces_one_nobody_paid(
    payment_intents_app, dbsession, stripe_client, new_card_token
):
    from tests.conftest import StoreTestApp

    make_album(dbsession, slug="second-tab", price_cents=1300)
    email = unique_email("tabs")
    first_tab = StoreTestApp(payment_intents_app, new_card_token)
    started, _ = first_tab.buyer.start("second-tab", email)
    assert started.json["status"] == "confirm"
    abandoned = only_purchase(dbsession)

    second_tab = StoreTestApp(payment_intents_app, new_card_token)
    payment = second_tab.pay("second-tab", email=email)
    assert payment.paid, payment
    statuses = {p.id: (p.status, p.failure_code) for p in all_purchases(dbsession)}
    assert statuses[abandoned.id] == ("failed", "replaced")
    assert stripe_client.v1.payment_intents.retrieve(abandoned.stripe_payment_intent_id).status == "canceled"
    assert money_held(stripe_client, email) == 1300

    # The first tab's Pay, pressed late, cannot take money: its PaymentIntent is canceled.
    import stripe

    with pytest.raises(stripe.InvalidRequestError, match="canceled"):
        first_tab.buyer.confirm_at_stripe(started.json["client_secret"])
    assert money_held(stripe_client, email) == 1300


def test_a_payment_intent_paid_at_stripe_but_never_confirmed_is_paid_when_a_new_tab_checks_out(
    payment_intents_app, dbsession, stripe_client, new_card_token
):
    """The first tab paid at Stripe and was closed before telling the store; a second tab of the same
    address finds that payment: the first purchase becomes paid, and nothing is charged again."""
    from tests.conftest import StoreTestApp

    make_album(dbsession, slug="paid-tab", price_cents=1300)
    email = unique_email("paidtab")
    first_tab = StoreTestApp(payment_intents_app, new_card_token)
    started, _ = first_tab.buyer.start("paid-tab", email)
    assert first_tab.buyer.confirm_at_stripe(started.json["client_secret"]) == "succeeded"
    first = only_purchase(dbsession)
    assert first.status == "pending"

    payment = StoreTestApp(payment_intents_app, new_card_token).pay("paid-tab", email=email)
    assert payment.outcome == "conflict" and "Nothing was charged" in payment.message, payment
    dbsession.refresh(first)
    assert [p.status for p in all_purchases(dbsession)] == ["paid"]
    assert money_held(stripe_client, email) == 1300


def test_a_declined_payment_intent_keeps_its_decline_when_a_new_tab_replaces_it(
    payment_intents_app, dbsession, stripe_client, new_card_token
):
    """A first attempt declined at Stripe (the tab closed before the store heard): a new checkout of the
    same address records the first as declined — the owner sees why — and charges the new card."""
    from tests.conftest import StoreTestApp

    make_album(dbsession, slug="declined-tab", price_cents=1300)
    email = unique_email("declinedtab")
    first_tab = StoreTestApp(payment_intents_app, new_card_token)
    started, _ = first_tab.buyer.start("declined-tab", email)
    assert (
        first_tab.buyer.confirm_at_stripe(started.json["client_secret"], "4000000000000002")
        == "requires_payment_method"
    )
    first = only_purchase(dbsession)

    payment = StoreTestApp(payment_intents_app, new_card_token).pay("declined-tab", email=email)
    assert payment.paid, payment
    statuses = {p.id: (p.status, p.failure_code) for p in all_purchases(dbsession)}
    assert statuses[first.id][0] == "failed" and statuses[first.id][1] not in ("replaced", "not_completed"), statuses
    assert money_held(stripe_client, email) == 1300


def test_a_payment_intent_being_authenticated_is_not_replaced(
    payment_intents_app, dbsession, stripe_client, new_card_token
):
    from tests.conftest import StoreTestApp
    from tests.paying import THREE_D_SECURE

    make_album(dbsession, slug="in-3ds", price_cents=1300)
    email = unique_email("3ds")
    first_tab = StoreTestApp(payment_intents_app, new_card_token)
    started, _ = first_tab.buyer.start("in-3ds", email)
    assert (
        first_tab.buyer.confirm_at_stripe(started.json["client_secret"], THREE_D_SECURE, authenticate=None)
        == "requires_action"
    )

    # The same buyer's browser opens the album again and presses Pay: it is sent to the pending receipt.
    again, _ = first_tab.buyer.start("in-3ds", email)
    assert (again.status_int, again.json["status"]) == (409, "pending") and again.json["receipt_url"]
    assert len(all_purchases(dbsession)) == 1
    assert money_held(stripe_client, email) == 0


@pytest.mark.parametrize("round_", range(3))
def test_two_checkouts_of_one_album_at_once_on_two_processes_charge_once(
    live_stores, dbsession, faults, new_card_token, stripe_client, round_
):
    """Two tabs of one buyer pay at the same moment, each with its own new token, on two processes."""
    make_album(dbsession, slug="twice", price_cents=1200)
    email = unique_email("race")
    stores = live_stores(), live_stores()
    browsers = [browser_session(store, "twice") for store in stores]
    # Stripe answers slowly, so the second checkout arrives while the first is still charging.
    faults.inject(count=2, status=0, when="before", delay=1.0, path_prefix="/v1/charges", method="POST")
    barrier = threading.Barrier(2)

    def pay(index):
        store, (session, csrf) = stores[index], browsers[index]
        fields = {
            "csrf_token": csrf,
            "stripeToken": new_card_token(),
            "stripeTokenType": "card",
            "stripeEmail": email,
            **session.shown,
        }
        barrier.wait()
        return requests.post(
            f"{store.url}/albums/twice/buy", data=fields, cookies=session.cookies, allow_redirects=False, timeout=60
        )

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(pay, [0, 1]))

    assert sorted(a.status_code for a in answers)[0] in (303, 409), [a.text[:300] for a in answers]
    assert all(a.status_code in (303, 409, 503) for a in answers), [a.status_code for a in answers]
    assert [p.status for p in all_purchases(dbsession)] == ["paid"]
    assert [c.status for c in charges_for(stripe_client, email)] == ["succeeded"]
    assert money_held(stripe_client, email) == 1200


# --- 2. a refund made while the purchase was pending is never undone ---------------------------------
def test_a_dashboard_refund_of_a_pending_purchase_settles_it_refunded_and_stays(
    make_app, app, dbsession, faults, stripe_client, post_event, ini_file, outbox
):
    make_album(dbsession, slug="refund-pending", price_cents=1400)
    email = unique_email("refunded")
    faults.inject(count=1, status=500, when="after")
    make_app(**{"stripe.max_network_retries": "0"}).buy("refund-pending", email=email, status=503)
    [charge] = charges_for(stripe_client, email)
    stripe_client.v1.refunds.create(params={"charge": charge.id})  # the owner, in Stripe's dashboard

    assert post_event(event("charge.refunded", {"id": charge.id, "object": "charge"})).json["outcome"] == "refunded"
    purchase = only_purchase(dbsession)
    assert (purchase.status, purchase.amount_refunded_cents, purchase.stripe_charge_id) == ("refunded", 1400, charge.id)
    # Later news changes nothing: reconcile, and the charge.succeeded that arrives after its refund.
    reconcile(ini_file, "--search-lag-minutes", "0")
    assert (
        post_event(event("charge.succeeded", {"id": charge.id, "object": "charge"})).json["outcome"]
        == "already settled"
    )
    purchase = only_purchase(dbsession)
    assert purchase.status == "refunded" and not purchase.is_paid
    assert outbox == [], "no receipt, no download link for money that went back"
    # The money went back, so the buyer may buy the album again (the refund freed their place).
    assert purchase.buyer_album_key is None
    make_app().buy("refund-pending", email=email, status=303)
    assert money_held(stripe_client, email) == 1400


def test_reconcile_reads_the_refund_of_a_pending_purchase_whose_event_was_lost(
    make_app, dbsession, faults, stripe_client, ini_file
):
    make_album(dbsession, slug="refund-quiet", price_cents=1400)
    email = unique_email("quiet")
    faults.inject(count=1, status=500, when="after")
    make_app(**{"stripe.max_network_retries": "0"}).buy("refund-quiet", email=email, status=503)
    [charge] = charges_for(stripe_client, email)
    stripe_client.v1.refunds.create(params={"charge": charge.id, "amount": 400})  # a partial refund
    reconcile(ini_file)
    purchase = only_purchase(dbsession)
    assert (purchase.status, purchase.amount_refunded_cents, purchase.net_cents) == ("paid", 400, 1000)
    stripe_client.v1.refunds.create(params={"charge": charge.id})  # and the rest
    from album_store.cli import main as cli

    # A paid purchase is not reconciled again; the charge.refunded event brings the rest.
    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0"]) == 0
    assert only_purchase(dbsession).status == "paid"


def test_a_payment_intent_refunded_before_the_store_heard_it_succeeded(
    payment_intents_app, dbsession, stripe_client, post_event, new_card_token
):
    from tests.conftest import StoreTestApp

    make_album(dbsession, slug="pi-refund", price_cents=1600)
    buyer = StoreTestApp(payment_intents_app, new_card_token).buyer
    started, _ = buyer.start("pi-refund", unique_email("pi"))
    assert buyer.confirm_at_stripe(started.json["client_secret"]) == "succeeded"  # the tab closes here
    purchase = only_purchase(dbsession)
    stripe_client.v1.refunds.create(params={"payment_intent": purchase.stripe_payment_intent_id})
    intent = stripe_client.v1.payment_intents.retrieve(purchase.stripe_payment_intent_id)

    assert (
        post_event(event("charge.refunded", {"id": intent.latest_charge, "object": "charge"})).json["outcome"]
        == "refunded"
    )
    late = event("payment_intent.succeeded", {"id": intent.id, "object": "payment_intent"})
    assert post_event(late).json["outcome"] == "already settled"
    assert only_purchase(dbsession).status == "refunded"


def test_webhooks_held_then_delivered_twice_in_reverse_order_end_refunded(
    live_stores, dbsession, faults, stripe_client, standin, new_card_token
):
    """Stripe's own delivery, made as unreliable as Stripe's: the charge's events are held, the owner
    refunds in Stripe's dashboard, then every event arrives twice, newest first, at a live store."""
    make_album(dbsession, slug="reordered", price_cents=1000)
    email = unique_email("reorder")
    store = live_stores(**{"stripe.max_network_retries": "0"})
    process.register_webhook(
        standin.url,
        f"wh_{uuid.uuid4().hex[:8]}",
        f"{store.url}/stripe/webhook",
        "whsec_standin_testing",
        events=["charge.succeeded", "charge.refunded"],
    )
    faults.webhook_delivery(hold=True, duplicate=True, order="reverse")
    session, csrf = browser_session(store, "reordered")
    faults.inject(count=1, status=500, when="after")
    answer = requests.post(
        f"{store.url}/albums/reordered/buy",
        cookies=session.cookies,
        allow_redirects=False,
        timeout=30,
        data={"csrf_token": csrf, "stripeToken": new_card_token(), "stripeEmail": email, **session.shown},
    )
    assert answer.status_code == 503
    [charge] = charges_for(stripe_client, email)
    stripe_client.v1.refunds.create(params={"charge": charge.id})
    try:
        delivered = process.release_webhooks(standin.url)
    finally:
        process.register_webhook(standin.url, "off", "http://127.0.0.1:9/", "whsec_off", events=["none.none"])
    assert [e["type"] for e in delivered] == ["charge.refunded", "charge.succeeded"], "newest first"
    purchase = only_purchase(dbsession)
    assert (purchase.status, purchase.amount_refunded_cents) == ("refunded", 1000)
    assert money_held(stripe_client, email) == 0


# --- 4. "no charge" is not concluded from a lagging search, and is repaired -------------------------
def test_reconcile_does_not_fail_a_young_purchase_while_search_may_lag(
    make_app, dbsession, faults, stripe_client, ini_file, capsys
):
    make_album(dbsession, slug="lagging", price_cents=800)
    email = unique_email("lag")
    faults.inject(count=1, status=500, when="after")
    faults.search_lag(3600)  # Stripe's search will not catch up with the charge for a while
    make_app(**{"stripe.max_network_retries": "0"}).buy("lagging", email=email, status=503)
    capsys.readouterr()
    reconcile(ini_file)
    assert only_purchase(dbsession).status == "pending", "an empty search of a young purchase proves nothing"
    assert capsys.readouterr().out.strip() == "Reconciled 0 purchases."
    faults.search_lag(0)
    reconcile(ini_file)
    purchase = only_purchase(dbsession)
    assert purchase.status == "paid" and money_held(stripe_client, email) == 800


def test_a_purchase_failed_on_an_empty_search_is_repaired_by_the_webhook(
    make_app, app, dbsession, faults, stripe_client, ini_file, post_event, outbox
):
    make_album(dbsession, slug="repaired", price_cents=800)
    email = unique_email("repair")
    faults.inject(count=1, status=500, when="after")
    faults.search_lag(3600)
    make_app(**{"stripe.max_network_retries": "0"}).buy("repaired", email=email, status=503)
    backdate(dbsession, only_purchase(dbsession), hours=2)  # old enough that reconcile gives up on it
    reconcile(ini_file)
    purchase = only_purchase(dbsession)
    assert (purchase.status, purchase.failure_code) == ("failed", "no_charge")

    [charge] = [c for c in stripe_client.v1.charges.list(params={"limit": 100}).data if c.receipt_email == email]
    assert post_event(event("charge.succeeded", {"id": charge.id, "object": "charge"})).json["outcome"] == "settled"
    purchase = only_purchase(dbsession)
    assert purchase.status == "paid" and purchase.stripe_charge_id == charge.id
    assert len(outbox) == 1 and email in outbox[0].recipients


def test_a_purchase_failed_on_an_empty_search_is_repaired_by_a_later_reconcile(
    make_app, dbsession, faults, stripe_client, ini_file, caplog, capsys
):
    make_album(dbsession, slug="repaired-later", price_cents=800)
    email = unique_email("later")
    faults.inject(count=1, status=500, when="after")
    faults.search_lag(3600)
    make_app(**{"stripe.max_network_retries": "0"}).buy("repaired-later", email=email, status=503)
    backdate(dbsession, only_purchase(dbsession), hours=2)
    reconcile(ini_file)
    assert only_purchase(dbsession).status == "failed"
    capsys.readouterr()
    reconcile(ini_file)  # search still lags: nothing found, nothing changed, and it says so
    assert only_purchase(dbsession).status == "failed" and capsys.readouterr().out.strip() == "Reconciled 0 purchases."
    faults.search_lag(0)  # search catches up
    caplog.set_level(logging.INFO, logger="album_store")
    reconcile(ini_file)
    assert capsys.readouterr().out.strip() == "Reconciled 1 purchase."
    repaired = only_purchase(dbsession)
    assert repaired.status == "paid"
    assert money_held(stripe_client, email) == 800
    # The owner's log says which purchase was repaired, by which charge.
    assert (
        f"purchase {repaired.id} was failed but charge {repaired.stripe_charge_id} succeeded; settling it"
        in caplog.messages
    )


def test_a_repaired_purchase_of_an_album_bought_again_meanwhile_is_refunded(
    make_app, dbsession, faults, stripe_client, ini_file, caplog
):
    make_album(dbsession, slug="dup", price_cents=800)
    email = unique_email("dup")
    faults.inject(count=1, status=500, when="after")
    faults.search_lag(3600)
    make_app(**{"stripe.max_network_retries": "0"}).buy("dup", email=email, status=503)
    first = only_purchase(dbsession)
    backdate(dbsession, first, hours=2)
    reconcile(ini_file)
    assert only_purchase(dbsession).status == "failed"
    make_app().buy("dup", email=email, status=303)  # told it failed, the buyer buys again
    faults.search_lag(0)
    reconcile(ini_file)  # the first charge turns up

    statuses = {p.id: p.status for p in all_purchases(dbsession)}
    assert statuses[first.id] == "refunded" and sorted(statuses.values()) == ["paid", "refunded"]
    assert money_held(stripe_client, email) == 800, "the buyer paid once in the end"
    # The owner's log says which purchase was a duplicate, of which album, and that it was refunded.
    assert (
        f"purchase_duplicate purchase_id={first.id} album_id={first.album_id}: the buyer already has this album; "
        "refunding it"
    ) in caplog.messages


def test_a_duplicate_whose_refund_stripe_could_not_take_is_refunded_by_the_next_reconcile(
    make_app, dbsession, faults, stripe_client, ini_file, caplog, standin
):
    make_album(dbsession, slug="dup-retry", price_cents=800)
    email = unique_email("dupretry")
    faults.inject(count=1, status=500, when="after")
    faults.search_lag(3600)
    make_app(**{"stripe.max_network_retries": "0"}).buy("dup-retry", email=email, status=503)
    first = only_purchase(dbsession)
    backdate(dbsession, first, hours=2)
    reconcile(ini_file)
    make_app().buy("dup-retry", email=email, status=303)
    faults.search_lag(0)
    # The first charge turns up, and Stripe cannot take its refund right now (nor when the same run
    # comes back to the duplicates it left paid).
    faults.inject(count=2, status=500, path_prefix="/v1/refunds", method="POST", should_retry=False)
    reconcile(ini_file)

    assert sorted(p.status for p in all_purchases(dbsession)) == ["paid", "paid"]
    assert money_held(stripe_client, email) == 1600
    failed = [m for m in caplog.messages if "the duplicate's refund failed" in m][0]
    assert failed.startswith(f"purchase {first.id}: the duplicate's refund failed (") and failed.endswith(
        "); reconcile tries again"
    )
    assert "None" not in failed, "the log says what Stripe answered"

    reconcile(ini_file)
    statuses = {p.id: p.status for p in all_purchases(dbsession)}
    assert statuses[first.id] == "refunded" and money_held(stripe_client, email) == 800
    # Every try was the same refund, under the purchase's own key: one that Stripe took but whose
    # answer was lost is replayed, never made twice.
    from stripe_standin.process import idempotent_requests

    charge_id = {p.id: p for p in all_purchases(dbsession)}[first.id].stripe_charge_id
    [refund] = stripe_client.v1.refunds.list(params={"charge": charge_id}).data
    made = [r for r in idempotent_requests(standin.url, "/v1/refunds") if r["id"] == refund.id]
    assert made and {r["idempotency_key"] for r in made} == {f"purchase:{first.reference}:refund"}


def test_a_late_charge_succeeded_for_an_album_bought_again_meanwhile_is_refunded_at_once(
    make_app, dbsession, faults, stripe_client, ini_file, post_event
):
    make_album(dbsession, slug="dup-hook", price_cents=800)
    email = unique_email("duphook")
    faults.search_lag(3600)
    faults.inject(count=1, status=500, when="after")
    make_app(**{"stripe.max_network_retries": "0"}).buy("dup-hook", email=email, status=503)
    first = only_purchase(dbsession)
    backdate(dbsession, first, hours=2)
    reconcile(ini_file)
    make_app().buy("dup-hook", email=email, status=303)
    [late] = [c for c in charges_for(stripe_client, email) if c.metadata["purchase_ref"] == first.reference]
    post_event(event("charge.succeeded", {"id": late.id, "object": "charge"}))
    statuses = {p.id: p.status for p in all_purchases(dbsession)}
    assert statuses[first.id] == "refunded" and sorted(statuses.values()) == ["paid", "refunded"]
    assert stripe_client.v1.charges.retrieve(late.id).amount_refunded == 800
    assert money_held(stripe_client, email) == 800


# --- 5. a status written by another process is never overwritten ------------------------------------
def test_reconcile_never_overwrites_a_paid_written_meanwhile_by_another_process(
    app, db_engine, dbsession, faults, caplog
):
    """Reconcile has loaded a purchase as pending and asks Stripe; meanwhile the webhook, on another
    process, commits it paid. Reconcile's 'no charge' must lose, not overwrite."""
    import transaction

    from album_store.models import get_tm_session
    from album_store.services.payments.stripe_service import StripePaymentService
    from album_store.services.purchases import PurchaseService
    from tests.factories import make_purchase

    album = make_album(dbsession, slug="raced", price_cents=700)
    purchase = make_purchase(dbsession, album, status="pending", created_at=utcnow() - timedelta(hours=3))
    real = StripePaymentService.from_settings(app.registry.settings)

    class WebhookWinsMeanwhile:
        """The real payment service; while reconcile waits for search, another process settles it."""

        def __getattr__(self, name):
            return getattr(real, name)

        settled_elsewhere = False

        def find_charge(self, *, purchase_ref):
            if not self.settled_elsewhere:
                self.settled_elsewhere = True
                with db_engine.begin() as other_process:
                    other_process.execute(
                        text(
                            "UPDATE purchases SET status = 'paid', paid_at = CURRENT_TIMESTAMP, "
                            "stripe_charge_id = 'ch_elsewhere' WHERE reference = :ref"
                        ),
                        {"ref": purchase_ref},
                    )
            return None  # and search finds nothing (yet)

    manager = transaction.TransactionManager(explicit=True)
    session = get_tm_session(app.registry["dbsession_factory"], manager)
    try:
        with manager:
            PurchaseService(session, manager, WebhookWinsMeanwhile()).reconcile_pending(
                min_age=timedelta(0), search_lag=timedelta(0)
            )
    finally:
        session.close()
    dbsession.expire_all()
    settled = dbsession.get(type(purchase), purchase.id)
    assert (settled.status, settled.stripe_charge_id) == ("paid", "ch_elsewhere")


def test_every_status_change_goes_through_the_transition_table(make_app, dbsession, faults, caplog, ini_file):
    """Each purchase_state line names a transition of settlement.TRANSITIONS (or the first, to pending)."""
    from album_store.services.purchases import TRANSITIONS

    caplog.set_level(logging.INFO, logger="album_store")
    make_album(dbsession, slug="table", price_cents=600)
    browser = make_app(**{"stripe.max_network_retries": "0"})
    faults.inject(count=1, status=500, when="after")
    browser.buy("table", email=unique_email("table"), status=503)
    reconcile(ini_file)
    browser.buy("table", token="tok_chargeDeclined", email=unique_email("declined"), status=402)
    moves = [
        tuple(part.split("=")[1] for part in line.split()[2:4])
        for line in (r.getMessage() for r in caplog.records)
        if line.startswith("purchase_state ")
    ]
    assert ("pending", "paid") in moves and ("pending", "failed") in moves
    for previous, new in moves:
        assert previous == "-" and new == "pending" or (previous, new) in TRANSITIONS, (previous, new)


def test_a_charge_left_pending_at_stripe_is_paid_only_when_stripe_says_so(
    testapp, dbsession, standin, stripe_client, post_event, outbox
):
    """Some payments stay ``pending`` at Stripe for a while: the buyer sees the pending receipt, nothing
    is delivered, and the charge.succeeded that follows settles it."""
    make_album(dbsession, slug="slow-bank", price_cents=1900)
    email = unique_email("slow")
    page = testapp.buy("slow-bank", token="tok_standin_pending", email=email, status=503)
    assert "Being confirmed" in page.text
    purchase = only_purchase(dbsession)
    assert purchase.status == "pending" and testapp.get(f"/purchases/{purchase.id}").status_int == 200
    [charge] = charges_for(stripe_client, email)
    assert charge.status == "pending"
    post_event(event("charge.succeeded", {"id": charge.id, "object": "charge"}))  # a lie: it is still pending
    assert only_purchase(dbsession).status == "pending" and outbox == []

    process.settle_charge(standin.url, charge.id, "succeeded")
    assert post_event(event("charge.succeeded", {"id": charge.id, "object": "charge"})).json["outcome"] == "settled"
    assert only_purchase(dbsession).status == "paid" and len(outbox) == 1


def test_reconcile_leaves_a_charge_still_pending_at_stripe_pending_and_says_it_changed_nothing(
    testapp, dbsession, stripe_client, standin, ini_file, capsys, outbox
):
    make_album(dbsession, slug="slow-reconcile", price_cents=1900)
    email = unique_email("slowrec")
    testapp.buy("slow-reconcile", token="tok_standin_pending", email=email, status=503)
    capsys.readouterr()
    reconcile(ini_file)
    assert only_purchase(dbsession).status == "pending" and outbox == []
    assert capsys.readouterr().out.strip() == "Reconciled 0 purchases."
    [charge] = charges_for(stripe_client, email)
    process.settle_charge(standin.url, charge.id, "succeeded")
    reconcile(ini_file)
    assert only_purchase(dbsession).status == "paid" and capsys.readouterr().out.strip() == "Reconciled 1 purchase."


def test_reconcile_of_a_failed_purchase_while_stripe_is_down_changes_nothing_and_says_so(
    make_app, dbsession, faults, standin, ini_file, capsys, caplog
):
    make_album(dbsession, slug="down-repair", price_cents=800)
    faults.inject(count=1, status=500, when="after")
    faults.search_lag(3600)
    make_app(**{"stripe.max_network_retries": "0"}).buy("down-repair", email=unique_email("downrep"), status=503)
    backdate(dbsession, only_purchase(dbsession), hours=2)
    reconcile(ini_file)
    failed = only_purchase(dbsession)
    assert failed.status == "failed"
    faults.search_lag(0)
    capsys.readouterr()
    faults.inject(count=50, status=503)
    caplog.set_level(logging.WARNING, logger="album_store")
    reconcile(ini_file)
    process.clear_faults(standin.url)
    assert only_purchase(dbsession).status == "failed"
    assert capsys.readouterr().out.strip() == "Reconciled 0 purchases."
    assert f"reconcile: Stripe unavailable; failed purchase {failed.id} is checked again next time" in caplog.messages


def test_reconcile_while_stripe_is_down_changes_nothing_and_says_so(
    make_app, dbsession, faults, standin, ini_file, capsys, caplog
):
    make_album(dbsession, slug="down-reconcile", price_cents=800)
    faults.inject(count=1, status=500, when="after")
    make_app(**{"stripe.max_network_retries": "0"}).buy("down-reconcile", email=unique_email("down"), status=503)
    purchase = only_purchase(dbsession)
    backdate(dbsession, purchase, hours=2)  # old enough to give up on, were Stripe to say "no charge"
    capsys.readouterr()
    faults.inject(count=50, status=503)
    caplog.set_level(logging.WARNING, logger="album_store")
    reconcile(ini_file)
    process.clear_faults(standin.url)
    assert only_purchase(dbsession).status == "pending", "Stripe not answering proves nothing"
    assert capsys.readouterr().out.strip() == "Reconciled 0 purchases."
    assert f"reconcile: Stripe unavailable; purchase {purchase.id} stays pending" in caplog.messages


def test_a_charge_left_pending_that_fails_fails_the_purchase(
    testapp, dbsession, standin, stripe_client, post_event, new_card_token, caplog
):
    make_album(dbsession, slug="slow-fail", price_cents=1900)
    email = unique_email("slowfail")
    testapp.buy("slow-fail", token="tok_standin_pending", email=email, status=503)
    [charge] = charges_for(stripe_client, email)
    process.settle_charge(standin.url, charge.id, "failed")
    caplog.set_level(logging.INFO, logger="album_store")
    assert post_event(event("charge.failed", {"id": charge.id, "object": "charge"})).json["outcome"] == "failed"
    failed = only_purchase(dbsession)
    # Why, for the buyer's receipt and the owner's list, and which charge, in the owner's log.
    assert (failed.status, failed.failure_code, failed.failure_message) == (
        "failed",
        "charge_failed",
        "The payment did not go through; nothing was charged.",
    )
    assert any(
        m.startswith(f"purchase_state purchase_id={failed.id} from=pending to=failed charge_id={charge.id} ")
        for m in caplog.messages
    )
    # Nothing was taken, so the buyer may pay again at once.
    testapp.buy("slow-fail", token=new_card_token(), email=email, status=303)
    assert money_held(stripe_client, email) == 1900


# --- 6. found by the money model (test_money_model.py) -------------------------------------------------
def test_a_card_form_posted_again_after_its_purchase_was_refunded_is_not_told_paid(
    payment_intents_app, dbsession, stripe_client, post_event, new_card_token
):
    """The tab that paid presses Pay again (or its confirm is retried) after the owner refunded the purchase:
    nothing more is charged, and the answer says refunded, never "paid"."""
    from tests.conftest import StoreTestApp

    make_album(dbsession, slug="refunded-tab", price_cents=1100)
    email = unique_email("tab")
    buyer = StoreTestApp(payment_intents_app, new_card_token).buyer
    started, csrf = buyer.start("refunded-tab", email)
    assert buyer.confirm_at_stripe(started.json["client_secret"]) == "succeeded"
    assert buyer.confirm(started.json["confirm_url"], csrf).json["status"] == "paid"
    purchase = only_purchase(dbsession)
    stripe_client.v1.refunds.create(params={"payment_intent": purchase.stripe_payment_intent_id})
    assert (
        post_event(event("charge.refunded", {"id": purchase.stripe_charge_id, "object": "charge"})).json["outcome"]
        == "refunded"
    )

    again, _ = buyer.start("refunded-tab", email, attempt_id=purchase.attempt_id)
    assert (again.status_int, again.json["status"]) == (409, "refunded"), again.json
    assert again.json["receipt_url"].endswith(f"/purchases/{purchase.id}")
    confirmed = buyer.confirm(started.json["confirm_url"], csrf)
    assert (confirmed.status_int, confirmed.json["status"]) == (409, "refunded"), confirmed.json
    assert money_held(stripe_client, email) == 0 and only_purchase(dbsession).status == "refunded"


def test_a_payment_intent_purchase_given_up_on_whose_payment_arrives_later_is_repaired(
    make_app, dbsession, faults, stripe_client, ini_file, caplog
):
    """The answer to the PaymentIntent's creation was lost and search lagged, so reconcile gave the
    purchase up (no payment found); then the PaymentIntent turns up paid. The next reconcile makes the
    purchase paid, with its charge, and says so in the log."""
    make_album(dbsession, slug="late-intent", price_cents=1100)
    store = make_app(**{"store.payment_flow": "payment_intents", "stripe.max_network_retries": "0"})
    faults.inject(count=1, status=500, when="after", path_prefix="/v1/payment_intents", method="POST")
    faults.search_lag(3600)
    started, _ = store.buyer.start("late-intent", email=unique_email("late"))
    assert started.status_int == 503
    purchase = only_purchase(dbsession)
    assert purchase.status == "pending" and purchase.stripe_payment_intent_id is None
    backdate(dbsession, purchase, hours=2)
    reconcile(ini_file, "--search-lag-minutes", "60")
    dbsession.expire_all()
    assert (only_purchase(dbsession).status, only_purchase(dbsession).failure_code) == ("failed", "no_payment")

    # The PaymentIntent Stripe made is paid after all (as Stripe.js would, with its client secret).
    [intent] = [
        i
        for i in stripe_client.v1.payment_intents.list(params={"limit": 100}).data
        if i.metadata.to_dict().get("purchase_ref") == purchase.reference
    ]
    stripe_client.v1.payment_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    faults.search_lag(0)
    caplog.set_level(logging.INFO, logger="album_store")
    reconcile(ini_file)
    repaired = only_purchase(dbsession)
    assert (repaired.status, repaired.stripe_payment_intent_id) == ("paid", intent.id) and repaired.stripe_charge_id
    assert f"purchase {purchase.id} was failed but PaymentIntent {intent.id} succeeded; settling it" in caplog.messages
