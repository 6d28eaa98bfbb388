"""Tokens, charges, charge list/search and refunds as Stripe answers them.

These handlers replace localstripe's for ``POST /v1/tokens``,
``POST /v1/charges``, ``GET /v1/charges``, ``GET /v1/charges/search`` and
``POST /v1/refunds``; everything else is still localstripe's. They run behind
localstripe's auth middleware and store their objects in localstripe's store.
"""

import base64
import re

from localstripe import webhooks
from localstripe.resources import (Charge, Customer, Event, PaymentMethod,
                                   Refund, store)
from localstripe.server import get_post_data, json_response, unflatten_data

from . import cards
from .search_lag import INDEX as SEARCH_INDEX
from .errors import (StripeError, invalid_integer, invalid_param,
                     missing_param, no_such, unknown_param)
from .search import parse_query

ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg",
                "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}
# Stripe's minimum charge amounts (in the currency's smallest unit) for the
# currencies a small store is likely to use; others only need amount >= 1.
MINIMUM_AMOUNT = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50,
                  "nzd": 50, "chf": 50, "jpy": 50, "sek": 300, "nok": 300,
                  "dkk": 250, "pln": 200, "czk": 1500, "huf": 17500,
                  "mxn": 1000, "brl": 50, "sgd": 50, "hkd": 400, "inr": 50}
MAXIMUM_AMOUNT = 99999999
CURRENCIES = set("""
aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob
brl bsd bwp byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp
etb eur fjd fkp gbp gel gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk
jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga
mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen
pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd
std szl thb tjs tnd top try ttd twd tzs uah ugx usd uyu uzs vnd vuv wst xaf
xcd xof xpf yer zar zmw
""".split())

CHARGE_PARAMS = {"amount", "currency", "source", "customer", "description",
                 "receipt_email", "metadata", "statement_descriptor",
                 "statement_descriptor_suffix", "capture", "shipping",
                 "transfer_group"}
# Stripe knows these, the stand-in does not model them (Connect, Radar, ...).
UNSUPPORTED_CHARGE_PARAMS = {"application_fee", "application_fee_amount",
                             "destination", "on_behalf_of", "radar_options",
                             "transfer_data", "level3"}
REFUND_PARAMS = {"charge", "payment_intent", "amount", "reason", "metadata"}
REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}
TOKEN_IGNORED = {"payment_user_agent", "time_on_page", "guid", "muid", "sid",
                 "pasted_fields", "referrer", "key"}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# ---------------------------------------------------------------- helpers

async def read_params(request):
    if request.method == "GET":
        data = unflatten_data(request.query)
    else:
        data = await get_post_data(request)
    if not data:
        return {}
    if not isinstance(data, dict):
        raise StripeError(400, "Invalid request body: expected an object.")
    return dict(data)


def pop_expand(data):
    expand = data.pop("expand", None)
    if expand is None or expand == "":
        return []
    if isinstance(expand, str):
        expand = [expand]
    if not isinstance(expand, list) or not all(
            isinstance(e, str) for e in expand):
        raise invalid_param("expand", "Invalid array")
    return expand


def to_int(data, param, required=False, minimum=None, maximum=None):
    value = data.get(param)
    if value is None or value == "":
        if required:
            raise missing_param(param)
        return None
    if isinstance(value, bool) or not (
            isinstance(value, int)
            or (isinstance(value, str) and re.fullmatch(r"-?\d+", value))):
        raise invalid_integer(param, value)
    value = int(value)
    if minimum is not None and value < minimum:
        raise invalid_param(
            param, f"This value must be greater than or equal to {minimum}.")
    if maximum is not None and value > maximum:
        raise invalid_param(
            param, f"This value must be less than or equal to {maximum}.")
    return value


def to_str(data, param, max_length=None):
    value = data.get(param)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid_param(param, f"Invalid string: {value!r}")
    if max_length is not None and len(value) > max_length:
        raise invalid_param(
            param, f"Invalid string: {value[:20]}...; must be at most "
                   f"{max_length} characters", code="string_too_long")
    return value


def to_bool(data, param, default):
    value = data.get(param)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid_param(param, f"Invalid boolean: {value}")


