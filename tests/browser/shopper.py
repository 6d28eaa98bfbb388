"""A shopper in a real browser, and a watch on everything the browser does.

``Shopper`` speaks the store's language (open the catalog, open an album, pay with a card) so a test
reads like the journey it checks; ``CheckoutModal`` is Checkout's window (the stand-in's iframe);
``PaymentForm`` the payment_intents flow's card form with Stripe.js's Payment Element;
``BrowserWatch`` records what a shopper would never want to see: JavaScript errors, Content Security
Policy violations, requests to anywhere but the store and Stripe (the stand-in), store pages without
a Content-Security-Policy header.

More journeys (downloads from the library, the owner's album and purchase pages) belong here as more
``Shopper`` steps that end with ``self.arrived(...)``, so they get the same checks (and a picture in
``make screenshots`` when a tour reaches them).
"""

import re
from datetime import date
from urllib.parse import urlsplit

CARD_OK = "4242 4242 4242 4242"
CARD_DECLINED = "4000 0000 0000 0002"
#: The receipt's address; after Stripe's hosted page it also carries ``?session_id=cs_…``.
RECEIPT_URL = re.compile(r"/purchases/\d+$")
SESSION_RECEIPT_URL = re.compile(r"/purchases/\d+\?session_id=cs_")

#: Chromium logs a console error for every response with a 4xx/5xx status, documents included.
STATUS_MESSAGE = re.compile(r"Failed to load resource: the server responded with a status of (\d{3})")

#: Reports every Content Security Policy violation, in any frame, as a console error the watch sees.
CSP_REPORTER = """
document.addEventListener('securitypolicyviolation', function (e) {
  console.error('securitypolicyviolation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || '(inline)')
    + ' in ' + e.documentURI + (e.sourceFile ? ' from ' + e.sourceFile + ':' + e.lineNumber : ''));
}, true);
"""


