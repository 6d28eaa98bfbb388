"""Payment errors become answers here, by exception views: the paying views only validate, call the
purchase service and redirect, and whatever the service raises is answered by route.

- ``album_buy`` (checkout_js), ``album_checkout_session`` and ``album_free_download`` are HTML forms:
  the album page again (a declined card: 402), the pending receipt or the "card processor
  unreachable" page (503 with ``Retry-After``), or the store's error page (409).
- ``album_payment_intent`` and ``purchase_confirm`` are card-payment.js's JSON: the same outcomes as
  ``{"status": …, "error": …}`` with the same status codes.

**The transaction.** pyramid_tm aborts the request's transaction when an exception view answers (no
``tm.commit_veto`` is configured). That is right for the 409s below, which the views raised before
as ``HTTPConflict`` (rolled back then too). The other answers were *returned* by the views before,
so pyramid_tm committed what was left in the transaction: those views are decorated
:func:`~album_store.models.transactions.commits_as_returned` and keep that. What the buyer must
never lose is committed by the purchase service itself before it raises (the pending purchase
before Stripe is asked, a decline's ``failed``), either way.
"""

from pyramid.httpexceptions import HTTPConflict, HTTPException, HTTPSeeOther
from pyramid.view import view_config

from ..album_page import ALBUM_TEMPLATE, album_page
from ..models.transactions import commit_or_answer, commits_as_returned
from ..purchase_answers import ALREADY_BOUGHT, NOT_CHARGEABLE, UNAVAILABLE, amount_differs, pending_receipt, whose
from ..services.payments import CardDeclined, PaymentUnavailable
from ..services.purchases import (
    AlreadyBought,
    AttemptAmountDiffers,
    CheckoutTokenReused,
    PaymentIncomplete,
    PriceNotChargeable,
    StillPending,
    new_attempt_id,
)
from ..services.receipts import remember_purchase

UNAVAILABLE_TEMPLATE = "album_store:templates/checkout/unavailable.pt"


def _refuse(request, error):
    """Answer ``error`` (an ``HTTPException``) with the store's error page (or its JSON), exactly as if
    the view had raised it: ``views/errors.py`` renders it, and the transaction is rolled back."""
    try:
        raise error
    except HTTPException:
        return request.invoke_exception_view()


def _json(request, http_status, retry_after=None, **body):
    request.response.status = http_status
    if retry_after is not None:
        request.response.headers["Retry-After"] = retry_after
    return body


def _pending_json(request, retry_after, **body):
    """Stripe could not be asked, or has not finished: nothing failed, the buyer may try again later."""
    return _json(request, 503, retry_after=retry_after, status="pending", error=UNAVAILABLE, **body)


# --- HTML: the album's Buy forms ---------------------------------------------------------------------
@view_config(context=CardDeclined, route_name="album_buy", renderer=ALBUM_TEMPLATE)
@commits_as_returned
def declined_page(exc, request):
    """The album page again, with the card's message and the Buy button to try another card."""
    request.response.status = 402
    return album_page(request, request.context, error=exc.user_message)


@view_config(context=CardDeclined, route_name="album_checkout_session")
def declined_hosted(exc, request):
    return _refuse(request, HTTPConflict(f"{exc.user_message} Please press Buy again."))


@view_config(context=PaymentUnavailable, route_name="album_buy", renderer=UNAVAILABLE_TEMPLATE)
@view_config(context=PaymentUnavailable, route_name="album_checkout_session", renderer=UNAVAILABLE_TEMPLATE)
@commits_as_returned
def unavailable_page(exc, request):
    """Stripe could not be asked: nothing was charged or recorded as paid; try again in a minute."""
    request.response.status = 503
    request.response.headers["Retry-After"] = "60"
    return {"album": request.context}


@view_config(context=StillPending, route_name="album_buy")
@view_config(context=StillPending, route_name="album_checkout_session")
@commits_as_returned
def still_pending_page(exc, request):
    return pending_receipt(request, exc.purchase)


