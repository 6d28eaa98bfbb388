"""Stripe's webhook: verified by signature on the raw body, handled once per event id."""

from pyramid.httpexceptions import HTTPBadRequest, HTTPServiceUnavailable
from pyramid.view import view_config

from ..services.payments import InvalidWebhook, IPaymentService, PaymentUnavailable
from ..services.purchases import IPurchaseService


@view_config(route_name="stripe_webhook", request_method="POST", require_csrf=False, renderer="json")
def stripe_webhook(request):
    payments = request.find_service(IPaymentService)
    try:
        event = payments.verify_webhook(request.body, request.headers.get("Stripe-Signature"))
    except InvalidWebhook as error:
        raise HTTPBadRequest(f"Webhook refused: {error}.") from error
    try:
        outcome = request.find_service(IPurchaseService).handle_stripe_event(event)
    except PaymentUnavailable:
        # Nothing is recorded; Stripe delivers the event again later.
        raise HTTPServiceUnavailable("Stripe could not be reached to confirm the event; try again.") from None
    return {"received": event.id, "outcome": outcome}
