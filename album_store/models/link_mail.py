from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, UTCDateTime, utcnow


class LinkMail(Base):
    """One link mailed on a visitor's request (confirm an address, reset a password, a free
    download): counted per address and per client, in the database, so the limit holds across
    processes (``services/mail.py``, ``LINK_MAILS_PER_ADDRESS``)."""

    __tablename__ = "link_mails"
    __table_args__ = (
        Index("ix_link_mails_email_sent_at", "email", "sent_at"),
        Index("ix_link_mails_client_addr_sent_at", "client_addr", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(254))
    client_addr: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
