"""Charges as Stripe answers them: create, list, search, and a pending charge's later outcome.

These handlers replace localstripe's for ``POST /v1/charges``, ``GET /v1/charges`` and
``GET /v1/charges/search``; everything else is still localstripe's (tokens are ``tokens.py``,
refunds ``refunds.py``). They run behind localstripe's auth middleware and store their objects in
localstripe's store.
"""

import re

from localstripe.resources import Charge, Customer, PaymentMethod, store
from localstripe.server import json_response

from . import cards
from .currencies import check_amount, check_currency
from .errors import StripeError, invalid_param, no_such, unknown_param
from .lists import page, search_response
from .params import EMAIL_RE, pop_expand, read_params, to_bool, to_int, to_metadata, to_str
from .store_index import objects_of
from .webhook_delivery import maybe_webhook

CHARGE_PARAMS = {
    "amount",
    "currency",
    "source",
    "customer",
    "description",
    "receipt_email",
    "metadata",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "capture",
    "shipping",
    "transfer_group",
}
# Stripe knows these, the stand-in does not model them (Connect, Radar, ...).
UNSUPPORTED_CHARGE_PARAMS = {
    "application_fee",
    "application_fee_amount",
    "destination",
    "on_behalf_of",
    "radar_options",
    "transfer_data",
    "level3",
}


def all_charges():
    """Charges, newest first (localstripe's store keeps insertion order)."""
    items = objects_of("charge")
    items.reverse()
    return items


# ---------------------------------------------------------------- charges


class StandinCharge(Charge):
    """localstripe's Charge with the fields Stripe's charge object has."""

    def _update(self, **data):
        """``POST /v1/charges/{id}`` (the dashboard editing a charge's metadata): as Stripe, a key set
        to an empty string is removed (localstripe would keep it as "")."""
        metadata = data.get("metadata")
        super()._update(**data)
        if isinstance(metadata, dict) and self.metadata:
            for key, value in metadata.items():
                if value == "":
                    self.metadata.pop(key, None)

    @property
    def amount_captured(self):
        if self.status == "succeeded" and self.captured:
            return self.amount
        return 0


def _resolve_source(source, customer):
    """(card-like object, token to mark used or None)."""
    if source is not None and not isinstance(source, str):
        raise StripeError(
            400,
            "The local Stripe stand-in takes a source id (tok_…, card_…, pm_…, src_…), not raw card details.",
            param="source",
        )
    if source is None:
        if customer is None:
            raise StripeError(400, "Must provide source or customer.", code="missing")
        try:
            cus = Customer._api_retrieve(customer)
        except Exception:
            raise no_such("customer", customer, param="customer") from None
        obj = cus._get_default_payment_method_or_source()
        if obj is None:
            raise StripeError(400, "Cannot charge a customer that has no active card", code="missing", param="card")
        return obj, None

    if source.startswith("tok_"):
        if customer is not None:
            raise StripeError(
                400,
                f"Customer {customer} does not have a linked source with ID {source}.",
                code="missing",
                param="source",
            )
        if source in cards.MAGIC_TOKENS:
            return cards.card_for_magic_token(source), None
        token = store.get("token:" + source)
        if token is None:
            raise no_such("token", source, param="source")
        if getattr(token, "used", False):
            raise StripeError(
                400,
                f"You cannot use a Stripe token more than once: {source}",
                code="token_already_used",
                param="source",
            )
        return token.card, token

    if source.startswith(("card_", "pm_", "src_")):
        try:
            obj = PaymentMethod._api_retrieve(source)
        except StripeError:
            raise
        except Exception:
            raise no_such("source", source, param="source") from None
        if customer is not None and getattr(obj, "customer", None) != customer:
            raise StripeError(
                400,
                f"Customer {customer} does not have a linked source with ID {source}.",
                code="missing",
                param="source",
            )
        return obj, None
    raise no_such("source", source, param="source")


