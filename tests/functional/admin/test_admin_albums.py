"""The owner's albums: list and search, create, edit (with the history), publish, archive, delete, tracks."""

import pytest
from sqlalchemy import func, select

from album_store.models import Album, AuditEvent, Track
from tests.conftest import StoreTestApp
from tests.factories import give_album_file, make_album, make_purchase

from .conftest import edit_form


def album_named(dbsession, title):
    dbsession.expire_all()
    return dbsession.scalars(select(Album).where(Album.title == title)).one_or_none()


def new_album(owner_app, status=303, **fields):
    form = owner_app.get("/admin/albums/new").forms["album-form"]
    values = {
        "title": "Tide Tables",
        "artist": "Hollow Pines",
        "year": "2024",
        "price": "12.34",
        "currency": "usd",
        "description": "Sea songs.",
        **fields,
    }
    for name, value in values.items():
        form[name] = value
    return form.submit(status=status)


def history(page):
    return [li.find(class_="history__what").text for li in page.html.select("#history li")]


# --- creating --------------------------------------------------------------------------------
def test_a_new_album_is_stored_in_cents_with_a_slug_from_its_title_and_unpublished(owner_app, dbsession, owner):
    response = new_album(owner_app, title="Tide Tables (Live!)", price="12.34")
    album = album_named(dbsession, "Tide Tables (Live!)")
    assert response.location == f"http://localhost/admin/albums/{album.id}/edit"
    assert (album.price_cents, album.currency, album.slug, album.year) == (1234, "usd", "tide-tables-live", 2024)
    assert not album.is_published and album.archived_at is None
    page = response.follow()
    assert "is created, unpublished" in page.text
    assert page.forms["album-form"]["price"].value == "12.34"
    [event] = dbsession.scalars(select(AuditEvent)).all()
    assert (event.user_id, event.actor_email, event.action, event.album_id) == (
        owner.id,
        "owner@example.com",
        "create",
        album.id,
    )
    assert "Tide Tables (Live!)" in history(page)[0] and "$12.34" in history(page)[0]


@pytest.mark.parametrize(
    "price, message",
    [
        ("12.345", "Use at most 2 decimals"),
        ("0", "more than zero"),
        ("-5", "plain number"),
        ("abc", "plain number"),
        ("1,99", "plain number"),
        ("", "Enter a price"),
    ],
)
def test_a_bad_price_is_refused_with_a_message_and_nothing_is_created(owner_app, dbsession, price, message):
    page = new_album(owner_app, price=price, status=400)
    field = page.html.find("input", attrs={"name": "price"}).find_parent(class_="field")
    assert message in field.find(class_="field__error").text
    assert dbsession.scalar(select(func.count()).select_from(Album)) == 0


def test_a_zero_decimal_currency_takes_whole_amounts(owner_app, dbsession):
    new_album(owner_app, price="1200", currency="jpy")
    assert album_named(dbsession, "Tide Tables").price_cents == 1200
    page = new_album(owner_app, title="Other", price="12.50", currency="jpy", status=400)
    assert "JPY has no cents" in page.text


def test_slugs_are_unique_numbered_when_made_and_refused_when_typed(owner_app, dbsession):
    make_album(dbsession, slug="tide-tables", title="Tide Tables")
    new_album(owner_app, title="Tide Tables", artist="Someone Else")
    dbsession.expire_all()
    assert set(dbsession.scalars(select(Album.slug))) == {"tide-tables", "tide-tables-2"}
    page = new_album(owner_app, title="Third", slug="tide-tables", status=409)
    assert "Another album already has this address" in page.text
    page = new_album(owner_app, title="Fourth", slug="Not A Slug!", status=400)
    assert "lower-case letters" in page.text
    assert dbsession.scalar(select(func.count()).select_from(Album)) == 2


def test_required_fields_and_lengths_are_checked(owner_app, dbsession):
    page = new_album(owner_app, title="", artist="", year="1492", status=400)
    assert (
        "Enter the album's title." in page.text
        and "Enter the artist." in page.text
        and "from 1900 to 2100" in page.text
    )
    assert dbsession.scalar(select(func.count()).select_from(Album)) == 0


