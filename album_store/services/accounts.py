"""Buyer accounts: registering, signing in (slowed down after failures), confirming the email
address, and choosing a new password from an emailed link.

Emails are stored lower-cased, so the unique constraint compares them case-insensitively. Passwords
are hashed with argon2 (``passwords.hash_password``). A guest purchase joins an account's library
only once the owner of the address has confirmed it through the emailed link.
"""

import math
import re
import threading
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, update
from zope.interface import Interface, implementer
from zxcvbn import zxcvbn

from ..browser_sessions import end_all_sessions
from ..models import LoginAttempt, Purchase, User, normalize_email, one_at_a_time
from ..models.meta import utcnow
from ..models.transactions import flush_or_raise
from ..passwords import (
    hash_password,
    password_fingerprint,
    password_needs_rehash,
    spend_password_check_time,
    verify_password,
)
from .tokens import ISignedTokens, LinkInvalid

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
# zxcvbn's score: 3 is "safely unguessable" (about 10^8 guesses and up); below is a common
# password, a variant of one, a keyboard walk, a date, a word and a number...
MIN_PASSWORD_SCORE = 3
# zxcvbn keeps the user's own words in a module-level dict while it scores: one check at a time.
_zxcvbn_lock = threading.Lock()

# Failed sign-ins: a few are free, then each one more doubles the wait, up to a cap. Counted per
# address typed and per client address (several accounts tried from one place), in the database.
THROTTLE_WINDOW = timedelta(hours=1)
FREE_FAILURES_PER_ACCOUNT = 5
FREE_FAILURES_PER_CLIENT = 20
FIRST_WAIT_SECONDS = 30
MAX_WAIT_SECONDS = 15 * 60


class EmailTaken(Exception):
    """An account already has this address."""


class LoginThrottled(Exception):
    """Too many failed sign-ins lately: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after):
        super().__init__(retry_after)
        self.retry_after = retry_after


def password_problems(password, *, email="", words=()):
    """What is wrong with a new password, as sentences for the form; empty when it will do.

    Besides a minimum length, the password is scored by zxcvbn, which knows the 30,000 most common
    passwords of leaked lists and their usual variants (capitals, digits, l33t, keyboard walks, dates)
    and is given the buyer's own email and the store's name.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return [f"Use at least {MIN_PASSWORD_LENGTH} characters."]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [f"Use at most {MAX_PASSWORD_LENGTH} characters."]
    user_inputs = [email, email.split("@")[0], *re.split(r"[^a-z0-9]+", email.lower()), *words]
    with _zxcvbn_lock:
        # zxcvbn refuses more than 72 characters; a longer password is judged by its start.
        result = zxcvbn(password[:72], user_inputs=[word for word in user_inputs if word])
    if result["score"] >= MIN_PASSWORD_SCORE:
        return []
    feedback = result["feedback"]
    message = feedback.get("warning") or "This password is too easy to guess."
    if "common" not in message.lower():
        message = f"{message.rstrip('.')}: it is too easy to guess."
    hints = " ".join(feedback.get("suggestions") or ["Add another word or two."])
    return [f"{message} {hints}"]


class IAccountService(Interface):
    def find_by_email(email):
        """The account with this address (compared case-insensitively), or None."""

    def register(email, password):
        """Create an account (email not yet confirmed); raise EmailTaken."""

    def make_owner(email, password, *, confirmed=False):
        """Create a store owner account, or promote the address's account and set its password;
        return ``(user, created)``."""

    def authenticate(email, password, client_addr):
        """Return the user for a right email and password, else None; raise LoginThrottled."""

    def confirmation_token(user):
        """The token of the emailed link that confirms the user's address."""

    def confirm_email(token):
        """Confirm the address a token was made for; link its guest purchases. Return (user, linked)."""

    def reset_token(user):
        """The token of the emailed link to choose a new password (one use, one hour)."""

    def user_for_reset(token):
        """The user a reset token is for, if it is genuine, recent and unused; raise LinkInvalid."""

    def reset_password(user, password):
        """Set a new password (which spends every reset link made before); confirms the address."""


