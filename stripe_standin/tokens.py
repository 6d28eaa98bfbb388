"""``POST /v1/tokens``: card tokens as Stripe makes them (single-use; see ``cards.py``).

Replaces localstripe's handler: legacy Checkout's modal and Stripe.js make tokens from raw card
details with the publishable key, adding telemetry fields Stripe ignores (:data:`TOKEN_IGNORED`).
"""

from localstripe.server import json_response

from . import cards
from .errors import StripeError, missing_param, unknown_param
from .params import pop_expand, read_params

TOKEN_IGNORED = {"payment_user_agent", "time_on_page", "guid", "muid", "sid", "pasted_fields", "referrer", "key"}


async def create_token(request):
    data = await read_params(request)
    pop_expand(data)
    for key in TOKEN_IGNORED:
        data.pop(key, None)
    email = data.pop("email", None)
    card = data.pop("card", None)
    for key in data:
        if key in ("bank_account", "pii", "account", "person", "cvc_update", "customer"):
            raise StripeError(400, f"The local Stripe stand-in only makes card tokens (got `{key}`).", param=key)
        raise unknown_param(key)
    if card is None or card == "":
        raise missing_param("card")
    if not isinstance(card, dict):
        raise StripeError(
            400, "The local Stripe stand-in only makes tokens from raw card details (card[number], ...).", param="card"
        )
    number, exp_month, exp_year, cvc = cards.validate_card(card)
    card_obj = cards.StandinCard(number, exp_month, exp_year, cvc, card)
    token = cards.StandinToken(card_obj, client_ip=request.remote, email=email if isinstance(email, str) else None)
    return json_response(token._export())
