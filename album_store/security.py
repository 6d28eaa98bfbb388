"""Who the visitor is, what they may do, and the session that remembers it.

Sessions are signed cookies (``store.secret``). A signed-in one also names a row of
``account_sessions`` by a random token, looked up on every signed-in request: signing out deletes the
row, so a copy of the cookie taken before opens nothing; "sign out everywhere" and a password reset
delete every row of the account; a session unused for longer than its idle lifetime (two hours for a
store owner, fourteen days for a buyer) is over. Signing in or out clears the session and issues a
new CSRF token. CSRF protection is on for every unsafe method by default (the Stripe webhook opts out).
"""
from datetime import timedelta
import functools
import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from pyramid.authorization import ACLHelper, Authenticated, Everyone
from pyramid.csrf import CookieCSRFStoragePolicy, new_csrf_token
from pyramid.events import NewResponse
from pyramid.security import Allowed, Denied, forget, remember
from pyramid.session import SignedCookieSessionFactory
from pyramid.settings import asbool
from sqlalchemy import delete, select, update

from .models import AccountSession, User
from .models.meta import utcnow
from .services.tokens import ISignedTokens, LinkInvalid

ADMIN = "role:admin"
#: The session cookie's name (the page cache also reads it: no session cookie, an anonymous visitor).
SESSION_COOKIE = "album_store_session"
SESSION_PURCHASES = "purchase_ids"
SESSION_USER = "user_id"
SESSION_AUTH = "auth"
#: How long a signed-in session may go unused: an owner's (refunds, the whole shop) much less long.
SESSION_IDLE = {"owner": timedelta(hours=2), "buyer": timedelta(days=14)}
#: A session's last use is written at most this often (not on every request).
SESSION_TOUCH = timedelta(minutes=5)
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
        token = secrets.token_urlsafe(32)
        request.dbsession.add(AccountSession(user_id=userid, token_hash=_token_hash(token)))
        request.session[SESSION_USER] = userid
        request.session[SESSION_AUTH] = token
        return []

    def forget(self, request, **kw):
        token = request.session.pop(SESSION_AUTH, None)
        request.session.pop(SESSION_USER, None)
        if isinstance(token, str):
            request.dbsession.execute(delete(AccountSession).where(AccountSession.token_hash == _token_hash(token)))
        return []


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def get_user(request):
    """The signed-in user, if this browser's session is still one: its row is there, for this user,
    and was used within the idle lifetime (then its last use is noted, at most every few minutes)."""
    user_id, token = request.session.get(SESSION_USER), request.session.get(SESSION_AUTH)
    if user_id is None or not isinstance(token, str):
        return None
    row = request.dbsession.scalars(select(AccountSession).where(AccountSession.token_hash == _token_hash(token))).one_or_none()
    if row is None or row.user_id != user_id:
        return None  # signed out (here or everywhere), or the password was reset
    user = request.dbsession.get(User, user_id)
    if user is None:
        return None
    now = utcnow()
    if now - row.last_seen_at > SESSION_IDLE["owner" if user.is_admin else "buyer"]:
        request.dbsession.delete(row)
        return None
    if now - row.last_seen_at > SESSION_TOUCH:
        request.dbsession.execute(update(AccountSession).where(AccountSession.id == row.id).values(last_seen_at=now))
    return user


def end_all_sessions(dbsession, user):
    """Sign ``user`` out on every browser (sign out everywhere; a password reset)."""
    dbsession.execute(delete(AccountSession).where(AccountSession.user_id == user.id))


def sign_in(request, user):
    """Start a new session for ``user``: cleared (receipts this browser may see are kept), new CSRF token."""
    purchase_ids = request.session.get(SESSION_PURCHASES, [])
    forget(request)  # a session this browser had signed in before ends here
    request.session.invalidate()
    if purchase_ids:
        request.session[SESSION_PURCHASES] = purchase_ids
    remember(request, user.id)
    new_csrf_token(request)


