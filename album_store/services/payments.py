"""The one place that talks to Stripe.

Views and other services see :class:`IPaymentService` and the exceptions below; they never import
``stripe``. The implementation is chosen by the ``payments.service`` setting (a dotted name), as
warehouse chooses its billing service: the default :class:`StripePaymentService` talks HTTP through
the official SDK to ``stripe.api_base`` (Stripe itself when unset, the local stand-in in the demo
and tests).
"""
from dataclasses import dataclass
import logging
from urllib.parse import quote

import stripe
from zope.interface import Attribute, Interface, implementer

log = logging.getLogger(__name__)


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

    @property
    def succeeded(self):
        return self.status == "succeeded"


class IPaymentService(Interface):
    publishable_key = Attribute("The publishable key the browser uses (pk_…).")
    checkout_js_url = Attribute("Where the browser loads Checkout's script from.")

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

    def refund(charge_id, *, idempotency_key):
        """Refund what is left of the charge, in full; return the :class:`Charge` as Stripe has it after.

        A charge refunded already (from Stripe's dashboard, say) is no error: the charge says so.
        Raises :class:`RefundRefused` or :class:`PaymentUnavailable`.
        """

    def verify_webhook(payload, signature):
        """Verify a webhook's raw body against its ``Stripe-Signature``; return a :class:`StripeEvent`.

        Raises :class:`InvalidWebhook`.
        """


