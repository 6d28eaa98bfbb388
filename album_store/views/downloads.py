"""The download a signed link leads to: the album's file, streamed, for a paid purchase only.

An album whose tracks have their audio offers a ZIP per format (``?format=flac``; without one, the
link shows the formats to choose from). A format's ZIP not made yet (or out of date) is queued and
the answer is a 202 page that says so and looks again by itself; an album without track audio gives
the owner's uploaded ZIP, as before.

Once the purchase is checked, the file comes from the store's storage (album_store/storage.py): from
a bucket with ``storage.downloads = presigned``, a 303 to a short-lived presigned URL of the object
(the buyer's browser fetches it from the bucket); otherwise the store streams it itself.
"""

import logging
import re

from pyramid.httpexceptions import HTTPGone, HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config

from ..caching import NO_STORE
from ..models import PurchaseStatus
from ..services.audio import FORMATS, IAudioService, offered_formats
from ..services.downloads import IDownloadService
from ..storage import IFileStorage

log = logging.getLogger(__name__)

PREPARING_RETRY_SECONDS = 5


def attachment_filename(album, label=None):
    name = re.sub(r"[^A-Za-z0-9 ._()&,'-]+", "", f"{album.artist} - {album.title}").strip() or "album"
    if label:
        name += " (" + re.sub(r"[^A-Za-z0-9 ._-]+", "", label) + ")"
    return f"{name}.zip"


@view_config(route_name="download", request_method=("GET", "HEAD"), cache_control=NO_STORE)
def download(context, request):
    purchase = context
    if purchase.status == PurchaseStatus.REFUNDED:
        raise HTTPGone("This purchase was refunded, so its download has ended.")
    if not purchase.is_paid:
        raise HTTPNotFound("There is no download at this address.")
    album = purchase.album
    wanted = request.GET.get("format")
    offered = offered_formats(album)
    if wanted is not None or offered:
        return _format_download(request, purchase, wanted, offered)
    downloads = request.find_service(IDownloadService)
    name = downloads.file_for(album)
    if name is None:
        raise _not_ready()
    return _send(request, purchase, name, None)


def _not_ready():
    return HTTPNotFound("The file of this album is not ready yet. Please try again later; your purchase is safe.")


def _send(request, purchase, name, label):
    """The purchase's file: a 303 to a presigned URL (a bucket), else streamed in blocks by the store."""
    storage = request.find_service(IFileStorage)
    filename = attachment_filename(purchase.album, label)
    url = storage.download_url(name, filename=filename, content_type="application/zip")
    if url is not None:
        response = HTTPSeeOther(location=url)
    else:
        # Streamed in blocks (on disk: the open file goes to the server's file wrapper).
        response = storage.response(request, name, content_type="application/zip")
        if response is None:
            raise _not_ready()
        response.content_disposition = f'attachment; filename="{filename}"'
    if request.method == "GET":
        request.find_service(IDownloadService).record_download(purchase)
        log.info("download purchase_id=%s album=%s format=%s", purchase.id, purchase.album.slug, label or "zip")
    return response


def _page(request, status, values):
    response = render_to_response(
        "album_store:templates/checkout/download_formats.pt",
        {"album": request.context.album, **values},
        request=request,
    )
    response.status = status
    return response


def _format_download(request, purchase, wanted, offered):
    album = purchase.album
    here = request.path_url
    choices = [(FORMATS[key], f"{here}?format={key}") for key in offered]
    if wanted is None:
        return _page(request, 200, {"choices": choices, "preparing": None})
    if wanted not in FORMATS or wanted not in offered:
        response = _page(
            request,
            404,
            {
                "choices": choices,
                "preparing": None,
                "refused": "This album is not offered in that format; choose one below.",
            },
        )
        return response
    name, state = request.find_service(IAudioService).format_file(album, wanted)
    if name is not None:
        return _send(request, purchase, name, FORMATS[wanted].label)
    response = _page(
        request,
        202,
        {"choices": choices, "preparing": FORMATS[wanted], "state": state, "retry_seconds": PREPARING_RETRY_SECONDS},
    )
    response.headers["Retry-After"] = str(PREPARING_RETRY_SECONDS)
    response.headers["Refresh"] = str(PREPARING_RETRY_SECONDS)
    return response
