"""Track audio end to end, with the real ffmpeg: the owner uploads each track's audio on the album
editor, the job queue makes its preview and the album's downloads in each format, buyers listen on the
album page and download the format they choose."""

import io
import zipfile
from datetime import timedelta

import mutagen
import pytest
import webtest
from mutagen.flac import FLAC
from mutagen.id3 import ID3
from mutagen.mp4 import MP4
from mutagen.oggvorbis import OggVorbis
from sqlalchemy import select

from album_store.jobs import IJobQueue
from album_store.models import AlbumFormat, AuditEvent
from album_store.services.audio import FORMATS, PREVIEW_SECONDS
from tests.audio_files import decode, loudness, make_audio
from tests.conftest import StoreTestApp
from tests.factories import image_bytes, make_album

from .conftest import edit_form

pytestmark = pytest.mark.stripe


def upload_audio(browser, album_id, track_id, data, filename="take.wav", preview_start=None, status=303):
    form = edit_form(browser, album_id, f"audio-form-{track_id}")
    form["audio"] = webtest.Upload(filename, data, "application/octet-stream")
    if preview_start is not None:
        form["preview_start"] = str(preview_start)
    return form.submit(status=status)


def upload_cover(browser, album_id):
    form = edit_form(browser, album_id, "cover-form")
    form["cover"] = webtest.Upload("cover.png", image_bytes(size=(600, 600), color=(20, 90, 160)), "image/png")
    form.submit(status=303)


def fresh(dbsession, obj):
    """The row as committed now (a new transaction: the test's last read may have begun a snapshot)."""
    dbsession.commit()
    dbsession.expire_all()
    return dbsession.get(type(obj), obj.id)


@pytest.fixture
def paused(owner_app):
    """The owner's browser with the worker stopped: jobs wait in the queue until run_jobs()."""
    owner_app.worker_running = False
    return owner_app


def test_an_uploaded_track_gets_its_real_length_and_a_preview_of_the_chosen_span(
    paused, dbsession, tmp_path, files_dir
):
    album = make_album(dbsession, tracks=1)
    track = album.tracks[0]
    # 40 s: silence, a tone from 5 s to 35 s, silence. A preview from 5 s is all tone.
    master = make_audio(tmp_path / "take.wav", seconds=40, tone=(5, 35)).read_bytes()
    upload_audio(paused, album.id, track.id, master, preview_start=5)
    queued = fresh(dbsession, track)
    assert (queued.duration_seconds, queued.audio_format, queued.audio_state) == (40, "wav", "queued")
    assert queued.preview_filename is None, "made by the worker, not in the request"
    page = paused.get(f"/admin/albums/{album.id}/edit")
    assert "queued" in page.html.find(id=f"audio-track-{track.id}").text

    assert paused.run_jobs() >= 1
    ready = fresh(dbsession, track)
    assert (ready.audio_state, ready.audio_progress, ready.audio_error) == ("ready", 100, None)
    first_preview = ready.preview_filename
    preview = files_dir / first_preview
    assert abs(mutagen.File(preview).info.length - PREVIEW_SECONDS) < 0.2
    samples = decode(preview)
    assert loudness(samples, 2, 3) > 5000 and loudness(samples, 27, 28) > 5000, "the tone, from 5 s on"
    assert loudness(samples, 0, 0.1) < loudness(samples, 2, 3) / 3, "it fades in"
    assert loudness(samples, PREVIEW_SECONDS - 0.1, PREVIEW_SECONDS) < loudness(samples, 27, 28) / 3, "and out"

    # Moved to the start: the preview is made again, and begins with the five seconds of silence.
    form = edit_form(paused, album.id, f"audio-form-{track.id}")
    form["preview_start"] = "0"
    form.submit(status=303)
    paused.run_jobs()
    again = fresh(dbsession, track)
    assert again.preview_filename != first_preview and not preview.exists(), "the old preview is removed"
    assert loudness(decode(files_dir / again.preview_filename), 2, 3) < 100
    events = dbsession.scalars(select(AuditEvent.summary).where(AuditEvent.album_id == album.id)).all()
    assert "Uploaded the audio of “Song 1” (WAV, 0:40)." in events


