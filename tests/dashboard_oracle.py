"""The dashboard as it was computed before the sales summary: straight from the purchases table.

Kept as the oracle of the exactness tests (and the "before" of bench/PROFILE-dashboard.md): whatever
the summary tables say must equal what these queries say over the purchases themselves.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, case, func, select, true

from album_store.models import Album, Purchase, PurchaseStatus
from album_store.services.reports import (
    CHART_DAYS,
    PERIODS,
    SOLD,
    BuyersChoice,
    _as_date,
    _rounded_average,
    _start_of,
    utc_day,
)


def sold():
    return and_(Purchase.status.in_(SOLD), Purchase.paid_at.is_not(None))


@dataclass
class Figures:
    """What the dashboard shows, in plain values, for comparison."""

    periods: dict  # {currency: [(label, revenue_cents, sales)]}
    daily: dict  # {currency: [(date, revenue_cents)]}
    top_albums: list  # [(album_id, title, artist, currency, revenue_cents, sales)]
    choices: list  # [BuyersChoice]


def figures_of(dashboard):
    """A :class:`Figures` from the service's :class:`~album_store.services.reports.Dashboard`."""
    return Figures(
        periods={c.currency: [(p.label, p.revenue_cents, p.sales) for p in c.periods] for c in dashboard.currencies},
        daily={c.currency: list(c.daily) for c in dashboard.currencies},
        top_albums=[tuple(row) for row in dashboard.top_albums],
        choices=list(dashboard.choices),
    )


def oracle(db, today, store_currency="usd"):
    """The dashboard's figures for ``today`` (a UTC date), recomputed from every purchase."""
    columns = []
    for _label, days in PERIODS:
        in_period = Purchase.paid_at >= _start_of(today - timedelta(days=days - 1)) if days else true()
        columns += [
            func.coalesce(func.sum(case((in_period, Purchase.net_cents), else_=0)), 0),
            func.count(case((and_(in_period, Purchase.status == PurchaseStatus.PAID), 1))),
        ]
    totals = db.execute(select(Purchase.currency, *columns).where(sold()).group_by(Purchase.currency)).all()
    periods = {}
    for row in totals:
        values = list(row)[1:]
        periods[row[0]] = [(label, int(values[2 * i]), int(values[2 * i + 1])) for i, (label, _) in enumerate(PERIODS)]
    if not periods:
        periods[store_currency] = [(label, 0, 0) for label, _ in PERIODS]

    first_day = today - timedelta(days=CHART_DAYS - 1)
    day = utc_day(Purchase.paid_at)
    by_day = db.execute(
        select(Purchase.currency, day.label("day"), func.sum(Purchase.net_cents).label("revenue"))
        .where(sold(), Purchase.paid_at >= _start_of(first_day))
        .group_by(Purchase.currency, day)
    ).all()
    revenue_on = {(row.currency, _as_date(row.day)): int(row.revenue) for row in by_day}
    daily = {
        currency: [
            (first_day + timedelta(days=n), revenue_on.get((currency, first_day + timedelta(days=n)), 0))
            for n in range(CHART_DAYS)
        ]
        for currency in periods
    }

    revenue = func.sum(Purchase.net_cents).label("revenue_cents")
    best = (
        select(
            Purchase.album_id,
            Purchase.currency,
            revenue,
            func.count(case((Purchase.status == PurchaseStatus.PAID, 1))).label("sales"),
        )
        .where(sold())
        .group_by(Purchase.album_id, Purchase.currency)
        .order_by(revenue.desc(), Purchase.album_id)
        .limit(5)
        .subquery()
    )
    top_albums = db.execute(
        select(Album.id, Album.title, Album.artist, best.c.currency, best.c.revenue_cents, best.c.sales)
        .join(best, best.c.album_id == Album.id)
        .order_by(best.c.revenue_cents.desc(), Album.title)
    ).all()

    over = Purchase.amount_cents - Purchase.minimum_cents
    rows = db.execute(
        select(
            Purchase.album_id,
            Album.title,
            Purchase.currency,
            func.count().label("buyers"),
            func.count(case((Purchase.amount_cents == 0, 1))).label("free"),
            func.count(case((over > 0, 1))).label("paid_more"),
            func.sum(Purchase.amount_cents).label("total"),
            func.sum(over).label("total_over"),
        )
        .join(Album, Album.id == Purchase.album_id)
        .where(Purchase.status == PurchaseStatus.PAID, Purchase.minimum_cents.is_not(None))
        .group_by(Purchase.album_id, Album.title, Purchase.currency)
        .order_by(func.count().desc(), Album.title)
    ).all()
    choices = [
        BuyersChoice(
            row.album_id,
            row.title,
            row.currency,
            row.buyers,
            row.free,
            row.paid_more,
            _rounded_average(int(row.total), row.buyers),
            _rounded_average(int(row.total_over), row.buyers),
        )
        for row in rows
    ]
    return Figures(
        periods=periods,
        daily=daily,
        top_albums=[(r[0], r[1], r[2], r[3], int(r[4]), r[5]) for r in top_albums],
        choices=choices,
    )