def origin_of(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def future_expiry(years=3):
    """(digits a shopper types, what the field then shows): December, a few years from now."""
    yy = (date.today().year + years) % 100
    return f"12{yy:02d}", f"12 / {yy:02d}"


class BrowserWatch:
    """Collects every problem a browser context shows; ``problems()`` lists what is left unexplained."""

    def __init__(self, store_url, standin_url):
        self.store_origin = origin_of(store_url)
        self.allowed_origins = {self.store_origin, origin_of(standin_url)}
        self.console_errors = []  # (text, url of the frame or script that logged it)
        self.page_errors = []
        self.foreign_requests = []
        self.pages_without_csp = []
        self.requests = []
        self._expected_statuses = set()

    def attach(self, context):
        context.add_init_script(CSP_REPORTER)
        context.on("console", self._on_console)
        context.on("weberror", lambda error: self.page_errors.append(str(error.error)))
        context.on("request", self._on_request)
        context.on("response", self._on_response)

    def expect_status(self, status):
        """The test means to get a page with this status (e.g. 402 for a declined card)."""
        self._expected_statuses.add(status)

    def _on_console(self, message):
        if message.type == "error" or "Content Security Policy" in message.text:
            self.console_errors.append((message.text, message.location.get("url", "")))

    def _on_request(self, request):
        self.requests.append(request.url)
        if urlsplit(request.url).scheme in ("data", "blob", "about"):
            return
        if origin_of(request.url) not in self.allowed_origins:
            self.foreign_requests.append(request.url)

    def _on_response(self, response):
        request = response.request
        if request.resource_type == "document" and origin_of(response.url) == self.store_origin:
            if "content-security-policy" not in response.headers:
                self.pages_without_csp.append(f"{response.status} {response.url}")

    def csp_violations(self):
        return [text for text, _ in self.console_errors if text.startswith("securitypolicyviolation:")]

    def problems(self):
        found = []
        for text, url in self.console_errors:
            status = STATUS_MESSAGE.search(text)
            if status and int(status.group(1)) in self._expected_statuses:
                continue
            found.append(f"console error: {text} ({url})")
        found += [f"JavaScript error: {error}" for error in self.page_errors]
        found += [f"request outside the store and Stripe: {url}" for url in self.foreign_requests]
        found += [f"store page without a Content-Security-Policy header: {page}" for page in self.pages_without_csp]
        return found

    def forget(self):
        """Start over (after a test deliberately provoked a problem)."""
        self.console_errors.clear()
        self.page_errors.clear()
        self.foreign_requests.clear()
        self.pages_without_csp.clear()

    def assert_clean(self):
        problems = self.problems()
        assert not problems, "the browser saw problems:\n  " + "\n  ".join(problems)


class CheckoutModal:
    """Checkout's window: an iframe served by Stripe (here the stand-in), over the album page."""

    IFRAME = "iframe.stripe-standin-checkout-app"

    def __init__(self, shopper):
        self.shopper = shopper
        self.page = shopper.page
        self.frame = self.page.frame_locator(self.IFRAME)
        self.email = self.frame.get_by_label("Email")
        self.card_number = self.frame.get_by_label("Card number")
        self.expiry = self.frame.get_by_label("Expiry (MM / YY)")
        self.cvc = self.frame.get_by_label("CVC")
        self.pay_button = self.frame.locator("#sc-pay")

    def wait_until_ready(self):
        self.email.wait_for(state="visible")
        self.pay_button.wait_for(state="visible")
        return self

    def fill(self, *, email, card, cvc="123"):
        """Type like a person: the modal formats the card number and the expiry as they go in."""
        if email is not None:
            self.email.fill(email)
        self.card_number.press_sequentially(card.replace(" ", ""))
        assert self.card_number.input_value() == card, "the modal groups the card number in fours"
        typed, shown = future_expiry()
        self.expiry.press_sequentially(typed)
        assert self.expiry.input_value() == shown, "the modal writes the expiry as MM / YY"
        self.cvc.press_sequentially(cvc)
        return self

    def pay(self):
        """Press Pay; Checkout tokenizes the card and submits the album's form with the token."""
        with self.page.expect_navigation(wait_until="load") as navigation:
            self.pay_button.click()
        return navigation.value


class PaymentForm:
    """The album page's card form in the payment_intents flow: an email field, then Stripe.js's Payment
    Element (the stand-in's frame: a "Card" tab, number, expiry, security code), which the first Pay
    brings (it needs the attempt's PaymentIntent); the second Pay pays."""

    FRAME = "#payment-element iframe"
    CHALLENGE = "iframe.stripe-standin-3ds-frame"

    def __init__(self, shopper):
        self.shopper = shopper
        self.page = shopper.page
        self.frame = self.page.frame_locator(self.FRAME)
        self.card_number = self.frame.get_by_label("Card number")
        self.expiry = self.frame.get_by_label("Expiration date")
        self.cvc = self.frame.get_by_label("Security code")

    def open(self, title):
        """The album page from the catalog, its form ready (Stripe.js loaded, Pay enabled)."""
        self.shopper.open_catalog()
        self.shopper.open_album(title)
        self.page.locator("#card-payment").wait_for(state="visible")
        self.page.wait_for_function("() => !document.getElementById('card-pay').disabled")
        return self

    def mounted(self):
        return self.page.locator(self.FRAME).count() > 0

    def start(self, *, email="shopper@example.com"):
        """The first Pay: the store starts the attempt and the Payment Element appears for it."""
        email_field = self.page.locator("#card-email")
        if email is not None and not email_field.get_attribute("readonly"):
            email_field.fill(email)
        self.pay()
        self.card_number.wait_for()
        self.shopper.arrived("payment-element")
        return self

    def fill(self, card, *, email="shopper@example.com"):
        """Type the card into the Payment Element (brought first, with the email, if it is not there)."""
        if not self.mounted():
            self.start(email=email)
        self.card_number.fill("")
        self.card_number.press_sequentially(card.replace(" ", ""))
        typed, shown = future_expiry()
        self.expiry.fill("")
        self.expiry.press_sequentially(typed)
        assert self.expiry.input_value() == shown, "the element writes the expiry as MM / YY"
        self.cvc.fill("")
        self.cvc.press_sequentially("123")
        return self

    def pay(self):
        self.page.locator("#card-pay").click()
        return self

    def error(self):
        errors = self.page.locator("#card-errors")
        errors.filter(has_text=re.compile(r"\S")).wait_for()
        return errors.inner_text()

    def challenge(self):
        return self.page.frame_locator(self.CHALLENGE)

    def answer_challenge(self, button):
        """Press a button of the bank's 3-D Secure challenge. Sent as a DOM click: the challenge's frame
        is removed as it answers, and a real click into a cross-site frame that vanishes under it can
        leave the DevTools protocol waiting for the click's acknowledgement for ever. A DOM click sent
        before the frame's script has bound its buttons would be lost, so wait until it says it is ready."""
        self.challenge().locator("html[data-ready]").wait_for(state="attached")
        self.challenge().get_by_role("button", name=button).dispatch_event("click")


class Shopper:
    """A person using the store in one browser tab."""

    def __init__(self, page, store_url, *, phone=False, on_arrival=None):
        self.page = page
        self.store_url = store_url.rstrip("/")
        self.phone = phone
        self.on_arrival = on_arrival or (lambda name: None)

    # --- where the shopper is --------------------------------------------------------------------
    def arrived(self, name):
        """Every page (and the modal) a journey reaches is checked and may be photographed."""
        if self.phone:
            self.assert_fits_the_screen()
        self.on_arrival(name)

    def assert_fits_the_screen(self):
        frames = [("page", self.page.main_frame)]
        for label, selector in (
            ("checkout modal", CheckoutModal.IFRAME),
            ("payment element", PaymentForm.FRAME),
            ("3-D Secure challenge", PaymentForm.CHALLENGE),
        ):
            if self.page.locator(selector).count():
                frames.append((label, self.page.locator(selector).element_handle().content_frame()))
        for label, frame in frames:
            widths = frame.evaluate(
                "() => ({scroll: document.documentElement.scrollWidth, visible: document.documentElement.clientWidth,"
                " viewport: window.innerWidth})"
            )
            assert widths["scroll"] <= widths["visible"], f"the {label} at {self.page.url} scrolls sideways: {widths}"

    def visit(self, path, name=None):
        """Go straight to ``path`` (a bookmark, a link in a mail); returns the response."""
        response = self.page.goto(path if path.startswith("http") else self.store_url + path)
        self.arrived(name or path)
        return response

    def heading(self):
        return self.page.locator("h1").first.inner_text()

    def on_receipt(self, title, *, shows=(), url=RECEIPT_URL):
        """The shopper lands on the receipt for ``title``: waits for its address (``url``), checks the
        page (:meth:`arrived`), its heading, and that the receipt says each of ``shows`` (spaces
        folded). The one receipt check of every flow; returns the receipt's text."""
        self.page.wait_for_url(url)
        self.arrived("receipt")
        assert self.heading() == f"Thank you! {title} is yours."
        receipt = " ".join(self.page.locator(".receipt").text_content().split())
        for expected in shows:
            assert expected in receipt, expected
        return receipt

    # --- browsing --------------------------------------------------------------------------------
    def open_home(self):
        self.page.goto(self.store_url + "/")
        self.arrived("home")

    def open_catalog(self):
        self.page.goto(self.store_url + "/albums")
        assert self.heading() == "Albums"
        self.arrived("catalog")

    def open_album(self, title):
        """From the catalog (or home), click the album's card."""
        with self.page.expect_navigation(wait_until="load"):
            self.page.locator(".album-card a", has_text=title).first.click()
        assert self.heading() == title
        self.arrived("album")
        self.wait_for_csrf_token()

    def wait_for_csrf_token(self):
        """The page is the same for every guest (cached): static/csrf.js fills its forms' token, from
        the cookie or, for a first visit, from /csrf-token. A person is never faster than that fetch;
        a test under load can be, and would post a form without its token (a 403)."""
        self.page.wait_for_function(
            "() => Array.from(document.querySelectorAll('input[name=csrf_token]')).every(input => input.value)"
        )

    # --- paying ----------------------------------------------------------------------------------
    def buy_button(self):
        return self.page.locator("form.buy-form button.stripe-button-el")

    def open_checkout(self):
        """Click the Buy button Checkout drew after its script tag; its modal opens."""
        self.buy_button().click()
        modal = CheckoutModal(self).wait_until_ready()
        self.arrived("checkout")
        return modal

    def pay(self, card, *, email="shopper@example.com", cvc="123"):
        """The whole Checkout: open it, fill it in, pay. Returns the response of the page it ends on."""
        modal = self.open_checkout()
        modal.fill(email=email, card=card, cvc=cvc)
        self.on_arrival("checkout-filled")
        return modal.pay()

    def card_error(self):
        return self.page.locator(".buy-box .alert--error").inner_text()

    # --- pay what you want (checkout_js: the amount field, then Checkout's custom integration) ----------
    def choose_amount(self, amount):
        """Type the amount into the album page's "Your price" field (prefilled with the suggestion)."""
        field = self.page.get_by_label(re.compile(r"^Your price"))
        field.fill(amount)
        return field

    def buy_at_chosen_amount(self):
        """Press Buy under the amount field: Checkout's window opens for that amount."""
        self.page.locator("#choose-pay").click()
        modal = CheckoutModal(self).wait_until_ready()
        self.arrived("checkout")
        return modal

    def amount_error(self):
        return self.page.locator("#choose-errors").inner_text()

    def payment_form(self, title):
        """The payment_intents flow: the album's page, its card form ready (see :class:`PaymentForm`)."""
        return PaymentForm(self).open(title)

    # --- accounts: a buyer's, or the store owner's ------------------------------------------------
    def sign_in(self, email, password):
        """Through the sign-in page; ends wherever the store sends a new session (the library)."""
        self.page.goto(self.store_url + "/account/login")
        self.arrived("sign-in")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        with self.page.expect_navigation(wait_until="load"):
            self.page.get_by_role("button", name="Sign in").click()

    def leave(self):
        """Forget this browser's cookies: the next visit is a stranger's."""
        self.page.context.clear_cookies()

    def open_library(self):
        self.page.goto(self.store_url + "/library")
        assert self.heading() == "Your library"
        self.arrived("library")

    def open_dashboard(self):
        """The store owner's dashboard (signed in as an owner)."""
        self.page.goto(self.store_url + "/admin")
        assert self.heading() == "Dashboard"
        self.arrived("admin-dashboard")
