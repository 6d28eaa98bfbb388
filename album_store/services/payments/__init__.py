"""The one place that talks to Stripe, behind an interface that needs no ``stripe``.

Views and other services see :class:`IPaymentService`, its value types and the exceptions below,
all from :mod:`.interfaces`; they never import ``stripe``, and neither does this package's import.
The implementation is chosen by the ``payments.service`` setting (a dotted name), as warehouse
chooses its billing service: the default
:class:`~album_store.services.payments.stripe_service.StripePaymentService` talks HTTP through the
official SDK to ``stripe.api_base`` (Stripe itself when unset, the local stand-in in the demo and
tests); it is imported only when the application is configured. The service-level unit tests use
an in-memory implementation instead (tests/fake_payments.py; fakes never ship in the package).
"""

from .interfaces import (
    CardDeclined,
    Charge,
    CheckoutSession,
    InvalidWebhook,
    IPaymentService,
    PaymentError,
    PaymentIntent,
    PaymentUnavailable,
    RefundRefused,
    StripeEvent,
)

__all__ = [
    "CardDeclined",
    "Charge",
    "CheckoutSession",
    "IPaymentService",
    "InvalidWebhook",
    "PaymentError",
    "PaymentIntent",
    "PaymentUnavailable",
    "RefundRefused",
    "StripeEvent",
]


def includeme(config):
    settings = config.get_settings()
    service_class = config.maybe_dotted(settings["payments.service"])  # imports stripe_service (and stripe) now
    config.register_service(service_class.from_settings(settings), IPaymentService)
