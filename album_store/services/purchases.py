"""Buying an album: record the purchase, charge it through the payment service, settle it.

A purchase is committed as ``pending`` before Stripe is asked, so a charge can never exist without
a record of it. The buy route, ``album-store reconcile`` and webhooks move it on:

    pending → paid      Stripe says the charge (or the PaymentIntent) succeeded
    pending → failed    Stripe refused the card (or, for reconcile, has no charge for it); in the
                        payment_intents flow only once its PaymentIntent is canceled, so it can never
                        take money afterwards
    paid    → refunded  the money went back

Two flows make purchases (``store.payment_flow``): ``checkout_js`` posts a Checkout token that the
server charges (:meth:`PurchaseService.charge_for_album`); ``payment_intents`` creates a PaymentIntent
that the buyer's browser confirms with Stripe.js, 3-D Secure included, after which the server looks
at the PaymentIntent itself (:meth:`~PurchaseService.start_payment_intent`,
:meth:`~PurchaseService.confirm_payment_intent`). Receipts, refunds, disputes, webhooks and reconcile
are the same for both.
"""
from datetime import timedelta
import logging
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import joinedload
from zope.interface import Interface, implementer

from ..models import Purchase, PurchaseStatus, User, WebhookEvent, normalize_email
from ..models.meta import utcnow
from ..money import format_money
from .audit import IAuditLog
from .mail import IMailService
from .payments import Charge, CardDeclined, IPaymentService, PaymentUnavailable

log = logging.getLogger(__name__)


class CheckoutTokenReused(Exception):
    """The Checkout token already paid (or tried to pay) for a different purchase."""


class PaymentIncomplete(Exception):
    """The buyer's browser has not finished paying (no card confirmed yet, or 3-D Secure unanswered);
    nothing was charged and the same attempt can go on."""


#: Why a PaymentIntent's attempt failed, in the buyer's words, by Stripe's error code.
AUTHENTICATION_FAILED = "Your bank's security check (3-D Secure) was cancelled or did not succeed."
NOT_COMPLETED = "The payment was not completed."


def new_attempt_id():
    """A fresh id for one payment_intents checkout attempt, made by the server for each album page
    (and after each failed attempt): unguessable, so only the page that shows it can use it."""
    return "att_" + secrets.token_urlsafe(24)


class AlreadyOwned(Exception):
    """The signed-in buyer already owns this album; nothing was charged."""


class NotRefundable(Exception):
    """Only a paid purchase, with its Stripe charge, can be refunded; ``str()`` says why not."""


class IPurchaseService(Interface):
    def charge_for_album(album, *, token, email, user=None):
        """Buy ``album`` with a Checkout token; return the paid purchase.

        Posting the same token again (a double click, a retry) finds the same purchase and never
        charges twice. The purchase belongs to ``user``, or for a guest to the account whose
        confirmed address is ``email``. Raises :class:`CardDeclined` (purchase failed),
        :class:`PaymentUnavailable` (purchase pending), :class:`CheckoutTokenReused` or
        :class:`AlreadyOwned` (a signed-in buyer has it already).
        """

    def start_payment_intent(album, *, email, attempt_id, user=None):
        """Begin (or resume) the payment_intents checkout ``attempt_id`` for ``album``.

        Returns ``(purchase, intent)``: the pending purchase and the PaymentIntent its buyer's browser
        confirms (its ``client_secret``), or ``(purchase, None)`` once it is paid. The same attempt id
        again (a double click, a retry) finds the same purchase and the same PaymentIntent, so there
        is never a second one. Raises :class:`CardDeclined` (the attempt failed: a new one is needed),
        :class:`PaymentUnavailable` or :class:`CheckoutTokenReused`.
        """

    def confirm_payment_intent(purchase):
        """After the browser confirmed: settle ``purchase`` by what its PaymentIntent says at Stripe.

        Returns it paid, or raises :class:`CardDeclined` (failed; its PaymentIntent canceled),
        :class:`PaymentIncomplete` or :class:`PaymentUnavailable` (it stays pending).
        """

    def owned_purchase(user, album):
        """``user``'s paid purchase of ``album``, or None."""

    def library(user):
        """``user``'s paid purchases, newest first."""

    def refund_purchase(purchase, *, actor):
        """Refund a paid purchase in full through Stripe and mark it refunded (its download ends).

        Idempotent: the refund carries the key ``purchase:{reference}:refund``, so a double click or
        a retry refunds once, and a purchase refunded already is left as it is. Recorded in the
        audit trail as done by ``actor``. Raises :class:`NotRefundable`, ``RefundRefused`` or
        ``PaymentUnavailable`` (nothing changed: try again).
        """

    def reconcile_pending(*, min_age):
        """Settle purchases left pending for longer than ``min_age``; return them."""

    def handle_stripe_event(event):
        """Act on a verified Stripe event once; return what was done (for the log and the reply)."""


