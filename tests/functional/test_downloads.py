"""Downloads: signed, expiring links to a real file, for a paid and unrefunded purchase only."""

import io
import wave
import zipfile

import pytest
from sqlalchemy import select, update

from album_store.models import Purchase
from tests.conftest import StoreTestApp
from tests.factories import give_album_file, issued_token, make_album

pytestmark = pytest.mark.stripe


def purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


def set_status(dbsession, purchase, status):
    dbsession.execute(update(Purchase).where(Purchase.id == purchase.id).values(status=status))
    dbsession.commit()


@pytest.fixture
def bought(testapp, dbsession, files_dir):
    """A paid purchase of an album with its file; returns (purchase, the receipt's download link)."""
    album = make_album(dbsession, slug="blue-skies", title="Blue Skies", artist="The Paper Lanterns", tracks=2)
    give_album_file(dbsession, album, files_dir)
    receipt = testapp.buy("blue-skies", email="ana@example.com", status=303).follow()
    link = receipt.html.find("a", string=lambda s: s and s.startswith("Download"))["href"]
    return purchases(dbsession)[0], link.replace("http://localhost", "")


def test_a_paid_purchase_downloads_the_albums_zip_and_each_download_counts(app, dbsession, bought):
    purchase, link = bought
    anyone_with_the_link = StoreTestApp(app)
    response = anyone_with_the_link.get(link, status=200)
    assert response.content_type == "application/zip"
    assert response.headers["Content-Disposition"] == 'attachment; filename="The Paper Lanterns - Blue Skies.zip"'
    assert "no-store" in response.headers["Cache-Control"]
    archive = zipfile.ZipFile(io.BytesIO(response.body))
    names = archive.namelist()
    assert names == ["The Paper Lanterns - Blue Skies/01 Song 1.wav", "The Paper Lanterns - Blue Skies/02 Song 2.wav"]
    with wave.open(io.BytesIO(archive.read(names[0]))) as track:
        assert track.getnchannels() == 1 and 8000 <= track.getframerate() <= 22050
        assert 1 <= track.getnframes() / track.getframerate() <= 10

    assert purchases(dbsession)[0].download_count == 1
    anyone_with_the_link.get(link, status=200)
    anyone_with_the_link.head(link, status=200)  # a HEAD is not a download
    [purchase] = purchases(dbsession)
    assert purchase.download_count == 2 and purchase.last_downloaded_at is not None


def test_the_file_is_streamed_from_disk_not_read_into_memory(app, bought):
    _, link = bought

    class FileWrapper:
        def __init__(self, file, block_size=8192):
            self.file, self.block_size = file, block_size

        def __iter__(self):
            return iter(lambda: self.file.read(self.block_size), b"")

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": link,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "HTTP_HOST": "localhost",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
        "wsgi.file_wrapper": FileWrapper,
    }
    started = []
    body = app(environ, lambda status, headers, exc_info=None: started.append((status, dict(headers))))
    try:
        assert started[0][0] == "200 OK"
        assert isinstance(body, FileWrapper), "the open file goes to the server's file wrapper, in blocks"
        assert int(started[0][1]["Content-Length"]) > 1000
    finally:
        body.file.close()


def test_a_refunded_purchase_cannot_download(testapp, dbsession, bought):
    purchase, link = bought
    set_status(dbsession, purchase, "refunded")
    page = testapp.get(link, status=410)
    assert "refunded" in page.text
    receipt = testapp.get(f"/purchases/{purchase.id}")
    assert "Refunded" in receipt.text and "/downloads/" not in receipt.text
    assert purchases(dbsession)[0].download_count == 0


#: The download route's own refusal (a missing route would say "There is nothing at this address.").
NO_DOWNLOAD = "There is no download at this address."


@pytest.mark.parametrize("status", ["pending", "failed"])
def test_an_unpaid_purchase_has_no_download(testapp, dbsession, bought, status):
    purchase, link = bought
    set_status(dbsession, purchase, status)
    assert "There is no download at this address." in testapp.get(link, status=404).text


def test_a_stranger_cannot_download_without_the_link(app, dbsession, bought, app_settings):
    purchase, link = bought
    stranger = StoreTestApp(app)
    token = link.rsplit("/", 1)[1]
    assert (
        NO_DOWNLOAD
        in stranger.get("/downloads/" + token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), status=404).text
    )  # altered
    refused = stranger.get("/downloads/not-a-token", status=404)
    assert refused.html.find("article").find_all("p")[1].text == "There is no download at this address."
    # A token of the store, but made for another purpose (the receipt link), opens nothing here.
    receipt_token = issued_token(app_settings, "receipt", purchase.reference, seconds_ago=0)
    assert NO_DOWNLOAD in stranger.get(f"/downloads/{receipt_token}", status=404).text
    # Nor does a genuine token of another store.
    foreign = issued_token(
        {"store.secret": "another-store-secret-0123456789-abcdef"}, "download", purchase.reference, seconds_ago=0
    )
    assert NO_DOWNLOAD in stranger.get(f"/downloads/{foreign}", status=404).text
    assert "There is no receipt at this address for you." in stranger.get(f"/purchases/{purchase.id}", status=404).text
    assert purchases(dbsession)[0].download_count == 0


def test_a_download_link_expires_and_the_receipt_gives_a_fresh_one(testapp, dbsession, bought, app_settings):
    purchase, _ = bought
    week_old = issued_token(app_settings, "download", purchase.reference, seconds_ago=8 * 86400)
    page = testapp.get(f"/downloads/{week_old}", status=410)
    assert page.html.find("article").find_all("p")[1].text == (
        "This download link has expired. Open your receipt (the link in your receipt email) "
        "or your library for a fresh one."
    )
    receipt = testapp.get(f"/purchases/{purchase.id}")
    fresh = receipt.html.find("a", string=lambda s: s and s.startswith("Download"))["href"]
    testapp.get(fresh, status=200)


def test_an_album_whose_file_is_missing_says_so_and_keeps_the_purchase(testapp, dbsession, bought, files_dir):
    purchase, link = bought
    (files_dir / purchase.album.download_filename).unlink()
    page = testapp.get(link, status=404)
    assert "not ready yet" in page.text
    assert purchases(dbsession)[0].status == "paid"
    assert "being prepared" in testapp.get(f"/purchases/{purchase.id}").text
