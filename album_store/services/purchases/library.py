"""What a buyer owns: their paid purchases (refunded ones are no longer theirs)."""

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from ...models import Album, Purchase, PurchaseStatus


class Library:
    def __init__(self, dbsession):
        self.db = dbsession

    def owned_purchase(self, user, album):
        """``user``'s paid purchase of ``album``, or None."""
        return self.db.scalars(
            select(Purchase)
            .where(Purchase.user_id == user.id, Purchase.album_id == album.id, Purchase.status == PurchaseStatus.PAID)
            .order_by(Purchase.id)
            .limit(1)
        ).first()

    def owned_by_slug(self, user, slug):
        """``user``'s paid purchase of the album at ``slug`` as a row ``(id, paid_at)``, or None: one
        statement, for the personal fragment of an album page (:data:`OWNED_BY_SLUG`)."""
        return self.db.execute(OWNED_BY_SLUG, {"user_id": user.id, "slug": slug}).first()

    def purchases(self, user):
        """``user``'s paid purchases, newest first, with their albums and the albums' tracks (what the
        library's download links are made from): two statements, however many entries."""
        return self.db.scalars(LIBRARY, {"user_id": user.id}).all()


#: The library, built once (SQLAlchemy finds its compiled form by the statement itself).
LIBRARY = (
    select(Purchase)
    .where(Purchase.user_id == bindparam("user_id"), Purchase.status == PurchaseStatus.PAID)
    .options(joinedload(Purchase.album).selectinload(Album.tracks))
    .order_by(Purchase.paid_at.desc(), Purchase.id.desc())
)


#: A buyer's paid purchase of one album, found by the album's slug (built once, like LIBRARY).
OWNED_BY_SLUG = (
    select(Purchase.id, Purchase.paid_at)
    .join(Album, Album.id == Purchase.album_id)
    .where(
        Purchase.user_id == bindparam("user_id"),
        Album.slug == bindparam("slug"),
        Purchase.status == PurchaseStatus.PAID,
    )
    .order_by(Purchase.id)
    .limit(1)
)
