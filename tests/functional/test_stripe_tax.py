"""Stripe Tax on the hosted page (``store.tax``): the session asks Stripe to compute the tax, the
buyer pays the price plus it (``exclusive``) or the price with it inside (``inclusive``), and the
store records and shows the tax Stripe charged — on the receipt, in the mail, on the owner's pages,
in the CSV — refunds all of it, and keeps it out of the owner's revenue.

The stand-in taxes every line at a 20 % test rate (``stripe_standin.checkout_sessions.TAX_RATE``):
$12.50 exclusive is $2.50 tax, $15.00 in all; $12.50 inclusive holds $2.08 of tax.
"""

import csv
import io
import uuid

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pyramid_mailer import get_mailer
from sqlalchemy import select

from album_store.models import Purchase
from stripe_standin import process
from tests.conftest import StoreTestApp, standin_only
from tests.factories import mail_text, make_album, make_owner
from tests.functional.test_checkout_session import email_of, local_path, only_purchase, press_buy
from tests.functional.test_webhooks import event, signed
from tests.paying import VISA

pytestmark = [pytest.mark.stripe, standin_only]

PRICE = 1250


@pytest.fixture(scope="module")
def tax_apps(app_settings, db_engine):
    """One store per ``store.tax`` value, all on the hosted page."""
    from album_store import main

    return {
        tax: main({}, **{**app_settings, "store.payment_flow": "checkout_session", "store.tax": tax})
        for tax in ("exclusive", "inclusive")
    }


def shop(tax_apps, tax, new_card_token):
    return StoreTestApp(tax_apps[tax], new_card_token)


@pytest.fixture
def album(dbsession):
    return make_album(dbsession, slug="hosted", title="Hosted Sound", price_cents=PRICE)


def buy_and_pay(store, dbsession, email=None, *, come_back=True):
    answer = press_buy(store, email=email or email_of("taxed"))
    back = process.pay_checkout_session(answer.location, card=VISA)
    if come_back:
        store.get(local_path(back))
    dbsession.expire_all()
    return only_purchase(dbsession)


def owner_browser(tax_apps, tax, dbsession, new_card_token):
    owner = make_owner(dbsession)
    browser = StoreTestApp(tax_apps[tax], new_card_token)
    browser.login(owner.email)
    return browser


def test_the_session_asks_stripe_tax_for_the_albums_digital_audio_code(
    tax_apps, album, dbsession, stripe_client, new_card_token
):
    store = shop(tax_apps, "exclusive", new_card_token)
    page = store.get("/albums/hosted")
    assert "Plus sales tax or VAT where it applies" in page.html.find(class_="tax-note").text
    press_buy(store)
    purchase = only_purchase(dbsession)
    assert (purchase.tax_behavior, purchase.tax_cents) == ("exclusive", 0)  # Stripe computes it on its page
    confirming = store.get(f"/purchases/{purchase.id}").html.find(class_="receipt__amount").get_text()
    assert confirming == "$12.50 plus any tax Stripe's page adds"
    session = stripe_client.v1.checkout.sessions.retrieve(purchase.stripe_checkout_session_id)
    assert session.automatic_tax.enabled is True
    [item] = stripe_client.v1.checkout.sessions.line_items.list(
        purchase.stripe_checkout_session_id, params={"expand": ["data.price.product"]}
    ).data
    assert (item.price.unit_amount, item.price.tax_behavior) == (PRICE, "exclusive")
    assert item.price.product.tax_code == "txcd_10401100"


def test_tax_added_on_stripes_page_is_charged_recorded_and_shown(
    tax_apps, album, dbsession, stripe_client, new_card_token
):
    store = shop(tax_apps, "exclusive", new_card_token)
    purchase = buy_and_pay(store, dbsession)
    assert (purchase.status, purchase.amount_cents, purchase.tax_cents, purchase.charged_cents) == (
        "paid",
        1250,
        250,
        1500,
    )
    charge = stripe_client.v1.charges.retrieve(purchase.stripe_charge_id)
    assert (charge.amount, charge.amount_refunded) == (1500, 0)
    receipt = store.get(f"/purchases/{purchase.id}").html
    assert receipt.find(class_="receipt__price").text == "$12.50"
    assert receipt.find(class_="receipt__tax").text == "$2.50"
    assert receipt.find(class_="receipt__amount").text == "$15.00"
    [mail] = [m for m in get_mailer(tax_apps["exclusive"].registry).outbox if m.recipients == [purchase.email]]
    assert "Amount:  $15.00 ($12.50 + $2.50 tax)" in mail_text(mail)


def test_tax_included_in_the_price_charges_the_price_and_says_how_much_tax_it_held(
    tax_apps, album, dbsession, stripe_client, new_card_token
):
    store = shop(tax_apps, "inclusive", new_card_token)
    assert "The price includes sales tax" in store.get("/albums/hosted").html.find(class_="tax-note").text
    purchase = buy_and_pay(store, dbsession)
    assert (purchase.status, purchase.tax_behavior, purchase.tax_cents, purchase.charged_cents) == (
        "paid",
        "inclusive",
        208,
        1250,
    )
    assert stripe_client.v1.charges.retrieve(purchase.stripe_charge_id).amount == 1250
    receipt = store.get(f"/purchases/{purchase.id}").html
    assert receipt.find(class_="receipt__amount").text == "$12.50"
    assert receipt.find(class_="receipt__tax").text == "$2.08"
    assert receipt.find(class_="receipt__price") is None


