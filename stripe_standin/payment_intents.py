"""PaymentMethods and PaymentIntents as Stripe answers them, for the store's payment_intents flow.

localstripe 1.15.10's PaymentIntents refuse parameters Stripe takes (``receipt_email``,
``description``, ``payment_method_types``… → 400 "Unexpected …"), cannot be confirmed with a
``payment_method`` (500 "Not implemented"), have no search, export ``latest_charge`` expanded, decline
only 0341-style cards and that without Stripe's codes, fire no event when 3-D Secure fails, take no
publishable key for ``confirm`` or ``retrieve`` with the client secret, and build payment methods only
from 16-digit numbers with a 3-digit CVC. These handlers replace localstripe's for:

- ``POST /v1/payment_methods`` (secret or publishable key; Stripe's card validation and brands);
- ``POST /v1/payment_intents``, ``GET …/{id}``, ``POST …/{id}/confirm``, ``POST …/{id}/cancel``,
  ``GET /v1/payment_intents/search`` (metadata, status, amount…);
- ``POST /v1/payment_intents/{id}/_authenticate``: the stand-in's 3-D Secure answer (its Stripe.js
  calls it when the buyer completes or fails the challenge).

With the publishable key, ``retrieve`` and ``confirm`` need the PaymentIntent's ``client_secret`` and
answer the subset of fields Stripe answers a browser. Cards: Stripe's 3-D Secure test cards (4000 0025
0000 3155, …3184, …3220, …3063) go to ``requires_action``, then succeed or fail with
``payment_intent_authentication_failure``; the decline cards answer 402 ``card_error`` with Stripe's
code, decline code and message and the PaymentIntent in the error, leaving it in
``requires_payment_method`` with ``last_payment_error``. Stripe's magic ``pm_card_*`` ids work.
Events: ``payment_intent.created``, ``.requires_action``, ``.succeeded``, ``.payment_failed``,
``.canceled``, with ``charge.succeeded`` / ``charge.failed`` for the charge. The charge gets the
PaymentIntent's metadata, description and receipt email (Stripe copies them when it confirms).
"""

import datetime
import re

from localstripe.resources import PaymentIntent, PaymentMethod, StripeObject, fingerprint, random_id, store
from localstripe.server import get_api_key, json_response

from . import cards
from .charges import StandinCharge, _outcome
from .currencies import check_amount, check_currency
from .errors import StripeError, invalid_param, missing_param, no_such, unknown_param
from .lists import search_response
from .params import EMAIL_RE, pop_expand, read_params, to_bool, to_int, to_metadata, to_str
from .store_index import objects_of
from .webhook_delivery import maybe_webhook

AUTHENTICATION_REQUIRED = cards.AUTHENTICATION_REQUIRED

#: Stripe's magic test PaymentMethods: a fresh PaymentMethod for the card on each use.
MAGIC_PAYMENT_METHODS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_discover": "6011111111111117",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_visa_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_visa_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_visa_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_visa_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_visa_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_chargeDeclinedFraudulent": "4100000000000019",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_threeDSecure2Required": "4000000000003220",
    "pm_card_threeDSecureRequired": "4000000000003063",
    "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds": "4000008260003178",
}

AUTHENTICATION_FAILURE = (
    "We are unable to authenticate your payment method. Please choose a different payment method and try again."
)
CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation", "requires_action", "processing")
CANCELLATION_REASONS = {"duplicate", "fraudulent", "requested_by_customer", "abandoned"}

CREATE_PARAMS = {
    "amount",
    "currency",
    "allowed_payment_method_types",
    "excluded_payment_method_types",
    "description",
    "receipt_email",
    "metadata",
    "customer",
    "payment_method",
    "confirm",
    "capture_method",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "setup_future_usage",
    "shipping",
    "automatic_payment_methods",
    "return_url",
    "transfer_group",
    "confirmation_method",
    "payment_method_options",
}
UNSUPPORTED_PARAMS = {
    "application_fee_amount",
    "on_behalf_of",
    "transfer_data",
    "mandate_data",
    "radar_options",
    "payment_method_data",
    "off_session",
    "error_on_requires_action",
    "mandate",
    "payment_method_configuration",
}
CONFIRM_PARAMS = {
    "payment_method",
    "payment_method_data",
    "client_secret",
    "return_url",
    "use_stripe_sdk",
    "receipt_email",
    "setup_future_usage",
    "payment_method_options",
    "shipping",
    "expected_payment_method_type",
}
PAYMENT_METHOD_FIELDS = {"type", "card", "billing_details", "metadata"}
#: What Stripe answers a browser (publishable key + client secret) about a PaymentIntent.
PUBLIC_FIELDS = (
    "id",
    "object",
    "amount",
    "canceled_at",
    "cancellation_reason",
    "capture_method",
    "client_secret",
    "confirmation_method",
    "created",
    "currency",
    "description",
    "last_payment_error",
    "livemode",
    "next_action",
    "payment_method",
    "payment_method_types",
    "processing",
    "receipt_email",
    "setup_future_usage",
    "shipping",
    "source",
    "status",
)

