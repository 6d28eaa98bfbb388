"""The payment service that talks to Stripe: the only module of the store that imports ``stripe``.

:class:`StripePaymentService` implements :class:`~.interfaces.IPaymentService` over HTTP through the
official SDK, holding a ``StripeClient`` instance (no module globals) pointed at ``stripe.api_base``
(Stripe itself when unset, the local stand-in in the demo and tests). Everything it returns is the
store's own value types and exceptions (:mod:`.interfaces`), so nothing above it sees the SDK.
"""

import logging
from typing import TYPE_CHECKING
from urllib.parse import quote

import stripe
from zope.interface import implementer

from ...stripe_amounts import from_stripe_amount, to_stripe_amount
from .interfaces import (
    CardDeclined,
    Charge,
    CheckoutSession,
    InvalidWebhook,
    IPaymentService,
    PaymentIntent,
    PaymentUnavailable,
    RefundRefused,
    StripeEvent,
)

if TYPE_CHECKING:  # the SDK's own request types: mypy checks our params against them (tests/unit/test_types.py)
    from stripe._base_address import BaseAddresses
    from stripe.params import ChargeCreateParams, PaymentIntentCreateParams, RefundCreateParams
    from stripe.params.checkout import SessionCreateParams, SessionCreateParamsLineItemPriceDataProductData

log = logging.getLogger(__name__)


class _RequestsClient(stripe.RequestsClient):
    """The SDK's requests client as it is (one kept-alive ``requests.Session`` per thread, so each
    charge reuses the thread's TCP connection), except that the sessions do not read the environment
    on every request: requests otherwise looks up the proxy variables and ``~/.netrc`` per call
    (≈ 10 % of the SDK's time per charge, measured in bench/PROFILE-checkout.md). The proxies are read
    once, when the service is made (:func:`_environment_proxies`); ``.netrc`` is never wanted (Stripe's
    own ``Authorization`` header is the only credential), nor the CA variables (the SDK passes its own
    bundle)."""

    def _request_internal(self, *args, **kwargs):
        if getattr(self._thread_local, "session", None) is None:
            import requests

            session = requests.Session()
            session.trust_env = False
            self._thread_local.session = session
        return super()._request_internal(*args, **kwargs)


def _environment_proxies(url):
    """The proxies the environment names for ``url`` (``HTTPS_PROXY``, …, ``NO_PROXY``), read once."""
    from requests.utils import get_environ_proxies

    proxies = get_environ_proxies(url)
    found = {scheme: proxies[scheme] for scheme in ("http", "https") if proxies.get(scheme)}
    return found or None


