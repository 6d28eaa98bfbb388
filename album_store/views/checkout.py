"""Buying: the POST that Checkout submits, and the receipt it leads to (where the Payment Element's
``return_url`` comes back to, too)."""
import logging
import re

from pyramid.httpexceptions import HTTPBadRequest, HTTPConflict, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config

from ..forms import EMAIL
from ..services.receipts import may_view_purchase, remember_purchase
from ..services.payments import CardDeclined, PaymentUnavailable
from ..services.audio import FORMATS, offered_formats
from ..services.downloads import IDownloadService
from ..money import format_money
from ..services.purchases import (AlreadyBought, AttemptAmountDiffers, CheckoutTokenReused, IPurchaseService,
                                  PaymentIncomplete, PriceNotChargeable, StillPending)
from ..settings import CHECKOUT_JS
from .catalog import album_page
from .shown_price import require_shown_price

log = logging.getLogger(__name__)

TOKEN = re.compile(r"^[A-Za-z0-9_]{3,255}$")


@view_config(route_name="album_buy", request_method="POST", require_csrf=True)
def buy_album(context, request):
    album = context
    if request.registry.settings["store.payment_flow"] != CHECKOUT_JS:
        # A page from before the owner switched to the payment_intents flow.
        raise HTTPConflict("This store now takes cards in the form on the album page, so nothing was charged. "
                           "Please go back to the album, reload it and pay there.")
    token = request.POST.get("stripeToken", "").strip()
    if album.name_your_price and not token and require_shown_price(request, album, request.POST) == 0:
        # Pay what you want, 0: a free download needs no card (the form works without JavaScript too).
        return give_free_download(request, album, request.POST.get("email", ""))
    if not token:
        raise HTTPBadRequest("The payment form arrived without a card token, so nothing was charged. Please use the Buy button again.")
    if not TOKEN.match(token):
        raise HTTPBadRequest("The card token is not one Stripe makes, so nothing was charged.")
    email = request.user.email if request.user is not None else request.POST.get("stripeEmail", "").strip()
    if not EMAIL.match(email) or len(email) > 254:
        raise HTTPBadRequest("The payment form needs a valid email address for your receipt; nothing was charged.")

    amount = require_shown_price(request, album, request.POST)
    if amount == 0:
        return give_free_download(request, album, request.POST.get("email") or email)
    purchases = request.find_service(IPurchaseService)
    try:
        purchase = purchases.charge_for_album(album, token=token, email=email, user=request.user, amount_cents=amount)
    except CardDeclined as declined:
        response = render_to_response(
            "album_store:templates/catalog/album.pt", album_page(request, album, error=declined.user_message), request
        )
        response.status = 402
        return response
    except AlreadyBought as bought:
        return already_bought(request, album, bought.purchase)
    except PriceNotChargeable:
        raise HTTPConflict(NOT_CHARGEABLE.format(title=album.title))
    except AttemptAmountDiffers as differs:
        raise HTTPConflict(amount_differs(differs.purchase, "use the Buy button and enter your card again"))
    except CheckoutTokenReused:
        raise HTTPConflict(
            "These card details were already used for another purchase, so nothing more was charged. "
            "Please use the Buy button and enter your card again."
        )
    except StillPending as pending:
        return pending_receipt(request, pending.purchase)
    except PaymentUnavailable:
        response = render_to_response(
            "album_store:templates/checkout/unavailable.pt", {"album": album}, request
        )
        response.status = 503
        response.headers["Retry-After"] = "60"
        return response
    remember_purchase(request, purchase)
    return HTTPSeeOther(request.route_url("purchase", id=purchase.id))


def amount_differs(purchase, how):
    """The same checkout again with another amount (pay what you want): its first amount stands."""
    return (f"This checkout was started for {format_money(purchase.amount_cents, purchase.currency)}, so nothing was "
            f"charged for another amount. To pay a different amount, please {how}.")


def give_free_download(request, album, email):
    from .free_download import give_free_download as give  # views/free_download.py imports this module

    return give(request, album, email)


def pending_receipt(request, purchase):
    """Stripe has not answered (or its answer could not be recorded): a 503 with the purchase's pending
    receipt, which updates itself; this browser may open it again, and a second checkout of the album
    is not charged."""
    remember_purchase(request, purchase)
    response = render_to_response("album_store:templates/checkout/receipt.pt", receipt(purchase, request), request)
    response.status = 503
    response.headers["Retry-After"] = "10"
    return response


def whose(request, purchase):
    """What this visitor may be told of the purchase their new checkout ran into: ``"owned"`` (their
    account's, paid: it is in their library), ``"theirs"`` (their browser's or account's: they may see
    its receipt) or None (anyone else, e.g. a stranger who typed the buyer's email: a neutral answer)."""
    if not may_view_purchase(request, purchase):
        return None
    if purchase.status == "paid" and request.user is not None and purchase.user_id == request.user.id:
        return "owned"
    return "theirs"


def already_bought(request, album, purchase):
    """A second checkout of an album its buyer has paid for, or is paying for: nothing is charged.
    Its buyer's browser or account is shown that purchase; anyone else (a stranger who typed the
    buyer's email) learns nothing about it beyond this neutral answer."""
    relation = whose(request, purchase)
    if relation is not None:
        if relation == "owned":
            raise HTTPConflict(
                f"{album.title} is already in your library, so nothing was charged. "
                "You can download it again from your library at any time."
            )
        return HTTPSeeOther(request.route_url("purchase", id=purchase.id))
    raise HTTPConflict(ALREADY_BOUGHT.format(title=album.title))


#: A price set before the owner's form checked it against Stripe's minimum (the owner sees it logged).
NOT_CHARGEABLE = "{title} cannot be bought at the moment: its price is one our card processor cannot charge. Nothing was charged."

#: What anyone but a purchase's own buyer is told when its email already has the album.
ALREADY_BOUGHT = (
    "Nothing was charged: {title} has already been bought, or is being paid for, with this email address. "
    "The receipt and the download link go to that address. To give the album to someone, use their address."
)


@view_config(route_name="album_buy", request_method="GET")
def buy_album_get(context, request):
    # Someone reloaded or bookmarked the form's address: back to the album page.
    return HTTPSeeOther(request.route_url("album", slug=context.slug))


@view_config(route_name="purchase", renderer="album_store:templates/checkout/receipt.pt")
def receipt(context, request):
    purchase = context
    if "payment_intent" in request.GET:
        return settle_on_return(request, purchase)
    if purchase.status == "pending" and purchase.uses_checkout_session:
        # Back from Stripe's hosted page (or reloading the pending receipt): ask Stripe, never the query.
        request.find_service(IPurchaseService).confirm_checkout_session(purchase)
    return {"purchase": purchase, "album": purchase.album, "download_url": download_url(request, purchase),
            "download_links": download_links(request, purchase)}


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


def download_url(request, purchase):
    """A fresh signed download link for a paid purchase whose album has its file or its formats, else None."""
    downloads = request.find_service(IDownloadService)
    if not purchase.is_paid or (downloads.file_for(purchase.album) is None and not offered_formats(purchase.album)):
        return None
    return request.route_url("download", token=downloads.token_for(purchase))


def download_links(request, purchase):
    """``[(label, url)]``: one per download format the album offers (the buyer picks one), or the
    owner's uploaded ZIP; empty when there is nothing to download (yet) or the purchase is not paid."""
    url = download_url(request, purchase)
    if url is None:
        return []
    formats = offered_formats(purchase.album)
    if not formats:
        return [("ZIP", url)]
    return [(FORMATS[key].label, f"{url}?format={key}") for key in formats]
