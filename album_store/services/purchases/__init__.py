"""Buying an album: what the views, the webhook and ``album-store reconcile`` ask of purchases.

A purchase is committed as ``pending`` before Stripe is asked anything, so a payment can never
exist without a record of it. The parts, each in its own module:

- :mod:`.attempts` records a checkout attempt (once per Checkout token or attempt id, and at most
  one open purchase per buyer and album, which the database enforces);
- :mod:`.checkout` charges a Checkout token (the ``checkout_js`` flow);
- :mod:`.intents` runs a PaymentIntent that the buyer's browser confirms (``payment_intents``);
- :mod:`.sessions` sends the buyer to Stripe's hosted page, a Checkout Session (``checkout_session``);
- :mod:`.free` records a free download (pay what you want, 0): no Stripe, the buyer confirms the email;
- :mod:`.settlement` is the only code that changes a purchase's status, by its transition table;
- :mod:`.reconcile` settles from Stripe's side what was left pending (and repairs what was given up
  too early);
- :mod:`.stripe_events` acts on Stripe's webhooks;
- :mod:`.refunds` is the owner's refund; :mod:`.library` what a buyer owns.

:class:`PurchaseService` puts them together behind :class:`IPurchaseService`.
"""

from datetime import timedelta

from zope.interface import Interface, implementer

from ...models import PurchaseStatus
from ...models.purchase import TAX_EXCLUSIVE, TAX_INCLUSIVE
from ...settings import DIGITAL_AUDIO_TAX_CODE as DIGITAL_AUDIO
from ..audit import IAuditLog
from ..mail import IMailService
from ..payments import CardDeclined, IPaymentService, PaymentUnavailable
from ..tokens import ISignedTokens
from .attempts import (
    AttemptAmountDiffers,
    Attempts,
    BuyerHasOne,
    CheckoutTokenReused,
    PriceNotChargeable,
    new_attempt_id,
)
from .checkout import CheckoutCharges, StillPending
from .free import FreeDownloads
from .intents import PaymentIncomplete, PaymentIntentFlow
from .library import Library
from .reconcile import Reconciler
from .refunds import NotRefundable, Refunds
from .sessions import CheckoutSessionFlow
from .settlement import TRANSITIONS, Settlement, log_state
from .stripe_events import HANDLED_EVENTS, StripeEvents

__all__ = [
    "AlreadyBought",
    "AttemptAmountDiffers",
    "CheckoutTokenReused",
    "HANDLED_EVENTS",
    "IPurchaseService",
    "NotRefundable",
    "PaymentIncomplete",
    "PriceNotChargeable",
    "PurchaseService",
    "StillPending",
    "TRANSITIONS",
    "log_state",
    "new_attempt_id",
]


class AlreadyBought(Exception):
    """The buyer (their account, or their email for a guest) already has this album, paid or being
    confirmed: nothing was charged. ``purchase`` is that purchase; who may be shown it is the view's
    question (only its buyer's browser or account)."""

    def __init__(self, purchase):
        super().__init__(purchase.id)
        self.purchase = purchase