@implementer(IPaymentService)
class StripePaymentService:
    def __init__(self, client, *, publishable_key, checkout_js_url, webhook_secret="", stripe_js_url="", live=False):
        self.client: stripe.StripeClient = client
        self.publishable_key = publishable_key
        self.checkout_js_url = checkout_js_url
        self.stripe_js_url = stripe_js_url
        self.webhook_secret = webhook_secret
        self.live = live

    def dashboard_url(self, charge_id):
        return f"https://dashboard.stripe.com/{'' if self.live else 'test/'}payments/{quote(charge_id, safe='')}"

    @classmethod
    def from_settings(cls, settings):
        base_addresses: BaseAddresses = {}
        if settings.get("stripe.api_base"):
            base_addresses["api"] = settings["stripe.api_base"].rstrip("/")
        client = stripe.StripeClient(
            settings.get("stripe.secret_key") or "sk_test_missing",
            base_addresses=base_addresses,
            max_network_retries=int(settings["stripe.max_network_retries"]),
            http_client=_RequestsClient(
                timeout=float(settings["stripe.timeout_seconds"]),
                proxy=_environment_proxies(base_addresses.get("api") or "https://api.stripe.com"),
            ),
        )
        return cls(
            client,
            publishable_key=settings.get("stripe.publishable_key", ""),
            checkout_js_url=settings["stripe.checkout_js_url"],
            stripe_js_url=settings["stripe.js_url"],
            webhook_secret=settings.get("stripe.webhook_secret", ""),
            live=(settings.get("stripe.secret_key") or "").startswith("sk_live_"),
        )

    def charge(self, *, amount_cents, currency, source, description, receipt_email, metadata, idempotency_key):
        params: ChargeCreateParams = {
            "amount": to_stripe_amount(amount_cents, currency),  # Stripe's unit, not CLDR's (ISK ×100)
            "currency": currency,
            "source": source,
            "description": description,
            "metadata": {key: str(value) for key, value in metadata.items()},
        }
        if receipt_email:
            params["receipt_email"] = receipt_email

        def create():
            try:
                return self.client.v1.charges.create(params=params, options={"idempotency_key": idempotency_key})
            except stripe.CardError as error:
                raise CardDeclined(
                    error.user_message or "Your card was declined.",
                    code=error.code,
                    decline_code=getattr(error.error, "decline_code", None) if error.error else None,
                    charge_id=getattr(error.error, "charge", None) if error.error else None,
                ) from error
            except stripe.InvalidRequestError as error:
                # A token already used or unknown: the buyer can enter the card again. Anything
                # else is a bug of ours, logged loudly by _unavailable_on_error.
                if (
                    error.code in ("token_already_used", "resource_missing")
                    or "token" in str(error.user_message or "").lower()
                ):
                    raise CardDeclined(
                        "Your card details expired before the payment went through. Please enter them again.",
                        code=error.code or "invalid_token",
                    ) from error
                raise

        return _to_charge(self._unavailable_on_error(create, "create a charge", idempotency_key=idempotency_key))

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

    # --- PaymentIntents (the payment_intents flow) -------------------------------------------------
    def create_payment_intent(self, *, amount_cents, currency, description, receipt_email, metadata, idempotency_key):
        params: PaymentIntentCreateParams = {
            "amount": to_stripe_amount(amount_cents, currency),  # Stripe's unit, not CLDR's (ISK ×100)
            "currency": currency,
            # Cards only: the Payment Element shows the PaymentIntent's payment_method_types, so this
            # keeps it to "Card" (the methods the store's receipts, refunds and tests know). Not
            # automatic_payment_methods: that would offer whatever the Dashboard turns on, redirect-based
            # methods included. (API 2026-10-28.endive has no payment_method_types: it says
            # allowed_payment_method_types.)
            "allowed_payment_method_types": ["card"],
            "description": description,
            "metadata": {key: str(value) for key, value in metadata.items()},
        }
        if receipt_email:
            params["receipt_email"] = receipt_email
        intent = self._unavailable_on_error(
            lambda: self.client.v1.payment_intents.create(params=params, options={"idempotency_key": idempotency_key}),
            "create a PaymentIntent",
            idempotency_key=idempotency_key,
        )
        return _to_payment_intent(intent)

    def retrieve_payment_intent(self, payment_intent_id):
        try:
            intent = self.client.v1.payment_intents.retrieve(payment_intent_id, params={"expand": ["latest_charge"]})
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise PaymentUnavailable("Stripe refused to show the PaymentIntent.") from error
        except stripe.StripeError as error:
            raise PaymentUnavailable("Stripe could not be reached.") from error
        return _to_payment_intent(intent)

    def find_payment_intent(self, *, purchase_ref):
        if not purchase_ref.isalnum():
            raise ValueError("a purchase reference is hexadecimal")
        try:
            result = self.client.v1.payment_intents.search(
                params={"query": f"metadata['purchase_ref']:'{purchase_ref}'", "expand": ["data.latest_charge"]}
            )
        except stripe.StripeError as error:
            raise PaymentUnavailable("Stripe could not be searched.") from error
        intents = [_to_payment_intent(intent) for intent in result.data]
        # One per purchase is the rule (idempotency key); should there be more, a succeeded one wins.
        intents.sort(key=lambda i: (not i.succeeded, i.canceled))
        return intents[0] if intents else None

    def cancel_payment_intent(self, payment_intent_id):
        try:
            self.client.v1.payment_intents.cancel(payment_intent_id)
        except stripe.InvalidRequestError as error:
            # Already canceled, or succeeded meanwhile: what counts is the state it is in now.
            log.info("PaymentIntent %s not canceled: %s", payment_intent_id, error.user_message)
        except stripe.StripeError as error:
            raise PaymentUnavailable("Stripe could not be reached to cancel the payment.") from error
        intent = self.retrieve_payment_intent(payment_intent_id)
        if intent is None:
            raise PaymentUnavailable("Stripe does not know the PaymentIntent.")
        return intent

    # --- Checkout Sessions (the checkout_session flow: Stripe's hosted payment page) ------------------
    def create_checkout_session(
        self,
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
        texts = {key: str(value) for key, value in metadata.items()}
        product: SessionCreateParamsLineItemPriceDataProductData = {"name": name, "description": description}
        if image_url:
            product["images"] = [image_url]
        if tax_behavior:
            product["tax_code"] = tax_code
        params: SessionCreateParams = {
            "mode": "payment",
            "ui_mode": "hosted_page",  # API 2026-03-25.dahlia's name for Stripe's own page ("hosted" is refused)
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency,
                        "unit_amount": to_stripe_amount(amount_cents, currency),  # Stripe's unit, not CLDR's
                        "product_data": product,
                    },
                }
            ],
            "client_reference_id": client_reference_id,
            "metadata": texts,
            "payment_intent_data": {"description": description, "metadata": texts},
            "success_url": success_url,
            "cancel_url": cancel_url,
            "expires_at": int(expires_at.timestamp()),
        }
        if receipt_email:
            params["payment_intent_data"]["receipt_email"] = receipt_email
        if customer_email:
            params["customer_email"] = customer_email
        if store_name:
            params["branding_settings"] = {"display_name": store_name}  # the name the hosted page shows
        if tax_behavior:
            params["automatic_tax"] = {"enabled": True}
            params["line_items"][0]["price_data"]["tax_behavior"] = tax_behavior
        session = self._unavailable_on_error(
            lambda: self.client.v1.checkout.sessions.create(
                params=params, options={"idempotency_key": idempotency_key}
            ),
            "create a Checkout Session",
            idempotency_key=idempotency_key,
        )
        return _to_checkout_session(session)

    def retrieve_checkout_session(self, session_id):
        try:
            session = self.client.v1.checkout.sessions.retrieve(
                session_id, params={"expand": ["payment_intent", "payment_intent.latest_charge"]}
            )
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise PaymentUnavailable("Stripe refused to show the Checkout Session.") from error
        except stripe.StripeError as error:
            raise PaymentUnavailable("Stripe could not be reached.") from error
        return _to_checkout_session(session)

    def expire_checkout_session(self, session_id):
        try:
            self.client.v1.checkout.sessions.expire(session_id)
        except stripe.InvalidRequestError as error:
            # Complete already (the buyer paid first), or expired: what counts is its state now.
            log.info("Checkout Session %s not expired: %s", session_id, error.user_message)
        except stripe.StripeError as error:
            raise PaymentUnavailable("Stripe could not be reached to expire the Checkout Session.") from error
        session = self.retrieve_checkout_session(session_id)
        if session is None:
            raise PaymentUnavailable("Stripe does not know the Checkout Session.")
        return session

    def _unavailable_on_error(self, call, action, *, idempotency_key=None):
        """Run a Stripe call that takes no card; any error of Stripe's is :class:`PaymentUnavailable`."""
        try:
            return call()
        except stripe.AuthenticationError as error:
            log.critical("Stripe rejected the secret key (stripe.secret_key): %s", error.user_message)
            raise PaymentUnavailable("The store's payment settings are wrong.") from error
        except stripe.IdempotencyError as error:
            log.error("BUG: idempotency key %s reused with other parameters: %s", idempotency_key, error.user_message)
            raise PaymentUnavailable("The payment could not be confirmed.") from error
        except stripe.InvalidRequestError as error:
            log.error("Stripe refused to %s as invalid: %s", action, error.user_message)
            raise PaymentUnavailable("Stripe refused the payment request.") from error
        except stripe.StripeError as error:
            log.warning("Stripe unavailable (%s): %s", type(error).__name__, error.user_message or error)
            raise PaymentUnavailable("Our card processor could not be reached.") from error

    def refund(self, charge_id=None, *, payment_intent_id=None, idempotency_key):
        params: RefundCreateParams = {"charge": charge_id} if charge_id else {"payment_intent": payment_intent_id}

        def create():
            try:
                return self.client.v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})
            except stripe.InvalidRequestError as error:
                if error.code == "charge_already_refunded":
                    return None  # refunded already (in Stripe's dashboard, say): recorded below
                log.error("Stripe refused to refund %s: %s", charge_id or payment_intent_id, error.user_message)
                raise RefundRefused(error.user_message or "Stripe refused the refund.") from error

        # Unavailable: the refund may or may not exist, and the same idempotency key makes a retry safe.
        self._unavailable_on_error(create, "refund", idempotency_key=idempotency_key)
        if charge_id:
            charge = self.retrieve_charge(charge_id)
        else:
            intent = self.retrieve_payment_intent(payment_intent_id)
            charge = intent.charge if intent is not None else None
        if charge is None:
            raise RefundRefused(f"Stripe has no charge for {charge_id or payment_intent_id}.")
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
        charge_id = payment_intent_id = checkout_session_id = None
        if object_id.startswith("cs_"):
            checkout_session_id = object_id
        elif object_id.startswith("pi_"):
            payment_intent_id = object_id
        else:
            if object_id.startswith(("ch_", "py_")):
                charge_id = object_id
            else:
                charge_id = _id_of(getattr(obj, "charge", None))
            payment_intent_id = _id_of(getattr(obj, "payment_intent", None))
        return StripeEvent(
            id=event_id,
            type=event_type,
            object_id=object_id,
            charge_id=charge_id,
            payment_intent_id=payment_intent_id,
            checkout_session_id=checkout_session_id,
        )


