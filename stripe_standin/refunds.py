"""``POST /v1/refunds``: refunds checked against the charge (or PaymentIntent), as Stripe checks them.

Replaces localstripe's handler: one of ``charge`` or ``payment_intent``, no more than the charge's
unrefunded amount, Stripe's reasons; ``charge.refunded`` is sent for the charge.
"""

from localstripe.resources import Refund, store
from localstripe.server import json_response

from .currencies import check_unit, format_amount
from .errors import StripeError, invalid_param, no_such, unknown_param
from .params import pop_expand, read_params, to_int, to_metadata, to_str
from .webhook_delivery import maybe_webhook

REFUND_PARAMS = {"charge", "payment_intent", "amount", "reason", "metadata"}
REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}


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
        raise invalid_param("reason", f"Invalid reason: must be one of {', '.join(sorted(REFUND_REASONS))}")
    if not charge_id and not payment_intent:
        raise StripeError(
            400,
            "One of the following params should be provided for this request: payment_intent or charge.",
            code="parameter_missing",
        )
    if charge_id and payment_intent:
        raise StripeError(400, "You can only pass one of charge or payment_intent.", param="payment_intent")
    if payment_intent:
        intent = store.get("payment_intent:" + payment_intent)
        if intent is None:
            raise no_such("payment_intent", payment_intent, param="payment_intent")
        if intent.status != "succeeded" or intent.latest_charge is None:
            raise StripeError(
                400,
                f"This PaymentIntent ({payment_intent}) does not have a successful charge to refund.",
                code="charge_not_refundable",
                param="payment_intent",
            )
        charge_id = intent.latest_charge.id
    if charge_id:
        charge = store.get("charge:" + charge_id)
        if charge is None:
            raise no_such("charge", charge_id, param="charge")
        if charge.status == "failed":
            raise StripeError(400, "Cannot refund a failed payment.", param="charge")
        remaining = charge.amount - charge.amount_refunded
        if remaining <= 0:
            raise StripeError(
                400, f"Charge {charge_id} has already been refunded.", code="charge_already_refunded", param="charge"
            )
        if amount is not None:
            check_unit(amount, charge.currency)
        if amount is not None and amount > remaining:
            raise StripeError(
                400,
                f"Refund amount ({format_amount(amount, charge.currency)})"
                " is greater than unrefunded amount on charge "
                f"({format_amount(remaining, charge.currency)})",
                code="amount_too_large",
                param="amount",
            )
        if amount is None:
            amount = remaining
    refund = Refund(charge=charge_id, amount=amount, metadata=metadata)
    refund.payment_intent = payment_intent or getattr(store.get("charge:" + charge_id), "payment_intent", None)
    refund.reason = reason
    charge = store.get("charge:" + refund.charge)
    if charge is not None:
        maybe_webhook("charge.refunded", charge)
    return json_response(refund._export(expand=expand))
