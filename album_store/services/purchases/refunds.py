"""The owner's refund: a full refund through Stripe, recorded by settlement, in the audit trail."""

from ...models import PurchaseStatus
from ...money import format_money


class NotRefundable(Exception):
    """Only a paid purchase, with its Stripe charge, can be refunded; ``str()`` says why not."""


class Refunds:
    def __init__(self, settlement, payments, audit=None):
        self.settlement = settlement
        self.payments = payments
        self.audit = audit  # IAuditLog: what the store owner does

    def refund(self, purchase, *, actor):
        if purchase.status == PurchaseStatus.REFUNDED:
            return purchase
        if purchase.is_free:
            raise NotRefundable("A free download was never paid for: there is nothing to refund.")
        if purchase.status != PurchaseStatus.PAID or not (
            purchase.stripe_charge_id or purchase.stripe_payment_intent_id
        ):
            raise NotRefundable(f"Only a paid purchase can be refunded; this one is {purchase.status}.")
        purchase_id, album_id, email, currency = purchase.id, purchase.album_id, purchase.email, purchase.currency
        refunded_before = purchase.amount_refunded_cents
        # Idempotent: a double click or a retry sends the same key, and Stripe refunds once.
        charge = self.payments.refund(
            purchase.stripe_charge_id,
            payment_intent_id=purchase.stripe_payment_intent_id,
            idempotency_key=purchase.refund_idempotency_key,
        )
        if self.audit is not None:  # committed with the refund's status change, below
            amount = format_money(min(charge.amount_refunded_cents, purchase.charged_cents) - refunded_before, currency)
            self.audit.record(
                actor,
                "refund",
                f"Refunded {amount} of purchase {purchase_id} to {email} (charge {charge.id}).",
                album_id=album_id,
                purchase_id=purchase_id,
            )
        self.settlement.settle_by_charge(purchase, charge)
        return purchase
