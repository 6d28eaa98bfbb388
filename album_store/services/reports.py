"""What the store owner reads: the dashboard's figures and the purchases list, as SQL aggregates.

The dashboard reads the sales summary (``sales_by_day``, ``sales_by_album``), which triggers on
``purchases`` keep exact in the same transaction as each write (migration 0014), so one request costs
the same over a hundred sales or a million; the purchases list reads the purchases themselves.

Money is summed by the database, per currency, never by looping over rows in Python. A sale counts
from the moment it was paid (``paid_at``, in UTC); its net is what was paid less what was refunded,
so a refund lowers the figures of the day the album was sold. The sales count is the purchases
still ``paid`` (a partial refund keeps a sale; a full refund takes it away).
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Date, and_, case, func, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.functions import FunctionElement
from zope.interface import Interface, implementer

from ..models import Album, Purchase, PurchaseStatus, SalesByAlbum, SalesByDay
from ..models.meta import utcnow

SOLD = (PurchaseStatus.PAID, PurchaseStatus.REFUNDED)
CHART_DAYS = 90
#: The dashboard's periods: label -> days back, counting today (None: all time).
PERIODS = (("Today", 1), ("7 days", 7), ("30 days", 30), ("All time", None))


class utc_day(FunctionElement):
    """The UTC calendar day of a timestamp, as a date, on SQLite and PostgreSQL alike."""

    type = Date()
    name = "utc_day"
    inherit_cache = True


@compiles(utc_day)
def _utc_day_sqlite(element, compiler, **kw):
    # SQLite keeps timestamps as UTC text ('2026-11-28 10:00:00.000000'): its date() cuts the day.
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element, compiler, **kw):
    return f"CAST(({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC') AS DATE)"


def net_cents():
    """A sale's net in SQL: paid less refunded, less the tax Stripe collected in what is left."""
    return Purchase.net_cents


def sold():
    return and_(Purchase.status.in_(SOLD), Purchase.paid_at.is_not(None))


@dataclass
class PeriodFigures:
    label: str
    revenue_cents: int
    sales: int


@dataclass
class CurrencyFigures:
    currency: str
    periods: list
    daily: list = field(default_factory=list)  # [(date, net cents)] for the chart, oldest first


@dataclass
class BuyersChoice:
    """Pay what you want, one album in one currency: what its buyers chose (paid purchases)."""

    album_id: int
    title: str
    currency: str
    buyers: int
    free: int  # took it for 0 (the minimum was 0)
    paid_more: int  # chose more than the minimum
    average_cents: int  # the average amount chosen
    average_over_minimum_cents: int  # on average, how much more than the minimum (at the time) they chose

    @property
    def share_paid_more(self):
        """The share of buyers who chose more than the minimum, 0 to 1."""
        return self.paid_more / self.buyers if self.buyers else 0.0


@dataclass
class Dashboard:
    today: date
    currencies: list  # CurrencyFigures, the store's own currency first
    top_albums: list  # rows: album_id, title, artist, currency, revenue_cents, sales
    latest: list  # Purchase objects, newest first
    choices: list = field(default_factory=list)  # BuyersChoice, pay-what-you-want albums by buyers, most first


@dataclass
class PurchaseFilters:
    status: str = ""
    album_id: int | None = None
    email: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def conditions(self):
        conditions = []
        if self.status:
            conditions.append(Purchase.status == self.status)
        if self.album_id is not None:
            conditions.append(Purchase.album_id == self.album_id)
        if self.email:
            conditions.append(func.lower(Purchase.email).contains(self.email.lower(), autoescape=True))
        if self.date_from is not None:
            conditions.append(Purchase.created_at >= _start_of(self.date_from))
        if self.date_to is not None:
            conditions.append(Purchase.created_at < _start_of(self.date_to + timedelta(days=1)))
        return conditions


def _start_of(day):
    return datetime.combine(day, time.min, tzinfo=UTC)


class IReports(Interface):
    def dashboard(now=None):
        """The dashboard's figures at ``now`` (UTC): a :class:`Dashboard`."""

    def purchases(filters, *, page, page_size):
        """``(purchases, total)`` matching the filters, newest first."""

    def purchase_rows(filters, *, batch):
        """Every purchase matching the filters as CSV-ready tuples, newest first, fetched in batches."""

    def album_choices():
        """``[(id, title)]`` of every album, by title: the purchases list's album filter."""


