"""The project's own promises: CI runs the README's commands, and the suite stays offline."""
from pathlib import Path
import re
import socket

import pytest

from tests.conftest import STRIPE_MODE, InternetAccessError

ROOT = Path(__file__).resolve().parent.parent.parent


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make run" in readme and "make test" in readme
    assert re.search(r"^make test\b", ci, re.M) or re.search(r"\bmake test\b", ci)
    targets = re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.M)
    assert {"run", "test"} <= set(targets)


def test_ci_runs_the_suite_on_sqlite_and_postgresql_with_the_browser_tests_required():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make browser" in ci and "ALBUM_STORE_REQUIRE_BROWSER=1" in ci
    assert "devtools/test_postgresql.sh create" in ci
    assert re.search(r"^pass SQLite .*\bmake test$", ci, re.M)
    assert re.search(r'^pass PostgreSQL .*\benv TEST_DATABASE_URL="\$database_url" make test$', ci, re.M)
    targets = re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.M)
    assert {"browser", "screenshots"} <= set(targets)


def test_playwright_never_downloads_a_browser():
    for path in [ROOT / "Makefile", ROOT / ".ci" / "run", *(ROOT / "devtools").glob("*.*")]:
        assert "playwright install" not in path.read_text(), path
    assert "apt-get install -y -q chromium" in (ROOT / "devtools" / "install_chromium.sh").read_text()


def test_dependencies_are_pinned_in_the_lock_file_make_installs_with():
    makefile = (ROOT / "Makefile").read_text()
    assert "-c constraints.txt" in makefile
    pins = dict(
        line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    for package in ("pyramid", "SQLAlchemy", "alembic", "stripe", "waitress", "localstripe", "playwright", "psycopg"):
        assert package in pins, package
    assert pins["localstripe"] == "1.15.10"


def test_the_stand_in_is_not_part_of_the_store_package():
    for path in (ROOT / "album_store").rglob("*.py"):
        source = path.read_text()
        assert "localstripe" not in source and "stripe_standin" not in source, path


def test_views_never_import_stripe():
    for path in (ROOT / "album_store" / "views").rglob("*.py"):
        assert not re.search(r"^\s*(import stripe|from stripe)", path.read_text(), re.M), path


def test_no_secret_is_committed():
    for path in list(ROOT.glob("*.ini")) + list((ROOT / "album_store").rglob("*.py")):
        text = path.read_text()
        assert not re.search(r"sk_live_[0-9A-Za-z]{8,}", text), path
        assert not re.search(r"sk_test_[0-9A-Za-z]{20,}", text), path


@pytest.mark.skipif(STRIPE_MODE != "standin", reason="the suite talks to Stripe itself in this run")
def test_the_suite_cannot_reach_the_internet():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(InternetAccessError):
            sock.connect(("93.184.216.34", 443))
    finally:
        sock.close()
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        assert probe.connect_ex(("127.0.0.1", 9)) != 0  # loopback is allowed (nothing listens there)
    finally:
        probe.close()
