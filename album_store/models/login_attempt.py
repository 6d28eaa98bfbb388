from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, UTCDateTime, utcnow


class LoginAttempt(Base):
    """One failed sign-in. Kept in the database, not in memory, so that the slowdown holds across
    every waitress process and thread; rows older than the throttling window are deleted as new ones
    arrive."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_attempted_at", "email", "attempted_at"),
        Index("ix_login_attempts_client_addr_attempted_at", "client_addr", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The address typed, normalized, whether or not an account has it (so the answer never tells).
    email: Mapped[str] = mapped_column(String(254))
    client_addr: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
