"""Checkout Sessions as Stripe hosts them: the API (``/v1/checkout/sessions``) and their state.

No local emulator has them (stripe-mock is stateless, localstripe has none); the stand-in hosts them
for ``mode=payment`` with inline prices (``line_items[][price_data]``), on its own payment page
(``checkout_page.py``). The API, through the SDK's ``client.v1.checkout.sessions``:

- ``POST /v1/checkout/sessions`` (create; ``Idempotency-Key`` replays as for every POST),
- ``GET /v1/checkout/sessions/{id}`` (``expand[]``: ``payment_intent``,
  ``payment_intent.latest_charge``, ``line_items``),
- ``GET /v1/checkout/sessions`` (newest first; ``payment_intent``, ``status``,
  ``customer_details[email]``, ``created``, ``limit``, ``starting_after``/``ending_before``),
- ``POST /v1/checkout/sessions/{id}/expire``,
- ``GET /v1/checkout/sessions/{id}/line_items``.

Strictness: parameters the pinned SDK's API version does not know are refused before the handler
(``params.py``); the ones it knows but the stand-in does not model get a 400 saying so; ``ui_mode``
must be one of the SDK's values (``SessionCreateParams``), and the stand-in hosts only
``hosted_page``: the pre-2026-03-25.dahlia ``hosted``/``embedded``/``custom`` get Stripe's
invalid-value error. ``expires_at`` from 30 minutes to 24 hours after creation (Stripe's
messages), ``success_url`` required and ``cancel_url`` optional for a hosted page (as on Stripe),
``line_items`` required in ``payment`` mode, each with ``quantity`` and ``price_data``
(``currency``, integer ``unit_amount``, ``product_data[name]``), one currency, the currency's
minimum total.

Tax (the stand-in's own rule, not Stripe Tax's): with ``automatic_tax[enabled]=true`` every line
item is taxed at :data:`TAX_RATE` (20 %), per line item, rounded half up to the currency's minor
unit; ``tax_behavior=exclusive`` adds it (``amount_total = amount_subtotal + tax``),
``inclusive`` takes it out of the price (``amount_total = amount_subtotal``,
``total_details.amount_tax`` the part included: ``round(amount * 0.2 / 1.2)``); a line item
without a ``tax_behavior`` (or ``unspecified``) is refused as Stripe refuses it. Without automatic
tax the tax is 0.

Lifecycle: ``open`` → ``complete`` (``payment_status`` ``paid``; or ``unpaid`` with the stand-in's
delayed test card, until ``POST /_standin/checkout/sessions/{id}/settle``) or ``expired`` (the
expire call, ``expires_at`` passing — checked on every read and by a timer —, or
``POST /_standin/checkout/sessions/{id}/expire_now``). The PaymentIntent is made when the buyer
first submits a card on the page (``payment_intent`` is null until then) with the session's
``amount_total``, currency and ``payment_intent_data`` (description, receipt_email, metadata,
statement_descriptor_suffix); its charge gets them too. Expiring a session cancels its unpaid
PaymentIntent. Events: ``checkout.session.completed``, ``.expired``, ``.async_payment_succeeded``,
``.async_payment_failed``, besides the PaymentIntent's and charge's own.
"""

import asyncio
import decimal
import re
import time
import urllib.parse

import stripe.params.checkout
from localstripe.resources import StripeObject, random_id, store
from localstripe.server import json_response

from . import cards, payment_intents
from .currencies import SESSION_TOTAL_WORDING, check_amount, check_currency, check_unit
from .errors import StripeError, invalid_param, missing_param, no_such, unknown_param
from .lists import page
from .params import EMAIL_RE, pop_expand, read_params, to_bool, to_int, to_metadata, to_str
from .store_index import objects_of
from .webhook_delivery import maybe_webhook

