"""The owner's purchases: the filtered, paginated list; its CSV export; one purchase; refunds through Stripe."""

import csv
import io
import json
import time
import types
import uuid
from datetime import UTC, datetime

import pytest
import webob
from sqlalchemy import func, select, update

from album_store.models import AuditEvent, Purchase
from tests.conftest import StoreTestApp, standin_only
from tests.factories import give_album_file, make_album, make_purchase, stripe_signature


def at(day, hour=12):
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def ledger(dbsession):
    """Two albums and a handful of purchases on known days."""
    blue = make_album(dbsession, title="Blue Skies", slug="blue-skies", price_cents=999)
    night = make_album(dbsession, title="Night Bus", slug="night-bus", price_cents=1999)
    rows = [
        make_purchase(dbsession, blue, email="ana@example.com", created_at=at(1)),
        make_purchase(dbsession, blue, email="bo@example.com", created_at=at(2), status="refunded", refunded_cents=999),
        make_purchase(dbsession, night, email="ana@example.com", created_at=at(3)),
        make_purchase(dbsession, night, email="cy@example.org", created_at=at(4), status="failed"),
        make_purchase(dbsession, night, email="=HYPERLINK(evil)@example.org", created_at=at(5), status="pending"),
    ]
    return {"blue": blue, "night": night, "purchases": rows}


def listed_ids(browser, query=""):
    page = browser.get("/admin/purchases" + query)
    return [int(a.text) for a in page.html.select("#purchases tbody tr td:first-child a")]


def test_the_list_filters_by_status_album_email_and_dates(owner_app, ledger):
    p = [purchase.id for purchase in ledger["purchases"]]
    assert listed_ids(owner_app) == p[::-1]
    assert listed_ids(owner_app, "?status=paid") == [p[2], p[0]]
    assert listed_ids(owner_app, f"?album={ledger['blue'].id}") == [p[1], p[0]]
    assert listed_ids(owner_app, "?email=ANA@") == [p[2], p[0]]
    assert listed_ids(owner_app, "?email=%25") == []  # wildcards are searched for literally
    assert listed_ids(owner_app, "?date_from=2026-03-02&date_to=2026-03-04") == [p[3], p[2], p[1]]
    assert listed_ids(owner_app, f"?status=paid&album={ledger['night'].id}&date_from=2026-03-03") == [p[2]]


@pytest.mark.parametrize(
    "query, message",
    [
        ("?status=lost", "Not a valid choice"),
        ("?album=999999", "Not a valid choice"),
        ("?date_from=yesterday", "Not a valid date"),
        ("?date_from=2026-03-05&date_to=2026-03-01", "The end comes before the start."),
        ("?email=a%00b", "Remove the control characters."),  # PostgreSQL refuses a NUL in text
    ],
)
def test_bad_filters_are_explained_not_guessed(owner_app, ledger, query, message):
    page = owner_app.get("/admin/purchases" + query, status=400)
    assert message in page.html.find(class_="alert--error").text
    assert not page.html.find(id="purchases")
    owner_app.get("/admin/purchases.csv" + query, status=400)


def test_the_list_is_paginated_and_keeps_its_filters(owner_app, dbsession):
    album = make_album(dbsession, price_cents=100)
    for n in range(55):
        make_purchase(dbsession, album, email=f"b{n}@example.com", commit=False)
    dbsession.commit()
    first = owner_app.get("/admin/purchases?status=paid")
    assert len(first.html.select("#purchases tbody tr")) == 50 and "Page 1 of 2" in first.text
    next_link = first.html.find("a", rel="next")["href"]
    assert "status=paid" in next_link and "page=2" in next_link
    assert len(owner_app.get(next_link).html.select("#purchases tbody tr")) == 5
    owner_app.get("/admin/purchases?page=9", status=404)


def test_the_csv_export_streams_the_filtered_list(owner_app, ledger):
    page = owner_app.get("/admin/purchases?status=paid")
    response = owner_app.get(page.html.find("a", string="Export CSV")["href"])
    assert response.content_type == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="purchases.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["id"]) for r in rows] == [ledger["purchases"][2].id, ledger["purchases"][0].id]
    assert rows[1]["album_title"] == "Blue Skies" and rows[1]["amount"] == "9.99" and rows[1]["net"] == "9.99"
    assert rows[0]["paid_at"].startswith("2026-03-03T12:00:00")


def test_the_csv_is_streamed_not_built_whole(owner_app, ledger):
    cookies = "; ".join(f"{name}={value}" for name, value in owner_app.cookies.items())
    request = webob.Request.blank("/admin/purchases.csv", headers={"Cookie": cookies, "Host": "localhost"})
    status, headers, body = request.call_application(owner_app.app)
    assert status == "200 OK" and "Content-Length" not in dict(headers)
    assert isinstance(body, types.GeneratorType)  # the rows are written as they are sent
    try:
        assert next(body).startswith(b"id,reference,created_at")
    finally:
        body.close()


