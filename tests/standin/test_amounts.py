"""One amount rule for every endpoint that takes an amount: a charge, a PaymentIntent and a Checkout
Session (one line item of quantity 1) accept the same amount/currency pairs and refuse the others
with the same error, and that rule is Stripe's (integers only, the currency's minimum, eight digits,
ISK in whole krónur, three-decimal currencies to the nearest ten)."""

import json
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from .conftest import SECRET_KEY
from .test_standin import http

pytestmark = [pytest.mark.standin_only, pytest.mark.stripe]

AUTH = {"Authorization": f"Bearer {SECRET_KEY}"}
ITEM = "line_items[0][price_data]"
# Stripe words a Checkout Session's total its own way; the limit it names must be the same.
SESSION_WORDS = {
    "The Checkout Session's total amount due must add up to at least": "Amount must be at least",
    "The Checkout Session's total amount due must be no more than": "Amount must be no more than",
}


def charge(url, amount, currency):
    return http(
        "POST", f"{url}/v1/charges", headers=AUTH, data={"amount": amount, "currency": currency, "source": "tok_visa"}
    )


def payment_intent(url, amount, currency):
    return http("POST", f"{url}/v1/payment_intents", headers=AUTH, data={"amount": amount, "currency": currency})


def checkout_session(url, amount, currency):
    return http(
        "POST",
        f"{url}/v1/checkout/sessions",
        headers=AUTH,
        data={
            "mode": "payment",
            "success_url": "http://127.0.0.1/done",
            f"{ITEM}[currency]": currency,
            f"{ITEM}[unit_amount]": amount,
            f"{ITEM}[product_data][name]": "Blue Skies",
            "line_items[0][quantity]": 1,
        },
    )


def outcome(response):
    """``"accepted"``, or the refusal as every endpoint must say it: status, type, code and message,
    with the parameter's own name (``amount`` or ``line_items[0][price_data][unit_amount]``) taken out."""
    status, _, body = response
    if status == 200:
        return "accepted"
    error = json.loads(body)["error"]
    message = error["message"]
    for session_words, words in SESSION_WORDS.items():
        message = message.replace(session_words, words)
    if error.get("param"):  # "Missing required param: amount." names it
        message = message.replace(f": {error['param']}.", ": <param>.")
    return status, error["type"], error.get("code"), message


CURRENCIES = st.sampled_from(
    [
        "usd",
        "USD",
        "eur",
        "gbp",
        "jpy",
        "krw",
        "huf",
        "czk",
        "thb",
        "aed",
        "mxn",  # minimums
        "isk",  # whole krónur as two decimals
        "kwd",
        "bhd",
        "jod",
        "omr",
        "tnd",  # three decimals, last digit 0
        "bif",
        "clp",
        "vnd",  # zero-decimal, no published minimum
        "cny",
        "egp",
        "zmw",  # two-decimal, no published minimum
        "xxx",
        "us",
        "",
        "usd ",  # not currencies
    ]
)
AMOUNTS = st.one_of(
    st.integers(min_value=0, max_value=200_000),
    st.integers(min_value=99_999_000, max_value=100_001_000),  # around eight digits
    st.integers(min_value=0, max_value=10**20),
    st.sampled_from(["", "12.5", "1e3", "١٢٣", " 50", "0x50", "+50", "9" * 5000]),  # not Stripe integers
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=AMOUNTS, currency=CURRENCIES)
@example(amount=49, currency="usd")
@example(amount=50, currency="usd")
@example(amount=99_999_999, currency="usd")
@example(amount=100_000_000, currency="usd")
@example(amount=150, currency="isk")
@example(amount=5125, currency="kwd")
@example(amount=17_499, currency="huf")
def test_charges_payment_intents_and_checkout_sessions_agree_on_every_amount(url, amount, currency):
    answers = {
        name: outcome(call(url, amount, currency))
        for name, call in (
            ("charge", charge),
            ("payment_intent", payment_intent),
            ("checkout_session", checkout_session),
        )
    }
    assert len(set(answers.values())) == 1, answers
    for response in answers.values():  # never a 500: bad input is a 400
        assert response == "accepted" or response[0] == 400, answers


def test_negative_amounts_are_refused_everywhere(url):
    for call in (charge, payment_intent, checkout_session):
        for currency in ("usd", "isk", "kwd"):
            assert call(url, -100, currency)[0] == 400


def refusal(response):
    status, _, body = response
    assert status == 400, body
    error = json.loads(body)["error"]
    return error.get("code"), error["message"]


@pytest.mark.parametrize("call", [charge, payment_intent, checkout_session])
def test_stripes_rules(url, call):
    assert call(url, 50, "usd")[0] == 200 and call(url, 99_999_999, "usd")[0] == 200
    assert refusal(call(url, 49, "usd"))[0] == "amount_too_small"
    assert "$0.50 usd" in refusal(call(url, 49, "usd"))[1]
    assert refusal(call(url, 100_000_000, "usd"))[0] == "amount_too_large"
    assert refusal(call(url, 49, "jpy"))[0] == "amount_too_small" and call(url, 50, "jpy")[0] == 200
    assert refusal(call(url, 17_499, "huf"))[0] == "amount_too_small"
    # ISK: "to charge 5 ISK, provide 500"; a fraction of a króna is refused with Stripe's code.
    assert call(url, 500, "isk")[0] == 200
    assert refusal(call(url, 550, "isk"))[0] == "invalid_charge_amount_no_decimal_compatible"
    # Three decimals, but the last digit must be 0: 5.124 KWD must be sent as 5120 or 5130.
    assert call(url, 5120, "kwd")[0] == 200
    assert refusal(call(url, 5124, "kwd"))[0] == "invalid_charge_amount"
    assert refusal(call(url, "12.5", "usd"))[0] == "parameter_invalid_integer"
    assert refusal(call(url, "١٢٣٤", "usd"))[0] == "parameter_invalid_integer"  # ASCII digits only
    assert refusal(call(url, "9" * 5000, "usd"))[0] == "parameter_invalid_integer"  # not a 500
    assert re.match(r"Invalid currency: xxx\.$", refusal(call(url, 999, "xxx"))[1])


def test_a_fractional_isk_refund_is_refused(url):
    status, _, body = charge(url, 150_000, "isk")
    made = json.loads(body)
    assert status == 200, body
    refund = http("POST", f"{url}/v1/refunds", headers=AUTH, data={"charge": made["id"], "amount": 1050})
    assert refusal(refund)[0] == "invalid_charge_amount_no_decimal_compatible"
    assert http("POST", f"{url}/v1/refunds", headers=AUTH, data={"charge": made["id"], "amount": 1000})[0] == 200