def sign_out(request, *, everywhere=False):
    """End the session (its row is deleted: a copy of the cookie opens nothing), or with
    ``everywhere`` every session of the account; nothing of it is kept, the next form gets a new
    CSRF token."""
    user = request.user
    if everywhere and user is not None:
        end_all_sessions(request.dbsession, user)
    forget(request)
    request.session.invalidate()
    new_csrf_token(request)


def remember_purchase(request, purchase):
    """Let this browser see the receipt of a purchase it just made."""
    ids = list(request.session.get(SESSION_PURCHASES, []))
    if purchase.id not in ids:
        ids = (ids + [purchase.id])[-50:]
        request.session[SESSION_PURCHASES] = ids


def may_view_purchase(request, purchase):
    """The buyer who made it may see a purchase: this browser's session, their account, or the signed
    receipt link (``?t=``) emailed to them."""
    if purchase.id in request.session.get(SESSION_PURCHASES, []):
        return True
    user = request.user
    if user is not None and (user.is_admin or purchase.user_id == user.id):
        return True
    token = request.GET.get("t")
    return bool(token) and receipt_token_matches(request, token, purchase)


def receipt_token(request, purchase):
    """The ``?t=`` of the receipt link sent by email: names the purchase by its unique reference."""
    return request.find_service(ISignedTokens).make("receipt", purchase.reference)


def receipt_token_matches(request, token, purchase):
    try:
        return request.find_service(ISignedTokens).read("receipt", token) == purchase.reference
    except LinkInvalid:
        return False


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


STRIPE_JS_ORIGIN = "https://js.stripe.com"


def content_security_policy(settings):
    """Only the store's own origin, plus what the album page's payment flow needs from Stripe.

    ``checkout_js``: Checkout's origin (its script, its modal's frame and what it fetches).
    ``payment_intents``: Stripe.js's origin (its script and its frames: the Payment Element and the
    3-D Secure check) and the Stripe API it calls (``stripe.api_base``, or Stripe's own). With Stripe's
    own Stripe.js, exactly Stripe's documented policy for it: ``script-src``/``frame-src``
    js.stripe.com and *.js.stripe.com, ``frame-src`` hooks.stripe.com (3-D Secure), ``connect-src``
    api.stripe.com; nothing for the page's styles or images (the element draws in its own frame), and
    nothing of maps.googleapis.com (only the Address Element's autocomplete needs it).
    ``checkout_session``: nothing of Stripe's on the page; the Buy form may lead to Stripe's hosted page.
    """
    form_targets = []
    if settings.get("store.payment_flow") == "checkout_session":
        # No Stripe script on our pages at all: the Buy form posts here, and the answer redirects
        # to Stripe's hosted page, which form-action must allow (browsers check a form's redirects).
        hosted = _origin(settings.get("stripe.api_base") or "") or "https://checkout.stripe.com"
        scripts, frames, connects, form_targets = [], [], [], [hosted]
        styles, images = "'self'", "'self' data:"
    elif settings.get("store.payment_flow") == "payment_intents":
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
        "frame-src": sources(*frames) or "'none'",
        "connect-src": sources("'self'", *connects),
        "form-action": sources("'self'", *form_targets),
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


def includeme(config):
    settings = config.get_settings()
    config.add_subscriber(add_security_headers(settings), NewResponse)
    config.set_session_factory(
        SignedCookieSessionFactory(
            settings["store.secret"],
            cookie_name=SESSION_COOKIE,
            httponly=True,
            samesite="Lax",
            secure=asbool(settings["store.secure_cookies"]),
            max_age=None,
            timeout=60 * 60 * 24 * 14,
            reissue_time=60 * 60,
        )
    )
    # The token lives in its own cookie (double submit), not in the session: shoppers' pages can
    # then be cached for everyone, and static/csrf.js puts the visitor's token into their forms.
    config.set_csrf_storage_policy(
        CookieCSRFStoragePolicy(secure=asbool(settings["store.secure_cookies"]), httponly=False, samesite="Lax")
    )
    config.set_default_csrf_options(require_csrf=True)
    config.set_security_policy(SecurityPolicy())
    config.add_request_method(get_user, "user", reify=True)
