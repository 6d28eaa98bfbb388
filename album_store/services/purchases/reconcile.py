"""``album-store reconcile``: settle from Stripe's side what the buy route could not.

- A purchase left **pending** for longer than ``min_age`` (a lost answer, a process killed between the
  charge and the commit, a buyer who closed the tab) is looked up at Stripe by its reference and
  settled by what Stripe has. Stripe's search is eventually consistent (usually under a minute, up
  to an hour during incidents, which is when purchases are left pending): finding nothing proves
  nothing while the purchase is younger than ``search_lag``, so it stays pending until then.
- A purchase **failed** because nothing was found (never one that Stripe declined) is looked up
  again for ``repair_window``: a charge that turns up after all makes it paid (or, if the buyer has
  bought the album again meanwhile, a duplicate that is refunded).
- A **duplicate** whose automatic refund could not be made is refunded now.

A second run changes nothing more. Stripe being unreachable leaves everything for the next run.
"""

import logging
from datetime import timedelta

from sqlalchemy import select

from ...models import Purchase, PurchaseStatus
from ...models.meta import utcnow
from ..payments import PaymentUnavailable
from .intents import NOT_COMPLETED
from .settlement import RecordingFailed

log = logging.getLogger("album_store.services.purchases")

#: ``failure_code`` of a purchase failed for want of a payment at Stripe (not for a declined card).
NOTHING_FOUND = ("no_charge", "no_payment")
NOT_CHARGED = "The payment did not go through; nothing was charged."


class Reconciler:
    def __init__(self, dbsession, settlement, payments, intents, sessions):
        self.db = dbsession
        self.settlement = settlement
        self.payments = payments
        self.intents = intents
        self.sessions = sessions

    def run(self, *, min_age=timedelta(minutes=10), search_lag=timedelta(hours=1), repair_window=timedelta(days=7)):
        """Settle what can be settled; return the ids of the purchases whose status changed."""
        now = utcnow()
        changed = []
        # A free download (amount 0) is never at Stripe: it waits for its buyer's email confirmation.
        for purchase_id in self._ids(
            PurchaseStatus.PENDING, Purchase.created_at <= now - min_age, Purchase.amount_cents > 0
        ):
            if self._settle_pending(purchase_id, old_enough_to_give_up=now - search_lag):
                changed.append(purchase_id)
        for purchase_id in self._ids(
            PurchaseStatus.FAILED, Purchase.created_at >= now - repair_window, Purchase.failure_code.in_(NOTHING_FOUND)
        ):
            if self._repair_failed(purchase_id):
                changed.append(purchase_id)
        for purchase_id in self._ids(PurchaseStatus.PAID, Purchase.buyer_album_key.is_(None)):
            purchase = self.db.get(Purchase, purchase_id)
            try:
                self.settlement.refund_duplicate(purchase)
            except RecordingFailed:
                continue  # refunded at Stripe; the charge.refunded webhook or the next run records it
            if purchase.status != PurchaseStatus.PAID:
                changed.append(purchase_id)
        return changed

    def _ids(self, status, *conditions):
        return self.db.scalars(
            select(Purchase.id).where(Purchase.status == status, *conditions).order_by(Purchase.id)
        ).all()

    def _settle_pending(self, purchase_id, *, old_enough_to_give_up):
        purchase = self.db.get(Purchase, purchase_id)
        if purchase is None or purchase.status != PurchaseStatus.PENDING:
            return False
        give_up = purchase.created_at <= old_enough_to_give_up
        try:
            if purchase.uses_checkout_session:
                return self._settle_pending_session(purchase)
            if purchase.uses_payment_intent:
                return self._settle_pending_intent(purchase, give_up=give_up)
            charge = self.payments.find_charge(purchase_ref=purchase.reference)
            if charge is None:
                if not give_up:
                    return False  # search may not have caught up yet
                return self.settlement.fail(purchase, code="no_charge", message=NOT_CHARGED)
            if charge.status == "pending":
                return False
            return self.settlement.settle_by_charge(purchase, charge) != PurchaseStatus.PENDING
        except (PaymentUnavailable, RecordingFailed):
            self.settlement.start_over()
            log.warning("reconcile: Stripe unavailable; purchase %s stays pending", purchase_id)
            return False

    def _settle_pending_intent(self, purchase, *, give_up):
        """Paid if its PaymentIntent succeeded; unfinished for so long, it is canceled and fails."""
        intent = self.intents.current_intent(purchase)
        if intent is None:
            if not give_up:
                return False
            return self.settlement.fail(purchase, code="no_payment", message=NOT_COMPLETED)
        return self.intents.settle(purchase, intent, abandoned=True) is not None

    def _settle_pending_session(self, purchase):
        """Paid if its session was paid; left unpaid for so long, the session is expired and it fails.
        A session is retrieved by its id (never searched); one never created was never paid."""
        if not purchase.stripe_checkout_session_id:
            return self.settlement.fail(purchase, code="no_payment", message=NOT_COMPLETED)
        session = self.payments.retrieve_checkout_session(purchase.stripe_checkout_session_id)
        if session is None:
            return False
        return self.sessions.settle(purchase, session, abandoned=True) is not None

    def _repair_failed(self, purchase_id):
        purchase = self.db.get(Purchase, purchase_id)
        try:
            if purchase.uses_payment_intent:
                intent = self.intents.current_intent(purchase)
                if intent is None or not intent.succeeded:
                    return False
                log.error("purchase %s was failed but PaymentIntent %s succeeded; settling it", purchase.id, intent.id)
                self.settlement.settle_by_intent(purchase, intent)
            else:
                charge = self.payments.find_charge(purchase_ref=purchase.reference)
                if charge is None or not charge.succeeded:
                    return False
                log.error("purchase %s was failed but charge %s succeeded; settling it", purchase.id, charge.id)
                self.settlement.settle_by_charge(purchase, charge)
        except (PaymentUnavailable, RecordingFailed):
            self.settlement.start_over()
            log.warning("reconcile: Stripe unavailable; failed purchase %s is checked again next time", purchase_id)
            return False
        return purchase.status != PurchaseStatus.FAILED
