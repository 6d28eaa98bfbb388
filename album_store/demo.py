"""The demo catalog that ``album-store initdb CONFIG --demo`` seeds: invented artists, real-looking prices,
and a store owner account to try the owner's pages with.

Prices are chosen so that a Float would get them wrong (19.99, 9.95, 0.29 + …): they are cents here.
Two albums are pay what you want: *Copper & Salt* at least $5.00, *Evergreen (EP)* free or more.
Seeding is idempotent: an album whose slug exists is left alone.

Each demo album also gets a real downloadable file, made with the standard library: a ZIP holding one
short WAV per track (a few seconds of a little tune, mono, 8 kHz), stored in the store's storage
(``store.files_dir`` on disk).
"""

import io
import math
import re
import wave
import zipfile
from array import array
from pathlib import Path

from sqlalchemy import select

from .models import Album, Track

#: The demo's store owner, for ``make run``: never made where secrets are required (production).
DEMO_OWNER_EMAIL = "owner@example.com"
DEMO_OWNER_PASSWORD = "demo-vinyl-counter-42"

DEMO_ALBUMS = [
    {
        "slug": "blue-skies",
        "title": "Blue Skies",
        "artist": "The Paper Lanterns",
        "year": 2024,
        "price_cents": 999,
        "published": True,
        "description": "Sunlit indie pop recorded live to tape in a barn outside Galway.",
        "tracks": [
            ("Morning Ferry", 214),
            ("Blue Skies", 241),
            ("Kites", 187),
            ("Harbour Lights", 263),
            ("Paper Lantern", 199),
            ("Slow Tide", 305),
            ("Salt & Vinegar", 176),
            ("Goodnight, Lighthouse", 288),
        ],
    },
    {
        "slug": "night-bus-home",
        "title": "Night Bus Home",
        "artist": "The Paper Lanterns",
        "year": 2021,
        "price_cents": 1999,
        "published": True,
        "description": "The debut: ten songs about the last bus, the first light and everything between.",
        "tracks": [
            ("Last Orders", 198),
            ("Night Bus Home", 232),
            ("Sodium Orange", 207),
            ("Upper Deck", 185),
            ("Ticket Machine", 169),
            ("Rain on the Window", 274),
            ("Terminus", 251),
            ("Heading South", 223),
            ("Four A.M.", 196),
            ("First Light", 318),
        ],
    },
    {
        "slug": "low-frequencies",
        "title": "Low Frequencies",
        "artist": "Marta Kovač Trio",
        "year": 2023,
        "price_cents": 995,
        "published": True,
        "description": "Late-night jazz for piano, upright bass and brushes.",
        "tracks": [
            ("Prelude in Grey", 156),
            ("Low Frequencies", 412),
            ("Brushes", 355),
            ("Zagreb, 3 A.M.", 389),
            ("Standing Wave", 301),
            ("Coda", 144),
        ],
    },
    {
        "slug": "standing-waves",
        "title": "Standing Waves",
        "artist": "Marta Kovač Trio",
        "year": 2019,
        "price_cents": 1295,
        "published": True,
        "description": "Recorded in one afternoon, no overdubs: the trio as it sounds in a small room.",
        "tracks": [
            ("Node", 287),
            ("Antinode", 301),
            ("Resonance", 420),
            ("Overtone Song", 263),
            ("Harmonic Series", 377),
            ("Damping", 198),
            ("Fundamental", 452),
        ],
    },
    {
        "slug": "copper-and-salt",
        "title": "Copper & Salt",
        "artist": "Hollow Pines",
        "year": 2022,
        # Pay what you want, at least $5.00 (the price is the suggested amount).
        "price_cents": 799,
        "minimum_cents": 500,
        "published": True,
        "description": "Folk songs from the coast, sung in three-part harmony.",
        "tracks": [
            ("Copper & Salt", 221),
            ("The Net Mender", 244),
            ("Gulls", 132),
            ("Widow's Walk", 276),
            ("Low Water", 209),
            ("Herring Season", 238),
            ("Lantern Hill", 262),
            ("Sea Shanty No. 9", 181),
            ("Home Port", 295),
        ],
    },
    {
        "slug": "evergreen-ep",
        "title": "Evergreen (EP)",
        "artist": "Hollow Pines",
        "year": 2020,
        # Free, or pay what you want (suggested $3.29): 0 is a free download, confirmed by email.
        "price_cents": 329,
        "minimum_cents": 0,
        "published": True,
        "description": "Six songs recorded around one microphone.",
        "tracks": [
            ("Evergreen", 203),
            ("Pine Needles", 188),
            ("Winter Light", 241),
            ("Cabin Fever", 176),
            ("Snowline", 229),
            ("Thaw", 264),
        ],
    },
    {
        "slug": "unreleased-demos",
        "title": "Unreleased Demos",
        "artist": "The Paper Lanterns",
        "year": 2025,
        "price_cents": 1499,
        "published": False,
        "description": "Not out yet: the shop owner is still deciding.",
        "tracks": [
            ("Sketch One", 140),
            ("Sketch Two", 151),
            ("Sketch Three", 166),
            ("Sketch Four", 133),
            ("Sketch Five", 170),
            ("Sketch Six", 149),
        ],
    },
]