@implementer(IPaymentService)
class StripePaymentService:
    def __init__(self, client, *, publishable_key, checkout_js_url, webhook_secret="", live=False):
        self.client = client
        self.publishable_key = publishable_key
        self.checkout_js_url = checkout_js_url
        self.webhook_secret = webhook_secret
        self.live = live

    def dashboard_url(self, charge_id):
        return f"https://dashboard.stripe.com/{'' if self.live else 'test/'}payments/{quote(charge_id, safe='')}"

    @classmethod
    def from_settings(cls, settings):
        base_addresses = {}
        if settings.get("stripe.api_base"):
            base_addresses["api"] = settings["stripe.api_base"].rstrip("/")
        client = stripe.StripeClient(
            settings.get("stripe.secret_key") or "sk_test_missing",
            base_addresses=base_addresses,
            max_network_retries=int(settings["stripe.max_network_retries"]),
            http_client=stripe.RequestsClient(timeout=float(settings["stripe.timeout_seconds"])),
        )
        return cls(
            client,
            publishable_key=settings.get("stripe.publishable_key", ""),
            checkout_js_url=settings["stripe.checkout_js_url"],
            webhook_secret=settings.get("stripe.webhook_secret", ""),
            live=(settings.get("stripe.secret_key") or "").startswith("sk_live_"),
        )

    def charge(self, *, amount_cents, currency, source, description, receipt_email, metadata, idempotency_key):
        params = {
            "amount": amount_cents,
            "currency": currency,
            "source": source,
            "description": description,
            "metadata": {key: str(value) for key, value in metadata.items()},
        }
        if receipt_email:
            params["receipt_email"] = receipt_email
        try:
            charge = self.client.v1.charges.create(params=params, options={"idempotency_key": idempotency_key})
        except stripe.CardError as error:
            raise CardDeclined(
                error.user_message or "Your card was declined.",
                code=error.code,
                decline_code=getattr(error.error, "decline_code", None) if error.error else None,
                charge_id=getattr(error.error, "charge", None) if error.error else None,
            ) from error
        except stripe.InvalidRequestError as error:
            # A token already used or unknown: the buyer can enter the card again. Anything else
            # here is a bug of ours and is logged loudly.
            if error.code in ("token_already_used", "resource_missing") or "token" in str(error.user_message or "").lower():
                raise CardDeclined(
                    "Your card details expired before the payment went through. Please enter them again.",
                    code=error.code or "invalid_token",
                ) from error
            log.error("Stripe refused a charge request as invalid: %s", error.user_message)
            raise PaymentUnavailable("Stripe refused the payment request.") from error
        except stripe.AuthenticationError as error:
            log.critical("Stripe rejected the secret key (stripe.secret_key): %s", error.user_message)
            raise PaymentUnavailable("The store's payment settings are wrong.") from error
        except stripe.IdempotencyError as error:
            log.error("BUG: idempotency key %s reused with other parameters: %s", idempotency_key, error.user_message)
            raise PaymentUnavailable("The payment could not be confirmed.") from error
        except stripe.StripeError as error:
            # Connection errors, rate limits, Stripe's own 5xx: the charge may or may not exist.
            log.warning("Stripe unavailable (%s): %s", type(error).__name__, error.user_message or error)
            raise PaymentUnavailable("Our card processor could not be reached.") from error
        return _to_charge(charge)

    def find_charge(self, *, purchase_ref):
        if not purchase_ref.isalnum():
            raise ValueError("a purchase reference is hexadecimal")
        try:
            result = self.client.v1.charges.search(params={"query": f"metadata['purchase_ref']:'{purchase_ref}'"})
        except stripe.StripeError as error:
            raise PaymentUnavailable("Stripe could not be searched.") from error
        charges = [_to_charge(charge) for charge in result.data]
        # A succeeded charge wins over failed attempts made with the same purchase.
        charges.sort(key=lambda c: not c.succeeded)
        return charges[0] if charges else None

    def retrieve_charge(self, charge_id):
        try:
            return _to_charge(self.client.v1.charges.retrieve(charge_id))
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise PaymentUnavailable("Stripe refused to show the charge.") from error
        except stripe.StripeError as error:
            raise PaymentUnavailable("Stripe could not be reached.") from error

    def refund(self, charge_id, *, idempotency_key):
        try:
            self.client.v1.refunds.create(params={"charge": charge_id}, options={"idempotency_key": idempotency_key})
        except stripe.InvalidRequestError as error:
            if error.code != "charge_already_refunded":
                log.error("Stripe refused to refund charge %s: %s", charge_id, error.user_message)
                raise RefundRefused(error.user_message or "Stripe refused the refund.") from error
        except stripe.AuthenticationError as error:
            log.critical("Stripe rejected the secret key (stripe.secret_key): %s", error.user_message)
            raise PaymentUnavailable("The store's payment settings are wrong.") from error
        except stripe.IdempotencyError as error:
            log.error("BUG: idempotency key %s reused with other parameters: %s", idempotency_key, error.user_message)
            raise PaymentUnavailable("The refund could not be confirmed.") from error
        except stripe.StripeError as error:
            # The refund may or may not exist: the same idempotency key makes trying again safe.
            log.warning("Stripe unavailable for a refund (%s): %s", type(error).__name__, error.user_message or error)
            raise PaymentUnavailable("Our card processor could not be reached.") from error
        charge = self.retrieve_charge(charge_id)
        if charge is None:
            raise RefundRefused(f"Stripe has no charge {charge_id}.")
        return charge

    def verify_webhook(self, payload, signature):
        if not self.webhook_secret:
            raise InvalidWebhook("stripe.webhook_secret is not set")
        if not signature:
            raise InvalidWebhook("missing Stripe-Signature header")
        try:
            event = self.client.construct_event(payload, signature, self.webhook_secret)
        except stripe.SignatureVerificationError as error:
            raise InvalidWebhook("bad signature") from error
        except ValueError as error:  # not JSON, or not an event
            raise InvalidWebhook("not a Stripe event") from error
        try:
            event_id, event_type, obj = event.id, event.type, event.data.object
            object_id = obj.id
        except (AttributeError, KeyError) as error:
            raise InvalidWebhook("not a Stripe event") from error
        charge_id = None
        if object_id.startswith(("ch_", "py_")):
            charge_id = object_id
        else:
            charge_id = getattr(obj, "charge", None)
            charge_id = charge_id if isinstance(charge_id, str) else getattr(charge_id, "id", None)
        return StripeEvent(id=event_id, type=event_type, object_id=object_id, charge_id=charge_id)


def _to_charge(charge):
    card = None
    details = getattr(charge, "payment_method_details", None)
    if details is not None and getattr(details, "card", None) is not None:
        card = details.card
    elif getattr(charge, "source", None) is not None:
        card = charge.source
    metadata = charge.metadata.to_dict() if getattr(charge, "metadata", None) is not None else {}
    return Charge(
        id=charge.id,
        amount_cents=charge.amount,
        currency=charge.currency,
        status=charge.status,
        card_brand=getattr(card, "brand", None) if card is not None else None,
        card_last4=getattr(card, "last4", None) if card is not None else None,
        amount_refunded_cents=getattr(charge, "amount_refunded", 0) or 0,
        metadata=metadata,
    )


def includeme(config):
    settings = config.get_settings()
    service_class = config.maybe_dotted(settings["payments.service"])
    config.register_service(service_class.from_settings(settings), IPaymentService)
