"""Free downloads (pay what you want, 0 where the album's minimum is 0): no Stripe at all.

``POST /albums/{slug}/free-download`` (CSRF, ``amount`` 0, the shown currency and minimum, the email
of a guest) records the free download and mails the link that confirms the address; the album page
says so. The three payment flows' own routes hand an amount of 0 to the same
``purchase_answers.give_free_download``, so the album page's form works without JavaScript.
``GET /free-downloads/{token}`` (the mailed link) makes the download the buyer's and shows its receipt.
How a free download is recorded: ``services/purchases/free.py``.
"""

from pyramid.httpexceptions import HTTPGone, HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config

from ..pricing import AmountRefused
from ..purchase_answers import give_free_download
from ..services.purchases import IPurchaseService
from ..services.receipts import remember_purchase
from ..services.tokens import LinkExpired, LinkInvalid
from ..shown_price import require_shown_price

NOT_ZERO = "This form is for the free download (0). To pay what you want, use the Buy button."


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
        raise HTTPGone(
            "This link has expired. Ask for the free download again on the album's page, and we send you a new link."
        ) from None
    except LinkInvalid:
        raise HTTPNotFound("There is no free download at this address.") from None
    if not purchases.confirm_free_download(purchase):
        raise HTTPGone(
            "This free download was replaced by a purchase of the album, so its link no longer works. "
            "The receipt email of that purchase has the download."
        )
    remember_purchase(request, purchase)
    return HTTPSeeOther(request.route_url("purchase", id=purchase.id))