def seed_demo_catalog(dbsession, currency="usd"):
    """Add the demo albums that are missing; return how many were added."""
    existing = set(dbsession.scalars(select(Album.slug).where(Album.slug.in_([a["slug"] for a in DEMO_ALBUMS]))))
    added = 0
    for data in DEMO_ALBUMS:
        if data["slug"] in existing:
            continue
        album = Album(
            slug=data["slug"],
            title=data["title"],
            artist=data["artist"],
            year=data["year"],
            description=data["description"],
            price_cents=data["price_cents"],
            currency=currency,
            minimum_cents=data.get("minimum_cents"),
            is_published=data["published"],
        )
        album.tracks = [
            Track(position=position, title=title, duration_seconds=seconds)
            for position, (title, seconds) in enumerate(data["tracks"], start=1)
        ]
        dbsession.add(album)
        added += 1
    dbsession.flush()
    return added


def seed_demo_owner(accounts):
    """Make the demo's store owner (address confirmed) through ``accounts`` (``IAccountService``)
    unless the address has an account; return True when made.

    An existing account is left as it is (its password may have been changed on purpose)."""
    if accounts.find_by_email(DEMO_OWNER_EMAIL) is not None:
        return False
    accounts.make_owner(DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, confirmed=True)
    return True


SAMPLE_RATE = 8000
NOTE_SECONDS = 0.5
NOTES_PER_TRACK = 6
# A major pentatonic scale above A3: every tune made from it sounds pleasant enough.
SCALE_HZ = [220.0, 247.5, 277.2, 330.0, 371.3, 440.0, 495.0, 554.4]


def track_wav(album_slug, position):
    """A WAV (bytes) of a short tune, the same for the same album and track."""
    seed = sum(map(ord, album_slug)) + 7 * position
    samples_per_note = int(SAMPLE_RATE * NOTE_SECONDS)
    fade = SAMPLE_RATE // 100  # 10 ms in and out, so notes don't click
    samples = array("h")
    for n in range(NOTES_PER_TRACK):
        step = 2 * math.pi * SCALE_HZ[(seed * (n + 3) + n * n) % len(SCALE_HZ)] / SAMPLE_RATE
        for i in range(samples_per_note):
            envelope = min(1.0, i / fade, (samples_per_note - i) / fade)
            samples.append(int(9000 * envelope * math.sin(step * i)))
    return _wav(samples)


def _wav(samples):
    """A mono 16-bit WAV (bytes) of ``samples`` at SAMPLE_RATE."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(samples.tobytes())
    return buffer.getvalue()


def album_zip_filename(album):
    return f"{album.slug}.zip"


def write_album_zip(album, path):
    """Write ``album``'s ZIP (one WAV per track) to ``path``, atomically."""
    path = Path(path)
    partial = path.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for track in album.tracks:
            safe_title = re.sub(r"[^A-Za-z0-9 ,.'&()-]+", "", track.title).strip() or "Track"
            info = zipfile.ZipInfo(
                f"{album.artist} - {album.title}/{track.position:02d} {safe_title}.wav", (2025, 1, 1, 0, 0, 0)
            )
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, track_wav(album.slug, track.position))
    partial.replace(path)


def write_demo_files(dbsession, storage):
    """Give each demo album its downloadable ZIP in the store's storage (``storage.IFileStorage``);
    return how many files were written.

    Idempotent: a file already there is kept, and an album that already names its file is left alone.
    """
    import tempfile

    albums = dbsession.scalars(select(Album).where(Album.slug.in_([a["slug"] for a in DEMO_ALBUMS]))).all()
    written = 0
    for album in albums:
        filename = album.download_filename or album_zip_filename(album)
        if not storage.exists(filename):
            with tempfile.TemporaryDirectory() as scratch:
                made = Path(scratch) / "album.zip"
                write_album_zip(album, made)
                storage.store_file(made, filename)
            written += 1
        album.download_filename = filename
    dbsession.flush()
    return written


