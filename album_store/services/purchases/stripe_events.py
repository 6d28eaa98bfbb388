"""Stripe's events (``POST /stripe/webhook``, verified by the view): each acted on once.

An event only says *that* something happened: the charge or PaymentIntent is fetched again from
Stripe and the purchase settled by what it says now (:mod:`.settlement`), so events that arrive
late, twice or out of order all end in the same state. ``charge.succeeded`` and
``charge.refunded`` both mean "look at this charge": a refund made in Stripe's dashboard while the
purchase was still pending settles it as refunded; a charge that succeeded for a purchase marked
failed repairs it. Events about charges this store did not make are ignored.
"""

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...models import Purchase, PurchaseStatus, WebhookEvent
from ...models.meta import utcnow
from .sessions import subtotal_matches
from .settlement import SETTLED, holds_charged_amount

log = logging.getLogger("album_store.services.purchases")

#: The events the store acts on, the one list of them: the owner adds these to the webhook endpoint in
#: Stripe's dashboard (README, "Webhooks"), and devtools/serve_demo.py registers them at the stand-in.
CHARGE_REFUNDED = "charge.refunded"
CHARGE_EVENTS = ("charge.succeeded", CHARGE_REFUNDED, "charge.failed")
DISPUTE_EVENTS = ("charge.dispute.created",)
PAYMENT_INTENT_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed")
CHECKOUT_SESSION_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
)
HANDLED_EVENTS = CHARGE_EVENTS + DISPUTE_EVENTS + PAYMENT_INTENT_EVENTS + CHECKOUT_SESSION_EVENTS


