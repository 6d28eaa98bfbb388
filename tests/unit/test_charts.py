"""The dashboard's chart geometry, drawn by the server."""

from datetime import date, timedelta

from album_store.charts import daily_revenue_chart, nice_step


def days(amounts, start=date(2026, 3, 1)):
    return [(start + timedelta(days=n), cents) for n, cents in enumerate(amounts)]


def test_the_scale_is_a_round_amount_above_the_highest_day():
    assert [nice_step(v) for v in (1, 3, 7, 10, 11, 26, 2600)] == [1, 5, 10, 10, 20, 50, 5000]
    chart = daily_revenue_chart(days([0, 1000, 3050, 0]), "usd")
    assert [line.label for line in chart.grid] == ["$0.00", "$10.00", "$20.00", "$30.00", "$40.00"]
    assert daily_revenue_chart(days([120000]), "jpy").grid[-1].label == "¥200,000"


def test_bars_stand_on_the_baseline_in_proportion_and_say_what_they_show():
    chart = daily_revenue_chart(days([0, 1000, 2000]), "usd")
    zero, one, two = chart.bars
    assert zero.height == 0 and zero.y == chart.baseline
    assert two.height == 2 * one.height and two.y + two.height == chart.baseline
    assert one.label == "02 Mar 2026: $10.00"
    assert zero.x < one.x < two.x and two.x + two.width <= chart.width - chart.right


def test_months_are_labelled_without_crowding_the_first_day():
    labels = [label.label for label in daily_revenue_chart(days([0] * 90, start=date(2026, 2, 27)), "usd").days]
    assert labels == ["01 Mar", "01 Apr", "01 May"]
    labels = [label.label for label in daily_revenue_chart(days([0] * 40, start=date(2026, 3, 10)), "usd").days]
    assert labels == ["10 Mar", "01 Apr"]


def test_an_empty_store_draws_an_empty_chart():
    chart = daily_revenue_chart(days([0] * 90), "eur")
    assert len(chart.bars) == 90 and {bar.height for bar in chart.bars} == {0}
    assert [line.label for line in chart.grid] == ["€0.00", "€1.00", "€2.00", "€3.00", "€4.00"]


def test_the_last_days_label_fits_inside_the_chart():
    """It is centred under the last bar: half of "01 Dec" (about 18 px at the labels' 11 px) must fit
    before the chart's edge, or it reads "01 De"."""
    chart = daily_revenue_chart(days([0] * 90, start=date(2026, 9, 3)), "usd")
    last = chart.days[-1]
    assert last.label == "01 Dec"
    assert last.x + 18 <= chart.width
