"""The checkout_session flow: the buyer pays on Stripe's hosted page (a Checkout Session).

The store records the pending purchase, creates one Checkout Session for it (idempotency key
``purchase:{reference}:checkout_session``; amount, currency, name and metadata from the purchase's
own record; it expires after :data:`SESSION_LIFETIME`) and sends the buyer to the session's ``url``.
Coming back (the session's ``success_url``), from a webhook (``checkout.session.*``) or from
reconcile, the store retrieves the session itself — never trusting the query string or an event's
body — and settles the purchase by what Stripe says: paid when the session's PaymentIntent
succeeded, failed once the session has expired (it can then never be paid).

With Stripe Tax (``store.tax``), the session asks for ``automatic_tax`` with the purchase's tax
behaviour and the albums' product tax code; the tax Stripe computed is recorded when the purchase
is paid, and the PaymentIntent must then hold the price plus that tax (``exclusive``) or the price
(``inclusive``).
"""

import logging
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from ...models import PurchaseStatus
from ..payments import PaymentUnavailable
from .checkout import StillPending, declined
from .settlement import RecordingFailed, is_settled

log = logging.getLogger("album_store.services.purchases")

#: How long after the purchase is recorded its hosted page may be paid. Stripe wants 30 minutes to 24
#: hours from the session's creation; fixed from the purchase's own time, so a retry of the create
#: (same idempotency key) sends the same ``expires_at``, and a few minutes spare for such a retry.
SESSION_LIFETIME = timedelta(minutes=35)
EXPIRED = "The payment page expired before it was paid, so nothing was charged."


def subtotal_matches(purchase, session):
    """Whether the session's line item is the purchase's price (before any tax Stripe added); a
    session that says nothing of it yet (None) contradicts nothing."""
    return session.amount_subtotal_cents in (None, purchase.amount_cents)


class CheckoutSessionFlow:
    def __init__(self, settlement, payments, *, tax_code=None):
        self.settlement = settlement
        self.payments = payments
        self.tax_code = tax_code  # Stripe's product tax code, for a purchase recorded with a tax behaviour

    def go_on(self, purchase, urls):
        """Return ``(purchase, url)``: the hosted page to send the buyer to, or ``(purchase, None)``
        once it is paid. Raises :class:`CardDeclined` (it failed: a new checkout is needed) or
        :class:`StillPending`. ``urls`` has ``success_url``, ``cancel_url`` and ``image_url``."""
        if is_settled(purchase):
            return purchase, None
        if purchase.status == PurchaseStatus.FAILED:
            raise declined(purchase, EXPIRED)
        try:
            session = self._session_of(purchase, urls)
            if not session.open:
                self.settle(purchase, session)
        except (PaymentUnavailable, RecordingFailed) as error:
            raise StillPending(purchase) from error
        if purchase.status == PurchaseStatus.PAID:
            return purchase, None
        if purchase.status == PurchaseStatus.FAILED:
            raise declined(purchase, EXPIRED)
        if not session.open or not session.url:
            raise StillPending(purchase)
        return purchase, session.url

    def confirm(self, purchase):
        """The buyer is back from the hosted page: settle by the session as Stripe has it."""
        if purchase.status != PurchaseStatus.PENDING or not purchase.stripe_checkout_session_id:
            return purchase
        try:
            session = self.payments.retrieve_checkout_session(purchase.stripe_checkout_session_id)
            if session is not None:
                self.settle(purchase, session)
        except (PaymentUnavailable, RecordingFailed):
            self.settlement.start_over()
            log.warning("purchase %s: its Checkout Session could not be looked at; it stays pending", purchase.id)
        return purchase

    def give_way(self, purchase):
        """Another checkout of this album by the same buyer: settle this one if its session is over."""
        if not purchase.stripe_checkout_session_id:
            return
        session = self.payments.retrieve_checkout_session(purchase.stripe_checkout_session_id)
        if session is not None and not session.open:
            self.settle(purchase, session)

    def session_url(self, purchase):
        """The open hosted page of a pending purchase, for the browser that started it, or None."""
        if purchase.status != PurchaseStatus.PENDING or not purchase.stripe_checkout_session_id:
            return None
        session = self.payments.retrieve_checkout_session(purchase.stripe_checkout_session_id)
        return session.url if session is not None and session.open else None

    def settle(self, purchase, session, *, abandoned=False):
        """Paid (or refunded) if the session's payment succeeded; failed once the session expired (an
        open one left for long enough, ``abandoned``, is expired first, so it can never be paid).
        Returns "settled", "failed" or None (still open, or paid by a method still on its way)."""
        if abandoned and session.open:
            session = self.payments.expire_checkout_session(session.id)
        intent = session.payment_intent
        if intent is not None and intent.succeeded:
            if not subtotal_matches(purchase, session):
                # Never expected: the session is created from the purchase's own amount.
                log.error(
                    "purchase %s: Checkout Session %s is for %s, not the purchase's %s",
                    purchase.id,
                    session.id,
                    session.amount_subtotal_cents,
                    purchase.amount_cents,
                )
            # The tax Stripe computed on its page is known only now (the buyer's address decides it).
            self.settlement.settle_by_intent(purchase, intent, tax_cents=session.amount_tax_cents)
            return "settled"
        if session.expired and purchase.status == PurchaseStatus.PENDING:
            self.settlement.fail(purchase, code="expired", message=EXPIRED)
            return "failed"
        return None

    def _session_of(self, purchase, urls):
        if purchase.stripe_checkout_session_id:
            session = self.payments.retrieve_checkout_session(purchase.stripe_checkout_session_id)
            if session is not None:
                return session
        album = purchase.album
        session = self.payments.create_checkout_session(
            amount_cents=purchase.amount_cents,
            currency=purchase.currency,
            name=album.title,
            description=purchase.description,
            image_url=urls.get("image_url"),
            customer_email=purchase.email,
            receipt_email=purchase.email,
            metadata={"purchase_id": purchase.id, "purchase_ref": purchase.reference, "album_id": purchase.album_id},
            client_reference_id=purchase.reference,
            success_url=urls["success_url"],
            cancel_url=urls["cancel_url"],
            expires_at=purchase.created_at + SESSION_LIFETIME,
            idempotency_key=purchase.checkout_session_idempotency_key,
            store_name=urls.get("store_name"),
            # Stripe Tax: as the purchase was recorded (store.tax then), so a retry sends the same.
            tax_behavior=purchase.tax_behavior,
            tax_code=self.tax_code if purchase.tax_behavior else None,
        )
        if purchase.stripe_checkout_session_id != session.id:
            purchase_id = purchase.id
            purchase.stripe_checkout_session_id = session.id
            try:
                self.settlement.commit()
            except SQLAlchemyError as error:
                self.settlement.start_over()
                log.error(
                    "purchase %s: recording Checkout Session %s failed (%s)",
                    purchase_id,
                    session.id,
                    type(error).__name__,
                )
                raise PaymentUnavailable("The payment could not be recorded yet.") from error
        return session
