"""Signed, expiring tokens for the links the store hands out: email confirmation, password reset,
receipts and downloads. itsdangerous signs them with ``store.secret``; each purpose has its own salt,
so a token made for one purpose is worthless for another, and its own lifetime.
"""

from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from zope.interface import Interface, implementer

#: purpose -> how long a token made for it stays valid
LIFETIMES = {
    "confirm-email": timedelta(days=3),
    "password-reset": timedelta(hours=1),
    # The emailed receipt link is how a guest comes back for the music; its page makes fresh
    # download links, which themselves expire quickly.
    "receipt": timedelta(days=365),
    "download": timedelta(days=7),
    # The link that confirms a free download's email address (pay what you want, 0).
    "free-download": timedelta(days=3),
}


def salt(purpose):
    """The salt of ``purpose``'s tokens: the same secret signs every purpose, the salt keeps them apart."""
    return f"album-store:{purpose}"


class LinkInvalid(Exception):
    """The token was not made by this store for this purpose (or was altered)."""


class LinkExpired(LinkInvalid):
    """The token is genuine but older than its purpose allows."""


class ISignedTokens(Interface):
    def make(purpose, payload):
        """Return a URL-safe token carrying ``payload`` (JSON-serializable) for ``purpose``."""

    def read(purpose, token):
        """Return the payload of a token made for ``purpose``; raise LinkExpired or LinkInvalid."""


@implementer(ISignedTokens)
class SignedTokens:
    def __init__(self, secret):
        self._serializers = {purpose: URLSafeTimedSerializer(secret, salt=salt(purpose)) for purpose in LIFETIMES}

    def make(self, purpose, payload):
        return self._serializers[purpose].dumps(payload)

    def read(self, purpose, token):
        try:
            return self._serializers[purpose].loads(token, max_age=LIFETIMES[purpose].total_seconds())
        except SignatureExpired as expired:
            raise LinkExpired(purpose) from expired
        except (BadSignature, UnicodeError, ValueError) as bad:
            raise LinkInvalid(purpose) from bad


def includeme(config):
    config.register_service(SignedTokens(config.get_settings()["store.secret"]), ISignedTokens)
