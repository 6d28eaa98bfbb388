"""Route factories: each loads the record a route names, and a miss is a 404 before any view runs."""
from pyramid.authorization import Allow, Authenticated
from pyramid.httpexceptions import HTTPGone, HTTPNotFound
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .models import Album, Purchase
from .security import ADMIN, may_view_purchase
from .services.downloads import IDownloadService
from .services.tokens import LinkExpired, LinkInvalid


class Root:
    __acl__ = [(Allow, ADMIN, "admin"), (Allow, Authenticated, "library")]

    def __init__(self, request):
        self.request = request


def published_album_factory(request):
    """The published album named by ``{slug}``, with its tracks."""
    album = request.dbsession.scalars(
        select(Album)
        .where(Album.slug == request.matchdict["slug"], Album.is_published.is_(True))
        .options(selectinload(Album.tracks))
    ).one_or_none()
    if album is None:
        raise HTTPNotFound("There is no album at this address. It may have been taken down.")
    return album


def purchase_factory(request):
    """The purchase named by ``{id}``, for its buyer only: anyone else gets the same 404."""
    try:
        purchase_id = int(request.matchdict["id"])
    except ValueError:
        purchase_id = None
    purchase = request.dbsession.get(Purchase, purchase_id) if purchase_id and purchase_id < 2**31 else None
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
        )
    except LinkInvalid:
        raise HTTPNotFound("There is no download at this address.")
