"""The owner's uploads: a cover (checked to be a real image, resized, cached for good) and the album's
download file (a ZIP, size-limited, streamed to disk)."""

import io
import os

import pytest
import webtest
from PIL import Image
from sqlalchemy import func, select

from album_store.models import Album, AuditEvent
from tests.conftest import StoreTestApp
from tests.factories import image_bytes, make_album, zip_bytes

from .conftest import edit_form


def upload_cover(browser, album_id, data, filename="cover.png", content_type="image/png", status=303):
    form = edit_form(browser, album_id, "cover-form")
    form["cover"] = webtest.Upload(filename, data, content_type)
    return form.submit(status=status)


def upload_file(browser, album_id, data, filename="album.zip", status=303):
    form = edit_form(browser, album_id, "file-form")
    form["file"] = webtest.Upload(filename, data, "application/zip")
    return form.submit(status=status)


@pytest.fixture(scope="module")
def limited(app_settings, db_engine):
    """The store with small upload limits: 60,000 bytes for a cover, 300 KiB for a download file."""
    from album_store import main

    return main({}, **{**app_settings, "store.max_cover_bytes": "60000", "store.max_file_bytes": str(300 * 1024)})


@pytest.fixture
def limited_owner(limited, owner, dbsession):
    browser = StoreTestApp(limited)
    browser.login(owner.email)
    return browser


def files_in(folder):
    return set(folder.iterdir()) if folder.exists() else set()


def stored(dbsession, album_id):
    dbsession.expire_all()
    return dbsession.get(Album, album_id)


@pytest.mark.parametrize("fmt, mode", [("JPEG", "RGB"), ("PNG", "RGBA"), ("WEBP", "RGB")])
def test_a_cover_is_resized_to_each_size_and_served_with_long_caching(owner_app, testapp, dbsession, fmt, mode):
    album = make_album(dbsession, slug="covered")
    upload_cover(
        owner_app,
        album.id,
        image_bytes(fmt, (900, 700), mode=mode, color=(10, 120, 200) + ((128,) if mode == "RGBA" else ())),
        filename=f"art.{fmt.lower()}",
        content_type="application/octet-stream",
    )
    key = stored(dbsession, album.id).cover_key
    assert key and key.startswith(f"{album.id}-")
    for size in (600, 300, 160):
        response = testapp.get(f"/covers/{key}/{size}.jpg")
        assert response.content_type == "image/jpeg"
        assert (
            "immutable" in response.headers["Cache-Control"] and "max-age=31536000" in response.headers["Cache-Control"]
        )
        with Image.open(io.BytesIO(response.body)) as image:
            assert (image.format, image.size, image.mode) == ("JPEG", (size, size), "RGB")
    testapp.get(f"/covers/{key}/500.jpg", status=404)
    testapp.get("/covers/../etc/600.jpg", status=404)
    # The shop's pages show it; the drawn SVG is gone from them.
    assert testapp.get("/albums/covered").html.find("img", class_="album__cover")["src"] == f"/covers/{key}/600.jpg"
    assert testapp.get("/albums").html.select_one(".album-card img")["src"] == f"/covers/{key}/300.jpg"
    checkout = testapp.get("/albums/covered").html.find("script", class_="stripe-button")
    assert checkout["data-image"] == f"http://localhost/covers/{key}/160.jpg"


def test_an_album_without_an_uploaded_cover_keeps_the_drawn_one(testapp, dbsession):
    make_album(dbsession, slug="plain")
    assert testapp.get("/albums/plain").html.find("img", class_="album__cover")["src"] == "/albums/plain/cover.svg"


