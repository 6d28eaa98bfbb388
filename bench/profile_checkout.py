"""In-process timings, statement counts and a profile of the checkout POST (``POST /albums/{slug}/buy``,
the checkout_js flow: a card token, then the charge), against a real stand-in subprocess. Builds the
app with production.ini's settings (the SQLite job queue in a file of its own, as in production),
seeds a throwaway database like ``make bench`` and drives the app with WebTest, one buyer at a time.

    python -m bench.profile_checkout [--posts 200] [--runs 3] [--profile] [--database-url URL] [--statements]

CPU time is this process's (``time.process_time()``): the stand-in's own work is in its own process
and is not counted. Wall time counts the waits (the charge over loopback, each commit's fsync).
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import requests
import webtest
from sqlalchemy import event, select

from album_store import main as make_store
from album_store.models import Album
from bench.profile_lean import production_settings
from bench.run import SHOWN_FIELD, card_token, fresh_database
from stripe_standin.process import start_standin


def build(tmp, database_url, standin):
    env = {
        "DATABASE_URL": database_url,
        "STRIPE_SECRET_KEY": "sk_test_profile",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_profile",
        "STRIPE_WEBHOOK_SECRET": "whsec_profile",
        "STRIPE_API_BASE": standin.url,
        "STRIPE_CHECKOUT_JS_URL": f"{standin.url}/checkout.js",
        "STORE_SECRET": "p" * 64,
        "STORE_URL": "http://127.0.0.1",
        "JOBS_SQLITE_PATH": str(tmp / "jobs.sqlite3"),
    }
    engine, _, _ = fresh_database(database_url, {**os.environ, **env}, albums=100, purchases=1000)
    with engine.connect() as connection:
        slugs = list(connection.scalars(select(Album.slug).where(Album.is_published.is_(True)).limit(50)))
    engine.dispose()
    base = {**production_settings(), "sqlalchemy.url": database_url, "store.secure_cookies": "false"}
    base["store.files_dir"] = str(tmp / "files")
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        app = make_store({}, **base)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return app, slugs


class Buyer:
    """One buyer at a time: the album page and a token (untimed), then the POST (timed)."""

    def __init__(self, app, standin, slugs):
        self.app = app
        self.standin = standin
        self.slugs = slugs
        self.client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "127.0.0.1"})
        self.http = requests.Session()
        self.n = 0

    def prepare(self):
        slug = self.slugs[self.n % len(self.slugs)]
        page = self.client.get(f"/albums/{slug}", status=200)
        shown = dict(SHOWN_FIELD.findall(page.text))
        csrf = self.client.cookies.get("csrf_token") or self.client.get("/csrf-token").json["token"]
        token = card_token(self.http, self.standin.url, "pk_test_profile")
        email = f"profile{self.n}@example.com"
        self.n += 1
        fields = {"csrf_token": csrf, "stripeToken": token, "stripeTokenType": "card", "stripeEmail": email}
        return f"/albums/{slug}/buy", {**fields, **shown}

    def post(self, prepared):
        path, fields = prepared
        return self.client.post(path, fields, headers={"Origin": "http://127.0.0.1"}, status=303)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--show-all", action="store_true")
    parser.add_argument("--statements", action="store_true", help="print the SQL of one POST")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, start_standin() as standin:
        tmp = Path(tmp)
        database_url = args.database_url or f"sqlite:///{tmp / 'checkout.sqlite'}"
        app, slugs = build(tmp, database_url, standin)
        buyer = Buyer(app, standin, slugs)
        for _ in range(5):
            buyer.post(buyer.prepare())
        engine = app.registry["db_engine"]
        statements = []

        def listener(conn, cursor, statement, *rest):
            if args.statements:  # which of the store's lines ran it
                import traceback

                frames = [f for f in traceback.extract_stack() if "/album_store/" in f.filename]
                statement += "  <- " + " < ".join(f"{Path(f.filename).name}:{f.lineno}" for f in frames[-3:][::-1])
            statements.append(statement)

        prepared = buyer.prepare()
        event.listen(engine, "before_cursor_execute", listener)
        buyer.post(prepared)
        event.remove(engine, "before_cursor_execute", listener)
        print(f"{engine.dialect.name}: {len(statements)} statements per checkout POST")
        if args.statements:
            for statement in statements:
                print("   ", " ".join(statement.split())[:70], statement[statement.rfind("  <- ") :])
        cpu_runs, wall_runs = [], []
        for _ in range(args.runs):
            cpu, wall = [], []
            for _ in range(args.posts):
                prepared = buyer.prepare()
                started, started_cpu = time.perf_counter(), time.process_time()
                buyer.post(prepared)
                wall.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
            cpu_runs.append(statistics.mean(cpu))
            wall_runs.append(statistics.median(wall))
        print(
            f"checkout POST in process: {statistics.median(cpu_runs):.2f} ms CPU/POST (runs: "
            + ", ".join(f"{r:.2f}" for r in cpu_runs)
            + f"); wall p50 {statistics.median(wall_runs):.2f} ms (runs: "
            + ", ".join(f"{r:.2f}" for r in wall_runs)
            + ")",
            flush=True,
        )
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0002, async_mode="disabled")
            for _ in range(args.posts):
                prepared = buyer.prepare()
                profiler.start()  # the sessions add up: only the POSTs are profiled
                buyer.post(prepared)
                profiler.stop()
            print(f"--- profile over {args.posts} POSTs (wall clock, the album page and token excluded)")
            print(profiler.output_text(unicode=False, color=False, show_all=args.show_all))


if __name__ == "__main__":
    main()