SEARCH_FIELDS = {
    "amount": ("int", lambda p: p.amount),
    "created": ("int", lambda p: p.created),
    "currency": ("str", lambda p: p.currency),
    "customer": ("str", lambda p: p.customer),
    "status": ("str", lambda p: p.status),
}


# ---------------------------------------------------------------- payment methods


class StandinPaymentMethod(PaymentMethod):
    """A card PaymentMethod built with Stripe's validation (any length, brand, CVC), stored under
    localstripe's ``payment_method:`` keys so its Charge and attach/detach endpoints find it."""

    def __init__(self, number, exp_month, exp_year, cvc=None, billing_details=None, metadata=None):
        StripeObject.__init__(self)
        _, network = cards.card_brand(number)
        self._card_number = number
        self.type = "card"
        self.billing_details = {
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": None,
            "name": None,
            "phone": None,
        }
        for key, value in (billing_details or {}).items():
            if key == "address" and isinstance(value, dict):
                self.billing_details["address"].update(value)
            else:
                self.billing_details[key] = value
        self.card = {
            "brand": network,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass" if cvc else None,
            },
            "country": "US",
            "exp_month": exp_month,
            "exp_year": exp_year,
            "fingerprint": fingerprint(number),
            "funding": ("debit" if number in cards.DEBIT else "prepaid" if number in cards.PREPAID else "credit"),
            "last4": number[-4:],
            "networks": {"available": [network], "preferred": None},
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        }
        self.customer = None
        self.metadata = metadata or {}

    def _requires_authentication(self):
        return self._card_number in AUTHENTICATION_REQUIRED


def magic_payment_method(pm_id, today=None):
    number = MAGIC_PAYMENT_METHODS[pm_id]
    today = today or datetime.date.today()
    cvc = "1234" if cards.card_brand(number)[1] == "amex" else "123"
    return StandinPaymentMethod(number, today.month, today.year + 1, cvc)


def resolve_payment_method(pm_id, param="payment_method"):
    if not isinstance(pm_id, str) or not pm_id:
        raise invalid_param(param, "Invalid string")
    if pm_id in MAGIC_PAYMENT_METHODS:
        return magic_payment_method(pm_id)
    if not pm_id.startswith(("pm_", "card_")):
        raise no_such("PaymentMethod", pm_id, param=param)
    try:
        return PaymentMethod._api_retrieve(pm_id)
    except Exception:
        raise no_such("PaymentMethod", pm_id, param=param) from None


_BROWSER_TELEMETRY = ("payment_user_agent", "time_on_page", "guid", "muid", "sid", "referrer", "pasted_fields")


