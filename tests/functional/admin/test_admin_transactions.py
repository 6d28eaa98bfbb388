"""An owner's form refused because another request changed the database a moment before: the page
answers 409 with the form (the session still usable after the savepoint's rollback), and nothing of
the refused change is committed (``flush_or_raise``, then ``must_not_commit``)."""

from sqlalchemy import func, select

from album_store.models import Album, AuditEvent
from album_store.services.catalog import CatalogAdmin
from tests.factories import make_album, make_purchase

from .conftest import edit_form


def test_a_slug_taken_between_the_check_and_the_save_is_a_409_and_changes_nothing(owner_app, dbsession, monkeypatch):
    make_album(dbsession, slug="taken")
    album = make_album(dbsession, slug="mine", title="Mine")
    form = edit_form(owner_app, album.id, "album-form")
    form["slug"] = "taken"
    form["title"] = "Changed"
    # The other request's album appears after the service looked: only the unique index can refuse.
    monkeypatch.setattr(CatalogAdmin, "_free_slug", lambda self, wanted, title, album_id: wanted)
    page = form.submit(status=409)
    assert "Another album already has this address" in page.text
    dbsession.expire_all()
    assert (dbsession.get(Album, album.id).slug, dbsession.get(Album, album.id).title) == ("mine", "Mine")
    assert dbsession.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_a_sale_arriving_while_the_album_is_deleted_refuses_the_delete_and_records_nothing(
    owner_app, dbsession, monkeypatch
):
    album = make_album(dbsession, title="Seller")
    make_purchase(dbsession, album, status="failed")
    # The delete page's check saw no sale: the foreign key is what refuses.
    counts = iter([0])
    monkeypatch.setattr(CatalogAdmin, "sales_count", lambda self, album: next(counts, 1))
    page = owner_app.post(
        f"/admin/albums/{album.id}/delete",
        {"confirm": "delete", "csrf_token": owner_app.form_csrf_token("/admin")},
        status=409,
    )
    assert "cannot be deleted" in page.text
    dbsession.expire_all()
    assert dbsession.get(Album, album.id) is not None
    assert dbsession.scalar(select(func.count()).select_from(AuditEvent)) == 0, "the delete's audit event went with it"