@pytest.mark.parametrize("kind", ["flac", "aiff", "mp3"])
def test_flac_aiff_and_mp3_are_taken_by_their_content_whatever_their_name(owner_app, dbsession, tmp_path, kind):
    album = make_album(dbsession, tracks=1)
    data = make_audio(tmp_path / f"take.{kind}", seconds=3, kind=kind).read_bytes()
    upload_audio(owner_app, album.id, album.tracks[0].id, data, filename="no-extension")
    track = fresh(dbsession, album.tracks[0])
    assert (track.audio_format, track.duration_seconds, track.audio_state) == (kind, 3, "ready")


@pytest.mark.parametrize(
    "data, filename",
    [
        (b"RIFF\x00\x00\x00\x00WAVEnot really audio at all" * 10, "song.wav"),
        (image_bytes(), "song.mp3"),
        (b"", "song.flac"),
    ],
)
def test_a_file_that_is_not_audio_is_refused_with_a_message_and_changes_nothing(
    owner_app, dbsession, files_dir, data, filename
):
    album = make_album(dbsession, tracks=1)
    before = set((files_dir / "masters").rglob("*"))
    page = upload_audio(owner_app, album.id, album.tracks[0].id, data, filename=filename, status=400)
    assert ("not WAV, FLAC, AIFF or MP3 audio" in page.text) or ("The audio file is empty." in page.text)
    track = fresh(dbsession, album.tracks[0])
    assert (track.audio_filename, track.audio_state, track.duration_seconds) == (None, "none", 181)
    assert {p for p in (files_dir / "masters").rglob("*") if p.is_file()} <= before, "nothing is left of the upload"


def test_audio_over_the_size_limit_is_refused(app_settings, db_engine, owner, dbsession, tmp_path):
    from album_store import main

    browser = StoreTestApp(main({}, **{**app_settings, "store.max_audio_bytes": "100000"}))
    browser.login(owner.email)
    album = make_album(dbsession, tracks=1)
    page = upload_audio(
        browser, album.id, album.tracks[0].id, make_audio(tmp_path / "big.wav", seconds=3).read_bytes(), status=400
    )
    assert "The audio file is larger than 97 KB." in page.text
    assert fresh(dbsession, album.tracks[0]).audio_filename is None


def test_the_preview_is_served_in_ranges_cached_for_good_and_the_album_page_links_it(owner_app, dbsession, tmp_path):
    album = make_album(dbsession, tracks=2)
    upload_audio(owner_app, album.id, album.tracks[0].id, make_audio(tmp_path / "a.wav", seconds=6).read_bytes())
    track = fresh(dbsession, album.tracks[0])
    visitor = StoreTestApp(owner_app.app)
    page = visitor.get(f"/albums/{album.slug}")
    [link] = page.html.select("a.tracklist__preview")
    assert link["href"] == f"/previews/{track.preview_filename.rsplit('/', 1)[1]}"
    assert "to a preview of Song 1" in link.text, "a link a screen reader can name; the second track has no audio yet"
    assert page.html.find(id="player") is not None and "player.js" in page.text

    whole = visitor.get(link["href"])
    assert whole.content_type == "audio/mpeg" and whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    part = visitor.get(link["href"], headers={"Range": "bytes=100-299"}, status=206)
    assert part.body == whole.body[100:300]
    assert part.headers["Content-Range"] == f"bytes 100-299/{len(whole.body)}"
    tail = visitor.get(link["href"], headers={"Range": "bytes=-50"}, status=206)
    assert tail.body == whole.body[-50:]
    visitor.get(link["href"], headers={"Range": f"bytes={len(whole.body) + 10}-"}, status=416)
    assert visitor.head(link["href"]).headers["Content-Length"] == str(len(whole.body))
    # Only previews are served: no name reaches a master or anything else in the files folder.
    for name in ("../" + track.audio_filename, track.audio_filename.rsplit("/", 1)[1], "0" * 32 + ".mp3"):
        visitor.get(f"/previews/{name}", status=404)


def test_the_album_page_without_previews_has_no_player(testapp, dbsession):
    album = make_album(dbsession, tracks=2)
    page = testapp.get(f"/albums/{album.slug}")
    assert page.html.find(id="player") is None and not page.html.select("a.tracklist__preview")


