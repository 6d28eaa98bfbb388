"""Track audio: the owner's masters, the previews buyers listen to, and the downloads in each format.

- **Masters.** The owner uploads each track's audio (WAV, FLAC, AIFF or MP3). It is copied in blocks
  (never whole in memory) to a temporary file, probed with mutagen (its content decides, never its
  name), stored as ``masters/album-N/…`` and gives the track its real duration.
- **Previews.** The job ``make_preview`` cuts ``PREVIEW_SECONDS`` from the owner's chosen start, with a
  short fade in and out, as MP3 (every browser plays it), named by the hash of its content
  (``previews/{hash}.mp3``): the address never shows other content, so it is cached for good.
- **Formats.** Once every track has a master, ``build_formats`` makes one ZIP per download format
  (:data:`FORMATS`; from lossless masters all of them, from MP3 masters MP3 only), each file tagged
  with mutagen (title, artist, album, track number and total, year, the cover). A ZIP is kept with
  the key of what it was made from (:func:`content_key`) and made again only when that changes.

The encoding is ffmpeg's: the static binary of the ``imageio-ffmpeg`` wheel, installed with the store
by pip like any other dependency (no system package, the same build on every host), with LAME, Opus,
Vorbis, FLAC and AAC encoders. The jobs run in ``album-store worker`` (album_store/jobs.py), never in a
request; the state the owner sees (queued, working with progress, ready, failed with the reason) is
written to the track and ``album_formats`` rows as they go.

The files live in the store's storage (album_store/storage.py: local disk or an S3 bucket). ffmpeg
reads and writes local files: a job reads a master through ``IFileStorage.local_file`` (the file itself
on disk, a temporary copy from a bucket), makes its output in a temporary folder and stores it.
"""

import hashlib
import json
import logging
import re
import secrets
import subprocess
import tempfile
import zipfile
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import and_, inspect, or_, select, update
from zope.interface import Interface, implementer
from zope.sqlalchemy import mark_changed

from ..jobs import IJobQueue, job
from ..models import LOSSLESS_FORMATS, Album, AlbumFormat, Track
from ..models.meta import utcnow
from ..models.transactions import after_end, flush_or_raise
from ..storage import IFileStorage, StoredFileMissing
from .media import COPY_BLOCK, UploadRefused, cover_name

log = logging.getLogger(__name__)

PREVIEW_SECONDS = 30
#: A format whose worker has shown no sign of life (a finished track) for this long is taken to be
#: stuck (its worker died): another may take it over. ``jobs.stuck_seconds`` sets it.
CLAIM_SECONDS = 900
FADE_SECONDS = 1.5
MASTERS, PREVIEWS, FORMATS_DIR = "masters", "previews", "formats"
PREVIEW_NAME = re.compile(r"[0-9a-f]{32}\.mp3")
#: A track's (or a format's) work, as the owner's editor words it.
AUDIO_STATES = {"none": "no audio", "queued": "queued", "working": "working", "ready": "ready", "failed": "failed"}


@dataclass(frozen=True)
class DownloadFormat:
    key: str
    label: str
    extension: str
    codec: tuple
    lossless: bool = False


#: The download formats, in the order the receipt offers them.
FORMATS = {
    f.key: f
    for f in (
        DownloadFormat("mp3-320", "MP3 320 kbps", ".mp3", ("-c:a", "libmp3lame", "-b:a", "320k")),
        DownloadFormat("mp3-v0", "MP3 V0", ".mp3", ("-c:a", "libmp3lame", "-q:a", "0")),
        DownloadFormat("flac", "FLAC", ".flac", ("-c:a", "flac", "-compression_level", "8"), lossless=True),
        DownloadFormat("aac", "AAC 256 kbps", ".m4a", ("-c:a", "aac", "-b:a", "256k")),
        DownloadFormat("ogg", "Ogg Vorbis", ".ogg", ("-c:a", "libvorbis", "-q:a", "6")),
    )
}
#: The formats an album whose masters are MP3 offers (nothing lossless can be made from them).
FROM_LOSSY = ("mp3-320",)


# --- ffmpeg and mutagen ------------------------------------------------------------------------
def ffmpeg_exe():
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


class AudioFailed(Exception):
    """ffmpeg could not read or write the audio; ``str()`` says why, for the owner."""


