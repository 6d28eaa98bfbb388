"""What shoppers browse: the home page, the catalog, album pages and their covers."""
import math
from pathlib import Path

from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound
from pyramid.response import FileResponse, Response
from pyramid.view import view_config
from sqlalchemy import func, select

from ..covers import cover_svg
from ..models import Album
from ..money import format_money
from ..services.payments import IPaymentService
from ..services.purchases import new_attempt_id
from ..settings import PAYMENT_INTENTS

PAGE_SIZE = 24
FAVICON = Path(__file__).resolve().parent.parent / "static" / "favicon.svg"


def _published():
    return select(Album).where(Album.is_published.is_(True))


def _catalog_order(query):
    return query.order_by(Album.year.desc(), Album.title, Album.id)


@view_config(route_name="home", renderer="album_store:templates/home.pt")
def home(request):
    latest = request.dbsession.scalars(_catalog_order(_published()).limit(6)).all()
    return {"albums": latest}


@view_config(route_name="catalog", renderer="album_store:templates/catalog/list.pt")
def catalog(request):
    raw_page = request.GET.get("page", "1")
    if not raw_page.isdigit() or int(raw_page) < 1 or len(raw_page) > 6:
        raise HTTPBadRequest("The page number must be a whole number from 1 up.")
    page = int(raw_page)
    total = request.dbsession.scalar(select(func.count()).select_from(Album).where(Album.is_published.is_(True)))
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if page > pages:
        raise HTTPNotFound(f"The catalog has {pages} page{'s' if pages != 1 else ''}; there is no page {page}.")
    albums = request.dbsession.scalars(
        _catalog_order(_published()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    return {"albums": albums, "page": page, "pages": pages, "total": total}


def album_page(request, album, *, error=None):
    """The album page's values; the buy route renders it again with the card's error."""
    payments = request.find_service(IPaymentService)
    price = format_money(album.price_cents, album.currency)
    checkout = {
        "data-key": payments.publishable_key,
        "data-amount": str(album.price_cents),
        "data-currency": album.currency,
        "data-name": request.registry.settings["store.name"],
        "data-description": f"{album.title} — {album.artist}",
        "data-image": request.route_url("album_cover", slug=album.slug),
        "data-locale": "auto",
        "data-label": f"Buy '{album.title}' for {price}",
        "data-panel-label": "Pay {{amount}}",
        "data-allow-remember-me": "false",
    }
    if request.user is not None:
        checkout["data-email"] = request.user.email
    flow = request.registry.settings["store.payment_flow"]
    card_payment = None
    if flow == PAYMENT_INTENTS:
        # The card form (static/card-payment.js mounts Stripe.js's card Element in it). The attempt id
        # names this page's checkout attempt: a double click or a retry can never start a second one.
        card_payment = {
            "action": request.route_path("album_payment_intent", slug=album.slug),
            "attempt_id": new_attempt_id(),
            "stripe_js_url": payments.stripe_js_url,
            "script_url": request.static_path("album_store:static/card-payment.js"),
            "attributes": {
                "data-key": payments.publishable_key,
                "data-amount": str(album.price_cents),
                "data-currency": album.currency,
            },
            "email": request.user.email if request.user is not None else "",
        }
    return {
        "album": album,
        "price": price,
        "payment_flow": flow,
        "checkout": checkout,
        "checkout_js_url": payments.checkout_js_url,
        "card_payment": card_payment,
        "error": error,
    }


@view_config(route_name="album", renderer="album_store:templates/catalog/album.pt")
def album(context, request):
    return album_page(request, context)


@view_config(route_name="album_cover", http_cache=86400)
def album_cover(context, request):
    response = Response(cover_svg(context.title, context.artist), content_type="image/svg+xml", charset="utf-8")
    response.md5_etag()
    response.conditional_response = True  # a matching If-None-Match gets a 304
    return response


@view_config(route_name="favicon", http_cache=86400 * 7)
def favicon(request):
    return FileResponse(str(FAVICON), request=request, content_type="image/svg+xml")