def _tags(path, kind):
    if kind.startswith("mp3"):
        id3 = ID3(path)
        return (
            str(id3["TIT2"]),
            str(id3["TPE1"]),
            str(id3["TALB"]),
            str(id3["TRCK"]),
            str(id3["TDRC"]),
            id3.getall("APIC")[0].data,
        )
    if kind == "aac":
        mp4 = MP4(path)
        number, total = mp4["trkn"][0]
        return (
            mp4["\xa9nam"][0],
            mp4["\xa9ART"][0],
            mp4["\xa9alb"][0],
            f"{number}/{total}",
            mp4["\xa9day"][0],
            bytes(mp4["covr"][0]),
        )
    audio = FLAC(path) if kind == "flac" else OggVorbis(path)
    if kind == "flac":
        cover = audio.pictures[0].data
    else:
        import base64

        from mutagen.flac import Picture

        cover = Picture(base64.b64decode(audio["metadata_block_picture"][0])).data
    return (
        audio["title"][0],
        audio["artist"][0],
        audio["album"][0],
        f"{audio['tracknumber'][0]}/{audio['tracktotal'][0]}",
        audio["date"][0],
        cover,
    )


def test_a_buyer_downloads_each_format_tagged_with_the_cover(owner_app, dbsession, tmp_path, files_dir):
    album = make_album(dbsession, tracks=2, title="Two Songs", artist="The Testers", year=2024)
    upload_cover(owner_app, album.id)
    for n, track in enumerate(album.tracks):
        upload_audio(
            owner_app, album.id, track.id, make_audio(tmp_path / f"{n}.flac", seconds=3 + n, kind="flac").read_bytes()
        )
    rows = {row.format: row for row in dbsession.scalars(select(AlbumFormat).where(AlbumFormat.album_id == album.id))}
    assert {key: row.state for key, row in rows.items()} == {key: "ready" for key in FORMATS}

    buyer = StoreTestApp(owner_app.app, owner_app.new_card_token)
    note = buyer.get(f"/albums/{album.slug}").html.find(class_="formats-note").text
    assert note == "Your purchase includes downloads in MP3 320 kbps, MP3 V0, FLAC, AAC 256 kbps, Ogg Vorbis."
    receipt = buyer.buy(album.slug, email="fan@example.com", status=303).follow()
    links = {a.text: a["href"] for a in receipt.html.select(".download-formats a")}
    assert list(links) == [f.label for f in FORMATS.values()]
    cover_bytes = (files_dir / "covers" / f"{fresh(dbsession, album).cover_key}-600.jpg").read_bytes()
    for key, spec in FORMATS.items():
        answer = buyer.get(links[spec.label])
        assert answer.content_type == "application/zip"
        assert (
            answer.headers["Content-Disposition"]
            == f'attachment; filename="The Testers - Two Songs ({spec.label}).zip"'
        )
        archive = zipfile.ZipFile(io.BytesIO(answer.body))
        names = archive.namelist()
        assert names == [f"01 Song 1{spec.extension}", f"02 Song 2{spec.extension}", "cover.jpg"]
        for n, name in enumerate(names[:2], start=1):
            path = tmp_path / f"{key}-{name}"
            path.write_bytes(archive.read(name))
            assert abs(len(decode(path)) / 8000 - (2 + n)) < 0.2, f"{name} in {key} decodes to its length"
            title, artist, album_tag, number, year, picture = _tags(path, key)
            assert (title, artist, album_tag, number, year) == (
                f"Song {n}",
                "The Testers",
                "Two Songs",
                f"{n}/2",
                "2024",
            )
            assert picture == cover_bytes
    assert fresh(dbsession, buyer_purchase(dbsession, album)).download_count == len(FORMATS)


def buyer_purchase(dbsession, album):
    from album_store.models import Purchase

    return dbsession.scalars(select(Purchase).where(Purchase.album_id == album.id)).one()