def run_ffmpeg(*args):
    command = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["ffmpeg failed"])[-1]
        raise AudioFailed(f"ffmpeg could not encode the audio: {last[:300]}")


def probe(path):
    """``(format, seconds)`` of an audio file by its content (mutagen), or UploadRefused."""
    import mutagen
    from mutagen.aiff import AIFF
    from mutagen.flac import FLAC
    from mutagen.mp3 import MP3
    from mutagen.wave import WAVE

    kinds = {WAVE: "wav", FLAC: "flac", AIFF: "aiff", MP3: "mp3"}
    refused = UploadRefused("That file is not WAV, FLAC, AIFF or MP3 audio (or it is damaged).")
    try:
        with open(path, "rb") as stream:
            audio = mutagen.File(stream, options=list(kinds))
    except (mutagen.MutagenError, OSError, ValueError, EOFError) as error:
        raise refused from error
    if audio is None or type(audio) not in kinds or not getattr(audio.info, "length", 0):
        raise refused
    return kinds[type(audio)], audio.info.length


def tag(path, download_format, tags, cover):
    """Write the tags (and the cover's JPEG bytes, when given) into an encoded file."""
    from mutagen.flac import FLAC, Picture
    from mutagen.id3 import APIC, ID3, TALB, TDRC, TIT2, TPE1, TPE2, TRCK
    from mutagen.mp4 import MP4, MP4Cover
    from mutagen.oggvorbis import OggVorbis

    number = f"{tags['track']}/{tags['total']}"
    if download_format.extension == ".mp3":
        id3 = ID3()
        id3.add(TIT2(encoding=3, text=tags["title"]))
        id3.add(TPE1(encoding=3, text=tags["artist"]))
        id3.add(TPE2(encoding=3, text=tags["artist"]))
        id3.add(TALB(encoding=3, text=tags["album"]))
        id3.add(TRCK(encoding=3, text=number))
        if tags.get("year"):
            id3.add(TDRC(encoding=3, text=str(tags["year"])))
        if cover:
            id3.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=cover))
        id3.save(path)
        return
    if download_format.extension == ".m4a":
        mp4 = MP4(path)
        mp4["\xa9nam"], mp4["\xa9ART"], mp4["aART"], mp4["\xa9alb"] = (
            tags["title"],
            tags["artist"],
            tags["artist"],
            tags["album"],
        )
        mp4["trkn"] = [(tags["track"], tags["total"])]
        if tags.get("year"):
            mp4["\xa9day"] = str(tags["year"])
        if cover:
            mp4["covr"] = [MP4Cover(cover, imageformat=MP4Cover.FORMAT_JPEG)]
        mp4.save()
        return
    audio = FLAC(path) if download_format.extension == ".flac" else OggVorbis(path)
    audio["title"], audio["artist"], audio["albumartist"], audio["album"] = (
        tags["title"],
        tags["artist"],
        tags["artist"],
        tags["album"],
    )
    audio["tracknumber"], audio["tracktotal"] = str(tags["track"]), str(tags["total"])
    if tags.get("year"):
        audio["date"] = str(tags["year"])
    if cover:
        picture = Picture()
        picture.type, picture.mime, picture.desc, picture.data = 3, "image/jpeg", "Cover", cover
        if isinstance(audio, FLAC):
            audio.clear_pictures()
            audio.add_picture(picture)
        else:
            import base64

            audio["metadata_block_picture"] = [base64.b64encode(picture.write()).decode("ascii")]
    audio.save()


def preview_span(duration, start):
    """``(start, length)`` of the preview: PREVIEW_SECONDS from ``start``, moved back to fit the track."""
    length = min(PREVIEW_SECONDS, duration)
    return max(0.0, min(float(start), duration - length)), length


def encode_preview(master, out, *, start, length):
    fade_out = max(0.0, length - FADE_SECONDS)
    run_ffmpeg(
        "-ss",
        f"{start:.3f}",
        "-t",
        f"{length:.3f}",
        "-i",
        master,
        "-vn",
        "-af",
        f"afade=t=in:st=0:d={min(FADE_SECONDS, length / 4):.3f},afade=t=out:st={fade_out:.3f}:d={FADE_SECONDS}",
        "-ac",
        "2",
        "-ar",
        "44100",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "128k",
        "-map_metadata",
        "-1",
        "-f",
        "mp3",
        out,
    )


