"""What shoppers browse: the home page, the catalog, album pages and their covers."""

import re
from pathlib import Path

from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import FileResponse, Response
from pyramid.view import view_config
from sqlalchemy import bindparam, select

from ..album_page import ALBUM_TEMPLATE, album_page
from ..caching import IMMUTABLE, NO_STORE
from ..covers import cover_svg, cover_url
from ..models import Album
from ..parsing import page_number, whole_number
from ..services.audio import IAudioService
from ..services.media import IMediaStorage
from ..storage import IFileStorage

PAGE_SIZE = 24
FAVICON = Path(__file__).resolve().parent.parent / "static" / "favicon.svg"


# What an album card shows: only these columns are loaded (rows, not ORM objects).
CARD_COLUMNS = (
    Album.id,
    Album.slug,
    Album.title,
    Album.artist,
    Album.year,
    Album.price_cents,
    Album.currency,
    Album.cover_key,
    Album.minimum_cents,  # pay what you want: the card says so instead of a price
)


#: A page of published albums, newest first, built once (SQLAlchemy's compiled cache then finds it
#: by identity instead of walking a freshly built statement per request). The page's ids come from an
#: index-only scan of ``ix_albums_catalog_order``; only those rows are then read (a deferred join).
_PAGE_IDS = (
    select(Album.id)
    .where(Album.is_published.is_(True))
    .order_by(Album.id.desc())
    .offset(bindparam("offset"))
    .limit(bindparam("limit"))
    .subquery()
)
CARDS = select(*CARD_COLUMNS).join(_PAGE_IDS, Album.id == _PAGE_IDS.c.id).order_by(Album.id.desc())


def album_cards(dbsession, *, offset=0, limit=PAGE_SIZE):
    """A page of published albums, newest first (:data:`CARDS`)."""
    return dbsession.execute(CARDS, {"offset": offset, "limit": limit}).all()


#: What a route's ``{slug}`` or ``{key}`` may hold for a card's address to be written without quoting
#: (route_path leaves these characters as they are); anything else goes through route_path.
URL_SAFE = re.compile(r"[A-Za-z0-9._~-]+")
_MARK = "card0mark"


def card_links(request, albums):
    """``[(album, album page's path, cover's path)]`` for a page of cards: each route's path is made once
    per page (with a mark where the slug or key goes) and filled in per card, which gives what
    ``request.route_path`` and ``covers.cover_url`` give for the same album, at a fraction of the cost."""
    album_before, album_after = request.route_path("album", slug=_MARK).split(_MARK)
    svg_before, svg_after = request.route_path("album_cover", slug=_MARK).split(_MARK)
    jpg_before, jpg_after = request.route_path("cover_image", key=_MARK, size=300).split(_MARK)
    cards = []
    for album in albums:
        slug, key = album.slug, album.cover_key
        if URL_SAFE.fullmatch(slug) and (key is None or URL_SAFE.fullmatch(key)):
            href = album_before + slug + album_after
            cover = jpg_before + key + jpg_after if key else svg_before + slug + svg_after
        else:
            href, cover = request.route_path("album", slug=slug), cover_url(request, album, 300)
        cards.append((album, href, cover))
    return cards


@view_config(route_name="home", renderer="album_store:templates/home.pt", public_page=True)
def home(request):
    albums = album_cards(request.dbsession, limit=6)
    return {"albums": albums, "cards": card_links(request, albums)}


@view_config(route_name="catalog", renderer="album_store:templates/catalog/list.pt", public_page=True)
def catalog(request):
    page = page_number(request)
    # One row more than a page tells whether a next page exists, without counting the catalog.
    albums = album_cards(request.dbsession, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1)
    if not albums and page > 1:
        raise HTTPNotFound(f"There is no page {page} of the catalog.")
    albums, has_next = albums[:PAGE_SIZE], len(albums) > PAGE_SIZE
    return {"albums": albums, "cards": card_links(request, albums), "page": page, "has_next": has_next}


@view_config(route_name="album", renderer=ALBUM_TEMPLATE, public_page=True)
def album(context, request):
    return album_page(request, context)


@view_config(route_name="album_cover", http_cache=86400)
def album_cover(context, request):
    response = Response(cover_svg(context.title, context.artist), content_type="image/svg+xml", charset="utf-8")
    if not context.is_published:  # an unpublished album's, shown to its owner: no shared cache keeps it
        response.cache_control.private = True
    response.md5_etag()
    response.conditional_response = True  # a matching If-None-Match gets a 304
    return response


@view_config(route_name="cover_image", request_method=("GET", "HEAD"), cache_control=IMMUTABLE)
def cover_image(request):
    """An uploaded cover at one of its sizes. Its address names one upload, so it never changes:
    browsers and proxies may keep it for a year without asking again."""
    size = whole_number(request.matchdict["size"], maximum=9999)
    name = request.find_service(IMediaStorage).cover_name(request.matchdict["key"], size) if size else None
    response = request.find_service(IFileStorage).response(request, name, content_type="image/jpeg") if name else None
    if response is None:
        raise HTTPNotFound("There is no cover at this address.")
    return response


@view_config(route_name="preview", request_method=("GET", "HEAD"), cache_control=IMMUTABLE)
def preview(request):
    """A track's preview (never the track itself). Its name is its content's hash: cached for a year;
    Range requests get 206 and the bytes asked for, so players can seek. Served by the store from
    wherever the storage keeps it (a bucket too), so its address stays the store's own."""
    name = request.find_service(IAudioService).preview_name(request.matchdict["filename"])
    response = request.find_service(IFileStorage).response(request, name, content_type="audio/mpeg") if name else None
    if response is None:
        raise HTTPNotFound("There is no preview at this address.")
    response.accept_ranges = "bytes"
    response.conditional_response = True
    return response


@view_config(route_name="csrf_token", renderer="json", cache_control=NO_STORE)
def csrf_token(request):
    """This visitor's CSRF token (also set as the ``csrf_token`` cookie), for static/csrf.js."""
    return {"token": get_csrf_token(request)}


@view_config(route_name="favicon", http_cache=86400 * 7)
def favicon(request):
    return FileResponse(str(FAVICON), request=request, content_type="image/svg+xml")