def test_a_zip_is_made_again_when_a_track_changes_and_not_otherwise(owner_app, dbsession, tmp_path, files_dir):
    album = make_album(dbsession, tracks=1, title="Once")
    track = album.tracks[0]
    upload_audio(owner_app, album.id, track.id, make_audio(tmp_path / "a.flac", seconds=2, kind="flac").read_bytes())
    flac = dbsession.scalars(
        select(AlbumFormat).where(AlbumFormat.album_id == album.id, AlbumFormat.format == "flac")
    ).one()
    first = flac.filename
    made = (files_dir / first).stat().st_mtime_ns
    # Saving the album unchanged, or the details page: the ZIPs stay as they are.
    owner_app.get(f"/admin/albums/{album.id}/edit").forms["album-form"].submit(status=303)
    assert fresh(dbsession, flac).filename == first and (files_dir / first).stat().st_mtime_ns == made

    form = owner_app.get(f"/admin/albums/{album.id}/edit").forms["tracks-form"]
    form["tracks-0-title"] = "Renamed"
    form.submit(status=303)
    rebuilt = fresh(dbsession, flac)
    assert rebuilt.state == "ready" and rebuilt.filename != first and not (files_dir / first).exists()
    with zipfile.ZipFile(files_dir / rebuilt.filename) as archive:
        assert archive.namelist() == ["01 Renamed.flac"]


def test_a_preview_that_fails_is_tried_again_then_shown_failed_with_the_reason_and_a_retry(
    paused, dbsession, tmp_path, files_dir
):
    album = make_album(dbsession, tracks=1)
    track = album.tracks[0]
    upload_audio(paused, album.id, track.id, make_audio(tmp_path / "a.wav", seconds=3).read_bytes())
    master = files_dir / fresh(dbsession, track).audio_filename
    good = master.read_bytes()
    master.write_bytes(b"RIFF" + b"\x00" * 60)  # the disk lost it: the job cannot read it
    queue = paused.app.registry.getUtility(IJobQueue)
    assert queue.run_pending() == 1
    trying = fresh(dbsession, track)
    assert trying.audio_state == "queued" and trying.audio_error.endswith("(trying again)")
    runs = 1
    while queue.pending_count():
        runs += queue.run_pending(ahead=timedelta(hours=1))
    assert runs == 3, "the first try and two more"
    failed = fresh(dbsession, track)
    assert failed.audio_state == "failed" and "not WAV, FLAC, AIFF or MP3 audio" in failed.audio_error
    row = paused.get(f"/admin/albums/{album.id}/edit").html.find(id=f"audio-track-{track.id}")
    assert "failed" in row.text and failed.audio_error in row.text
    status = paused.get(f"/admin/albums/{album.id}/audio-status.json").json
    assert status["tracks"] == [{"id": track.id, "state": "failed", "progress": 0, "error": failed.audio_error}]

    master.write_bytes(good)
    paused.get(f"/admin/albums/{album.id}/edit").forms[f"audio-retry-{track.id}"].submit(status=303)
    assert fresh(dbsession, track).audio_state == "queued"
    paused.run_jobs()
    assert fresh(dbsession, track).audio_state == "ready"


def test_a_format_not_made_yet_is_a_202_that_queues_it_and_a_refund_ends_every_format(paused, dbsession, tmp_path, app):
    album = make_album(dbsession, tracks=1)
    upload_audio(
        paused, album.id, album.tracks[0].id, make_audio(tmp_path / "a.flac", seconds=2, kind="flac").read_bytes()
    )
    paused.run_jobs()  # the preview; it queues the formats
    buyer = StoreTestApp(app, paused.new_card_token)
    buyer.worker_running = False
    receipt = buyer.buy(album.slug, email="early@example.com", status=303).follow()
    flac_link = next(a["href"] for a in receipt.html.select(".download-formats a") if a.text == "FLAC")
    dbsession.execute(AlbumFormat.__table__.delete().where(AlbumFormat.album_id == album.id))
    dbsession.commit()
    waiting = buyer.get(flac_link, status=202)
    assert "Your FLAC download is being made" in waiting.text
    assert waiting.headers["Retry-After"] == "5" and waiting.headers["Cache-Control"] == "private, no-store"
    buyer.run_jobs()
    assert buyer.get(flac_link).content_type == "application/zip"
    chooser = buyer.get(flac_link.split("?")[0])
    assert [a.text for a in chooser.html.select(".download-formats a")] == [f.label for f in FORMATS.values()]
    buyer.get(flac_link.split("?")[0] + "?format=wma", status=404)

    purchase = buyer_purchase(dbsession, album)
    owner_refund = paused.get(f"/admin/purchases/{purchase.id}/refund")
    owner_refund.forms["refund-form"].submit(status=303)
    for key in FORMATS:
        buyer.get(f"{flac_link.split('?')[0]}?format={key}", status=410)


