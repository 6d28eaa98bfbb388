"""Helpers that put albums in the database the way the store owner would have."""

import functools
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


def give_album_file(dbsession, album, files_dir):
    """Write ``album``'s downloadable ZIP into the store's files folder, as ``initdb --demo`` does."""
    from album_store.demo import album_zip_filename, write_album_zip

    album.download_filename = album_zip_filename(album)
    write_album_zip(album, files_dir / album.download_filename)
    dbsession.commit()
    return files_dir / album.download_filename


@functools.cache
def password_hash(password):
    """argon2 is slow on purpose: each test password is hashed once per session (salted all the same)."""
    from album_store.passwords import hash_password

    return hash_password(password)


def make_user(dbsession, email, password, *, confirmed=False):
    from album_store.models import User
    from album_store.models.meta import utcnow

    user = User(email=email, password_hash=password_hash(password), is_admin=False)
    user.email_confirmed_at = utcnow() if confirmed else None
    dbsession.add(user)
    dbsession.commit()
    return user


def issued_token(app_settings, purpose, payload, *, seconds_ago):
    """A genuine token of the store for ``purpose``, issued ``seconds_ago``: to test expiry."""
    import time

    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    from album_store.services.tokens import salt

    class IssuedEarlier(TimestampSigner):
        def get_timestamp(self):
            return int(time.time() - seconds_ago)

    serializer = URLSafeTimedSerializer(app_settings["store.secret"], salt=salt(purpose), signer=IssuedEarlier)
    return serializer.dumps(payload)


def mail_text(message):
    """The text of a message the store sent (its body is a pyramid_mailer Attachment)."""
    return getattr(message.body, "data", message.body)


def links_in(message):
    """Every http(s) link in a sent message's text."""
    import re

    return re.findall(r"https?://\S+", mail_text(message))


def stripe_signature(body, secret, timestamp=None):
    """A ``Stripe-Signature`` header for ``body``, made as Stripe makes it (HMAC-SHA256)."""
    import hashlib
    import hmac
    import time

    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def make_owner(dbsession, email="owner@example.com", password=None):
    """A store owner's account, as ``album-store create-admin`` makes it."""
    from tests.conftest import PASSWORD

    user = make_user(dbsession, email, password or PASSWORD, confirmed=True)
    user.is_admin = True
    dbsession.commit()
    return user


def make_purchase(
    dbsession,
    album,
    *,
    status="paid",
    amount_cents=None,
    refunded_cents=0,
    paid_at=None,
    created_at=None,
    email=None,
    currency=None,
    charge_id=None,
    commit=True,
):
    """A purchase as the buy route (and a refund) would have left it, at a chosen time.

    Each gets its own buyer unless ``email`` says otherwise: the store keeps one open (pending or
    paid) purchase per buyer and album."""
    import uuid

    from album_store.models import Purchase, buyer_album_key
    from album_store.models.meta import utcnow

    created_at = created_at or paid_at or utcnow()
    email = email or f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    purchase = Purchase(
        album_id=album.id,
        email=email,
        amount_cents=album.price_cents if amount_cents is None else amount_cents,
        minimum_cents=album.minimum_cents,  # pay what you want: the album's minimum (None: a fixed price)
        currency=currency or album.currency,
        status=status,
        created_at=created_at,
        paid_at=paid_at if paid_at is not None else (created_at if status in ("paid", "refunded") else None),
        amount_refunded_cents=refunded_cents,
        stripe_charge_id=charge_id or (f"ch_test_{uuid.uuid4().hex[:16]}" if status in ("paid", "refunded") else None),
        refunded_at=created_at if status == "refunded" else None,
        buyer_album_key=buyer_album_key(album.id, email) if status in ("pending", "paid") else None,
        description=f"{album.title} by {album.artist}",
    )
    dbsession.add(purchase)
    if commit:
        dbsession.commit()
    return purchase


def image_bytes(fmt="PNG", size=(640, 480), color=(200, 40, 40), mode="RGB"):
    """A small real image, made with Pillow."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, fmt)
    return buffer.getvalue()


def zip_bytes(files=None):
    """A ZIP archive holding ``files`` ({name: bytes}); the same bytes for the same files (a fixed
    timestamp: with the clock's, two calls a second apart differ)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in (files or {"01 Song.wav": b"RIFF....WAVE"}).items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()
