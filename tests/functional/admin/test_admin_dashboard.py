"""The dashboard's figures on a known set of purchases, refunds included, to the cent."""

import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock

import pytest

from album_store.models.meta import utcnow
from tests.factories import make_album, make_purchase


@pytest.fixture
def now():
    """Now, kept clear of midnight (UTC) so that "today" cannot change during the test."""
    current = utcnow()
    since_midnight = (current - datetime.combine(current.date(), clock.min, tzinfo=UTC)).total_seconds()
    if since_midnight > 86400 - 120:
        time.sleep(86400 - since_midnight + 121)
    elif since_midnight < 120:
        time.sleep(121 - since_midnight)
    current = utcnow()
    return current


@pytest.fixture
def sales(dbsession, now):
    blue = make_album(dbsession, title="Blue Skies", slug="blue", price_cents=1000)
    night = make_album(dbsession, title="Night Bus", slug="night", price_cents=2500)
    euro = make_album(dbsession, title="Euro Disco", slug="euro", price_cents=1500, currency="eur")
    earlier = now - timedelta(minutes=1)

    def days_ago(n):
        return earlier - timedelta(days=n)

    make_purchase(dbsession, blue, paid_at=earlier)  # today  +10.00
    make_purchase(dbsession, night, paid_at=earlier, refunded_cents=500)  # today  +20.00 (partly refunded)
    make_purchase(dbsession, blue, paid_at=earlier, status="refunded", refunded_cents=1000)  # today  + 0.00, no sale
    make_purchase(dbsession, blue, paid_at=days_ago(3))  # 7 days +10.00
    make_purchase(dbsession, night, paid_at=days_ago(6))  # 7 days +25.00 (its first day)
    make_purchase(dbsession, night, paid_at=days_ago(7))  # 30 days +25.00
    make_purchase(dbsession, blue, paid_at=days_ago(29))  # 30 days +10.00 (its first day)
    make_purchase(dbsession, blue, paid_at=days_ago(30))  # all time +10.00
    make_purchase(dbsession, night, paid_at=days_ago(100), refunded_cents=1000)  # all time +15.00
    make_purchase(dbsession, blue, created_at=earlier, status="failed")  # never counts
    make_purchase(dbsession, blue, created_at=earlier, status="pending")  # never counts
    make_purchase(dbsession, euro, paid_at=earlier)  # €15.00 today
    return now


def figures(page):
    """{currency heading or "": {period: (revenue, sales)}} as the page shows them."""
    shown = {}
    for section in page.html.select("section.admin-section"):
        if not section.find("dl", class_="figures"):
            continue
        heading = section.find("h2").text if section.find("h2") else ""
        shown[heading] = {
            figure["data-period"]: (
                figure.find(class_="figure__revenue").text,
                figure.find(class_="figure__sales").text,
            )
            for figure in section.select(".figure")
        }
    return shown


def test_the_figures_are_net_of_refunds_to_the_cent(owner_app, sales):
    page = owner_app.get("/admin")
    assert figures(page) == {
        "In USD": {
            "Today": ("$30.00", "2 sales"),
            "7 days": ("$65.00", "4 sales"),
            "30 days": ("$100.00", "6 sales"),
            "All time": ("$125.00", "8 sales"),
        },
        "In EUR": {
            "Today": ("€15.00", "1 sale"),
            "7 days": ("€15.00", "1 sale"),
            "30 days": ("€15.00", "1 sale"),
            "All time": ("€15.00", "1 sale"),
        },
    }


def test_the_chart_draws_each_of_the_last_90_days_from_the_server(owner_app, sales):
    page = owner_app.get("/admin")
    usd_chart = page.html.select("svg.chart__svg")[0]
    bars = usd_chart.select("rect.chart__bar")
    assert len(bars) == 90
    amounts = {bar.find("title").text.split(": ")[0]: bar.find("title").text.split(": ")[1] for bar in bars}
    today = sales.date()

    def day(n):
        return f"{today - timedelta(days=n):%d %b %Y}"

    expected = {
        day(0): "$30.00",
        day(3): "$10.00",
        day(6): "$25.00",
        day(7): "$25.00",
        day(29): "$10.00",
        day(30): "$10.00",
    }
    assert {d: a for d, a in amounts.items() if a != "$0.00"} == expected
    assert list(amounts)[0] == day(89) and list(amounts)[-1] == day(0)
    # Heights are to scale: today's $30.00 is three times a $10.00 day, and nothing is drawn for $0.
    height = {bar.find("title").text.split(": ")[0]: float(bar["height"]) for bar in bars}
    assert height[day(0)] == pytest.approx(3 * height[day(3)], abs=0.02) and height[day(1)] == 0
    # Drawn by the server: no script, no inline style (the CSP forbids both), no address elsewhere.
    assert all(script.get("src", "").startswith("/static/") for script in page.html.find_all("script"))
    assert (
        "style=" not in str(usd_chart)
        and not usd_chart.find("script")
        and "http" not in str(usd_chart).replace("http://www.w3.org/2000/svg", "")
    )


def test_top_albums_and_latest_purchases(owner_app, sales):
    page = owner_app.get("/admin")
    top = [[td.text.strip() for td in row.find_all("td")] for row in page.html.select("#top-albums tbody tr")]
    assert [(row[0].split(" ")[0:2], row[1], row[2]) for row in top] == [
        (["Night", "Bus"], "4", "$85.00"),
        (["Blue", "Skies"], "4", "$40.00"),
        (["Euro", "Disco"], "1", "€15.00"),
    ]
    latest = page.html.select("#latest-purchases tbody tr")
    assert len(latest) == 10
    assert {row.find_all("td")[3].text.strip() for row in latest} >= {"paid", "refunded", "failed", "pending"}


def test_an_empty_store_shows_zeros(owner_app, dbsession):
    page = owner_app.get("/admin")
    assert figures(page) == {"": {label: ("$0.00", "0 sales") for label in ("Today", "7 days", "30 days", "All time")}}
    assert len(page.html.select("rect.chart__bar")) == 90
    assert "Nothing sold yet." in page.text
