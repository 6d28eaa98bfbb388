"""Who the visitor is, what they may do, and the session that remembers it.

Sessions are signed cookies (``store.secret``); the signed-in user's id lives in the session.
CSRF protection is on for every unsafe method by default (the Stripe webhook opts out).
"""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from pyramid.authorization import ACLHelper, Authenticated, Everyone
from pyramid.csrf import SessionCSRFStoragePolicy
from pyramid.security import Allowed, Denied
from pyramid.session import SignedCookieSessionFactory
from pyramid.settings import asbool

from .models import User

ADMIN = "role:admin"
SESSION_PURCHASES = "purchase_ids"
_hasher = PasswordHasher()


def hash_password(password):
    return _hasher.hash(password)


def verify_password(password_hash, password):
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


class SecurityPolicy:
    """Session-based identity; permissions from the context's ACL."""

    def __init__(self):
        self.acl = ACLHelper()

    def identity(self, request):
        return request.user

    def authenticated_userid(self, request):
        user = request.user
        return user.id if user is not None else None

    def effective_principals(self, request):
        principals = [Everyone]
        user = request.user
        if user is not None:
            principals += [Authenticated, f"user:{user.id}"]
            if user.is_admin:
                principals.append(ADMIN)
        return principals

    def permits(self, request, context, permission):
        return self.acl.permits(context, self.effective_principals(request), permission)

    def remember(self, request, userid, **kw):
        request.session["user_id"] = userid
        return []

    def forget(self, request, **kw):
        request.session.pop("user_id", None)
        return []


def get_user(request):
    user_id = request.session.get("user_id")
    if user_id is None:
        return None
    return request.dbsession.get(User, user_id)


def remember_purchase(request, purchase):
    """Let this browser see the receipt of a purchase it just made."""
    ids = list(request.session.get(SESSION_PURCHASES, []))
    if purchase.id not in ids:
        ids = (ids + [purchase.id])[-50:]
        request.session[SESSION_PURCHASES] = ids


def may_view_purchase(request, purchase):
    """The buyer who made it (this browser's session, or their account) may see a purchase."""
    if purchase.id in request.session.get(SESSION_PURCHASES, []):
        return True
    user = request.user
    return user is not None and (user.is_admin or purchase.user_id == user.id)


def includeme(config):
    settings = config.get_settings()
    config.set_session_factory(
        SignedCookieSessionFactory(
            settings["store.secret"],
            cookie_name="album_store_session",
            httponly=True,
            samesite="Lax",
            secure=asbool(settings["store.secure_cookies"]),
            max_age=None,
            timeout=60 * 60 * 24 * 14,
            reissue_time=60 * 60,
        )
    )
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
    config.set_default_csrf_options(require_csrf=True)
    config.set_security_policy(SecurityPolicy())
    config.add_request_method(get_user, "user", reify=True)
