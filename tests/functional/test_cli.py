"""The album-store command: initdb (with the demo catalog), create-admin."""
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from album_store.cli import main as cli
from album_store.models import Album, Track, User
from album_store.security import verify_password


@pytest.fixture
def fresh_ini(scratch_database_url, tmp_path):
    """An ini for an empty database (SQLite, or a schema of its own on PostgreSQL), and an engine on it."""
    path = tmp_path / "fresh.ini"
    url = scratch_database_url.replace("%", "%%")
    path.write_text(f"[app:main]\nuse = egg:album_store\nsqlalchemy.url = {url}\n")
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
