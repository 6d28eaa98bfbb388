"""Settlement: the only code that changes ``purchase.status``.

Every change is one of :data:`TRANSITIONS`, written as a conditional update
(``UPDATE purchases SET status = :to … WHERE id = :id AND status = :from``), so two processes that
both think they know a purchase's state cannot overwrite each other: the loser's update matches no
row, it re-reads the purchase and decides again from what is there now. What decides is always what
Stripe says of the payment (a :class:`~album_store.services.payments.Charge` fetched from Stripe,
never an event's body), read whole: a charge refunded in Stripe's dashboard before the store heard
of it settles as ``refunded``, never as ``paid``.

While a purchase is pending or paid it holds its ``buyer_album_key`` (album and email), which is
unique: the database refuses a second open purchase of one album by one buyer. Should money arrive
for a second one anyway (a purchase failed on a lagging search succeeds after all while the buyer
has bought again), it is recorded paid without the key — a duplicate — and refunded at once
(:meth:`Settlement.refund_duplicate`; reconcile retries it if Stripe cannot be reached).

Each change is committed at once (the buyer's answer, a webhook's reply and reconcile's progress
depend on it being durable) and logged as one ``purchase_state`` line.
"""

import logging

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from ...models import Purchase, PurchaseStatus, buyer_album_key
from ...models.meta import utcnow
from ...models.purchase import TAX_EXCLUSIVE
from ...models.transactions import commit_now, flush_or_raise, start_over
from ..payments import PaymentUnavailable, RefundRefused

log = logging.getLogger("album_store.services.purchases")

PENDING, PAID, FAILED, REFUNDED = (
    PurchaseStatus.PENDING,
    PurchaseStatus.PAID,
    PurchaseStatus.FAILED,
    PurchaseStatus.REFUNDED,
)

#: Every status change a purchase may make, and when. Nothing else changes ``purchase.status``.
TRANSITIONS = {
    (PENDING, PAID): "Stripe says the charge (or the PaymentIntent) succeeded; or, for a free download, its buyer "
    "confirmed the email address from the link the store sent",
    (PENDING, FAILED): "Stripe refused the card, or has had no payment for it for longer than its search can lag; "
    "a PaymentIntent only once it is canceled, so it can never take money later; a free download "
    "left unconfirmed when its buyer pays for the album instead",
    (PENDING, REFUNDED): "Stripe says it succeeded and was refunded in full before the store heard it succeeded",
    (PAID, REFUNDED): "the money went back in full (the owner's refund, Stripe's dashboard, a duplicate)",
    (FAILED, PAID): "Stripe says it succeeded after all (a search that lagged, a late event)",
    (FAILED, REFUNDED): "it succeeded after all, and was refunded in full meanwhile",
}


#: The money came in (and may have gone back since): the checkout is over. Posted again, it shows its
#: receipt, and nothing more is asked of Stripe.
SETTLED = (PAID, REFUNDED)


def is_settled(purchase):
    """Whether ``purchase``'s checkout is over because it was paid (:data:`SETTLED`), in every flow."""
    return purchase.status in SETTLED


def holds_charged_amount(purchase, amount_cents, currency, tax_cents=None):
    """Whether what Stripe holds (``amount_cents`` in ``currency``: a charge, a PaymentIntent, a
    Checkout Session's total) is what ``purchase`` was to be charged (:func:`charged_cents`)."""
    return (amount_cents, currency.lower()) == (charged_cents(purchase, tax_cents), purchase.currency.lower())


class RecordingFailed(PaymentUnavailable):
    """Stripe's answer is known but could not be written; the purchase stays as it was, for reconcile
    or the webhook to settle from Stripe's side (the buyer gets a 503, never a 500)."""


class InvalidTransition(Exception):
    """A status change that is not in :data:`TRANSITIONS`: a bug."""


def decide(status, amount_cents, charge):
    """What a purchase in ``status`` becomes when Stripe says ``charge`` (None: stays as it is).

    A pure function of the two sides, so the table is easy to check: a succeeded charge makes
    pending and failed purchases paid (or refunded, if it was refunded in full), a failed charge
    fails a pending purchase, and a refund reaches a paid one.
    """
    if charge.succeeded:
        if charge.amount_refunded_cents >= amount_cents:
            return None if status == REFUNDED else REFUNDED
        if status in (PENDING, FAILED):
            return PAID
        return None
    if charge.status == "failed" and status == PENDING:
        return FAILED
    return None


