"""The sales summary the owner's dashboard reads: per UTC day and currency, and per album and currency.

Kept by database triggers on ``purchases`` (migration 0014, SQLite and PostgreSQL alike), in the
same transaction as the write that changes a purchase, whoever writes it: settlement's one status
change, a partial refund recorded on a paid purchase, a bulk insert, a delete. A purchase counts
while it is sold (``paid`` or ``refunded``, with ``paid_at``), on the UTC day of its ``paid_at``,
for its net (``Purchase.net_cents``: paid less refunded, less the tax in what is left). Each change
subtracts the row's old contribution and adds its new one, as an UPSERT that adds to the row in the
database (``n = n + excluded.n``), so concurrent sales never overwrite each other's figures.

The models declare the tables for the ORM and for Alembic's comparison; nothing in the application
writes them (the triggers do).
"""

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base


class SalesByDay(Base):
    """One UTC day's sales in one currency."""

    __tablename__ = "sales_by_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    purchases: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # sold, refunded ones too
    sales: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # still paid
    revenue_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # their net


class SalesByAlbum(Base):
    """One album's sales in one currency, all time; and, for pay-what-you-want purchases still paid,
    what their buyers chose (the dashboard's "buyers' choice")."""

    __tablename__ = "sales_by_album"

    album_id: Mapped[int] = mapped_column(ForeignKey("albums.id", ondelete="CASCADE"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    purchases: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sales: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    revenue_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Paid purchases with a minimum (name your price): how many, how many free, how many above it,
    # the amounts chosen and how far above the minimum, summed.
    chosen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    chosen_free: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    chosen_more: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    chosen_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    chosen_over_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
