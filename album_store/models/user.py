from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column, validates

from .meta import Base, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so the unique constraint compares addresses case-insensitively.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the owner of the address follows the emailed link. Signing in never waits for it;
    # only linking guest purchases made with this address does.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def email_confirmed(self):
        return self.email_confirmed_at is not None

    @validates("email")
    def _normalize_email(self, key, value):
        return normalize_email(value)


def normalize_email(value):
    return value.strip().lower()
