"""Helpers that put albums in the database the way the store owner would have."""
from itertools import count

from album_store.models import Album, Track

_numbers = count(1)


def make_album(dbsession, *, tracks=3, commit=True, **fields):
    n = next(_numbers)
    values = {
        "slug": f"album-{n}",
        "title": f"Album {n}",
        "artist": "Test Artist",
        "year": 2020,
        "description": "A test album.",
        "price_cents": 1299,
        "currency": "usd",
        "is_published": True,
    }
    values.update(fields)
    album = Album(**values)
    album.tracks = [Track(position=i, title=f"Song {i}", duration_seconds=180 + i) for i in range(1, tracks + 1)]
    dbsession.add(album)
    if commit:
        dbsession.commit()
    return album


def stripe_signature(body, secret, timestamp=None):
    """A ``Stripe-Signature`` header for ``body``, made as Stripe makes it (HMAC-SHA256)."""
    import hashlib
    import hmac
    import time

    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
