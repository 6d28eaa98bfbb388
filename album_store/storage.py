"""Where the store's files live: one interface, :class:`IFileStorage`, on local disk or in an S3 bucket.

Every file the store keeps has a **name**: a relative, ``/``-separated path whose first part says what
it is. The services choose the names; this module alone decides where a name lives, and refuses any
name that could reach anything else:

===============================  ==========================================================
``covers/{key}-{size}.jpg``      the owner's covers, resized (services/media.py)
``uploads/album-N-….zip``        the owner's uploaded download ZIPs (services/media.py)
``masters/album-N/track-…``      track masters (services/audio.py)
``previews/{hash}.mp3``          previews, named by their content (services/audio.py)
``formats/album-N/….zip``        the download ZIP of each format (services/audio.py)
``{slug}.zip``                   the demo's downloads (``album-store initdb --demo``)
===============================  ==========================================================

``store.storage`` chooses the implementation (settings.py checks the settings at start-up):

- ``local`` (the default), :class:`LocalStorage`: ``store.files_dir/{name}``, with ``covers/…`` in
  ``store.covers_dir`` (``files_dir/covers`` when that is not set): the folders and names the store
  always used.
- ``s3``, :class:`S3Storage`: the object ``{storage.s3_prefix}{name}`` in ``storage.s3_bucket``, through
  boto3 (``storage.s3_endpoint_url`` for an S3-compatible service other than AWS). Credentials come
  only from boto3's own chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile, an
  instance or task role), never from the store's settings.

The guarantees, the same for both:

- A name is refused (:class:`NameRefused`) when it is absolute, holds ``..``, ``.``, an empty part, a
  backslash or a control character. Reading a refused name is reading nothing (``None``); deleting one
  does nothing; storing under one raises. Local storage also refuses a name that resolves (through a
  link) outside its folder.
- Only the store's own folders (:data:`OWN_FOLDERS`) are ever deleted from.
- Nothing is half-written under a name: an upload is copied (in blocks, with its size limit) to a
  temporary file first, checked there by the caller, and stored only then; a refused upload leaves
  nothing behind (:meth:`IFileStorage.receive`).
- Work that needs a real file (ffmpeg, mutagen) asks for :meth:`IFileStorage.local_file`: the file
  itself on disk, a temporary copy from the bucket; its results are made in a temporary folder and
  stored with :meth:`IFileStorage.store_file`.

Serving: :meth:`IFileStorage.response` streams a file, with Range requests (206, 416) answered by
WebOb from the object's length; in a bucket each range is one ``get_object(Range=…)``, so the store's
own URLs for covers and previews stay what they are and cacheable. :meth:`IFileStorage.download_url`
gives a short-lived presigned URL for a buyer's download when ``storage.downloads = presigned`` (S3
only); the view checks the purchase first, as always, then redirects to it.
"""

import logging
import mimetypes
import os
import re
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from pyramid.exceptions import ConfigurationError
from pyramid.response import FileResponse, Response
from zope.interface import Attribute, Interface, implementer

log = logging.getLogger(__name__)

#: The folders the store writes its own files into: the only places anything is deleted from.
OWN_FOLDERS = ("covers", "uploads", "masters", "previews", "formats")
COVERS = "covers"
BLOCK = 1024 * 1024
_BAD_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\\]")


class StorageError(OSError):
    """The storage could not do what was asked (the bucket unreachable, a refusal): an OSError, so the
    jobs that catch OSError from the disk treat it the same way (retry, then fail with the reason)."""


class StoredFileMissing(StorageError, FileNotFoundError):
    """No file is stored under that name."""


class NameRefused(ValueError):
    """The name is not one of the store's: absolute, with ``..``, or otherwise outside its folders."""


class StorageUnavailable(Exception):
    """:meth:`IFileStorage.check` failed; ``str()`` says why (for a readiness endpoint)."""


def clean_name(name):
    """``name`` when it is a safe relative name (see the module's docstring), else NameRefused."""
    if not isinstance(name, str) or not name or len(name) > 900 or _BAD_CHARACTERS.search(name):
        raise NameRefused(repr(name))
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise NameRefused(repr(name))
    return name


def own_name(name):
    """``name`` when it is also inside one of OWN_FOLDERS (what may be deleted), else NameRefused."""
    clean_name(name)
    if name.split("/", 1)[0] not in OWN_FOLDERS or "/" not in name:
        raise NameRefused(repr(name))
    return name