@implementer(IAccountService)
class AccountService:
    def __init__(self, dbsession, tokens, secret):
        self.db = dbsession
        self.tokens = tokens
        self.secret = secret

    def find_by_email(self, email):
        return self.db.scalars(select(User).where(User.email == normalize_email(email))).one_or_none()

    # --- registering and signing in ------------------------------------------------------------
    def register(self, email, password):
        email = normalize_email(email)
        if self.find_by_email(email) is not None:
            raise EmailTaken(email)
        return self._add_user(email, password)

    def _add_user(self, email, password, *, is_admin=False):
        """The one place an account is made (``register``, ``make_owner``)."""
        user = User(email=email, password_hash=hash_password(password), is_admin=is_admin)
        # Registered a moment ago by another request: the savepoint is rolled back, the rest of this
        # request's transaction stays usable, and the view answers 409 with the form.
        with flush_or_raise(self.db, lambda: EmailTaken(email)):
            self.db.add(user)
        return user

    def make_owner(self, email, password, *, confirmed=False):
        """A store owner account with this address and password (``album-store create-admin``, the
        demo's owner): made, or the existing account promoted and given the password. ``confirmed``
        also confirms the address. Returns ``(user, created)``."""
        email = normalize_email(email)
        user = self.find_by_email(email)
        created = user is None
        if created:
            user = self._add_user(email, password, is_admin=True)
        else:
            user.password_hash = hash_password(password)
            user.is_admin = True
        if confirmed:
            self._mark_confirmed(user)
        self.db.flush()
        return user, created

    def authenticate(self, email, password, client_addr):
        """The account, or None for a wrong password (counted as a failure); LoginThrottled while the
        address or the client has failed too often lately.

        The attempt is recorded *before* the password is checked, and the count is taken after it,
        with sign-ins of the same address and client in turn: on PostgreSQL under two transaction-
        scoped advisory locks (address and client, always in the same order), on SQLite under the
        database's one write lock, which the insert takes. So parallel guesses, on any number of
        processes, each see all the ones before them: no more than the free failures get a password
        checked. A throttled attempt is removed again (it checked nothing); a failed one stays as
        the failure; a success clears the address's failures."""
        email = normalize_email(email)
        client_addr = (client_addr or "unknown")[:64]
        now = utcnow()
        one_at_a_time(self.db, "login-email:" + email, "login-client:" + client_addr)
        attempt = LoginAttempt(email=email, client_addr=client_addr, attempted_at=now)
        self.db.add(attempt)
        self.db.flush()
        wait = max(
            self._wait_seconds(LoginAttempt.email == email, FREE_FAILURES_PER_ACCOUNT, now, attempt.id),
            self._wait_seconds(LoginAttempt.client_addr == client_addr, FREE_FAILURES_PER_CLIENT, now, attempt.id),
        )
        if wait:
            self.db.delete(attempt)
            self.db.flush()
            raise LoginThrottled(wait)
        user = self.find_by_email(email)
        if user is None:
            spend_password_check_time(password)
        elif verify_password(user.password_hash, password):
            self.db.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
            if password_needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            return user
        self.db.execute(
            delete(LoginAttempt).where(
                or_(LoginAttempt.email == email, LoginAttempt.client_addr == client_addr),
                LoginAttempt.attempted_at < now - THROTTLE_WINDOW,
            )
        )
        return None

    def _wait_seconds(self, condition, free_failures, now, own_id):
        failures, last = self.db.execute(
            select(func.count(), func.max(LoginAttempt.attempted_at)).where(
                condition, LoginAttempt.attempted_at >= now - THROTTLE_WINDOW, LoginAttempt.id != own_id
            )
        ).one()
        if failures < free_failures:
            return 0
        wait = min(FIRST_WAIT_SECONDS * 2 ** (failures - free_failures), MAX_WAIT_SECONDS)
        remaining = (last - now).total_seconds() + wait
        return max(0, math.ceil(remaining))

    # --- confirming the address ----------------------------------------------------------------
    def confirmation_token(self, user):
        return self.tokens.make("confirm-email", {"user": user.id, "email": user.email})

    def confirm_email(self, token):
        payload = self.tokens.read("confirm-email", token)
        user = self.db.get(User, payload.get("user")) if isinstance(payload, dict) else None
        if user is None or user.email != payload.get("email"):
            raise LinkInvalid("confirm-email")  # the account is gone or now has another address
        return user, self._mark_confirmed(user)

    def _mark_confirmed(self, user):
        """Confirm the user's address and give their library the guest purchases made with it."""
        if user.email_confirmed_at is None:
            user.email_confirmed_at = utcnow()
        result = self.db.execute(
            update(Purchase)
            .where(Purchase.user_id.is_(None), func.lower(Purchase.email) == user.email)
            .values(user_id=user.id)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount

    # --- a new password ------------------------------------------------------------------------
    def reset_token(self, user):
        return self.tokens.make(
            "password-reset", {"user": user.id, "pw": password_fingerprint(self.secret, user.password_hash)}
        )

    def user_for_reset(self, token):
        payload = self.tokens.read("password-reset", token)
        user = self.db.get(User, payload.get("user")) if isinstance(payload, dict) else None
        # The fingerprint of the password hash changes with the password: a used link is dead.
        if user is None or payload.get("pw") != password_fingerprint(self.secret, user.password_hash):
            raise LinkInvalid("password-reset")
        return user

    def reset_password(self, user, password):
        user.password_hash = hash_password(password)
        end_all_sessions(self.db, user)  # whoever knew the old password is signed out everywhere
        # The link came to the address, so its owner has just proved they read it.
        self._mark_confirmed(user)
        self.db.execute(delete(LoginAttempt).where(LoginAttempt.email == user.email))
        self.db.flush()


def account_service_factory(context, request):
    return AccountService(
        request.dbsession, request.find_service(ISignedTokens), request.registry.settings["store.secret"]
    )


def includeme(config):
    config.register_service_factory(account_service_factory, IAccountService)
