"""What the buyer is told about a purchase, shared by the views of every payment flow and by the
payment errors' exception views (``views/payment_errors.py``): the messages, whose purchase a new
checkout ran into, the receipt's values and download links, and the free download (pay what you
want, 0). Not a view module, so no view module imports another."""

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import render_to_response

from .album_page import ALBUM_TEMPLATE, album_page
from .forms import valid_email
from .models import PurchaseStatus
from .money import format_money
from .pricing import AmountRefused
from .services.audio import FORMATS, offered_formats
from .services.downloads import IDownloadService
from .services.purchases import AlreadyBought, IPurchaseService
from .services.receipts import may_view_purchase, remember_purchase

RECEIPT_TEMPLATE = "album_store:templates/checkout/receipt.pt"

#: A price set before the owner's form checked it against Stripe's minimum (the owner sees it logged).
NOT_CHARGEABLE = (
    "{title} cannot be bought at the moment: its price is one our card processor cannot charge. Nothing was charged."
)

#: What anyone but a purchase's own buyer is told when its email already has the album.
ALREADY_BOUGHT = (
    "Nothing was charged: {title} has already been bought, or is being paid for, with this email address. "
    "The receipt and the download link go to that address. To give the album to someone, use their address."
)

#: The payment_intents flow's answer while Stripe cannot be reached (its JSON, for card-payment.js).
UNAVAILABLE = (
    "We could not reach our card processor, so we cannot confirm your payment yet. You will not be charged "
    "again for this album: if it went through, we record it automatically and email your receipt."
)

NEEDS_EMAIL = "Enter your email address for the free download: we send the link that gives it to you there."


def amount_differs(purchase, how):
    """The same checkout again with another amount (pay what you want): its first amount stands."""
    return (
        f"This checkout was started for {format_money(purchase.amount_cents, purchase.currency)}, so nothing was "
        f"charged for another amount. To pay a different amount, please {how}."
    )


def whose(request, purchase):
    """What this visitor may be told of the purchase their new checkout ran into: ``"owned"`` (their
    account's, paid: it is in their library), ``"theirs"`` (their browser's or account's: they may see
    its receipt) or None (anyone else, e.g. a stranger who typed the buyer's email: a neutral answer)."""
    if not may_view_purchase(request, purchase):
        return None
    if purchase.status == "paid" and request.user is not None and purchase.user_id == request.user.id:
        return "owned"
    return "theirs"


# --- the receipt ---------------------------------------------------------------------------------
def receipt_values(request, purchase):
    """The receipt page's values. A pending Checkout Session purchase is settled first (back from
    Stripe's hosted page, or reloading the pending receipt): Stripe is asked, never the query."""
    if purchase.status == "pending" and purchase.uses_checkout_session:
        request.find_service(IPurchaseService).confirm_checkout_session(purchase)
    return {
        "purchase": purchase,
        "album": purchase.album,
        "download_url": download_url(request, purchase),
        "download_links": download_links(request, purchase),
    }


def pending_receipt(request, purchase):
    """Stripe has not answered (or its answer could not be recorded): a 503 with the purchase's pending
    receipt, which updates itself; this browser may open it again, and a second checkout of the album
    is not charged."""
    remember_purchase(request, purchase)
    response = render_to_response(RECEIPT_TEMPLATE, receipt_values(request, purchase), request)
    response.status = 503
    response.headers["Retry-After"] = "10"
    return response


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


# --- the free download (pay what you want, 0) ------------------------------------------------------
class FreeDownloadStarted:
    """What :func:`start_free_download` did: ``purchase`` is paid already (a signed-in buyer whose
    address is confirmed) or waits for its buyer to follow the mailed link (``notice`` says so)."""

    def __init__(self, purchase, notice=None):
        self.purchase = purchase
        self.notice = notice


def start_free_download(request, album, email):
    """Record the free download (or find the one waiting) and mail its link. Raises
    :class:`AmountRefused` (no valid email) and :class:`AlreadyBought` (the buyer has the album)."""
    if request.user is not None:
        email = request.user.email
    if not valid_email(email):
        raise AmountRefused(NEEDS_EMAIL)
    email = email.strip()
    purchases = request.find_service(IPurchaseService)
    try:
        purchase = purchases.start_free_download(album, email=email, user=request.user)
    except AlreadyBought as bought:
        holder = bought.purchase
        if not (holder.is_free and holder.status == PurchaseStatus.PENDING):
            raise
        purchases.resend_free_download_link(holder)  # to the address it was asked for: nothing learnt here
        purchase = holder
    if purchase.status == PurchaseStatus.PAID:
        return FreeDownloadStarted(purchase)
    return FreeDownloadStarted(
        purchase,
        (
            f"Nothing was charged. We emailed a link to {email}: follow it to confirm the address, and "
            f"{album.title} is yours to download (the link works for 3 days)."
        ),
    )


def give_free_download(request, album, email):
    """The album page's answer: the receipt of a download that is the buyer's already, else the album
    page saying where the link went. :class:`AlreadyBought` is answered by its exception view."""
    started = start_free_download(request, album, email)
    if started.notice is None:
        remember_purchase(request, started.purchase)
        return HTTPSeeOther(request.route_url("purchase", id=started.purchase.id))
    return render_to_response(ALBUM_TEMPLATE, album_page(request, album, notice=started.notice), request)
