"""Fill a throwaway database fast: albums with tracks (Core bulk inserts), and purchases.

Purchases go in by the database's own row generator where there is one: on SQLite one
``INSERT … SELECT`` from a recursive CTE, on PostgreSQL from ``generate_series`` (a million rows in a
few seconds); elsewhere, or when the albums' ids are not one contiguous run, Core ``executemany`` in
batches. The rows are the same shape either way: spread over 120 days, ≈ 90 % paid, 4 % refunded,
5 % failed, 1 % pending, each album bought about equally, the first ``library_size`` paid ones the
benchmark buyer's.
"""

import random
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, text

from album_store.models import Album, Purchase, Track, User
from album_store.passwords import hash_password

BENCH_USER = ("bench-owner@example.com", "a long bench password 7")

CHUNK = 5000
SPREAD_SECONDS = 120 * 86400

# One purchase per n, from n alone (so any database can make them without Python in the loop):
# a status bucket 0..99 (< 90 paid, < 94 refunded, < 99 failed, else pending), an album, an age.
_SQL_BODY = """
SELECT n,
       :first_album + (n * 7919) % :albums AS album_id,
       (n * 37 + 11) % 100 AS bucket,
       (n * 104729) % {spread} AS age
FROM {numbers}
"""
_SQL_INSERT = """
INSERT INTO purchases (reference, album_id, user_id, email, description, amount_cents, currency, status,
                       checkout_token, stripe_charge_id, amount_refunded_cents, tax_cents, download_count,
                       created_at, paid_at)
SELECT {reference},
       g.album_id,
       CASE WHEN g.n < :library AND g.bucket < 90 THEN CAST(:user_id AS INTEGER) END,
       'buyer' || (g.n % 5000) || '@example.com',
       '',
       500 + g.album_id % 2000,
       'usd',
       CASE WHEN g.bucket < 90 THEN 'paid' WHEN g.bucket < 94 THEN 'refunded'
            WHEN g.bucket < 99 THEN 'failed' ELSE 'pending' END,
       'tok_bench_' || (CAST(:offset AS BIGINT) + g.n),
       CASE WHEN g.bucket < 94 THEN 'ch_bench_' || (CAST(:offset AS BIGINT) + g.n) END,
       CASE WHEN g.bucket >= 90 AND g.bucket < 94 THEN 500 + g.album_id % 2000 ELSE 0 END,
       0,
       0,
       {created},
       CASE WHEN g.bucket < 94 THEN {created} END
FROM ({body}) AS g
"""
_DIALECTS = {
    "sqlite": {
        "prefix": "WITH RECURSIVE numbers(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM numbers WHERE n + 1 < :count) ",
        "numbers": "numbers",
        "reference": "printf('%016x%016x', CAST(:offset AS BIGINT) + g.n, :salt)",
        "created": "datetime(:now - g.age, 'unixepoch')",
    },
    "postgresql": {
        "prefix": "",
        "numbers": "generate_series(CAST(0 AS BIGINT), CAST(:count AS BIGINT) - 1) AS numbers(n)",
        "reference": (
            "lpad(to_hex(CAST(:offset AS BIGINT) + g.n), 16, '0') || lpad(to_hex(CAST(:salt AS BIGINT)), 16, '0')"
        ),
        "created": "to_timestamp(CAST(:now AS BIGINT) - g.age)",
    },
}


def purchases_sql(dialect_name):
    """The one statement that inserts ``:count`` purchases on this dialect, or None (no generator)."""
    parts = _DIALECTS.get(dialect_name)
    if parts is None:
        return None
    body = _SQL_BODY.format(spread=SPREAD_SECONDS, numbers=parts["numbers"])
    # SQLite wants the WITH before the INSERT; PostgreSQL has no CTE here.
    return parts["prefix"] + _SQL_INSERT.format(reference=parts["reference"], created=parts["created"], body=body)


