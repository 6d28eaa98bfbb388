"""Concurrent sales keep the sales summary exact: threads, each with its own connection and
transaction manager (as waitress threads and other processes have), record and settle sales of the
same album on the same day at once — every one of them adds to the same summary rows — and refund
some; the totals then equal a recount of the purchases and the arithmetic of what was sold.

On the suite's SQLite file the writers take turns on the database's write lock; on PostgreSQL
(``TEST_DATABASE_URL``) they really run at once, and the UPSERT's ``n = n + excluded.n`` is what
keeps one sale from overwriting another's figures."""

import threading

from sqlalchemy.orm import Session

from album_store.models.meta import utcnow
from album_store.services.purchases.settlement import RecordingFailed
from album_store.services.reports import Reports
from tests.dashboard_driving import Seller
from tests.factories import make_album
from tests.functional.admin.test_dashboard_exact import assert_dashboard_exact

THREADS = 4
SALES_EACH = 12


def settled(step, attempts=20):
    """Run one settlement step; a write refused by a busy database (SQLite's lock) is left as it was
    by settlement, and tried again, as reconcile would."""
    for _ in range(attempts):
        try:
            return step()
        except RecordingFailed:
            continue
    raise AssertionError("the database stayed busy")


def test_concurrent_sales_and_refunds_add_up_to_the_cent(db_engine, dbsession):
    album = make_album(dbsession, title="Hot Single", price_cents=999)
    other = make_album(dbsession, title="Euro Hit", price_cents=1234, currency="eur")
    start = threading.Barrier(THREADS)
    errors = []
    expected = {"usd": [0, 0], "eur": [0, 0]}  # currency: [net cents, sales still paid]
    lock = threading.Lock()

    def sell(n):
        seller = Seller(db_engine)
        try:
            start.wait()
            for i in range(SALES_EACH):
                chosen = album if (n + i) % 3 else other
                purchase = settled(lambda chosen=chosen: seller.record(chosen, amount_cents=chosen.price_cents))
                settled(lambda purchase=purchase: seller.charge_says(seller.get(purchase.id)))
                net, paid = chosen.price_cents, 1
                if i % 4 == 1:  # a partial refund
                    settled(lambda purchase=purchase: seller.charge_says(seller.get(purchase.id), refunded_cents=100))
                    net -= 100
                elif i % 4 == 2:  # a full refund
                    settled(
                        lambda purchase=purchase, chosen=chosen: seller.charge_says(
                            seller.get(purchase.id), refunded_cents=chosen.price_cents
                        )
                    )
                    net, paid = 0, 0
                with lock:
                    expected[chosen.currency][0] += net
                    expected[chosen.currency][1] += paid
        except Exception as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            seller.close()

    threads = [threading.Thread(target=sell, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    now = utcnow()
    assert_dashboard_exact(db_engine, now)
    with Session(db_engine) as session:
        shown = {c.currency: c.periods[-1] for c in Reports(session).dashboard(now).currencies}
    assert {currency: [p.revenue_cents, p.sales] for currency, p in shown.items()} == expected
    assert sum(sales for _, sales in expected.values()) == THREADS * SALES_EACH * 3 // 4