def test_the_csv_has_every_row_refunds_and_no_formulas(owner_app, dbsession, ledger):
    album = ledger["blue"]
    for n in range(1203):  # more than a few batches
        make_purchase(dbsession, album, email=f"x{n}@example.com", commit=False)
    dbsession.commit()
    rows = list(csv.DictReader(io.StringIO(owner_app.get("/admin/purchases.csv").text)))
    assert len(rows) == 1208 and len({r["id"] for r in rows}) == 1208
    refunded = next(r for r in rows if r["status"] == "refunded")
    assert (refunded["amount"], refunded["refunded"], refunded["net"]) == ("9.99", "9.99", "0.00")
    assert any(r["email"] == "'=HYPERLINK(evil)@example.org" for r in rows)


def test_the_detail_page_links_the_charge_to_stripes_dashboard(owner_app, ledger):
    purchase = ledger["purchases"][0]
    page = owner_app.get(f"/admin/purchases/{purchase.id}")
    link = page.html.find("a", class_="stripe-charge")
    assert link.text == purchase.stripe_charge_id
    assert link["href"] == f"https://dashboard.stripe.com/test/payments/{purchase.stripe_charge_id}"
    assert "noopener" in link["rel"]
    assert page.html.find("a", string="Refund…")
    failed = owner_app.get(f"/admin/purchases/{ledger['purchases'][3].id}")
    assert not failed.html.find("a", class_="stripe-charge") and not failed.html.find("a", string="Refund…")


# --- refunds, end to end through Stripe (the stand-in, or Stripe's test mode) -----------------
@pytest.fixture
def bought(testapp, dbsession, files_dir):
    """A purchase paid through Stripe by a shopper, with the receipt's download link."""
    album = make_album(dbsession, slug="refundable", title="Refundable", price_cents=1250)
    give_album_file(dbsession, album, files_dir)
    receipt = testapp.buy("refundable", email="shopper@example.com", status=303).follow()
    link = receipt.html.find("a", string=lambda s: s and s.startswith("Download"))["href"].replace(
        "http://localhost", ""
    )
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase)).one(), link


def current(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase)).one()


def refunds_at_stripe(stripe_client, charge_id):
    return stripe_client.v1.refunds.list(params={"charge": charge_id}).data


@pytest.fixture
def bought_in_either_flow(shop, dbsession, files_dir):
    """A purchase paid by a shopper in the test's payment flow (a charge, or a PaymentIntent)."""
    album = make_album(dbsession, slug="refundable", title="Refundable", price_cents=1250)
    give_album_file(dbsession, album, files_dir)
    payment = shop.pay("refundable", email="shopper@example.com")
    assert payment.paid, payment.message
    receipt = shop.get(payment.receipt_url)
    link = receipt.html.find("a", string=lambda s: s and s.startswith("Download"))["href"].replace(
        "http://localhost", ""
    )
    return current(dbsession), link


@pytest.mark.stripe
def test_a_refund_asks_first_then_refunds_through_stripe_once_and_ends_the_download(
    owner_app, shop, flow, dbsession, stripe_client, bought_in_either_flow, owner
):
    purchase, download = bought_in_either_flow
    assert bool(purchase.stripe_payment_intent_id) == (
        flow != "checkout_js"
    )  # a hosted page's payment is a PaymentIntent too
    testapp = shop
    testapp.get(download, status=200)
    detail = owner_app.get(f"/admin/purchases/{purchase.id}")
    confirm = owner_app.get(detail.html.find("a", string="Refund…")["href"])
    assert "$12.50 goes back to shopper@example.com" in confirm.text
    # A POST without the confirmation only shows the question again.
    owner_app.post(
        f"/admin/purchases/{purchase.id}/refund", {"csrf_token": owner_app.form_csrf_token("/admin")}, status=303
    )
    assert current(dbsession).status == "paid" and refunds_at_stripe(stripe_client, purchase.stripe_charge_id) == []

    response = confirm.forms["refund-form"].submit(status=303)
    assert response.location == f"http://localhost/admin/purchases/{purchase.id}"
    assert "Refunded in full" in response.follow().text
    refunded = current(dbsession)
    assert (refunded.status, refunded.amount_refunded_cents) == ("refunded", 1250) and refunded.refunded_at
    [refund] = refunds_at_stripe(stripe_client, purchase.stripe_charge_id)
    assert refund.amount == 1250
    assert stripe_client.v1.charges.retrieve(purchase.stripe_charge_id).amount_refunded == 1250
    testapp.get(download, status=410)
    [event] = dbsession.scalars(select(AuditEvent)).all()
    assert (event.action, event.user_id, event.purchase_id) == ("refund", owner.id, purchase.id)
    assert "Refunded $12.50" in event.summary
    assert "Refunded $12.50" in owner_app.get(f"/admin/purchases/{purchase.id}").text

    # The confirmation page posted again (a double click, the back button): no second refund.
    confirm.forms["refund-form"].submit(status=303)
    assert len(refunds_at_stripe(stripe_client, purchase.stripe_charge_id)) == 1
    # The refund was made under the purchase's own key: any retry of it (a lost answer) is Stripe's
    # replay of this very refund, never a second request.
    replayed = stripe_client.v1.refunds.create(
        params={"charge": purchase.stripe_charge_id},
        options={"idempotency_key": f"purchase:{purchase.reference}:refund"},
    )
    assert replayed.id == refund.id
    assert dbsession.scalar(select(func.count()).select_from(AuditEvent)) == 1


