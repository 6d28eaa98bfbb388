"""The price the buyer saw travels with the payment: when it is no longer the album's price, nothing is
charged, nothing is recorded, and the buyer is shown the new price and can pay it (409). Without a
price, or with a malformed one, 400. Each test runs in both payment flows (``shop``)."""

import secrets

import pytest
from sqlalchemy import select

from album_store.models import Purchase
from tests.factories import make_album
from tests.paying import VISA, shown_price
from tests.stripe_reads import wait_for_search

pytestmark = pytest.mark.stripe


def purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


@pytest.fixture
def album(dbsession):
    # A slug of its own: the stand-in lives for the whole session, and its charges are searched by slug.
    return make_album(dbsession, slug=f"price-{secrets.token_hex(4)}", title="Blue Skies", price_cents=999)


def made_at_stripe(stripe_client, album):
    """Every charge and PaymentIntent Stripe has for the album (by the metadata the store sends). Only ever
    expected empty here, after a refusal: read once (``deadline=0``), since waiting for nothing to appear
    proves nothing against Stripe's lagging search either; the purchases table is the real check."""
    query = f"metadata['album_slug']:'{album.slug}'"
    return wait_for_search(stripe_client.v1.charges.search, query, deadline=0) + wait_for_search(
        stripe_client.v1.payment_intents.search, query, deadline=0
    )


def set_price(dbsession, album, cents):
    """The owner's change, made in the database (as another process or host would)."""
    album.price_cents = cents
    dbsession.commit()


def pay_from_the_409(shop, flow, refused):
    """What the buyer does next on the page the 409 left them on."""
    if flow == "checkout_js":
        # The re-rendered album page: its Buy button and form, as Checkout posts them.
        form = refused.html.find("form", class_="buy-form")
        fields = {field["name"]: field["value"] for field in form.find_all("input")}
        fields.update(stripeToken=shop.buyer.token(VISA), stripeTokenType="card", stripeEmail="buyer@example.com")
        return shop.post(form["action"], fields, status="*")
    if flow == "checkout_session":
        # The re-rendered album page's Buy form, then Stripe's hosted page at the new price.
        from urllib.parse import urlsplit

        from stripe_standin import process

        form = refused.html.find("form", id="hosted-checkout")
        fields = {field["name"]: field["value"] for field in form.find_all("input") if field.get("name") != "email"}
        fields.update(email="buyer@example.com", csrf_token=shop.csrf_token())
        to_stripe = shop.post(form["action"], fields, status=303)
        back = urlsplit(process.pay_checkout_session(to_stripe.location, card=VISA))
        return shop.get(f"{back.path}?{back.query}", status="*")
    # card-payment.js: the same page, now showing the answer's price, and the answer's attempt id.
    body = refused.json
    shown = {"shown_amount": body["amount"], "shown_currency": body["currency"]}
    started, csrf = shop.buyer.start(shown_slug(refused), attempt_id=body["attempt_id"], shown=shown)
    assert started.json["status"] == "confirm", started.json
    shop.buyer.confirm_at_stripe(started.json["client_secret"], VISA)
    return shop.buyer.confirm(started.json["confirm_url"], csrf)


def shown_slug(response):
    return response.request.path.split("/")[2]


def test_a_price_changed_since_the_page_opened_charges_nothing_then_the_new_price_is_paid(
    shop, flow, album, dbsession, stripe_client
):
    opened = shop.buyer.shown_price(album.slug)  # the buyer opens the page at $9.99 ...
    assert opened["shown_amount"] in (999, "999")
    set_price(dbsession, album, 1200)  # ... the owner raises the price ...
    payment = shop.pay(album.slug, shown=opened)  # ... and the buyer pays from that page.

    assert payment.status == 409, payment
    assert "The price of Blue Skies changed from $9.99 to $12.00" in payment.message
    assert "nothing was charged" in payment.message
    assert purchases(dbsession) == [] and made_at_stripe(stripe_client, album) == []
    refused = payment.response
    if flow in ("checkout_js", "checkout_session"):
        assert refused.content_type == "text/html" and "The Buy button below charges the new price" in payment.message
        assert shown_price(refused) == {"shown_amount": "1200", "shown_currency": "usd"}
        if flow == "checkout_js":
            assert refused.html.find("script", class_="stripe-button")["data-amount"] == "1200"
        assert "$12.00" in refused.html.find(class_="buy-box__price").get_text()
    else:
        body = refused.json
        assert (body["status"], body["amount"], body["currency"], body["price_label"]) == (
            "price_changed",
            1200,
            "usd",
            "$12.00",
        )
        assert body["attempt_id"].startswith("att_")

    paid = pay_from_the_409(shop, flow, refused)
    assert paid.status_int in (200, 303) and (flow != "payment_intents" or paid.json["status"] == "paid"), paid
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.amount_cents) == ("paid", 1200)
    assert stripe_client.v1.charges.retrieve(purchase.stripe_charge_id).amount == 1200