# --- the demo's track audio and covers (issue: listen before you buy, formats) ----------------------
DEMO_TRACK_SECONDS = 45
DEMO_PREVIEW_START = 5


def cover_jpeg(title, artist):
    """A JPEG cover drawn with Pillow in the drawn SVG cover's colours (covers.cover_svg), so the
    demo's downloads carry a real embedded cover."""
    import hashlib

    from PIL import Image, ImageDraw

    from .covers import PALETTES

    digest = hashlib.sha256(f"{title}\n{artist}".encode()).digest()
    background, accent, ink = PALETTES[digest[0] % len(PALETTES)]
    image = Image.new("RGB", (600, 600), background)
    draw = ImageDraw.Draw(image)
    cx, cy = 120 + digest[1] % 360, 120 + digest[2] % 240
    for i in range(7):
        r = 40 + i * (18 + digest[3] % 14)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=accent, width=2 + digest[4 + i] % 9)
    draw.text((36, 480), title, fill=ink, font_size=44)
    draw.text((38, 540), artist.upper(), fill=ink, font_size=24)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def demo_tune(album_slug, position, notes=8, note_seconds=0.4):
    """A WAV (bytes) of a tune of its own for each album and track: its notes (from SCALE_HZ, an octave
    up or not) chosen by a hash of the two, the same on every run."""
    import hashlib

    digest = hashlib.sha256(f"{album_slug}/{position}".encode()).digest()
    per_note = int(SAMPLE_RATE * note_seconds)
    fade = SAMPLE_RATE // 100
    samples = array("h")
    for n in range(notes):
        hz = SCALE_HZ[digest[n] % len(SCALE_HZ)] * (2 if digest[n + notes] % 3 == 0 else 1) / 2
        step = 2 * math.pi * hz / SAMPLE_RATE
        for i in range(per_note):
            envelope = min(1.0, i / fade, (per_note - i) / fade)
            samples.append(int(9000 * envelope * math.sin(step * i)))
    return _wav(samples)


def write_demo_master(album, track, path):
    """A FLAC of DEMO_TRACK_SECONDS: the track's own tune (demo_tune), looped, with an echo and a fade
    at the end, at CD rate. Different for every track, the same on every run."""
    import subprocess
    import tempfile

    from .services.audio import ffmpeg_exe

    with tempfile.TemporaryDirectory() as scratch:
        tune = Path(scratch) / "tune.wav"
        tune.write_bytes(demo_tune(album.slug, track.position))
        subprocess.run(
            [
                ffmpeg_exe(),
                "-nostdin",
                "-loglevel",
                "error",
                "-y",
                "-stream_loop",
                "-1",
                "-i",
                str(tune),
                "-t",
                str(DEMO_TRACK_SECONDS),
                "-af",
                f"aecho=0.8:0.6:120|240:0.35|0.2,afade=t=out:st={DEMO_TRACK_SECONDS - 3}:d=3",
                "-ar",
                "44100",
                "-ac",
                "2",
                "-c:a",
                "flac",
                str(path),
            ],
            check=True,
            timeout=120,
        )


def write_demo_audio(dbsession, storage):
    """Give each demo album a cover and each demo track its audio (a FLAC master), in the store's
    storage; return the ids of the tracks given audio, whose previews (and the albums' formats) the
    job queue then makes. Idempotent: a track that has its audio, or an album that has its cover, is
    left alone."""
    import tempfile

    from .services.media import MediaStorage

    media = MediaStorage(storage)
    albums = dbsession.scalars(select(Album).where(Album.slug.in_([a["slug"] for a in DEMO_ALBUMS]))).all()
    queued = []
    for album in albums:
        if album.cover_key is None and storage.can_store("covers/demo.jpg"):
            album.cover_key = media.save_cover(
                album.id, io.BytesIO(cover_jpeg(album.title, album.artist)), 10 * 1024 * 1024
            )
        for track in album.tracks:
            if track.audio_filename:
                continue
            with tempfile.TemporaryDirectory() as scratch:
                made = Path(scratch) / "demo.flac"
                write_demo_master(album, track, made)
                track.audio_filename = storage.store_file(made, f"masters/album-{album.id}/track-{track.id}-demo.flac")
            track.audio_format, track.duration_seconds = "flac", DEMO_TRACK_SECONDS
            track.preview_start_seconds, track.audio_state = DEMO_PREVIEW_START, "queued"
            queued.append(track.id)
    dbsession.flush()
    return queued
