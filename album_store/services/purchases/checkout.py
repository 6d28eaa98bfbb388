"""The checkout_js flow: legacy Checkout posts a one-time card token, which the server charges.

The charge carries the idempotency key ``purchase:{reference}:charge`` and parameters read from the
purchase alone (:func:`payment_details`), so any retry — the SDK's own, a double click, the buyer's
second checkout while the first is unconfirmed — sends the same request and Stripe answers it with
the first charge, never a second one.
"""

import logging

from ...models import PurchaseStatus
from ..payments import CardDeclined, PaymentUnavailable
from .settlement import RecordingFailed, is_settled

log = logging.getLogger("album_store.services.purchases")


class StillPending(PaymentUnavailable):
    """Stripe could not be reached, has not finished, or its answer could not be recorded: the
    purchase stays pending until the webhook or reconcile settles it. ``purchase`` is that purchase."""

    def __init__(self, purchase, message="The payment has not been confirmed yet."):
        super().__init__(message)
        self.purchase = purchase


def payment_details(purchase):
    """What Stripe is told of a purchase, charge or PaymentIntent alike: from the purchase's own
    record only (its amount, its description fixed when it was made), so a retry with the same
    idempotency key sends exactly the same parameters, whatever happened to the album since."""
    return {
        "amount_cents": purchase.amount_cents,
        "currency": purchase.currency,
        "description": purchase.description,
        "receipt_email": purchase.email,
        "metadata": {"purchase_id": purchase.id, "purchase_ref": purchase.reference, "album_id": purchase.album_id},
    }


def declined(purchase, default):
    """The :class:`CardDeclined` a failed purchase stands for, in the buyer's words."""
    return CardDeclined(purchase.failure_message or default, code=purchase.failure_code)


class CheckoutCharges:
    def __init__(self, settlement, payments):
        self.settlement = settlement
        self.payments = payments

    def go_on(self, purchase):
        """Carry a recorded checkout_js purchase as far as it goes: paid (returned), or raises
        :class:`CardDeclined` (failed) or :class:`StillPending`."""
        if is_settled(purchase):
            return purchase  # the same checkout posted again
        if purchase.status == PurchaseStatus.FAILED:
            raise declined(purchase, "Your card was declined.")
        return self.charge(purchase)

    def charge(self, purchase):
        """Charge a pending purchase's token (again: the idempotency key makes a repeat a replay)."""
        try:
            charge = self.payments.charge(
                **payment_details(purchase), source=purchase.checkout_token, idempotency_key=purchase.idempotency_key
            )
        except CardDeclined as error:
            self.settlement.fail(purchase, code=error.code, message=error.user_message, charge_id=error.charge_id)
            raise
        except PaymentUnavailable as error:
            raise StillPending(purchase) from error
        if charge.status == "pending":
            log.warning(
                "purchase %s: charge %s is pending at Stripe; the webhook or reconcile settles it",
                purchase.id,
                charge.id,
            )
            raise StillPending(purchase)
        try:
            status = self.settlement.settle_by_charge(purchase, charge)
        except RecordingFailed as error:
            raise StillPending(purchase) from error
        if status == PurchaseStatus.FAILED:
            raise declined(purchase, "Your card was declined.")
        return purchase