def _card_payment_method(data, prefix=""):
    """A card PaymentMethod from ``POST /v1/payment_methods``'s fields, or from a confirm's
    ``payment_method_data`` (``prefix``: the parameter names Stripe reports, ``payment_method_data[…]``)."""

    def name(key):
        return f"{prefix}[{key}]" if prefix else key

    data = dict(data)
    for key in _BROWSER_TELEMETRY:
        data.pop(key, None)
    if prefix:
        data.pop("allow_redisplay", None)  # a known field of payment_method_data; nothing to keep here
    for key in data:
        if key not in PAYMENT_METHOD_FIELDS:
            raise unknown_param(name(key))
    kind = data.get("type")
    if kind in (None, ""):
        raise missing_param(name("type"))
    if kind != "card":
        raise StripeError(
            400, f"The local Stripe stand-in only makes card PaymentMethods (got `{kind}`).", param=name("type")
        )
    card = data.get("card")
    if not isinstance(card, dict):
        raise missing_param(name("card"))
    if prefix:  # the whole card sub-tree passed the browser-only allow-list: check it here
        for key in card:
            if key not in ("number", "exp_month", "exp_year", "cvc"):
                raise unknown_param(f"{prefix}[card][{key}]")
    billing = data.get("billing_details") or {}
    if not isinstance(billing, dict):
        raise invalid_param(name("billing_details"), "Invalid object")
    email = billing.get("email")
    if email not in (None, "") and not (isinstance(email, str) and EMAIL_RE.match(email)):
        raise invalid_param(
            name("billing_details") + "[email]", f"Invalid email address: {email}", code="email_invalid"
        )
    number, exp_month, exp_year, cvc = cards.validate_card(
        {k: v for k, v in card.items() if k in ("number", "exp_month", "exp_year", "cvc")}
    )
    return StandinPaymentMethod(number, exp_month, exp_year, cvc, billing_details=billing, metadata=to_metadata(data))


async def create_payment_method(request):
    data = await read_params(request)
    pop_expand(data)
    data.pop("key", None)
    return json_response(_card_payment_method(data)._export())


# ---------------------------------------------------------------- payment intents


class StandinPaymentIntent(PaymentIntent):
    """localstripe's PaymentIntent (same ``payment_intent:`` keys, so its refunds find it), with
    Stripe's fields and an explicit status."""

    def __init__(self, p):
        StripeObject.__init__(self)
        self.client_secret = f"{self.id}_secret_{random_id(24)}"
        self._status = "requires_payment_method"
        self._latest_charge = None
        self._last_payment_error = None
        self.amount = p["amount"]
        self.currency = p["currency"]
        self.description = p["description"]
        self.receipt_email = p["receipt_email"]
        self.metadata = p["metadata"]
        self.customer = p["customer"]
        self.payment_method = None
        self.payment_method_types = p["payment_method_types"]
        self.automatic_payment_methods = p["automatic_payment_methods"]
        self.capture_method = p["capture_method"]
        self.confirmation_method = "automatic"
        self.statement_descriptor = p["statement_descriptor"]
        self.statement_descriptor_suffix = p["statement_descriptor_suffix"]
        self.setup_future_usage = p["setup_future_usage"]
        self.shipping = p["shipping"]
        self.transfer_group = p["transfer_group"]
        self.next_action = None
        self.canceled_at = None
        self.cancellation_reason = None
        self.invoice = None

    # localstripe's PaymentIntent derives these; here they are plain state.
    @property
    def status(self):
        return self._status

    @property
    def latest_charge(self):
        return self._latest_charge

    @property
    def last_payment_error(self):
        return self._last_payment_error

    @property
    def amount_received(self):
        charge = self._latest_charge
        return charge.amount if charge is not None and charge.status == "succeeded" else 0

    def _export(self, expand=None, public=False):
        expand = expand or []
        charge = self._latest_charge
        if charge is None:
            latest = None
        elif "latest_charge" in expand:
            latest = charge._export(
                expand=[e[len("latest_charge.") :] for e in expand if e.startswith("latest_charge.")]
            )
        else:
            latest = charge.id
        obj = {
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": self.amount_received,
            "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": self.automatic_payment_methods,
            "canceled_at": self.canceled_at,
            "cancellation_reason": self.cancellation_reason,
            "capture_method": self.capture_method,
            "client_secret": self.client_secret,
            "confirmation_method": self.confirmation_method,
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "description": self.description,
            "invoice": None,
            "last_payment_error": self._last_payment_error,
            "latest_charge": latest,
            "livemode": False,
            "metadata": dict(self.metadata),
            "next_action": self.next_action,
            "on_behalf_of": None,
            "payment_method": self.payment_method,
            "payment_method_options": {
                "card": {
                    "installments": None,
                    "mandate_options": None,
                    "network": None,
                    "request_three_d_secure": "automatic",
                }
            },
            "payment_method_types": list(self.payment_method_types),
            "processing": None,
            "receipt_email": self.receipt_email,
            "review": None,
            "setup_future_usage": self.setup_future_usage,
            "shipping": self.shipping,
            "source": None,
            "statement_descriptor": self.statement_descriptor,
            "statement_descriptor_suffix": self.statement_descriptor_suffix,
            "status": self._status,
            "transfer_data": None,
            "transfer_group": self.transfer_group,
        }
        if public:
            obj = {key: obj[key] for key in PUBLIC_FIELDS}
        return obj


