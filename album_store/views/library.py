"""The signed-in buyer's library: every album they own, newest first, with receipt and download."""

from pyramid.view import view_config

from ..purchase_answers import download_links
from ..services.purchases import IPurchaseService


@view_config(route_name="library", renderer="album_store:templates/library/library.pt", permission="library")
def library(request):
    purchases = request.find_service(IPurchaseService).library(request.user)
    return {"entries": [{"purchase": p, "album": p.album, "downloads": download_links(request, p)} for p in purchases]}