#: The stand-in's one tax rate for ``automatic_tax[enabled]=true`` (a test rate, not any country's).
TAX_RATE = decimal.Decimal("0.20")
TAX_RATE_ID = "txr_standin_test_20"
MIN_EXPIRY = 30 * 60
MAX_EXPIRY = 24 * 3600
DEFAULT_EXPIRY = 24 * 3600


def _literal_values(annotation):
    return tuple(re.findall(r"'([A-Za-z_]+)'", str(annotation)))


_CREATE = stripe.params.checkout.SessionCreateParams
#: ``ui_mode`` values of the pinned SDK's API version, and the one the stand-in hosts.
UI_MODES = _literal_values(_CREATE.__annotations__["ui_mode"])
HOSTED_UI_MODE = "hosted_page"
assert HOSTED_UI_MODE in UI_MODES, UI_MODES
MODES = _literal_values(_CREATE.__annotations__["mode"])
TAX_BEHAVIORS = _literal_values(
    stripe.params.checkout._session_create_params.SessionCreateParamsLineItemPriceData.__annotations__["tax_behavior"]
)
SUBMIT_TYPES = _literal_values(_CREATE.__annotations__["submit_type"])

SUPPORTED = {
    "mode",
    "line_items",
    "success_url",
    "cancel_url",
    "ui_mode",
    "expires_at",
    "client_reference_id",
    "metadata",
    "customer_email",
    "payment_intent_data",
    "automatic_tax",
    "locale",
    "submit_type",
    "branding_settings",
}
PAYMENT_INTENT_DATA = {"description", "receipt_email", "metadata", "statement_descriptor_suffix"}
LINE_ITEM = {"price_data", "quantity", "metadata"}
PRICE_DATA = {"currency", "unit_amount", "product_data", "tax_behavior"}
PRODUCT_DATA = {"name", "description", "images", "tax_code", "metadata"}
BRANDING = {"display_name"}
EXPANDABLE = {"payment_intent", "line_items", "customer", "invoice", "payment_link", "setup_intent", "subscription"}
TAX_CODE_RE = re.compile(r"^txcd_\d{8}$")
#: The stand-in's own test card for a delayed payment method (not a Stripe number): the session
#: completes ``unpaid`` and its payment settles later (``POST /_standin/checkout/sessions/{id}/settle``).
DELAYED_CARD = cards.DELAYED_CARD


def _unsupported(param, hint=""):
    return StripeError(
        400,
        f"The local Stripe stand-in does not support `{param}` on Checkout Sessions." + (f" {hint}" if hint else ""),
        code="parameter_unknown",
        param=param,
    )


def _now():
    return int(time.time())


def _round(value):
    return int(value.quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP))


def tax_for(amount, behavior):
    """The stand-in's tax on a line amount: exclusive adds 20 %, inclusive holds 20/120 of it."""
    if behavior == "exclusive":
        return _round(decimal.Decimal(amount) * TAX_RATE)
    if behavior == "inclusive":
        return _round(decimal.Decimal(amount) * TAX_RATE / (1 + TAX_RATE))
    return 0


def _url(data, param, required=False):
    value = to_str(data, param, 5000)
    if value is None:
        if required:
            raise missing_param(param)
        return None
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid_param(param, "Not a valid URL", code="url_invalid")
    return value


def _object(data, param, allowed, prefix=None):
    value = data.get(param)
    if value in (None, ""):
        return {}
    name = f"{prefix}[{param}]" if prefix else param
    if not isinstance(value, dict):
        raise invalid_param(name, "Invalid object")
    for key in value:
        if key not in allowed:
            raise _unsupported(f"{name}[{key}]")
    return value


