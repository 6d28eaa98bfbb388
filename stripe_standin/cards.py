"""Cards and tokens as Stripe's test mode knows them.

localstripe 1.15.10 only takes 16-digit numbers with a 3-digit CVC, calls
every card "Visa", lets a token be used any number of times and knows none of
the magic ``tok_*`` test tokens. This module keeps its ``Card`` and ``Token``
classes (so that localstripe's own endpoints still find our objects in its
store) but builds them itself, with Stripe's validation, brands and test cards.
"""

import datetime
import re

from localstripe.resources import Card, StripeObject, Token, fingerprint

from .errors import StripeError, missing_param, unknown_param

# Stripe's documented decline test cards: number -> (code, decline_code,
# message, param). The same outcomes for the matching magic tokens below.
DECLINED = "Your card was declined."
DECLINES = {
    "4000000000000002": ("card_declined", "generic_decline", DECLINED, None),
    "4000000000009995": ("card_declined", "insufficient_funds", "Your card has insufficient funds.", None),
    "4000000000009987": ("card_declined", "lost_card", DECLINED, None),
    "4000000000009979": ("card_declined", "stolen_card", DECLINED, None),
    "4000000000000069": ("expired_card", "expired_card", "Your card has expired.", "exp_month"),
    "4000000000000127": ("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.", "cvc"),
    "4000000000000119": (
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
        None,
    ),
    # Radar blocks it ("highest risk").
    "4100000000000019": ("card_declined", "fraudulent", DECLINED, None),
    # Attaching to a customer succeeds, charging fails.
    "4000000000000341": ("card_declined", "generic_decline", DECLINED, None),
    # 3-D Secure required, then declined (PaymentIntents: after the challenge).
    "4000008260003178": ("card_declined", "insufficient_funds", "Your card has insufficient funds.", None),
    "4000008400001629": ("card_declined", "generic_decline", DECLINED, None),
}
# Cards whose bank wants 3-D Secure for a one-off payment. A PaymentIntent
# asks the buyer (requires_action); a bare charge (the Charges API behind
# legacy Checkout, not SCA-ready) cannot, and is declined.
AUTHENTICATION_REQUIRED = {
    "4000002500003155",
    "4000002760003184",
    "4000000000003220",
    "4000000000003063",
    "4000008260003178",
    "4000008400001629",
}
# The stand-in's own test card for a payment method whose outcome comes later (not a Stripe number):
# the charge stays ``pending`` and its PaymentIntent ``processing`` (a hosted page completes
# ``unpaid``) until the bank answers (``POST /_standin/payment_intents/{id}/settle``, or
# ``/_standin/checkout/sessions/{id}/settle``).
DELAYED_CARD = "4000009900000004"
AUTHENTICATION_REQUIRED_DECLINE = (
    "card_declined",
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
    None,
)
BLOCKED_BY_RADAR = {"4100000000000019"}

# Stripe's magic test tokens (reusable, unlike real tokens).
MAGIC_TOKENS = {
    "tok_visa": "4242424242424242",
    "tok_visa_debit": "4000056655665556",
    "tok_mastercard": "5555555555554444",
    "tok_mastercard_debit": "5200828282828210",
    "tok_mastercard_prepaid": "5105105105105100",
    "tok_amex": "378282246310005",
    "tok_discover": "6011111111111117",
    "tok_diners": "3056930009020004",
    "tok_jcb": "3566002020360505",
    "tok_unionpay": "6200000000000005",
    "tok_chargeDeclined": "4000000000000002",
    "tok_chargeDeclinedInsufficientFunds": "4000000000009995",
    "tok_chargeDeclinedLostCard": "4000000000009987",
    "tok_chargeDeclinedStolenCard": "4000000000009979",
    "tok_chargeDeclinedExpiredCard": "4000000000000069",
    "tok_chargeDeclinedIncorrectCvc": "4000000000000127",
    "tok_chargeDeclinedProcessingError": "4000000000000119",
    "tok_chargeDeclinedFraudulent": "4100000000000019",
    "tok_riskLevelHighest": "4100000000000019",
    "tok_chargeCustomerFail": "4000000000000341",
    # The stand-in's own (not Stripe's): a Visa whose charge stays ``pending``
    # until POST /_standin/charges/{id}/settle (process.settle_charge).
    "tok_standin_pending": "4242424242424242",
}
PENDING_TOKENS = {"tok_standin_pending"}

DEBIT = {"4000056655665556", "5200828282828210"}
PREPAID = {"5105105105105100"}

CARD_FIELDS = {
    "number",
    "exp_month",
    "exp_year",
    "cvc",
    "name",
    "address_line1",
    "address_line2",
    "address_city",
    "address_state",
    "address_zip",
    "address_country",
    "currency",
    "object",
}


def card_brand(number):
    """(brand as on a card object, brand as in payment_method_details)."""
    n2, n3, n4 = (int(number[:k] or 0) for k in (2, 3, 4))
    if number.startswith("4"):
        return "Visa", "visa"
    if n2 in (34, 37):
        return "American Express", "amex"
    if 51 <= n2 <= 55 or 2221 <= n4 <= 2720:
        return "MasterCard", "mastercard"
    if number.startswith("6011") or n2 == 65 or 644 <= n3 <= 649:
        return "Discover", "discover"
    if 3528 <= n4 <= 3589:
        return "JCB", "jcb"
    if n2 in (36, 38, 39) or 300 <= n3 <= 305:
        return "Diners Club", "diners"
    if n2 in (62, 81):
        return "UnionPay", "unionpay"
    return "Unknown", "unknown"


