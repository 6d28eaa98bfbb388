from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, UTCDateTime, utcnow


class AccountSession(Base):
    """One signed-in browser. Its cookie holds a random token; only the token's SHA-256 is kept here,
    so the table gives no one a way in. Deleted by signing out, by "sign out everywhere", by a
    password reset; over once unused for its idle lifetime (``security.SESSION_IDLE``)."""

    __tablename__ = "account_sessions"
    __table_args__ = (Index("ix_account_sessions_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
