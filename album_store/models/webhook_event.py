from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, UTCDateTime, utcnow


class WebhookEvent(Base):
    """A Stripe event the store has handled. The primary key is Stripe's event id, so a
    redelivered event is recognised and does nothing."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(100))
    purchase_id: Mapped[int | None] = mapped_column(index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