def _type_list(data, param):
    value = data.get(param)
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
        raise invalid_param(param, "Invalid array")
    return value


def _payment_method_types(data):
    """The PaymentIntent's ``payment_method_types``: the methods the account has on (the stand-in's
    account has only ``card``), narrowed by ``allowed_payment_method_types`` and
    ``excluded_payment_method_types`` (API 2026-10-28.endive; ``payment_method_types`` is gone)."""
    allowed = _type_list(data, "allowed_payment_method_types")
    excluded = _type_list(data, "excluded_payment_method_types") or []
    if allowed is not None and excluded:
        raise StripeError(
            400,
            "You cannot pass both allowed_payment_method_types and excluded_payment_method_types.",
            param="excluded_payment_method_types",
        )
    enabled = ["card"]
    types = [t for t in enabled if (allowed is None or t in allowed) and t not in excluded]
    if allowed is not None and any(t not in enabled for t in allowed):
        raise StripeError(
            400,
            "The local Stripe stand-in only takes card payments (allowed_payment_method_types: card).",
            param="allowed_payment_method_types",
        )
    if not types:
        raise StripeError(
            400,
            "No valid payment method types for this PaymentIntent: the stand-in's account only has card.",
            param="excluded_payment_method_types",
        )
    return types


def _check_create_params(data):
    for key in data:
        if key in UNSUPPORTED_PARAMS:
            raise StripeError(
                400, f"The local Stripe stand-in does not support `{key}`.", code="parameter_unknown", param=key
            )
        if key not in CREATE_PARAMS:
            raise unknown_param(key)
    # The currency first, then the amount in it: in the order a Checkout Session's line item is read.
    currency = check_currency(data.get("currency"))
    amount = to_int(data, "amount", required=True)
    check_amount(amount, currency)
    types = _payment_method_types(data)
    automatic = data.get("automatic_payment_methods")
    if automatic not in (None, ""):
        if not isinstance(automatic, dict):
            raise invalid_param("automatic_payment_methods", "Invalid object")
        automatic = {
            "enabled": to_bool(automatic, "enabled", False),
            "allow_redirects": automatic.get("allow_redirects", "always"),
        }
    else:
        automatic = None
    receipt_email = to_str(data, "receipt_email", 512)
    if receipt_email is not None and not EMAIL_RE.match(receipt_email):
        raise invalid_param("receipt_email", f"Invalid email address: {receipt_email}", code="email_invalid")
    capture_method = to_str(data, "capture_method") or "automatic"
    if capture_method not in ("automatic", "automatic_async"):
        raise StripeError(
            400, f"The local Stripe stand-in does not support capture_method={capture_method}.", param="capture_method"
        )
    customer = to_str(data, "customer")
    if customer is not None and store.get("customer:" + customer) is None:
        raise no_such("customer", customer, param="customer")
    setup = to_str(data, "setup_future_usage")
    if setup not in (None, "on_session", "off_session"):
        raise invalid_param("setup_future_usage", f"Invalid setup_future_usage: {setup}")
    shipping = data.get("shipping")
    if shipping in (None, ""):
        shipping = None
    elif not isinstance(shipping, dict):
        raise invalid_param("shipping", "Invalid object")
    return {
        "amount": amount,
        "currency": currency,
        "payment_method_types": types,
        "automatic_payment_methods": automatic,
        "description": to_str(data, "description", 1000),
        "receipt_email": receipt_email,
        "metadata": to_metadata(data),
        "customer": customer,
        "capture_method": capture_method,
        "statement_descriptor": to_str(data, "statement_descriptor", 22),
        "statement_descriptor_suffix": to_str(data, "statement_descriptor_suffix", 22),
        "setup_future_usage": setup,
        "shipping": shipping,
        "transfer_group": to_str(data, "transfer_group"),
        "payment_method": data.get("payment_method") or None,
        "confirm": to_bool(data, "confirm", False),
        "return_url": to_str(data, "return_url"),
    }


def _retrieve(pi_id):
    intent = store.get("payment_intent:" + pi_id)
    if not isinstance(intent, StandinPaymentIntent):
        raise no_such("payment_intent", pi_id, status=404)
    return intent