@implementer(IPurchaseService)
class PurchaseService:
    def __init__(self, dbsession, transaction_manager, payments, mail=None, audit=None):
        self.db = dbsession
        self.tm = transaction_manager
        self.payments = payments
        self.mail = mail  # IMailService: the receipt goes out when a purchase becomes paid
        self.audit = audit  # IAuditLog: what the store owner does

    def _commit(self):
        # The explicit transaction manager of the request (pyramid_tm) or of the CLI: end this
        # transaction so the change is durable now, and start the next one.
        self.tm.commit()
        self.tm.begin()

    def _start_over(self):
        """After a failed flush or commit: drop the failed transaction, begin a clean one."""
        self.tm.abort()
        self.db.rollback()
        self.tm.begin()

    def charge_for_album(self, album, *, token, email, user=None):
        purchase_id = self._record_pending(album, token=token, email=email, user=user)
        purchase = self.db.get(Purchase, purchase_id)
        if purchase.album_id != album.id or purchase.email != email:
            raise CheckoutTokenReused(purchase_id)
        if purchase.status in (PurchaseStatus.PAID, PurchaseStatus.REFUNDED):
            return purchase  # the same checkout posted again: it is already settled
        if purchase.status == PurchaseStatus.FAILED:
            raise CardDeclined(purchase.failure_message or "Your card was declined.", code=purchase.failure_code)
        return self._charge(purchase)

    def _record_pending(self, album, *, token=None, email, user, attempt_id=None):
        """Commit a pending purchase for this checkout token (or attempt id), or find the one already made."""
        existing = self._by_token(token) if token is not None else self._by_attempt(attempt_id)
        if existing is not None:
            return existing.id
        if user is not None and self.owned_purchase(user, album) is not None:
            raise AlreadyOwned(album.slug)
        owner = user if user is not None else self._confirmed_account(email)
        purchase = Purchase(
            album_id=album.id,
            user_id=owner.id if owner is not None else None,
            email=email,
            amount_cents=album.price_cents,  # the database's price, never the request's
            currency=album.currency,
            status=PurchaseStatus.PENDING,
            checkout_token=token,
            attempt_id=attempt_id,
        )
        self.db.add(purchase)
        try:
            self.db.flush()
            purchase_id = purchase.id
            self._commit()
        except IntegrityError:
            # Another request with the same token committed first (a double click).
            self._start_over()
            existing = self._by_token(token) if token is not None else self._by_attempt(attempt_id)
            if existing is None:
                raise
            return existing.id
        log_state(purchase_id, None, PurchaseStatus.PENDING, amount_cents=album.price_cents, currency=album.currency)
        return purchase_id

    def _confirmed_account(self, email):
        """The account whose owner has confirmed ``email``: a guest purchase with it is theirs.
        Before confirmation it is nobody's, so typing someone's address claims nothing."""
        return self.db.scalars(
            select(User).where(User.email == normalize_email(email), User.email_confirmed_at.is_not(None))
        ).one_or_none()

    def owned_purchase(self, user, album):
        return self.db.scalars(
            select(Purchase)
            .where(Purchase.user_id == user.id, Purchase.album_id == album.id, Purchase.status == PurchaseStatus.PAID)
            .order_by(Purchase.id)
            .limit(1)
        ).first()

    def library(self, user):
        return self.db.scalars(
            select(Purchase)
            .where(Purchase.user_id == user.id, Purchase.status == PurchaseStatus.PAID)
            .options(joinedload(Purchase.album))
            .order_by(Purchase.paid_at.desc(), Purchase.id.desc())
        ).all()

    def _by_token(self, token):
        return self.db.scalars(select(Purchase).where(Purchase.checkout_token == token)).one_or_none()

    def _by_attempt(self, attempt_id):
        return self.db.scalars(select(Purchase).where(Purchase.attempt_id == attempt_id)).one_or_none()

    # --- the payment_intents flow ------------------------------------------------------------
    def start_payment_intent(self, album, *, email, attempt_id, user=None):
        purchase_id = self._record_pending(album, email=email, user=user, attempt_id=attempt_id)
        purchase = self.db.get(Purchase, purchase_id)
        if purchase.album_id != album.id or purchase.email != email:
            raise CheckoutTokenReused(purchase_id)
        if purchase.status in (PurchaseStatus.PAID, PurchaseStatus.REFUNDED):
            return purchase, None  # this attempt already paid: show its receipt
        if purchase.status == PurchaseStatus.FAILED:
            raise CardDeclined(purchase.failure_message or NOT_COMPLETED, code=purchase.failure_code)
        intent = None
        if purchase.stripe_payment_intent_id:
            intent = self.payments.retrieve_payment_intent(purchase.stripe_payment_intent_id)
        if intent is None:
            # Safe to repeat: the idempotency key gives back the PaymentIntent if it was made before.
            intent = self._create_intent(purchase)
        if intent.succeeded or intent.attempt_failed or intent.canceled:
            # The browser confirmed before and never told us (a lost answer, a reload): settle it now.
            self._settle_intent(purchase, intent, abandoned=False)
            if purchase.status == PurchaseStatus.PAID:
                return purchase, None
            if purchase.status == PurchaseStatus.FAILED:
                raise CardDeclined(purchase.failure_message or NOT_COMPLETED, code=purchase.failure_code)
        if not intent.open:
            raise PaymentUnavailable(f"The PaymentIntent is {intent.status}.")
        return purchase, intent

    def _create_intent(self, purchase):
        intent = self.payments.create_payment_intent(
            **_payment_details(purchase), idempotency_key=purchase.payment_intent_idempotency_key
        )
        if purchase.stripe_payment_intent_id != intent.id:
            purchase_id = purchase.id
            purchase.stripe_payment_intent_id = intent.id
            try:
                self._commit()
            except SQLAlchemyError as error:
                # The PaymentIntent exists; the next try (same idempotency key) gets it back.
                self._start_over()
                log.error("purchase %s: recording PaymentIntent %s failed (%s)", purchase_id, intent.id, type(error).__name__)
                raise PaymentUnavailable("The payment could not be recorded yet.") from error
        return intent

    def _current_intent(self, purchase):
        """The purchase's PaymentIntent as Stripe has it now (found by reference if its id was never
        recorded, as when the answer to its creation was lost), or None if there is none."""
        intent = None
        if purchase.stripe_payment_intent_id:
            intent = self.payments.retrieve_payment_intent(purchase.stripe_payment_intent_id)
        if intent is None:
            intent = self.payments.find_payment_intent(purchase_ref=purchase.reference)
            if intent is not None:
                purchase.stripe_payment_intent_id = intent.id  # committed with the state it settles in
        return intent

    def confirm_payment_intent(self, purchase):
        if not purchase.uses_payment_intent:
            raise PaymentIncomplete("not a payment_intents purchase")
        if purchase.status in (PurchaseStatus.PAID, PurchaseStatus.REFUNDED):
            return purchase
        if purchase.status == PurchaseStatus.FAILED:
            raise CardDeclined(purchase.failure_message or NOT_COMPLETED, code=purchase.failure_code)
        intent = self._current_intent(purchase)
        if intent is None:
            raise PaymentIncomplete("no PaymentIntent yet")
        self._settle_intent(purchase, intent, abandoned=False)
        if purchase.status == PurchaseStatus.PAID:
            return purchase
        if purchase.status == PurchaseStatus.FAILED:
            raise CardDeclined(purchase.failure_message or NOT_COMPLETED, code=purchase.failure_code)
        if intent.status in ("processing", "requires_capture"):
            raise PaymentUnavailable("The payment has not been confirmed yet.")
        raise PaymentIncomplete(intent.status)

    def _settle_intent(self, purchase, intent, *, abandoned):
        """Move a pending purchase on by its PaymentIntent: paid if it succeeded; failed once it is
        canceled, which the store does itself after a failed attempt (and, when ``abandoned``, for a
        checkout left unfinished), so a failed purchase can never take money later. Returns
        "settled", "failed" or None (still open)."""
        if intent.succeeded:
            self._mark_paid_by_intent(purchase, intent)
            return "settled"
        if not (intent.canceled or intent.attempt_failed or (abandoned and intent.open)):
            return None
        final = intent if intent.canceled else self.payments.cancel_payment_intent(intent.id)
        if final.succeeded:  # the buyer's payment got there first
            self._mark_paid_by_intent(purchase, final)
            return "settled"
        if not final.canceled:
            return None
        code, message = _failure_of(intent)
        self._mark_failed(purchase, code=code, message=message, charge_id=intent.charge.id if intent.charge else None)
        return "failed"

    def _mark_paid_by_intent(self, purchase, intent):
        purchase.stripe_payment_intent_id = intent.id
        charge = intent.charge or Charge(
            id=None, amount_cents=intent.amount_cents, currency=intent.currency, status="succeeded",
            card_brand=None, card_last4=None, amount_refunded_cents=0, metadata=intent.metadata,
            payment_intent_id=intent.id,
        )
        self._record_paid(purchase, charge, paid_by=f"PaymentIntent {intent.id}")

    def _charge(self, purchase):
        try:
            charge = self.payments.charge(
                **_payment_details(purchase), source=purchase.checkout_token, idempotency_key=purchase.idempotency_key
            )
        except CardDeclined as declined:
            self._mark_failed(purchase, code=declined.code, message=declined.user_message, charge_id=declined.charge_id)
            raise
        if not charge.succeeded:
            log.warning("purchase %s: charge %s came back %s", purchase.id, charge.id, charge.status)
            raise PaymentUnavailable("The payment has not been confirmed yet.")
        self._record_paid(purchase, charge, paid_by=f"charge {charge.id}")
        return purchase

    def _record_paid(self, purchase, charge, *, paid_by):
        """Mark the purchase paid after the buyer's payment succeeded at Stripe. If the record cannot
        be written it stays pending, for reconcile or the webhook to settle from Stripe's side: the
        buyer gets a 503, never a 500, and nothing is lost."""
        purchase_id = purchase.id
        try:
            self._mark_paid(purchase, charge)
        except SQLAlchemyError as error:
            self._start_over()
            log.error("purchase %s: %s succeeded but recording it failed (%s); left for reconcile",
                      purchase_id, paid_by, type(error).__name__)
            raise PaymentUnavailable("The payment could not be recorded yet.") from error

    def _mark_paid(self, purchase, charge):
        if (charge.amount_cents, charge.currency.lower()) != (purchase.amount_cents, purchase.currency.lower()):
            # Never expected: the charge is made from the purchase's own amount. Keep the record true.
            log.error(
                "purchase %s: charge %s is %s %s but the purchase is %s %s",
                purchase.id, charge.id, charge.amount_cents, charge.currency, purchase.amount_cents, purchase.currency,
            )
        previous = purchase.status
        purchase.status = PurchaseStatus.PAID
        purchase.stripe_charge_id = charge.id
        purchase.card_brand = charge.card_brand
        purchase.card_last4 = charge.card_last4
        purchase.paid_at = purchase.paid_at or utcnow()
        purchase.failure_code = purchase.failure_message = None
        purchase_id = purchase.id
        if self.mail is not None and previous != PurchaseStatus.PAID:
            self.mail.queue_receipt(purchase)  # sent by the commit below, once it has succeeded
        self._commit()
        log_state(purchase_id, previous, PurchaseStatus.PAID, charge_id=charge.id, amount_cents=charge.amount_cents, currency=charge.currency)

    def _mark_failed(self, purchase, *, code, message, charge_id=None):
        previous = purchase.status
        purchase.status = PurchaseStatus.FAILED
        purchase.failure_code = (code or "card_declined")[:64]
        purchase.failure_message = (message or "")[:500]
        purchase_id, amount, currency = purchase.id, purchase.amount_cents, purchase.currency
        self._commit()
        log_state(purchase_id, previous, PurchaseStatus.FAILED, charge_id=charge_id, amount_cents=amount, currency=currency, code=code)

    def reconcile_pending(self, *, min_age=timedelta(minutes=10)):
        """Ask Stripe about each purchase pending for longer than ``min_age`` and settle it.

        A succeeded charge found by the purchase's reference in its metadata makes it paid; a failed one, or none at
        all, makes it failed. Running it again changes nothing more. Stripe being unreachable
        leaves the purchase pending for the next run.
        """
        cutoff = utcnow() - min_age
        pending_ids = self.db.scalars(
            select(Purchase.id)
            .where(Purchase.status == PurchaseStatus.PENDING, Purchase.created_at <= cutoff)
            .order_by(Purchase.id)
        ).all()
        settled = []
        for purchase_id in pending_ids:
            purchase = self.db.get(Purchase, purchase_id)
            if purchase is None or purchase.status != PurchaseStatus.PENDING:
                continue
            if purchase.uses_payment_intent:
                if self._reconcile_intent(purchase):
                    settled.append(purchase_id)
                continue
            try:
                charge = self.payments.find_charge(purchase_ref=purchase.reference)
            except PaymentUnavailable:
                log.warning("reconcile: Stripe unavailable; purchase %s stays pending", purchase_id)
                continue
            if charge is not None and charge.succeeded:
                self._mark_paid(purchase, charge)
            elif charge is not None and charge.status == "pending":
                continue
            else:
                self._mark_failed(
                    purchase,
                    code="no_charge" if charge is None else "charge_failed",
                    message="The payment did not go through; nothing was charged.",
                    charge_id=charge.id if charge else None,
                )
            settled.append(purchase_id)
        return settled

    def _reconcile_intent(self, purchase):
        """A payment_intents purchase left pending: paid if its PaymentIntent succeeded; otherwise,
        unfinished for so long, its PaymentIntent is canceled and it fails."""
        purchase_id = purchase.id
        try:
            intent = self._current_intent(purchase)
            if intent is None:
                self._mark_failed(purchase, code="no_payment", message=NOT_COMPLETED)
                return True
            return self._settle_intent(purchase, intent, abandoned=True) is not None
        except PaymentUnavailable:
            self._start_over()
            log.warning("reconcile: Stripe unavailable; purchase %s stays pending", purchase_id)
            return False

    # --- Stripe events -----------------------------------------------------------------------
    def handle_stripe_event(self, event):
        """Act on a verified event, once. The charge is fetched again from Stripe, never taken
        from the event's body; events about charges this store did not make are ignored."""
        if self.db.get(WebhookEvent, event.id) is not None:
            return "duplicate"
        record = WebhookEvent(id=event.id, type=event.type, outcome="received")
        self.db.add(record)
        try:
            self.db.flush()
        except IntegrityError:  # the same event delivered twice at once: the other one handles it
            self._start_over()
            return "duplicate"
        charge_handler = {
            "charge.succeeded": self._on_charge_succeeded,
            "charge.refunded": self._on_charge_refunded,
            "charge.dispute.created": self._on_dispute_created,
        }.get(event.type)
        intent_handler = {
            "payment_intent.succeeded": self._on_payment_intent_event,
            "payment_intent.payment_failed": self._on_payment_intent_event,
        }.get(event.type)
        outcome, purchase_id = "ignored", None
        if charge_handler is not None and event.charge_id:
            charge = self.payments.retrieve_charge(event.charge_id)  # PaymentUnavailable: Stripe retries later
            purchase = self._purchase_for_charge(charge) if charge is not None else None
            outcome = "not ours"
            if purchase is not None:
                purchase_id = purchase.id
                outcome = charge_handler(purchase, charge)
        elif intent_handler is not None and event.payment_intent_id:
            intent = self.payments.retrieve_payment_intent(event.payment_intent_id)  # re-fetched, not trusted
            purchase = self._purchase_for_intent(intent) if intent is not None else None
            outcome = "not ours"
            if purchase is not None:
                purchase_id = purchase.id
                outcome = intent_handler(purchase, intent)
        record.outcome = outcome
        record.purchase_id = purchase_id
        log.info("stripe_event id=%s type=%s outcome=%s purchase_id=%s", event.id, event.type, outcome, purchase_id or "-")
        return outcome

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
        if (charge.amount_cents, charge.currency.lower()) != (purchase.amount_cents, purchase.currency.lower()):
            log.error("charge %s does not match purchase %s's amount; ignored", charge.id, purchase.id)
            return None
        return purchase

    def _purchase_for_intent(self, intent):
        reference = intent.metadata.get("purchase_ref")
        query = select(Purchase).where(
            Purchase.reference == reference if reference else Purchase.stripe_payment_intent_id == intent.id
        )
        purchase = self.db.scalars(query).one_or_none()
        if purchase is None or not purchase.uses_payment_intent:
            return None
        if purchase.stripe_payment_intent_id not in (None, intent.id):
            return None
        if (intent.amount_cents, intent.currency.lower()) != (purchase.amount_cents, purchase.currency.lower()):
            log.error("PaymentIntent %s does not match purchase %s's amount; ignored", intent.id, purchase.id)
            return None
        return purchase

    def _on_payment_intent_event(self, purchase, intent):
        """``payment_intent.succeeded`` / ``.payment_failed``: the buyer may have closed the tab."""
        if purchase.status == PurchaseStatus.FAILED and intent.succeeded:
            # Never expected (a failed purchase's PaymentIntent is canceled first), but money was
            # taken: the record must say so.
            log.error("purchase %s was failed but PaymentIntent %s succeeded; marking it paid", purchase.id, intent.id)
            self._mark_paid_by_intent(purchase, intent)
            return "settled"
        if purchase.status != PurchaseStatus.PENDING:
            return "already settled"
        return self._settle_intent(purchase, intent, abandoned=False) or "still open"

    def _on_charge_succeeded(self, purchase, charge):
        if purchase.status != PurchaseStatus.PENDING or not charge.succeeded:
            return "already settled"
        self._mark_paid(purchase, charge)
        return "settled"

    def _on_charge_refunded(self, purchase, charge):
        if purchase.status not in (PurchaseStatus.PAID, PurchaseStatus.REFUNDED):
            return "not paid"
        self.record_refund(purchase, charge)
        return "refunded" if purchase.status == PurchaseStatus.REFUNDED else "partially refunded"

    def refund_purchase(self, purchase, *, actor):
        if purchase.status == PurchaseStatus.REFUNDED:
            return purchase
        if purchase.status != PurchaseStatus.PAID or not (purchase.stripe_charge_id or purchase.stripe_payment_intent_id):
            raise NotRefundable(f"Only a paid purchase can be refunded; this one is {purchase.status}.")
        charge = self.payments.refund(
            purchase.stripe_charge_id, payment_intent_id=purchase.stripe_payment_intent_id,
            idempotency_key=purchase.refund_idempotency_key,
        )
        refunded_before = purchase.amount_refunded_cents
        self.record_refund(purchase, charge)
        if self.audit is not None:
            amount = format_money(purchase.amount_refunded_cents - refunded_before, purchase.currency)
            self.audit.record(
                actor, "refund", f"Refunded {amount} of purchase {purchase.id} to {purchase.email} (charge {charge.id}).",
                album_id=purchase.album_id, purchase_id=purchase.id,
            )
        return purchase

    def record_refund(self, purchase, charge):
        """Keep Stripe's refunded amount; a full refund ends the purchase (and its downloads)."""
        purchase.amount_refunded_cents = min(charge.amount_refunded_cents, purchase.amount_cents)
        if purchase.amount_refunded_cents >= purchase.amount_cents and purchase.status != PurchaseStatus.REFUNDED:
            purchase.status = PurchaseStatus.REFUNDED
            purchase.refunded_at = utcnow()
            log_state(purchase.id, PurchaseStatus.PAID, PurchaseStatus.REFUNDED, charge_id=charge.id,
                      amount_cents=purchase.amount_cents, currency=purchase.currency)

    def _on_dispute_created(self, purchase, charge):
        if purchase.disputed_at is None:
            purchase.disputed_at = utcnow()
            log.warning("purchase_disputed purchase_id=%s charge_id=%s amount_cents=%s", purchase.id, charge.id, purchase.amount_cents)
        return "flagged"


