"""An in-memory :class:`~album_store.services.payments.IPaymentService`: Stripe's side of a payment as
a few dicts, for unit tests that build ``PurchaseService`` with no HTTP and no stand-in.

It lives here, outside the ``album_store`` package, because a fake never ships in production: the
store's own code knows only the interface. It keeps what the service-level tests assert on — every
charge made (:attr:`FakePayments.charges`), every request by its idempotency key — and behaves as
Stripe does where the store's guarantees depend on it: the same idempotency key gives back the first
answer (a result, or the same error) and refuses other parameters; a declined card makes a failed
charge and raises :class:`CardDeclined`; metadata values come back as strings.

What a test can ask of it: :meth:`decline` a token, :meth:`lose_next_answer` (the charge is made,
the answer never arrives: :class:`PaymentUnavailable`), :meth:`go_down` (nothing is made), and,
for the browser's part of the other flows, :meth:`pay_intent` and :meth:`pay_session`.
"""

import hashlib
import hmac
import itertools
import json
from dataclasses import replace

from zope.interface import implementer

from album_store.services.payments import (
    CardDeclined,
    Charge,
    CheckoutSession,
    InvalidWebhook,
    IPaymentService,
    PaymentIntent,
    PaymentUnavailable,
    RefundRefused,
    StripeEvent,
)