# --- files -------------------------------------------------------------------------------------
def _hash_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(COPY_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class AudioFiles:
    """The names of masters, previews and format ZIPs, and their files in the store's storage."""

    def __init__(self, storage):
        self.storage = storage

    def exists(self, name):
        return bool(name) and self.storage.exists(name)

    @contextmanager
    def local_file(self, name, *, missing):
        """The stored file as a local path while the block runs; AudioFailed(``missing``) when it is not there."""
        with ExitStack() as stack:
            try:
                path = stack.enter_context(self.storage.local_file(name)) if name else None
            except StoredFileMissing:
                path = None
            if path is None:
                raise AudioFailed(missing)
            yield path

    def save_master(self, album_id, track_id, stream, max_bytes):
        """Copy an upload to a temporary file, probe it, store it as masters/…; ``(name, format, seconds)``
        or UploadRefused (and nothing stored)."""
        stem = f"{MASTERS}/album-{album_id}/track-{track_id}-{secrets.token_hex(8)}"
        if not self.storage.can_store(f"{stem}.wav"):
            raise UploadRefused("Audio cannot be uploaded: the store has no store.files_dir setting.")
        with self.storage.receive(stream, max_bytes, what="audio file") as partial:
            kind, seconds = probe(partial)
            name = self.storage.store_file(partial, f"{stem}.{kind}")
        return name, kind, seconds

    def keep_preview(self, made):
        """Store a made preview under its content-addressed name; return the name."""
        return self.storage.store_file(made, f"{PREVIEWS}/{_hash_file(made)[:32]}.mp3")

    def preview_name(self, filename):
        """The stored name of the preview served at /previews/{filename}, or None for one that is not a preview's."""
        if not PREVIEW_NAME.fullmatch(filename or ""):
            return None
        return f"{PREVIEWS}/{filename}"

    def cover_jpeg(self, album):
        name = cover_name(album.cover_key, 600)
        return self.storage.read_bytes(name) if name else None

    def forget(self, name):
        """Remove a master, preview or ZIP the store made (nothing else)."""
        if name and name.split("/", 1)[0] in (MASTERS, PREVIEWS, FORMATS_DIR):
            self.storage.delete(name)


# --- what an album offers ------------------------------------------------------------------------
def offered_formats(album, tracks=None):
    """The download formats an album's masters allow: all of FORMATS from lossless ones, MP3 from MP3
    ones, none until every track has its master. ``tracks``: instead of ``album.tracks``, anything
    with their ``audio_filename`` and ``audio_format`` (:func:`track_masters`)."""
    if tracks is None:
        tracks = album.tracks
    if not tracks or any(not track.audio_filename for track in tracks):
        return ()
    if all(track.audio_format in LOSSLESS_FORMATS for track in tracks):
        return tuple(FORMATS)
    return FROM_LOSSY


def track_masters(dbsession, album):
    """What :func:`offered_formats` reads of ``album``'s tracks: the tracks when they are loaded, else
    their two columns in one statement (no Track objects made for a question about masters)."""
    if "tracks" not in inspect(album).unloaded:
        return album.tracks
    return dbsession.execute(select(Track.audio_filename, Track.audio_format).where(Track.album_id == album.id)).all()


def content_key(album, download_format):
    """The hash of everything a format's ZIP is made from: when it changes, the ZIP is made again."""
    made_from = {
        "format": download_format,
        "title": album.title,
        "artist": album.artist,
        "year": album.year,
        "cover": album.cover_key,
        "tracks": [(t.position, t.title, t.audio_filename) for t in album.tracks],
    }
    return hashlib.sha256(json.dumps(made_from, sort_keys=True).encode()).hexdigest()


def zip_member_name(position, title, extension):
    safe = re.sub(r"[^\w .,()&'-]+", "", title).strip() or f"Track {position}"
    return f"{position:02d} {safe}{extension}"


# --- the web side --------------------------------------------------------------------------------
class IAudioService(Interface):
    def replace_master(track, stream, *, max_bytes, preview_start):
        """Store and probe a track's new audio, set its duration, queue its preview (after commit)."""

    def set_preview_start(track, seconds):
        """Move the preview's start; a new preview is made (after commit)."""

    def retry(track):
        """Queue a failed track's preview again."""

    def format_file(album, download_format):
        """``(name, "ready")`` of the album's ready ZIP in that format (its stored name), or ``(None, state)``
        (queueing it when stale)."""

    def formats_of(album):
        """[(DownloadFormat, AlbumFormat row or None)] for the formats the album offers."""

    def queue_formats(album):
        """Make (after commit) whichever of the album's format ZIPs are out of date."""

    def preview_name(filename):
        """The stored name of the preview for /previews/{filename}, or None."""


@implementer(IAudioService)
class AudioService:
    def __init__(self, dbsession, tm, jobs, files):
        self.db = dbsession
        self.tm = tm
        self.jobs = jobs
        self.files = files

    def replace_master(self, track, stream, *, max_bytes, preview_start=0):
        name, kind, seconds = self.files.save_master(track.album_id, track.id, stream, max_bytes)
        old = track.audio_filename
        track.audio_filename, track.audio_format = name, kind
        track.duration_seconds = max(1, round(seconds))
        track.preview_start_seconds = max(0, int(preview_start))
        self._queue_preview(track)
        # The new master is kept only if the change commits; the old one goes only then.
        after_end(self.tm, committed=lambda: self.files.forget(old), aborted=lambda: self.files.forget(name))
        return kind, seconds

    def set_preview_start(self, track, seconds):
        track.preview_start_seconds = max(0, int(seconds))
        if track.audio_filename:
            self._queue_preview(track)

    def retry(self, track):
        if track.audio_filename:
            self._queue_preview(track)

    def _queue_preview(self, track):
        track.audio_state, track.audio_progress, track.audio_error = "queued", 0, None
        self.db.flush()
        self.jobs.after_commit(self.tm, "make_preview", track.id)

    def formats_of(self, album):
        rows = {row.format: row for row in album.formats}
        return [(FORMATS[key], rows.get(key)) for key in offered_formats(album)]

    def format_file(self, album, download_format):
        if download_format not in offered_formats(album):
            return None, "not offered"
        row = next((r for r in album.formats if r.format == download_format), None)
        if row is not None and row.state == "ready" and row.content_key == content_key(album, download_format):
            if self.files.exists(row.filename):
                return row.filename, "ready"
        if (
            row is None
            or row.state not in ("queued", "working")
            or row.content_key != content_key(album, download_format)
        ):
            self.queue_formats(album)
        return None, (row.state if row is not None and row.state in ("working", "failed") else "queued")

    def queue_formats(self, album):
        if offered_formats(album):
            self.jobs.after_commit(self.tm, "build_formats", album.id)

    def preview_name(self, filename):
        return self.files.preview_name(filename)


def audio_files_of(registry):
    """The audio files of the app's storage (a job has the registry, not a request)."""
    return AudioFiles(registry.getUtility(IFileStorage))


def audio_service_factory(context, request):
    return AudioService(
        request.dbsession, request.tm, request.find_service(IJobQueue), audio_files_of(request.registry)
    )


# --- the jobs ------------------------------------------------------------------------------------
def _set_track(context, track_id, **values):
    """Write where a track's work stands, in a transaction of its own (not a catalog change: the
    public pages show only the finished preview, whose change bumps the catalog's version)."""
    with context.transaction() as db:
        db.execute(update(Track.__table__).where(Track.__table__.c.id == track_id).values(**values))
        mark_changed(db)  # a Core statement: zope.sqlalchemy commits it only when told


@job(retries=2, retry_delay=30)
def make_preview(context, track_id, *, last_try):
    """Cut the track's preview from its master. Idempotent: what it reads is the track as it is now."""
    files = audio_files_of(context.registry)
    with context.transaction() as db:
        track = db.get(Track, track_id)
        if track is None or not track.audio_filename:
            return
        start, wanted = track.preview_start_seconds, track.audio_filename
    try:
        with files.local_file(wanted, missing="The uploaded audio file is missing; please upload it again.") as master:
            _set_track(context, track_id, audio_state="working", audio_progress=10, audio_error=None)
            kind, seconds = probe(master)
            begin, length = preview_span(seconds, start)
            with tempfile.TemporaryDirectory() as scratch:
                made = Path(scratch) / "preview.mp3"
                encode_preview(master, made, start=begin, length=length)
                _set_track(context, track_id, audio_progress=80)
                name = files.keep_preview(made)
    except (AudioFailed, UploadRefused, OSError, subprocess.SubprocessError) as error:
        if not last_try:
            _set_track(context, track_id, audio_state="queued", audio_error=f"{error} (trying again)")
            raise
        log.error("preview of track %s failed: %s", track_id, error)
        _set_track(context, track_id, audio_state="failed", audio_progress=0, audio_error=str(error))
        return
    with context.transaction() as db:
        track = db.get(Track, track_id)
        if track is None or track.audio_filename != wanted:
            files.forget(name)  # the owner uploaded another file meanwhile: its own job makes its preview
            return
        old, track.preview_filename = track.preview_filename, name
        track.audio_state, track.audio_progress, track.audio_error = "ready", 100, None
        album_id = track.album_id
    if old and old != name:
        files.forget(old)
    log.info("preview of track %s made: %s", track_id, name)
    context.queue.enqueue("build_formats", album_id)


@job(retries=2, retry_delay=60)
def build_formats(context, album_id, *, last_try):
    """Make each of the album's format ZIPs that is out of date (its content key changed)."""
    files = audio_files_of(context.registry)
    for download_format in _stale_formats(context, files, album_id):
        _build_one(context, files, album_id, download_format, last_try=last_try)


def _stale_formats(context, files, album_id):
    """The formats the album offers whose ZIP is missing, not ready, or made from other content."""
    with context.transaction() as db:
        album = db.get(Album, album_id)
        if album is None:
            return []
        rows = {row.format: row for row in album.formats}
        stale = []
        for key in offered_formats(album):
            row, wanted = rows.get(key), content_key(album, key)
            if row is not None and row.state == "ready" and row.content_key == wanted and files.exists(row.filename):
                continue
            stale.append(key)
        return stale


def stuck_seconds(settings):
    return int(settings.get("jobs.stuck_seconds") or CLAIM_SECONDS)


class _RowMadeMeanwhile(Exception):
    """Another worker inserted the album-format row a moment ago: claim that one instead."""


def _claim(db, album_id, download_format, key, *, stuck_seconds=CLAIM_SECONDS, remake_ready=False):
    """Take the album-format row for building ``key``, unless another worker is building just that
    (and is not stuck for ``stuck_seconds``) or has made it already (unless ``remake_ready``: its ZIP
    is gone): one conditional UPDATE, so two workers never both win, and a job that found the format
    stale before another worker finished it does not make it again. Returns the row's id, or None."""
    table = AlbumFormat.__table__
    where = (table.c.album_id == album_id, table.c.format == download_format)
    if db.execute(select(table.c.id).where(*where)).first() is None:
        with suppress(_RowMadeMeanwhile), flush_or_raise(db, _RowMadeMeanwhile):
            db.execute(
                table.insert().values(
                    album_id=album_id, format=download_format, state="queued", progress=0, updated_at=utcnow()
                )
            )
    stuck = utcnow() - timedelta(seconds=stuck_seconds)
    claimed = db.execute(
        update(table)
        .where(
            *where,
            or_(
                table.c.content_key.is_(None),
                table.c.content_key != key,  # new content: whoever was at the old
                table.c.state.not_in(("working", "ready")),  # queued, failed
                and_(table.c.state == "working", table.c.updated_at < stuck),  # its worker died
                *([table.c.state == "ready"] if remake_ready else []),
            ),
        )
        .values(state="working", progress=0, error=None, content_key=key, updated_at=utcnow())
    )
    mark_changed(db)
    if claimed.rowcount != 1:
        return None
    return db.execute(select(table.c.id).where(*where)).scalar_one()


def _build_one(context, files, album_id, download_format, *, last_try):
    spec = FORMATS[download_format]
    with context.transaction() as db:
        album = db.get(Album, album_id)
        if album is None or download_format not in offered_formats(album):
            return  # deleted, or a track lost its audio, since the job was queued
        key = content_key(album, download_format)
        made = next((row for row in album.formats if row.format == download_format and row.state == "ready"), None)
        row_id = _claim(
            db,
            album_id,
            download_format,
            key,
            stuck_seconds=stuck_seconds(context.settings),
            remake_ready=made is not None and not files.exists(made.filename),
        )
        tracks = [(t.position, t.title, t.audio_filename) for t in album.tracks]
        tags = {"artist": album.artist, "album": album.title, "year": album.year, "total": len(tracks)}
        cover = files.cover_jpeg(album)
        slug = album.slug
    if row_id is None:
        if made is not None and made.content_key == key:
            return  # another worker made it meanwhile
        # Being made by another worker now, or by one that died: look again once it would count as stuck.
        log.info("album %s: %s ZIP is being made by another worker; looking again later", album_id, download_format)
        context.queue.enqueue_in(stuck_seconds(context.settings) + 1, "build_formats", album_id)
        return
    table = AlbumFormat.__table__

    def progress(percent):
        with context.transaction() as db:
            # The claim's sign of life too: a worker that stops updating it is taken to have died.
            db.execute(
                update(table)
                .where(table.c.id == row_id, table.c.content_key == key)
                .values(progress=percent, updated_at=utcnow())
            )
            mark_changed(db)

    name = f"{FORMATS_DIR}/album-{album_id}/{slug}-{download_format}-{key[:16]}.zip"
    try:
        with tempfile.TemporaryDirectory() as scratch:
            partial = Path(scratch) / "album.zip"
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
                for n, (position, title, master_name) in enumerate(tracks, start=1):
                    encoded = Path(scratch) / f"track{position}{spec.extension}"
                    missing = f"The audio of track {position} is missing; please upload it again."
                    with files.local_file(master_name, missing=missing) as master:
                        run_ffmpeg("-i", master, "-vn", "-map_metadata", "-1", *spec.codec, encoded)
                    tag(encoded, spec, {**tags, "title": title, "track": position}, cover)
                    archive.write(encoded, zip_member_name(position, title, spec.extension))
                    encoded.unlink()
                    progress(min(99, round(100 * n / len(tracks))))
                if cover:
                    archive.writestr("cover.jpg", cover)
            size = partial.stat().st_size
            files.storage.store_file(partial, name)
    except (AudioFailed, OSError, subprocess.SubprocessError) as error:
        files.forget(name)
        with context.transaction() as db:
            state = "failed" if last_try else "queued"
            db.execute(
                update(table)
                .where(table.c.id == row_id, table.c.content_key == key)
                .values(
                    state=state,
                    progress=0,
                    error=str(error) + ("" if last_try else " (trying again)"),
                    updated_at=utcnow(),
                )
            )
            mark_changed(db)
        log.error("album %s: %s ZIP failed: %s", album_id, download_format, error)
        if not last_try:
            raise
        return
    with context.transaction() as db:
        row = db.get(AlbumFormat, row_id)
        if row is None or row.content_key != key:
            files.forget(name)  # made from what changed meanwhile: a newer build replaces it
            return
        old = row.filename
        row.state, row.progress, row.error, row.filename = "ready", 100, None, name
        row.size_bytes = size
    if old and old != name:
        files.forget(old)
    log.info("album %s: %s ZIP made (%s bytes)", album_id, download_format, size)


@job(retries=0, every_minutes=10)
def resume_unfinished(context, *, last_try):
    """Queue again what a worker killed mid-job left unfinished (its job left the queue with it): the
    previews of tracks still queued or being made, the formats not ready. Run when a worker starts and
    every 10 minutes; harmless twice (each job is idempotent, and a format's claim keeps two workers
    from making one ZIP)."""
    with context.transaction() as db:
        tracks = db.scalars(
            select(Track.id).where(Track.audio_filename.is_not(None), Track.audio_state.in_(("queued", "working")))
        ).all()
        albums = db.scalars(
            select(AlbumFormat.album_id).where(AlbumFormat.state.in_(("queued", "working"))).distinct()
        ).all()
    for track_id in tracks:
        context.queue.enqueue("make_preview", track_id)
    for album_id in albums:
        context.queue.enqueue("build_formats", album_id)
    if tracks or albums:
        log.info("resumed unfinished work: %d previews, the formats of %d albums", len(tracks), len(albums))


def includeme(config):
    config.register_service_factory(audio_service_factory, IAudioService)