def to_metadata(data, param="metadata"):
    value = data.get(param)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid_param(param, "Invalid object")
    if len(value) > 50:
        raise invalid_param(
            param, "Invalid metadata: metadata can have at most 50 keys.")
    out = {}
    for k, v in value.items():
        if len(str(k)) > 40:
            raise invalid_param(
                f"{param}[{k}]", "Invalid metadata: keys can be at most 40 "
                                 "characters long.")
        if v is None or v == "":
            continue
        if isinstance(v, (dict, list)):
            raise invalid_param(f"{param}[{k}]", "Invalid metadata value.")
        v = str(v).lower() if isinstance(v, bool) else str(v)
        if len(v) > 500:
            raise invalid_param(
                f"{param}[{k}]", "Invalid metadata: values can be at most "
                                 "500 characters long.")
        out[str(k)] = v
    return out


def currency_digits(currency):
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def format_amount(amount, currency):
    digits = currency_digits(currency)
    symbol = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}.get(currency)
    value = f"{amount / 10 ** digits:,.{digits}f}"
    return f"{symbol}{value}" if symbol else f"{value} {currency}"


def maybe_webhook(event_type, obj):
    """Record an event; deliver it only if a webhook is registered."""
    event = Event(event_type, obj)
    if webhooks._webhooks:
        webhooks.schedule_webhook(event)
    return event


def all_charges():
    """Charges, newest first (localstripe's store keeps insertion order)."""
    items = [v for k, v in store.items() if k.startswith("charge:")]
    items.reverse()
    return items


# ---------------------------------------------------------------- tokens

async def create_token(request):
    data = await read_params(request)
    pop_expand(data)
    for key in TOKEN_IGNORED:
        data.pop(key, None)
    email = data.pop("email", None)
    card = data.pop("card", None)
    for key in data:
        if key in ("bank_account", "pii", "account", "person", "cvc_update",
                   "customer"):
            raise StripeError(400, "The local Stripe stand-in only makes card "
                                   f"tokens (got `{key}`).", param=key)
        raise unknown_param(key)
    if card is None or card == "":
        raise missing_param("card")
    if not isinstance(card, dict):
        raise StripeError(400, "The local Stripe stand-in only makes tokens "
                               "from raw card details (card[number], ...).",
                          param="card")
    number, exp_month, exp_year, cvc = cards.validate_card(card)
    card_obj = cards.StandinCard(number, exp_month, exp_year, cvc, card)
    token = cards.StandinToken(card_obj, client_ip=request.remote,
                               email=email if isinstance(email, str) else None)
    return json_response(token._export())


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
        raise StripeError(400, "The local Stripe stand-in takes a source id "
                               "(tok_…, card_…, pm_…, src_…), not raw card "
                               "details.", param="source")
    if source is None:
        if customer is None:
            raise StripeError(400, "Must provide source or customer.",
                              code="missing")
        try:
            cus = Customer._api_retrieve(customer)
        except Exception:
            raise no_such("customer", customer, param="customer")
        obj = cus._get_default_payment_method_or_source()
        if obj is None:
            raise StripeError(
                400, "Cannot charge a customer that has no active card",
                code="missing", param="card")
        return obj, None

    if source.startswith("tok_"):
        if customer is not None:
            raise StripeError(
                400, f"Customer {customer} does not have a linked source "
                     f"with ID {source}.", code="missing", param="source")
        if source in cards.MAGIC_TOKENS:
            return cards.card_for_magic_token(source), None
        token = store.get("token:" + source)
        if token is None:
            raise no_such("token", source, param="source")
        if getattr(token, "used", False):
            raise StripeError(
                400, f"You cannot use a Stripe token more than once: {source}",
                code="token_already_used", param="source")
        return token.card, token

    if source.startswith(("card_", "pm_", "src_")):
        try:
            obj = PaymentMethod._api_retrieve(source)
        except StripeError:
            raise
        except Exception:
            raise no_such("source", source, param="source")
        if customer is not None and getattr(obj, "customer", None) != customer:
            raise StripeError(
                400, f"Customer {customer} does not have a linked source "
                     f"with ID {source}.", code="missing", param="source")
        return obj, None
    raise no_such("source", source, param="source")


def _outcome(decline, number):
    if decline is None:
        return {"network_status": "approved_by_network", "reason": None,
                "risk_level": "normal", "risk_score": 32,
                "seller_message": "Payment complete.", "type": "authorized"}
    if number in cards.BLOCKED_BY_RADAR:
        return {"network_status": "not_sent_to_network",
                "reason": "highest_risk_level", "risk_level": "highest",
                "risk_score": 95,
                "seller_message": "Stripe blocked this payment as too risky.",
                "type": "blocked"}
    decline_code = decline[1]
    if decline_code == "generic_decline":
        seller = "The bank did not return any further details with this " \
                 "decline."
    else:
        seller = f"The bank returned the decline code `{decline_code}`."
    return {"network_status": "declined_by_network", "reason": decline_code,
            "risk_level": "normal", "risk_score": 32,
            "seller_message": seller, "type": "issuer_declined"}