@implementer(IPaymentService)
class FakePayments:
    publishable_key = "pk_test_fake"
    checkout_js_url = "http://checkout.invalid/checkout.js"
    stripe_js_url = "http://js.invalid/v3/"

    def __init__(self, webhook_secret="whsec_fake"):
        self.webhook_secret = webhook_secret
        self.charges = {}  # id -> Charge, in the order they were made
        self.intents = {}  # id -> PaymentIntent
        self.sessions = {}  # id -> CheckoutSession
        self.requests = []  # (what, idempotency_key): every create the store sent, replays included
        self._answers = {}  # idempotency key -> (params, result or exception)
        self._declined = {}  # token -> the card's message
        self._lose_next = False
        self._down = False
        self._ids = itertools.count(1)

    # --- what a test makes happen --------------------------------------------------------------------
    def decline(self, token, message="Your card was declined."):
        """Charging ``token`` fails as a declined card does (a failed charge, then ``CardDeclined``)."""
        self._declined[token] = message

    def lose_next_answer(self):
        """The next create is made at "Stripe" but its answer is lost: the store sees PaymentUnavailable."""
        self._lose_next = True

    def go_down(self, down=True):
        """Every call fails with PaymentUnavailable, and nothing is made, until ``go_down(False)``."""
        self._down = down

    def pay_intent(self, intent_id, *, succeed=True, message="Your card was declined."):
        """The buyer's browser confirms the PaymentIntent: it succeeds (a charge) or the card is declined."""
        intent = self.intents[intent_id]
        status = "succeeded" if succeed else "failed"
        charge = self._new_charge(
            intent.amount_cents, intent.currency, intent.metadata, status, payment_intent_id=intent_id
        )
        if succeed:
            intent = replace(intent, status="succeeded", charge=charge)
        else:
            intent = replace(
                intent,
                status="requires_payment_method",
                charge=charge,
                error_code="card_declined",
                decline_code="generic_decline",
                error_message=message,
            )
        self.intents[intent_id] = intent
        return intent

    def pay_session(self, session_id):
        """The buyer pays on the hosted page: the session completes with a succeeded PaymentIntent."""
        session = self.sessions[session_id]
        intent = self._new_intent(session.amount_total_cents, session.currency, session.metadata)
        intent = self.pay_intent(intent.id)
        self.sessions[session_id] = replace(session, status="complete", payment_status="paid", payment_intent=intent)
        return self.sessions[session_id]

    def signature(self, payload):
        """The ``Stripe-Signature`` this fake accepts for ``payload`` (bytes)."""
        return hmac.new(self.webhook_secret.encode(), payload, hashlib.sha256).hexdigest()

    # --- IPaymentService -----------------------------------------------------------------------------
    def dashboard_url(self, charge_id):
        return f"https://dashboard.invalid/test/payments/{charge_id}"

    def charge(self, *, amount_cents, currency, source, description, receipt_email, metadata, idempotency_key):
        params = {
            "amount_cents": amount_cents,
            "currency": currency,
            "source": source,
            "description": description,
            "receipt_email": receipt_email,
            "metadata": _texts(metadata),
        }

        def create():
            if source in self._declined:
                charge = self._new_charge(amount_cents, currency, metadata, "failed")
                raise CardDeclined(
                    self._declined[source], code="card_declined", decline_code="generic_decline", charge_id=charge.id
                )
            return self._new_charge(amount_cents, currency, metadata, "succeeded")

        return self._once("charge", idempotency_key, params, create)

    def find_charge(self, *, purchase_ref):
        self._check_up()
        found = [c for c in self.charges.values() if c.metadata.get("purchase_ref") == purchase_ref]
        found.sort(key=lambda c: not c.succeeded)
        return found[0] if found else None

    def retrieve_charge(self, charge_id):
        self._check_up()
        return self.charges.get(charge_id)

    def create_payment_intent(self, *, amount_cents, currency, description, receipt_email, metadata, idempotency_key):
        params = {
            "amount_cents": amount_cents,
            "currency": currency,
            "description": description,
            "receipt_email": receipt_email,
            "metadata": _texts(metadata),
        }
        return self._once(
            "payment_intent", idempotency_key, params, lambda: self._new_intent(amount_cents, currency, metadata)
        )

    def retrieve_payment_intent(self, payment_intent_id):
        self._check_up()
        return self.intents.get(payment_intent_id)

    def find_payment_intent(self, *, purchase_ref):
        self._check_up()
        found = [i for i in self.intents.values() if i.metadata.get("purchase_ref") == purchase_ref]
        found.sort(key=lambda i: (not i.succeeded, i.canceled))
        return found[0] if found else None

    def cancel_payment_intent(self, payment_intent_id):
        self._check_up()
        intent = self.intents.get(payment_intent_id)
        if intent is None:
            raise PaymentUnavailable("no such PaymentIntent")
        if not intent.succeeded:
            intent = self.intents[payment_intent_id] = replace(intent, status="canceled")
        return intent

    def refund(self, charge_id=None, *, payment_intent_id=None, idempotency_key):
        self._check_up()
        if charge_id is None and payment_intent_id in self.intents:
            charge_id = getattr(self.intents[payment_intent_id].charge, "id", None)
        charge = self.charges.get(charge_id)
        if charge is None or not charge.succeeded:
            raise RefundRefused(f"Stripe has no succeeded charge {charge_id or payment_intent_id} to refund.")
        self.requests.append(("refund", idempotency_key))
        charge = self.charges[charge.id] = replace(charge, amount_refunded_cents=charge.amount_cents)
        return charge

    def create_checkout_session(
        self,
        *,
        amount_cents,
        currency,
        name,
        description,
        image_url,
        customer_email,
        receipt_email,
        metadata,
        client_reference_id,
        success_url,
        cancel_url,
        expires_at,
        idempotency_key,
        store_name=None,
        tax_behavior=None,
        tax_code=None,
    ):
        params = {
            "amount_cents": amount_cents,
            "currency": currency,
            "metadata": _texts(metadata),
            "client_reference_id": client_reference_id,
            "tax_behavior": tax_behavior,
        }

        def create():
            session_id = f"cs_fake{next(self._ids)}"
            session = CheckoutSession(
                id=session_id,
                url=f"https://checkout.invalid/pay/{session_id}",
                status="open",
                payment_status="unpaid",
                amount_total_cents=amount_cents,
                currency=currency,
                metadata=_texts(metadata),
                payment_intent=None,
                amount_subtotal_cents=amount_cents,
            )
            self.sessions[session_id] = session
            return session

        return self._once("checkout_session", idempotency_key, params, create)

    def retrieve_checkout_session(self, session_id):
        self._check_up()
        return self.sessions.get(session_id)

    def expire_checkout_session(self, session_id):
        self._check_up()
        session = self.sessions.get(session_id)
        if session is None:
            raise PaymentUnavailable("no such Checkout Session")
        if session.open:
            session = self.sessions[session_id] = replace(session, status="expired", url=None)
        return session

    def verify_webhook(self, payload, signature):
        if not signature or not hmac.compare_digest(signature, self.signature(payload)):
            raise InvalidWebhook("bad signature")
        try:
            event = json.loads(payload)
            object_id = event["data"]["object"]["id"]
            return StripeEvent(
                id=event["id"],
                type=event["type"],
                object_id=object_id,
                charge_id=object_id if object_id.startswith("ch_") else None,
                payment_intent_id=object_id if object_id.startswith("pi_") else None,
                checkout_session_id=object_id if object_id.startswith("cs_") else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InvalidWebhook("not a Stripe event") from error

    # --- inside ------------------------------------------------------------------------------------------
    def _check_up(self):
        if self._down:
            raise PaymentUnavailable("Our card processor could not be reached.")

    def _once(self, what, idempotency_key, params, create):
        """Stripe's idempotency: the first answer to a key, again; other parameters with it are refused."""
        self._check_up()
        self.requests.append((what, idempotency_key))
        if idempotency_key in self._answers:
            first_params, answer = self._answers[idempotency_key]
            if first_params != params:
                raise PaymentUnavailable("The payment could not be confirmed.")  # Stripe's IdempotencyError
        else:
            try:
                answer = create()
            except CardDeclined as error:
                answer = error
            self._answers[idempotency_key] = (params, answer)
        if self._lose_next:
            self._lose_next = False
            raise PaymentUnavailable("Our card processor could not be reached.")
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _new_charge(self, amount_cents, currency, metadata, status, *, payment_intent_id=None):
        charge = Charge(
            id=f"ch_fake{next(self._ids)}",
            amount_cents=amount_cents,
            currency=currency,
            status=status,
            card_brand="visa",
            card_last4="4242",
            amount_refunded_cents=0,
            metadata=_texts(metadata),
            payment_intent_id=payment_intent_id,
        )
        self.charges[charge.id] = charge
        return charge

    def _new_intent(self, amount_cents, currency, metadata):
        intent_id = f"pi_fake{next(self._ids)}"
        intent = PaymentIntent(
            id=intent_id,
            status="requires_payment_method",
            amount_cents=amount_cents,
            currency=currency,
            client_secret=f"{intent_id}_secret_fake",
            metadata=_texts(metadata),
            charge=None,
            error_code=None,
            decline_code=None,
            error_message=None,
        )
        self.intents[intent_id] = intent
        return intent


def _texts(metadata):
    """Stripe keeps metadata values as strings."""
    return {key: str(value) for key, value in metadata.items()}