class Settlement:
    def __init__(self, dbsession, transaction_manager, payments, mail=None):
        self.db = dbsession
        self.tm = transaction_manager
        self.payments = payments
        self.mail = mail  # IMailService: the receipt goes out when a purchase becomes paid

    # --- transactions ----------------------------------------------------------------------------
    def commit(self):
        """End this transaction so what it wrote is durable now, and begin the next one. What the
        session holds stays loaded (no reload of what was just written): every status change is a
        conditional update that asks the database again (:meth:`_move`)."""
        commit_now(self.tm, keep=self.db)

    def start_over(self):
        """After a failed flush or commit: drop the failed transaction, begin a clean one."""
        start_over(self.tm, self.db)

    # --- what Stripe says ------------------------------------------------------------------------
    def settle_by_charge(self, purchase, charge, *, payment_intent_id=None, tax_cents=None):
        """Bring ``purchase`` in line with ``charge`` as Stripe has it now; return its status after.

        Safe to call again and from any process: a charge already recorded changes nothing, and a
        concurrent change is re-read before deciding again. A partial refund is recorded on a paid
        purchase; a full one makes it refunded. ``tax_cents``: the tax of its Checkout Session (Stripe
        Tax), recorded with the payment; the charge then holds the price plus it, if it was added.
        """
        for _ in range(4):
            charged = charged_cents(purchase, tax_cents)
            target = decide(purchase.status, charged, charge)
            refund_changed = (
                purchase.status == PAID
                and target is None
                and charge.succeeded
                and purchase.amount_refunded_cents != min(charge.amount_refunded_cents, charged)
            )
            if target is None and not refund_changed:
                return purchase.status
            if target == FAILED:
                if self.fail(
                    purchase,
                    code="charge_failed",
                    message="The payment did not go through; nothing was charged.",
                    charge_id=charge.id,
                ):
                    return purchase.status
                continue
            if self._record_payment(purchase, target or PAID, charge, payment_intent_id, tax_cents):
                return purchase.status
        raise RecordingFailed(f"purchase {purchase.id} kept changing while it was settled")

    def settle_by_intent(self, purchase, intent, *, tax_cents=None):
        """A PaymentIntent that succeeded: settle by its charge (its refunds included). Without its
        charge (never expected: every read expands ``latest_charge``) nothing is decided, since the
        refunds cannot be known; the purchase stays as it is for the webhook or reconcile."""
        if intent.charge is None:
            log.error("purchase %s: PaymentIntent %s came without its charge; left as it is", purchase.id, intent.id)
            raise PaymentUnavailable("Stripe did not give the payment's charge.")
        return self.settle_by_charge(purchase, intent.charge, payment_intent_id=intent.id, tax_cents=tax_cents)

    def give_free(self, purchase):
        """A free download (amount 0) whose buyer confirmed the email: pending → paid, with no Stripe
        payment (no charge, no card), and its receipt mail with the download link. Returns whether it
        is paid now (False: it is no longer pending, e.g. replaced by a paid checkout)."""
        if not purchase.is_free:
            raise InvalidTransition(f"purchase {purchase.id}: only a free download is paid without Stripe")
        if purchase.status == PAID:
            return True
        if purchase.status != PENDING:
            return False
        return self._move(
            purchase, PAID, {"paid_at": utcnow(), "failure_code": None, "failure_message": None}, free="yes"
        )

    def fail(self, purchase, *, code, message, charge_id=None):
        """pending → failed (nothing was taken); False if the purchase is no longer pending."""
        values = {
            "failure_code": (code or "card_declined")[:64],
            "failure_message": (message or "")[:500],
            "buyer_album_key": None,
        }
        return self._move(purchase, FAILED, values, charge_id=charge_id, code=code)

    def _record_payment(self, purchase, target, charge, payment_intent_id, tax_cents=None):
        charged = charged_cents(purchase, tax_cents)
        if not holds_charged_amount(purchase, charge.amount_cents, charge.currency, tax_cents):
            # Never expected: the payment is made from the purchase's own amount. Keep the record true.
            log.error(
                "purchase %s: charge %s is %s %s but the purchase is %s %s",
                purchase.id,
                charge.id,
                charge.amount_cents,
                charge.currency,
                charged,
                purchase.currency,
            )
        values = {
            "amount_refunded_cents": min(charge.amount_refunded_cents, charged),
            "failure_code": None,
            "failure_message": None,
        }
        if tax_cents is not None and purchase.tax_behavior:
            values["tax_cents"] = tax_cents
        if purchase.status in (PENDING, FAILED):
            values.update(
                paid_at=purchase.paid_at or utcnow(), card_brand=charge.card_brand, card_last4=charge.card_last4
            )
            if charge.id:
                values["stripe_charge_id"] = charge.id
            if payment_intent_id:
                values["stripe_payment_intent_id"] = payment_intent_id
        if target == REFUNDED:
            values.update(refunded_at=utcnow(), buyer_album_key=None)
        elif purchase.status == FAILED:
            # Money came for a purchase given up on: it takes its buyer's place again, unless the
            # buyer has bought the album since — then it is a duplicate, refunded below.
            values["buyer_album_key"] = buyer_album_key(purchase.album_id, purchase.email)
        try:
            moved = self._move(purchase, target, values, charge_id=charge.id)
        except _KeyTaken:
            values["buyer_album_key"] = None
            moved = self._move(purchase, target, values, charge_id=charge.id, duplicate=True)
            if moved:
                self.refund_duplicate(purchase)
        return moved

    def refund_duplicate(self, purchase):
        """A second paid purchase of one album by one buyer: give the money back, and say so."""
        log.error(
            "purchase_duplicate purchase_id=%s album_id=%s: the buyer already has this album; refunding it",
            purchase.id,
            purchase.album_id,
        )
        try:
            charge = self.payments.refund(
                purchase.stripe_charge_id,
                payment_intent_id=purchase.stripe_payment_intent_id,
                idempotency_key=purchase.refund_idempotency_key,
            )
        except (PaymentUnavailable, RefundRefused) as error:
            log.error("purchase %s: the duplicate's refund failed (%s); reconcile tries again", purchase.id, error)
            return
        self.settle_by_charge(purchase, charge)

    # --- the one write -----------------------------------------------------------------------------
    def _move(self, purchase, target, values, *, charge_id=None, duplicate=False, **logged):
        """``purchase.status`` → ``target`` (or, for the same status, just ``values``), if and only if
        nobody changed its status since it was read. Commits; returns whether it happened."""
        previous = purchase.status
        if target != previous and (previous, target) not in TRANSITIONS:
            raise InvalidTransition(f"purchase {purchase.id}: {previous} → {target}")
        purchase_id = purchase.id
        # The row as it is after the update comes back with it (RETURNING, into ``purchase``): no
        # second statement to re-read it. No row: somebody changed its status first; re-read it.
        statement = (
            update(Purchase)
            .where(Purchase.id == purchase_id, Purchase.status == previous)
            .values(status=target, **values)
            .returning(Purchase)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        try:
            if values.get("buyer_album_key") is not None:
                # Taking the buyer's key back may clash with their newer purchase: in a savepoint, so
                # the clash is told apart (a duplicate) and the transaction stays usable.
                with flush_or_raise(self.db, _KeyTaken, when=lambda clash: "buyer_album_key" in str(clash)):
                    matched = len(self.db.execute(statement).scalars().all())
            else:
                # Nothing else can clash but a bug (any error: left for reconcile, below).
                matched = len(self.db.execute(statement).scalars().all())
            if not matched:
                self.db.refresh(purchase)
        except _KeyTaken:
            raise
        except SQLAlchemyError as error:
            self.start_over()
            log.error(
                "purchase %s: recording %s → %s failed (%s); left for reconcile",
                purchase_id,
                previous,
                target,
                type(error).__name__,
            )
            raise RecordingFailed("The payment could not be recorded yet.") from error
        if matched != 1:
            log.info("purchase %s: was %s, is %s now; deciding again", purchase_id, previous, purchase.status)
            return False
        if target == PAID and previous != PAID and not duplicate and self.mail is not None:
            self.mail.queue_receipt(purchase)  # sent by the commit below, once it has succeeded
        amount, currency = purchase.amount_cents, purchase.currency
        try:
            self.commit()
        except SQLAlchemyError as error:
            self.start_over()
            log.error(
                "purchase %s: recording %s → %s failed (%s); left for reconcile",
                purchase_id,
                previous,
                target,
                type(error).__name__,
            )
            raise RecordingFailed("The payment could not be recorded yet.") from error
        if target != previous:
            if duplicate:
                logged["duplicate"] = "yes"
            log_state(
                purchase_id, previous, target, charge_id=charge_id, amount_cents=amount, currency=currency, **logged
            )
        return True


def charged_cents(purchase, tax_cents=None):
    """What Stripe should hold for ``purchase``: its price, plus the tax Stripe added on its hosted
    page (``tax_cents``, the session's, when it is being recorded; else the one recorded)."""
    if tax_cents is None or purchase.tax_behavior != TAX_EXCLUSIVE:
        return purchase.charged_cents
    return purchase.amount_cents + tax_cents


class _KeyTaken(Exception):
    """The buyer already has another open purchase of this album."""


def log_state(purchase_id, previous, new, *, charge_id=None, amount_cents=None, currency=None, **extra):
    """One line per purchase state change: ids and amounts only, never card data or secrets."""
    fields = {
        "purchase_id": purchase_id,
        "from": previous or "-",
        "to": new,
        "charge_id": charge_id or "-",
        "amount_cents": amount_cents,
        "currency": currency,
        **{key: value for key, value in extra.items() if value is not None},
    }
    log.info("purchase_state %s", " ".join(f"{key}={value}" for key, value in fields.items()))