def luhn_ok(number):
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_error(code, message, param):
    return StripeError(402, message, type="card_error", code=code, param=param)


def _as_int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,4}\s*", value):
        return int(value)
    return None


def validate_card(card, today=None):
    """Check raw card fields as Stripe does when it makes a token.

    Returns (number, exp_month, exp_year, cvc) or raises a StripeError.
    """
    today = today or datetime.date.today()
    for key in card:
        if key not in CARD_FIELDS:
            raise unknown_param(f"card[{key}]")
    for key in ("number", "exp_month", "exp_year"):
        if card.get(key) in (None, ""):
            raise missing_param(f"card[{key}]")

    number = re.sub(r"[\s-]", "", str(card["number"]))
    if not number.isdigit() or not 12 <= len(number) <= 19:
        raise _card_error("invalid_number", "Your card number is invalid.", "number")
    brand, _ = card_brand(number)
    if not luhn_ok(number) or (brand == "American Express" and len(number) != 15):
        raise _card_error("incorrect_number", "Your card number is incorrect.", "number")

    exp_month = _as_int(card["exp_month"])
    if exp_month is None or not 1 <= exp_month <= 12:
        raise _card_error("invalid_expiry_month", "Your card's expiration month is invalid.", "exp_month")
    exp_year = _as_int(card["exp_year"])
    if exp_year is not None and exp_year < 100:
        exp_year += 2000
    if exp_year is None or not today.year <= exp_year <= today.year + 50:
        raise _card_error("invalid_expiry_year", "Your card's expiration year is invalid.", "exp_year")
    if exp_year == today.year and exp_month < today.month:
        raise _card_error("invalid_expiry_month", "Your card's expiration month is invalid.", "exp_month")

    cvc = card.get("cvc")
    if cvc in (None, ""):
        cvc = None
    else:
        cvc = str(cvc).strip()
        wanted = 4 if brand == "American Express" else 3
        if not cvc.isdigit() or len(cvc) != wanted:
            raise _card_error("invalid_cvc", "Your card's security code is invalid.", "cvc")
    return number, exp_month, exp_year, cvc


class StandinCard(Card):
    """localstripe's Card, built without its 16-digit/3-digit limits.

    Stored under localstripe's ``card:`` keys so its endpoints (and
    ``PaymentMethod._api_retrieve('card_…')``) find it. Adds no public
    attribute that Stripe's card object does not have.
    """

    def __init__(self, number, exp_month, exp_year, cvc=None, fields=None):
        fields = fields or {}
        StripeObject.__init__(self)
        self._card_number = number
        brand, _ = card_brand(number)
        self.type = "card"
        self.metadata = {}
        self.address_city = fields.get("address_city")
        self.address_country = fields.get("address_country")
        self.address_line1 = fields.get("address_line1")
        self.address_line1_check = "pass" if fields.get("address_line1") else None
        self.address_line2 = fields.get("address_line2")
        self.address_state = fields.get("address_state")
        self.address_zip = fields.get("address_zip")
        self.address_zip_check = "pass" if fields.get("address_zip") else None
        self.brand = brand
        self.country = "US"
        self.cvc_check = "pass" if cvc else None
        self.dynamic_last4 = None
        self.exp_month = exp_month
        self.exp_year = exp_year
        self.fingerprint = fingerprint(number)
        self.funding = "debit" if number in DEBIT else "prepaid" if number in PREPAID else "credit"
        self.name = fields.get("name")
        self.tokenization_method = None
        self.wallet = None
        self.customer = None


class StandinToken(Token):
    """A card token that knows whether it has been used (``used``)."""

    def __init__(self, card, client_ip=None, email=None):
        StripeObject.__init__(self)
        self.type = "card"
        self.card = card
        self.client_ip = client_ip
        self.used = False
        if email:
            self.email = email


def card_for_magic_token(token_id, today=None):
    """A fresh card for a magic test token (as Stripe does on each use)."""
    number = MAGIC_TOKENS[token_id]
    today = today or datetime.date.today()
    cvc = "1234" if card_brand(number)[0] == "American Express" else "123"
    return StandinCard(number, today.month, today.year + 1, cvc)


def decline_for(card):
    """The (code, decline_code, message, param) a charge on this card gets."""
    number = getattr(card, "_card_number", None)
    if number is None:
        return None
    return DECLINES.get(number)


def card_details(card):
    """payment_method_details.card for a charge on a card-like object."""
    number = getattr(card, "_card_number", "")
    _, network = card_brand(number) if number else ("Unknown", "unknown")
    if getattr(card, "object", None) == "payment_method":
        info = dict(getattr(card, "card", {}) or {})
        exp_month, exp_year = info.get("exp_month"), info.get("exp_year")
        funding, country = info.get("funding", "credit"), info.get("country")
        cvc_check = "pass"
    else:
        exp_month = getattr(card, "exp_month", None)
        exp_year = getattr(card, "exp_year", None)
        funding = getattr(card, "funding", "credit")
        country = getattr(card, "country", "US")
        cvc_check = getattr(card, "cvc_check", None)
    return {
        "brand": network,
        "checks": {
            "address_line1_check": getattr(card, "address_line1_check", None),
            "address_postal_code_check": getattr(card, "address_zip_check", None),
            "cvc_check": cvc_check,
        },
        "country": country,
        "exp_month": exp_month,
        "exp_year": exp_year,
        "fingerprint": fingerprint(number) if number else None,
        "funding": funding,
        "last4": number[-4:] if number else None,
        "network": network,
        "three_d_secure": None,
        "wallet": None,
    }