@pytest.mark.parametrize("first", ["charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"])
def test_a_buyer_who_never_came_back_is_settled_with_the_tax_whichever_event_comes_first(
    tax_apps, album, dbsession, app_settings, stripe_client, new_card_token, first
):
    """The charge or PaymentIntent (price + tax) names the purchase before the store knows the tax: it
    is settled through its session, which says the tax, never ignored as the wrong amount nor paid
    without it."""
    store = shop(tax_apps, "exclusive", new_card_token)
    purchase = buy_and_pay(store, dbsession, come_back=False)
    assert purchase.status == "pending"
    intent = stripe_client.v1.checkout.sessions.retrieve(
        purchase.stripe_checkout_session_id, params={"expand": ["payment_intent"]}
    ).payment_intent
    events = {
        "charge.succeeded": event("charge.succeeded", {"id": intent.latest_charge, "object": "charge"}),
        "payment_intent.succeeded": event("payment_intent.succeeded", {"id": intent.id, "object": "payment_intent"}),
        "checkout.session.completed": event(
            "checkout.session.completed",
            {"id": purchase.stripe_checkout_session_id, "object": "checkout.session", "payment_status": "paid"},
        ),
    }
    body, headers = signed(events[first], app_settings["stripe.webhook_secret"])
    assert store.post("/stripe/webhook", body, headers=headers).json["outcome"] == "settled"
    dbsession.expire_all()
    purchase = only_purchase(dbsession)
    assert (purchase.status, purchase.tax_cents, purchase.charged_cents, purchase.stripe_charge_id) == (
        "paid",
        250,
        1500,
        intent.latest_charge,
    )
    for other in events.values():  # the other event, later: nothing more to do
        body, headers = signed({**other, "id": other["id"] + "_late"}, app_settings["stripe.webhook_secret"])
        assert store.post("/stripe/webhook", body, headers=headers).json["outcome"] == "already settled"
    dbsession.expire_all()
    assert only_purchase(dbsession).status == "paid"


def test_the_owner_sees_the_tax_refunds_all_of_it_and_revenue_leaves_it_out(
    tax_apps, album, dbsession, stripe_client, new_card_token
):
    store = shop(tax_apps, "exclusive", new_card_token)
    purchase = buy_and_pay(store, dbsession)
    owner = owner_browser(tax_apps, "exclusive", dbsession, new_card_token)
    detail = owner.get(f"/admin/purchases/{purchase.id}").html
    assert (detail.find(class_="receipt__tax").text, detail.find(class_="receipt__amount").text) == ("$2.50", "$15.00")
    today = owner.get("/admin").html.select_one(".figure[data-period=Today] .figure__revenue").text
    assert today == "$12.50"  # the tax is Stripe Tax's to remit, not the band's revenue
    [row] = list(csv.DictReader(io.StringIO(owner.get("/admin/purchases.csv").text)))
    assert (row["amount"], row["tax"], row["charged"], row["refunded"], row["net"]) == (
        "12.50",
        "2.50",
        "15.00",
        "0.00",
        "12.50",
    )

    confirm = owner.get(f"/admin/purchases/{purchase.id}/refund")
    assert "$15.00 goes back to" in confirm.text
    confirm.forms["refund-form"].submit(status=303)
    dbsession.expire_all()
    refunded = only_purchase(dbsession)
    assert (refunded.status, refunded.amount_refunded_cents, refunded.net_cents) == ("refunded", 1500, 0)
    assert stripe_client.v1.charges.retrieve(purchase.stripe_charge_id).amount_refunded == 1500
    assert owner.get("/admin").html.select_one(".figure[data-period=Today] .figure__revenue").text == "$0.00"


def test_refunding_only_the_price_in_stripes_dashboard_keeps_the_sale_partly_refunded(
    tax_apps, album, dbsession, app_settings, stripe_client, new_card_token
):
    """$12.50 of $15.00 back: the tax is still held, so the purchase is paid, not refunded."""
    store = shop(tax_apps, "exclusive", new_card_token)
    purchase = buy_and_pay(store, dbsession)
    stripe_client.v1.refunds.create(params={"charge": purchase.stripe_charge_id, "amount": 1250})
    body, headers = signed(
        event("charge.refunded", {"id": purchase.stripe_charge_id, "object": "charge"}),
        app_settings["stripe.webhook_secret"],
    )
    assert store.post("/stripe/webhook", body, headers=headers).json["outcome"] == "partially refunded"
    dbsession.expire_all()
    purchase = only_purchase(dbsession)
    # $2.50 kept, of which the tax in proportion ($2.50 × 2.50 / 15.00 = $0.41) is not revenue.
    assert (purchase.status, purchase.amount_refunded_cents, purchase.net_cents) == ("paid", 1250, 209)


