"""Charts drawn by the server as SVG geometry: the template turns it into ``<svg>`` elements with
classes from style.css and presentation attributes (no script, no inline style, no CDN)."""

from dataclasses import dataclass

from .money import format_money, minor_unit_digits


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the day and its amount: the bar's tooltip and its accessible name


@dataclass(frozen=True)
class GridLine:
    y: float
    label: str


@dataclass(frozen=True)
class AxisLabel:
    x: float
    label: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    right: int
    baseline: float
    bars: list
    grid: list
    days: list
    title: str


def nice_step(value):
    """The smallest 1, 2 or 5 × 10ⁿ at least ``value`` (a whole number ≥ 1)."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if factor * magnitude >= value:
                return factor * magnitude
        magnitude *= 10


def daily_revenue_chart(daily, currency, *, width=900, height=240, gridlines=4):
    """Bars of ``daily`` [(date, cents)], oldest first, on a scale of round amounts."""
    # right: room for half of the last day's label ("01 Dec"), centred under its bar.
    left, right, top, bottom = 72, 24, 12, 30
    plot_width, plot_height = width - left - right, height - top - bottom
    highest = max((cents for _, cents in daily), default=0)
    # At least one whole unit of the currency per gridline, so an empty chart reads $0.00 … $4.00.
    step = nice_step(max(10 ** minor_unit_digits(currency), -(-highest // gridlines)))
    scale_top = step * gridlines
    baseline = top + plot_height
    slot = plot_width / max(1, len(daily))
    bar_width = round(max(1.0, slot * 0.72), 2)
    bars = []
    for n, (day, cents) in enumerate(daily):
        bar_height = round(cents / scale_top * plot_height, 2)
        bars.append(
            Bar(
                x=round(left + n * slot + (slot - bar_width) / 2, 2),
                y=round(baseline - bar_height, 2),
                width=bar_width,
                height=bar_height,
                label=f"{day:%d %b %Y}: {format_money(cents, currency)}",
            )
        )
    grid = [
        GridLine(y=round(baseline - i * plot_height / gridlines, 2), label=format_money(i * step, currency))
        for i in range(gridlines + 1)
    ]
    # The first of each month is labelled; the first day too, unless a month starts within a week.
    starts = [n for n, (day, _) in enumerate(daily) if day.day == 1]
    labelled = ([0] if daily and (not starts or starts[0] >= 7) else []) + starts
    days = [AxisLabel(x=round(left + n * slot + slot / 2, 2), label=f"{daily[n][0]:%d %b}") for n in labelled]
    first, last = (daily[0][0], daily[-1][0]) if daily else (None, None)
    title = f"Net revenue per day, {first:%d %b %Y} to {last:%d %b %Y} ({currency.upper()})" if daily else "No days"
    return BarChart(width, height, left, right, baseline, bars, grid, days, title)
