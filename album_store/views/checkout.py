"""Buying: the POST that Checkout submits, and the receipt it leads to (where the Payment Element's
``return_url`` comes back to, too). Payment errors are answered in ``payment_errors.py``."""

import logging

from pyramid.httpexceptions import HTTPBadRequest, HTTPConflict, HTTPSeeOther
from pyramid.view import view_config

from ..forms import CardTokenForm
from ..purchase_answers import give_free_download, receipt_values
from ..services.payments import CardDeclined, PaymentUnavailable
from ..services.purchases import IPurchaseService, PaymentIncomplete
from ..services.receipts import remember_purchase
from ..settings import CHECKOUT_JS
from ..shown_price import require_shown_price

log = logging.getLogger(__name__)


@view_config(route_name="album_buy", request_method="POST", require_csrf=True, payment_flow=CHECKOUT_JS)
def buy_album(context, request):
    album = context
    form = CardTokenForm(request.POST, user=request.user)
    if album.name_your_price and not form.stripeToken.data and require_shown_price(request, album, request.POST) == 0:
        # Pay what you want, 0: a free download needs no card (the form works without JavaScript too).
        return give_free_download(request, album, request.POST.get("email", ""))
    refusal = form.refusal()
    if refusal:
        raise HTTPBadRequest(refusal)
    amount = require_shown_price(request, album, request.POST)
    if amount == 0:
        return give_free_download(request, album, request.POST.get("email") or form.buyer_email)
    purchase = request.find_service(IPurchaseService).charge_for_album(
        album, token=form.stripeToken.data, email=form.buyer_email, user=request.user, amount_cents=amount
    )
    remember_purchase(request, purchase)
    return HTTPSeeOther(request.route_url("purchase", id=purchase.id))


@view_config(route_name="album_buy", request_method="POST", require_csrf=True)
def buy_album_other_flow(context, request):
    # A page from before the owner switched to another payment flow.
    raise HTTPConflict(
        "This store now takes cards in the form on the album page, so nothing was charged. "
        "Please go back to the album, reload it and pay there."
    )


@view_config(route_name="album_buy", request_method="GET")
def buy_album_get(context, request):
    # Someone reloaded or bookmarked the form's address: back to the album page.
    return HTTPSeeOther(request.route_url("album", slug=context.slug))


@view_config(route_name="purchase", renderer="album_store:templates/checkout/receipt.pt")
def receipt(context, request):
    if "payment_intent" in request.GET:
        return settle_on_return(request, context)
    return receipt_values(request, context)


def settle_on_return(request, purchase):
    """The Payment Element's ``return_url`` (``?payment_intent=…&payment_intent_client_secret=…&
    redirect_status=…``, added by Stripe.js after a payment method that redirects): settle the purchase
    from its own PaymentIntent, retrieved at Stripe (the query string is never trusted: not its id, not
    its status), then show the receipt at its plain address, so the client secret leaves the address bar
    and a reload asks nothing of Stripe."""
    if purchase.uses_payment_intent and purchase.status == "pending":
        try:
            request.find_service(IPurchaseService).confirm_payment_intent(purchase)
        except (CardDeclined, PaymentIncomplete, PaymentUnavailable) as outcome:
            # Failed (the receipt says why), not finished, or Stripe not reachable: the receipt shows
            # the purchase as it is now (pending receipts update themselves; reconcile settles them).
            log.info("purchase %s: back from Stripe, not paid (%s)", purchase.id, type(outcome).__name__)
    return HTTPSeeOther(request.route_url("purchase", id=purchase.id, _query=_kept_query(request)))


def _kept_query(request):
    """The receipt's own query (the signed ``t`` of a receipt link), without Stripe's additions."""
    return {"t": request.GET["t"]} if "t" in request.GET else {}