@view_config(context=AlreadyBought, route_name="album_buy")
@view_config(context=AlreadyBought, route_name="album_checkout_session")
@view_config(context=AlreadyBought, route_name="album_free_download")
def already_bought_page(exc, request):
    """A second checkout of an album its buyer has paid for, or is paying for: nothing is charged.
    Its buyer's browser or account is shown that purchase; anyone else (a stranger who typed the
    buyer's email) learns nothing about it beyond this neutral answer."""
    album, purchase = request.context, exc.purchase
    relation = whose(request, purchase)
    if relation == "theirs":  # returned by the view before (committed); the 409s were raised
        failed = commit_or_answer(request)
        return failed if failed is not None else HTTPSeeOther(request.route_url("purchase", id=purchase.id))
    if relation == "owned":
        return _refuse(
            request,
            HTTPConflict(
                f"{album.title} is already in your library, so nothing was charged. "
                "You can download it again from your library at any time."
            ),
        )
    return _refuse(request, HTTPConflict(ALREADY_BOUGHT.format(title=album.title)))


@view_config(context=PriceNotChargeable, route_name="album_buy")
@view_config(context=PriceNotChargeable, route_name="album_checkout_session")
def not_chargeable_page(exc, request):
    return _refuse(request, HTTPConflict(NOT_CHARGEABLE.format(title=request.context.title)))


@view_config(context=CheckoutTokenReused, route_name="album_buy")
def token_reused_page(exc, request):
    if isinstance(exc, AttemptAmountDiffers):
        message = amount_differs(exc.purchase, "use the Buy button and enter your card again")
    else:
        message = (
            "These card details were already used for another purchase, so nothing more was charged. "
            "Please use the Buy button and enter your card again."
        )
    return _refuse(request, HTTPConflict(message))


# --- JSON: card-payment.js (payment_intents) ---------------------------------------------------------
@view_config(context=CardDeclined, route_name="album_payment_intent", renderer="json")
@view_config(context=CardDeclined, route_name="purchase_confirm", renderer="json")
@commits_as_returned
def declined_json(exc, request):
    """A failed attempt (declined, or 3-D Secure failed or cancelled): the next try is a new attempt."""
    return _json(request, 402, status="failed", error=exc.user_message, attempt_id=new_attempt_id())


@view_config(context=PaymentUnavailable, route_name="album_payment_intent", renderer="json")
@commits_as_returned
def unavailable_json(exc, request):
    """Stripe could not be asked to start the payment."""
    return _pending_json(request, "60")


@view_config(context=PaymentUnavailable, route_name="purchase_confirm", renderer="json")
@commits_as_returned
def unavailable_confirm_json(exc, request):
    """Stripe could not be asked (or has not finished: a :class:`StillPending`) after the browser
    confirmed: the receipt settles itself once Stripe answers."""
    return _pending_json(request, "60", receipt_url=request.route_url("purchase", id=request.context.id))


@view_config(context=StillPending, route_name="album_payment_intent", renderer="json")
@commits_as_returned
def still_pending_json(exc, request):
    remember_purchase(request, exc.purchase)
    return _pending_json(request, "10", receipt_url=request.route_url("purchase", id=exc.purchase.id))


@view_config(context=AlreadyBought, route_name="album_payment_intent", renderer="json")
@commits_as_returned
def already_bought_json(exc, request):
    album, holder = request.context, exc.purchase
    relation = whose(request, holder)
    if relation is None:
        return _json(request, 409, status="conflict", error=ALREADY_BOUGHT.format(title=album.title))
    if relation == "owned":
        return _json(
            request,
            409,
            status="owned",
            library_url=request.route_url("library"),
            error=f"{album.title} is already in your library, so nothing was charged.",
        )
    return _json(
        request,
        409,
        status=holder.status,
        receipt_url=request.route_url("purchase", id=holder.id),
        error=f"You already have a purchase of {album.title}, so nothing more was charged.",
    )


@view_config(context=PriceNotChargeable, route_name="album_payment_intent", renderer="json")
@commits_as_returned
def not_chargeable_json(exc, request):
    return _json(request, 409, status="conflict", error=NOT_CHARGEABLE.format(title=request.context.title))


@view_config(context=CheckoutTokenReused, route_name="album_payment_intent", renderer="json")
@commits_as_returned
def token_reused_json(exc, request):
    if isinstance(exc, AttemptAmountDiffers):
        error = amount_differs(exc.purchase, "press Pay again")
    else:
        error = (
            "This payment form was already used for another purchase, so nothing more was charged. Please try again."
        )
    return _json(request, 409, status="conflict", attempt_id=new_attempt_id(), error=error)


@view_config(context=PaymentIncomplete, route_name="purchase_confirm", renderer="json")
@commits_as_returned
def incomplete_json(exc, request):
    return _json(
        request,
        409,
        status="incomplete",
        error="Your payment is not complete, so nothing was charged. Please check your card details "
        "and press Pay again.",
    )
