"""Who may see the owner's pages: an owner; a buyer gets 403; an anonymous visitor is sent to sign in.
Every refusal changes nothing."""

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from album_store.models import Album, AuditEvent, Purchase
from tests.conftest import StoreTestApp
from tests.factories import make_album, make_purchase

GET_PAGES = [
    "/admin",
    "/admin/albums",
    "/admin/albums/new",
    "/admin/albums/{album}/edit",
    "/admin/albums/{album}/delete",
    "/admin/purchases",
    "/admin/purchases.csv",
    "/admin/purchases/{purchase}",
    "/admin/purchases/{purchase}/refund",
]
POST_ACTIONS = [
    ("/admin/albums/new", {"title": "Sneaky", "artist": "X", "price": "1.00", "currency": "usd"}),
    ("/admin/albums/{album}/edit", {"title": "Renamed", "artist": "X", "price": "0.01", "currency": "usd"}),
    ("/admin/albums/{album}/publish", {"publish": "0"}),
    ("/admin/albums/{album}/archive", {"action": "archive"}),
    ("/admin/albums/{album}/delete", {"confirm": "delete"}),
    ("/admin/albums/{album}/tracks", {"tracks-0-title": "Hijacked", "tracks-0-duration": "1:00"}),
    ("/admin/albums/{album}/cover", {"remove": "1"}),
    ("/admin/albums/{album}/file", {}),
    ("/admin/purchases/{purchase}/refund", {"confirm": "refund"}),
]


@pytest.fixture
def records(dbsession):
    album = make_album(dbsession, slug="kept", title="Kept", price_cents=1500)
    purchase = make_purchase(dbsession, album)
    return {"album": album.id, "purchase": purchase.id}


def snapshot(dbsession):
    dbsession.expire_all()
    albums = dbsession.execute(
        select(Album.id, Album.title, Album.price_cents, Album.is_published, Album.archived_at)
    ).all()
    purchases = dbsession.execute(select(Purchase.id, Purchase.status, Purchase.amount_refunded_cents)).all()
    return albums, purchases, dbsession.scalar(select(func.count()).select_from(AuditEvent))


def test_an_anonymous_visitor_is_sent_to_sign_in_and_comes_back(testapp, records):
    for page in GET_PAGES:
        path = page.format(**records)
        location = urlsplit(testapp.get(path, status=303).location)
        assert location.path == "/account/login", path
        assert parse_qs(location.query)["next"] == [path]


def test_a_signed_in_buyer_gets_403_on_every_page(buyer_app, records):
    for page in GET_PAGES:
        response = buyer_app.get(page.format(**records), status=403)
        assert "This page is for the store's owner." in response.text, page
        assert "Admin" not in response.html.find("nav", class_="site-nav").text


def test_the_owner_sees_every_page_with_the_admin_link(owner_app, records):
    for page in GET_PAGES:
        response = owner_app.get(page.format(**records), status=200)
        if not page.endswith(".csv"):
            assert response.html.find("nav", class_="admin-nav"), page
            assert "Admin" in response.html.find("nav", class_="site-nav").text


def test_anonymous_posts_are_refused_and_change_nothing(testapp, dbsession, records):
    before = snapshot(dbsession)
    csrf = testapp.form_csrf_token("/account/login")  # a genuine token: only the permission refuses
    for path, fields in POST_ACTIONS:
        response = testapp.post(path.format(**records), {**fields, "csrf_token": csrf}, status=303)
        assert urlsplit(response.location).path == "/account/login", path
        assert "next" not in parse_qs(urlsplit(response.location).query)  # a POST cannot be loaded again
    assert snapshot(dbsession) == before


def test_buyers_posts_are_refused_with_403_and_change_nothing(buyer_app, dbsession, records):
    before = snapshot(dbsession)
    csrf = buyer_app.form_csrf_token("/library")
    for path, fields in POST_ACTIONS:
        page = buyer_app.post(path.format(**records), {**fields, "csrf_token": csrf}, status=403)
        assert "This page is for the store's owner." in page.text, path  # the permission's 403, not the CSRF token's
    assert snapshot(dbsession) == before


def test_every_owner_form_needs_its_csrf_token(owner_app, dbsession, records):
    before = snapshot(dbsession)
    for path, fields in POST_ACTIONS:
        page = owner_app.post(path.format(**records), fields, status=403)
        assert "security token" in page.text, path
    assert snapshot(dbsession) == before


def test_signing_in_from_the_redirect_lands_on_the_admin_page(app, owner, records):
    browser = StoreTestApp(app)
    login = browser.get("/admin/purchases?status=paid", status=303).follow()
    [form] = [f for f in login.forms.values() if f.action == "/account/login"]
    assert form["next"].value == "/admin/purchases?status=paid"
    form["email"] = owner.email
    form["password"] = "velvet-harbour-42"
    response = form.submit(status=303)
    assert response.location == "http://localhost/admin/purchases?status=paid"
    assert response.follow().html.find("h1").text == "Purchases"


def test_a_next_address_on_another_site_is_never_followed(app, owner):
    browser = StoreTestApp(app)
    for evil in ("//evil.example/admin", "https://evil.example/", "/\\evil.example"):
        response = browser.login(owner.email, next=evil)
        assert urlsplit(response.location).netloc == "localhost"
        browser.logout()


def test_unknown_records_are_404_for_the_owner_only(owner_app, testapp, buyer_app, records):
    for path in ("/admin/albums/999999/edit", "/admin/purchases/999999", "/admin/albums/x/edit", "/admin/purchases/-1"):
        owner_app.get(path, status=404)
        assert urlsplit(testapp.get(path, status=303).location).path == "/account/login"
        buyer_app.get(path, status=403)
