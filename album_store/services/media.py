"""The owner's uploads: album covers and the albums' downloadable files, kept in the store's storage.

Covers are checked to be real JPEG, PNG or WebP images with Pillow (the file's own content decides,
never its name or the browser's content type), squared and resized to the sizes the pages show, and
stored as JPEG files ``covers/{key}-{size}.jpg`` (on disk: ``{key}-{size}.jpg`` in ``store.covers_dir``).
A new upload gets a new random key, so a cover's address never shows other content and can be cached
for good.

Download files are ZIP archives, copied from the upload in blocks (never whole in memory), counted as
they go so a file over the limit is refused, checked to be a ZIP, and only then stored as
``uploads/…`` (on disk: in ``store.files_dir/uploads/``) to replace the album's file.

Where the files live is album_store/storage.py's business (local disk or an S3 bucket); none of it is
served as static: covers are served by their own route. Files are stored before the database change
that names them: a new file whose transaction is rolled back is removed, and the file it replaces is
removed only once the new one is committed.
"""

import io
import logging
import re
import secrets
import tempfile
import warnings
import zipfile
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from zope.interface import Interface, implementer

from ..storage import COVERS, IFileStorage

log = logging.getLogger(__name__)

#: The square sizes the pages show a cover at: album page, album cards, receipts and the library.
COVER_SIZES = (600, 300, 160)
COVER_FORMATS = ("JPEG", "PNG", "WEBP")
MIN_COVER_SIDE = 300
MAX_COVER_PIXELS = 50_000_000  # beyond this an upload is refused before it is decoded
COVER_KEY = re.compile(r"[0-9]{1,10}-[0-9a-f]{16}")
UPLOADS = "uploads"
COPY_BLOCK = 1024 * 1024


class UploadRefused(Exception):
    """The upload is not what the store takes; ``str()`` is a message for the form."""


class IMediaStorage(Interface):
    def save_cover(album_id, stream, max_bytes):
        """Check and resize an uploaded cover; write its sizes; return its new key. Raise UploadRefused."""

    def cover_name(key, size):
        """The stored name of a cover's size (for IFileStorage), or None for a key or size that is not one."""

    def save_download(album_id, stream, max_bytes):
        """Store an uploaded ZIP; return its stored name (``uploads/…``). Raise UploadRefused."""

    def forget_cover(key):
        """Remove a cover's files."""

    def forget_download(filename):
        """Remove an uploaded download file (files not uploaded through the store are kept)."""


def _size_words(count):
    return f"{count // (1024 * 1024)} MB" if count >= 1024 * 1024 else f"{count // 1024} KB"


def cover_name(key, size):
    """``covers/{key}-{size}.jpg`` for a well-formed key and one of COVER_SIZES, else None."""
    if not key or not COVER_KEY.fullmatch(key) or size not in COVER_SIZES:
        return None
    return f"{COVERS}/{key}-{size}.jpg"


@implementer(IMediaStorage)
class MediaStorage:
    def __init__(self, storage):
        self.storage = storage

    # --- covers --------------------------------------------------------------------------------
    def save_cover(self, album_id, stream, max_bytes):
        if not self.storage.can_store(f"{COVERS}/new.jpg"):
            raise UploadRefused("Covers cannot be uploaded: the store has no store.covers_dir setting.")
        data = stream.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise UploadRefused(f"The image is larger than {_size_words(max_bytes)}; please upload a smaller one.")
        if not data:
            raise UploadRefused("The file is empty.")
        image = _decode_cover(data)
        key = f"{album_id}-{secrets.token_hex(8)}"
        stored = []
        try:
            with tempfile.TemporaryDirectory(prefix="album-store-cover-") as scratch:
                for size in COVER_SIZES:
                    made = Path(scratch) / f"{size}.jpg"
                    ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS).save(
                        made, "JPEG", quality=86, optimize=True, progressive=True
                    )
                    stored.append(self.storage.store_file(made, cover_name(key, size)))
        except OSError:
            for name in stored:
                self.storage.delete(name)
            raise
        return key

    def cover_name(self, key, size):
        return cover_name(key, size)

    def forget_cover(self, key):
        for size in COVER_SIZES:
            name = cover_name(key, size)
            if name is not None:
                self.storage.delete(name)

    # --- download files ------------------------------------------------------------------------
    def save_download(self, album_id, stream, max_bytes):
        name = f"{UPLOADS}/album-{album_id}-{secrets.token_hex(8)}.zip"
        if not self.storage.can_store(name):
            raise UploadRefused("Files cannot be uploaded: the store has no store.files_dir setting.")
        with self.storage.receive(stream, max_bytes, what="file") as partial:
            if not zipfile.is_zipfile(partial):
                raise UploadRefused("The download must be a ZIP archive of the album's tracks.")
            return self.storage.store_file(partial, name)

    def forget_download(self, filename):
        """Only the owner's uploads: a download file put there by hand (or the demo's) is kept."""
        if filename and filename.startswith(f"{UPLOADS}/"):
            self.storage.delete(filename)


def copy_upload(stream, path, max_bytes, *, what):
    """Copy an upload to ``path`` in COPY_BLOCK blocks (never whole in memory), refusing it once it is
    past ``max_bytes``, or empty; ``what`` names it in the message ("The audio file is empty.")."""
    size = 0
    with open(path, "wb") as out:
        while block := stream.read(COPY_BLOCK):
            size += len(block)
            if size > max_bytes:
                raise UploadRefused(f"The {what} is larger than {_size_words(max_bytes)}.")
            out.write(block)
    if size == 0:
        raise UploadRefused(f"The {what} is empty.")


def _decode_cover(data):
    """The uploaded image, decoded and upright, in RGB; or UploadRefused."""
    too_large = UploadRefused("The image has too many pixels; please upload one of at most 7000 × 7000.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=COVER_FORMATS) as probe:
                if probe.width * probe.height > MAX_COVER_PIXELS:
                    raise too_large
                probe.verify()  # the whole file is well-formed, not just its header
            image = Image.open(io.BytesIO(data), formats=COVER_FORMATS)
            image.load()
    except UploadRefused:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise too_large from error
    # What Pillow raises for files of another kind, or broken ones.
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, TypeError) as error:
        raise UploadRefused("That file is not a JPEG, PNG or WebP image (or it is damaged).") from error
    if min(image.size) < MIN_COVER_SIDE:
        raise UploadRefused(
            f"The image is {image.width} × {image.height} pixels; "
            f"a cover needs at least {MIN_COVER_SIDE} × {MIN_COVER_SIDE}."
        )
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        return flat
    return image.convert("RGB")


def covers_dir_of(settings):
    """``store.covers_dir``, or ``covers/`` inside ``store.files_dir`` when it is not set."""
    if settings.get("store.covers_dir"):
        return settings["store.covers_dir"]
    if settings.get("store.files_dir"):
        return str(Path(settings["store.files_dir"]) / "covers")
    return None


def includeme(config):
    """After album_store.storage (services/__init__.py includes it first)."""
    config.register_service(MediaStorage(config.registry.getUtility(IFileStorage)), IMediaStorage)
