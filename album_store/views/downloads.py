"""The download a signed link leads to: the album's file, streamed, for a paid purchase only."""
import logging
import re

from pyramid.httpexceptions import HTTPGone, HTTPNotFound
from pyramid.response import FileResponse
from pyramid.view import view_config

from ..models import PurchaseStatus
from ..services.downloads import IDownloadService

log = logging.getLogger(__name__)


def attachment_filename(album):
    name = re.sub(r"[^A-Za-z0-9 ._()&,'-]+", "", f"{album.artist} - {album.title}").strip() or "album"
    return f"{name}.zip"


@view_config(route_name="download", request_method=("GET", "HEAD"))
def download(context, request):
    purchase = context
    if purchase.status == PurchaseStatus.REFUNDED:
        raise HTTPGone("This purchase was refunded, so its download has ended.")
    if not purchase.is_paid:
        raise HTTPNotFound("There is no download at this address.")
    downloads = request.find_service(IDownloadService)
    path = downloads.file_for(purchase.album)
    if path is None:
        raise HTTPNotFound("The file of this album is not ready yet. Please try again later; your purchase is safe.")
    # FileResponse streams the file in blocks (or hands it to the server's file wrapper).
    response = FileResponse(str(path), request=request, content_type="application/zip")
    response.content_disposition = f'attachment; filename="{attachment_filename(purchase.album)}"'
    response.cache_control = "private, no-store"
    if request.method == "GET":
        downloads.record_download(purchase)
        log.info("download purchase_id=%s album=%s", purchase.id, purchase.album.slug)
    return response
