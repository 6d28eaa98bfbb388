"""Fill a throwaway database fast (Core bulk inserts): albums with tracks, and purchases."""

import random
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from album_store.models import Album, Purchase, Track, User
from album_store.passwords import hash_password

BENCH_USER = ("bench-owner@example.com", "a long bench password 7")

CHUNK = 5000


def seed(engine, *, albums, tracks_per_album=10, purchases, library_size=20, seed_value=7):
    """Albums with tracks, purchases spread over 120 days, and one signed-in buyer (also the owner)
    whose library holds ``library_size`` albums."""
    rng = random.Random(seed_value)
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
        ids = [
            row.id
            for row in connection.execute(Album.__table__.select().with_only_columns(Album.id).order_by(Album.id))
        ]
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
        sales = []
        for n in range(purchases):
            created = now - timedelta(seconds=rng.randrange(0, 120 * 86400))
            status = rng.choices(["paid", "refunded", "failed", "pending"], weights=[90, 4, 5, 1])[0]
            album_id = rng.choice(ids)
            sales.append(
                {
                    "reference": uuid.UUID(int=rng.getrandbits(128)).hex,
                    "album_id": album_id,
                    "user_id": user_id if n < library_size and status == "paid" else None,
                    "email": f"buyer{n % 5000}@example.com",
                    "amount_cents": 500 + album_id % 2000,
                    "currency": "usd",
                    "status": status,
                    "checkout_token": f"tok_bench_{n}",
                    "stripe_charge_id": f"ch_bench_{n}" if status in ("paid", "refunded") else None,
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
    return ids