def _is_publishable(request):
    """True when the caller used a publishable key (a browser), not the secret key."""
    return get_api_key(request) is None


def _check_client_secret(intent, data):
    secret = data.get("client_secret")
    if secret in (None, ""):
        raise StripeError(
            400,
            "A publishable key can only use this PaymentIntent with its client_secret.",
            code="parameter_missing",
            param="client_secret",
        )
    if secret != intent.client_secret:
        raise StripeError(
            400,
            "The client_secret provided does not match the client_secret associated with the PaymentIntent.",
            code="payment_intent_invalid_parameter",
            param="client_secret",
        )


def _unexpected_state(intent, action):
    return StripeError(
        400,
        f"You cannot {action} this PaymentIntent because it has a status of {intent.status}.",
        code="payment_intent_unexpected_state",
        payment_intent=intent._export(),
    )


async def create_payment_intent(request):
    data = await read_params(request)
    expand = pop_expand(data)
    p = _check_create_params(data)
    pm = resolve_payment_method(p["payment_method"]) if p["payment_method"] else None
    intent = StandinPaymentIntent(p)
    maybe_webhook("payment_intent.created", intent)
    if pm is not None:
        intent.payment_method = pm.id
        intent._status = "requires_confirmation"
    if p["confirm"]:
        if pm is None:
            raise StripeError(
                400,
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
                param="payment_method",
            )
        _confirm(intent, pm)
    return json_response(intent._export(expand=expand))


async def retrieve_payment_intent(request):
    data = await read_params(request)
    expand = pop_expand(data)
    data.pop("key", None)
    intent = _retrieve(request.match_info["id"])
    public = _is_publishable(request)
    if public:
        _check_client_secret(intent, data)
    return json_response(intent._export(expand=[] if public else expand, public=public))


async def confirm_payment_intent(request):
    data = await read_params(request)
    expand = pop_expand(data)
    intent = _retrieve(request.match_info["id"])
    public = _is_publishable(request)
    data.pop("key", None)
    for key in data:
        if key in ("mandate_data", "off_session"):
            raise StripeError(400, f"The local Stripe stand-in does not support `{key}`.", param=key)
        if key not in CONFIRM_PARAMS:
            raise unknown_param(key)
    if public:
        _check_client_secret(intent, data)
    if intent.status not in ("requires_payment_method", "requires_confirmation"):
        raise _unexpected_state(intent, "confirm")
    pm_data = data.get("payment_method_data")
    if pm_data is not None:
        # The Payment Element's confirmPayment: the card inline, a new PaymentMethod made from it.
        if data.get("payment_method"):
            raise StripeError(
                400, "You cannot specify both `payment_method` and `payment_method_data`.", param="payment_method_data"
            )
        if not isinstance(pm_data, dict):
            raise invalid_param("payment_method_data", "Invalid object")
        pm = _card_payment_method(pm_data, prefix="payment_method_data")
    else:
        pm_id = data.get("payment_method") or intent.payment_method
        if not pm_id:
            raise StripeError(
                400,
                "You cannot confirm this PaymentIntent because it's missing a payment method. "
                "To confirm the PaymentIntent with a customer, specify a payment_method.",
                code="payment_intent_unexpected_state",
                param="payment_method",
            )
        pm = resolve_payment_method(pm_id)
    expected = data.get("expected_payment_method_type")
    if expected not in (None, "") and expected != pm.type:
        raise invalid_param(
            "expected_payment_method_type", f"The PaymentMethod is of type {pm.type}, not the expected {expected}."
        )
    if pm.type not in intent.payment_method_types:
        raise invalid_param(
            "payment_method",
            f"The PaymentMethod type {pm.type} is not allowed for this PaymentIntent "
            f"(allowed: {', '.join(intent.payment_method_types)}).",
        )
    receipt_email = to_str(data, "receipt_email", 512)
    if receipt_email is not None:
        if not EMAIL_RE.match(receipt_email):
            raise invalid_param("receipt_email", f"Invalid email address: {receipt_email}", code="email_invalid")
        intent.receipt_email = receipt_email
    _confirm(intent, pm, public=public)
    return json_response(intent._export(expand=[] if public else expand, public=public))