def _check_charge_params(data):
    for key in data:
        if key in UNSUPPORTED_CHARGE_PARAMS:
            raise StripeError(
                400, f"The local Stripe stand-in does not support `{key}`.",
                code="parameter_unknown", param=key)
        if key not in CHARGE_PARAMS:
            raise unknown_param(key)

    amount = to_int(data, "amount", required=True)
    currency = data.get("currency")
    if currency is None or currency == "":
        raise missing_param("currency")
    if not isinstance(currency, str) or currency.lower() not in CURRENCIES:
        raise invalid_param("currency", f"Invalid currency: {currency}.")
    currency = currency.lower()
    minimum = MINIMUM_AMOUNT.get(currency, 1)
    if amount < minimum:
        raise StripeError(
            400, f"Amount must be at least {format_amount(minimum, currency)}"
                 f" {currency}", code="amount_too_small", param="amount")
    if amount > MAXIMUM_AMOUNT:
        raise StripeError(
            400, "Amount must be no more than "
                 f"{format_amount(MAXIMUM_AMOUNT, currency)}",
            code="amount_too_large", param="amount")

    receipt_email = to_str(data, "receipt_email", 512)
    if receipt_email is not None and not EMAIL_RE.match(receipt_email):
        raise invalid_param("receipt_email",
                            f"Invalid email address: {receipt_email}",
                            code="email_invalid")
    descriptor = to_str(data, "statement_descriptor", 22)
    if descriptor is not None and (
            not re.search(r"[A-Za-z]", descriptor)
            or re.search(r"[<>\\'\"*]", descriptor)):
        raise invalid_param("statement_descriptor",
                            "The statement descriptor must contain at least "
                            "one letter and none of < > \\ ' \" *.")
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
        amount=p["amount"], currency=p["currency"],
        description=p["description"], metadata=p["metadata"],
        customer=customer, source=source_obj.id, capture=p["capture"],
        statement_descriptor=p["statement_descriptor"])
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
    charge.calculated_statement_descriptor = (
        p["statement_descriptor"] or "STRIPE STANDIN")
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
            "state": getattr(source_obj, "address_state", None)},
        "email": None, "name": getattr(source_obj, "name", None),
        "phone": None}
    if getattr(source_obj, "object", None) == "card":
        charge.source = source_obj._export()
    else:
        charge.source = None
    if is_card:
        charge.payment_method_details = {
            "type": "card", "card": cards.card_details(source_obj)}
    else:
        charge.payment_method_details = {"type": getattr(source_obj, "type",
                                                         None)}

    if is_card:
        charge.outcome = _outcome(decline, number)
        if decline is not None:
            code, decline_code, message, param = decline
            charge.status = "failed"
            charge.captured = False
            charge.failure_code = code
            charge.failure_message = message
            maybe_webhook("charge.failed", charge)
            raise StripeError(402, message, type="card_error", code=code,
                              decline_code=decline_code, param=param,
                              charge=charge.id)
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


def _page(items, limit, starting_after=None, ending_before=None):
    if starting_after:
        ids = [c.id for c in items]
        if starting_after not in ids:
            raise no_such("charge", starting_after, param="starting_after")
        items = items[ids.index(starting_after) + 1:]
    elif ending_before:
        ids = [c.id for c in items]
        if ending_before not in ids:
            raise no_such("charge", ending_before, param="ending_before")
        items = items[:ids.index(ending_before)]
        return items[-limit:], len(items) > limit
    return items[:limit], len(items) > limit


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
        if key not in ("limit", "starting_after", "ending_before", "customer",
                       "payment_intent", "transfer_group", "created"):
            raise unknown_param(key)

    checks = []
    if customer:
        checks.append(lambda c: c.customer == customer)
    if payment_intent:
        checks.append(lambda c: c.payment_intent == payment_intent)
    if transfer_group:
        checks.append(lambda c: getattr(c, "transfer_group", None)
                      == transfer_group)
    if isinstance(created, dict):
        ops = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
               "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}
        for op, raw in created.items():
            if op not in ops:
                raise unknown_param(f"created[{op}]")
            bound = to_int(created, op)
            checks.append(lambda c, f=ops[op], b=bound: f(c.created, b))
    elif created not in (None, ""):
        bound = to_int(data, "created")
        checks.append(lambda c: c.created == bound)

    items = [c for c in all_charges() if all(f(c) for f in checks)]
    page, has_more = _page(items, limit, starting_after, ending_before)
    data_expand = [e[len("data."):] for e in expand if e.startswith("data.")]
    return json_response({
        "object": "list", "url": "/v1/charges", "has_more": has_more,
        "data": [c._export(expand=data_expand) for c in page]})