def content_type_of(name):
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


class IFileStorage(Interface):
    """The store's files by name. Found with ``request.find_service(IFileStorage)`` in a request and
    ``registry.getUtility(IFileStorage)`` in a job."""

    description = Attribute("Where the files are, for messages: a folder, or s3://bucket/prefix.")

    def can_store(name):
        """Whether a file could be stored under ``name`` (local storage without the folder cannot)."""

    def exists(name):
        """Whether a file is stored under ``name`` (False for a refused name)."""

    def size(name):
        """The stored file's length in bytes, or None when there is none (or the name is refused)."""

    def read_bytes(name):
        """A small file's content (a cover for the tags), or None when there is none."""

    def local_file(name):
        """Context manager: a local path holding the file's content while the block runs (the file
        itself on disk; a temporary copy from a bucket, removed afterwards). Raise StoredFileMissing."""

    def receive(stream, max_bytes, *, what):
        """Context manager: copy an upload (``stream.read`` in blocks) to a temporary local file and
        yield its path, refusing it (``media.UploadRefused``) past ``max_bytes`` or empty. The caller
        checks the file and stores it with :meth:`store_file` inside the block; whatever is left of it
        when the block ends (refused, failed or stored) is removed."""

    def store_file(path, name):
        """Store the finished local file ``path`` under ``name`` (replacing what was there; all or
        nothing for a reader); the local file is moved or removed. Return ``name``."""

    def delete(name):
        """Delete the file stored under ``name``, when it is inside one of OWN_FOLDERS (else nothing,
        logged). Deleting is clean-up after the database moved on: no error when there is no such file,
        and a failure is logged (an orphan file, never a broken page), not raised."""

    def response(request, name, *, content_type):
        """A Response streaming the file (Range requests answered), or None when there is none."""

    def download_url(name, *, filename, content_type):
        """A short-lived URL the buyer's browser fetches the file from itself, as an attachment named
        ``filename``; None when the store streams it (local storage, ``storage.downloads = stream``)."""

    def check():
        """A cheap check that the storage can be used (local: its folders exist and are writable; S3:
        ``head_bucket``). Return None; raise StorageUnavailable with the reason."""


def _refused(action, name):
    log.warning("storage: %s refused for the name %r (not one of the store's)", action, name)