def _id_of(value):
    """An expandable field's id: the string, or the expanded object's ``id``."""
    return value if isinstance(value, str) else getattr(value, "id", None)


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
        amount_cents=from_stripe_amount(charge.amount, charge.currency),
        currency=charge.currency,
        status=charge.status,
        card_brand=getattr(card, "brand", None) if card is not None else None,
        card_last4=getattr(card, "last4", None) if card is not None else None,
        amount_refunded_cents=from_stripe_amount(getattr(charge, "amount_refunded", 0) or 0, charge.currency),
        metadata=metadata,
        payment_intent_id=_id_of(getattr(charge, "payment_intent", None)),
    )


def _to_payment_intent(intent):
    latest = getattr(intent, "latest_charge", None)
    charge = _to_charge(latest) if latest is not None and not isinstance(latest, str) else None
    error = getattr(intent, "last_payment_error", None)
    return PaymentIntent(
        id=intent.id,
        status=intent.status,
        amount_cents=from_stripe_amount(intent.amount, intent.currency),
        currency=intent.currency,
        client_secret=getattr(intent, "client_secret", None),
        metadata=intent.metadata.to_dict() if getattr(intent, "metadata", None) is not None else {},
        charge=charge,
        error_code=getattr(error, "code", None) if error is not None else None,
        decline_code=getattr(error, "decline_code", None) if error is not None else None,
        error_message=getattr(error, "message", None) if error is not None else None,
    )


def _to_checkout_session(session):
    intent = getattr(session, "payment_intent", None)
    total = getattr(session, "amount_total", None)
    subtotal = getattr(session, "amount_subtotal", None)
    details = getattr(session, "total_details", None)
    tax = getattr(details, "amount_tax", None) if details is not None else None
    return CheckoutSession(
        id=session.id,
        url=getattr(session, "url", None),
        status=session.status,
        payment_status=session.payment_status,
        amount_total_cents=from_stripe_amount(total, session.currency) if total is not None else None,
        currency=session.currency,
        metadata=session.metadata.to_dict() if getattr(session, "metadata", None) is not None else {},
        payment_intent=_to_payment_intent(intent) if intent is not None and not isinstance(intent, str) else None,
        amount_subtotal_cents=from_stripe_amount(subtotal, session.currency) if subtotal is not None else None,
        amount_tax_cents=from_stripe_amount(tax, session.currency) if tax else 0,
    )