@pytest.mark.stripe
def test_stripes_charge_refunded_event_afterwards_changes_nothing_more(
    owner_app, testapp, dbsession, bought, app_settings
):
    purchase, _ = bought
    owner_app.post(
        f"/admin/purchases/{purchase.id}/refund",
        {"confirm": "refund", "csrf_token": owner_app.form_csrf_token("/admin")},
        status=303,
    )
    before = current(dbsession)
    snapshot = (before.status, before.amount_refunded_cents, before.refunded_at)
    payload = {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": "charge.refunded",
        "created": int(time.time()),
        "data": {"object": {"id": purchase.stripe_charge_id, "object": "charge"}},
    }
    body = json.dumps(payload).encode()
    reply = testapp.post(
        "/stripe/webhook",
        body,
        headers={
            "Stripe-Signature": stripe_signature(body, app_settings["stripe.webhook_secret"]),
            "Content-Type": "application/json",
        },
    )
    assert reply.json["outcome"] == "refunded"
    after = current(dbsession)
    assert (after.status, after.amount_refunded_cents, after.refunded_at) == snapshot
    assert dbsession.scalar(select(func.count()).select_from(AuditEvent)) == 1


def refund_requests(standin, purchase):
    """The refund requests Stripe received for the purchase's key, as the stand-in logs them."""
    from stripe_standin.process import idempotent_requests

    return [
        r
        for r in idempotent_requests(standin.url, "/v1/refunds")
        if r["idempotency_key"] == f"purchase:{purchase.reference}:refund"
    ]


@pytest.mark.stripe
def test_a_refund_whose_answer_was_lost_is_replayed_not_repeated(owner_app, dbsession, stripe_client, bought, standin):
    purchase, _ = bought
    # The first attempt reached Stripe but its answer never came back: Stripe has the refund, we don't.
    first = stripe_client.v1.refunds.create(
        params={"charge": purchase.stripe_charge_id}, options={"idempotency_key": purchase.refund_idempotency_key}
    )
    assert current(dbsession).status == "paid"
    owner_app.post(
        f"/admin/purchases/{purchase.id}/refund",
        {"confirm": "refund", "csrf_token": owner_app.form_csrf_token("/admin")},
        status=303,
    )
    assert current(dbsession).status == "refunded"
    assert len(refunds_at_stripe(stripe_client, purchase.stripe_charge_id)) == 1
    # The store's request carried the purchase's key, so Stripe replayed the first refund: the stand-in logs the key
    # each refund request came with (Stripe's own log is its dashboard, which a test cannot read).
    if standin is not None:
        assert [(r["replayed"], r["id"]) for r in refund_requests(standin, purchase)] == [
            (False, first.id),
            (True, first.id),
        ]


@standin_only
@pytest.mark.stripe
def test_a_refund_after_a_partial_one_whose_answer_was_lost_refunds_the_rest_once(
    make_app, owner, dbsession, stripe_client, bought, faults, standin
):
    """$2.50 refunded in Stripe's dashboard, then the owner's full refund: its answer is lost (a 503), the owner
    clicks again. The retry must be the same request with the same key, replayed: $12.50 back in all, never more."""
    purchase, _ = bought
    stripe_client.v1.refunds.create(
        params={"charge": purchase.stripe_charge_id, "amount": 250}
    )  # the dashboard: no key of ours
    store = make_app(**{"stripe.max_network_retries": "0"})
    store.login(owner.email)
    refund = {"confirm": "refund", "csrf_token": store.form_csrf_token("/admin")}
    faults.inject(count=1, status=500, when="after", path_prefix="/v1/refunds", method="POST")  # refunded, answer lost
    assert "trying again is safe" in store.post(f"/admin/purchases/{purchase.id}/refund", refund, status=503).text
    assert current(dbsession).status == "paid"
    store.post(f"/admin/purchases/{purchase.id}/refund", refund, status=303)
    refunded = current(dbsession)
    assert (refunded.status, refunded.amount_refunded_cents) == ("refunded", 1250)
    assert sorted(r.amount for r in refunds_at_stripe(stripe_client, purchase.stripe_charge_id)) == [250, 1000]
    assert stripe_client.v1.charges.retrieve(purchase.stripe_charge_id).amount_refunded == 1250
    [lost, retried] = refund_requests(standin, purchase)
    assert (lost["replayed"], retried["replayed"], retried["id"]) == (False, True, lost["id"]), (
        "the retry is Stripe's replay"
    )