def _line_items(data, automatic_tax):
    items = data.get("line_items")
    if items in (None, "", []):
        raise StripeError(
            400, "`line_items` is required in `payment` mode.", code="parameter_missing", param="line_items"
        )
    if isinstance(items, dict):
        raise invalid_param("line_items", "Invalid array")
    if not isinstance(items, list):
        raise invalid_param("line_items", "Invalid array")
    if len(items) > 100:
        raise invalid_param("line_items", "A Checkout Session in `payment` mode can have at most 100 line items.")
    out, currency = [], None
    for i, item in enumerate(items):
        p = f"line_items[{i}]"
        if not isinstance(item, dict):
            raise invalid_param(p, "Invalid object")
        for key in item:
            if key == "price":
                raise _unsupported(f"{p}[price]", f"It has no Prices: give the amount inline with `{p}[price_data]`.")
            if key not in LINE_ITEM:
                raise _unsupported(f"{p}[{key}]")
        price_data = item.get("price_data")
        if price_data in (None, ""):
            raise StripeError(
                400,
                f"You must specify either `price` or `price_data` in `{p}`.",
                code="parameter_missing",
                param=f"{p}[price_data]",
            )
        if not isinstance(price_data, dict):
            raise invalid_param(f"{p}[price_data]", "Invalid object")
        pp = f"{p}[price_data]"
        for key in price_data:
            if key not in PRICE_DATA:
                raise _unsupported(f"{pp}[{key}]")
        item_currency = check_currency(price_data.get("currency"), f"{pp}[currency]")
        if currency is not None and item_currency != currency:
            raise invalid_param(
                f"{pp}[currency]",
                "All line items in a Checkout Session must have the same "
                f"currency (`{currency}` and `{item_currency}`).",
            )
        currency = item_currency
        unit_amount = _int(price_data, "unit_amount", f"{pp}[unit_amount]", required=True, minimum=0)
        check_unit(unit_amount, currency, f"{pp}[unit_amount]")
        product = price_data.get("product_data")
        if product in (None, ""):
            raise StripeError(
                400,
                f"You must specify either `product` or `product_data` in `{pp}`.",
                code="parameter_missing",
                param=f"{pp}[product_data]",
            )
        if not isinstance(product, dict):
            raise invalid_param(f"{pp}[product_data]", "Invalid object")
        pd = f"{pp}[product_data]"
        for key in product:
            if key not in PRODUCT_DATA:
                raise _unsupported(f"{pd}[{key}]")
        name = _str(product, "name", f"{pd}[name]", 250)
        if name is None:
            raise missing_param(f"{pd}[name]")
        description = _str(product, "description", f"{pd}[description]", 40000)
        images = product.get("images")
        if images in (None, ""):
            images = []
        if isinstance(images, str) or not isinstance(images, list):
            raise invalid_param(f"{pd}[images]", "Invalid array")
        if len(images) > 8:
            raise invalid_param(f"{pd}[images]", "A product can have at most 8 images.")
        for j, image in enumerate(images):
            parts = urllib.parse.urlsplit(image if isinstance(image, str) else "")
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise invalid_param(f"{pd}[images][{j}]", "Not a valid URL", code="url_invalid")
        tax_code = _str(product, "tax_code", f"{pd}[tax_code]")
        if tax_code is not None and not TAX_CODE_RE.match(tax_code):
            raise invalid_param(f"{pd}[tax_code]", f"Invalid tax code: {tax_code} (expected txcd_ and 8 digits).")
        behavior = _str(price_data, "tax_behavior", f"{pp}[tax_behavior]")
        if behavior is not None and behavior not in TAX_BEHAVIORS:
            raise invalid_param(f"{pp}[tax_behavior]", _enum_message("tax_behavior", TAX_BEHAVIORS))
        if automatic_tax and behavior in (None, "unspecified"):
            raise StripeError(
                400,
                f"The line item `{p}` does not have a `tax_behavior` set which is required for automatic "
                "tax computation. Please visit https://stripe.com/docs/tax/products-prices-tax-categories-"
                "tax-behavior#tax-behavior for more information.",
                param=f"{pp}[tax_behavior]",
            )
        quantity = _int(item, "quantity", f"{p}[quantity]", required=True, minimum=1, maximum=999999)
        amount = unit_amount * quantity
        tax = tax_for(amount, behavior) if automatic_tax else 0
        out.append(
            {
                "name": name,
                "description": description,
                "images": list(images),
                "tax_code": tax_code,
                "product_metadata": to_metadata(product),
                "metadata": to_metadata(item),
                "currency": currency,
                "unit_amount": unit_amount,
                "quantity": quantity,
                "tax_behavior": behavior,
                "amount_subtotal": amount,
                "amount_tax": tax,
                "amount_total": amount + tax if behavior == "exclusive" else amount,
            }
        )
    return out, currency


