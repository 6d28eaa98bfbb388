"""In-process timings and profiles of rendered shopper pages (no server, no wrk): light enough to run
beside a test suite. Seeds a throwaway SQLite database like ``make bench`` does, builds the app with
production.ini's settings and the page cache off, and drives it with WebTest.

    python -m bench.profile_lean [--albums 100] [--requests 300] [--runs 3] [--profile] [--only /albums]
"""

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

import webtest
from sqlalchemy import create_engine, event, select

from album_store import main as make_store
from album_store.cli import migrate
from album_store.models import Album
from album_store.settings import load_settings
from bench.seed import BENCH_USER, seed

ROOT = Path(__file__).resolve().parent.parent


def production_settings():
    production = (ROOT / "production.ini").read_text()
    section = production[production.index("[app:main]") : production.index("[server:main]")]
    settings = {}
    for line in section.splitlines()[1:]:
        match = re.match(r"^([a-z_.]+)\s*=\s*(.*)$", line)
        if match and not line.startswith("use"):
            settings[match[1]] = match[2]
    return settings


def build(tmp, albums):
    url = f"sqlite:///{tmp / 'profile.sqlite'}"
    env = {
        "DATABASE_URL": url,
        "STRIPE_SECRET_KEY": "sk_test_profile",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_profile",
        "STRIPE_WEBHOOK_SECRET": "whsec_profile",
        "STRIPE_API_BASE": "http://127.0.0.1:9",
        "STRIPE_CHECKOUT_JS_URL": "http://127.0.0.1:9/checkout.js",
        "STORE_SECRET": "p" * 64,
        "STORE_URL": "http://127.0.0.1",
        "JOBS_SQLITE_PATH": str(tmp / "jobs.sqlite3"),
    }
    base = {**production_settings(), "sqlalchemy.url": url, "store.secure_cookies": "false"}
    base["store.page_cache_seconds"] = "0"
    base["store.files_dir"] = str(tmp / "files")
    settings = load_settings(base, environ=env)
    engine = create_engine(url)
    migrate(settings, engine)
    seed(engine, albums=albums, purchases=2000)
    with engine.connect() as connection:
        published = connection.scalar(select(Album.id).where(Album.is_published.is_(True)).order_by(Album.id.desc()))
        slug = connection.scalar(
            select(Album.slug).where(Album.is_published.is_(True)).order_by(Album.id).offset(albums // 2).limit(1)
        )
    import os

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        app = make_store({}, **{k: v for k, v in base.items()})
    finally:
        os.environ.clear()
        os.environ.update(saved)
    del published
    anonymous = webtest.TestApp(app, extra_environ={"HTTP_HOST": "127.0.0.1"})
    signed_in = webtest.TestApp(app, extra_environ={"HTTP_HOST": "127.0.0.1"})
    email, password = BENCH_USER
    signed_in.post(
        "/account/login",
        {"csrf_token": signed_in.get("/csrf-token").json["token"], "email": email, "password": password},
    )
    return app, anonymous, signed_in, slug


def statements_into(statements):
    def listener(conn, cursor, statement, *rest):
        statements.append(statement)

    return listener


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--albums", type=int, default=100)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument("--dump", default="", help="write each page's HTML into this folder (to compare outputs)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        app, anonymous, signed_in, slug = build(Path(tmp), args.albums)
        deep = max(2, (args.albums * 49 // 50 + 23) // 24 - 1)
        pages = [
            ("album page", anonymous, f"/albums/{slug}"),
            ("/albums", anonymous, "/albums"),
            (f"/albums?page={deep}", anonymous, f"/albums?page={deep}"),
            ("/library (signed in)", signed_in, "/library"),
        ]
        engine = app.registry["db_engine"]
        if args.dump:
            folder = Path(args.dump)
            folder.mkdir(parents=True, exist_ok=True)
            for label, client, path in [*pages, ("home", anonymous, "/"), ("page 2", anonymous, "/albums?page=2")]:
                name = re.sub(r"[^a-z0-9]+", "_", label).strip("_") + ".html"
                (folder / name).write_text(client.get(path, status=200).text)
            return
        for label, client, path in pages:
            if args.only and args.only not in label:
                continue
            for _ in range(20):
                client.get(path, status=200)
            statements = []
            listener = statements_into(statements)
            event.listen(engine, "before_cursor_execute", listener)
            client.get(path, status=200)
            event.remove(engine, "before_cursor_execute", listener)
            runs, cpu = [], []
            for _ in range(args.runs):
                started, started_cpu = time.perf_counter(), time.process_time()
                for _ in range(args.requests):
                    client.get(path)
                runs.append((time.perf_counter() - started) * 1000 / args.requests)
                cpu.append((time.process_time() - started_cpu) * 1000 / args.requests)
            # CPU time (this process's) is what to compare on a shared machine: wall time there also
            # counts the waits for a core that other processes hold.
            print(
                f"{label:24} {statistics.median(cpu):6.3f} ms CPU/request (runs: "
                + ", ".join(f"{r:.3f}" for r in cpu)
                + f"); wall {statistics.median(runs):6.3f} ms; {len(statements)} statements",
                flush=True,
            )
            if args.profile:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0002)
                profiler.start()
                for _ in range(args.requests):
                    client.get(path)
                profiler.stop()
                print(profiler.output_text(unicode=False, color=False, show_all=False))


if __name__ == "__main__":
    main()
