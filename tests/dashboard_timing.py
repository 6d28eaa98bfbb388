"""Time the owner's dashboard in-process over a seeded SQLite file or PostgreSQL database.

    .venv/bin/python -m tests.dashboard_timing URL PURCHASES [--seed] [--oracle] [--rounds N]

``--seed`` migrates an empty database and fills it with bench/seed.py (albums and ``PURCHASES``
purchases over 120 days); then the dashboard is computed ``--rounds`` times and the median printed
(``--oracle``: the old query over the purchases table, tests/dashboard_oracle.py). Prints only: no
timing is ever asserted.
"""

import argparse
import statistics
import time

from sqlalchemy.orm import Session

from album_store.cli import migrate
from album_store.models import get_engine
from album_store.models.meta import utcnow
from album_store.services.reports import Reports
from bench.seed import seed
from tests.dashboard_oracle import oracle


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("purchases", type=int)
    parser.add_argument("--albums", type=int, default=1000)
    parser.add_argument("--seed", action="store_true")
    parser.add_argument("--migrate", action="store_true", help="upgrade to head first (timed: the backfill)")
    parser.add_argument("--oracle", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--page", action="store_true", help="time GET /admin in-process (WebTest), signed in")
    args = parser.parse_args(argv)
    settings = {"sqlalchemy.url": args.url}
    engine = get_engine(settings)
    if args.seed:
        started = time.perf_counter()
        migrate(settings, engine)
        seed(engine, albums=args.albums, purchases=args.purchases)
        print(f"seeded {args.purchases:,} purchases in {time.perf_counter() - started:.1f} s")
    if args.migrate:
        started = time.perf_counter()
        migrate(settings, engine)
        print(f"migrated to head in {time.perf_counter() - started:.1f} s")
    if args.page:
        return time_page(args)
    timings = []
    for _ in range(args.rounds):
        with Session(engine) as session:
            started = time.perf_counter()
            if args.oracle:
                oracle(session, utcnow().date())
            else:
                Reports(session).dashboard()
            timings.append((time.perf_counter() - started) * 1000)
    which = "oracle (purchases table)" if args.oracle else "Reports.dashboard"
    print(
        f"{which} over {args.purchases:,} purchases, {engine.dialect.name}: median {statistics.median(timings):.1f} ms"
        f" (min {min(timings):.1f}, max {max(timings):.1f}, {args.rounds} rounds)"
    )


def time_page(args):
    """The whole request: routing, the owner's session, the figures, the chart, the template."""
    import secrets

    import webtest

    from album_store import main as make_store
    from album_store.settings import load_settings
    from bench.seed import BENCH_USER

    environ = {
        "STRIPE_SECRET_KEY": "sk_test_dashboard_timing",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_dashboard_timing",
        "STRIPE_WEBHOOK_SECRET": "whsec_dashboard_timing",
        "STORE_SECRET": secrets.token_hex(32),
        "STORE_URL": "http://127.0.0.1",
        "JOBS_SQLITE_PATH": args.url.removeprefix("sqlite:///") + ".jobs" if "sqlite" in args.url else "/tmp/jobs",
    }
    settings = load_settings({"sqlalchemy.url": args.url, "store.secure_cookies": "false"}, environ=environ)
    browser = webtest.TestApp(make_store({}, **settings), extra_environ={"HTTP_HOST": "127.0.0.1"})
    email, password = BENCH_USER
    token = browser.get("/csrf-token").json["token"]
    browser.post("/account/login", {"csrf_token": token, "email": email, "password": password}, status=303)
    browser.get("/admin", status=200)  # warm: templates, statement caches
    timings = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        browser.get("/admin", status=200)
        timings.append((time.perf_counter() - started) * 1000)
    print(
        f"GET /admin over {args.purchases:,} purchases: median {statistics.median(timings):.1f} ms"
        f" (min {min(timings):.1f}, max {max(timings):.1f}, {args.rounds} rounds)"
    )


if __name__ == "__main__":
    main()