# --- editing, with the history ---------------------------------------------------------------
def test_editing_records_who_changed_what_and_shows_it_on_the_edit_page(owner_app, dbsession):
    album = make_album(dbsession, title="Old Title", slug="old-title", price_cents=1299)
    form = edit_form(owner_app, album.id, "album-form")
    assert form["price"].value == "12.99" and form["slug"].value == "old-title"
    form["title"] = "New Title"
    form["price"] = "9.99"
    form["slug"] = "new-title"
    page = form.submit(status=303).follow()
    dbsession.expire_all()
    album = dbsession.get(Album, album.id)
    assert (album.title, album.price_cents, album.slug) == ("New Title", 999, "new-title")
    [change] = history(page)
    assert (
        "title: Old Title → New Title" in change
        and "price: $12.99 → $9.99" in change
        and "slug: old-title → new-title" in change
    )
    assert page.html.select_one("#history .history__who").text == "owner@example.com"


def test_saving_without_changes_records_nothing(owner_app, dbsession):
    album = make_album(dbsession)
    edit_form(owner_app, album.id, "album-form").submit(status=303)
    assert dbsession.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_a_bad_price_on_the_edit_page_changes_nothing(owner_app, dbsession):
    album = make_album(dbsession, price_cents=1299)
    form = edit_form(owner_app, album.id, "album-form")
    form["price"] = "9.999"
    form["title"] = "Changed"
    page = form.submit(status=400)
    assert "Use at most 2 decimals" in page.text
    dbsession.expire_all()
    assert (dbsession.get(Album, album.id).price_cents, dbsession.get(Album, album.id).title) == (1299, album.title)


def test_taking_another_albums_slug_on_edit_is_refused_and_changes_nothing(owner_app, dbsession):
    make_album(dbsession, slug="taken")
    album = make_album(dbsession, slug="mine", title="Mine")
    form = edit_form(owner_app, album.id, "album-form")
    form["slug"] = "taken"
    form["title"] = "Changed"
    assert "Another album already has this address" in form.submit(status=409).text
    dbsession.expire_all()
    assert (dbsession.get(Album, album.id).slug, dbsession.get(Album, album.id).title) == ("mine", "Mine")


# --- the list --------------------------------------------------------------------------------
def test_the_list_searches_and_filters_by_status(owner_app, dbsession):
    make_album(dbsession, title="Blue Skies", artist="The Paper Lanterns", is_published=True)
    make_album(dbsession, title="Night Bus", artist="The Paper Lanterns", is_published=False)
    archived = make_album(dbsession, title="Old Blue", artist="Marta", is_published=False)
    owner_app.post(
        f"/admin/albums/{archived.id}/archive",
        {"action": "archive", "csrf_token": owner_app.form_csrf_token("/admin/albums")},
    )

    def titles(query=""):
        return [a.text for a in owner_app.get("/admin/albums" + query).html.select("#albums td.album-cell a")]

    assert sorted(titles()) == ["Blue Skies", "Night Bus"]  # archived albums are hidden by default
    assert titles("?status=archived") == ["Old Blue"]
    assert titles("?status=published") == ["Blue Skies"]
    assert titles("?status=draft") == ["Night Bus"]
    assert sorted(titles("?status=all")) == ["Blue Skies", "Night Bus", "Old Blue"]
    assert sorted(titles("?q=blue&status=all")) == ["Blue Skies", "Old Blue"]
    assert sorted(titles("?q=LANTERNS")) == ["Blue Skies", "Night Bus"]
    assert titles("?q=%25") == []  # a LIKE wildcard is searched for literally
    owner_app.get("/admin/albums?status=bogus", status=400)
    owner_app.get("/admin/albums?q=a%00b", status=400)  # PostgreSQL refuses a NUL in text


def test_the_list_shows_sales_and_net_revenue_per_album(owner_app, dbsession):
    album = make_album(dbsession, title="Seller", price_cents=1000)
    make_purchase(dbsession, album)
    make_purchase(dbsession, album, refunded_cents=250)
    make_purchase(dbsession, album, status="refunded", refunded_cents=1000)
    make_purchase(dbsession, album, status="failed")
    row = owner_app.get("/admin/albums").html.select_one("#albums tbody tr")
    cells = [td.text.strip() for td in row.find_all("td")]
    assert cells[3:] == ["2", "$17.50"]