def _failure_of(intent):
    """(failure code, message for the buyer) of a PaymentIntent that did not succeed."""
    if intent.error_code == "payment_intent_authentication_failure":
        return "authentication_failed", AUTHENTICATION_FAILED
    if intent.error_code or intent.error_message:
        return intent.decline_code or intent.error_code or "card_declined", intent.error_message or "Your card was declined."
    return "not_completed", NOT_COMPLETED


def _payment_details(purchase):
    """What Stripe is told of a purchase, charge or PaymentIntent alike: always from the purchase's
    own record (the database's price), so a retry with the same idempotency key sends the same."""
    album = purchase.album
    return {
        "amount_cents": purchase.amount_cents,
        "currency": purchase.currency,
        "description": f"{album.title} by {album.artist}",
        "receipt_email": purchase.email,
        "metadata": {"purchase_id": purchase.id, "purchase_ref": purchase.reference, "album_slug": album.slug},
    }


def log_state(purchase_id, previous, new, *, charge_id=None, amount_cents=None, currency=None, **extra):
    """One line per purchase state change: ids and amounts only, never card data or secrets."""
    fields = {
        "purchase_id": purchase_id,
        "from": previous or "-",
        "to": new,
        "charge_id": charge_id or "-",
        "amount_cents": amount_cents,
        "currency": currency,
        **extra,
    }
    log.info("purchase_state %s", " ".join(f"{key}={value}" for key, value in fields.items()))


def purchase_service_factory(context, request):
    return PurchaseService(
        request.dbsession, request.tm, request.find_service(IPaymentService), request.find_service(IMailService),
        request.find_service(IAuditLog),
    )


def includeme(config):
    config.register_service_factory(purchase_service_factory, IPurchaseService)
