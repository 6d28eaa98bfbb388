"""The album-store command: initdb (with the demo catalog), create-admin."""

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from album_store.cli import main as cli
from album_store.models import Album, Track, User
from album_store.passwords import verify_password


@pytest.fixture
def fresh_ini(scratch_database_url, tmp_path):
    """An ini for an empty database (SQLite, or a schema of its own on PostgreSQL), and an engine on it.
    ``--demo`` builds the app, which needs its job queue: a SQLite file here, as in development.ini."""
    path = tmp_path / "fresh.ini"
    url = scratch_database_url.replace("%", "%%")
    path.write_text(
        f"[app:main]\nuse = egg:album_store\nsqlalchemy.url = {url}\n"
        f"jobs.backend = sqlite\njobs.sqlite_path = {tmp_path / 'jobs.sqlite3'}\n"
    )
    engine = create_engine(scratch_database_url, poolclass=NullPool)
    yield path, engine
    engine.dispose()


def test_initdb_migrates_and_seeds_the_demo_catalog_once(fresh_ini, capsys):
    ini, engine = fresh_ini
    assert cli(["initdb", str(ini), "--demo"]) == 0
    assert cli(["initdb", str(ini), "--demo"]) == 0
    assert "7 albums added" in capsys.readouterr().out
    with Session(engine) as session:
        albums = session.scalars(select(Album)).all()
        assert len(albums) == 7
        assert len({a.artist for a in albums}) >= 2
        assert sum(not a.is_published for a in albums) == 1
        prices = {a.price_cents for a in albums}
        assert {999, 1999, 995} <= prices, "prices a float would get wrong"
        for album in albums:
            assert 6 <= len(album.tracks) <= 12
        assert session.scalar(select(func.count()).select_from(Track)) == sum(len(a.tracks) for a in albums)


def test_initdb_without_demo_leaves_the_catalog_empty(fresh_ini):
    ini, engine = fresh_ini
    assert cli(["initdb", str(ini)]) == 0
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Album)) == 0


def test_create_admin_creates_then_promotes(fresh_ini, capsys):
    ini, engine = fresh_ini
    cli(["initdb", str(ini)])
    assert cli(["create-admin", str(ini), "--email", "Owner@Example.com", "--password", "correct horse battery"]) == 0
    assert cli(["create-admin", str(ini), "--email", "owner@example.com", "--password", "another long password"]) == 0
    out = capsys.readouterr().out
    assert "Created store owner owner@example.com" in out and "Promoted store owner owner@example.com" in out
    with Session(engine) as session:
        [user] = session.scalars(select(User)).all()
        assert user.email == "owner@example.com" and user.is_admin
        assert verify_password(user.password_hash, "another long password")
        assert not verify_password(user.password_hash, "correct horse battery")


def test_create_admin_refuses_a_short_password(fresh_ini, capsys):
    ini, engine = fresh_ini
    cli(["initdb", str(ini)])
    assert cli(["create-admin", str(ini), "--email", "owner@example.com", "--password", "short"]) == 2
    assert "at least 10 characters" in capsys.readouterr().err
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_initdb_demo_gives_every_demo_album_a_zip_of_short_wav_tracks_once(fresh_ini, tmp_path, capsys):
    import io
    import wave
    import zipfile

    ini, engine = fresh_ini
    files = tmp_path / "files"
    ini.write_text(ini.read_text() + f"store.files_dir = {files}\n")
    assert cli(["initdb", str(ini), "--demo", "--no-audio"]) == 0
    assert "Demo downloads: 7 files written" in capsys.readouterr().out
    before = {path.name: path.stat().st_mtime_ns for path in files.iterdir()}
    assert cli(["initdb", str(ini), "--demo", "--no-audio"]) == 0
    assert "Demo downloads: 0 files written" in capsys.readouterr().out
    assert {path.name: path.stat().st_mtime_ns for path in files.iterdir()} == before

    with Session(engine) as session:
        for album in session.scalars(select(Album)):
            path = files / album.download_filename
            assert path.stat().st_size < 1_000_000, "small"
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                assert len(names) == len(album.tracks)
                assert names[0] == f"{album.artist} - {album.title}/01 {album.tracks[0].title}.wav"
                for name in names:
                    with wave.open(io.BytesIO(archive.read(name))) as track:
                        assert track.getnchannels() == 1 and 8000 <= track.getframerate() <= 22050
                        assert 2 <= track.getnframes() / track.getframerate() <= 10


def test_create_admin_refuses_a_common_password(fresh_ini, capsys):
    ini, engine = fresh_ini
    cli(["initdb", str(ini)])
    assert cli(["create-admin", str(ini), "--email", "owner@example.com", "--password", "password1234"]) == 2
    assert "common password" in capsys.readouterr().err


