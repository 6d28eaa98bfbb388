"""Route factories: each loads the record a route names, and a miss is a 404 before any view runs."""

from pyramid.authorization import DENY_ALL, Allow, Authenticated
from pyramid.httpexceptions import HTTPForbidden, HTTPGone, HTTPNotFound
from sqlalchemy import bindparam, select
from sqlalchemy.orm import selectinload

from .models import Album, Purchase
from .parsing import whole_number
from .security import ADMIN
from .services.downloads import IDownloadService
from .services.receipts import may_view_purchase
from .services.tokens import LinkExpired, LinkInvalid


class Root:
    __acl__ = [(Allow, ADMIN, "admin"), (Allow, Authenticated, "library")]

    def __init__(self, request):
        self.request = request


class Admin:
    """The store owner's pages: only owners, whatever else the site allows."""

    __acl__ = [(Allow, ADMIN, "admin"), DENY_ALL]

    def __init__(self, request, album=None, purchase=None):
        self.request = request
        self.album = album
        self.purchase = purchase


def admin_factory(request):
    return _admin_only(request)


def _admin_only(request):
    """Refuse a visitor who is not an owner *before* a record is looked up, so nobody else learns
    which ids exist: the forbidden view sends an anonymous visitor to sign in, and gives a buyer 403."""
    context = Admin(request)
    if not request.has_permission("admin", context):
        raise HTTPForbidden()
    return context


def _record_id(request):
    """The ``{id}`` of the address as a number (None for anything else: the factory's 404)."""
    return whole_number(request.matchdict["id"])


def admin_album_factory(request):
    """Any album named by ``{id}`` (published, draft or archived), with its tracks, for an owner."""
    context = _admin_only(request)
    album_id = _record_id(request)
    album = None
    if album_id is not None:
        album = request.dbsession.scalars(
            select(Album).where(Album.id == album_id).options(selectinload(Album.tracks))
        ).one_or_none()
    if album is None:
        raise HTTPNotFound("There is no album with this number.")
    context.album = album
    return context


def admin_purchase_factory(request):
    context = _admin_only(request)
    purchase_id = _record_id(request)
    purchase = request.dbsession.get(Purchase, purchase_id) if purchase_id is not None else None
    if purchase is None:
        raise HTTPNotFound("There is no purchase with this number.")
    context.purchase = purchase
    return context


def album_cover_factory(request):
    """The album whose drawn cover is asked for: a published one, or any album for an owner."""
    album = request.dbsession.scalars(select(Album).where(Album.slug == request.matchdict["slug"])).one_or_none()
    if album is None or not (album.is_published or request.has_permission("admin", Admin(request))):
        raise HTTPNotFound("There is no album at this address. It may have been taken down.")
    return album


#: The album route's (and the buy routes') statement, built once: SQLAlchemy finds its compiled form
#: by the statement itself instead of walking a new one per request.
PUBLISHED_ALBUM = (
    select(Album)
    .where(Album.slug == bindparam("slug"), Album.is_published.is_(True))
    .options(selectinload(Album.tracks))
)


#: The buy routes' statement: the album alone. A checkout reads no track, except the receipt mail's
#: question whether every track has its master (two columns of them, asked there).
PUBLISHED_ALBUM_ALONE = select(Album).where(Album.slug == bindparam("slug"), Album.is_published.is_(True))


def published_album_alone_factory(request):
    """The published album named by ``{slug}``, its tracks not loaded (they load if asked for)."""
    album = request.dbsession.scalars(PUBLISHED_ALBUM_ALONE, {"slug": request.matchdict["slug"]}).one_or_none()
    if album is None:
        raise HTTPNotFound("There is no album at this address. It may have been taken down.")
    return album


def published_album_factory(request):
    """The published album named by ``{slug}``, with its tracks."""
    album = request.dbsession.scalars(PUBLISHED_ALBUM, {"slug": request.matchdict["slug"]}).one_or_none()
    if album is None:
        raise HTTPNotFound("There is no album at this address. It may have been taken down.")
    return album


def purchase_factory(request):
    """The purchase named by ``{id}``, for its buyer only: anyone else gets the same 404."""
    purchase_id = _record_id(request)
    purchase = request.dbsession.get(Purchase, purchase_id) if purchase_id else None
    if purchase is None or not may_view_purchase(request, purchase):
        raise HTTPNotFound("There is no receipt at this address for you.")
    return purchase


def download_factory(request):
    """The purchase a signed download link names; a forged or altered link is a 404."""
    try:
        return request.find_service(IDownloadService).purchase_for(request.matchdict["token"])
    except LinkExpired:
        raise HTTPGone(
            "This download link has expired. Open your receipt (the link in your receipt email) "
            "or your library for a fresh one."
        ) from None
    except LinkInvalid:
        raise HTTPNotFound("There is no download at this address.") from None