def _confirm(intent, pm, public=False):
    intent.payment_method = pm.id
    intent._last_payment_error = None
    if getattr(pm, "_card_number", None) in AUTHENTICATION_REQUIRED:
        intent._status = "requires_action"
        intent.next_action = {
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {
                "type": "three_d_secure_redirect",
                "stripe_js": "/js.stripe.com/v3/three-d-secure",
                "source": "src_" + random_id(24),
            },
        }
        maybe_webhook("payment_intent.requires_action", intent)
        return
    # The delayed test card: processing until the bank answers (settle_payment_intent).
    _charge(intent, pm, public=public, pending=getattr(pm, "_card_number", None) == cards.DELAYED_CARD)


def _charge(intent, pm, public=False, pending=False):
    """Charge the PaymentIntent's card: succeeded, or a 402 card_error leaving it awaiting another card.

    ``pending``: the payment's outcome comes later (a delayed payment method, as Checkout's
    ``async_payment_*`` flow): the charge stays ``pending`` and the PaymentIntent ``processing``
    until :func:`settle`."""
    number = getattr(pm, "_card_number", None)
    decline = cards.decline_for(pm)
    if decline is None and number is not None and pm._charging_is_declined():
        decline = cards.DECLINES["4000000000000002"]
    charge = StandinCharge(
        amount=intent.amount,
        currency=intent.currency,
        description=intent.description,
        metadata=dict(intent.metadata),
        customer=intent.customer,
        source=pm.id,
        statement_descriptor=intent.statement_descriptor,
    )
    # Stripe copies these from the PaymentIntent when it confirms.
    charge.payment_intent = intent.id
    charge.receipt_email = intent.receipt_email
    charge.statement_descriptor_suffix = intent.statement_descriptor_suffix
    charge.calculated_statement_descriptor = intent.statement_descriptor or "STRIPE STANDIN"
    charge.shipping = intent.shipping
    charge.transfer_group = intent.transfer_group
    charge.disputed = False
    charge.fraud_details = {}
    charge.receipt_url = None
    charge.application_fee_amount = None
    charge.billing_details = dict(getattr(pm, "billing_details", None) or {})
    charge.source = None
    details = cards.card_details(pm)
    details["three_d_secure"] = (
        {"authentication_flow": "challenge", "result": "authenticated", "version": "2.2.0"}
        if number in AUTHENTICATION_REQUIRED
        else None
    )
    charge.payment_method_details = {"type": "card", "card": details}
    charge.outcome = _outcome(decline, number)
    intent._latest_charge = charge
    intent.next_action = None
    if decline is not None:
        code, decline_code, message, param = decline
        charge.status = "failed"
        charge.captured = False
        charge.failure_code = code
        charge.failure_message = message
        error = {
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": message,
            "charge": charge.id,
            "payment_method": pm._export(),
            "doc_url": "https://stripe.com/docs/error-codes/" + code.replace("_", "-"),
        }
        intent._status = "requires_payment_method"
        intent.payment_method = None
        intent._last_payment_error = error
        maybe_webhook("charge.failed", charge)
        maybe_webhook("payment_intent.payment_failed", intent)
        raise StripeError(
            402,
            message,
            type="card_error",
            code=code,
            decline_code=decline_code,
            param=param,
            charge=charge.id,
            payment_intent=intent._export(public=public),
            payment_method=pm._export(),
        )
    charge._authorized = True
    charge._initialize_charge()
    if pending:
        charge.status = "pending"
        intent._status = "processing"
        maybe_webhook("charge.pending", charge)
        maybe_webhook("payment_intent.processing", intent)
        return
    intent._status = "succeeded"
    maybe_webhook("charge.succeeded", charge)
    maybe_webhook("payment_intent.succeeded", intent)


def settle(intent, outcome):
    """A ``processing`` PaymentIntent's delayed outcome: ``succeeded`` or ``failed`` (with the events)."""
    charge = intent.latest_charge
    if intent.status != "processing" or charge is None or charge.status != "pending":
        raise _unexpected_state(intent, "settle")
    if outcome == "succeeded":
        charge.status = "succeeded"
        intent._status = "succeeded"
        maybe_webhook("charge.succeeded", charge)
        maybe_webhook("payment_intent.succeeded", intent)
        return
    if outcome != "failed":
        raise invalid_param("outcome", "outcome must be succeeded or failed")
    code, decline_code, message, _ = cards.DECLINES["4000000000000002"]
    charge.status = "failed"
    charge.captured = False
    charge.failure_code = code
    charge.failure_message = message
    charge.outcome = _outcome(cards.DECLINES["4000000000000002"], None)
    intent._status = "requires_payment_method"
    intent.payment_method = None
    intent._last_payment_error = {
        "type": "card_error",
        "code": code,
        "decline_code": decline_code,
        "message": message,
        "charge": charge.id,
        "doc_url": "https://stripe.com/docs/error-codes/" + code.replace("_", "-"),
    }
    maybe_webhook("charge.failed", charge)
    maybe_webhook("payment_intent.payment_failed", intent)


