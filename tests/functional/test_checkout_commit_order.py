"""The checkout POST commits the pending purchase before the charge is sent, and the payment in the
commit that queues the receipt: read from another connection at the moment the store calls Stripe
(the charge's request about to leave), and after. (test_concurrency.py kills a live store while Stripe
holds its answer; that test cannot tell a commit made before the charge from one made when the charge
times out, which is within its deadline.)"""

import pytest
from sqlalchemy import text

from album_store.services.payments.stripe_service import StripePaymentService
from tests.factories import make_album

pytestmark = pytest.mark.stripe


def committed_purchase(db_engine, token):
    """The purchase of ``token`` as another connection sees it (committed rows only), or None."""
    with db_engine.connect() as connection:
        row = connection.execute(
            text("SELECT status, amount_cents FROM purchases WHERE checkout_token = :token"), {"token": token}
        ).one_or_none()
    return tuple(row) if row is not None else None


def test_the_pending_purchase_is_committed_before_the_charge_is_sent(
    testapp, dbsession, db_engine, monkeypatch, outbox
):
    make_album(dbsession, slug="in-order", title="In Order", price_cents=1100)
    token = testapp.new_card_token()
    seen = []
    charge = StripePaymentService.charge

    def watched(self, **details):
        seen.append(committed_purchase(db_engine, token))
        return charge(self, **details)

    monkeypatch.setattr(StripePaymentService, "charge", watched)
    testapp.buy("in-order", token=token, email="order@example.com", status=303)
    assert seen == [("pending", 1100)], "the charge was sent before its pending purchase was committed"
    assert committed_purchase(db_engine, token) == ("paid", 1100)
    assert [message.subject for message in outbox] == ["Your receipt: In Order by Test Artist"]


def test_a_settlement_that_loses_the_race_reads_the_purchase_again_and_keeps_the_winner(app, dbsession):
    """Settlement's commits keep the session's objects loaded, and a status change no longer re-reads
    its row when it matched (the UPDATE returns it): the loser of a race (its UPDATE matches no row)
    must still read the purchase again, decide from what is there, and overwrite nothing."""
    import transaction
    from sqlalchemy import update

    from album_store.models import Purchase, get_tm_session
    from album_store.models.meta import utcnow
    from album_store.services.payments import Charge
    from album_store.services.purchases.settlement import Settlement
    from tests.factories import make_purchase

    album = make_album(dbsession, slug="raced", price_cents=900)
    purchase = make_purchase(dbsession, album, status="pending", amount_cents=900)
    tm = transaction.TransactionManager(explicit=True)
    tm.begin()
    session = get_tm_session(app.registry["dbsession_factory"], tm)
    try:
        mine = session.get(Purchase, purchase.id)
        assert mine.status == "pending"
        # Another process (the webhook, say) records the payment first.
        dbsession.execute(
            update(Purchase)
            .where(Purchase.id == purchase.id)
            .values(status="paid", stripe_charge_id="ch_winner", paid_at=utcnow(), card_last4="4242")
        )
        dbsession.commit()
        charge = Charge(
            id="ch_winner",
            amount_cents=900,
            currency="usd",
            status="succeeded",
            card_brand="visa",
            card_last4="4242",
            amount_refunded_cents=0,
            metadata={},
        )
        assert Settlement(session, tm, payments=None).settle_by_charge(mine, charge) == "paid"
        assert (mine.status, mine.stripe_charge_id) == ("paid", "ch_winner")
    finally:
        tm.abort()
        session.close()