def test_the_other_flows_ask_no_tax(app_settings, db_engine, album, dbsession, new_card_token):
    """``store.tax`` is for Stripe's hosted page: the on-page flows charge the price as shown."""
    from album_store import main
    from tests.paying import Buyer

    for flow in ("checkout_js", "payment_intents"):
        app = main({}, **{**app_settings, "store.payment_flow": flow, "store.tax": "exclusive"})
        store = StoreTestApp(app, new_card_token)
        assert store.get("/albums/hosted").html.find(class_="tax-note") is None
        assert Buyer(store, False, new_card_token).pay("hosted", email=email_of(flow)).paid
    purchases = dbsession.scalars(select(Purchase)).all()
    assert [(p.status, p.tax_behavior, p.charged_cents) for p in purchases] == [("paid", None, 1250)] * 2


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    amount=st.integers(1, 10**7),
    behavior=st.sampled_from([None, "exclusive", "inclusive"]),
    tax_share=st.floats(0, 0.5),
    refund_share=st.floats(0, 1),
)
def test_the_databases_net_is_the_models_net(db_engine, amount, behavior, tax_share, refund_share):
    """The dashboard sums ``Purchase.net_cents`` in SQL; the pages show it from Python: the two
    agree to the cent, and never exceed what was kept nor go below zero."""
    from sqlalchemy.orm import Session

    tax = int(amount * tax_share) if behavior else 0
    purchase = Purchase(
        amount_cents=amount, currency="usd", tax_behavior=behavior, tax_cents=tax, email="n@example.com"
    )
    purchase.amount_refunded_cents = refunded = int(purchase.charged_cents * refund_share)
    with db_engine.connect() as connection:  # written and read in a transaction that is rolled back
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        purchase.album_id = make_album(session, slug=f"net-{uuid.uuid4().hex[:8]}", price_cents=amount).id
        session.add(purchase)
        session.flush()
        sql_net, sql_charged = session.execute(
            select(Purchase.net_cents, Purchase.charged_cents).where(Purchase.id == purchase.id)
        ).one()
        session.close()
        transaction.rollback()
    kept = purchase.charged_cents - refunded
    assert (sql_net, sql_charged) == (purchase.net_cents, purchase.charged_cents)
    assert 0 <= purchase.net_cents <= kept
    assert purchase.net_cents == kept - tax * kept // purchase.charged_cents


def refund_at_stripe_then_tell_the_store(store, purchase, stripe_client, app_settings, amount=None):
    """Refund the hosted purchase's charge in "Stripe's dashboard" (all of it, or ``amount``), then
    deliver the session's checkout.session.completed: the store's first news of the payment."""
    intent = stripe_client.v1.checkout.sessions.retrieve(
        purchase.stripe_checkout_session_id, params={"expand": ["payment_intent"]}
    ).payment_intent
    stripe_client.v1.refunds.create(params={"charge": intent.latest_charge, **({"amount": amount} if amount else {})})
    completed = event(
        "checkout.session.completed", {"id": purchase.stripe_checkout_session_id, "object": "checkout.session"}
    )
    body, headers = signed(completed, app_settings["stripe.webhook_secret"])
    store.post("/stripe/webhook", body, headers=headers)


def test_the_price_refunded_at_stripe_before_the_store_heard_of_the_payment_leaves_it_paid(
    tax_apps, album, dbsession, app_settings, stripe_client, new_card_token
):
    """Paid ($15.00 with tax), then $12.50 refunded in Stripe's dashboard before any news reached the
    store: when the session's event arrives, the tax is still held, so the purchase is paid with
    $12.50 refunded — judged against the price plus the session's tax, not the price alone."""
    store = shop(tax_apps, "exclusive", new_card_token)
    purchase = buy_and_pay(store, dbsession, come_back=False)
    refund_at_stripe_then_tell_the_store(store, purchase, stripe_client, app_settings, amount=1250)
    dbsession.expire_all()
    purchase = only_purchase(dbsession)
    assert (purchase.status, purchase.tax_cents, purchase.amount_refunded_cents) == ("paid", 250, 1250)


def test_the_whole_total_refunded_at_stripe_before_the_store_heard_is_recorded_whole(
    tax_apps, album, dbsession, app_settings, stripe_client, new_card_token
):
    """Paid $15.00 ($12.50 + $2.50 tax), all of it refunded in Stripe's dashboard before the store heard:
    the purchase is refunded with $15.00 refunded (what Stripe gave back), not capped at the price."""
    store = shop(tax_apps, "exclusive", new_card_token)
    purchase = buy_and_pay(store, dbsession, come_back=False)
    refund_at_stripe_then_tell_the_store(store, purchase, stripe_client, app_settings)
    dbsession.expire_all()
    purchase = only_purchase(dbsession)
    assert (purchase.status, purchase.tax_cents, purchase.amount_refunded_cents) == ("refunded", 250, 1500)
