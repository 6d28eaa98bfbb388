"""The store owner's catalog work: albums, their tracks, cover and file; each change audited.

Every method that changes something writes one audit event (who, what, a short diff) in the same
transaction. An album that has purchases can never be deleted (they refer to it, ``RESTRICT``):
it is archived instead, which unpublishes it and takes it out of the owner's everyday list.
"""

import logging
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from zope.interface import Interface, implementer

from ..durations import format_duration
from ..models import Album, Purchase, PurchaseStatus, Track
from ..models.meta import utcnow
from ..models.transactions import after_end, flush_or_raise
from ..money import format_money
from .audit import IAuditLog
from .media import IMediaStorage

log = logging.getLogger(__name__)

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SLUG_MAX = 120
#: The owner's album list: ``status`` filter -> what it shows. The default hides archived albums.
ALBUM_STATUSES = {
    "": "Active (not archived)",
    "published": "Published",
    "draft": "Drafts",
    "archived": "Archived",
    "all": "All",
}


class SlugTaken(Exception):
    """Another album already has this address."""


class AlbumHasSales(Exception):
    """The album has purchases, so it cannot be deleted (archive it instead)."""

    def __init__(self, count):
        super().__init__(count)
        self.count = count


class CannotPublish(Exception):
    """The album is not ready to be sold; ``str()`` says why."""


@dataclass
class AlbumDetails:
    """What the album form edits. ``slug`` empty: made from the title."""

    title: str
    artist: str
    year: int | None
    price_cents: int
    currency: str
    description: str
    slug: str = ""
    minimum_cents: int | None = None  # None: a fixed price; else name your price (price_cents: the suggestion)


@dataclass
class TrackRow:
    """One row of the tracks form: an existing track (``id``) or a new one."""

    id: int | None
    title: str
    duration_seconds: int
    position: int | None = None
    remove: bool = False


def slugify(text):
    """``"Copper & Salt (Live)"`` → ``"copper-salt-live"``: the album's address, from its title."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-") or "album"


class ICatalogAdmin(Interface):
    def list_albums(*, query, status, page, page_size):
        """``(rows, total)``: rows of ``(album, sales, net_cents)`` matching the search, newest first."""

    def create_album(details, *, actor):
        """A new, unpublished album. Raise SlugTaken."""

    def update_album(album, details, *, actor):
        """Change the album's details; return the list of changes. Raise SlugTaken."""

    def set_published(album, published, *, actor):
        """Put the album on sale, or take it off. Raise CannotPublish."""

    def archive_album(album, *, actor):
        """Unpublish the album and move it out of the everyday list."""

    def restore_album(album, *, actor):
        """Bring an archived album back (unpublished)."""

    def delete_album(album, *, actor):
        """Delete an album nobody bought. Raise AlbumHasSales."""

    def save_tracks(album, rows, *, move, actor):
        """Apply the tracks form: edits, removals, additions, new order; ``move`` = (row, -1 | +1)."""

    def replace_cover(album, stream, *, max_bytes, actor):
        """Check, resize and store an uploaded cover. Raise media.UploadRefused."""

    def remove_cover(album, *, actor):
        """Go back to the drawn cover."""

    def replace_download(album, stream, *, filename, max_bytes, actor):
        """Store an uploaded ZIP as the album's download. Raise media.UploadRefused."""

    def sales_count(album):
        """How many purchases (of any status) refer to the album."""


