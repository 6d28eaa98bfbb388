"""The ``payment_flow=`` view predicate, and ``request.payment_flow``: the one place that reads the
``store.payment_flow`` setting for the views.

The store takes payments one of three ways (``settings.PAYMENT_FLOWS``). Each flow's views say which
they serve, ``@view_config(..., payment_flow=CHECKOUT_JS)``; on another flow they do not match, and
the route's catch-all view (registered without the predicate) answers a page from before the owner
switched flows. Pyramid tries the views with more predicates first, so the catch-all is only reached
when the flow's own view does not match.
"""

from ..settings import PAYMENT_FLOWS


def payment_flow(request):
    """The store's payment flow (``store.payment_flow``, checked by ``settings.check_payment_flow``)."""
    return request.registry.settings["store.payment_flow"]


class PaymentFlowPredicate:
    """``payment_flow=FLOW``: the view serves the store only while it takes payments by ``FLOW``."""

    def __init__(self, value, config):
        if value not in PAYMENT_FLOWS:
            raise ValueError(f"payment_flow must be one of {', '.join(PAYMENT_FLOWS)}, not {value!r}")
        self.value = value

    def text(self):
        return f"payment_flow = {self.value}"

    phash = text

    def __call__(self, context, request):
        return request.payment_flow == self.value


def includeme(config):
    config.add_request_method(payment_flow, "payment_flow", reify=True)
    config.add_view_predicate("payment_flow", PaymentFlowPredicate)
