"""The project's own promises: CI runs the README's commands, and the suite stays offline."""

import os
import re
import socket
from pathlib import Path

import pytest

from tests.conftest import STRIPE_MODE, InternetAccessError

ROOT = Path(__file__).resolve().parent.parent.parent


RECORDER = """#!/bin/sh
# Records one call: its arguments and the environment CI gives it.
printf '%s|TEST_DATABASE_URL=%s|ALBUM_STORE_REQUIRE_BROWSER=%s|ALBUM_STORE_REQUIRE_SERVICES=%s\\n' \
"$*" "${TEST_DATABASE_URL-}" \
  "${ALBUM_STORE_REQUIRE_BROWSER-}" "${ALBUM_STORE_REQUIRE_SERVICES-}" >> "$CALLS"
"""
FAKE_BASH = """#!/bin/sh
# devtools/test_postgresql.sh stands in for itself: a URL, no database; any other script runs for real.
if [ "$1" = devtools/test_postgresql.sh ]; then
  echo "$*" | sed 's/^/postgres: /' >> "$CALLS"
  [ "$2" = create ] && echo "postgresql+psycopg:///$3?host=/fake"
  exit 0
fi
exec /bin/bash "$@"
"""


def test_ci_runs_make_test_on_sqlite_then_on_postgresql_with_the_browser_tests_and_services_required(tmp_path):
    """Runs .ci/run itself, with a ``make`` that only records its calls (and no real PostgreSQL)."""
    import os
    import subprocess

    fake = tmp_path / "bin"
    fake.mkdir()
    for name, script in (("make", RECORDER), ("bash", FAKE_BASH)):
        (fake / name).write_text(script)
        (fake / name).chmod(0o755)
    calls = tmp_path / "calls"
    env = {
        **os.environ,
        "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}",
        "CALLS": str(calls),
        "CI_DATABASE": "ci_check",
    }
    env.pop("TEST_DATABASE_URL", None)
    env.pop("ALBUM_STORE_REQUIRE_SERVICES", None)  # set by CI itself when this test runs there
    run = subprocess.run(["/bin/bash", str(ROOT / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert calls.read_text().splitlines() == [
        # ruff, before anything
        "lint|TEST_DATABASE_URL=|ALBUM_STORE_REQUIRE_BROWSER=1|ALBUM_STORE_REQUIRE_SERVICES=",
        "browser|TEST_DATABASE_URL=|ALBUM_STORE_REQUIRE_BROWSER=1|ALBUM_STORE_REQUIRE_SERVICES=",
        "services|TEST_DATABASE_URL=|ALBUM_STORE_REQUIRE_BROWSER=1|ALBUM_STORE_REQUIRE_SERVICES=",
        "postgres: devtools/test_postgresql.sh create ci_check",
        # an installed wheel migrates
        "wheel-check|TEST_DATABASE_URL=|ALBUM_STORE_REQUIRE_BROWSER=1|ALBUM_STORE_REQUIRE_SERVICES=1",
        "test|TEST_DATABASE_URL=|ALBUM_STORE_REQUIRE_BROWSER=1|ALBUM_STORE_REQUIRE_SERVICES=1",
        "test|TEST_DATABASE_URL=postgresql+psycopg:///ci_check?host=/fake|ALBUM_STORE_REQUIRE_BROWSER=1|"
        "ALBUM_STORE_REQUIRE_SERVICES=1",
        "postgres: devtools/test_postgresql.sh drop ci_check",
    ]
    assert "== SQLite: exit 0" in run.stdout and "== PostgreSQL: exit 0" in run.stdout


def test_make_test_runs_the_whole_pytest_suite():
    """The README's ``make test``: what make would run (``-n``) ends with pytest over the whole suite."""
    import subprocess

    # Run from inside `make test` itself (as CI does), make would print "Entering/Leaving directory"
    # lines: ask it not to, and do not hand down the outer make's flags.
    environ = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
    )
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[-1] == ".venv/bin/python -m pytest"
    assert "make test" in (ROOT / "README.md").read_text()


def test_playwright_never_downloads_a_browser():
    for path in [ROOT / "Makefile", ROOT / ".ci" / "run", *(ROOT / "devtools").glob("*.*")]:
        assert "playwright install" not in path.read_text(), path
    assert "apt-get install -y -q chromium" in (ROOT / "devtools" / "install_chromium.sh").read_text()


def test_dependencies_are_pinned_in_the_lock_file_make_installs_with():
    makefile = (ROOT / "Makefile").read_text()
    assert "-c constraints.txt" in makefile
    pins = dict(
        line.split("==")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
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