def test_the_list_is_paginated(owner_app, dbsession):
    for n in range(51):
        make_album(dbsession, title=f"Album {n:02d}", commit=False, tracks=0)
    dbsession.commit()
    first = owner_app.get("/admin/albums")
    assert len(first.html.select("#albums tbody tr")) == 50 and "Page 1 of 2" in first.text
    second = owner_app.get(first.html.find("a", rel="next")["href"])
    assert len(second.html.select("#albums tbody tr")) == 1
    owner_app.get("/admin/albums?page=3", status=404)
    owner_app.get("/admin/albums?page=0", status=400)


# --- publishing, archiving, deleting ---------------------------------------------------------
def test_publishing_needs_a_download_file_then_puts_the_album_on_sale(owner_app, testapp, dbsession, files_dir):
    album = make_album(dbsession, slug="fresh", is_published=False)
    testapp.get("/albums/fresh", status=404)
    page = edit_form(owner_app, album.id, "publish-form").submit(status=409)
    assert "Upload the album's download file first" in page.text
    give_album_file(dbsession, album, files_dir)
    page = edit_form(owner_app, album.id, "publish-form").submit(status=303).follow()
    assert "is on sale" in page.text and "Published" in history(page)[0]
    testapp.get("/albums/fresh", status=200)
    edit_form(owner_app, album.id, "unpublish-form").submit(status=303)
    testapp.get("/albums/fresh", status=404)
    assert [e.action for e in dbsession.scalars(select(AuditEvent).order_by(AuditEvent.id))] == ["publish", "unpublish"]


def test_archiving_unpublishes_and_restoring_brings_it_back_unpublished(owner_app, testapp, dbsession):
    album = make_album(dbsession, slug="shelved", is_published=True)
    page = edit_form(owner_app, album.id, "archive-form").submit(status=303).follow()
    assert "archived" in page.text
    dbsession.expire_all()
    stored = dbsession.get(Album, album.id)
    assert stored.archived_at is not None and not stored.is_published
    testapp.get("/albums/shelved", status=404)
    assert (
        "restore it first"
        in owner_app.post(
            f"/admin/albums/{album.id}/publish",
            {"publish": "1", "csrf_token": owner_app.form_csrf_token("/admin")},
            status=409,
        ).text
    )
    edit_form(owner_app, album.id, "restore-form").submit(status=303)
    dbsession.expire_all()
    assert dbsession.get(Album, album.id).archived_at is None and not dbsession.get(Album, album.id).is_published


def test_an_unsold_album_can_be_deleted_after_confirming(owner_app, dbsession):
    album = make_album(dbsession, title="Mistake", slug="mistake")
    album_id = album.id
    confirm = owner_app.get(f"/admin/albums/{album_id}/delete")
    assert "Nobody has bought it" in confirm.text
    # Posting without the confirmation only leads back to the question.
    owner_app.post(f"/admin/albums/{album_id}/delete", {"csrf_token": owner_app.form_csrf_token("/admin")}, status=303)
    assert album_named(dbsession, "Mistake") is not None
    page = confirm.forms["delete-form"].submit(status=303).follow()
    assert "is deleted" in page.text
    assert album_named(dbsession, "Mistake") is None
    assert dbsession.scalar(select(func.count()).select_from(Track)) == 0
    [event] = dbsession.scalars(select(AuditEvent)).all()
    assert event.action == "delete" and event.album_id is None
    assert f"Deleted album {album_id}, “Mistake”" in event.summary and "/albums/mistake" in event.summary


def test_a_sold_album_can_never_be_deleted_only_archived(owner_app, dbsession):
    album = make_album(dbsession, title="Seller")
    make_purchase(dbsession, album, status="failed")  # any purchase refers to it
    confirm = owner_app.get(f"/admin/albums/{album.id}/delete")
    assert "cannot be deleted" in confirm.text and not confirm.html.find(id="delete-form")
    page = owner_app.post(
        f"/admin/albums/{album.id}/delete",
        {"confirm": "delete", "csrf_token": owner_app.form_csrf_token("/admin")},
        status=409,
    )
    assert "1 purchase, so it cannot be deleted" in page.text
    dbsession.expire_all()
    assert dbsession.get(Album, album.id) is not None
    assert dbsession.scalar(select(func.count()).select_from(AuditEvent)) == 0
    assert not owner_app.get(f"/admin/albums/{album.id}/edit").html.find("a", string="Delete…")
    page.forms["archive-form"].submit(status=303)
    dbsession.expire_all()
    assert dbsession.get(Album, album.id).archived_at is not None


