"""Sales driven through settlement (the one place a purchase's status changes), for the dashboard's
exactness and concurrency tests: a pending purchase recorded as the buy route records it, then what
Stripe says of its charge (paid, refused, refunded in part or in full, paid after all) settled."""

import uuid

import transaction
from sqlalchemy.orm import sessionmaker

from album_store.models import Purchase, buyer_album_key, get_tm_session
from album_store.models.purchase import TAX_EXCLUSIVE
from album_store.services.payments import Charge
from album_store.services.purchases.settlement import Settlement, charged_cents


class Seller:
    """One process's (or thread's) settlement: its own session and transaction manager."""

    def __init__(self, engine):
        self.tm = transaction.TransactionManager(explicit=True)
        self.db = get_tm_session(sessionmaker(bind=engine), self.tm)
        self.tm.begin()
        self.settlement = Settlement(self.db, self.tm, payments=None, mail=None)

    def close(self):
        self.tm.abort()
        self.db.close()

    def record(self, album, *, amount_cents, currency=None, tax_behavior=None, created_at=None, paid_at=None):
        """A pending purchase, committed (as the buy route commits it before calling Stripe).
        ``paid_at`` set already: a late settlement keeps it (the charge succeeded back then)."""
        email = f"buyer-{uuid.uuid4().hex[:12]}@example.com"
        purchase = Purchase(
            album_id=album.id,
            email=email,
            amount_cents=amount_cents,
            minimum_cents=album.minimum_cents,
            currency=currency or album.currency,
            status="pending",
            buyer_album_key=buyer_album_key(album.id, email),
            description=f"{album.title} by {album.artist}",
            tax_behavior=tax_behavior,
            paid_at=paid_at,
        )
        if created_at is not None:
            purchase.created_at = created_at
        self.db.add(purchase)
        self.db.flush()
        self.settlement.commit()
        return purchase

    def get(self, purchase_id):
        return self.db.get(Purchase, purchase_id, populate_existing=True)

    def charge_says(self, purchase, *, status="succeeded", refunded_cents=0, tax_cents=None):
        """Settle ``purchase`` by a charge of what it was to be charged, ``refunded_cents`` refunded."""
        charged = charged_cents(purchase, tax_cents)
        charge = Charge(
            id=purchase.stripe_charge_id or f"ch_{uuid.uuid4().hex[:16]}",
            amount_cents=charged,
            currency=purchase.currency,
            status=status,
            card_brand="visa",
            card_last4="4242",
            amount_refunded_cents=min(refunded_cents, charged),
            metadata={},
        )
        return self.settlement.settle_by_charge(purchase, charge, tax_cents=tax_cents)


def tax_of(amount_cents, behavior, rate_percent):
    """Stripe Tax's figure for a price: added on top (exclusive) or the part of it (inclusive)."""
    if behavior == TAX_EXCLUSIVE:
        return amount_cents * rate_percent // 100
    return amount_cents - amount_cents * 100 // (100 + rate_percent)