class IPurchaseService(Interface):
    def charge_for_album(album, *, token, email, user=None, amount_cents=None):
        """Buy ``album`` with a Checkout token; return the paid purchase.

        ``amount_cents`` (in every flow): what the buyer confirmed, as the view checked it (the album's
        price when None; pay what you want: the buyer's own amount). The same token or attempt id with
        another amount raises :class:`AttemptAmountDiffers` (nothing more charged).

        Posting the same token again (a double click, a retry) finds the same purchase and never
        charges twice. Raises :class:`CardDeclined` (purchase failed), :class:`StillPending` (the
        purchase, pending), :class:`CheckoutTokenReused` or :class:`AlreadyBought`.
        """

    def start_payment_intent(album, *, email, attempt_id, user=None, amount_cents=None):
        """Begin (or resume) the payment_intents checkout ``attempt_id`` for ``album``.

        Returns ``(purchase, intent)``: the pending purchase and the PaymentIntent its buyer's browser
        confirms (its ``client_secret``), or ``(purchase, None)`` once it is paid. Raises
        :class:`CardDeclined` (the attempt failed: a new one is needed), :class:`StillPending`,
        :class:`CheckoutTokenReused` or :class:`AlreadyBought`.
        """

    def start_checkout_session(album, *, email, browser_key, urls, user=None, amount_cents=None):
        """Begin the checkout_session checkout of ``album`` from the browser ``browser_key``.

        Returns ``(purchase, url)``: the hosted page to send the buyer to, or ``(purchase, None)`` once
        paid. The same browser starting again while it is open gets the same session back. Raises
        :class:`CardDeclined`, :class:`StillPending` or :class:`AlreadyBought`.
        """

    def confirm_checkout_session(purchase):
        """The buyer came back from the hosted page: settle ``purchase`` by its session at Stripe."""

    def replace_checkout_session(purchase):
        """The same browser chose another amount while its hosted page is open: expire that session
        (it can then never be paid) and fail its purchase, so a new one can be made. Returns whether it
        is out of the way (False: it was paid meanwhile, or Stripe could not be asked)."""

    def start_free_download(album, *, email, user=None):
        """A free download of a "name your price" album whose minimum is 0 (no Stripe at all).

        Returns the purchase: paid at once for a signed-in buyer whose address is confirmed, else
        pending, its confirmation link mailed. Raises :class:`AlreadyBought` (the buyer has the album,
        or a free download of it waiting: the view mails that link again).
        """

    def resend_free_download_link(purchase):
        """Mail the confirmation link of a pending free download again."""

    def free_download_for(token):
        """The free download a confirmation link names (``LinkExpired``, ``LinkInvalid``)."""

    def confirm_free_download(purchase):
        """Its buyer confirmed the address: the free download is theirs. Returns whether it is paid."""

    def checkout_session_url(purchase):
        """The open hosted page of a pending checkout_session purchase, or None."""

    def confirm_payment_intent(purchase):
        """After the browser confirmed: settle ``purchase`` by what its PaymentIntent says at Stripe.

        Returns it paid, or raises :class:`CardDeclined` (failed; its PaymentIntent canceled),
        :class:`PaymentIncomplete` or :class:`StillPending`.
        """

    def owned_purchase(user, album):
        """``user``'s paid purchase of ``album``, or None."""

    def owned_by_slug(user, slug):
        """``user``'s paid purchase of the album at ``slug``, as a row ``(id, paid_at)``, or None (one statement)."""

    def attempt_recorded(*, token=None, attempt_id=None):
        """Whether a purchase was recorded for this Checkout token or attempt id."""

    def library(user):
        """``user``'s paid purchases, newest first."""

    def refund_purchase(purchase, *, actor):
        """Refund a paid purchase in full through Stripe and mark it refunded (its download ends).

        Idempotent: the refund carries the key ``purchase:{reference}:refund``. Recorded in the
        audit trail as done by ``actor``. Raises :class:`NotRefundable`, ``RefundRefused`` or
        ``PaymentUnavailable`` (nothing changed: try again).
        """

    def reconcile_pending(*, min_age, search_lag):
        """Settle what was left pending (and repair what was given up too early); return their ids."""

    def handle_stripe_event(event):
        """Act on a verified Stripe event once; return what was done (for the log and the reply)."""


