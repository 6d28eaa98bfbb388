"""Who the visitor is, what they may do, and the session that remembers it.

Sessions are signed cookies (``store.secret``). A signed-in one also names a row of
``account_sessions`` by a random token, looked up on every signed-in request: signing out deletes the
row, so a copy of the cookie taken before opens nothing; "sign out everywhere" and a password reset
delete every row of the account; a session unused for longer than its idle lifetime (two hours for a
store owner, fourteen days for a buyer) is over. Signing in or out clears the session and issues a
new CSRF token. CSRF protection is on for every unsafe method by default (the Stripe webhook opts out).

Beside it: passwords.py (hashing), headers.py (the Content-Security-Policy and other headers),
browser_sessions.py (the session's keys and its rows), services/receipts.py (who may see a receipt).
This module imports no service: it needs none to say who the visitor is.
"""

import secrets
from datetime import timedelta

from pyramid.authorization import ACLHelper, Authenticated, Everyone
from pyramid.csrf import CookieCSRFStoragePolicy, new_csrf_token
from pyramid.security import forget, remember
from pyramid.session import SignedCookieSessionFactory
from pyramid.settings import asbool
from sqlalchemy import bindparam, delete, select, update

from .browser_sessions import KEPT_ON_SIGN_IN, SESSION_AUTH, SESSION_COOKIE, SESSION_USER, end_all_sessions, token_hash
from .models import AccountSession, User
from .models.meta import utcnow

ADMIN = "role:admin"
#: How long a signed-in session may go unused: an owner's (refunds, the whole shop) much less long.
SESSION_IDLE = {"owner": timedelta(hours=2), "buyer": timedelta(days=14)}
#: A session's last use is written at most this often (not on every request).
SESSION_TOUCH = timedelta(minutes=5)


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
        request.dbsession.add(AccountSession(user_id=userid, token_hash=token_hash(token)))
        request.session[SESSION_USER] = userid
        request.session[SESSION_AUTH] = token
        return []

    def forget(self, request, **kw):
        token = request.session.pop(SESSION_AUTH, None)
        request.session.pop(SESSION_USER, None)
        if isinstance(token, str):
            request.dbsession.execute(delete(AccountSession).where(AccountSession.token_hash == token_hash(token)))
        return []


#: The browser's session row and its user, in one statement built once (a signed-in request runs it
#: every time): an inner join, so a session whose account is gone is no session.
SESSION_AND_USER = (
    select(AccountSession, User)
    .join(User, User.id == AccountSession.user_id)
    .where(AccountSession.token_hash == bindparam("token_hash"))
)


def get_user(request):
    """The signed-in user, if this browser's session is still one: its row is there, for this user,
    and was used within the idle lifetime (then its last use is noted, at most every few minutes)."""
    user_id, token = request.session.get(SESSION_USER), request.session.get(SESSION_AUTH)
    if user_id is None or not isinstance(token, str):
        return None
    found = request.dbsession.execute(SESSION_AND_USER, {"token_hash": token_hash(token)}).one_or_none()
    if found is None:
        return None  # signed out (here or everywhere), the password was reset, or the account is gone
    row, user = found
    if row.user_id != user_id:
        return None  # the cookie names another account than the session row does
    now = utcnow()
    if now - row.last_seen_at > SESSION_IDLE["owner" if user.is_admin else "buyer"]:
        request.dbsession.delete(row)
        return None
    if now - row.last_seen_at > SESSION_TOUCH:
        request.dbsession.execute(update(AccountSession).where(AccountSession.id == row.id).values(last_seen_at=now))
    return user


def sign_in(request, user):
    """Start a new session for ``user``: cleared (receipts this browser may see are kept), new CSRF token."""
    kept = {key: request.session[key] for key in KEPT_ON_SIGN_IN if request.session.get(key)}
    forget(request)  # a session this browser had signed in before ends here
    request.session.invalidate()
    request.session.update(kept)
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


def includeme(config):
    settings = config.get_settings()
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