@implementer(IReports)
class Reports:
    def __init__(self, dbsession, session_factory=None, store_currency="usd"):
        self.db = dbsession
        self.session_factory = session_factory
        self.store_currency = store_currency

    # --- the dashboard -------------------------------------------------------------------------
    # Read from the sales summary (models/sales_summary.py), which triggers on ``purchases`` keep in
    # the same transaction as every write to a purchase: a few thousand summary rows, not every sale.
    def dashboard(self, now=None):
        now = now or utcnow()
        today = now.astimezone(UTC).date()
        columns = []
        for _label, days in PERIODS:
            in_period = SalesByDay.day >= today - timedelta(days=days - 1) if days else true()
            columns += [
                func.coalesce(func.sum(case((in_period, SalesByDay.revenue_cents), else_=0)), 0),
                func.coalesce(func.sum(case((in_period, SalesByDay.sales), else_=0)), 0),
            ]
        totals = self.db.execute(
            select(SalesByDay.currency, *columns)
            .group_by(SalesByDay.currency)
            .having(func.sum(SalesByDay.purchases) > 0)
        ).all()
        figures = {}
        for row in totals:
            values = list(row)[1:]
            figures[row.currency] = CurrencyFigures(
                row.currency,
                [
                    PeriodFigures(label, int(values[2 * i]), int(values[2 * i + 1]))
                    for i, (label, _) in enumerate(PERIODS)
                ],
            )
        if not figures:
            figures[self.store_currency] = CurrencyFigures(
                self.store_currency, [PeriodFigures(label, 0, 0) for label, _ in PERIODS]
            )

        first_day = today - timedelta(days=CHART_DAYS - 1)
        by_day = self.db.execute(
            select(SalesByDay.currency, SalesByDay.day, SalesByDay.revenue_cents).where(
                SalesByDay.day >= first_day, SalesByDay.purchases > 0
            )
        ).all()
        revenue_on = {(row.currency, _as_date(row.day)): int(row.revenue_cents) for row in by_day}
        for currency, entry in figures.items():
            entry.daily = [
                (first_day + timedelta(days=n), revenue_on.get((currency, first_day + timedelta(days=n)), 0))
                for n in range(CHART_DAYS)
            ]

        # The five best (album, currency) rows of the summary; only they are joined to their albums.
        best = (
            select(SalesByAlbum.album_id, SalesByAlbum.currency, SalesByAlbum.revenue_cents, SalesByAlbum.sales)
            .where(SalesByAlbum.purchases > 0)
            .order_by(SalesByAlbum.revenue_cents.desc(), SalesByAlbum.album_id)
            .limit(5)
            .subquery()
        )
        top_albums = self.db.execute(
            select(
                Album.id.label("album_id"),
                Album.title,
                Album.artist,
                best.c.currency,
                best.c.revenue_cents,
                best.c.sales,
            )
            .join(best, best.c.album_id == Album.id)
            .order_by(best.c.revenue_cents.desc(), Album.title)
        ).all()
        # Ids grow with time: the newest purchases are the highest ids (the primary key's order).
        latest = self.db.scalars(
            select(Purchase).options(joinedload(Purchase.album)).order_by(Purchase.id.desc()).limit(10)
        ).all()
        ordered = sorted(figures.values(), key=lambda f: (f.currency != self.store_currency, f.currency))
        return Dashboard(
            today=today, currencies=ordered, top_albums=top_albums, latest=latest, choices=self.buyers_choices()
        )

    def buyers_choices(self):
        """Pay what you want: per album and currency, how many paid purchases, how many were free, how
        many chose more than the minimum, and the average amount and average over the minimum (each
        purchase against the minimum when it was made), from the sales summary's integer sums."""
        rows = self.db.execute(
            select(
                SalesByAlbum.album_id,
                Album.title,
                SalesByAlbum.currency,
                SalesByAlbum.chosen,
                SalesByAlbum.chosen_free,
                SalesByAlbum.chosen_more,
                SalesByAlbum.chosen_cents,
                SalesByAlbum.chosen_over_cents,
            )
            .join(Album, Album.id == SalesByAlbum.album_id)
            .where(SalesByAlbum.chosen > 0)
            .order_by(SalesByAlbum.chosen.desc(), Album.title)
        ).all()
        # Averages rounded to the nearest minor unit, from the database's integer sums.
        return [
            BuyersChoice(
                row.album_id,
                row.title,
                row.currency,
                row.chosen,
                row.chosen_free,
                row.chosen_more,
                _rounded_average(int(row.chosen_cents), row.chosen),
                _rounded_average(int(row.chosen_over_cents), row.chosen),
            )
            for row in rows
        ]

    # --- the purchases list --------------------------------------------------------------------
    def album_choices(self):
        return self.db.execute(select(Album.id, Album.title).order_by(Album.title, Album.id)).all()

    def purchases(self, filters, *, page=1, page_size=50):
        conditions = filters.conditions()
        total = self.db.scalar(select(func.count()).select_from(Purchase).where(*conditions))
        rows = self.db.scalars(
            select(Purchase)
            .options(joinedload(Purchase.album))
            .where(*conditions)
            .order_by(Purchase.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).all()
        return rows, total

    def purchase_rows(self, filters, *, batch=500):
        """A generator for streaming: it opens its own session (the request's transaction is over
        by the time the response is sent) and walks the purchases by id, one batch at a time."""
        conditions = filters.conditions()
        session = self.session_factory()
        try:
            last_id = None
            while True:
                query = (
                    select(
                        Purchase.id,
                        Purchase.reference,
                        Purchase.created_at,
                        Purchase.paid_at,
                        Purchase.status,
                        Album.slug,
                        Album.title,
                        Purchase.email,
                        Purchase.amount_cents,
                        Purchase.amount_refunded_cents,
                        Purchase.currency,
                        Purchase.stripe_charge_id,
                        Purchase.refunded_at,
                        Purchase.tax_cents,
                        Purchase.charged_cents.label("charged_cents"),
                        Purchase.net_cents.label("net_cents"),
                        Purchase.minimum_cents,
                    )
                    .join(Album, Album.id == Purchase.album_id)
                    .where(*conditions)
                    .order_by(Purchase.id.desc())
                    .limit(batch)
                )
                if last_id is not None:
                    query = query.where(Purchase.id < last_id)
                rows = session.execute(query).all()
                session.rollback()  # end the read: no transaction is held open between batches
                yield from rows
                if len(rows) < batch:
                    return
                last_id = rows[-1].id
        finally:
            session.close()


def _rounded_average(total, count):
    return (2 * total + count) // (2 * count) if count else 0


def _as_date(value):
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def includeme(config):
    settings = config.get_settings()

    def factory(context, request):
        return Reports(request.dbsession, request.registry["dbsession_factory"], settings["store.currency"])

    config.register_service_factory(factory, IReports)