def _int(data, key, param, **kwargs):
    try:
        return to_int(data, key, **kwargs)
    except StripeError as exc:
        exc.body["error"]["param"] = param
        if exc.body["error"].get("code") == "parameter_missing":
            exc.body["error"]["message"] = f"Missing required param: {param}."
        raise


def _str(data, key, param, max_length=None):
    try:
        return to_str(data, key, max_length)
    except StripeError as exc:
        exc.body["error"]["param"] = param
        raise


def _enum_message(param, values):
    values = list(values)
    return f"Invalid {param}: must be one of " + ", ".join(values[:-1]) + f", or {values[-1]}"


def check_create_params(data, now):
    for key in data:
        if key not in SUPPORTED:
            raise _unsupported(key)
    mode = to_str(data, "mode")
    if mode is None:
        raise missing_param("mode")
    if mode not in MODES:
        raise invalid_param("mode", _enum_message("mode", MODES))
    if mode != "payment":
        raise _unsupported("mode", f"It hosts one-time payments only (mode=payment), not mode={mode}.")
    ui_mode = to_str(data, "ui_mode") or HOSTED_UI_MODE
    if ui_mode not in UI_MODES:
        raise invalid_param("ui_mode", _enum_message("ui_mode", UI_MODES))
    if ui_mode != HOSTED_UI_MODE:
        raise StripeError(
            400,
            f"The local Stripe stand-in only hosts the payment page (ui_mode={HOSTED_UI_MODE}), not ui_mode={ui_mode}.",
            param="ui_mode",
        )
    automatic_tax = _object(data, "automatic_tax", {"enabled"})
    if automatic_tax and "enabled" not in automatic_tax:
        raise missing_param("automatic_tax[enabled]")
    try:
        tax_on = to_bool(automatic_tax, "enabled", False)
    except StripeError:
        raise invalid_param("automatic_tax[enabled]", f"Invalid boolean: {automatic_tax.get('enabled')}") from None
    items, currency = _line_items(data, tax_on)
    subtotal = sum(i["amount_subtotal"] for i in items)
    tax = sum(i["amount_tax"] for i in items)
    total = sum(i["amount_total"] for i in items)
    check_amount(total, currency, param=None, wording=SESSION_TOTAL_WORDING, whole_units=False)
    success_url = _url(data, "success_url", required=True)
    cancel_url = _url(data, "cancel_url")
    expires_at = to_int(data, "expires_at")
    if expires_at is None:
        expires_at = now + DEFAULT_EXPIRY
    elif expires_at < now + MIN_EXPIRY:
        raise invalid_param(
            "expires_at", "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation."
        )
    elif expires_at > now + MAX_EXPIRY:
        raise invalid_param(
            "expires_at", "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation."
        )
    customer_email = to_str(data, "customer_email", 800)
    if customer_email is not None and not EMAIL_RE.match(customer_email):
        raise invalid_param("customer_email", f"Invalid email address: {customer_email}", code="email_invalid")
    pid = _object(data, "payment_intent_data", PAYMENT_INTENT_DATA)
    receipt_email = _str(pid, "receipt_email", "payment_intent_data[receipt_email]", 512)
    if receipt_email is not None and not EMAIL_RE.match(receipt_email):
        raise invalid_param(
            "payment_intent_data[receipt_email]", f"Invalid email address: {receipt_email}", code="email_invalid"
        )
    branding = _object(data, "branding_settings", BRANDING)
    submit_type = to_str(data, "submit_type")
    if submit_type is not None and submit_type not in SUBMIT_TYPES:
        raise invalid_param("submit_type", _enum_message("submit_type", SUBMIT_TYPES))
    return {
        "mode": mode,
        "ui_mode": ui_mode,
        "line_items": items,
        "currency": currency,
        "amount_subtotal": subtotal,
        "amount_tax": tax,
        "amount_total": total,
        "automatic_tax": tax_on,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": expires_at,
        "client_reference_id": to_str(data, "client_reference_id", 200),
        "metadata": to_metadata(data),
        "customer_email": customer_email,
        "locale": to_str(data, "locale"),
        "submit_type": submit_type,
        "display_name": _str(branding, "display_name", "branding_settings[display_name]", 100),
        "payment_intent_data": {
            "description": _str(pid, "description", "payment_intent_data[description]", 1000),
            "receipt_email": receipt_email,
            "metadata": to_metadata(pid) if "metadata" in pid else {},
            "statement_descriptor_suffix": _str(
                pid, "statement_descriptor_suffix", "payment_intent_data[statement_descriptor_suffix]", 22
            ),
        },
    }


