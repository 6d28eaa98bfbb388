"""What a buyer owns: their paid purchases (refunded ones are no longer theirs)."""

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...models import Purchase, PurchaseStatus


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

    def purchases(self, user):
        """``user``'s paid purchases, newest first."""
        return self.db.scalars(
            select(Purchase)
            .where(Purchase.user_id == user.id, Purchase.status == PurchaseStatus.PAID)
            .options(joinedload(Purchase.album))
            .order_by(Purchase.paid_at.desc(), Purchase.id.desc())
        ).all()
