"""Passwords: hashed with argon2, checked in constant time, and fingerprinted for reset links.

Beneath both security (the policy) and the services (accounts, the CLI's ``create-admin``), so a
service that checks a password needs nothing of the security policy.
"""

import functools
import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

_hasher = PasswordHasher()


def hash_password(password):
    return _hasher.hash(password)


def verify_password(password_hash, password):
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


@functools.cache
def _unknown_account_hash():
    return _hasher.hash("no account has this address")


def spend_password_check_time(password):
    """As long as :func:`verify_password`, for an address with no account: timing tells nothing."""
    verify_password(_unknown_account_hash(), password)


def password_needs_rehash(password_hash):
    return _hasher.check_needs_rehash(password_hash)


def password_fingerprint(secret, password_hash):
    """A keyed digest of the password hash: changes whenever the password does, reveals nothing of it."""
    return hmac.new(secret.encode(), password_hash.encode(), hashlib.sha256).hexdigest()[:32]