def fail_authentication(intent, pm):
    """The buyer failed the 3-D Secure challenge: the PaymentIntent waits for another payment method."""
    intent._status = "requires_payment_method"
    intent.next_action = None
    intent.payment_method = None
    intent._last_payment_error = {
        "type": "invalid_request_error",
        "code": "payment_intent_authentication_failure",
        "message": AUTHENTICATION_FAILURE,
        "payment_method": pm._export(),
        "doc_url": "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
    }
    maybe_webhook("payment_intent.payment_failed", intent)


async def authenticate_payment_intent(request):
    """The 3-D Secure answer from the stand-in's challenge (its Stripe.js posts it)."""
    data = await read_params(request)
    intent = _retrieve(request.match_info["id"])
    _check_client_secret(intent, data)
    if intent.status != "requires_action":
        raise _unexpected_state(intent, "authenticate")
    success = to_bool(data, "success", False)
    public = _is_publishable(request)
    pm = resolve_payment_method(intent.payment_method)
    if success:
        try:
            _charge(intent, pm, public=public)
        except StripeError:
            pass  # declined after authentication: the PaymentIntent says why (last_payment_error)
    else:
        fail_authentication(intent, pm)
    return json_response(intent._export(public=public))


async def cancel_payment_intent(request):
    data = await read_params(request)
    expand = pop_expand(data)
    for key in data:
        if key != "cancellation_reason":
            raise unknown_param(key)
    reason = to_str(data, "cancellation_reason")
    if reason is not None and reason not in CANCELLATION_REASONS:
        raise invalid_param("cancellation_reason", f"Invalid cancellation_reason: {reason}")
    intent = _retrieve(request.match_info["id"])
    if intent.status not in CANCELABLE:
        raise StripeError(
            400,
            f"You cannot cancel this PaymentIntent because it has a status of {intent.status}. Only a "
            "PaymentIntent with one of the following statuses may be canceled: " + ", ".join(CANCELABLE) + ".",
            code="payment_intent_unexpected_state",
            payment_intent=intent._export(),
        )
    intent._status = "canceled"
    intent.next_action = None
    intent.canceled_at = int(datetime.datetime.now(datetime.UTC).timestamp())
    intent.cancellation_reason = reason
    maybe_webhook("payment_intent.canceled", intent)
    return json_response(intent._export(expand=expand))


def all_payment_intents():
    items = [v for v in objects_of("payment_intent") if isinstance(v, StandinPaymentIntent)]
    items.reverse()
    return items


async def search_payment_intents(request):
    return await search_response(
        request,
        url="/v1/payment_intents/search",
        items=all_payment_intents,
        fields=SEARCH_FIELDS,
        resource="payment_intents",
    )


ROUTES = [
    ("POST", "/v1/payment_methods", create_payment_method),
    ("POST", "/v1/payment_intents", create_payment_intent),
    ("GET", "/v1/payment_intents/search", search_payment_intents),
    ("GET", "/v1/payment_intents/{id}", retrieve_payment_intent),
    ("POST", "/v1/payment_intents/{id}/confirm", confirm_payment_intent),
    ("POST", "/v1/payment_intents/{id}/cancel", cancel_payment_intent),
    ("POST", "/v1/payment_intents/{id}/_authenticate", authenticate_payment_intent),
]

#: What a browser may do with the publishable key alone (Stripe.js): the handlers check the client secret.
PUBLISHABLE_PATHS = re.compile(
    r"^(?:POST /v1/payment_methods"
    r"|GET /v1/payment_intents/pi_[A-Za-z0-9]+"
    r"|POST /v1/payment_intents/pi_[A-Za-z0-9]+/(?:confirm|_authenticate))$"
)
