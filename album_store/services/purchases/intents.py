"""The payment_intents flow: a PaymentIntent that the buyer's browser confirms with Stripe.js.

The server creates one PaymentIntent per purchase (idempotency key
``purchase:{reference}:payment_intent``), hands its client secret to the page, and afterwards looks
at the PaymentIntent itself: the browser never decides the outcome. A failed attempt (declined, or
3-D Secure failed or cancelled) is canceled at Stripe before the purchase is marked failed, so a
failed purchase can never take money later.
"""

import logging

from sqlalchemy.exc import SQLAlchemyError

from ...models import PurchaseStatus
from ..payments import PaymentUnavailable
from .checkout import StillPending, declined, payment_details
from .settlement import RecordingFailed, is_settled

log = logging.getLogger("album_store.services.purchases")

#: Why a PaymentIntent's attempt failed, in the buyer's words.
AUTHENTICATION_FAILED = "Your bank's security check (3-D Secure) was cancelled or did not succeed."
NOT_COMPLETED = "The payment was not completed."
REPLACED = "A newer checkout of this album replaced this one before it was paid."


class PaymentIncomplete(Exception):
    """The buyer's browser has not finished paying (no card confirmed yet, or 3-D Secure unanswered);
    nothing was charged and the same attempt can go on."""


class PaymentIntentFlow:
    def __init__(self, settlement, payments):
        self.settlement = settlement
        self.payments = payments

    def go_on(self, purchase):
        """Return ``(purchase, intent)`` for the browser to confirm, or ``(purchase, None)`` once paid.
        Raises :class:`CardDeclined` (failed: a new attempt is needed) or :class:`StillPending`."""
        if is_settled(purchase):
            return purchase, None  # this attempt already paid: show its receipt
        if purchase.status == PurchaseStatus.FAILED:
            raise declined(purchase, NOT_COMPLETED)
        try:
            intent = self._intent_of(purchase)
            if intent.succeeded or intent.attempt_failed or intent.canceled:
                # The browser confirmed before and never told us (a lost answer, a reload): settle it now.
                self.settle(purchase, intent, abandoned=False)
        except (PaymentUnavailable, RecordingFailed) as error:
            raise StillPending(purchase) from error
        if purchase.status == PurchaseStatus.PAID:
            return purchase, None
        if purchase.status == PurchaseStatus.FAILED:
            raise declined(purchase, NOT_COMPLETED)
        if not intent.open:
            raise StillPending(purchase, f"The PaymentIntent is {intent.status}.")
        return purchase, intent

    def confirm(self, purchase):
        """After the browser confirmed: settle ``purchase`` by what its PaymentIntent says at Stripe."""
        if not purchase.uses_payment_intent:
            raise PaymentIncomplete("not a payment_intents purchase")
        if is_settled(purchase):
            return purchase
        if purchase.status == PurchaseStatus.FAILED:
            raise declined(purchase, NOT_COMPLETED)
        try:
            intent = self.current_intent(purchase)
            if intent is None:
                raise PaymentIncomplete("no PaymentIntent yet")
            self.settle(purchase, intent, abandoned=False)
        except (PaymentUnavailable, RecordingFailed) as error:
            raise StillPending(purchase) from error
        if purchase.status == PurchaseStatus.PAID:
            return purchase
        if purchase.status == PurchaseStatus.FAILED:
            raise declined(purchase, NOT_COMPLETED)
        if intent.status in ("processing", "requires_capture"):
            raise StillPending(purchase)
        raise PaymentIncomplete(intent.status)

    def give_way(self, purchase):
        """The buyer started a new checkout of this album while this one is pending: settle it if
        Stripe has its answer, and cancel it if it is waiting for a card nobody has entered yet (so
        the new one can go on, and this one can never take money). One being confirmed right now
        (3-D Secure open, processing) stays pending."""
        intent = self._intent_of(purchase)
        if intent.succeeded or intent.canceled or intent.attempt_failed:
            self.settle(purchase, intent, abandoned=False)
        elif intent.status == "requires_payment_method":
            self.settle(purchase, intent, abandoned=True, reason=("replaced", REPLACED))

    def _intent_of(self, purchase):
        """The purchase's PaymentIntent: retrieved by its id, or (never recorded, as when the answer to
        its creation was lost) asked for again with its idempotency key, which gives back the one
        Stripe made, or makes it now."""
        intent = None
        if purchase.stripe_payment_intent_id:
            intent = self.payments.retrieve_payment_intent(purchase.stripe_payment_intent_id)
        if intent is None:
            intent = self.payments.create_payment_intent(
                **payment_details(purchase), idempotency_key=purchase.payment_intent_idempotency_key
            )
            self._remember(purchase, intent)
        return intent

    def _remember(self, purchase, intent):
        if purchase.stripe_payment_intent_id == intent.id:
            return
        purchase_id = purchase.id
        purchase.stripe_payment_intent_id = intent.id
        try:
            self.settlement.commit()
        except SQLAlchemyError as error:
            # The PaymentIntent exists; the next try (same idempotency key) gets it back.
            self.settlement.start_over()
            log.error(
                "purchase %s: recording PaymentIntent %s failed (%s)", purchase_id, intent.id, type(error).__name__
            )
            raise PaymentUnavailable("The payment could not be recorded yet.") from error

    def current_intent(self, purchase):
        """The purchase's PaymentIntent as Stripe has it now (found by reference if its id was never
        recorded), or None if there is none (or search has not caught up yet)."""
        intent = None
        if purchase.stripe_payment_intent_id:
            intent = self.payments.retrieve_payment_intent(purchase.stripe_payment_intent_id)
        if intent is None:
            intent = self.payments.find_payment_intent(purchase_ref=purchase.reference)
            if intent is not None:
                self._remember(purchase, intent)
        return intent

    def settle(self, purchase, intent, *, abandoned, reason=None):
        """Move a purchase on by its PaymentIntent: paid (or refunded) if it succeeded; failed once
        it is canceled, which the store does itself after a failed attempt (and, when ``abandoned``,
        for a checkout left unfinished). Returns "settled", "failed" or None (still open)."""
        if intent.succeeded:
            self.settlement.settle_by_intent(purchase, intent)
            return "settled"
        if not (intent.canceled or intent.attempt_failed or (abandoned and intent.open)):
            return None
        final = intent if intent.canceled else self.payments.cancel_payment_intent(intent.id)
        if final.succeeded:  # the buyer's payment got there first
            self.settlement.settle_by_intent(purchase, final)
            return "settled"
        if not final.canceled:
            return None
        code, message = reason or failure_of(intent)
        if purchase.status == PurchaseStatus.PENDING:
            self.settlement.fail(
                purchase, code=code, message=message, charge_id=intent.charge.id if intent.charge else None
            )
        return "failed"


def failure_of(intent):
    """(failure code, message for the buyer) of a PaymentIntent that did not succeed."""
    if intent.error_code == "payment_intent_authentication_failure":
        return "authentication_failed", AUTHENTICATION_FAILED
    if intent.error_code or intent.error_message:
        return (
            intent.decline_code or intent.error_code or "card_declined",
            intent.error_message or "Your card was declined.",
        )
    return "not_completed", NOT_COMPLETED
