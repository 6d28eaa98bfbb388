"""What shoppers browse: the home page, the catalog, album pages and their covers."""
import math
from pathlib import Path

from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound
from pyramid.response import FileResponse, Response
from pyramid.view import view_config
from sqlalchemy import func, select

from ..covers import cover_svg, cover_url
from ..models import Album
from ..money import format_money
from ..services.media import IMediaStorage
from ..services.payments import IPaymentService
from ..services.purchases import IPurchaseService

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
        "data-image": cover_url(request, album, 160, absolute=True),
        "data-locale": "auto",
        "data-label": f"Buy '{album.title}' for {price}",
        "data-panel-label": "Pay {{amount}}",
        "data-allow-remember-me": "false",
    }
    owned = None
    if request.user is not None:
        checkout["data-email"] = request.user.email  # Checkout then skips its email field
        owned = request.find_service(IPurchaseService).owned_purchase(request.user, album)
    return {
        "album": album,
        "price": price,
        "checkout": checkout,
        "checkout_js_url": payments.checkout_js_url,
        "error": error,
        "owned": owned,  # a signed-in buyer's paid purchase of it: no second buy button
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


@view_config(route_name="cover_image", request_method=("GET", "HEAD"))
def cover_image(request):
    """An uploaded cover at one of its sizes. Its address names one upload, so it never changes:
    browsers and proxies may keep it for a year without asking again."""
    raw_size = request.matchdict["size"]
    size = int(raw_size) if raw_size.isascii() and raw_size.isdigit() and len(raw_size) < 5 else None
    path = request.find_service(IMediaStorage).cover_path(request.matchdict["key"], size) if size else None
    if path is None:
        raise HTTPNotFound("There is no cover at this address.")
    response = FileResponse(str(path), request=request, content_type="image/jpeg")
    response.cache_control = "public, max-age=31536000, immutable"
    return response


@view_config(route_name="favicon", http_cache=86400 * 7)
def favicon(request):
    return FileResponse(str(FAVICON), request=request, content_type="image/svg+xml")
