"""The payment_intents flow's JSON endpoints, called by ``static/card-payment.js``.

0. ``GET /payment-attempt``: a fresh attempt id, made by the server, which the page keeps for as long
   as it is open (the album page is cached for every visitor, so it cannot carry one itself).
1. ``POST /albums/{slug}/payment-intent`` {attempt_id, email, shown_amount, shown_currency}: the
   pending purchase and its PaymentIntent's client secret (the same ones again for the same attempt
   id), and the ``return_url`` for Stripe.js (the receipt); a 409 ``price_changed`` with the current
   price when the page showed another (``shown_price``).
2. The page mounts Stripe.js's Payment Element for that client secret and confirms the PaymentIntent
   in it (``confirmPayment`` with ``redirect: 'if_required'``: 3-D Secure if the card needs it; a
   method that redirects comes back to the receipt, ``GET /purchases/{id}?payment_intent=…``, which
   settles the purchase the same way as step 3).
3. ``POST /purchases/{id}/confirm``: the server retrieves the PaymentIntent and settles the purchase
   by what Stripe says, never by what the page says.

Both need the session's CSRF token in the ``X-CSRF-Token`` header. Errors are JSON with a message
fit for the buyer; after a failed attempt the answer carries a fresh ``attempt_id`` for the retry.
Payment errors are answered in ``payment_errors.py``; on another payment flow these routes are 404s.
"""

import json

from pyramid.httpexceptions import HTTPNotFound
from pyramid.view import view_config

from ..caching import NO_STORE
from ..forms import PaymentStartForm
from ..purchase_answers import ALREADY_BOUGHT, start_free_download, whose
from ..services.purchases import AlreadyBought, IPurchaseService, new_attempt_id
from ..services.receipts import remember_purchase
from ..settings import PAYMENT_INTENTS
from ..shown_price import require_shown_price


def _answer(request, http_status, **body):
    request.response.status = http_status
    return body


def _json_fields(request):
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        return None
    return body if isinstance(body, dict) else None


@view_config(
    route_name="payment_attempt",
    request_method="GET",
    renderer="json",
    payment_flow=PAYMENT_INTENTS,
    cache_control=NO_STORE,
)
def payment_attempt(request):
    """A new attempt id: names one checkout attempt of one page (never cached, never shared)."""
    return {"attempt_id": new_attempt_id()}


@view_config(
    route_name="album_payment_intent",
    request_method="POST",
    require_csrf=True,
    renderer="json",
    payment_flow=PAYMENT_INTENTS,
)
def start_payment(context, request):
    album = context
    fields = _json_fields(request)
    if fields is None:
        return _answer(
            request, 400, status="invalid", error="The payment request was not understood; nothing was charged."
        )
    form = PaymentStartForm(data=fields, user=request.user)
    refusal = form.refusal()
    if refusal:
        field = form.refused_field()
        return _answer(request, 400, status="invalid", error=refusal, **({"field": field} if field == "email" else {}))
    amount = require_shown_price(request, album, fields)
    if amount == 0:
        return _free(request, album, form.buyer_email)
    purchase, intent = request.find_service(IPurchaseService).start_payment_intent(
        album, email=form.buyer_email, attempt_id=form.attempt_id.data, user=request.user, amount_cents=amount
    )
    remember_purchase(request, purchase)
    receipt_url = request.route_url("purchase", id=purchase.id)
    if intent is None:
        return _settled(request, purchase, receipt_url)
    return {
        "status": "confirm",
        "client_secret": intent.client_secret,
        "confirm_url": request.route_url("purchase_confirm", id=purchase.id),
        # confirmPayment's return_url: a method that redirects comes back to the receipt, which
        # settles the purchase from the PaymentIntent (views/checkout.py, settle_on_return).
        "return_url": receipt_url,
    }


def _free(request, album, email):
    """Pay what you want, 0: a free download (no Stripe), its link mailed; card-payment.js shows why."""
    try:
        started = start_free_download(request, album, email)
    except AlreadyBought as bought:
        relation = whose(request, bought.purchase)
        if relation is None:
            return _answer(request, 409, status="conflict", error=ALREADY_BOUGHT.format(title=album.title))
        return _answer(
            request,
            409,
            status=bought.purchase.status,
            receipt_url=request.route_url("purchase", id=bought.purchase.id),
            error=f"You already have {album.title}, so nothing more was charged.",
        )
    receipt_url = request.route_url("purchase", id=started.purchase.id)
    if started.notice is None:
        remember_purchase(request, started.purchase)
        return {"status": "paid", "receipt_url": receipt_url}
    return {"status": "free", "message": started.notice}


@view_config(
    route_name="purchase_confirm",
    request_method="POST",
    require_csrf=True,
    renderer="json",
    payment_flow=PAYMENT_INTENTS,
)
def confirm_payment(context, request):
    purchase = context
    if not purchase.uses_payment_intent:
        raise HTTPNotFound("There is no card payment to confirm at this address.")
    request.find_service(IPurchaseService).confirm_payment_intent(purchase)
    return _settled(request, purchase, request.route_url("purchase", id=purchase.id))


def _settled(request, purchase, receipt_url):
    """The answer for an attempt that is settled already: paid, or refunded since (the money went back,
    so the buyer is never told "paid" for it). Either way nothing more was charged; the receipt says which."""
    if purchase.status == "paid":
        return {"status": "paid", "receipt_url": receipt_url}
    return _answer(
        request,
        409,
        status=purchase.status,
        receipt_url=receipt_url,
        error="This payment was refunded, so nothing more was charged.",
    )


@view_config(route_name="payment_attempt", request_method="GET")
@view_config(route_name="album_payment_intent", request_method="POST")
@view_config(route_name="purchase_confirm", request_method="POST")
def other_flow(request):
    # A page from before the owner switched to another payment flow.
    raise HTTPNotFound("This store takes cards with Checkout's button on the album page.")


@view_config(route_name="album_payment_intent", request_method="GET")
@view_config(route_name="purchase_confirm", request_method="GET")
def json_endpoint_get(request):
    raise HTTPNotFound("This address only takes the album page's card payments.")