def _outcome(decline, number):
    if decline is None:
        return {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 32,
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    if number in cards.BLOCKED_BY_RADAR:
        return {
            "network_status": "not_sent_to_network",
            "reason": "highest_risk_level",
            "risk_level": "highest",
            "risk_score": 95,
            "seller_message": "Stripe blocked this payment as too risky.",
            "type": "blocked",
        }
    decline_code = decline[1]
    if decline_code == "generic_decline":
        seller = "The bank did not return any further details with this decline."
    else:
        seller = f"The bank returned the decline code `{decline_code}`."
    return {
        "network_status": "declined_by_network",
        "reason": decline_code,
        "risk_level": "normal",
        "risk_score": 32,
        "seller_message": seller,
        "type": "issuer_declined",
    }


def _check_charge_params(data):
    for key in data:
        if key in UNSUPPORTED_CHARGE_PARAMS:
            raise StripeError(
                400, f"The local Stripe stand-in does not support `{key}`.", code="parameter_unknown", param=key
            )
        if key not in CHARGE_PARAMS:
            raise unknown_param(key)

    # The currency first, then the amount in it: in the order a Checkout Session's line item is read.
    currency = check_currency(data.get("currency"))
    amount = to_int(data, "amount", required=True)
    check_amount(amount, currency)

    receipt_email = to_str(data, "receipt_email", 512)
    if receipt_email is not None and not EMAIL_RE.match(receipt_email):
        raise invalid_param("receipt_email", f"Invalid email address: {receipt_email}", code="email_invalid")
    descriptor = to_str(data, "statement_descriptor", 22)
    if descriptor is not None and (not re.search(r"[A-Za-z]", descriptor) or re.search(r"[<>\\'\"*]", descriptor)):
        raise invalid_param(
            "statement_descriptor",
            "The statement descriptor must contain at least one letter and none of < > \\ ' \" *.",
        )
    suffix = to_str(data, "statement_descriptor_suffix", 22)
    shipping = data.get("shipping")
    if shipping in (None, ""):
        shipping = None
    elif not isinstance(shipping, dict):
        raise invalid_param("shipping", "Invalid object")
    customer = to_str(data, "customer")
    return {
        "amount": amount,
        "currency": currency,
        "description": to_str(data, "description", 1000),
        "receipt_email": receipt_email,
        "metadata": to_metadata(data),
        "statement_descriptor": descriptor,
        "statement_descriptor_suffix": suffix,
        "capture": to_bool(data, "capture", True),
        "shipping": shipping,
        "transfer_group": to_str(data, "transfer_group"),
        "customer": customer,
        "source": data.get("source") if data.get("source") != "" else None,
    }


async def create_charge(request):
    data = await read_params(request)
    expand = pop_expand(data)
    p = _check_charge_params(data)
    source_obj, token = _resolve_source(p["source"], p["customer"])
    customer = p["customer"] or getattr(source_obj, "customer", None)

    # All checks are done: from here on the charge exists, even if declined.
    charge = StandinCharge(
        amount=p["amount"],
        currency=p["currency"],
        description=p["description"],
        metadata=p["metadata"],
        customer=customer,
        source=source_obj.id,
        capture=p["capture"],
        statement_descriptor=p["statement_descriptor"],
    )
    if token is not None:
        token.used = True

    is_card = hasattr(source_obj, "_card_number")
    number = getattr(source_obj, "_card_number", None)
    decline = cards.decline_for(source_obj)
    if number in cards.AUTHENTICATION_REQUIRED:
        decline = cards.AUTHENTICATION_REQUIRED_DECLINE
    if decline is None and is_card and source_obj._charging_is_declined():
        decline = cards.DECLINES["4000000000000002"]

    charge.receipt_email = p["receipt_email"]
    charge.statement_descriptor_suffix = p["statement_descriptor_suffix"]
    charge.calculated_statement_descriptor = p["statement_descriptor"] or "STRIPE STANDIN"
    charge.shipping = p["shipping"]
    charge.transfer_group = p["transfer_group"]
    charge.disputed = False
    charge.fraud_details = {}
    charge.receipt_url = None
    charge.application_fee_amount = None
    charge.billing_details = {
        "address": {
            "city": getattr(source_obj, "address_city", None),
            "country": getattr(source_obj, "address_country", None),
            "line1": getattr(source_obj, "address_line1", None),
            "line2": getattr(source_obj, "address_line2", None),
            "postal_code": getattr(source_obj, "address_zip", None),
            "state": getattr(source_obj, "address_state", None),
        },
        "email": None,
        "name": getattr(source_obj, "name", None),
        "phone": None,
    }
    if getattr(source_obj, "object", None) == "card":
        charge.source = source_obj._export()
    else:
        charge.source = None
    if is_card:
        charge.payment_method_details = {"type": "card", "card": cards.card_details(source_obj)}
    else:
        charge.payment_method_details = {"type": getattr(source_obj, "type", None)}

    if is_card:
        charge.outcome = _outcome(decline, number)
        if decline is not None:
            code, decline_code, message, param = decline
            charge.status = "failed"
            charge.captured = False
            charge.failure_code = code
            charge.failure_message = message
            maybe_webhook("charge.failed", charge)
            raise StripeError(
                402, message, type="card_error", code=code, decline_code=decline_code, param=param, charge=charge.id
            )
        charge._authorized = True
        charge._initialize_charge()
        if p["source"] in cards.PENDING_TOKENS:
            # As for some payment methods on Stripe: the outcome comes later (settle_charge).
            charge.status = "pending"
            maybe_webhook("charge.pending", charge)
            return json_response(charge._export(expand=expand))
    else:
        # Sources / SEPA: localstripe's own (possibly asynchronous) outcome.
        charge.outcome = _outcome(None, None)
        charge._initialize_charge(on_failure_now=charge._raise_failure)

    maybe_webhook("charge.succeeded", charge)
    return json_response(charge._export(expand=expand))


async def list_charges(request):
    data = await read_params(request)
    expand = pop_expand(data)
    limit = to_int(data, "limit", minimum=1, maximum=100) or 10
    starting_after = to_str(data, "starting_after")
    ending_before = to_str(data, "ending_before")
    customer = to_str(data, "customer")
    payment_intent = to_str(data, "payment_intent")
    transfer_group = to_str(data, "transfer_group")
    created = data.get("created")
    for key in data:
        if key not in (
            "limit",
            "starting_after",
            "ending_before",
            "customer",
            "payment_intent",
            "transfer_group",
            "created",
        ):
            raise unknown_param(key)

    checks = []
    if customer:
        checks.append(lambda c: c.customer == customer)
    if payment_intent:
        checks.append(lambda c: c.payment_intent == payment_intent)
    if transfer_group:
        checks.append(lambda c: getattr(c, "transfer_group", None) == transfer_group)
    if isinstance(created, dict):
        ops = {
            "gt": lambda a, b: a > b,
            "gte": lambda a, b: a >= b,
            "lt": lambda a, b: a < b,
            "lte": lambda a, b: a <= b,
        }
        for op, _raw in created.items():
            if op not in ops:
                raise unknown_param(f"created[{op}]")
            bound = to_int(created, op)
            checks.append(lambda c, f=ops[op], b=bound: f(c.created, b))
    elif created not in (None, ""):
        bound = to_int(data, "created")
        checks.append(lambda c: c.created == bound)

    items = [c for c in all_charges() if all(f(c) for f in checks)]
    found, has_more = page(items, limit, starting_after, ending_before, object_name="charge")
    data_expand = [e[len("data.") :] for e in expand if e.startswith("data.")]
    return json_response(
        {
            "object": "list",
            "url": "/v1/charges",
            "has_more": has_more,
            "data": [c._export(expand=data_expand) for c in found],
        }
    )


async def search_charges(request):
    return await search_response(request, url="/v1/charges/search", items=all_charges)


def settle_charge(charge_id, outcome):
    """A ``pending`` charge's outcome arrives: ``succeeded`` or ``failed`` (+ its event)."""
    charge = store.get("charge:" + charge_id)
    if charge is None:
        raise no_such("charge", charge_id, status=404)
    if charge.status != "pending":
        raise StripeError(400, f"Charge {charge_id} is not pending (it is {charge.status}).")
    if outcome == "succeeded":
        charge.status = "succeeded"
        maybe_webhook("charge.succeeded", charge)
    elif outcome == "failed":
        code, decline_code, message, _ = cards.DECLINES["4000000000000002"]
        charge.status = "failed"
        charge.captured = False
        charge.failure_code = code
        charge.failure_message = message
        charge.outcome = _outcome(cards.DECLINES["4000000000000002"], None)
        maybe_webhook("charge.failed", charge)
    else:
        raise invalid_param("outcome", "outcome must be succeeded or failed")
    return charge
