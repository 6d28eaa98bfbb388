"""The music itself: where each album's file lives, the signed links that fetch it, and the count.

Files live under the ``store.files_dir`` setting, outside anything served as static; an album names
its file in ``download_filename``. A download link is a signed, expiring token naming the purchase
by its reference; the download view also insists that the purchase is paid and not refunded.
"""
import logging
from pathlib import Path

from sqlalchemy import select, update
from zope.interface import Interface, implementer

from ..models import Purchase
from ..models.meta import utcnow
from .tokens import ISignedTokens, LinkInvalid

log = logging.getLogger(__name__)


class IDownloadService(Interface):
    def token_for(purchase):
        """A signed, expiring token for ``purchase``'s download link."""

    def purchase_for(token):
        """The purchase a download token names; raise LinkExpired or LinkInvalid."""

    def file_for(album):
        """The path of ``album``'s downloadable file, or None when it has none (yet)."""

    def record_download(purchase):
        """Count one more download of ``purchase``."""


@implementer(IDownloadService)
class DownloadService:
    def __init__(self, dbsession, tokens, files_dir):
        self.db = dbsession
        self.tokens = tokens
        self.files_dir = Path(files_dir).resolve() if files_dir else None

    def token_for(self, purchase):
        return self.tokens.make("download", purchase.reference)

    def purchase_for(self, token):
        reference = self.tokens.read("download", token)
        purchase = self.db.scalars(select(Purchase).where(Purchase.reference == str(reference))).one_or_none()
        if purchase is None:
            raise LinkInvalid("download")
        return purchase

    def file_for(self, album):
        if self.files_dir is None or not album.download_filename:
            return None
        path = (self.files_dir / album.download_filename).resolve()
        if not path.is_relative_to(self.files_dir):
            log.error("album %s: download_filename %r points outside store.files_dir", album.slug, album.download_filename)
            return None
        if not path.is_file():
            log.error("album %s: its file %s is missing", album.slug, path)
            return None
        return path

    def record_download(self, purchase):
        # One UPDATE, so concurrent downloads each count.
        self.db.execute(
            update(Purchase)
            .where(Purchase.id == purchase.id)
            .values(download_count=Purchase.download_count + 1, last_downloaded_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def download_service_factory(context, request):
    return DownloadService(
        request.dbsession, request.find_service(ISignedTokens), request.registry.settings.get("store.files_dir")
    )


def includeme(config):
    config.register_service_factory(download_service_factory, IDownloadService)