# --- tracks ----------------------------------------------------------------------------------
def track_list(dbsession, album_id):
    dbsession.expire_all()
    return [
        (t.position, t.title, t.duration_seconds)
        for t in dbsession.scalars(select(Track).where(Track.album_id == album_id).order_by(Track.position))
    ]


def test_tracks_are_added_edited_removed_and_renumbered_in_one_save(owner_app, dbsession):
    album = make_album(dbsession, tracks=3)  # Song 1..3, 181..183 s
    form = edit_form(owner_app, album.id, "tracks-form")
    form["tracks-0-title"] = "Opening"
    form["tracks-1-remove"] = True
    form["tracks-2-duration"] = "10:05"
    form["tracks-3-title"] = "Encore"
    form["tracks-3-duration"] = "1:02:03"
    page = form.submit(status=303).follow()
    assert track_list(dbsession, album.id) == [(1, "Opening", 181), (2, "Song 3", 605), (3, "Encore", 3723)]
    [event] = history(page)
    assert (
        "renamed “Song 1” to “Opening”" in event and "removed “Song 2”" in event and "added “Encore” (1:02:03)" in event
    )
    assert "3:03 → 10:05" in event


def test_tracks_are_reordered_by_their_numbers_or_the_arrows(owner_app, dbsession):
    album = make_album(dbsession, tracks=3)
    form = edit_form(owner_app, album.id, "tracks-form")
    form["tracks-0-position"] = "3"
    form["tracks-2-position"] = "1"
    page = form.submit(status=303).follow()
    assert [t[1] for t in track_list(dbsession, album.id)] == ["Song 3", "Song 2", "Song 1"]
    assert "new order: 1. Song 3, 2. Song 2, 3. Song 1" in history(page)[0]
    form = edit_form(owner_app, album.id, "tracks-form")
    form.submit("move", value="down-0", status=303)
    assert [t[1] for t in track_list(dbsession, album.id)] == ["Song 2", "Song 3", "Song 1"]
    edit_form(owner_app, album.id, "tracks-form").submit("move", value="up-2", status=303)
    assert [t[1] for t in track_list(dbsession, album.id)] == ["Song 2", "Song 1", "Song 3"]


@pytest.mark.parametrize("duration", ["3:60", "345", "3.45", "abc", "-1:00", ""])
def test_a_length_not_typed_as_m_ss_is_refused_and_nothing_changes(owner_app, dbsession, duration):
    album = make_album(dbsession, tracks=2)
    before = track_list(dbsession, album.id)
    form = edit_form(owner_app, album.id, "tracks-form")
    form["tracks-0-title"] = "Renamed"
    form["tracks-2-title"] = "New one"
    form["tracks-2-duration"] = duration
    page = form.submit(status=400)
    assert "Type the length as m:ss" in page.text
    assert track_list(dbsession, album.id) == before


def test_a_track_needs_a_title_unless_it_is_removed(owner_app, dbsession):
    album = make_album(dbsession, tracks=1)
    form = edit_form(owner_app, album.id, "tracks-form")
    form["tracks-0-title"] = ""
    assert "Enter the track's title" in form.submit(status=400).text
    form["tracks-0-remove"] = True
    form.submit(status=303)
    assert track_list(dbsession, album.id) == []


def test_an_owners_change_is_seen_at_once_through_the_page_cache(make_app, dbsession, owner):
    owner_browser = make_app(**{"store.page_cache_seconds": "60"})
    visitor = StoreTestApp(owner_browser.app)
    album = make_album(dbsession, slug="hot", title="Before", is_published=True)
    visitor.get("/albums/hot")
    assert visitor.get("/albums/hot").headers["X-Page-Cache"] == "hit"
    owner_browser.login(owner.email)
    form = edit_form(owner_browser, album.id, "album-form")
    form["title"] = "After"
    form.submit(status=303)
    assert "After" in visitor.get("/albums/hot").text
    edit_form(owner_browser, album.id, "unpublish-form").submit(status=303)
    visitor.get("/albums/hot", status=404)