@pytest.mark.stripe
def test_a_charge_refunded_in_stripes_dashboard_already_is_simply_recorded(owner_app, dbsession, stripe_client, bought):
    purchase, _ = bought
    stripe_client.v1.refunds.create(params={"charge": purchase.stripe_charge_id})  # another key: the dashboard
    owner_app.post(
        f"/admin/purchases/{purchase.id}/refund",
        {"confirm": "refund", "csrf_token": owner_app.form_csrf_token("/admin")},
        status=303,
    )
    assert current(dbsession).status == "refunded"
    assert len(refunds_at_stripe(stripe_client, purchase.stripe_charge_id)) == 1


def test_only_a_paid_purchase_can_be_refunded(owner_app, dbsession, ledger):
    for purchase in ledger["purchases"][3:]:  # failed, pending
        page = owner_app.post(
            f"/admin/purchases/{purchase.id}/refund",
            {"confirm": "refund", "csrf_token": owner_app.form_csrf_token("/admin")},
            status=409,
        )
        assert "Only a paid purchase can be refunded" in page.text
    dbsession.expire_all()
    assert [p.status for p in dbsession.scalars(select(Purchase).order_by(Purchase.id))] == [
        "paid",
        "refunded",
        "paid",
        "failed",
        "pending",
    ]


@pytest.mark.stripe
def test_stripe_unreachable_during_a_refund_changes_nothing_and_says_so(make_app, dbsession, owner, bought):
    purchase, _ = bought
    offline = make_app(**{"stripe.api_base": "http://127.0.0.1:9", "stripe.max_network_retries": "0"})
    offline.login(owner.email)
    page = offline.post(
        f"/admin/purchases/{purchase.id}/refund",
        {"confirm": "refund", "csrf_token": offline.form_csrf_token("/admin")},
        status=503,
    )
    assert "trying again is safe" in page.text
    assert current(dbsession).status == "paid"
    assert dbsession.scalar(select(func.count()).select_from(AuditEvent)) == 0


@standin_only
def test_a_refund_stripe_refuses_shows_stripes_reason_changes_nothing_and_is_logged(
    owner_app, dbsession, bought, faults, caplog
):
    purchase, _ = bought
    reason = "This charge is disputed and cannot be refunded."
    faults.inject(count=1, status=400, path_prefix="/v1/refunds", method="POST", message=reason)
    page = owner_app.post(
        f"/admin/purchases/{purchase.id}/refund",
        {"confirm": "refund", "csrf_token": owner_app.form_csrf_token("/admin")},
        status=409,
    )
    assert reason in page.text
    assert current(dbsession).status == "paid"
    assert dbsession.scalar(select(func.count()).select_from(AuditEvent)) == 0
    assert f"Stripe refused to refund {purchase.stripe_charge_id}: {reason}" in caplog.messages


@pytest.mark.stripe
def test_a_payment_intent_purchase_without_a_recorded_charge_is_refunded_through_its_payment_intent(
    owner_app, payment_intents_app, dbsession, stripe_client, files_dir, new_card_token
):
    make_album(dbsession, slug="intent", price_cents=700)
    payment = StoreTestApp(payment_intents_app, new_card_token).pay("intent", email="shopper@example.com")
    assert payment.paid, payment.message
    purchase = current(dbsession)
    charge_id, intent_id = purchase.stripe_charge_id, purchase.stripe_payment_intent_id
    dbsession.execute(update(Purchase).values(stripe_charge_id=None))  # only the PaymentIntent is known
    dbsession.commit()
    page = owner_app.get(f"/admin/purchases/{purchase.id}")
    assert page.html.find("a", class_="stripe-charge").text == intent_id
    page = owner_app.get(page.html.find("a", string="Refund…")["href"]).forms["refund-form"].submit(status=303)
    assert current(dbsession).status == "refunded"
    assert [refund.amount for refund in refunds_at_stripe(stripe_client, charge_id)] == [700]
