"""Free downloads (pay what you want, 0 where the album's minimum is 0): no Stripe at all.

``POST /albums/{slug}/free-download`` (CSRF, ``amount`` 0, the shown currency and minimum, the email
of a guest) records the free download and mails the link that confirms the address; the album page
says so. The three payment flows' own routes hand an amount of 0 to :func:`give_free_download` too,
so the album page's form works without JavaScript. ``GET /free-downloads/{token}`` (the mailed link)
makes the download the buyer's and shows its receipt. How a free download is recorded:
``services/purchases/free.py``.
"""
from pyramid.httpexceptions import HTTPGone, HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config

from ..forms import EMAIL
from ..models import PurchaseStatus
from ..pricing import AmountRefused
from ..services.receipts import remember_purchase
from ..services.purchases import AlreadyBought, IPurchaseService
from ..services.tokens import LinkExpired, LinkInvalid
from .catalog import album_page
from .checkout import already_bought
from .shown_price import require_shown_price

NEEDS_EMAIL = "Enter your email address for the free download: we send the link that gives it to you there."
NOT_ZERO = "This form is for the free download (0). To pay what you want, use the Buy button."


class FreeDownloadStarted:
    """What :func:`give_free_download` did: ``purchase`` is paid already (a signed-in buyer whose
    address is confirmed) or waits for its buyer to follow the mailed link (``notice`` says so)."""

    def __init__(self, purchase, notice=None):
        self.purchase = purchase
        self.notice = notice


def start_free_download(request, album, email):
    """Record the free download (or find the one waiting) and mail its link. Raises
    :class:`AmountRefused` (no valid email) and :class:`AlreadyBought` (the buyer has the album)."""
    if request.user is not None:
        email = request.user.email
    if not isinstance(email, str) or not EMAIL.match(email.strip()) or len(email.strip()) > 254:
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
    return FreeDownloadStarted(purchase, (
        f"Nothing was charged. We emailed a link to {email}: follow it to confirm the address, and "
        f"{album.title} is yours to download (the link works for 3 days)."))


def give_free_download(request, album, email):
    """The album page's answer: the receipt of a download that is the buyer's already, else the album
    page saying where the link went."""
    try:
        started = start_free_download(request, album, email)
    except AlreadyBought as bought:
        return already_bought(request, album, bought.purchase)
    if started.notice is None:
        remember_purchase(request, started.purchase)
        return HTTPSeeOther(request.route_url("purchase", id=started.purchase.id))
    return render_to_response("album_store:templates/catalog/album.pt",
                              album_page(request, album, notice=started.notice), request)


@view_config(route_name="album_free_download", request_method="POST", require_csrf=True)
def free_download(context, request):
    album = context
    if require_shown_price(request, album, request.POST) != 0:
        raise AmountRefused(NOT_ZERO)
    return give_free_download(request, album, request.POST.get("email", ""))


@view_config(route_name="album_free_download", request_method="GET")
def free_download_get(context, request):
    return HTTPSeeOther(request.route_url("album", slug=context.slug))


@view_config(route_name="free_download_confirm", request_method="GET")
def confirm_free_download(request):
    """The mailed link: the address is confirmed, so the download is the buyer's (its receipt mail,
    with the download link, follows). A second visit shows the same receipt."""
    purchases = request.find_service(IPurchaseService)
    try:
        purchase = purchases.free_download_for(request.matchdict["token"])
    except LinkExpired:
        raise HTTPGone("This link has expired. Ask for the free download again on the album's page, and we send "
                       "you a new link.")
    except LinkInvalid:
        raise HTTPNotFound("There is no free download at this address.")
    if not purchases.confirm_free_download(purchase):
        raise HTTPGone("This free download was replaced by a purchase of the album, so its link no longer works. "
                       "The receipt email of that purchase has the download.")
    remember_purchase(request, purchase)
    return HTTPSeeOther(request.route_url("purchase", id=purchase.id))
