"""What a browser's signed session cookie carries, and the ``account_sessions`` rows behind a sign-in.

The names of the session's keys and "end every session of this account" live here, beneath both
security.py (the policy: who is signed in) and the services (a password reset signs the account out
everywhere; the receipt service remembers which receipts this browser may see), so neither of
those imports the other.
"""

import hashlib

from sqlalchemy import delete

from .models import AccountSession

#: The session cookie's name (the page cache also reads it: no session cookie, an anonymous visitor).
SESSION_COOKIE = "album_store_session"
#: The signed-in account's id, and the random token naming its ``account_sessions`` row.
SESSION_USER = "user_id"
SESSION_AUTH = "auth"
#: The purchases this browser made (services/receipts.py): their receipts are shown to it.
SESSION_PURCHASES = "purchase_ids"
#: What survives signing in (the session is otherwise cleared): the receipts this browser may see.
KEPT_ON_SIGN_IN = (SESSION_PURCHASES,)


def token_hash(token):
    """What ``account_sessions`` stores of a session's token: a copy of the table signs nobody in."""
    return hashlib.sha256(token.encode()).hexdigest()


def end_all_sessions(dbsession, user):
    """Sign ``user`` out on every browser (sign out everywhere; a password reset)."""
    dbsession.execute(delete(AccountSession).where(AccountSession.user_id == user.id))