class StandinCheckoutSession(StripeObject):
    """A Checkout Session (stored under ``checkout.session:`` keys in localstripe's store)."""

    object = "checkout.session"
    _id_prefix = "cs_test_"

    def __init__(self, p, base_url):
        StripeObject.__init__(self, id="cs_test_a1" + random_id(56))
        self._p = p
        self._base_url = base_url
        self._items = []
        for item in p["line_items"]:
            self._items.append(
                dict(
                    item,
                    id="li_" + random_id(24),
                    price_id="price_" + random_id(24),
                    product_id="prod_" + random_id(14),
                )
            )
        self._page_token = random_id(40)  # the hosted page's anti-forgery value
        self._payment_intent = None
        self._pending_card = None  # the card awaiting 3-D Secure on the page
        self._timer = None
        self.status = "open"
        self.payment_status = "unpaid"
        self.customer_details = None
        self.expires_at = p["expires_at"]
        self.metadata = p["metadata"]

    # ------------------------------------------------------------ derived

    @property
    def page_url(self):
        return f"{self._base_url}/checkout/pay/{self.id}"

    @property
    def payment_intent(self):
        return self._payment_intent

    @property
    def store_name(self):
        """Shown on the page: ``branding_settings[display_name]``, else ``metadata[store_name]``."""
        return self._p["display_name"] or self.metadata.get("store_name") or "Stand-in test shop"

    def success_redirect(self):
        return self._p["success_url"].replace("{CHECKOUT_SESSION_ID}", self.id)

    def line_item(self, item, expand=()):
        price = {
            "id": item["price_id"],
            "object": "price",
            "active": False,
            "billing_scheme": "per_unit",
            "created": self.created,
            "currency": item["currency"],
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": None,
            "metadata": {},
            "nickname": None,
            "product": item["product_id"],
            "recurring": None,
            "tax_behavior": item["tax_behavior"] or "unspecified",
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "one_time",
            "unit_amount": item["unit_amount"],
            "unit_amount_decimal": str(item["unit_amount"]),
        }
        if "data.price.product" in expand:
            price["product"] = {
                "id": item["product_id"],
                "object": "product",
                "active": True,
                "created": self.created,
                "description": item["description"],
                "images": list(item["images"]),
                "livemode": False,
                "metadata": dict(item["product_metadata"]),
                "name": item["name"],
                "tax_code": item["tax_code"],
                "type": "service",
                "url": None,
            }
        taxes = []
        if self._p["automatic_tax"]:
            taxes = [
                {
                    "amount": item["amount_tax"],
                    "rate": {
                        "id": TAX_RATE_ID,
                        "object": "tax_rate",
                        "active": True,
                        "country": None,
                        "created": self.created,
                        "description": "The local Stripe stand-in's test tax rate",
                        "display_name": "Tax (test rate)",
                        "effective_percentage": float(TAX_RATE * 100),
                        "inclusive": item["tax_behavior"] == "inclusive",
                        "jurisdiction": None,
                        "livemode": False,
                        "metadata": {},
                        "percentage": float(TAX_RATE * 100),
                        "state": None,
                        "tax_type": "vat",
                    },
                    "taxability_reason": "standard_rated",
                    "taxable_amount": item["amount_subtotal"]
                    - (item["amount_tax"] if item["tax_behavior"] == "inclusive" else 0),
                }
            ]
        return {
            "id": item["id"],
            "object": "item",
            "amount_discount": 0,
            "amount_subtotal": item["amount_subtotal"],
            "amount_tax": item["amount_tax"],
            "amount_total": item["amount_total"],
            "currency": item["currency"],
            "description": item["name"],
            "metadata": dict(item["metadata"]),
            "price": price,
            "quantity": item["quantity"],
            "taxes": taxes,
        }

    def line_items_list(self, limit=10, starting_after=None, ending_before=None, expand=()):
        found, more = page(
            self._items, limit, starting_after, ending_before, object_name="line item", id_of=lambda item: item["id"]
        )
        return {
            "object": "list",
            "url": f"/v1/checkout/sessions/{self.id}/line_items",
            "has_more": more,
            "data": [self.line_item(i, expand) for i in found],
        }

    def _export(self, expand=None):
        expand = list(expand or [])
        p = self._p
        intent = self._payment_intent
        if intent is None:
            pi = None
        elif any(e == "payment_intent" or e.startswith("payment_intent.") for e in expand):
            pi = intent._export(expand=[e[len("payment_intent.") :] for e in expand if e.startswith("payment_intent.")])
        else:
            pi = intent.id
        obj = {
            "id": self.id,
            "object": "checkout.session",
            "adaptive_pricing": None,
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": p["amount_subtotal"],
            "amount_total": p["amount_total"],
            "automatic_tax": (
                {"enabled": True, "liability": {"type": "self"}, "provider": "stripe", "status": "complete"}
                if p["automatic_tax"]
                else {"enabled": False, "liability": None, "provider": None, "status": None}
            ),
            "billing_address_collection": None,
            "branding_settings": {"display_name": p["display_name"]} if p["display_name"] else None,
            "cancel_url": p["cancel_url"],
            "client_reference_id": p["client_reference_id"],
            "client_secret": None,
            "collected_information": None,
            "consent": None,
            "consent_collection": None,
            "created": self.created,
            "currency": p["currency"],
            "currency_conversion": None,
            "custom_fields": [],
            "custom_text": {
                "after_submit": None,
                "shipping_address": None,
                "submit": None,
                "terms_of_service_acceptance": None,
            },
            "customer": None,
            "customer_creation": "if_required",
            "customer_details": self.customer_details,
            "customer_email": p["customer_email"],
            "discounts": [],
            "expires_at": self.expires_at,
            "invoice": None,
            "invoice_creation": {
                "enabled": False,
                "invoice_data": {
                    "account_tax_ids": None,
                    "custom_fields": None,
                    "description": None,
                    "footer": None,
                    "issuer": None,
                    "metadata": {},
                    "rendering_options": None,
                },
            },
            "livemode": False,
            "locale": p["locale"],
            "metadata": dict(self.metadata),
            "mode": p["mode"],
            "origin_context": None,
            "payment_intent": pi,
            "payment_link": None,
            "payment_method_collection": "if_required",
            "payment_method_configuration_details": None,
            "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
            "payment_method_types": ["card"],
            "payment_status": self.payment_status,
            "phone_number_collection": {"enabled": False},
            "recovered_from": None,
            "saved_payment_method_options": None,
            "setup_intent": None,
            "shipping_address_collection": None,
            "shipping_cost": None,
            "shipping_options": [],
            "status": self.status,
            "submit_type": p["submit_type"],
            "subscription": None,
            "success_url": p["success_url"],
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": p["amount_tax"]},
            "ui_mode": p["ui_mode"],
            # As on Stripe: the page's URL only while the session can be paid.
            "url": self.page_url if self.status == "open" else None,
            "wallet_options": None,
        }
        if "line_items" in expand:
            obj["line_items"] = self.line_items_list(limit=100)
        return obj

    # ------------------------------------------------------------ transitions

    def refresh(self):
        """Expire the session if its ``expires_at`` has passed (Stripe's clock is the stand-in's)."""
        if self.status == "open" and _now() >= self.expires_at:
            self.expire()
        return self

    def expire(self):
        self.status = "expired"
        self._pending_card = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        intent = self._payment_intent
        if intent is not None and intent.status in (
            "requires_payment_method",
            "requires_confirmation",
            "requires_action",
        ):
            intent._status = "canceled"
            intent.next_action = None
            intent.canceled_at = _now()
            intent.cancellation_reason = "abandoned"
            maybe_webhook("payment_intent.canceled", intent)
        maybe_webhook("checkout.session.expired", self)

    def ensure_payment_intent(self):
        """The PaymentIntent, made at the buyer's first card submission (as Stripe does)."""
        if self._payment_intent is None:
            pid = self._p["payment_intent_data"]
            intent = payment_intents.StandinPaymentIntent(
                {
                    "amount": self._p["amount_total"],
                    "currency": self._p["currency"],
                    "description": pid["description"],
                    "receipt_email": pid["receipt_email"],
                    "metadata": dict(pid["metadata"]),
                    "customer": None,
                    "payment_method_types": ["card"],
                    "automatic_payment_methods": None,
                    "capture_method": "automatic",
                    "statement_descriptor": None,
                    "statement_descriptor_suffix": pid["statement_descriptor_suffix"],
                    "setup_future_usage": None,
                    "shipping": None,
                    "transfer_group": None,
                }
            )
            maybe_webhook("payment_intent.created", intent)
            self._payment_intent = intent
        return self._payment_intent

    def complete(self, email, paid=True):
        self.status = "complete"
        self.payment_status = "paid" if paid else "unpaid"
        self._pending_card = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.customer_details = {
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "business_name": None,
            "email": email,
            "individual_name": None,
            "name": None,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        }
        maybe_webhook("checkout.session.completed", self)

    def settle(self, outcome):
        """The delayed payment's outcome (``succeeded``/``failed``) and its ``async_payment_*`` event."""
        intent = self._payment_intent
        if (
            self.status != "complete"
            or self.payment_status != "unpaid"
            or intent is None
            or intent.status != "processing"
        ):
            raise StripeError(
                400,
                f"Checkout Session {self.id} has no delayed payment waiting to settle "
                f"(status {self.status}, payment_status {self.payment_status}).",
            )
        payment_intents.settle(intent, outcome)
        if outcome == "succeeded":
            self.payment_status = "paid"
            maybe_webhook("checkout.session.async_payment_succeeded", self)
        else:
            maybe_webhook("checkout.session.async_payment_failed", self)

    def schedule_expiry(self):
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        session_id = self.id

        def fire():
            session = store.get("checkout.session:" + session_id)
            if session is not None:
                session.refresh()

        self._timer = loop.call_later(max(0, self.expires_at - time.time()) + 0.05, fire)