# --- local disk ------------------------------------------------------------------------------------
@implementer(IFileStorage)
class LocalStorage:
    """``store.files_dir`` (and ``store.covers_dir`` for covers/…): the folders the store always used."""

    def __init__(self, files_dir, covers_dir=None):
        self.files_dir = Path(files_dir).resolve() if files_dir else None
        if covers_dir:
            self.covers_dir = Path(covers_dir).resolve()
        else:
            self.covers_dir = self.files_dir / COVERS if self.files_dir is not None else None
        self.description = str(self.files_dir) if self.files_dir else "(no store.files_dir)"

    def _root(self, name):
        return self.covers_dir if name.split("/", 1)[0] == COVERS else self.files_dir

    def path(self, name):
        """The local path of ``name`` (which may not exist), or None when its folder is not set.
        Raise NameRefused for a name outside the folder."""
        clean_name(name)
        root = self._root(name)
        if root is None:
            return None
        relative = name.split("/", 1)[1] if root is self.covers_dir else name
        path = (root / relative).resolve()
        if not path.is_relative_to(root):
            raise NameRefused(repr(name))
        return path

    def _existing(self, name):
        try:
            path = self.path(name)
        except NameRefused:
            _refused("reading", name)
            return None
        return path if path is not None and path.is_file() else None

    def can_store(self, name):
        return self._root(clean_name(name)) is not None

    def exists(self, name):
        return self._existing(name) is not None

    def size(self, name):
        path = self._existing(name)
        return path.stat().st_size if path is not None else None

    def read_bytes(self, name):
        path = self._existing(name)
        return path.read_bytes() if path is not None else None

    @contextmanager
    def local_file(self, name):
        path = self._existing(name)
        if path is None:
            raise StoredFileMissing(f"no stored file {name!r}")
        yield path

    @contextmanager
    def receive(self, stream, max_bytes, *, what):
        from .services.media import copy_upload

        if self.files_dir is None:
            raise StorageError("store.files_dir is not set")
        # In the files folder itself, so storing it is a rename on the same disk (and made as any other
        # file of the store's, with the process's umask: not mkstemp's owner-only mode).
        self.files_dir.mkdir(parents=True, exist_ok=True)
        partial = self.files_dir / f".upload-{secrets.token_hex(8)}.partial"
        try:
            copy_upload(stream, partial, max_bytes, what=what)
            yield partial
        finally:
            partial.unlink(missing_ok=True)

    def store_file(self, path, name):
        target = self.path(name)
        if target is None:
            raise StorageError(f"no folder is set for {name!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        try:
            try:
                os.replace(path, target)  # the same disk: at once
                return name
            except OSError:
                pass  # another disk (a temporary folder): copied beside the target, then renamed
            with open(path, "rb") as source, open(partial, "wb") as out:
                shutil.copyfileobj(source, out, BLOCK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
            Path(path).unlink(missing_ok=True)
        finally:
            partial.unlink(missing_ok=True)
        return name

    def delete(self, name):
        try:
            own_name(name)
            path = self.path(name)
        except NameRefused:
            _refused("deleting", name)
            return
        if path is None:
            return
        try:
            path.unlink(missing_ok=True)
        except OSError:
            log.exception("storage: could not delete %s", path)

    def response(self, request, name, *, content_type):
        path = self._existing(name)
        if path is None:
            return None
        # FileResponse hands the open file to the server's file wrapper (or reads it in blocks).
        return FileResponse(str(path), request=request, content_type=content_type)

    def download_url(self, name, *, filename, content_type):
        return None

    def check(self):
        """``store.files_dir`` is a folder the store can write to; so is the covers folder, or (not made
        yet: the first cover makes it) the folder it is to be made in. Without store.files_dir (a store
        whose albums have no files) there is nothing to check."""
        folders = [("store.files_dir", self.files_dir)]
        if self.covers_dir is not None:
            covers = self.covers_dir if self.covers_dir.exists() else self.covers_dir.parent
            folders.append(("store.covers_dir", covers))
        for label, folder in folders:
            if folder is None:
                continue
            if not folder.is_dir():
                raise StorageUnavailable(f"{label}: {folder} is not a folder")
            if not os.access(folder, os.W_OK | os.X_OK):
                raise StorageUnavailable(f"{label}: {folder} is not writable")


# --- an S3 bucket ----------------------------------------------------------------------------------
class _ObjectBody:
    """A WSGI app_iter over an object (or a range of it), fetched when first iterated (a HEAD fetches
    nothing). ``app_iter_range`` is what WebOb calls for a Range request: one ranged ``get_object``."""

    def __init__(self, storage, key, start=0, stop=None):
        self.storage, self.key, self.start, self.stop = storage, key, start, stop
        self._body = None

    def __iter__(self):
        arguments = {"Bucket": self.storage.bucket, "Key": self.key}
        if self.start or self.stop is not None:
            arguments["Range"] = f"bytes={self.start}-{'' if self.stop is None else self.stop - 1}"
        with self.storage.errors(self.key):
            self._body = self.storage.client.get_object(**arguments)["Body"]
        try:
            yield from self._body.iter_chunks(BLOCK)
        finally:
            self.close()

    def app_iter_range(self, start, stop):
        return _ObjectBody(self.storage, self.key, start, stop)

    def close(self):
        if self._body is not None:
            self._body.close()
            self._body = None


@implementer(IFileStorage)
class S3Storage:
    """Objects ``{prefix}{name}`` in one bucket. ``client`` is a boto3 S3 client."""

    def __init__(self, client, bucket, *, prefix="", downloads="presigned", presign_seconds=300):
        self.client = client
        self.bucket = bucket
        self.prefix = normalise_prefix(prefix)
        self.downloads = downloads
        self.presign_seconds = int(presign_seconds)
        self.description = f"s3://{bucket}/{self.prefix}"

    def key(self, name):
        """The object key of ``name``; NameRefused for a name that is not the store's."""
        return self.prefix + clean_name(name)

    @contextmanager
    def errors(self, key):
        """botocore's exceptions as the store's: a missing object as StoredFileMissing, others as StorageError."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                raise StoredFileMissing(f"no object {key!r} in {self.bucket}") from error
            raise StorageError(f"S3 refused {key!r}: {code or error}") from error
        except BotoCoreError as error:
            raise StorageError(f"S3 could not be reached for {key!r}: {error}") from error

    def _fetch(self, name, call):
        """``call(key)`` for the object of ``name``; None when the name is refused or nothing is stored."""
        try:
            key = self.key(name)
        except NameRefused:
            _refused("reading", name)
            return None
        try:
            with self.errors(key):
                return call(key)
        except StoredFileMissing:
            return None

    def _head(self, name):
        return self._fetch(name, lambda key: self.client.head_object(Bucket=self.bucket, Key=key))

    def can_store(self, name):
        self.key(name)
        return True

    def exists(self, name):
        return self._head(name) is not None

    def size(self, name):
        head = self._head(name)
        return head["ContentLength"] if head is not None else None

    def read_bytes(self, name):
        return self._fetch(name, lambda key: self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    @contextmanager
    def local_file(self, name):
        try:
            key = self.key(name)
        except NameRefused as error:
            raise StoredFileMissing(f"no stored file {name!r}") from error
        with tempfile.TemporaryDirectory(prefix="album-store-") as scratch:
            path = Path(scratch) / PurePosixPath(name).name
            with self.errors(key):
                self.client.download_file(self.bucket, key, str(path))
            yield path

    @contextmanager
    def receive(self, stream, max_bytes, *, what):
        from .services.media import copy_upload

        with tempfile.TemporaryDirectory(prefix="album-store-upload-") as scratch:
            partial = Path(scratch) / "upload.partial"
            copy_upload(stream, partial, max_bytes, what=what)
            yield partial

    def store_file(self, path, name):
        key = self.key(name)
        # upload_file sends a large file in parts (s3transfer); the object appears only once complete.
        with self.errors(key):
            self.client.upload_file(str(path), self.bucket, key, ExtraArgs={"ContentType": content_type_of(name)})
        Path(path).unlink(missing_ok=True)
        return name

    def delete(self, name):
        try:
            key = self.prefix + own_name(name)
        except NameRefused:
            _refused("deleting", name)
            return
        try:
            with self.errors(key):
                self.client.delete_object(Bucket=self.bucket, Key=key)
        except StorageError:
            log.exception("storage: could not delete s3://%s/%s", self.bucket, key)

    def response(self, request, name, *, content_type):
        head = self._head(name)
        if head is None:
            return None
        response = Response(
            app_iter=_ObjectBody(self, self.key(name)), content_type=content_type, conditional_response=True
        )
        response.content_length = head["ContentLength"]
        response.last_modified = head.get("LastModified")
        if head.get("ETag"):
            response.etag = head["ETag"].strip('"')
        return response

    def download_url(self, name, *, filename, content_type):
        if self.downloads != "presigned":
            return None
        with self.errors(self.key(name)):
            return self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self.key(name),
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition": f'attachment; filename="{filename}"',
                },
                ExpiresIn=self.presign_seconds,
            )

    def check(self):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            raise StorageUnavailable(
                f"bucket {self.bucket}: {error.response.get('Error', {}).get('Code', error)}"
            ) from error
        except BotoCoreError as error:
            raise StorageUnavailable(f"bucket {self.bucket}: {error}") from error


def normalise_prefix(prefix):
    """``storage.s3_prefix`` as a key prefix: no leading slash, one trailing one ("" for none)."""
    prefix = (prefix or "").strip().strip("/")
    if not prefix:
        return ""
    clean_name(prefix)
    return prefix + "/"


def s3_client(settings):
    """A boto3 S3 client for the settings; credentials from boto3's own chain only."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"}, signature_version="s3v4"
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.get("storage.s3_endpoint_url") or None,
        region_name=settings.get("storage.s3_region") or None,
        config=config,
    )


def storage_from_settings(settings):
    """The storage ``store.storage`` names (settings already checked by settings.load_settings)."""
    kind = settings.get("store.storage", "local")
    if kind == "local":
        from .services.media import covers_dir_of

        return LocalStorage(settings.get("store.files_dir"), covers_dir_of(settings))
    if kind == "s3":
        return S3Storage(
            s3_client(settings),
            settings["storage.s3_bucket"],
            prefix=settings.get("storage.s3_prefix", ""),
            downloads=settings.get("storage.downloads", "presigned"),
            presign_seconds=settings.get("storage.presign_seconds", 300),
        )
    raise ConfigurationError(f"Setting store.storage must be local or s3, not {kind!r}.")


def includeme(config):
    """One storage for the app: a pyramid_services service for requests, a utility for the jobs."""
    storage = storage_from_settings(config.get_settings())
    config.registry.registerUtility(storage, IFileStorage)
    config.register_service(storage, IFileStorage)
