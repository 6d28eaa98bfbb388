"""Who may see a purchase's receipt, and the signed ``?t=`` link that lets its buyer back in.

A receipt is its buyer's: the browser that made the purchase (its id in the session,
:func:`remember_purchase`), the account it belongs to, a store owner, or whoever holds the receipt
link emailed to the buyer (a token signed for the ``receipt`` purpose, naming the purchase by its
unique reference). The route factory (resources.py) asks :func:`may_view_purchase` before a view runs.
"""

from ..browser_sessions import SESSION_PURCHASES
from .tokens import ISignedTokens, LinkInvalid

#: How many receipts one browser's session remembers (the newest): the cookie stays small.
REMEMBERED_PURCHASES = 50


def remember_purchase(request, purchase):
    """Let this browser see the receipt of a purchase it just made."""
    ids = list(request.session.get(SESSION_PURCHASES, []))
    if purchase.id not in ids:
        ids = (ids + [purchase.id])[-REMEMBERED_PURCHASES:]
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
