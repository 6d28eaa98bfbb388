"""The signed-in buyer's library: every album they own, newest first, with receipt and download."""

from pyramid.view import view_config

from ..services.audio import FORMATS, offered_formats
from ..services.downloads import IDownloadService
from ..services.purchases import IPurchaseService


@view_config(route_name="library", renderer="album_store:templates/library/library.pt", permission="library")
def library(request):
    purchases = request.find_service(IPurchaseService).library(request.user)
    downloads = request.find_service(IDownloadService)  # once per page, not once per entry
    return {
        "entries": [
            {"purchase": p, "album": p.album, "downloads": _download_links(request, downloads, p)} for p in purchases
        ]
    }


def _download_links(request, downloads, purchase):
    """What ``purchase_answers.download_links`` gives (the same links, in the same order, with the same
    checks), with the download service looked up once for the whole library."""
    album = purchase.album
    if not purchase.is_paid or (downloads.file_for(album) is None and not offered_formats(album)):
        return []
    url = request.route_url("download", token=downloads.token_for(purchase))
    formats = offered_formats(album)
    if not formats:
        return [("ZIP", url)]
    return [(FORMATS[key].label, f"{url}?format={key}") for key in formats]