def get_session(session_id, status=404):
    session = store.get("checkout.session:" + session_id)
    if not isinstance(session, StandinCheckoutSession):
        raise no_such("checkout.session", session_id, status=status)
    return session.refresh()


def all_sessions():
    items = [v for v in objects_of("checkout.session") if isinstance(v, StandinCheckoutSession)]
    items.reverse()
    return [s.refresh() for s in items]


def _check_expand(expand, allowed=EXPANDABLE):
    for e in expand:
        if e.split(".")[0] not in allowed:
            raise invalid_param("expand", f"This property cannot be expanded ({e}).")


def base_url(request):
    return f"{request.scheme}://{request.host}"


# ------------------------------------------------------------ API handlers


async def create_session(request):
    data = await read_params(request)
    expand = pop_expand(data)
    _check_expand(expand)
    p = check_create_params(data, _now())
    session = StandinCheckoutSession(p, base_url(request))
    session.schedule_expiry()
    return json_response(session._export(expand=expand))


async def retrieve_session(request):
    data = await read_params(request)
    expand = pop_expand(data)
    for key in data:
        raise unknown_param(key)
    _check_expand(expand)
    return json_response(get_session(request.match_info["id"])._export(expand=expand))


async def list_sessions(request):
    data = await read_params(request)
    expand = pop_expand(data)
    _check_expand([e[len("data.") :] for e in expand if e.startswith("data.")])
    limit = to_int(data, "limit", minimum=1, maximum=100) or 10
    starting_after = to_str(data, "starting_after")
    ending_before = to_str(data, "ending_before")
    checks = []
    for key, value in data.items():
        if key in ("limit", "starting_after", "ending_before"):
            continue
        if key == "payment_intent":
            pi = to_str(data, key)
            checks.append(lambda s, pi=pi: s.payment_intent is not None and s.payment_intent.id == pi)
        elif key == "status":
            status = to_str(data, key)
            if status not in ("open", "complete", "expired"):
                raise invalid_param("status", _enum_message("status", ("complete", "expired", "open")))
            checks.append(lambda s, status=status: s.status == status)
        elif key == "customer_details":
            if not isinstance(value, dict) or not value.get("email"):
                raise missing_param("customer_details[email]")
            email = str(value["email"]).lower()
            checks.append(lambda s, email=email: (s.customer_details or {}).get("email", "").lower() == email)
        elif key == "created":
            if isinstance(value, dict):
                ops = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}
                for op in value:
                    bound = _int(value, op, f"created[{op}]")
                    checks.append(lambda s, f=ops[op], b=bound: f(s.created, b))
            else:
                bound = to_int(data, "created")
                checks.append(lambda s, b=bound: s.created == b)
        elif key in ("customer", "customer_account", "payment_link", "subscription"):
            checks.append(lambda s: False)  # the stand-in's sessions have none of these
        else:
            raise unknown_param(key)
    items = [s for s in all_sessions() if all(f(s) for f in checks)]
    found, more = page(items, limit, starting_after, ending_before, object_name="checkout.session")
    sub = [e[len("data.") :] for e in expand if e.startswith("data.")]
    return json_response(
        {
            "object": "list",
            "url": "/v1/checkout/sessions",
            "has_more": more,
            "data": [s._export(expand=sub) for s in found],
        }
    )


