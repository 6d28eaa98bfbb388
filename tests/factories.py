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


def give_album_file(dbsession, album, files_dir):
    """Write ``album``'s downloadable ZIP into the store's files folder, as ``initdb --demo`` does."""
    from album_store.demo import album_zip_filename, write_album_zip

    album.download_filename = album_zip_filename(album)
    write_album_zip(album, files_dir / album.download_filename)
    dbsession.commit()
    return files_dir / album.download_filename


def make_user(dbsession, email, password, *, confirmed=False):
    from album_store.models import User
    from album_store.models.meta import utcnow
    from album_store.security import hash_password

    user = User(email=email, password_hash=hash_password(password), is_admin=False)
    user.email_confirmed_at = utcnow() if confirmed else None
    dbsession.add(user)
    dbsession.commit()
    return user


def issued_token(app_settings, purpose, payload, *, seconds_ago):
    """A genuine token of the store for ``purpose``, issued ``seconds_ago``: to test expiry."""
    import time

    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class IssuedEarlier(TimestampSigner):
        def get_timestamp(self):
            return int(time.time() - seconds_ago)

    serializer = URLSafeTimedSerializer(app_settings["store.secret"], salt=f"album-store:{purpose}", signer=IssuedEarlier)
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