class StripeEvents:
    def __init__(self, dbsession, settlement, payments, intents, sessions):
        self.db = dbsession
        self.settlement = settlement
        self.payments = payments
        self.intents = intents
        self.sessions = sessions

    def handle(self, event):
        """Act on a verified event, once; return what was done (for the log and the reply).
        Raises ``PaymentUnavailable`` when Stripe cannot be asked: nothing is kept, Stripe retries."""
        if self.db.get(WebhookEvent, event.id) is not None:
            return "duplicate"
        record = WebhookEvent(id=event.id, type=event.type, outcome="received")
        self.db.add(record)
        try:
            self.db.flush()
        except IntegrityError:  # the same event delivered twice at once: the other one handles it
            self.settlement.start_over()
            return "duplicate"
        outcome, purchase_id = "ignored", None
        if event.type in CHARGE_EVENTS + DISPUTE_EVENTS and event.charge_id:
            charge = self.payments.retrieve_charge(event.charge_id)
            purchase = self._purchase_for_charge(charge) if charge is not None else None
            outcome = "not ours"
            if purchase is not None:
                purchase_id = purchase.id
                if event.type in DISPUTE_EVENTS:
                    outcome = self._flag_dispute(purchase, charge)
                elif _settled_by_session(purchase):
                    outcome = self._by_session(purchase)
                elif (purchase.uses_payment_intent or purchase.uses_checkout_session) and not charge.succeeded:
                    # One failed try of a PaymentIntent (or on the hosted page, which stays open):
                    # the PaymentIntent, or the session, decides once it is over.
                    outcome = "left to its PaymentIntent"
                else:
                    before = purchase.status
                    outcome = _outcome(event.type, before, self.settlement.settle_by_charge(purchase, charge))
        elif event.type in CHECKOUT_SESSION_EVENTS and event.checkout_session_id:
            session = self.payments.retrieve_checkout_session(event.checkout_session_id)  # re-fetched, not trusted
            purchase = self._purchase_for_session(session) if session is not None else None
            outcome = "not ours"
            if purchase is not None:
                purchase_id = purchase.id
                outcome = self._settle_session(purchase, session, event.type)
        elif event.type in PAYMENT_INTENT_EVENTS and event.payment_intent_id:
            intent = self.payments.retrieve_payment_intent(event.payment_intent_id)
            purchase = self._purchase_for_intent(intent) if intent is not None else None
            outcome = "not ours"
            if purchase is not None:
                purchase_id = purchase.id
                outcome = self._on_payment_intent(purchase, intent)
        # Kept in the transaction open now (a settlement commits the one before).
        record.outcome = outcome
        record.purchase_id = purchase_id
        log.info(
            "stripe_event id=%s type=%s outcome=%s purchase_id=%s", event.id, event.type, outcome, purchase_id or "-"
        )
        return outcome

    def _by_session(self, purchase):
        """A charge or PaymentIntent of a hosted-page purchase not paid yet: its session decides (and
        says the tax)."""
        session = self.payments.retrieve_checkout_session(purchase.stripe_checkout_session_id)
        if session is None:
            return "not ours"
        return self._settle_session(purchase, session, "checkout.session")

    def _settle_session(self, purchase, session, event_type):
        """Settle ``purchase`` by its session as Stripe has it now; say what that did."""
        before = purchase.status
        self.sessions.settle(purchase, session)
        if purchase.status != before:
            return _outcome(event_type, before, purchase.status)
        return "still open" if session.open else "already settled"

    def _on_payment_intent(self, purchase, intent):
        """``payment_intent.succeeded`` / ``.payment_failed``: the buyer may have closed the tab."""
        if _settled_by_session(purchase):
            return self._by_session(purchase)
        before = purchase.status
        if intent.succeeded:
            return _outcome("payment_intent", before, self.settlement.settle_by_intent(purchase, intent))
        if purchase.status != PurchaseStatus.PENDING:
            return "already settled"
        return self.intents.settle(purchase, intent, abandoned=False) or "still open"

    def _purchase_for_charge(self, charge):
        reference = charge.metadata.get("purchase_ref")
        if reference:
            purchase = self.db.scalars(select(Purchase).where(Purchase.reference == reference)).one_or_none()
        elif charge.payment_intent_id:  # a PaymentIntent's charge: Stripe copies its metadata, but be sure
            purchase = self.db.scalars(
                select(Purchase).where(Purchase.stripe_payment_intent_id == charge.payment_intent_id)
            ).one_or_none()
        else:
            return None
        if purchase is None or (purchase.stripe_charge_id not in (None, charge.id)):
            return None
        if _settled_by_session(purchase):
            return purchase  # its session is fetched and checked instead (the tax is not known before)
        return _same_amount(purchase, "charge", charge.id, charge.amount_cents, charge.currency)

    def _purchase_for_intent(self, intent):
        reference = intent.metadata.get("purchase_ref")
        query = select(Purchase).where(
            Purchase.reference == reference if reference else Purchase.stripe_payment_intent_id == intent.id
        )
        purchase = self.db.scalars(query).one_or_none()
        if purchase is None or not (purchase.uses_payment_intent or purchase.uses_checkout_session):
            return None
        if purchase.stripe_payment_intent_id not in (None, intent.id):
            return None
        if _settled_by_session(purchase):
            return purchase  # the hosted page's PaymentIntent: its session is fetched and checked instead
        return _same_amount(purchase, "PaymentIntent", intent.id, intent.amount_cents, intent.currency)

    def _purchase_for_session(self, session):
        reference = session.metadata.get("purchase_ref")
        query = select(Purchase).where(
            Purchase.reference == reference if reference else Purchase.stripe_checkout_session_id == session.id
        )
        purchase = self.db.scalars(query).one_or_none()
        if purchase is None or purchase.stripe_checkout_session_id not in (None, session.id):
            return None
        if session.amount_total_cents is None:  # no amount yet: nothing to compare
            return purchase
        if not subtotal_matches(purchase, session):
            log.error(
                "Checkout Session %s is for %s, not purchase %s's %s; ignored",
                session.id,
                session.amount_subtotal_cents,
                purchase.id,
                purchase.amount_cents,
            )
            return None
        return _same_amount(
            purchase,
            "Checkout Session",
            session.id,
            session.amount_total_cents,
            session.currency,
            tax_cents=session.amount_tax_cents,
        )

    def _flag_dispute(self, purchase, charge):
        """Not a status change: the owner answers the dispute in Stripe's dashboard."""
        if purchase.disputed_at is None:
            purchase.disputed_at = utcnow()
            log.warning(
                "purchase_disputed purchase_id=%s charge_id=%s amount_cents=%s",
                purchase.id,
                charge.id,
                purchase.amount_cents,
            )
        return "flagged"


def _settled_by_session(purchase):
    """A hosted-page purchase before it is paid: settled through its Checkout Session only."""
    return (
        purchase.uses_checkout_session
        and purchase.stripe_checkout_session_id is not None
        and purchase.status in (PurchaseStatus.PENDING, PurchaseStatus.FAILED)
    )


def _same_amount(purchase, kind, stripe_id, amount_cents, currency, *, tax_cents=None):
    """``purchase`` if what Stripe holds is for its amount (what it was charged: the price plus any
    tax added, ``tax_cents`` a session's) and currency; else None, logged: an object naming a
    purchase it was not made for is ignored, never settled."""
    if not holds_charged_amount(purchase, amount_cents, currency, tax_cents):
        log.error("%s %s does not match purchase %s's amount; ignored", kind, stripe_id, purchase.id)
        return None
    return purchase


def _outcome(event_type, before, after):
    if event_type == CHARGE_REFUNDED and after in SETTLED:
        return "refunded" if after == PurchaseStatus.REFUNDED else "partially refunded"
    if before == after:
        return "already settled"
    return {"paid": "settled", "refunded": "refunded", "failed": "failed"}.get(after, after)
