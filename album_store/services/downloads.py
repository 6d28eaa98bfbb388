"""The music itself: where each album's file lives, the signed links that fetch it, and the count.

An album names its file in ``download_filename``: a name in the store's storage (album_store/storage.py;
on disk, relative to ``store.files_dir``), outside anything served as static. A download link is a
signed, expiring token naming the purchase by its reference; the download view also insists that the
purchase is paid and not refunded.
"""

import logging

from sqlalchemy import select, update
from zope.interface import Interface, implementer

from ..models import Purchase
from ..models.meta import utcnow
from ..storage import IFileStorage, NameRefused, clean_name
from .tokens import ISignedTokens, LinkInvalid

log = logging.getLogger(__name__)


class IDownloadService(Interface):
    def token_for(purchase):
        """A signed, expiring token for ``purchase``'s download link."""

    def purchase_for(token):
        """The purchase a download token names; raise LinkExpired or LinkInvalid."""

    def file_for(album):
        """The stored name of ``album``'s downloadable file, or None when it has none (yet)."""

    def record_download(purchase):
        """Count one more download of ``purchase``."""


@implementer(IDownloadService)
class DownloadService:
    def __init__(self, dbsession, tokens, storage):
        self.db = dbsession
        self.tokens = tokens
        self.storage = storage

    def token_for(self, purchase):
        return self.tokens.make("download", purchase.reference)

    def purchase_for(self, token):
        reference = self.tokens.read("download", token)
        purchase = self.db.scalars(select(Purchase).where(Purchase.reference == str(reference))).one_or_none()
        if purchase is None:
            raise LinkInvalid("download")
        return purchase

    def file_for(self, album):
        name = album.download_filename
        if not name:
            return None
        try:
            clean_name(name)
        except NameRefused:
            log.error("album %s: download_filename %r is not a name in the store's storage", album.slug, name)
            return None
        if not self.storage.exists(name):
            log.error("album %s: its file %s is missing from %s", album.slug, name, self.storage.description)
            return None
        return name

    def record_download(self, purchase):
        # One UPDATE, so concurrent downloads each count.
        self.db.execute(
            update(Purchase)
            .where(Purchase.id == purchase.id)
            .values(download_count=Purchase.download_count + 1, last_downloaded_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def download_service_factory(context, request):
    return DownloadService(request.dbsession, request.find_service(ISignedTokens), request.find_service(IFileStorage))


def includeme(config):
    config.register_service_factory(download_service_factory, IDownloadService)
