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


if __name__ == "__main__":
    main()
