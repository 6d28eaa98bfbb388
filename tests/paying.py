"""Paying for an album over HTTP as a buyer's browser does it, in either payment flow.

``checkout_js``: Checkout's modal makes a token; the album form posts it to the buy route.
``payment_intents``: card-payment.js posts the page's attempt id to the start address, the Payment
Element's frame confirms the PaymentIntent with the publishable key and the client secret, the card
inline (``payment_method_data``) as Stripe.js sends it (3-D Secure answered as the buyer would), then
card-payment.js asks the store to confirm.

Both send the price the album page showed (``shown_amount``, ``shown_currency``), read from the page
as the browser has it: the checkout_js form's hidden inputs, the card form's data attributes.
``shown=`` sends something else instead: a price read from the page earlier (:func:`shown_price` of an
older page, a stale tab), a tampered one, or ``{}`` for none at all.

Cards are named by their number. Against Stripe's real test mode (no raw card numbers from a server)
the same cards become Stripe's magic tokens and PaymentMethods.
"""

import re
from dataclasses import dataclass

from album_store.settings import CHECKOUT_SESSION, PAYMENT_INTENTS

VISA = "4242424242424242"
THREE_D_SECURE = "4000002500003155"

#: number -> (Checkout token, PaymentMethod) in Stripe's test mode
MAGIC = {
    "4242424242424242": ("tok_visa", "pm_card_visa"),
    "5555555555554444": ("tok_mastercard", "pm_card_mastercard"),
    "4000000000000002": ("tok_chargeDeclined", "pm_card_visa_chargeDeclined"),
    "4000000000009995": ("tok_chargeDeclinedInsufficientFunds", "pm_card_visa_chargeDeclinedInsufficientFunds"),
    "4000000000000069": ("tok_chargeDeclinedExpiredCard", "pm_card_visa_chargeDeclinedExpiredCard"),
    "4000000000000127": ("tok_chargeDeclinedIncorrectCvc", "pm_card_visa_chargeDeclinedIncorrectCvc"),
    "4000000000000119": ("tok_chargeDeclinedProcessingError", "pm_card_visa_chargeDeclinedProcessingError"),
    "4000002500003155": (None, "pm_card_authenticationRequired"),
}


@dataclass
class Payment:
    """How paying ended, as the buyer sees it."""

    # paid, declined, unavailable, conflict, price changed, refused (400), forbidden (403), not found,
    # incomplete
    outcome: str
    status: int  # the store's last HTTP status
    message: str  # what the buyer is told, when it is not paid
    receipt_url: str | None
    response: object  # the store's last response

    @property
    def paid(self):
        return self.outcome == "paid"


OUTCOMES = {
    303: "paid",
    200: "paid",
    402: "declined",
    503: "unavailable",
    409: "conflict",
    400: "refused",
    403: "forbidden",
    404: "not found",
}


def _outcome(response):
    outcome = OUTCOMES.get(response.status_int, str(response.status_int))
    if response.content_type == "application/json":
        body = response.json
        if body.get("status") in ("incomplete", "price_changed"):
            outcome = body["status"].replace("_", " ")
        message = body.get("error", "")
        receipt = body.get("receipt_url") if body.get("status") == "paid" else None
    else:
        alert = response.html.find(class_="alert--error") if response.content_type == "text/html" else None
        main = response.html.find("main") if response.content_type == "text/html" else None
        message = (alert or main).get_text(" ", strip=True) if (alert or main) else response.text
        receipt = response.location if response.status_int == 303 else None
    return Payment(outcome, response.status_int, message, receipt, response)


