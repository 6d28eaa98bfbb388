"""The owner's side of pay what you want: setting it on an album, and seeing what buyers chose on the
dashboard and in the CSV."""

import csv
import io

import pytest
from sqlalchemy import select

from album_store.models import Album, AuditEvent
from tests.factories import make_album, make_purchase


def new_album(owner_app, status=303, **fields):
    form = owner_app.get("/admin/albums/new").forms["album-form"]
    values = {
        "title": "Tide Tables",
        "artist": "Hollow Pines",
        "year": "2024",
        "price": "10.00",
        "currency": "usd",
        "pricing": "choose",
        "minimum": "5",
        **fields,
    }
    for name, value in values.items():
        form[name] = value
    return form.submit(status=status)


def free_download(dbsession, album):
    """A confirmed free download, as settlement leaves it: paid, amount 0, nothing at Stripe."""
    purchase = make_purchase(dbsession, album, amount_cents=0)
    purchase.stripe_charge_id = None
    dbsession.commit()
    return purchase


def the_album(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Album)).one_or_none()


def test_the_owner_makes_an_album_name_your_price_with_a_minimum_and_a_suggestion(owner_app, dbsession):
    page = new_album(owner_app).follow()
    album = the_album(dbsession)
    assert (album.price_cents, album.minimum_cents, album.name_your_price) == (1000, 500, True)
    form = page.forms["album-form"]
    assert (form["pricing"].value, form["minimum"].value, form["price"].value) == ("choose", "5.00", "10.00")
    [event] = dbsession.scalars(select(AuditEvent)).all()
    assert "name your price (at least $5.00, suggested $10.00)" in event.summary


def test_free_or_more_and_back_to_a_fixed_price(owner_app, dbsession):
    new_album(owner_app, minimum="0")
    album = the_album(dbsession)
    assert album.minimum_cents == 0
    form = owner_app.get(f"/admin/albums/{album.id}/edit").forms["album-form"]
    form["pricing"] = "fixed"
    form["price"] = "9.99"
    form.submit(status=303)
    album = the_album(dbsession)
    assert (album.price_cents, album.minimum_cents) == (999, None)


@pytest.mark.parametrize(
    "minimum, price, message",
    [
        ("12", "10.00", "The minimum cannot be more than the suggested amount."),
        ("0.30", "10.00", "Stripe's smallest charge in USD is $0.50. Set the minimum to at least that, or to 0"),
        ("-1", "10.00", "Enter the minimum as a plain number"),
        ("", "10.00", "Enter a minimum"),
        ("0", "0", "The price must be more than zero."),
    ],
)
def test_a_setting_buyers_could_not_pay_is_refused_with_a_message(owner_app, dbsession, minimum, price, message):
    page = new_album(owner_app, minimum=minimum, price=price, status=400)
    errors = " ".join(p.text for p in page.html.select(".field__error"))
    assert message in errors, errors
    assert the_album(dbsession) is None


def test_the_dashboard_and_the_csv_show_what_buyers_chose(owner_app, dbsession):
    album = make_album(dbsession, title="Copper & Salt", price_cents=1000, minimum_cents=500)
    for cents in (500, 700, 1500):  # 2 of 3 paid more; on average $9.00, $4.00 over the minimum
        make_purchase(dbsession, album, amount_cents=cents)
    make_purchase(dbsession, album, amount_cents=2000, status="failed")  # not a sale: not counted
    free = make_album(dbsession, title="Evergreen", price_cents=300, minimum_cents=0)
    free_download(dbsession, free)
    make_purchase(dbsession, free, amount_cents=300)
    fixed = make_album(dbsession, title="Blue Skies", price_cents=999)
    make_purchase(dbsession, fixed)

    table = owner_app.get("/admin").html.find(id="buyers-choices")
    rows = [[cell.get_text(" ", strip=True) for cell in row.find_all("td")] for row in table.tbody.find_all("tr")]
    assert rows == [
        ["Copper & Salt", "3", "0", "2 (67 %)", "$9.00", "$4.00"],
        ["Evergreen", "2", "1", "1 (50 %)", "$1.50", "$1.50"],
    ]

    lines = list(csv.DictReader(io.StringIO(owner_app.get("/admin/purchases.csv").text)))
    chosen = sorted(
        (row["album_title"], row["status"], row["amount"], row["minimum"], row["over_minimum"]) for row in lines
    )
    assert chosen == [
        ("Blue Skies", "paid", "9.99", "", ""),
        ("Copper & Salt", "failed", "20.00", "5.00", "15.00"),
        ("Copper & Salt", "paid", "15.00", "5.00", "10.00"),
        ("Copper & Salt", "paid", "5.00", "5.00", "0.00"),
        ("Copper & Salt", "paid", "7.00", "5.00", "2.00"),
        ("Evergreen", "paid", "0.00", "0.00", "0.00"),
        ("Evergreen", "paid", "3.00", "0.00", "3.00"),
    ]


def test_a_free_download_cannot_be_refunded(owner_app, dbsession):
    free = make_album(dbsession, title="Evergreen", price_cents=300, minimum_cents=0)
    purchase = free_download(dbsession, free)
    page = owner_app.get(f"/admin/purchases/{purchase.id}")
    assert page.html.find("a", string="Refund…") is None
