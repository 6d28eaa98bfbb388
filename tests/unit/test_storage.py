"""album_store/storage.py on its own, on both storages: names outside the store's folders are refused,
only its own folders are ever deleted from, files round-trip, ``check()`` tells a readiness endpoint
whether the storage can be used; and the ``store.storage`` settings are checked at start-up."""

import os
import secrets

import pytest
from pyramid.exceptions import ConfigurationError

from album_store.settings import load_settings
from album_store.storage import (
    LocalStorage,
    NameRefused,
    S3Storage,
    StorageUnavailable,
    StoredFileMissing,
    s3_client,
    storage_from_settings,
)
from tests.s3 import BUCKET, FAKE_CREDENTIALS, REGION, fake_aws_credentials


def bucket_storage(moto_s3, **settings):
    with fake_aws_credentials():
        client = s3_client({"storage.s3_endpoint_url": moto_s3.url, "storage.s3_region": REGION})
    return S3Storage(client, settings.pop("bucket", BUCKET), **settings)


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    """A storage of each kind, empty: a folder of its own, or a prefix of its own in the test bucket.
    ``storage.put_outside(text)`` writes a file just outside it (beside the folder, or at the bucket's
    root) and ``storage.outside()`` reads it back."""
    if request.param == "local":
        files = tmp_path / "files"
        files.mkdir()
        storage = LocalStorage(files)
        storage.put_outside = lambda data: (tmp_path / "secret.txt").write_bytes(data)
        storage.outside = lambda: (tmp_path / "secret.txt").read_bytes()
        storage.put_raw = lambda name, data: (
            (files / name).parent.mkdir(parents=True, exist_ok=True),
            (files / name).write_bytes(data),
        )
        return storage
    moto_s3 = request.getfixturevalue("moto_s3")
    prefix = f"unit-{secrets.token_hex(4)}"
    storage = bucket_storage(moto_s3, prefix=prefix)
    storage.put_outside = lambda data: moto_s3.client.put_object(Bucket=BUCKET, Key="secret.txt", Body=data)
    storage.outside = lambda: moto_s3.client.get_object(Bucket=BUCKET, Key="secret.txt")["Body"].read()
    storage.put_raw = lambda name, data: moto_s3.client.put_object(Bucket=BUCKET, Key=f"{prefix}/{name}", Body=data)
    return storage


def stored(storage, tmp_path, name, data):
    made = tmp_path / f"made-{secrets.token_hex(4)}"
    made.write_bytes(data)
    assert storage.store_file(made, name) == name
    assert not made.exists(), "the local file is moved or removed once stored"
    return name


def test_a_stored_file_is_read_back_by_its_name_and_deleted(storage, tmp_path):
    name = stored(storage, tmp_path, "previews/0123456789abcdef0123456789abcdef.mp3", b"ID3 preview bytes")
    assert storage.exists(name) and storage.size(name) == 17 and storage.read_bytes(name) == b"ID3 preview bytes"
    with storage.local_file(name) as path:
        assert path.read_bytes() == b"ID3 preview bytes"
    stored(storage, tmp_path, name, b"replaced")
    assert storage.read_bytes(name) == b"replaced"
    storage.delete(name)
    assert not storage.exists(name) and storage.size(name) is None and storage.read_bytes(name) is None
    storage.delete(name)  # nothing there: no error
    with pytest.raises(StoredFileMissing), storage.local_file(name):
        pass