@pytest.mark.parametrize(
    "shown",
    [
        {},
        {"shown_amount": "999"},
        {"shown_currency": "usd"},
        {"shown_amount": "9.99", "shown_currency": "usd"},
        {"shown_amount": "-999", "shown_currency": "usd"},
        {"shown_amount": "0", "shown_currency": "usd"},
        {"shown_amount": "999", "shown_currency": "dollars"},
        {"shown_amount": "1" * 12, "shown_currency": "usd"},
    ],
    ids=["none", "no currency", "no amount", "decimal", "negative", "zero", "bad currency", "too long"],
)
def test_a_payment_without_a_well_formed_shown_price_is_a_400_and_records_nothing(
    shop, album, dbsession, stripe_client, shown
):
    payment = shop.pay(album.slug, shown=shown)
    assert payment.status == 400, payment
    assert "did not say which price it showed you" in payment.message and "nothing was charged" in payment.message
    assert purchases(dbsession) == [] and made_at_stripe(stripe_client, album) == []


@pytest.mark.parametrize(
    "shown",
    [
        {"shown_amount": "1", "shown_currency": "usd"},
        {"shown_amount": "999", "shown_currency": "eur"},
    ],
    ids=["lower amount", "other currency"],
)
def test_a_tampered_shown_price_is_a_409_and_is_never_charged(shop, album, dbsession, stripe_client, shown):
    payment = shop.pay(album.slug, shown=shown)
    assert payment.status == 409 and "to $9.99" in payment.message, payment
    assert purchases(dbsession) == [] and made_at_stripe(stripe_client, album) == []


def test_the_same_checkout_again_after_a_price_change_finds_its_purchase_instead_of_a_409(
    shop, flow, album, dbsession, stripe_client
):
    """A double click or a retry whose first request already made the purchase: that purchase passed
    the check, and telling the buyer "nothing was charged" could be false."""
    if flow == "checkout_js":
        token = shop.buyer.token(VISA)
        first = shop.buy(album.slug, token=token, status=303)
        set_price(dbsession, album, 1200)
        again = shop.buy(album.slug, token=token, shown={"shown_amount": "999", "shown_currency": "usd"}, status=303)
        assert again.location == first.location
    elif flow == "checkout_session":
        # Stripe's page was made at $9.99 and says so; Buy again from the stale album page is refused
        # (409, the new price), and Buy at the new price sends this browser back to that same page,
        # where it pays what the page shows.
        first = shop.buyer.press_buy(album.slug)
        set_price(dbsession, album, 1200)
        shop.buyer.press_buy(album.slug, shown={"shown_amount": "999", "shown_currency": "usd"}).mustcontain("$12.00")
        again = shop.buyer.press_buy(album.slug)
        assert again.status_int == 303 and again.location == first.location
    else:
        first, csrf = shop.buyer.start(album.slug)
        set_price(dbsession, album, 1200)
        again = shop.buyer.post_json(first.request.path, first.request.json, csrf)
        assert again.json.get("client_secret") == first.json["client_secret"], again.json
    [purchase] = purchases(dbsession)
    assert purchase.amount_cents == 999


@pytest.mark.parametrize(
    "attempt_id", [12345, ["att_x"], {"id": "att_x"}, True], ids=["number", "list", "object", "true"]
)
def test_an_attempt_id_that_is_not_text_is_an_out_of_date_form_even_at_a_stale_price(
    payment_intents_app, album, dbsession, new_card_token, attempt_id
):
    """The JSON start may carry any JSON value as its attempt id: it is refused (400, reload) before
    the price is compared or the database asked "already started?" (where a number against the text
    column is an error on PostgreSQL), whatever price the page showed; nothing is recorded."""
    from tests.conftest import StoreTestApp

    store = StoreTestApp(payment_intents_app, new_card_token)
    answer, _ = store.buyer.start(album.slug, attempt_id=attempt_id, shown={"shown_amount": 1, "shown_currency": "usd"})
    assert (answer.status_int, answer.json["status"]) == (400, "invalid") and "reload the page" in answer.json["error"]
    assert purchases(dbsession) == []