def test_two_workers_never_make_the_same_zip_at_once(owner_app, dbsession, tmp_path):
    """The claim is one conditional UPDATE: while one worker makes a format's ZIP from some content,
    another is told no; a stuck claim (its worker died) is taken over after CLAIM_SECONDS."""
    from datetime import timedelta

    from album_store.models.meta import utcnow
    from album_store.services.audio import CLAIM_SECONDS, _claim, content_key

    album = make_album(dbsession, tracks=1)
    owner_app.worker_running = False
    upload_audio(
        owner_app, album.id, album.tracks[0].id, make_audio(tmp_path / "a.flac", seconds=2, kind="flac").read_bytes()
    )
    album = fresh(dbsession, album)
    key = content_key(album, "flac")
    first = _claim(dbsession, album.id, "flac", key)
    dbsession.commit()
    assert first is not None
    assert _claim(dbsession, album.id, "flac", key) is None, "the same content is being made already"
    assert _claim(dbsession, album.id, "flac", "another-key") == first, "newer content takes over"
    dbsession.commit()
    dbsession.execute(AlbumFormat.__table__.update().values(updated_at=utcnow() - timedelta(seconds=CLAIM_SECONDS + 1)))
    assert _claim(dbsession, album.id, "flac", "another-key") == first, "a stuck claim is taken over"
    dbsession.commit()
    # Made: a job that found it stale before then does not make it again, unless its ZIP is gone.
    dbsession.execute(AlbumFormat.__table__.update().values(state="ready"))
    dbsession.commit()
    assert _claim(dbsession, album.id, "flac", "another-key") is None, "made already"
    assert _claim(dbsession, album.id, "flac", "another-key", remake_ready=True) == first, "its ZIP is gone"
    dbsession.commit()


def test_what_a_killed_worker_was_making_is_resumed_and_made_once(paused, dbsession, tmp_path):
    """A worker killed mid-job takes its job with it (huey's queue has handed it over). The next
    worker's resume_unfinished finds the work from the rows: a preview still queued, a format left
    'working'. A claim still showing signs of life is left to its worker and looked at again once it
    would count as stuck; then the ZIP is made, once."""
    from album_store.models.meta import utcnow
    from album_store.services.audio import CLAIM_SECONDS

    queue = paused.app.registry.getUtility(IJobQueue)
    album = make_album(dbsession, tracks=1)
    upload_audio(
        paused, album.id, album.tracks[0].id, make_audio(tmp_path / "a.flac", seconds=2, kind="flac").read_bytes()
    )
    queue.huey.flush()  # the worker that took the preview's job was killed: nothing is queued
    assert queue.pending_count() == 0 and fresh(dbsession, album.tracks[0]).audio_state == "queued"

    queue.enqueue("resume_unfinished")
    paused.run_jobs()  # the preview, then the formats it queues
    album = fresh(dbsession, album)
    assert album.tracks[0].audio_state == "ready" and album.tracks[0].preview_filename
    flac = next(row for row in album.formats if row.format == "flac")
    assert flac.state == "ready"
    made = flac.filename

    # A worker dies while it makes the FLAC ZIP again (its file was lost): the row says 'working', just now.
    dbsession.execute(
        AlbumFormat.__table__.update()
        .where(AlbumFormat.__table__.c.id == flac.id)
        .values(state="working", progress=40, updated_at=utcnow())
    )
    dbsession.commit()
    queue.enqueue("resume_unfinished")
    paused.run_jobs()
    assert fresh(dbsession, flac).state == "working", "a claim with a recent sign of life is left alone for now"
    assert queue.pending_count() >= 1, "and looked at again later"
    # Once it would count as stuck (CLAIM_SECONDS without a sign of life), the scheduled look takes over.
    dbsession.execute(
        AlbumFormat.__table__.update()
        .where(AlbumFormat.__table__.c.id == flac.id)
        .values(updated_at=utcnow() - timedelta(seconds=CLAIM_SECONDS + 1))
    )
    dbsession.commit()
    queue.run_pending(ahead=timedelta(seconds=CLAIM_SECONDS + 2))
    rows = [row for row in fresh(dbsession, album).formats if row.format == "flac"]
    assert [(row.state, row.progress) for row in rows] == [("ready", 100)], "one row, made once"
    assert rows[0].filename == made and rows[0].updated_at > utcnow() - timedelta(minutes=1), "made again just now"
