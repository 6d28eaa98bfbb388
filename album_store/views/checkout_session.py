"""The checkout_session flow: the Buy form posts here, and the buyer goes on to Stripe's hosted page.

``POST /albums/{slug}/checkout-session`` (CSRF, the shown price, the email of a guest) records the
pending purchase, creates its one Checkout Session and answers 303 to the session's page. Stripe
sends the buyer back to the receipt (``success_url``), which settles the purchase by retrieving the
session (views/checkout.py ``receipt``), or to the album page (``cancel_url``). Payment errors are answered
in ``payment_errors.py``.
"""

import hashlib

from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPBadRequest, HTTPConflict, HTTPSeeOther
from pyramid.view import view_config

from ..covers import cover_url
from ..forms import HostedCheckoutForm
from ..purchase_answers import give_free_download, whose
from ..services.mail import public_url
from ..services.purchases import AlreadyBought, IPurchaseService
from ..services.receipts import remember_purchase
from ..settings import CHECKOUT_SESSION
from ..shown_price import require_shown_price


def browser_key(request):
    """Names the buying browser without keeping its CSRF token: the same browser, coming back to buy the
    same album while its hosted page is open, is sent to that page again."""
    return hashlib.sha256(get_csrf_token(request).encode()).hexdigest()


def session_urls(request, album):
    """Where Stripe sends the buyer afterwards (on ``store.url`` when set, never the Host header)."""

    def urls(purchase):
        return {
            # Stripe fills in {CHECKOUT_SESSION_ID}; the receipt never trusts it (it retrieves the
            # purchase's own session), it only tells a person where they came from.
            "success_url": public_url(request, "purchase", id=purchase.id) + "?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": public_url(request, "album", slug=album.slug),
            "image_url": cover_url(request, album, 300, absolute=True) if album.cover_key else None,
            "store_name": request.registry.settings["store.name"],
        }

    return urls


@view_config(
    route_name="album_checkout_session", request_method="POST", require_csrf=True, payment_flow=CHECKOUT_SESSION
)
def start_checkout_session(context, request):
    album = context
    form = HostedCheckoutForm(request.POST, user=request.user)
    refusal = form.refusal()
    if refusal:
        raise HTTPBadRequest(refusal)
    amount = require_shown_price(request, album, request.POST)
    if amount == 0:  # pay what you want, 0: a free download, no Stripe
        return give_free_download(request, album, form.buyer_email)
    purchase, url = _start_or_resume(request, album, form.buyer_email, amount)
    remember_purchase(request, purchase)
    return HTTPSeeOther(url or request.route_url("purchase", id=purchase.id))


def _start_or_resume(request, album, email, amount):
    """``(purchase, hosted page url)``: a new Checkout Session, or this browser's own one still open
    (a double click, a return to the album page). Another holder of the album is
    :class:`AlreadyBought`, answered in payment_errors.py."""
    purchases = request.find_service(IPurchaseService)
    key = browser_key(request)

    def start():
        return purchases.start_checkout_session(
            album,
            email=email,
            user=request.user,
            browser_key=key,
            urls=session_urls(request, album),
            amount_cents=amount,
        )

    def own_open(holder):
        return (
            holder.status == "pending"
            and holder.uses_checkout_session
            and (holder.browser_key == key or whose(request, holder))
        )

    try:
        try:
            return start()
        except AlreadyBought as bought:
            holder = bought.purchase
            if not (
                album.name_your_price
                and own_open(holder)
                and holder.amount_cents != amount
                and purchases.replace_checkout_session(holder)
            ):
                raise
            # This browser chose another amount while its hosted page was open: that page is expired
            # (it can never be paid now) and a new one is made for the new amount.
            return start()
    except AlreadyBought as bought:
        if not own_open(bought.purchase):
            raise
        return bought.purchase, purchases.checkout_session_url(bought.purchase)


@view_config(route_name="album_checkout_session", request_method="POST", require_csrf=True)
def checkout_session_other_flow(context, request):
    # A page from before the owner switched to another payment flow.
    raise HTTPConflict(
        "This store takes payments differently now, so nothing was charged. "
        "Please go back to the album, reload it and pay there."
    )


@view_config(route_name="album_checkout_session", request_method="GET")
def checkout_session_get(context, request):
    return HTTPSeeOther(request.route_url("album", slug=context.slug))
