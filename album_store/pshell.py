"""``pshell development.ini``: an interactive shell inside the store's app (the inis' ``[pshell]``).

Besides pshell's own ``app``, ``registry``, ``request`` and ``root``, it gives ``dbsession`` (the
request's session), ``tm`` (its transaction manager, with a transaction begun), ``models`` (the
``album_store.models`` package) and ``find_service`` (``request.find_service``, e.g.
``find_service(IAccountService)``). Nothing typed is committed unless you call ``tm.commit()``
(then ``tm.begin()`` for more): what is left open when the shell ends is aborted.
"""

from transaction.interfaces import NoTransaction

from . import models


def setup(env):
    request = env["request"]
    request.tm.begin()
    env["tm"] = request.tm
    env["dbsession"] = request.dbsession
    env["models"] = models
    env["find_service"] = request.find_service
    try:
        yield
    finally:
        # The transaction manager is explicit: a transaction still open when the shell ends is
        # rolled back (one committed or aborted by hand, and not begun again, leaves nothing open).
        if _transaction_open(request.tm):
            request.tm.abort()


def _transaction_open(tm):
    try:
        tm.get()
    except NoTransaction:
        return False
    return True
