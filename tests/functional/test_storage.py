"""The store's file paths on both storages (album_store/storage.py): local disk, and an S3 bucket
(moto's server, tests/s3.py). The owner uploads covers, download ZIPs and track audio through the
editor; the job queue makes previews and format ZIPs; buyers and visitors get them back through the
store's own routes (or, from a bucket, a presigned URL fetched like a browser would)."""

import io
import os
import zipfile
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import requests
import webtest
from PIL import Image
from sqlalchemy import select, update

from album_store.models import Album, AlbumFormat, Purchase, Track
from album_store.services.media import COVER_SIZES
from tests.audio_files import make_audio
from tests.conftest import StoreTestApp
from tests.factories import image_bytes, make_album, make_owner, zip_bytes
from tests.functional.admin.conftest import edit_form

pytestmark = pytest.mark.stripe


class OnDisk:
    """The local storage's files, by the store's names (covers/… is files_dir/covers: no covers_dir set)."""

    def __init__(self, files_dir):
        self.files_dir = files_dir

    def names(self, folder):
        root = self.files_dir / folder
        return {str(p.relative_to(self.files_dir)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()

    def everything(self):
        return {str(p.relative_to(self.files_dir)) for p in self.files_dir.rglob("*") if p.is_file()}

    def read(self, name):
        return (self.files_dir / name).read_bytes()


class InBucket:
    def __init__(self, moto_s3):
        self.moto_s3 = moto_s3

    def names(self, folder):
        return self.moto_s3.names(folder)

    def everything(self):
        return self.moto_s3.keys()

    def read(self, name):
        return self.moto_s3.read(name)


@pytest.fixture(params=["local", "s3"])
def store(request, dbsession, new_card_token, files_dir):
    """The store on one storage: its app, what is stored (``files``), and an owner signed in.
    ``s3_stream`` is the bucket with ``storage.downloads = stream``."""
    kind = request.param
    app = request.getfixturevalue({"local": "app", "s3": "s3_app", "s3_stream": "s3_stream_app"}[kind])
    files = OnDisk(files_dir) if kind == "local" else InBucket(request.getfixturevalue("moto_s3"))
    owner = make_owner(dbsession)
    browser = StoreTestApp(app, new_card_token)
    browser.login(owner.email)
    return SimpleNamespace(kind=kind, app=app, files=files, owner=browser, new_card_token=new_card_token)


def fresh(dbsession, model, row_id):
    dbsession.commit()
    dbsession.expire_all()
    return dbsession.get(model, row_id)


def upload(browser, album_id, form_id, field, filename, data, status=303):
    form = edit_form(browser, album_id, form_id)
    form[field] = webtest.Upload(filename, data, "application/octet-stream")
    return form.submit(status=status)


def fetch(store, response):
    """What the buyer's browser ends up with: the store's own answer, or (a 303 to a presigned URL)
    the bucket's, fetched as a browser would. ``(status, headers, body)``."""
    if store.kind == "s3":
        assert response.status_int == 303, "from a bucket, presigned: the store redirects"
        location = response.headers["Location"]
        assert location.startswith(store.files.moto_s3.url + "/") and "X-Amz-Signature=" in location
        assert "X-Amz-Expires=300" in location, "short-lived: storage.presign_seconds"
        answer = requests.get(location, timeout=30)
        return answer.status_code, answer.headers, answer.content
    assert response.status_int == 200, "the store streams it itself"
    return response.status_int, response.headers, response.body


@contextmanager
def bucket_reads(store):
    """The Range of each GetObject the store's own S3 client sends during the block (none on disk)."""
    reads = []
    if store.kind == "local":
        yield reads
        return
    from album_store.storage import IFileStorage

    events = store.app.registry.getUtility(IFileStorage).client.meta.events

    def record(model, params, **_):
        if model.name == "GetObject":
            reads.append(params["headers"].get("Range"))  # the request as it is sent

    events.register("before-call.s3.GetObject", record, unique_id="test-bucket-reads")
    try:
        yield reads
    finally:
        events.unregister("before-call.s3.GetObject", unique_id="test-bucket-reads")


def buy(store, album):
    buyer = StoreTestApp(store.app, store.new_card_token)
    receipt = buyer.buy(album.slug, email="fan@example.com", status=303).follow()
    return buyer, receipt


def test_a_cover_is_stored_served_for_good_and_replaced(store, dbsession):
    album = make_album(dbsession)
    upload(store.owner, album.id, "cover-form", "cover", "art.png", image_bytes("PNG", (700, 500), color=(10, 90, 200)))
    key = fresh(dbsession, Album, album.id).cover_key
    names = {f"covers/{key}-{size}.jpg" for size in COVER_SIZES}
    assert store.files.names("covers") >= names
    visitor = StoreTestApp(store.app)
    whole = visitor.get(f"/covers/{key}/600.jpg")
    assert (
        whole.content_type == "image/jpeg" and whole.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    )
    assert whole.body == store.files.read(f"covers/{key}-600.jpg")
    with Image.open(io.BytesIO(whole.body)) as image:
        assert image.size == (600, 600)
    part = visitor.get(f"/covers/{key}/600.jpg", headers={"Range": "bytes=0-9"}, status=206)
    assert part.body == whole.body[:10] and part.headers["Content-Range"] == f"bytes 0-9/{len(whole.body)}"
    visitor.get(f"/covers/{key}/500.jpg", status=404)
    visitor.get("/covers/../etc/600.jpg", status=404)

    upload(store.owner, album.id, "cover-form", "cover", "b.jpg", image_bytes("JPEG", (400, 400)))
    assert not store.files.names("covers") & names, "the replaced cover's files are deleted"
    visitor.get(f"/covers/{key}/600.jpg", status=404)


@pytest.mark.parametrize("store", ["local", "s3", "s3_stream"], indirect=True)
def test_an_uploaded_zip_is_downloaded_by_a_paying_buyer_and_refused_after_a_refund(store, dbsession):
    album = make_album(dbsession, title="Tide", artist="The Testers")
    data = zip_bytes({"01 Tide.wav": b"tide" * 5000})
    upload(store.owner, album.id, "file-form", "file", "tide.zip", data)
    name = fresh(dbsession, Album, album.id).download_filename
    assert name.startswith("uploads/") and store.files.read(name) == data
    assert "Buyers download a ZIP of 0.0 MB." in store.owner.get(f"/admin/albums/{album.id}/edit").text, (
        "its size, from the storage"
    )

    buyer, receipt = buy(store, album)
    link = receipt.html.find("a", string=lambda s: s and s.startswith("Download"))["href"]
    answer = buyer.get(link)
    assert answer.headers["Cache-Control"] == "private, no-store"
    status, headers, body = fetch(store, answer)
    assert (status, body) == (200, data)
    assert headers["Content-Disposition"] == 'attachment; filename="The Testers - Tide.zip"'
    [purchase] = dbsession.scalars(select(Purchase)).all()
    assert fresh(dbsession, Purchase, purchase.id).download_count == 1

    dbsession.execute(update(Purchase).where(Purchase.id == purchase.id).values(status="refunded"))
    dbsession.commit()
    refused = buyer.get(link, status=410)
    assert "refunded" in refused.text and "Location" not in refused.headers
    assert fresh(dbsession, Purchase, purchase.id).download_count == 1


def test_a_tracks_audio_gets_its_preview_served_in_ranges_and_a_new_take_replaces_both(store, dbsession, tmp_path):
    album = make_album(dbsession, tracks=1)
    track_id = album.tracks[0].id
    upload(
        store.owner,
        album.id,
        f"audio-form-{track_id}",
        "audio",
        "take.wav",
        make_audio(tmp_path / "a.wav", seconds=6).read_bytes(),
    )
    track = fresh(dbsession, Track, track_id)
    assert track.audio_state == "ready", track.audio_error
    master, preview = track.audio_filename, track.preview_filename
    assert master in store.files.names("masters") and preview in store.files.names("previews")

    visitor = StoreTestApp(store.app)
    href = f"/previews/{preview.rsplit('/', 1)[1]}"
    assert visitor.get(f"/albums/{album.slug}").html.select_one("a.tracklist__preview")["href"] == href
    whole = visitor.get(href)
    assert whole.content_type == "audio/mpeg" and whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert whole.body == store.files.read(preview) and len(whole.body) > 1000
    with bucket_reads(store) as reads:
        part = visitor.get(href, headers={"Range": "bytes=100-299"}, status=206)
        assert part.body == whole.body[100:300] and part.headers["Content-Range"] == f"bytes 100-299/{len(whole.body)}"
        assert visitor.get(href, headers={"Range": "bytes=-50"}, status=206).body == whole.body[-50:]
        visitor.get(href, headers={"Range": f"bytes={len(whole.body) + 10}-"}, status=416)
        assert visitor.head(href).headers["Content-Length"] == str(len(whole.body))
    if store.kind != "local":
        tail = f"bytes={len(whole.body) - 50}-{len(whole.body) - 1}"
        assert reads == ["bytes=100-299", tail], "each range is one ranged GET; a 416 or a HEAD reads nothing"
    for name in ("../" + master, master.rsplit("/", 1)[1], "0" * 32 + ".mp3"):
        visitor.get(f"/previews/{name}", status=404)

    upload(
        store.owner,
        album.id,
        f"audio-form-{track_id}",
        "audio",
        "take2.wav",
        make_audio(tmp_path / "b.wav", seconds=5, frequency=660).read_bytes(),
    )
    again = fresh(dbsession, Track, track_id)
    assert again.audio_state == "ready" and again.preview_filename != preview
    assert master not in store.files.names("masters") and again.audio_filename in store.files.names("masters")
    assert preview not in store.files.names("previews"), "the old preview is deleted"
    visitor.get(href, status=404)


def test_a_format_zip_is_built_in_the_storage_and_downloaded(store, dbsession, tmp_path):
    album = make_album(dbsession, tracks=1, title="Once", artist="The Testers")
    track_id = album.tracks[0].id
    upload(
        store.owner,
        album.id,
        f"audio-form-{track_id}",
        "audio",
        "take.flac",
        make_audio(tmp_path / "a.flac", seconds=2, kind="flac").read_bytes(),
    )
    flac = dbsession.scalars(
        select(AlbumFormat).where(AlbumFormat.album_id == album.id, AlbumFormat.format == "flac")
    ).one()
    assert flac.state == "ready", flac.error
    first = flac.filename
    assert first in store.files.names("formats") and flac.size_bytes == len(store.files.read(first))

    buyer, receipt = buy(store, album)
    link = next(a["href"] for a in receipt.html.select(".download-formats a") if a.text == "FLAC")
    status, headers, body = fetch(store, buyer.get(link))
    assert status == 200 and headers["Content-Disposition"] == 'attachment; filename="The Testers - Once (FLAC).zip"'
    assert zipfile.ZipFile(io.BytesIO(body)).namelist() == ["01 Song 1.flac"]

    # Renamed: the ZIP is made again and the old one deleted.
    form = store.owner.get(f"/admin/albums/{album.id}/edit").forms["tracks-form"]
    form["tracks-0-title"] = "Renamed"
    form.submit(status=303)
    rebuilt = fresh(dbsession, AlbumFormat, flac.id)
    assert rebuilt.state == "ready" and rebuilt.filename != first
    assert first not in store.files.names("formats") and rebuilt.filename in store.files.names("formats")


@pytest.fixture(scope="module")
def limited_apps(app_settings, db_engine, moto_s3):
    """Both storages with small upload limits: 60,000 bytes for a cover, 100 KiB for a ZIP or audio."""
    from album_store import main
    from tests.conftest import s3_store

    limits = {
        "store.max_cover_bytes": "60000",
        "store.max_file_bytes": str(100 * 1024),
        "store.max_audio_bytes": str(100 * 1024),
    }
    return {"local": main({}, **{**app_settings, **limits}), "s3": s3_store(app_settings, moto_s3, **limits)}


def test_a_refused_upload_leaves_nothing_in_the_storage(store, limited_apps, dbsession, tmp_path):
    browser = StoreTestApp(limited_apps[store.kind])
    browser.cookiejar = store.owner.cookiejar  # the owner, signed in
    album = make_album(dbsession, tracks=1)
    track_id = album.tracks[0].id
    before = store.files.everything()
    big_zip = zip_bytes({"noise.bin": os.urandom(120 * 1024)})  # past the limit, within the request's
    assert "larger than 100 KB" in upload(browser, album.id, "file-form", "file", "big.zip", big_zip, status=400).text
    assert "must be a ZIP" in upload(browser, album.id, "file-form", "file", "not.zip", b"MZ" * 100, status=400).text
    big_audio = make_audio(tmp_path / "big.wav", seconds=3).read_bytes()
    assert 100 * 1024 < len(big_audio) < 150 * 1024
    assert (
        "larger than 100 KB"
        in upload(browser, album.id, f"audio-form-{track_id}", "audio", "big.wav", big_audio, status=400).text
    )
    assert (
        "not WAV, FLAC, AIFF or MP3"
        in upload(
            browser, album.id, f"audio-form-{track_id}", "audio", "x.wav", b"RIFF" + b"\x00" * 4000, status=400
        ).text
    )
    assert (
        "not a JPEG, PNG or WebP"
        in upload(browser, album.id, "cover-form", "cover", "x.png", b"not an image", status=400).text
    )
    assert store.files.everything() == before, "no object, no partial file"
    stored = fresh(dbsession, Album, album.id)
    assert (stored.download_filename, stored.cover_key, stored.tracks[0].audio_filename) == (None, None, None)


def test_a_bucket_that_does_not_answer_is_a_503_not_a_500(app_settings, db_engine, moto_s3, dbsession):
    """The bucket down (here: nothing listens at its address) is the storage's outage, said as one:
    503 with Retry-After on a preview and on a paid download, and /readyz names the storage."""
    from tests.conftest import StoreTestApp, s3_store
    from tests.live import free_port

    unreachable = StoreTestApp(
        s3_store(app_settings, moto_s3, **{"storage.s3_endpoint_url": f"http://127.0.0.1:{free_port()}"})
    )
    preview = unreachable.get(f"/previews/{'a' * 32}.mp3", status=503)
    assert preview.headers["Retry-After"] == "30" and "cannot be reached just now" in preview.text
    assert unreachable.get("/readyz", status=503).json["storage"] == "failing"