@implementer(IPurchaseService)
class PurchaseService:
    def __init__(
        self,
        dbsession,
        transaction_manager,
        payments,
        mail=None,
        audit=None,
        *,
        tax="off",
        tax_code=DIGITAL_AUDIO,
        tokens=None,
    ):
        self.settlement = Settlement(dbsession, transaction_manager, payments, mail)
        self.free = FreeDownloads(dbsession, self.settlement, tokens, mail)
        self.attempts = Attempts(dbsession, self.settlement)
        self.checkout = CheckoutCharges(self.settlement, payments)
        self.intents = PaymentIntentFlow(self.settlement, payments)
        # Stripe Tax applies to the hosted page only (``store.tax``; "off": no tax asked).
        self.tax_behavior = tax if tax in (TAX_EXCLUSIVE, TAX_INCLUSIVE) else None
        self.sessions = CheckoutSessionFlow(self.settlement, payments, tax_code=tax_code)
        self.reconciler = Reconciler(dbsession, self.settlement, payments, self.intents, self.sessions)
        self.events = StripeEvents(dbsession, self.settlement, payments, self.intents, self.sessions)
        self.refunds = Refunds(self.settlement, payments, audit)
        self._library = Library(dbsession)

    def charge_for_album(self, album, *, token, email, user=None, amount_cents=None):
        return self.checkout.go_on(self._record(album, email=email, user=user, token=token, amount_cents=amount_cents))

    def start_payment_intent(self, album, *, email, attempt_id, user=None, amount_cents=None):
        return self.intents.go_on(
            self._record(album, email=email, user=user, attempt_id=attempt_id, amount_cents=amount_cents)
        )

    def confirm_payment_intent(self, purchase):
        return self.intents.confirm(purchase)

    def start_checkout_session(self, album, *, email, browser_key, urls, user=None, amount_cents=None):
        purchase = self._record(
            album,
            email=email,
            user=user,
            browser_key=browser_key,
            tax_behavior=self.tax_behavior,
            amount_cents=amount_cents,
        )
        return self.sessions.go_on(purchase, urls(purchase))

    def confirm_checkout_session(self, purchase):
        return self.sessions.confirm(purchase)

    def replace_checkout_session(self, purchase):
        if purchase.status != PurchaseStatus.PENDING or not purchase.uses_checkout_session:
            return purchase.status in (PurchaseStatus.FAILED, PurchaseStatus.REFUNDED)
        if not purchase.stripe_checkout_session_id:
            return False
        try:
            session = self.sessions.payments.retrieve_checkout_session(purchase.stripe_checkout_session_id)
            if session is None:
                return False
            self.sessions.settle(purchase, session, abandoned=True)
        except PaymentUnavailable:
            self.settlement.start_over()
            return False
        return purchase.status == PurchaseStatus.FAILED

    def start_free_download(self, album, *, email, user=None):
        purchase = self._record(album, email=email, user=user, amount_cents=0)
        if user is not None and user.email_confirmed_at is not None:
            self.free.confirm(purchase)  # the account has confirmed this address already
        elif purchase.status == PurchaseStatus.PENDING:
            self.free.send_link(purchase)
        return purchase

    def resend_free_download_link(self, purchase):
        self.free.send_link(purchase)

    def free_download_for(self, token):
        return self.free.purchase_for(token)

    def confirm_free_download(self, purchase):
        return self.free.confirm(purchase)

    def checkout_session_url(self, purchase):
        try:
            return self.sessions.session_url(purchase)
        except PaymentUnavailable:
            return None

    def _record(self, album, **attempt):
        """This attempt's purchase; never a second open one of this album for the same buyer."""
        user = attempt["user"]
        if user is not None:
            owned = self._library.owned_purchase(user, album)
            if owned is not None:
                raise AlreadyBought(owned)
        for _ in range(3):
            try:
                return self.attempts.record(album, **attempt)
            except BuyerHasOne as taken:
                holder = taken.purchase
                self._let_settle(holder, paying=attempt.get("amount_cents") != 0)
                if holder.status in (PurchaseStatus.PENDING, PurchaseStatus.PAID):
                    raise AlreadyBought(holder) from taken
                # It failed, or was refunded, just now: its buyer may buy again.
        raise AlreadyBought(holder)

    def _let_settle(self, holder, *, paying=True):
        """Before a second checkout is turned away for a pending one: settle the first if Stripe has
        its answer. A Checkout token's charge is sent again with its own token and idempotency key
        (Stripe replays the charge if it was made; never a new token's), a PaymentIntent is looked at
        (and canceled, if nobody has started to pay it). An unconfirmed free download gives way to a
        paid checkout (``paying``), and stays for another free one (whose link is mailed again)."""
        if holder.status != PurchaseStatus.PENDING:
            return
        if holder.is_free:
            if paying:
                self.free.give_way(holder)
            return
        try:
            if holder.uses_checkout_session:
                self.sessions.give_way(holder)
            elif holder.uses_payment_intent:
                self.intents.give_way(holder)
            else:
                self.checkout.charge(holder)
        except (CardDeclined, PaymentUnavailable):
            pass  # declined: it failed, and the key is free; unavailable: it is still pending

    def owned_purchase(self, user, album):
        return self._library.owned_purchase(user, album)

    def owned_by_slug(self, user, slug):
        return self._library.owned_by_slug(user, slug)

    def attempt_recorded(self, *, token=None, attempt_id=None):
        return (token is not None or attempt_id is not None) and self.attempts._find(token, attempt_id) is not None

    def library(self, user):
        return self._library.purchases(user)

    def refund_purchase(self, purchase, *, actor):
        return self.refunds.refund(purchase, actor=actor)

    def reconcile_pending(self, *, min_age=timedelta(minutes=10), search_lag=timedelta(hours=1)):
        return self.reconciler.run(min_age=min_age, search_lag=search_lag)

    def handle_stripe_event(self, event):
        return self.events.handle(event)


def purchase_service_factory(context, request):
    settings = request.registry.settings
    return PurchaseService(
        request.dbsession,
        request.tm,
        request.find_service(IPaymentService),
        request.find_service(IMailService),
        request.find_service(IAuditLog),
        tax=settings.get("store.tax", "off"),
        tax_code=settings.get("store.tax_code", DIGITAL_AUDIO),
        tokens=request.find_service(ISignedTokens),
    )


def includeme(config):
    config.register_service_factory(purchase_service_factory, IPurchaseService)