@implementer(ICatalogAdmin)
class CatalogAdmin:
    def __init__(self, dbsession, transaction_manager, media, audit):
        self.db = dbsession
        self.tm = transaction_manager
        self.media = media
        self.audit = audit

    # --- the list ------------------------------------------------------------------------------
    def list_albums(self, *, query="", status="", page=1, page_size=50):
        conditions = []
        if query:
            needle = query.lower()
            conditions.append(
                or_(
                    *(
                        func.lower(column).contains(needle, autoescape=True)
                        for column in (Album.title, Album.artist, Album.slug)
                    )
                )
            )
        if status == "":
            conditions.append(Album.archived_at.is_(None))
        elif status == "published":
            conditions.append(Album.is_published.is_(True))
        elif status == "draft":
            conditions += [Album.is_published.is_(False), Album.archived_at.is_(None)]
        elif status == "archived":
            conditions.append(Album.archived_at.is_not(None))
        total = self.db.scalar(select(func.count()).select_from(Album).where(*conditions))
        albums = self.db.scalars(
            select(Album)
            .where(*conditions)
            .order_by(Album.created_at.desc(), Album.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).all()
        # Sales and net revenue for this page's albums only (ix_purchases_album_id).
        sales = {
            row.album_id: (row.sold, row.net)
            for row in self.db.execute(
                select(
                    Purchase.album_id,
                    func.count(case((Purchase.status == PurchaseStatus.PAID, 1))).label("sold"),
                    func.sum(Purchase.net_cents).label("net"),
                )
                .where(
                    Purchase.album_id.in_([album.id for album in albums]),
                    Purchase.status.in_((PurchaseStatus.PAID, PurchaseStatus.REFUNDED)),
                )
                .group_by(Purchase.album_id)
            )
        }
        rows = [(album, *sales.get(album.id, (0, 0))) for album in albums]
        return rows, total

    # --- details -------------------------------------------------------------------------------
    def create_album(self, details, *, actor):
        album = Album(
            title=details.title,
            artist=details.artist,
            year=details.year,
            price_cents=details.price_cents,
            minimum_cents=details.minimum_cents,
            currency=details.currency,
            description=details.description or "",
            is_published=False,
        )
        album.slug = self._free_slug(details.slug, details.title, album_id=None)
        with flush_or_raise(self.db, lambda: SlugTaken(album.slug)):  # another request took the slug a moment ago
            self.db.add(album)
        self.audit.record(
            actor,
            "create",
            f"Created “{album.title}” by {album.artist}, {_pricing(album)}, at /albums/{album.slug} (unpublished).",
            album_id=album.id,
        )
        return album

    def update_album(self, album, details, *, actor):
        before = _details_of(album)
        # The address first: a refusal must come before anything is changed.
        slug = (
            album.slug
            if details.slug == album.slug
            else self._free_slug(details.slug, details.title, album_id=album.id)
        )
        with flush_or_raise(self.db, lambda: SlugTaken(slug)):  # another request took the slug a moment ago
            album.title, album.artist, album.year = details.title, details.artist, details.year
            album.price_cents, album.currency = details.price_cents, details.currency
            album.minimum_cents = details.minimum_cents
            album.description = details.description or ""
            album.slug = slug
        changes = _describe_changes(before, _details_of(album))
        if changes:
            self.audit.record(actor, "edit", "; ".join(changes) + ".", album_id=album.id)
        return changes

    def _free_slug(self, wanted, title, *, album_id):
        """The typed slug (refused if another album has it), or one made from the title and
        numbered until it is free."""
        others = select(Album.slug).where(Album.id != album_id) if album_id is not None else select(Album.slug)
        if wanted:
            if self.db.scalar(others.where(Album.slug == wanted).limit(1)) is not None:
                raise SlugTaken(wanted)
            return wanted
        base = slugify(title)
        taken = set(
            self.db.scalars(others.where(or_(Album.slug == base, Album.slug.startswith(f"{base}-", autoescape=True))))
        )
        slug, n = base, 2
        while slug in taken:
            suffix = f"-{n}"
            slug = base[: SLUG_MAX - len(suffix)] + suffix
            n += 1
        return slug

    # --- on sale, archived, gone ---------------------------------------------------------------
    def set_published(self, album, published, *, actor):
        if published == album.is_published:
            return
        if published:
            if album.is_archived:
                raise CannotPublish("This album is archived: restore it first.")
            if not album.download_filename:
                raise CannotPublish("Upload the album's download file first: buyers would have nothing to download.")
        album.is_published = published
        self.audit.record(
            actor,
            "publish" if published else "unpublish",
            f"Published: on sale at /albums/{album.slug}." if published else "Unpublished: no longer on sale.",
            album_id=album.id,
        )

    def archive_album(self, album, *, actor):
        if album.is_archived:
            return
        was_published = album.is_published
        album.is_published = False
        album.archived_at = utcnow()
        self.audit.record(
            actor, "archive", "Archived" + (" (and unpublished)." if was_published else "."), album_id=album.id
        )

    def restore_album(self, album, *, actor):
        if not album.is_archived:
            return
        album.archived_at = None
        self.audit.record(actor, "restore", "Restored from the archive (unpublished).", album_id=album.id)

    def sales_count(self, album):
        return self.db.scalar(select(func.count()).select_from(Purchase).where(Purchase.album_id == album.id))

    def delete_album(self, album, *, actor):
        count = self.sales_count(album)
        if count:
            raise AlbumHasSales(count)
        cover_key, filename = album.cover_key, album.download_filename
        # A purchase that arrived in the meantime refuses the delete (RESTRICT); its audit event goes too.
        with flush_or_raise(self.db, lambda: AlbumHasSales(self.sales_count(album) or 1)):
            self.audit.record(
                actor, "delete", f"Deleted album {album.id}, “{album.title}” by {album.artist} (/albums/{album.slug})."
            )
            self.db.delete(album)
        self._when_done(
            committed=[lambda: self.media.forget_cover(cover_key), lambda: self.media.forget_download(filename)]
        )

    # --- tracks --------------------------------------------------------------------------------
    def save_tracks(self, album, rows, *, move=None, actor):
        existing = {track.id: track for track in album.tracks}
        before = [(track.id, track.title) for track in album.tracks]
        changes, kept = [], []
        for index, row in enumerate(rows):
            track = existing.pop(row.id, None) if row.id is not None else None
            if row.id is not None and track is None:
                continue  # removed meanwhile (another tab): nothing to edit
            if track is not None and row.remove:
                album.tracks.remove(track)
                changes.append(f"removed “{track.title}”")
                continue
            if track is None:
                track = Track(title=row.title, duration_seconds=row.duration_seconds)
                changes.append(f"added “{row.title}” ({format_duration(row.duration_seconds)})")
            else:
                if track.title != row.title:
                    changes.append(f"renamed “{track.title}” to “{row.title}”")
                    track.title = row.title
                if track.duration_seconds != row.duration_seconds:
                    was, now = format_duration(track.duration_seconds), format_duration(row.duration_seconds)
                    changes.append(f"“{track.title}” {was} → {now}")
                    track.duration_seconds = row.duration_seconds
            kept.append((row.position if row.position is not None else 10**6, index, track))
        # Tracks the form did not mention (added in another tab meanwhile) keep their place at the end.
        kept += [(10**6 + track.position, 10**6, track) for track in existing.values()]
        kept.sort(key=lambda entry: entry[:2])
        ordered = [track for _, _, track in kept]
        if move is not None:
            row_index, step = move
            at = next((i for i, (_, index, _) in enumerate(kept) if index == row_index), None)
            if at is not None and 0 <= at + step < len(ordered):
                ordered[at], ordered[at + step] = ordered[at + step], ordered[at]
        # (album_id, position) is unique: park the tracks on negative positions, then number them.
        for n, track in enumerate(ordered, start=1):
            if track.id is not None:
                track.position = -n
        self.db.flush()
        for n, track in enumerate(ordered, start=1):
            track.position = n
            if track.id is None:
                album.tracks.append(track)
        self.db.flush()
        self.db.expire(album, ["tracks"])
        before_ids = [track_id for track_id, _ in before]
        if [t.id for t in ordered if t.id in before_ids] != [i for i in before_ids if i in {t.id for t in ordered}]:
            changes.append("new order: " + ", ".join(f"{n}. {t.title}" for n, t in enumerate(ordered, start=1)))
        if changes:
            self.audit.record(actor, "tracks", "Tracks: " + "; ".join(changes) + ".", album_id=album.id)
        return changes

    # --- cover and download --------------------------------------------------------------------
    def replace_cover(self, album, stream, *, max_bytes, actor):
        key = self.media.save_cover(album.id, stream, max_bytes)
        old = album.cover_key
        album.cover_key = key
        self._when_done(
            committed=[lambda: self.media.forget_cover(old)], aborted=[lambda: self.media.forget_cover(key)]
        )
        self.audit.record(
            actor, "cover", "Uploaded a new cover." if old is None else "Replaced the cover.", album_id=album.id
        )

    def remove_cover(self, album, *, actor):
        old = album.cover_key
        if old is None:
            return
        album.cover_key = None
        self._when_done(committed=[lambda: self.media.forget_cover(old)])
        self.audit.record(actor, "cover", "Removed the uploaded cover (the drawn one is shown).", album_id=album.id)

    def replace_download(self, album, stream, *, filename, max_bytes, actor):
        name = self.media.save_download(album.id, stream, max_bytes)
        old = album.download_filename
        album.download_filename = name
        self._when_done(
            committed=[lambda: self.media.forget_download(old)], aborted=[lambda: self.media.forget_download(name)]
        )
        shown = re.sub(r"[^\w .,()&'-]+", "", filename or "")[:120] or "a file"
        self.audit.record(actor, "file", f"Uploaded the download file ({shown}).", album_id=album.id)

    def _when_done(self, *, committed=(), aborted=()):
        """Tidy files once the transaction has ended: ``committed`` after a commit, ``aborted`` else."""

        def run(actions):
            for action in actions:
                try:
                    action()
                except OSError:
                    log.exception("could not tidy an uploaded file")

        after_end(self.tm, committed=lambda: run(committed), aborted=lambda: run(aborted))


def _details_of(album):
    return {
        "title": album.title,
        "artist": album.artist,
        "year": album.year,
        "price": format_money(album.price_cents, album.currency),
        "currency": album.currency.upper(),
        "description": album.description or "",
        "slug": album.slug,
        "pricing": _pricing_kind(album),
    }


def _pricing_kind(album):
    if not album.name_your_price:
        return "fixed"
    return f"name your price, at least {format_money(album.minimum_cents, album.currency)}"


def _pricing(album):
    """``$9.99``, or ``name your price (at least $5.00, suggested $9.99)``: for the audit trail."""
    price = format_money(album.price_cents, album.currency)
    if not album.name_your_price:
        return price
    return f"name your price (at least {format_money(album.minimum_cents, album.currency)}, suggested {price})"


def _describe_changes(before, after):
    changes = []
    for field, old in before.items():
        new = after[field]
        if old == new:
            continue
        if field == "description":
            changes.append("description changed")
        else:
            changes.append(f"{field}: {_shown(old)} → {_shown(new)}")
    return changes


def _shown(value):
    return "(none)" if value in (None, "") else str(value)


def catalog_admin_factory(context, request):
    return CatalogAdmin(
        request.dbsession, request.tm, request.find_service(IMediaStorage), request.find_service(IAuditLog)
    )


def includeme(config):
    config.register_service_factory(catalog_admin_factory, ICatalogAdmin)