def _encode_page(offset):
    return "page_" + base64.urlsafe_b64encode(
        str(offset).encode()).decode().rstrip("=")


def _decode_page(page):
    try:
        assert page.startswith("page_")
        raw = page[5:]
        return int(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except Exception:
        raise invalid_param("page", f"Invalid page: {page}")


async def search_response(request, *, url, items, **query_options):
    """Stripe's search endpoints: ``query`` over ``items()`` (newest first), ``limit``, ``page``
    and ``expand`` (``data.…`` and ``total_count``), answered as a ``search_result``."""
    data = await read_params(request)
    expand = pop_expand(data)
    query = data.pop("query", None)
    limit = to_int(data, "limit", minimum=1, maximum=100) or 10
    data.pop("limit", None)
    page = to_str(data, "page")
    data.pop("page", None)
    for key in data:
        raise unknown_param(key)
    predicate = parse_query(query, **query_options)
    offset = _decode_page(page) if page else 0
    objects = items()
    SEARCH_INDEX.refresh(objects)
    # Matched against what the (maybe lagging) search index holds; answered as the object is now.
    found = []
    for item in objects:
        state = SEARCH_INDEX.indexed(item)
        if state is not None and predicate(state):
            found.append(item)
    chunk = found[offset:offset + limit]
    has_more = len(found) > offset + limit
    data_expand = [e[len("data."):] for e in expand if e.startswith("data.")]
    result = {
        "object": "search_result", "url": url,
        "has_more": has_more,
        "next_page": _encode_page(offset + limit) if has_more else None,
        "data": [item._export(expand=data_expand) for item in chunk]}
    if "total_count" in expand:
        result["total_count"] = len(found)
    return json_response(result)


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


# ---------------------------------------------------------------- refunds

async def create_refund(request):
    data = await read_params(request)
    expand = pop_expand(data)
    for key in data:
        if key not in REFUND_PARAMS:
            raise unknown_param(key)
    charge_id = to_str(data, "charge")
    payment_intent = to_str(data, "payment_intent")
    amount = to_int(data, "amount", minimum=1)
    reason = to_str(data, "reason")
    metadata = to_metadata(data)
    if reason is not None and reason not in REFUND_REASONS:
        raise invalid_param("reason", f"Invalid reason: must be one of "
                                      f"{', '.join(sorted(REFUND_REASONS))}")
    if not charge_id and not payment_intent:
        raise StripeError(400, "One of the following params should be "
                               "provided for this request: payment_intent "
                               "or charge.", code="parameter_missing")
    if charge_id and payment_intent:
        raise StripeError(400, "You can only pass one of charge or "
                               "payment_intent.", param="payment_intent")
    if payment_intent:
        intent = store.get("payment_intent:" + payment_intent)
        if intent is None:
            raise no_such("payment_intent", payment_intent,
                          param="payment_intent")
        if intent.status != "succeeded" or intent.latest_charge is None:
            raise StripeError(
                400, f"This PaymentIntent ({payment_intent}) does not have "
                     "a successful charge to refund.",
                code="charge_not_refundable", param="payment_intent")
        charge_id = intent.latest_charge.id
    if charge_id:
        charge = store.get("charge:" + charge_id)
        if charge is None:
            raise no_such("charge", charge_id, param="charge")
        if charge.status == "failed":
            raise StripeError(400, "Cannot refund a failed payment.",
                              param="charge")
        remaining = charge.amount - charge.amount_refunded
        if remaining <= 0:
            raise StripeError(
                400, f"Charge {charge_id} has already been refunded.",
                code="charge_already_refunded", param="charge")
        if amount is not None and amount > remaining:
            raise StripeError(
                400, f"Refund amount ({format_amount(amount, charge.currency)})"
                     " is greater than unrefunded amount on charge "
                     f"({format_amount(remaining, charge.currency)})",
                code="amount_too_large", param="amount")
        if amount is None:
            amount = remaining
    refund = Refund(charge=charge_id, amount=amount, metadata=metadata)
    refund.payment_intent = payment_intent or getattr(
        store.get("charge:" + charge_id), "payment_intent", None)
    refund.reason = reason
    charge = store.get("charge:" + refund.charge)
    if charge is not None:
        maybe_webhook("charge.refunded", charge)
    return json_response(refund._export(expand=expand))
