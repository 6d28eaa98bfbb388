"""Who the visitor is, what they may do, and the session that remembers it.

Sessions are signed cookies (``store.secret``); the signed-in user's id lives in the session.
CSRF protection is on for every unsafe method by default (the Stripe webhook opts out).
"""
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from pyramid.authorization import ACLHelper, Authenticated, Everyone
from pyramid.csrf import SessionCSRFStoragePolicy
from pyramid.events import NewResponse
from pyramid.httpexceptions import HTTPRequestEntityTooLarge
from pyramid.security import Allowed, Denied
from pyramid.session import SignedCookieSessionFactory
from pyramid.settings import asbool
from pyramid.tweens import EXCVIEW

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


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


STRIPE_JS_ORIGIN = "https://js.stripe.com"


def content_security_policy(settings):
    """Only the store's own origin, plus what the album page's payment flow needs from Stripe.

    ``checkout_js``: Checkout's origin (its script, its modal's frame and what it fetches).
    ``payment_intents``: Stripe.js's origin (its script and its frames: the card field and the 3-D
    Secure check) and the Stripe API it calls (``stripe.api_base``, or Stripe's own).
    """
    if settings.get("store.payment_flow") == "payment_intents":
        stripe_js = _origin(settings["stripe.js_url"])
        api = _origin(settings.get("stripe.api_base") or "") or "https://api.stripe.com"
        scripts, frames, connects = [stripe_js], [stripe_js], [api]
        if stripe_js == STRIPE_JS_ORIGIN:  # Stripe's documented needs for Stripe.js (3-D Secure pages too)
            scripts.append("https://*.js.stripe.com")
            frames += ["https://*.js.stripe.com", "https://hooks.stripe.com"]
        styles, images = "'self'", "'self' data:"
    else:
        checkout = _origin(settings["stripe.checkout_js_url"])
        scripts = frames = connects = [checkout]
        styles = f"'self' {checkout}"
        images = f"'self' data: {checkout}"
        if checkout == "https://checkout.stripe.com":
            images += " https://*.stripe.com"  # Stripe's documented needs for legacy Checkout

    def sources(*values):
        return " ".join(dict.fromkeys(v for v in values if v))

    directives = {
        "default-src": "'self'",
        "script-src": sources("'self'", *scripts),
        "style-src": styles,
        "img-src": images,
        "frame-src": sources(*frames),
        "connect-src": sources("'self'", *connects),
        "form-action": "'self'",
        "frame-ancestors": "'none'",
        "base-uri": "'self'",
        "object-src": "'none'",
    }
    return "; ".join(f"{name} {value}".strip() for name, value in directives.items())


def add_security_headers(settings):
    headers = {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Frame-Options": "DENY",
    }
    if asbool(settings["store.secure_cookies"]):
        headers["Strict-Transport-Security"] = "max-age=31536000"

    def subscriber(event):
        response_headers = event.response.headers
        for name, value in headers.items():
            response_headers.setdefault(name, value)

    return subscriber


def body_size_limit_tween_factory(handler, registry):
    """Refuse request bodies over ``store.max_body_bytes`` before anything reads them."""
    limit = int(registry.settings["store.max_body_bytes"])

    def tween(request):
        if request.content_length is not None and request.content_length > limit:
            raise HTTPRequestEntityTooLarge(f"The request is larger than the store accepts ({limit // 1024} KiB).")
        return handler(request)

    return tween


def includeme(config):
    settings = config.get_settings()
    config.add_subscriber(add_security_headers(settings), NewResponse)
    # Under the exception view tween, so the refusal is rendered as the styled 413 page.
    config.add_tween("album_store.security.body_size_limit_tween_factory", under=EXCVIEW)
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
