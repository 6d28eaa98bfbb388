import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, case, cast
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, UTCDateTime, utcnow

#: ``purchases.tax_behavior``: the tax was added to the album's price, or is part of it.
TAX_EXCLUSIVE, TAX_INCLUSIVE = "exclusive", "inclusive"


class PurchaseStatus:
    PENDING = "pending"  # recorded, Stripe asked (or about to be); settled by the buy route or reconcile
    PAID = "paid"  # Stripe said the charge succeeded
    FAILED = "failed"  # Stripe refused the charge; nothing was taken
    REFUNDED = "refunded"  # the money went back to the buyer

    ALL = (PENDING, PAID, FAILED, REFUNDED)


def buyer_album_key(album_id, email):
    """One buyer's one album: the email (the account's, for a signed-in buyer) compared case-insensitively."""
    return f"{album_id}:{email.strip().lower()}"


class Purchase(Base):
    __tablename__ = "purchases"
    __table_args__ = (
        # 0: a free download of a "name your price" album whose minimum is 0 (no Stripe payment).
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
        CheckConstraint("minimum_cents IS NULL OR minimum_cents >= 0", name="minimum_not_negative"),
        CheckConstraint("status IN ('pending', 'paid', 'failed', 'refunded')", name="status_known"),
        Index("ix_purchases_status_created_at", "status", "created_at"),
        # The owner's dashboard sums sales by period, day and album: this index holds every column
        # those sums read, so they scan the index alone, never the purchases' wide rows.
        Index(
            "ix_purchases_sales",
            "status",
            "paid_at",
            "currency",
            "album_id",
            "amount_cents",
            "amount_refunded_cents",
            "tax_behavior",
            "tax_cents",
        ),
        # A buyer's library (and "already owned?"), newest first, without scanning others' purchases.
        Index("ix_purchases_library", "user_id", "status", "paid_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique across databases and environments (ids restart in a fresh database; Stripe remembers
    # idempotency keys and metadata per account): names this purchase at Stripe.
    reference: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid.uuid4().hex)
    album_id: Mapped[int] = mapped_column(ForeignKey("albums.id", ondelete="RESTRICT"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    # What Stripe is told the payment is for, fixed when the purchase is recorded: a retry with the
    # same idempotency key must send the same parameters, even after the album is renamed.
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # "{album_id}:{email}" while the purchase is pending or paid, NULL once it failed or was refunded:
    # unique, so the database itself refuses a second open purchase of one album by one buyer, on any
    # process. A paid purchase without it is a duplicate waiting for its automatic refund.
    buyer_album_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    # "Name your price": the album's minimum when the buyer chose ``amount_cents`` (None: a fixed price).
    minimum_cents: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default=PurchaseStatus.PENDING)
    # The Checkout token identifies one checkout attempt: a second POST of it finds this purchase.
    checkout_token: Mapped[str | None] = mapped_column(String(255), unique=True)
    # The payment_intents flow: the album page's attempt id identifies one checkout attempt (a second
    # POST of it, a double click or a retry, finds this purchase), and its one PaymentIntent.
    attempt_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # The checkout_session flow: the hosted Checkout Session the buyer pays on (one per purchase), and
    # a hash of the buying browser's CSRF token, so that browser (a double click, a return from the
    # payment page) is sent back to the same session rather than told someone else is paying.
    stripe_checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    browser_key: Mapped[str | None] = mapped_column(String(64))
    stripe_charge_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    card_brand: Mapped[str | None] = mapped_column(String(32))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    amount_refunded_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Stripe Tax (``store.tax``, the checkout_session flow only): how the price stood to the tax,
    # fixed when the purchase is recorded (NULL: no tax asked), and the tax Stripe computed on the
    # hosted page, recorded when the purchase is paid. ``exclusive`` tax was added to the price the
    # album page showed; ``inclusive`` tax is part of it.
    tax_behavior: Mapped[str | None] = mapped_column(String(16))
    tax_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    download_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the buyer's bank opens a dispute: the owner has to answer it in Stripe's dashboard.
    disputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    album = relationship("Album")
    user = relationship("User")

    @property
    def is_paid(self):
        """Paid and not refunded: what gives access to the music."""
        return self.status == PurchaseStatus.PAID

    @property
    def is_free(self):
        """A free download: nothing to pay, so Stripe never hears of it (its buyer confirms the email)."""
        return self.amount_cents == 0

    @property
    def is_duplicate(self):
        """Paid without holding its buyer-and-album key: the buyer already had this album, so this one
        is refunded automatically (settlement.py)."""
        return self.status == PurchaseStatus.PAID and self.buyer_album_key is None

    @property
    def idempotency_key(self):
        """Stripe's idempotency key for this purchase's charge: tied to the purchase, not the request."""
        return f"purchase:{self.reference}:charge"

    @property
    def refund_idempotency_key(self):
        """Stripe's idempotency key for refunding this purchase: one refund, however often asked."""
        return f"purchase:{self.reference}:refund"

    @hybrid_property
    def charged_cents(self):
        """What the buyer paid at Stripe: the price, plus the tax when it was added to it."""
        return self.amount_cents + (self.tax_cents if self.tax_behavior == TAX_EXCLUSIVE else 0)

    @charged_cents.inplace.expression
    @classmethod
    def _charged_cents_expression(cls):
        return cls.amount_cents + case((cls.tax_behavior == TAX_EXCLUSIVE, cls.tax_cents), else_=0)

    @hybrid_property
    def net_cents(self):
        """What the store keeps of it: what was paid less what went back, less the tax in what is
        left (a partial refund gives back tax in proportion, as Stripe Tax reverses it)."""
        kept = self.charged_cents - self.amount_refunded_cents
        return kept - self.tax_cents * kept // self.charged_cents if self.tax_cents else kept

    @net_cents.inplace.expression
    @classmethod
    def _net_cents_expression(cls):
        kept = cls.charged_cents - cls.amount_refunded_cents
        # The product in 64 bits: in 32 (PostgreSQL's integer) tax × amount overflows from about $1,000.
        return case(
            (cls.tax_cents == 0, kept), else_=kept - (cast(cls.tax_cents, BigInteger) * kept) // cls.charged_cents
        )

    @property
    def payment_intent_idempotency_key(self):
        """The key of the one PaymentIntent this purchase may have (the payment_intents flow)."""
        return f"purchase:{self.reference}:payment_intent"

    @property
    def checkout_session_idempotency_key(self):
        """The key of the one Checkout Session this purchase may have (the checkout_session flow)."""
        return f"purchase:{self.reference}:checkout_session"

    @property
    def uses_checkout_session(self):
        """Bought on Stripe's hosted page (settled through its Checkout Session)."""
        return self.browser_key is not None

    @property
    def uses_payment_intent(self):
        """Bought in the payment_intents flow (settled through its PaymentIntent, not a bare charge)."""
        return self.attempt_id is not None

    def __repr__(self):
        return f"<Purchase {self.id} {self.status}>"