def test_initdb_demo_makes_the_demo_owner_once_and_prints_how_to_sign_in(fresh_ini, capsys):
    from album_store.demo import DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD

    ini, engine = fresh_ini
    assert cli(["initdb", str(ini), "--demo"]) == 0
    assert f"Demo store owner: {DEMO_OWNER_EMAIL} with the password {DEMO_OWNER_PASSWORD}" in capsys.readouterr().out
    with Session(engine) as session:
        [owner] = session.scalars(select(User)).all()
        kept_hash = owner.password_hash
        assert owner.email == DEMO_OWNER_EMAIL and owner.is_admin and owner.email_confirmed_at is not None
        assert verify_password(owner.password_hash, DEMO_OWNER_PASSWORD)
    assert cli(["initdb", str(ini), "--demo"]) == 0
    assert "is there already" in capsys.readouterr().out
    with Session(engine) as session:
        assert [u.password_hash for u in session.scalars(select(User))] == [kept_hash]


def test_no_demo_owner_where_secrets_are_required(fresh_ini, capsys):
    ini, engine = fresh_ini
    ini.write_text(
        ini.read_text()
        + "\n".join(
            [
                "store.require_secrets = true",
                "stripe.secret_key = sk_test_" + "a" * 24,
                "stripe.publishable_key = pk_test_" + "b" * 24,
                "stripe.webhook_secret = whsec_" + "c" * 24,
                "store.secret = " + "d" * 40,
                "store.url = https://shop.example.com",
            ]
        )
        + "\n"
    )
    assert cli(["initdb", str(ini), "--demo"]) == 0
    assert "No demo owner where secrets are required" in capsys.readouterr().out
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_initdb_demo_gives_every_demo_track_its_own_audio_and_queues_its_preview_once(fresh_ini, tmp_path, capsys):
    import hashlib

    import mutagen

    from album_store.demo import DEMO_TRACK_SECONDS
    from album_store.jobs import make_huey

    ini, engine = fresh_ini
    files, queue_file = tmp_path / "files", tmp_path / "jobs.sqlite3"  # the fixture's queue
    ini.write_text(ini.read_text() + f"store.files_dir = {files}\n")
    assert cli(["initdb", str(ini), "--demo"]) == 0
    with Session(engine) as session:
        tracks = session.scalars(select(Track)).all()
        albums = session.scalars(select(Album)).all()
        digests = set()
        for track in tracks:
            audio = mutagen.File(files / track.audio_filename)
            assert (track.audio_format, track.audio_state, track.duration_seconds) == (
                "flac",
                "queued",
                DEMO_TRACK_SECONDS,
            )
            assert abs(audio.info.length - DEMO_TRACK_SECONDS) < 0.1 and audio.info.sample_rate == 44100
            digests.add(hashlib.sha256((files / track.audio_filename).read_bytes()).hexdigest())
        assert len(digests) == len(tracks), "a different piece for every track"
        assert all(album.cover_key for album in albums)
    queue = make_huey({"jobs.backend": "sqlite", "jobs.sqlite_path": str(queue_file)})
    assert queue.pending_count() == len(tracks)
    assert f"Demo audio: {len(tracks)} tracks" in capsys.readouterr().out
    assert cli(["initdb", str(ini), "--demo"]) == 0
    assert queue.pending_count() == len(tracks), "a second run gives nothing new to do"
    assert "Demo audio" not in capsys.readouterr().out


def test_pshell_setup_gives_the_session_the_transaction_models_and_services_and_commits_nothing(ini_file, dbsession):
    """``pshell CONFIG`` (the inis' ``[pshell]``): what album_store/pshell.py puts in the shell works,
    and whatever is left uncommitted when the shell ends is rolled back."""
    from pyramid.paster import bootstrap

    from album_store.pshell import setup
    from album_store.services.accounts import IAccountService

    with bootstrap(str(ini_file)) as env:
        shell = setup(env)
        next(shell)
        assert {"dbsession", "tm", "models", "find_service"} <= set(env)
        models, accounts = env["models"], env["find_service"](IAccountService)
        assert models.User is User
        user, created = accounts.make_owner("shell@example.com", "a long and unusual password")
        assert created and env["dbsession"].scalar(select(func.count()).select_from(models.User)) == 1
        shell.close()  # the shell ends
        env["registry"]["db_engine"].dispose()
    assert dbsession.scalar(select(func.count()).select_from(User)) == 0, (
        "nothing typed is committed unless tm.commit()"
    )


def test_every_ini_names_the_migrations_and_the_pshell_setup_the_cli_uses():
    """``alembic -c development.ini upgrade head`` and ``pshell development.ini`` find what the CLI uses."""
    from configparser import ConfigParser
    from pathlib import Path

    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from pyramid.path import DottedNameResolver

    import album_store
    from album_store.cli import MIGRATIONS, alembic_config
    from album_store.pshell import setup

    root = Path(__file__).resolve().parents[2]
    package = Path(album_store.__file__).resolve().parent
    for name in ("development.ini", "production.ini", "testing.ini"):
        ini = ConfigParser(interpolation=None)
        ini.read(root / name)
        assert ini["alembic"]["script_location"] == MIGRATIONS, name
        assert DottedNameResolver().resolve(ini["pshell"]["setup"]) is setup, name
        script = ScriptDirectory.from_config(Config(str(root / name)))
        assert Path(script.dir).resolve() == package / "alembic", f"{name}: migrations inside the package"
    assert (
        Path(ScriptDirectory.from_config(alembic_config({"sqlalchemy.url": "sqlite://"})).dir).resolve()
        == package / "alembic"
    )
