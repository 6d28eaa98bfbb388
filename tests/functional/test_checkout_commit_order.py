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