def shown_price(page):
    """The price fields the album page's form sends, as its browser code reads them; ``{}`` without a
    form (an owned album, a 404). checkout_js and checkout_session: the form's hidden inputs; payment_intents: the card
    form's ``data-amount`` (an integer, as card-payment.js sends it) and ``data-currency``."""
    if hasattr(page, "html"):  # a WebTest response
        html = page.html if page.content_type == "text/html" else None
    else:  # a requests response, from a live store
        from bs4 import BeautifulSoup

        html = (
            BeautifulSoup(page.text, "html.parser")
            if page.headers.get("Content-Type", "").startswith("text/html")
            else None
        )
    card_form = html.find("form", id="card-payment") if html else None
    if card_form is not None:
        if card_form.has_attr("data-minimum"):  # pay what you want: the amount field, as the page prefills it
            return {
                "amount": card_form.find("input", attrs={"name": "amount"})["value"],
                "shown_currency": card_form["data-currency"],
                "shown_minimum": int(card_form["data-minimum"]),
            }
        return {"shown_amount": int(card_form["data-amount"]), "shown_currency": card_form["data-currency"]}
    checkout_form = html.find("form", class_="buy-form") or html.find("form", id="hosted-checkout") if html else None
    if checkout_form is None:
        return {}
    inputs = (
        checkout_form.find("input", attrs={"name": name})
        for name in ("shown_amount", "shown_currency", "shown_minimum", "amount")
    )
    return {field["name"]: field["value"] for field in inputs if field is not None}


