"""The dashboard's figures, read from the sales summary, equal a recomputation from the purchases
table (tests/dashboard_oracle.py, the query the dashboard used before), after every step of random
sequences of sales: several currencies and amounts, tax added or included, pay what you want,
refused cards, partial and full refunds, late settlements (paid hours later, at a time in the past),
payments after a failure, purchases restamped to another day or deleted outside the ORM."""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from album_store.models import Base, Purchase
from album_store.models.meta import utcnow
from album_store.models.purchase import TAX_EXCLUSIVE, TAX_INCLUSIVE
from album_store.services.reports import Reports
from tests.dashboard_driving import Seller, tax_of
from tests.dashboard_oracle import figures_of, oracle
from tests.factories import make_album


def _empty_tables(engine):
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


def assert_dashboard_exact(engine, now):
    with Session(engine) as session:
        shown = figures_of(Reports(session).dashboard(now))
        expected = oracle(session, now.date())
    assert shown.periods == expected.periods
    assert shown.daily == expected.daily
    assert shown.top_albums == expected.top_albums
    assert shown.choices == expected.choices


class Sales(RuleBasedStateMachine):
    engine = None  # set by the test

    purchases = Bundle("purchases")

    def __init__(self):
        super().__init__()
        _empty_tables(self.engine)
        with Session(self.engine, expire_on_commit=False) as session:
            self.albums = [
                make_album(session, title="Blue Skies", price_cents=1000),
                make_album(session, title="Euro Disco", price_cents=1500, currency="eur"),
                make_album(session, title="Tokyo Nights", price_cents=1200, currency="jpy"),
                make_album(session, title="Name Your Price", price_cents=500, minimum_cents=500),
                make_album(session, title="Free Or More", price_cents=300, minimum_cents=0),
            ]
        self.seller = Seller(self.engine)
        self.now = utcnow()

    def teardown(self):
        self.seller.close()

    @rule(
        target=purchases,
        album=st.integers(0, 4),
        extra=st.integers(0, 5000),
        tax=st.sampled_from([None, TAX_EXCLUSIVE, TAX_INCLUSIVE]),
        hours_ago=st.none() | st.integers(0, 24 * 100),
    )
    def record(self, album, extra, tax, hours_ago):
        """A pending purchase; ``hours_ago``: its charge succeeded then, recorded (paid) only later."""
        album = self.albums[album]
        amount = album.minimum_cents + extra if album.minimum_cents is not None else album.price_cents
        paid_at = None if hours_ago is None else self.now - timedelta(hours=hours_ago, minutes=1)
        if amount == 0:
            tax = None
        purchase = self.seller.record(album, amount_cents=amount, tax_behavior=tax, paid_at=paid_at)
        return purchase.id

    @rule(purchase_id=purchases, rate=st.integers(0, 25), refunded_share=st.sampled_from([0, 0, 0, 1, 50, 100]))
    def stripe_says_paid(self, purchase_id, rate, refunded_share):
        """The charge succeeded (maybe refunded in part or in full already): pending or failed → paid."""
        purchase = self.seller.get(purchase_id)
        if purchase is None:  # deleted
            return
        tax = None
        if purchase.status in ("pending", "failed") and purchase.tax_behavior:
            tax = tax_of(purchase.amount_cents, purchase.tax_behavior, rate)
        charged = purchase.amount_cents + (tax if purchase.tax_behavior == TAX_EXCLUSIVE and tax else 0)
        refunded = max(purchase.amount_refunded_cents, charged * refunded_share // 100)
        self.seller.charge_says(purchase, refunded_cents=refunded, tax_cents=tax)

    @rule(purchase_id=purchases)
    def card_refused(self, purchase_id):
        purchase = self.seller.get(purchase_id)
        if purchase is not None:
            self.seller.charge_says(purchase, status="failed")

    @rule(purchase_id=purchases, share=st.integers(1, 100))
    def refund(self, purchase_id, share):
        """A refund of ``share`` % more of the charge (100: what is left, in full)."""
        purchase = self.seller.get(purchase_id)
        if purchase is None or purchase.status != "paid":
            return
        charged = purchase.charged_cents
        refunded = min(charged, purchase.amount_refunded_cents + max(1, charged * share // 100))
        self.seller.charge_says(purchase, refunded_cents=refunded)

    @rule(purchase_id=purchases, days=st.integers(-3, 40))
    def restamped(self, purchase_id, days):
        """``paid_at`` moved by an UPDATE outside the ORM (a data fix): the figures follow it."""
        with self.engine.begin() as connection:
            connection.execute(
                update(Purchase)
                .where(Purchase.id == purchase_id, Purchase.paid_at.is_not(None))
                .values(paid_at=self.now - timedelta(days=days, minutes=2))
            )

    @rule(purchase_id=purchases)
    def deleted(self, purchase_id):
        with self.engine.begin() as connection:
            connection.execute(delete(Purchase).where(Purchase.id == purchase_id))

    @invariant()
    def dashboard_is_exact(self):
        assert_dashboard_exact(self.engine, self.now)


def test_the_dashboard_equals_a_recount_of_the_purchases_after_every_sale(db_engine, dbsession):
    Sales.engine = db_engine
    run_state_machine_as_test(
        Sales,
        settings=settings(
            max_examples=15,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


@pytest.mark.parametrize("hours", [0, 23, 24 * 29 + 23, 24 * 200])
def test_a_late_settlement_counts_on_the_day_it_was_paid(db_engine, dbsession, hours):
    """Paid back then, recorded now: the day (and period) of its ``paid_at``, not of the recording."""
    album = make_album(dbsession, title="Late", price_cents=700)
    now = utcnow()
    seller = Seller(db_engine)
    try:
        purchase = seller.record(album, amount_cents=700, paid_at=now - timedelta(hours=hours))
        assert_dashboard_exact(db_engine, now)
        seller.charge_says(purchase)
        assert seller.get(purchase.id).status == "paid"
    finally:
        seller.close()
    assert_dashboard_exact(db_engine, now)