def test_a_new_cover_replaces_the_old_files_and_removing_it_goes_back_to_the_drawn_one(
    owner_app, testapp, dbsession, files_dir
):
    album = make_album(dbsession, slug="recovered")
    upload_cover(owner_app, album.id, image_bytes("PNG", (400, 400)))
    first = stored(dbsession, album.id).cover_key
    upload_cover(owner_app, album.id, image_bytes("JPEG", (500, 500)), filename="b.jpg", content_type="image/jpeg")
    second = stored(dbsession, album.id).cover_key
    assert second != first
    testapp.get(f"/covers/{first}/600.jpg", status=404)
    assert not list((files_dir / "covers").glob(f"{first}-*"))
    edit_form(owner_app, album.id, "cover-remove-form").submit(status=303)
    assert stored(dbsession, album.id).cover_key is None
    testapp.get(f"/covers/{second}/600.jpg", status=404)
    actions = [e.summary for e in dbsession.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == [
        "Uploaded a new cover.",
        "Replaced the cover.",
        "Removed the uploaded cover (the drawn one is shown).",
    ]


def test_an_unpublished_albums_drawn_cover_is_for_the_owner_only(owner_app, testapp, dbsession):
    make_album(dbsession, slug="secret", is_published=False)
    testapp.get("/albums/secret/cover.svg", status=404)
    assert owner_app.get("/albums/secret/cover.svg").content_type == "image/svg+xml"


def _truncated_png():
    data = image_bytes("PNG", (600, 600), color=(1, 2, 3))
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    "data, filename, message",
    [
        (b"This is not an image at all, just text.", "cover.jpg", "not a JPEG, PNG or WebP image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "cover.svg", "not a JPEG, PNG or WebP image"),
        (image_bytes("GIF", (400, 400)), "cover.gif", "not a JPEG, PNG or WebP image"),
        (image_bytes("BMP", (400, 400)), "cover.png", "not a JPEG, PNG or WebP image"),
        (_truncated_png(), "cover.png", "not a JPEG, PNG or WebP image"),
        (image_bytes("PNG", (120, 400)), "cover.png", "a cover needs at least 300 × 300"),
    ],
)
def test_a_bad_image_is_refused_with_a_message_and_nothing_changes(
    owner_app, dbsession, files_dir, data, filename, message
):
    album = make_album(dbsession)
    before = files_in(files_dir / "covers")
    page = upload_cover(owner_app, album.id, data, filename=filename, status=400)
    assert message in page.html.find("input", attrs={"name": "cover"}).find_parent(class_="field").text
    assert stored(dbsession, album.id).cover_key is None
    assert files_in(files_dir / "covers") == before
    assert dbsession.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_an_image_with_too_many_pixels_is_refused_before_it_is_decoded(owner_app, dbsession):
    album = make_album(dbsession)
    # A tiny file that claims to be 10000 × 10000 pixels: a decompression bomb.
    page = upload_cover(owner_app, album.id, image_bytes("PNG", (10000, 10000), mode="1", color=0), status=400)
    assert "too many pixels" in page.text


def test_no_file_chosen_is_refused(owner_app, dbsession):
    album = make_album(dbsession)
    form = edit_form(owner_app, album.id, "cover-form")
    assert "Choose an image file" in form.submit(status=400).text


def test_a_cover_over_the_size_limit_is_refused(limited_owner, dbsession):
    album = make_album(dbsession)
    browser = limited_owner
    noisy = Image.merge("RGB", [Image.effect_noise((180, 180), 90)] * 3)
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    assert 60000 < len(buffer.getvalue()) < 60000 + 60000  # over the limit, with the request under the route's
    page = upload_cover(browser, album.id, buffer.getvalue(), status=400)
    assert "larger than 58 KB" in page.text
    assert stored(dbsession, album.id).cover_key is None


def test_a_request_far_over_the_upload_limit_is_refused_before_it_is_read(limited_owner, dbsession):
    album = make_album(dbsession)
    browser = limited_owner
    csrf = browser.form_csrf_token(f"/admin/albums/{album.id}/edit")
    page = browser.post(
        f"/admin/albums/{album.id}/cover",
        {"csrf_token": csrf},
        upload_files=[("cover", "big.png", b"x" * 200_000)],
        status=413,
    )
    assert "larger than the store accepts" in page.text
    # Elsewhere, the ordinary limit still holds.
    browser.post(f"/admin/albums/{album.id}/edit", {"csrf_token": csrf, "description": "x" * 300_000}, status=413)


def test_the_download_file_is_stored_and_replaced(owner_app, dbsession, files_dir):
    album = make_album(dbsession)
    upload_file(owner_app, album.id, zip_bytes({"01 First.wav": b"one"}), filename="First Take.zip")
    first = stored(dbsession, album.id).download_filename
    assert first.startswith("uploads/") and (files_dir / first).read_bytes() == zip_bytes({"01 First.wav": b"one"})
    page = upload_file(owner_app, album.id, zip_bytes({"01 Second.wav": b"two" * 1000})).follow()
    second = stored(dbsession, album.id).download_filename
    assert second != first and not (files_dir / first).exists() and (files_dir / second).is_file()
    assert "Buyers download a ZIP" in page.text
    assert "Uploaded the download file (First Take.zip)." in [e.summary for e in dbsession.scalars(select(AuditEvent))]
    assert not list((files_dir / "uploads").glob("*.partial"))


def test_a_download_that_is_not_a_zip_is_refused(owner_app, dbsession, files_dir):
    album = make_album(dbsession)
    before = files_in(files_dir / "uploads")
    page = upload_file(owner_app, album.id, b"MZ not a zip at all", filename="album.zip", status=400)
    assert "must be a ZIP archive" in page.text
    assert stored(dbsession, album.id).download_filename is None
    assert files_in(files_dir / "uploads") == before


def test_a_download_over_the_size_limit_is_refused_while_it_is_copied(limited_owner, dbsession, files_dir):
    album = make_album(dbsession)
    browser = limited_owner
    before = files_in(files_dir / "uploads")
    big = zip_bytes({"noise.bin": os.urandom(330 * 1024)})
    page = upload_file(browser, album.id, big, status=400)
    assert "larger than 300 KB" in page.text
    assert stored(dbsession, album.id).download_filename is None
    assert files_in(files_dir / "uploads") == before
