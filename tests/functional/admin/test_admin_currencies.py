"""The owner's prices against Stripe's rules: its minimum charge per currency; refunds in ISK."""

import pytest
from sqlalchemy import func, select

from album_store.models import Album, Purchase
from tests.factories import make_album

from .conftest import edit_form


def new_album(owner_app, status=303, **fields):
    form = owner_app.get("/admin/albums/new").forms["album-form"]
    values = {
        "title": "Tide Tables",
        "artist": "Hollow Pines",
        "year": "2024",
        "price": "12.34",
        "currency": "usd",
        **fields,
    }
    for name, value in values.items():
        form[name] = value
    return form.submit(status=status)


def albums(dbsession):
    dbsession.expire_all()
    return dbsession.scalar(select(func.count()).select_from(Album))


def price_error(page):
    return page.html.find("input", attrs={"name": "price"}).find_parent(class_="field").find(class_="field__error").text


@pytest.mark.parametrize(
    "currency, price, message",
    [
        ("usd", "0.49", "Stripe's smallest charge in USD is $0.50."),
        ("eur", "0.01", "Stripe's smallest charge in EUR is €0.50."),
        ("gbp", "0.29", "Stripe's smallest charge in GBP is £0.30."),
        ("jpy", "49", "Stripe's smallest charge in JPY is ¥50."),
        ("sek", "2.99", "Stripe's smallest charge in SEK is SEK3.00."),
    ],
)
def test_a_price_under_stripes_minimum_is_refused_and_nothing_is_saved(owner_app, dbsession, currency, price, message):
    page = new_album(owner_app, price=price, currency=currency, status=400)
    assert message in price_error(page)
    assert albums(dbsession) == 0


def test_the_minimum_itself_is_a_price(owner_app, dbsession):
    new_album(owner_app, price="0.50", currency="usd")
    new_album(owner_app, title="Other", price="50", currency="jpy")
    assert albums(dbsession) == 2


def test_editing_a_price_to_under_the_minimum_changes_nothing(owner_app, dbsession):
    album = make_album(dbsession, price_cents=1299)
    form = edit_form(owner_app, album.id, "album-form")
    form["price"] = "0.10"
    page = form.submit(status=400)
    assert "Stripe's smallest charge in USD is $0.50." in price_error(page)
    dbsession.expire_all()
    assert dbsession.get(Album, album.id).price_cents == 1299


def test_a_store_currency_with_no_published_minimum_is_refused_not_passed(make_app, owner, dbsession):
    # ISK is chargeable (Stripe's unit is known) but Stripe publishes no minimum for it.
    owner_app = make_app(**{"store.currency": "isk"})
    owner_app.login("owner@example.com")
    page = new_album(owner_app, price="1500", currency="isk", status=400)
    assert "Stripe publishes no minimum charge for ISK" in price_error(page)
    assert albums(dbsession) == 0


@pytest.mark.stripe
def test_an_isk_purchase_is_refunded_in_full_in_the_stores_unit(owner_app, shop, flow, dbsession, stripe_client):
    make_album(dbsession, slug="isk-refund", price_cents=1500, currency="isk")
    payment = shop.pay("isk-refund")
    assert payment.paid, payment
    dbsession.expire_all()
    purchase = dbsession.scalars(select(Purchase)).one()
    owner_app.post(
        f"/admin/purchases/{purchase.id}/refund",
        {"confirm": "refund", "csrf_token": owner_app.form_csrf_token("/admin")},
        status=303,
    )
    dbsession.expire_all()
    refunded = dbsession.get(Purchase, purchase.id)
    assert (refunded.status, refunded.amount_refunded_cents) == ("refunded", 1500)
    assert stripe_client.v1.charges.retrieve(purchase.stripe_charge_id).amount_refunded == 150_000
