"""stripe_standin: a local Stripe stand-in for development and tests only.

It runs localstripe 1.15.10 (GPL-3.0) in-process and adds a thin,
version-pinned compatibility layer, so that the official ``stripe`` Python
SDK behaves against it as against Stripe's test mode for this store's flow,
plus a stand-in for legacy Checkout's ``checkout.js``. It is dev/test tooling
that depends on GPL code: it is never shipped, lives outside the
``album_store`` package, and ``album_store`` never imports it (the store only
gets its URL as the Stripe API base).

Gaps of localstripe 1.15.10 it closes (tests/standin/test_standin.py and test_strictness.py check them):

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
- one amount rule for charges, PaymentIntents and Checkout Sessions
  (``currencies.py``): integers only, Stripe's minimum per currency, eight
  digits at most, ISK in whole krónur, three-decimal currencies to the
  nearest ten (refunds too);
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
  ``StripeCheckout.configure``) with its modal in an iframe;
- **Checkout Sessions**, which localstripe lacks (``checkout_sessions.py``,
  ``checkout_page.py``):

  - ``POST /v1/checkout/sessions``, ``GET /v1/checkout/sessions/{id}``
    (``expand[]``: ``payment_intent``, ``payment_intent.latest_charge``,
    ``line_items``), ``GET /v1/checkout/sessions`` (``payment_intent``,
    ``status``, ``customer_details[email]``, ``created``, paging),
    ``POST /v1/checkout/sessions/{id}/expire``,
    ``GET /v1/checkout/sessions/{id}/line_items``; parameters checked against
    the SDK's ``checkout.SessionCreateParams`` etc., ``Idempotency-Key``
    replays. ``mode=payment`` with inline ``price_data`` only; ``ui_mode``
    ``hosted_page`` only (the pinned SDK lists ``elements``,
    ``embedded_page``, ``form``, ``hosted_page``; the old ``hosted`` /
    ``embedded`` / ``custom`` get Stripe's "Invalid ui_mode: must be one of
    …"); ``expires_at`` 30 min to 24 h ahead; ``success_url`` required,
    ``cancel_url`` optional, as on Stripe;
  - the session object: ``cs_test_…``, ``url`` (``{base}/checkout/pay/{id}``
    while open, null once complete or expired, as on Stripe), ``status``
    ``open``/``complete``/``expired``, ``payment_status``, ``payment_intent``
    (null until the buyer first submits a card), amounts,
    ``total_details.amount_tax``, ``automatic_tax``, ``customer_details``
    (once paid), ``client_reference_id``, ``metadata``, ``expires_at``…;
  - tax: with ``automatic_tax[enabled]=true`` a fixed **20 % test rate** per
    line item, rounded half up to the minor unit: ``exclusive`` adds it,
    ``inclusive`` holds ``amount × 20/120`` of the price; each line item then
    needs a ``tax_behavior`` (Stripe's refusal otherwise);
  - the hosted page at the session's ``url``: plainly a local test page, the
    store's name (``branding_settings[display_name]``, else
    ``metadata[store_name]``), the items, tax and total, email (read-only with
    ``customer_email``), card fields checked as the modal checks them, the
    same test cards (4242 pays, the decline cards show their message and the
    session stays open, 4000 0025 0000 3155 asks for a 3-D Secure "bank
    check" to complete or fail), "Cancel and go back" to ``cancel_url``;
    plain form posts (no JavaScript needed) with a per-session anti-forgery
    value; paying makes the PaymentIntent (``amount_total``,
    ``payment_intent_data``'s description, receipt_email, metadata) and its
    charge, completes the session and redirects (303) to ``success_url`` with
    ``{CHECKOUT_SESSION_ID}`` filled in. The stand-in's own delayed card
    4000 0099 0000 0004 completes it ``unpaid`` until
    ``POST /_standin/checkout/sessions/{id}/settle``;
  - expiry on the expire call, when ``expires_at`` passes (checked on each
    read and by a timer) or with ``POST /_standin/checkout/sessions/{id}/
    expire_now``; an unpaid PaymentIntent is canceled;
  - events through the webhook delivery controls:
    ``checkout.session.completed``, ``.expired``,
    ``.async_payment_succeeded``, ``.async_payment_failed``, besides the
    PaymentIntent's and charge's own;
  - helpers in :mod:`stripe_standin.process`: ``pay_checkout_session``,
    ``expire_checkout_session``, ``settle_checkout_session``.

Run it with ``python -m stripe_standin --port 0``, or from Python with
:func:`stripe_standin.process.start_standin`.
"""

from .process import (
    CheckoutPageError,
    StandinError,
    StandinProcess,
    clear_faults,
    expire_checkout_session,
    inject_fault,
    pay_checkout_session,
    register_webhook,
    reset,
    set_search_lag,
    settle_checkout_session,
    start_standin,
)

PINNED_LOCALSTRIPE = "1.15.10"

__all__ = [
    "PINNED_LOCALSTRIPE",
    "CheckoutPageError",
    "StandinError",
    "StandinProcess",
    "clear_faults",
    "expire_checkout_session",
    "inject_fault",
    "pay_checkout_session",
    "register_webhook",
    "reset",
    "set_search_lag",
    "settle_checkout_session",
    "start_standin",
]