async def expire_session(request):
    data = await read_params(request)
    expand = pop_expand(data)
    for key in data:
        raise unknown_param(key)
    _check_expand(expand)
    session = get_session(request.match_info["id"])
    if session.status != "open":
        raise StripeError(
            400,
            'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
            f"Session has a status of `{session.status}`.",
        )
    session.expire()
    return json_response(session._export(expand=expand))


async def list_line_items(request):
    data = await read_params(request)
    expand = pop_expand(data)
    for e in expand:
        if e not in ("data.price", "data.price.product", "data.discounts", "data.taxes"):
            raise invalid_param("expand", f"This property cannot be expanded ({e}).")
    limit = to_int(data, "limit", minimum=1, maximum=100) or 10
    starting_after = to_str(data, "starting_after")
    ending_before = to_str(data, "ending_before")
    for key in data:
        if key not in ("limit", "starting_after", "ending_before"):
            raise unknown_param(key)
    session = get_session(request.match_info["id"])
    return json_response(session.line_items_list(limit, starting_after, ending_before, expand))


ROUTES = [
    ("POST", "/v1/checkout/sessions", create_session),
    ("GET", "/v1/checkout/sessions", list_sessions),
    ("GET", "/v1/checkout/sessions/{id}", retrieve_session),
    ("POST", "/v1/checkout/sessions/{id}/expire", expire_session),
    ("GET", "/v1/checkout/sessions/{id}/line_items", list_line_items),
]