def seed_purchases(connection, count, *, album_ids, user_id, library_size=20, offset=0, now=None):
    """``count`` purchases of ``album_ids``; ``offset`` keeps references and tokens unique across calls."""
    if count <= 0:
        return
    now = now or datetime.now(UTC)
    contiguous = album_ids and album_ids[-1] - album_ids[0] + 1 == len(album_ids)
    statement = purchases_sql(connection.dialect.name)
    if (
        connection.dialect.name == "sqlite"
        and statement is not None
        and contiguous
        and count >= 50_000
        and not connection.info.get("bench_indexes_dropped")
    ):
        # A throwaway database: the purchases' own indexes (not the UNIQUE ones) are dropped, and made
        # again, from their own DDL, once the rows are in: sorting once beats a million random inserts.
        connection.exec_driver_sql("PRAGMA cache_size = -262144")
        indexes = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'purchases' AND sql IS NOT NULL"
        ).all()
        for name, _ in indexes:
            connection.exec_driver_sql(f'DROP INDEX "{name}"')
        connection.info["bench_indexes_dropped"] = True
        try:
            seed_purchases(
                connection,
                count,
                album_ids=album_ids,
                user_id=user_id,
                library_size=library_size,
                offset=offset,
                now=now,
            )
        finally:
            del connection.info["bench_indexes_dropped"]
        for _, sql in indexes:
            connection.exec_driver_sql(sql)
        return
    if statement is not None and contiguous:
        step = 1_000_000  # SQLite's recursive CTE is fine with millions; batches keep PostgreSQL's WAL moderate
        for start in range(0, count, step):
            connection.execute(
                text(statement),
                {
                    "count": min(step, count - start),
                    "offset": offset + start,
                    "first_album": album_ids[0],
                    "albums": len(album_ids),
                    "library": library_size - start,
                    "user_id": user_id,
                    "now": int(now.timestamp()),
                    "salt": 0x5EED,
                },
            )
        return
    rng = random.Random(7 + offset)
    sales = []
    for n in range(count):
        created = now - timedelta(seconds=rng.randrange(0, SPREAD_SECONDS))
        status = rng.choices(["paid", "refunded", "failed", "pending"], weights=[90, 4, 5, 1])[0]
        album_id = rng.choice(album_ids)
        sales.append(
            {
                "reference": uuid.UUID(int=rng.getrandbits(128)).hex,
                "album_id": album_id,
                "user_id": user_id if n < library_size and status == "paid" else None,
                "email": f"buyer{n % 5000}@example.com",
                "amount_cents": 500 + album_id % 2000,
                "currency": "usd",
                "status": status,
                "checkout_token": f"tok_bench_{offset + n}",
                "stripe_charge_id": f"ch_bench_{offset + n}" if status in ("paid", "refunded") else None,
                "amount_refunded_cents": 500 + album_id % 2000 if status == "refunded" else 0,
                "created_at": created,
                "paid_at": created if status in ("paid", "refunded") else None,
            }
        )
        if len(sales) == CHUNK:
            connection.execute(insert(Purchase), sales)
            sales = []
    if sales:
        connection.execute(insert(Purchase), sales)


def seed(engine, *, albums, tracks_per_album=10, purchases, library_size=20):
    """Albums with tracks, purchases spread over 120 days, and one signed-in buyer (also the owner)
    whose library holds up to ``library_size`` albums. Returns the albums' ids."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        rows = [
            {
                "slug": f"bench-album-{i:05d}",
                "title": f"Bench Album {i:05d}",
                "artist": f"Artist {i % 97}",
                "year": 1970 + i % 55,
                "description": "A benchmark album. " * 4,
                "price_cents": 500 + i % 2000,
                "currency": "usd",
                "is_published": i % 50 != 0,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(albums)
        ]
        for start in range(0, len(rows), CHUNK):
            connection.execute(insert(Album), rows[start : start + CHUNK])
        ids = list(connection.scalars(select(Album.id).order_by(Album.id)))
        tracks = [
            {"album_id": album_id, "position": p, "title": f"Track {p}", "duration_seconds": 120 + (album_id * p) % 240}
            for album_id in ids
            for p in range(1, tracks_per_album + 1)
        ]
        for start in range(0, len(tracks), CHUNK):
            connection.execute(insert(Track), tracks[start : start + CHUNK])
        email, password = BENCH_USER
        user_id = connection.execute(
            insert(User).returning(User.id),
            {
                "email": email,
                "password_hash": hash_password(password),
                "is_admin": True,
                "created_at": now,
                "email_confirmed_at": now,
            },
        ).scalar_one()
        seed_purchases(connection, purchases, album_ids=ids, user_id=user_id, library_size=library_size, now=now)
    return ids


def purchase_count(engine):
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Purchase))
