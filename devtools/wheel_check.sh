#!/usr/bin/env bash
# An installed wheel migrates (`make wheel-check`, and a step of .ci/run): build the store's wheel from
# the checkout's files, install it in a fresh virtualenv of its own (dependencies pinned by
# constraints.txt), then, from a folder outside the checkout, with nothing of the repository on the
# path, run `album-store initdb` and check the database is at the migrations' head, that Alembic's own
# command finds the migrations through the ini's `[alembic]` section, and that the app serves a page
# and a static file (the templates and static/ are package data too).
set -euo pipefail
cd "$(dirname "$0")/.."
quiet_pip() {  # pip, without the warnings about index folders this machine's pip config names but lacks
  "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
checkout=$PWD
python=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/album-store-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A clean copy of what git would commit (tracked and new files, nothing ignored): a stale build/ or
# egg-info in the checkout could otherwise hand the wheel files that package-data no longer names.
mkdir "$work/src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard \
    | tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$work/src"
else
  tar --exclude=.venv --exclude=build --exclude='*.egg-info' -cf - . | tar -xf - -C "$work/src"
fi

echo "-- building the wheel"
quiet_pip "$python" -m pip wheel -q --disable-pip-version-check --no-deps -w "$work/dist" "$work/src"
wheel=$(ls "$work"/dist/album_store-*.whl)
echo "   $(basename "$wheel")"

echo "-- installing it in a fresh virtualenv"
"$python" -m venv "$work/venv"
quiet_pip "$work/venv/bin/python" -m pip install -q --disable-pip-version-check -c "$checkout/constraints.txt" "$wheel"

# Outside the checkout: the ini is the smallest a deploy could write.
mkdir "$work/site"
cd "$work/site"
cat > store.ini <<'INI'
[app:main]
use = egg:album_store
sqlalchemy.url = sqlite:///%(here)s/store.sqlite
store.secret = wheel-check-secret-not-for-production-0123456789
jobs.backend = memory

[alembic]
script_location = album_store:alembic
INI
export PYTHONPATH=  # nothing of the checkout on the path
unset DATABASE_URL STORE_SECRET JOBS_BACKEND

echo "-- album-store initdb, from $work/site"
"$work/venv/bin/album-store" initdb store.ini

echo "-- the database is at the installed migrations' head; the wheel holds every migration file"
CHECKOUT_MIGRATIONS="$checkout/album_store/alembic" "$work/venv/bin/python" - <<'PY'
import os
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

import album_store

package = Path(album_store.__file__).resolve().parent
assert "site-packages" in package.parts, f"album_store imported from {package}, not from the installed wheel"
# Not only what initdb needs: script.py.mako too, so `alembic revision` works from an install.
checkout = Path(os.environ["CHECKOUT_MIGRATIONS"])
wanted = {str(p.relative_to(checkout)) for p in checkout.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
shipped = {str(p.relative_to(package / "alembic")) for p in (package / "alembic").rglob("*")
           if p.is_file() and "__pycache__" not in p.parts}
assert wanted <= shipped, f"the wheel lacks these migration files (pyproject.toml's package-data): {sorted(wanted - shipped)}"
config = Config("store.ini")
head = ScriptDirectory.from_config(config).get_current_head()
engine = create_engine("sqlite:///store.sqlite")
with engine.connect() as connection:
    version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
tables = set(inspect(engine).get_table_names())
missing = {"albums", "tracks", "users", "purchases"} - tables
assert not missing, f"tables missing after initdb: {missing}"
assert version == head, f"the database is at {version}, the installed migrations' head is {head}"
print(f"   alembic_version {version} = head, {len(tables)} tables, migrations from {package / 'alembic'}")
PY

echo "-- alembic -c store.ini check (the installed models and migrations agree)"
"$work/venv/bin/alembic" -c store.ini check

echo "-- album-store create-admin, through the installed app's services"
"$work/venv/bin/album-store" create-admin store.ini --email owner@example.com --password "wheel-check-owner-password-42"

echo "-- the installed app serves a page and a static file"
page=$("$work/venv/bin/prequest" -d store.ini /albums)
grep -q '^200 OK' <<<"$page" || { echo "GET /albums did not answer 200:"; head -20 <<<"$page"; exit 1; }
css=$("$work/venv/bin/prequest" -d store.ini /static/style.css)
grep -q '^200 OK' <<<"$css" || { echo "GET /static/style.css did not answer 200:"; head -5 <<<"$css"; exit 1; }
echo "   GET /albums: 200, GET /static/style.css: 200"
echo "An installed wheel migrates."