BAD_NAMES = [
    "../secret.txt",
    "previews/../../secret.txt",
    "/etc/passwd",
    "previews//a.mp3",
    "previews/./a.mp3",
    "previews\\..\\..\\secret.txt",
    "",
    "previews/a\x00.mp3",
    "..",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_name_that_could_leave_the_stores_folders_is_refused_everywhere(storage, tmp_path, name):
    storage.put_outside(b"not the store's")
    calls = []
    if isinstance(storage, S3Storage):  # a bucket may normalise "a/../b" itself: no request at all goes out
        storage.client.meta.events.register(
            "before-call.s3", lambda model, params, **_: calls.append((model.name, params))
        )
    assert not storage.exists(name) and storage.size(name) is None and storage.read_bytes(name) is None
    with pytest.raises(StoredFileMissing), storage.local_file(name):
        pass
    made = tmp_path / "made"
    made.write_bytes(b"x")
    with pytest.raises(NameRefused):
        storage.store_file(made, name)
    storage.delete(name)
    assert storage.outside() == b"not the store's"
    assert calls == []


@pytest.mark.parametrize("name", ["notes.txt", "other/file.txt", "previews", "album.zip"])
def test_only_the_stores_own_folders_are_deleted_from(storage, name):
    storage.put_raw(name, b"kept")
    assert storage.exists(name), "readable: the demo's downloads sit at the top, for one"
    storage.delete(name)
    assert storage.read_bytes(name) == b"kept"


def test_a_link_out_of_the_files_folder_is_not_followed(tmp_path):
    files = tmp_path / "files"
    (files / "previews").mkdir(parents=True)
    (tmp_path / "secret.txt").write_bytes(b"secret")
    (files / "previews" / "a.mp3").symlink_to(tmp_path / "secret.txt")
    storage = LocalStorage(files)
    assert not storage.exists("previews/a.mp3") and storage.read_bytes("previews/a.mp3") is None
    storage.delete("previews/a.mp3")
    assert (tmp_path / "secret.txt").read_bytes() == b"secret"


def test_covers_live_in_the_covers_folder_when_one_is_set(tmp_path):
    storage = LocalStorage(tmp_path / "files", tmp_path / "covers")
    stored(storage, tmp_path, "covers/1-0123456789abcdef-600.jpg", b"jpeg")
    assert (tmp_path / "covers" / "1-0123456789abcdef-600.jpg").read_bytes() == b"jpeg"
    assert not (tmp_path / "files").exists()


def test_an_upload_is_received_into_a_temporary_file_removed_whatever_happens(storage, tmp_path):
    import io

    from album_store.services.media import UploadRefused

    with storage.receive(io.BytesIO(b"a" * 3000), 5000, what="file") as partial:
        assert partial.read_bytes() == b"a" * 3000
        umask = os.umask(0o022)
        os.umask(umask)
        assert partial.stat().st_mode & 0o777 == 0o666 & ~umask, "made like any file: stored as it is on disk"
        stored(storage, tmp_path, "uploads/a.zip", partial.read_bytes())
    assert not partial.exists()
    with pytest.raises(UploadRefused, match="The file is larger than 4 KB."):
        with storage.receive(io.BytesIO(b"a" * 6000), 5000, what="file"):
            pass
    with pytest.raises(RuntimeError), storage.receive(io.BytesIO(b"abc"), 5000, what="file") as partial:
        raise RuntimeError("the caller's check failed")
    assert not partial.exists()


def test_check_passes_on_a_usable_storage_and_says_why_not_otherwise(storage, tmp_path, moto_s3):
    assert storage.check() is None, "the covers folder is made by the first cover"
    with pytest.raises(StorageUnavailable, match="store.files_dir: .*missing is not a folder"):
        LocalStorage(tmp_path / "missing").check()
    with pytest.raises(StorageUnavailable, match="store.covers_dir: .*nowhere is not a folder"):
        LocalStorage(tmp_path, tmp_path / "nowhere" / "covers").check()
    assert LocalStorage(None).check() is None, "no files folder: nothing to check"
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(StorageUnavailable, match="is not a folder"):
        LocalStorage(tmp_path / "a-file").check()
    with pytest.raises(StorageUnavailable, match="no-such-bucket"):
        bucket_storage(moto_s3, bucket="no-such-bucket").check()


def test_check_says_when_the_bucket_cannot_be_reached(moto_s3):
    import socket

    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with fake_aws_credentials():
        client = s3_client({"storage.s3_endpoint_url": f"http://127.0.0.1:{port}", "storage.s3_region": REGION})
    with pytest.raises(StorageUnavailable, match=BUCKET):
        S3Storage(client, BUCKET).check()


def test_a_presigned_download_url_names_the_attachment_and_expires(moto_s3, tmp_path):
    import requests

    storage = bucket_storage(moto_s3, prefix="presign-test/", presign_seconds=120)
    stored(storage, tmp_path, "uploads/a.zip", b"PK zip bytes")
    url = storage.download_url("uploads/a.zip", filename="Band - Album.zip", content_type="application/zip")
    assert url.startswith(f"{moto_s3.url}/{BUCKET}/presign-test/uploads/a.zip?") and "X-Amz-Expires=120" in url
    answer = requests.get(url, timeout=30)
    assert answer.content == b"PK zip bytes"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="Band - Album.zip"'
    streamed = bucket_storage(moto_s3, prefix="presign-test/", downloads="stream")
    assert streamed.download_url("uploads/a.zip", filename="x.zip", content_type="application/zip") is None
    assert (
        LocalStorage(tmp_path).download_url("uploads/a.zip", filename="x.zip", content_type="application/zip") is None
    )


# --- settings --------------------------------------------------------------------------------------
def test_local_storage_is_the_default_and_keeps_the_folders(tmp_path):
    settings = load_settings({"store.files_dir": str(tmp_path)}, environ={})
    assert settings["store.storage"] == "local" and settings["storage.downloads"] == "presigned"
    assert settings["storage.presign_seconds"] == "300"
    storage = storage_from_settings(settings)
    assert isinstance(storage, LocalStorage) and storage.covers_dir == tmp_path.resolve() / "covers"


def test_every_storage_setting_has_its_environment_variable(moto_s3):
    environ = {
        "STORE_STORAGE": "S3",
        "STORAGE_S3_BUCKET": BUCKET,
        "STORAGE_S3_ENDPOINT_URL": moto_s3.url,
        "STORAGE_S3_REGION": REGION,
        "STORAGE_S3_PREFIX": "/from-env/",
        "STORAGE_DOWNLOADS": "stream",
        "STORAGE_PRESIGN_SECONDS": "60",
    }
    settings = load_settings({"store.storage": "local"}, environ=environ)
    assert (settings["store.storage"], settings["storage.downloads"], settings["storage.presign_seconds"]) == (
        "s3",
        "stream",
        "60",
    )
    with fake_aws_credentials():
        storage = storage_from_settings(settings)
    assert isinstance(storage, S3Storage) and storage.bucket == BUCKET and storage.prefix == "from-env/"
    assert storage.description == f"s3://{BUCKET}/from-env/" and storage.check() is None


@pytest.mark.parametrize(
    "settings, words",
    [
        (
            {"store.storage": "ftp"},
            "Setting store.storage (environment STORE_STORAGE) must be one of local, s3, not 'ftp'.",
        ),
        ({"store.storage": "s3"}, "Setting storage.s3_bucket (environment STORAGE_S3_BUCKET) is missing"),
        (
            {"store.storage": "s3", "storage.s3_bucket": "  "},
            "Setting storage.s3_bucket (environment STORAGE_S3_BUCKET) is missing",
        ),
        (
            {"storage.downloads": "email"},
            "Setting storage.downloads (environment STORAGE_DOWNLOADS) must be one of presigned, stream",
        ),
        ({"storage.presign_seconds": "0"}, "Setting storage.presign_seconds (environment STORAGE_PRESIGN_SECONDS)"),
        ({"storage.presign_seconds": "604801"}, "Setting storage.presign_seconds"),
        ({"storage.presign_seconds": "5 min"}, "Setting storage.presign_seconds"),
        (
            {"storage.s3_endpoint_url": "minio:9000"},
            "Setting storage.s3_endpoint_url (environment STORAGE_S3_ENDPOINT_URL)",
        ),
        ({"storage.s3_prefix": "shop/../other"}, "Setting storage.s3_prefix (environment STORAGE_S3_PREFIX)"),
        (
            {"storage.s3_secret_access_key": "abc"},
            "Setting storage.s3_secret_access_key: the store takes no cloud credentials",
        ),
        ({"aws_access_key_id": "AKIA"}, "Setting aws_access_key_id: the store takes no cloud credentials"),
    ],
)
def test_a_storage_setting_that_cannot_work_stops_the_start_naming_it(settings, words):
    with pytest.raises(ConfigurationError) as refused:
        load_settings(settings, environ={})
    assert words in str(refused.value)


def test_no_cloud_credential_is_in_the_repositorys_settings():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent.parent
    for path in root.glob("*.ini"):
        settings = [line.lower() for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
        assert not [line for line in settings if "aws_" in line or "access_key" in line], path
    for path in [*root.glob("*.ini"), *(root / "album_store").rglob("*.py")]:
        assert not re.search(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", path.read_text()), path
    assert os.environ.get("AWS_SECRET_ACCESS_KEY") != FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"], (
        "the tests' fake credentials stay out of the environment outside the blocks that make clients"
    )


def test_the_demos_files_are_written_to_the_storage_once(storage, dbsession):
    from sqlalchemy import select

    from album_store.demo import seed_demo_catalog, write_demo_files
    from album_store.models import Album

    seed_demo_catalog(dbsession, "usd")
    assert write_demo_files(dbsession, storage) == 7
    dbsession.commit()
    names = [album.download_filename for album in dbsession.scalars(select(Album))]
    assert len(names) == 7 and all(storage.size(name) > 1000 for name in names)
    assert write_demo_files(dbsession, storage) == 0, "a second run keeps what is there"