class Buyer:
    """The buyer's side of a payment; ``store`` is a WebTest app (cookies kept)."""

    def __init__(self, store, real_stripe, new_card_token):
        self.store = store
        self.settings = store.app.registry.settings
        self.real_stripe = real_stripe
        self.new_card_token = new_card_token

    @property
    def flow(self):
        return self.settings["store.payment_flow"]

    def pay(self, slug, card=VISA, email="buyer@example.com", *, csrf=True, authenticate=True, extra=None, shown=None):
        if self.flow == PAYMENT_INTENTS:
            return self._pay_with_payment_intent(
                slug, card, email, csrf=csrf, authenticate=authenticate, extra=extra, shown=shown
            )
        if self.flow == CHECKOUT_SESSION:
            return self._pay_on_the_hosted_page(
                slug, card, email, csrf=csrf, authenticate=authenticate, extra=extra, shown=shown
            )
        token = card if card.startswith("tok_") else self.token(card)
        return _outcome(
            self.store.buy(slug, token=token, email=email, csrf=csrf, status="*", shown=shown, **(extra or {}))
        )

    def shown_price(self, slug):
        """What the album page shows now: keep it to pay later from a stale page (``pay(…, shown=…)``)."""
        return shown_price(self.store.get(f"/albums/{slug}"))

    def token(self, number):
        if self.real_stripe:
            return MAGIC[number][0]
        return self.new_card_token(number)

    # --- the payment_intents flow, step by step -----------------------------------------------------
    def card_form(self, slug):
        """(form action, attempt id, CSRF token) as card-payment.js has them: the action from the album
        page, the attempt id from the store's attempt address, the token from the csrf_token cookie."""
        return self._open_card_form(slug)[:3]

    def _open_card_form(self, slug):
        page = self.store.get(f"/albums/{slug}")
        form = page.html.find("form", id="card-payment")
        attempt = self.store.get(form["data-attempt-url"], headers={"Accept": "application/json"})
        return form["action"], attempt.json["attempt_id"], self.store.csrf_token(), shown_price(page)

    def post_json(self, url, fields, csrf):
        headers = {"Accept": "application/json"}
        if csrf:
            headers["X-CSRF-Token"] = csrf
        return self.store.post_json(url, fields, headers=headers, status="*")

    def start(self, slug, email="buyer@example.com", *, attempt_id=None, csrf=True, extra=None, shown=None):
        """Press Pay: the store's answer to the start request (its client secret, or why not)."""
        action, attempt, token, page_shows = self._open_card_form(slug)
        fields = {
            "attempt_id": attempt_id or attempt,
            "email": email,
            **(page_shows if shown is None else shown),
            **(extra or {}),
        }
        return self.post_json(action, fields, token if csrf else None), token

    def stripe_js(self):
        """What Stripe.js does in the page: the publishable key only."""
        import stripe

        base = {"api": self.settings["stripe.api_base"]} if self.settings["stripe.api_base"] else {}
        return stripe.StripeClient(self.settings["stripe.publishable_key"], base_addresses=base, max_network_retries=0)

    def element_confirm_params(self, card, return_url):
        """What the Payment Element's frame sends to confirm (``stripe.confirmPayment``): the card inline
        as ``payment_method_data``, ``expected_payment_method_type``, ``use_stripe_sdk`` and the page's
        ``confirmParams`` (``return_url``, the buyer's email). Stripe's test mode takes no raw card
        numbers from here: there the card is its magic PaymentMethod."""
        params = {"return_url": return_url or "http://localhost/purchases/0", "use_stripe_sdk": True}
        if self.real_stripe:
            return {**params, "payment_method": MAGIC[card][1]}
        return {
            **params,
            "payment_method_data": {
                "type": "card",
                "card": {"number": card, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
                "billing_details": {"email": "buyer@example.com"},
                "payment_user_agent": "stripe-standin; payment-element",
            },
            "expected_payment_method_type": "card",
        }

    def confirm_at_stripe(self, client_secret, card=VISA, *, authenticate=True, return_url=None):
        """``stripe.confirmPayment`` in the Payment Element: the PaymentIntent's status afterwards.
        ``authenticate``: the buyer completes (True) or fails (False) the 3-D Secure check, or leaves it
        open (None)."""
        import stripe

        intent_id = re.match(r"^(pi_[A-Za-z0-9]+)_secret_", client_secret).group(1)
        client = self.stripe_js()
        try:
            intent = client.v1.payment_intents.confirm(
                intent_id, params={"client_secret": client_secret, **self.element_confirm_params(card, return_url)}
            )
        except stripe.CardError:
            return "requires_payment_method"
        if intent.status == "requires_action" and authenticate is not None:
            import requests

            answer = requests.post(
                f"{self.settings['stripe.api_base']}/v1/payment_intents/{intent_id}/_authenticate",
                data={
                    "key": self.settings["stripe.publishable_key"],
                    "client_secret": client_secret,
                    "success": "true" if authenticate else "false",
                },
                timeout=10,
            )
            return answer.json()["status"]
        return intent.status

    def confirm(self, confirm_url, csrf):
        """card-payment.js's last step: the store settles the purchase by its PaymentIntent."""
        return self.post_json(confirm_url, {}, csrf)

    # --- the checkout_session flow ---------------------------------------------------------------------
    def press_buy(self, slug, email="buyer@example.com", *, csrf=True, extra=None, shown=None):
        """The album page's Buy form: the store's answer (a 303 to Stripe's hosted page, or why not)."""
        page = self.store.get(f"/albums/{slug}")
        fields = {"email": email, **(shown_price(page) if shown is None else shown), **(extra or {})}
        if csrf:
            fields["csrf_token"] = self.store.csrf_token()
        return self.store.post(f"/albums/{slug}/checkout-session", fields, status="*")

    def _pay_on_the_hosted_page(self, slug, card, email, *, csrf, authenticate, extra, shown):
        """Press Buy, pay on Stripe's hosted page (the stand-in's, over HTTP as a browser would), and
        follow Stripe back to the store's receipt."""
        from urllib.parse import urlsplit

        from stripe_standin import process

        answer = self.press_buy(slug, email, csrf=csrf, extra=extra, shown=shown)
        if answer.status_int != 303 or urlsplit(answer.location).netloc == "localhost":
            return _outcome(answer)
        try:
            back = process.pay_checkout_session(
                answer.location, card=card, email=email, authenticate=bool(authenticate)
            )
        except process.CheckoutPageError as error:
            # Stripe's page said no (declined, 3-D Secure failed): the buyer reads it there; the store
            # heard nothing and the purchase waits, its page still open.
            return Payment("declined", error.status, error.message, None, error)
        parts = urlsplit(back)
        receipt = self.store.get(parts.path + (f"?{parts.query}" if parts.query else ""), status="*")
        if receipt.status_int == 200 and receipt.html.find(class_="receipt__badge", string="Paid"):
            return Payment("paid", 303, "", parts._replace(query="").geturl(), receipt)
        if receipt.status_int == 200:  # back on the receipt, which says the payment is being confirmed
            return Payment("pending", 200, receipt.html.find("main").get_text(" ", strip=True), None, receipt)
        return _outcome(receipt)

    def _pay_with_payment_intent(self, slug, card, email, *, csrf, authenticate, extra, shown):
        started, token = self.start(slug, email, csrf=csrf, extra=extra, shown=shown)
        if started.status_int != 200 or started.json.get("status") != "confirm":
            return _outcome(started)
        self.confirm_at_stripe(
            started.json["client_secret"], card, authenticate=authenticate, return_url=started.json.get("return_url")
        )
        return _outcome(self.confirm(started.json["confirm_url"], token))
