"""stripe_standin: a local Stripe stand-in for development and tests only.

It runs localstripe 1.15.10 (GPL-3.0) in-process and adds a thin,
version-pinned compatibility layer, so that the official ``stripe`` Python
SDK behaves against it as against Stripe's test mode for this store's flow,
plus a stand-in for legacy Checkout's ``checkout.js``. It is dev/test tooling
that depends on GPL code: it is never shipped, lives outside the
``album_store`` package, and ``album_store`` never imports it (the store only
gets its URL as the Stripe API base).

Gaps of localstripe 1.15.10 it closes (see shared/STRIPE.md):

- listens on 127.0.0.1 only (localstripe binds every interface);
- memory-only store: no shared /tmp/localstripe.pickle rewritten on every
  write, so instances are independent and fast;
- ``Charge.create(source="tok_…")`` from ``POST /v1/tokens`` tokens and from
  Stripe's magic test tokens (tok_visa, tok_amex, tok_chargeDeclined…);
- tokens are single-use (``token_already_used``), magic tokens reusable;
- Stripe's decline test cards (0002, 9995, 0069, 0127, 0119, 0341, 9987,
  9979, 4100…0019) answer 402 ``card_error`` with Stripe's code,
  decline_code and message, and leave a ``failed`` charge;
- charge parameters Stripe accepts (receipt_email, statement_descriptor_
  suffix, shipping, …) and charge fields the store reads (source,
  payment_method_details, outcome, amount_captured…);
- ``Idempotency-Key``: replay of the first response, ``idempotency_error`` on
  other parameters, one execution per key;
- ``GET /v1/charges`` newest first, ``GET /v1/charges/search`` (Stripe's
  query language, search_result shape), refunds checked against the charge;
- Stripe-shaped errors ("No such charge: 'ch_…'", unknown parameters…);
- ``charge.succeeded`` / ``charge.failed`` / ``charge.refunded`` events;
- fault injection under ``/_standin/faults``; ``/_standin/health``;
- as strict as Stripe where localstripe is kinder: parameters the pinned
  SDK's API version does not know are refused (``params.py``), a request
  whose idempotency key is still in flight gets a 409, search can lag
  (``search_lag.py``), webhooks can be delayed, duplicated, reordered or
  held until released (``webhook_delivery.py``);
- a legacy Checkout ``/checkout.js`` (simple embed and
  ``StripeCheckout.configure``) with its modal in an iframe.

Run it with ``python -m stripe_standin --port 0``, or from Python with
:func:`stripe_standin.process.start_standin`.
"""

PINNED_LOCALSTRIPE = "1.15.10"

from .process import (StandinError, StandinProcess, clear_faults,  # noqa: E402
                      inject_fault, register_webhook, reset, set_search_lag,
                      start_standin)

__all__ = ["PINNED_LOCALSTRIPE", "StandinError", "StandinProcess",
           "clear_faults", "inject_fault", "register_webhook", "reset",
           "set_search_lag", "start_standin"]
