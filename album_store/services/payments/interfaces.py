"""What the store knows of payments, with no ``import stripe``: the interface of the payment
service, the value types it returns and the exceptions it raises.

Views and the purchase services import these (through the package, ``album_store.services.payments``)
and never the SDK: a view module can be imported, and a service unit-tested against an in-memory
fake (tests/fake_payments.py), without ``stripe`` in ``sys.modules``. The one implementation that
talks to Stripe is :mod:`.stripe_service`.
"""

from dataclasses import dataclass

from zope.interface import Attribute, Interface


class PaymentError(Exception):
    """Base of what a payment attempt can end in other than success."""


class CardDeclined(PaymentError):
    """Stripe refused the card; nothing was charged. ``user_message`` is fit to show the buyer."""

    def __init__(self, user_message, code=None, decline_code=None, charge_id=None):
        super().__init__(user_message)
        self.user_message = user_message
        self.code = code
        self.decline_code = decline_code
        self.charge_id = charge_id


class PaymentUnavailable(PaymentError):
    """Stripe could not be reached or failed; whether a charge exists is unknown until reconciled."""


class RefundRefused(PaymentError):
    """Stripe will not refund this charge (a failed or unknown one); ``str()`` says why."""


class InvalidWebhook(Exception):
    """A webhook request without a valid ``Stripe-Signature`` for our secret, or not an event."""


@dataclass(frozen=True)
class StripeEvent:
    """A verified Stripe event: only what the store acts on. The object is re-fetched, not trusted."""

    id: str
    type: str
    object_id: str
    charge_id: str | None  # the charge the event is about (a dispute's charge, a charge's own id)
    payment_intent_id: str | None = None  # the PaymentIntent it is about (its own events, its charge's)
    checkout_session_id: str | None = None  # the Checkout Session it is about (checkout.session.*)


@dataclass(frozen=True)
class Charge:
    """What the store keeps of a Stripe charge."""

    id: str
    amount_cents: int
    currency: str
    status: str  # succeeded, pending, failed
    card_brand: str | None
    card_last4: str | None
    amount_refunded_cents: int
    metadata: dict
    payment_intent_id: str | None = None  # set when a PaymentIntent made the charge

    @property
    def succeeded(self):
        return self.status == "succeeded"


@dataclass(frozen=True)
class PaymentIntent:
    """What the store keeps of a Stripe PaymentIntent (the payment_intents flow)."""

    id: str
    status: str  # requires_payment_method, requires_confirmation, requires_action, processing, succeeded, canceled, …
    amount_cents: int
    currency: str
    client_secret: str | None  # for the buyer's browser only: Stripe.js confirms the payment with it
    metadata: dict
    charge: Charge | None  # the latest charge, when there is one
    error_code: str | None  # why the last attempt failed (last_payment_error), if it did
    decline_code: str | None
    error_message: str | None

    @property
    def succeeded(self):
        return self.status == "succeeded"

    @property
    def canceled(self):
        return self.status == "canceled"

    @property
    def attempt_failed(self):
        """An attempt to pay failed (declined, or 3-D Secure failed or cancelled) and it waits for another."""
        return self.status == "requires_payment_method" and (self.error_code or self.error_message) is not None

    @property
    def open(self):
        """Not paid, not over: the buyer (or nobody, if they left) may still complete it."""
        return self.status in ("requires_payment_method", "requires_confirmation", "requires_action")


@dataclass(frozen=True)
class CheckoutSession:
    """What the store keeps of a Stripe Checkout Session (the checkout_session flow: Stripe's hosted page)."""

    id: str
    url: str | None  # the hosted payment page, while the session is open
    status: str  # open, complete, expired
    payment_status: str  # unpaid, paid, no_payment_required
    amount_total_cents: int | None
    currency: str
    metadata: dict
    payment_intent: PaymentIntent | None  # once the buyer paid (or tried to)
    amount_subtotal_cents: int | None = None  # the line item's price, before any tax was added
    amount_tax_cents: int = 0  # Stripe Tax's tax (added to the subtotal, or included in it)

    @property
    def open(self):
        return self.status == "open"

    @property
    def expired(self):
        return self.status == "expired"


class IPaymentService(Interface):
    publishable_key = Attribute("The publishable key the browser uses (pk_…).")
    checkout_js_url = Attribute("Where the browser loads Checkout's script from.")
    stripe_js_url = Attribute("Where the browser loads Stripe.js v3 from (the payment_intents flow).")

    def dashboard_url(charge_id):
        """The charge's page in Stripe's dashboard (test or live, as the secret key is)."""

    def charge(*, amount_cents, currency, source, description, receipt_email, metadata, idempotency_key):
        """Charge ``source`` (a Checkout token) and return a :class:`Charge`.

        Raises :class:`CardDeclined` or :class:`PaymentUnavailable`.
        """

    def find_charge(*, purchase_ref):
        """Return the charge made for a purchase (found by its reference in the metadata), or None."""

    def retrieve_charge(charge_id):
        """Return the :class:`Charge` as Stripe has it now, or None when Stripe has no such charge."""

    def create_payment_intent(*, amount_cents, currency, description, receipt_email, metadata, idempotency_key):
        """Create a card PaymentIntent for the buyer's browser to confirm; return a :class:`PaymentIntent`.

        The same ``idempotency_key`` again gives back the same PaymentIntent. Raises :class:`PaymentUnavailable`.
        """

    def retrieve_payment_intent(payment_intent_id):
        """Return the :class:`PaymentIntent` (with its latest charge) as Stripe has it now, or None."""

    def find_payment_intent(*, purchase_ref):
        """Return the PaymentIntent made for a purchase (found by its reference in the metadata), or None."""

    def cancel_payment_intent(payment_intent_id):
        """Cancel an unfinished PaymentIntent so it can never take money; return it as Stripe has it after
        (``canceled``, or ``succeeded`` if the buyer's payment got there first)."""

    def refund(charge_id=None, *, payment_intent_id=None, idempotency_key):
        """Refund what is left of the charge (or of the PaymentIntent's charge), in full; return the
        :class:`Charge` as Stripe has it after.

        A charge refunded already (from Stripe's dashboard, say) is no error: the charge says so.
        Raises :class:`RefundRefused` or :class:`PaymentUnavailable`.
        """

    def create_checkout_session(
        *,
        amount_cents,
        currency,
        name,
        description,
        image_url,
        customer_email,
        receipt_email,
        metadata,
        client_reference_id,
        success_url,
        cancel_url,
        expires_at,
        idempotency_key,
        store_name=None,
        tax_behavior=None,
        tax_code=None,
    ):
        """Create a hosted Checkout Session for one album; return a :class:`CheckoutSession` (its ``url``).

        With ``tax_behavior`` (``exclusive`` or ``inclusive``) Stripe Tax computes the tax on the page
        (``automatic_tax``), the line item carrying ``tax_code``.

        The same ``idempotency_key`` again gives back the same session. Raises :class:`PaymentUnavailable`.
        """

    def retrieve_checkout_session(session_id):
        """Return the :class:`CheckoutSession` (its PaymentIntent and charge expanded) as Stripe has it now,
        or None."""

    def expire_checkout_session(session_id):
        """Expire an open session so it can never be paid; return it as Stripe has it after (``expired``, or
        ``complete`` if the buyer paid first)."""

    def verify_webhook(payload, signature):
        """Verify a webhook's raw body against its ``Stripe-Signature``; return a :class:`StripeEvent`.

        Raises :class:`InvalidWebhook`.
        """
