"""The store as a state machine against Stripe's: random interleavings of buyers, Stripe's faults, the
owner and time, with the money checked from both sides after every step and exactly at the end.

hypothesis' stateful testing drives the real store (WebTest apps, in process) against the real
stand-in over HTTP: no mocks. The steps (rules) are what happens in the world:

- buyers (two guests sharing an address, a signed-in member, a guest typing the member's address) open
  an album page and keep the price it shows, pay in any of the three flows (the checkout_js token
  posted to the buy route; the payment_intents card form: start, Stripe.js's confirm, the store's
  confirm; the checkout_session Buy button, then Stripe's hosted page and back), with a good or a
  declined card, double-click, try again after an error page, close the tab before the store hears of
  the payment, leave a hosted page unpaid;
- Stripe loses its answer after it charged (or made the PaymentIntent), is down (nothing made), lets its
  search lag, delivers the webhooks it owes late, twice, out of order (:meth:`MoneyModel.stripe_delivers_an_event`
  picks any owed event, again and again if it likes);
- the owner refunds from the admin or in Stripe's dashboard, changes a price in the database (as another
  process would), takes an album off sale and puts it back;
- time: reconcile runs, purchases age, hosted pages expire.

After every step :meth:`MoneyModel.check` reads both sides and holds the store to what is true at
every moment (each check says why it holds at every step); :meth:`MoneyModel.teardown` lets Stripe
deliver everything it owes, stops the lag, runs ``album-store reconcile`` with no lag, and then checks
that the money Stripe holds for each buyer and album is exactly what the store says the buyer owns.

The number of examples and steps comes from the environment: ``make soak`` (``ALBUM_STORE_SOAK=1``)
runs hundreds of examples of longer runs. With ``CI`` set the run is derandomized (the same examples
each time) and keeps no example database, so a CI run is reproducible; elsewhere it is random, and
hypothesis' database replays a failure found locally first next time. A failure prints the shrunk
sequence of steps (``state.pay_with_checkout(...)`` …) and the blob that reproduces it.
"""

import hashlib
import os
import re
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from album_store import main
from album_store.models import Album, Purchase
from album_store.services.tokens import SignedTokens
from stripe_standin import process
from tests.conftest import PASSWORD, StoreTestApp, _empty_tables, standin_only
from tests.factories import give_album_file, make_album, make_owner, make_user
from tests.functional.test_webhooks import event, signed
from tests.paying import shown_price

pytestmark = [pytest.mark.stripe, standin_only]

SOAK = os.environ.get("ALBUM_STORE_SOAK", "") not in ("", "0")
IN_CI = bool(os.environ.get("CI"))
EXAMPLES = int(os.environ.get("ALBUM_STORE_MODEL_EXAMPLES") or (400 if SOAK else 20))
STEPS = int(os.environ.get("ALBUM_STORE_MODEL_STEPS") or (60 if SOAK else 40))

MODEL_SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    derandomize=IN_CI,
    database=None if IN_CI else settings.default.database,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)

GOOD, DECLINED = "4242424242424242", "4000000000000002"
BUYERS = ("ann", "ann_on_her_phone", "member", "guest_typing_members_email")
ALBUMS = ("model-one", "model-two")
PRICES = (700, 900, 1200)


@dataclass
class World:
    """What the test's fixtures give the machine (it is built by hypothesis, without arguments)."""

    apps: dict
    engine: object
    stripe: object
    standin_url: str
    new_card_token: object
    files_dir: object
    ini_file: object
    tokens: SignedTokens
    webhook_secret: str


@dataclass
class Page:
    """An album page as one browser tab has it: the price it shows, and (card form) its attempt id."""

    shown: dict
    attempt_id: str | None = None


@dataclass
class Browser:
    name: str
    email: str  # what the buyer types (a member's purchases are under their account's address anyway)
    apps: dict  # kind -> StoreTestApp, all sharing one cookie jar: one browser
    pages: dict = field(default_factory=dict)  # (flow, slug) -> Page


def ref_of(charge):
    """The purchase a charge names (``metadata.purchase_ref``): the SDK's objects are not dicts."""
    return (charge.metadata.to_dict() if charge.metadata else {}).get("purchase_ref")


def _stable_event_id(event_type, object_id):
    return "evt_" + hashlib.sha256(f"{event_type}:{object_id}".encode()).hexdigest()[:24]


TALLIED_AWAY = r"/[0-9]+|/downloads/.*|/att_.*|\?session_id=.*"  # ids, kept out of the tally's lines
TALLY = Counter()  # what the runs did, printed at the end (pytest -s): proof that the steps reach the store


def tally(what):
    TALLY[what] += 1


class MoneyModel(RuleBasedStateMachine):
    world: World = None

    def __init__(self):
        super().__init__()
        w = self.world
        _empty_tables(w.engine)
        # Nothing leaks from one example to the next: the stand-in forgets its charges, PaymentIntents,
        # idempotency keys and faults (which also keeps it as quick in the 400th example as in the first).
        process.reset(w.standin_url)
        process.clear_faults(w.standin_url)
        self.lag = 0
        self.db = Session(bind=w.engine, expire_on_commit=False)
        self.since = int(time.time()) - 1
        tag = uuid.uuid4().hex[:10]
        shared, member = f"ann-{tag}@example.com", f"member-{tag}@example.com"
        self.emails = {shared, member}
        for slug, price in zip(ALBUMS, (900, 1200), strict=True):
            album = make_album(self.db, slug=slug, title=slug.replace("-", " ").title(), price_cents=price)
            give_album_file(self.db, album, w.files_dir)
        make_owner(self.db, email=f"owner-{tag}@example.com")
        make_user(self.db, member, PASSWORD, confirmed=True)
        typed = {
            "ann": shared,
            "ann_on_her_phone": shared.capitalize(),
            "member": member,
            "guest_typing_members_email": member.upper(),
        }
        self.browsers = {name: self._browser(name, typed[name]) for name in BUYERS}
        self.browsers["member"].apps["checkout"].login(member)
        self.owner = self._browser("owner", None)
        self.owner.apps["checkout"].login(f"owner-{tag}@example.com")
        self.stripe_side = self._browser("stripe", None).apps["checkout"]  # posts the webhooks: no cookies
        self.shown_for = {}  # checkout token or attempt id -> the amount its page showed when it first paid
        self.owed = []  # (event type, object id) Stripe has sent or will send, in the order they arose
        self.refund_noticed = set()  # charges fully refunded, whose charge.refunded the store has had since
        self.refund_told = {}  # charge -> the refunded amount the store has been told of (by charge.refunded)
        self.success_noticed = set()  # charges succeeded, whose success event the store has had
        self.download_checked = {}  # purchase id -> the status its download link was last checked in
        self.purchases, self.charges = [], {}
        self.log = []

    def _browser(self, name, email):
        jar = None
        apps = {}
        for kind, app in self.world.apps.items():
            browser = StoreTestApp(app, self.world.new_card_token)
            if jar is None:
                jar = browser.cookiejar
            browser.cookiejar = jar
            apps[kind] = browser
        return Browser(name, email, apps)

    # --- talking to the store ----------------------------------------------------------------------
    def _send(self, browser, method, url, *args, **kwargs):
        response = getattr(browser, method)(url, *args, status="*", **kwargs)
        tally(f"{method.upper()} {re.sub(TALLIED_AWAY, '/…', url)} {response.status_int}")
        assert response.status_int != 500 and response.status_int < 500 or response.status_int == 503, (
            f"{method.upper()} {url} answered {response.status}: {response.text[:800]}"
        )
        if response.status_int == 503:
            # The store's own answer when Stripe cannot be reached: a pending receipt, the unavailable page
            # or the card form's JSON; never a bare gateway error.
            assert "Retry-After" in response.headers, f"{url}: a 503 that is not the store's: {response.text[:300]}"
        return response

    def _inject(self, kind, path):
        if kind == "answer_lost":
            process.inject_fault(
                self.world.standin_url, count=1, status=500, when="after", path_prefix=path, method="POST"
            )
        elif kind == "down":
            process.inject_fault(self.world.standin_url, count=1, status=503, when="before", path_prefix=path)

    def _clear_faults(self):
        process.clear_faults(self.world.standin_url)  # also sets the search lag back to 0: restore it
        if self.lag:
            process.set_search_lag(self.world.standin_url, self.lag)

    def _album(self, slug):
        self.db.expire_all()
        return self.db.scalars(select(Album).where(Album.slug == slug)).one()

    def _purchase_where(self, condition):
        self.db.expire_all()
        return self.db.scalars(select(Purchase).where(condition)).one_or_none()

    def _told_paid(self, browser, receipt_url, what):
        """The buyer is being told "paid": Stripe must have said so already."""
        match = re.search(r"/purchases/(\d+)(?:\?session_id=[\w{}]+)?$", receipt_url or "")
        assert match, f"{what}: 'paid' without a receipt: {receipt_url}"
        purchase = self._purchase_where(Purchase.id == int(match.group(1)))
        assert purchase is not None
        charge = self._charge_of(purchase)
        assert charge is not None and charge.status == "succeeded" and charge.amount == purchase.amount_cents, (
            f"{what}: the buyer is told purchase {purchase.id} is paid, but Stripe has {charge and charge.status}"
        )
        # ... and the store itself believes it (a refunded purchase is not "paid", whatever its charge did).
        assert purchase.status == "paid", (
            f"{what}: the buyer is told purchase {purchase.id} is paid; it is {purchase.status}"
        )

    def _follow_receipt(self, browser, location, what):
        receipt = self._send(browser, "get", location.replace("http://localhost", ""))
        badge = receipt.html.find(class_="receipt__badge") if receipt.content_type == "text/html" else None
        if badge is not None and badge.get_text(strip=True) == "Paid":
            self._told_paid(browser, location, what)

    def _charge_of(self, purchase):
        """The purchase's charge as Stripe has it now (read by id: search may lag)."""
        if purchase.stripe_charge_id:
            return self.world.stripe.v1.charges.retrieve(purchase.stripe_charge_id)
        if purchase.stripe_payment_intent_id:
            intent = self.world.stripe.v1.payment_intents.retrieve(purchase.stripe_payment_intent_id)
            if intent.latest_charge:
                return self.world.stripe.v1.charges.retrieve(
                    intent.latest_charge if isinstance(intent.latest_charge, str) else intent.latest_charge.id
                )
        return None

    def _page(self, buyer, flow, slug, *, fresh=False):
        """The buyer's open tab of this album in ``flow``; opened now if there is none."""
        key = (flow, slug)
        if fresh or key not in buyer.pages:
            page = self._send(buyer.apps[flow], "get", f"/albums/{slug}")
            if page.status_int != 200:
                buyer.pages.pop(key, None)
                return None
            buyer.pages[key] = Page(shown_price(page))
        return buyer.pages[key]

    def _price_is_stale(self, page, slug):
        album = self._album(slug)
        if not album.is_published:
            return "off sale"
        if int(page.shown.get("shown_amount", 0)) != album.price_cents:
            return "stale"
        return None

    # --- buyers ------------------------------------------------------------------------------------
    @rule(
        buyer=st.sampled_from(BUYERS),
        album=st.sampled_from(ALBUMS),
        flow=st.sampled_from(["checkout", "intents", "hosted"]),
    )
    def open_album_page(self, buyer, album, flow):
        self._page(self.browsers[buyer], flow, album, fresh=True)

    @rule(
        buyer=st.sampled_from(BUYERS),
        album=st.sampled_from(ALBUMS),
        card=st.sampled_from(["good", "declined", "slow_bank"]),
        stripe=st.sampled_from(["answers", "answer_lost", "down"]),
        double_click=st.booleans(),
    )
    def pay_with_checkout(self, buyer, album, card, stripe, double_click):
        browser = self.browsers[buyer]
        page = self._page(browser, "checkout", album)
        if page is None or not page.shown:
            return  # off sale (404), or already owned (no Buy button): nothing to press
        expected = self._price_is_stale(page, album)
        # "slow_bank": the stand-in's token whose charge stays pending until the bank answers. It is one
        # fixed token, so each example uses it once (a Checkout token is single-use); after that, a good card.
        if card == "slow_bank" and "tok_standin_pending" not in self.shown_for:
            token = "tok_standin_pending"
        else:
            token = self.world.new_card_token(DECLINED if card == "declined" else GOOD)
        kind = "checkout" if stripe == "answers" else "checkout_lossy"
        app = browser.apps[kind]
        fields = {
            "stripeToken": token,
            "stripeTokenType": "card",
            "stripeEmail": browser.email,
            **page.shown,
            "csrf_token": app.csrf_token(),
        }
        self.shown_for.setdefault(token, int(page.shown["shown_amount"]))
        self._inject(stripe, "/v1/charges")
        try:
            answers = [self._send(app, "post", f"/albums/{album}/buy", fields)]
            if double_click:
                answers.append(self._send(app, "post", f"/albums/{album}/buy", fields))
        finally:
            self._clear_faults()
        first = answers[0]
        if expected == "off sale":
            assert first.status_int == 404, first.status
        elif expected == "stale":  # (the page says why, unless it is a member's who owns the album by now)
            assert first.status_int == 409, first.status
        if expected:
            assert self._purchase_where(Purchase.checkout_token == token) is None, "a refused price recorded a purchase"
            for answer in answers[1:]:
                assert answer.status_int in (404, 409), answer.status
        for answer in answers:
            assert answer.status_int in (303, 402, 404, 409, 503), f"{answer.status}: {answer.text[:300]}"
            if answer.status_int == 303 and "/purchases/" in answer.location:
                self._follow_receipt(app, answer.location, f"{buyer} paying for {album}")
        last = answers[-1]
        if last.content_type == "text/html" and last.html.find("form", class_="buy-form") is not None:
            page.shown = shown_price(last)  # the album page again (declined, price changed): what it shows now

    @rule(
        buyer=st.sampled_from(BUYERS),
        album=st.sampled_from(ALBUMS),
        card=st.sampled_from(["good", "declined"]),
        stripe=st.sampled_from(["answers", "answer_lost", "down", "confirm_answer_lost"]),
        ending=st.sampled_from(["confirm", "confirm_twice", "close_tab"]),
        double_click=st.booleans(),
    )
    def pay_with_card_form(self, buyer, album, card, stripe, ending, double_click):
        browser = self.browsers[buyer]
        page = self._page(browser, "intents", album)
        if page is None or not page.shown:
            return
        lossy = stripe != "answers"
        app = browser.apps["intents_lossy" if lossy else "intents"]
        if page.attempt_id is None:  # card-payment.js asks for it when Pay is first pressed
            page.attempt_id = self._send(app, "get", "/payment-attempt", headers={"Accept": "application/json"}).json[
                "attempt_id"
            ]
        expected = self._price_is_stale(page, album)
        already = self._purchase_where(Purchase.attempt_id == page.attempt_id) is not None
        self.shown_for.setdefault(page.attempt_id, int(page.shown["shown_amount"]))
        fields = {"attempt_id": page.attempt_id, "email": browser.email, **page.shown}
        headers = {"Accept": "application/json", "X-CSRF-Token": app.csrf_token()}
        self._inject(stripe if stripe in ("answer_lost", "down") else None, "/v1/payment_intents")
        try:
            answers = [self._send(app, "post_json", f"/albums/{album}/payment-intent", fields, headers=headers)]
            if double_click:
                answers.append(self._send(app, "post_json", f"/albums/{album}/payment-intent", fields, headers=headers))
        finally:
            self._clear_faults()
        attempt = page.attempt_id
        if expected == "off sale":
            assert answers[0].status_int == 404, answers[0].status
        elif expected == "stale" and not already:
            assert answers[0].status_int == 409 and answers[0].json["status"] == "price_changed", answers[0].text
            assert self._purchase_where(Purchase.attempt_id == attempt) is None, "a refused price recorded a purchase"
        for answer in answers:
            body = answer.json
            assert answer.status_int in (200, 402, 404, 409, 503), f"{answer.status}: {answer.text[:300]}"
            if body.get("status") == "paid":
                self._told_paid(app, body.get("receipt_url"), f"{buyer} starting to pay for {album}")
        last = answers[-1].json
        if last.get("status") == "price_changed":
            page.shown = {"shown_amount": last["amount"], "shown_currency": last["currency"]}
        if last.get("attempt_id"):
            page.attempt_id = last["attempt_id"]
        if last.get("status") != "confirm":
            return
        # Stripe.js in the page: confirmCardPayment with the client secret.
        status = app.buyer.confirm_at_stripe(last["client_secret"], GOOD if card == "good" else DECLINED)
        assert status in ("succeeded", "requires_payment_method"), status
        if ending == "close_tab":
            browser.pages.pop(("intents", album), None)
            return
        if stripe == "confirm_answer_lost":  # the store's look at the PaymentIntent gets no answer
            process.inject_fault(
                self.world.standin_url,
                count=1,
                status=500,
                when="after",
                path_prefix="/v1/payment_intents",
                method="GET",
            )
        try:
            confirms = [self._send(app, "post_json", last["confirm_url"], {}, headers=headers)]
            if ending == "confirm_twice":
                confirms.append(self._send(app, "post_json", last["confirm_url"], {}, headers=headers))
        finally:
            self._clear_faults()
        for answer in confirms:
            body = answer.json
            assert answer.status_int in (200, 402, 409, 503), f"{answer.status}: {answer.text[:300]}"
            if body.get("status") == "paid":
                self._told_paid(app, body.get("receipt_url"), f"{buyer} confirming the payment for {album}")
            if body.get("attempt_id"):
                page.attempt_id = body["attempt_id"]

    @rule(
        buyer=st.sampled_from(BUYERS),
        album=st.sampled_from(ALBUMS),
        card=st.sampled_from(["good", "declined"]),
        stripe=st.sampled_from(["answers", "answer_lost", "down"]),
        ending=st.sampled_from(["come_back", "come_back_twice", "close_tab", "leave_unpaid"]),
        double_click=st.booleans(),
    )
    def pay_on_the_hosted_page(self, buyer, album, card, stripe, ending, double_click):
        browser = self.browsers[buyer]
        page = self._page(browser, "hosted", album)
        if page is None or not page.shown:
            return
        expected = self._price_is_stale(page, album)
        app = browser.apps["hosted" if stripe == "answers" else "hosted_lossy"]
        fields = {"email": browser.email, **page.shown, "csrf_token": app.csrf_token()}
        before = set(self.db.scalars(select(Purchase.id)).all())
        self._inject(stripe, "/v1/checkout/sessions")
        try:
            answers = [self._send(app, "post", f"/albums/{album}/checkout-session", fields)]
            if double_click:
                answers.append(self._send(app, "post", f"/albums/{album}/checkout-session", fields))
        finally:
            self._clear_faults()
        self.db.expire_all()
        made = set(self.db.scalars(select(Purchase.id)).all()) - before
        assert len(made) <= 1, f"one press of Buy (and its double click) recorded purchases {sorted(made)}"
        for purchase_id in made:  # the price the page showed when this purchase was recorded
            self.shown_for[f"purchase:{purchase_id}"] = int(page.shown["shown_amount"])
        if expected:
            assert not made, f"a {expected} page recorded a purchase"
            assert answers[0].status_int == (404 if expected == "off sale" else 409), answers[0].status
        hosted_page = None
        for answer in answers:
            assert answer.status_int in (303, 402, 404, 409, 503), f"{answer.status}: {answer.text[:300]}"
            if answer.status_int == 303 and answer.location.startswith(self.world.standin_url):
                hosted_page = answer.location
            elif answer.status_int == 303 and "/purchases/" in answer.location:
                self._follow_receipt(app, answer.location, f"{buyer} pressing Buy for {album}")
        last = answers[-1]
        if last.content_type == "text/html" and last.html.find("form", id="hosted-checkout") is not None:
            page.shown = shown_price(last)
        if hosted_page is None or ending == "leave_unpaid":
            return
        try:
            back = process.pay_checkout_session(hosted_page, card=GOOD if card == "good" else DECLINED)
        except process.CheckoutPageError:
            return  # declined (the page stays open), or it expired or was paid meanwhile
        tally(f"hosted page paid, then {ending}")
        if ending == "close_tab":
            browser.pages.pop(("hosted", album), None)
            return
        for _ in range(2 if ending == "come_back_twice" else 1):
            self._follow_receipt(app, back, f"{buyer} back from the hosted page for {album}")

    # Buyers pay more often than anything else happens: each flow's rule twice in the table.
    @rule(
        buyer=st.sampled_from(BUYERS),
        album=st.sampled_from(ALBUMS),
        card=st.sampled_from(["good", "good", "declined"]),
        stripe=st.sampled_from(["answers", "answer_lost", "down"]),
        double_click=st.booleans(),
    )
    def another_buyer_pays_with_checkout(self, buyer, album, card, stripe, double_click):
        self.pay_with_checkout(buyer, album, card, stripe, double_click)

    @rule(
        buyer=st.sampled_from(BUYERS),
        album=st.sampled_from(ALBUMS),
        card=st.sampled_from(["good", "good", "declined"]),
        stripe=st.sampled_from(["answers", "answer_lost", "down", "confirm_answer_lost"]),
        ending=st.sampled_from(["confirm", "confirm_twice", "close_tab"]),
        double_click=st.booleans(),
    )
    def another_buyer_pays_with_the_card_form(self, buyer, album, card, stripe, ending, double_click):
        self.pay_with_card_form(buyer, album, card, stripe, ending, double_click)

    @rule(
        buyer=st.sampled_from(BUYERS),
        album=st.sampled_from(ALBUMS),
        card=st.sampled_from(["good", "good", "declined"]),
        stripe=st.sampled_from(["answers", "answer_lost", "down"]),
        ending=st.sampled_from(["come_back", "come_back_twice", "close_tab", "leave_unpaid"]),
        double_click=st.booleans(),
    )
    def another_buyer_pays_on_the_hosted_page(self, buyer, album, card, stripe, ending, double_click):
        self.pay_on_the_hosted_page(buyer, album, card, stripe, ending, double_click)

    # --- Stripe ------------------------------------------------------------------------------------
    @precondition(lambda self: self.owed)
    @rule(which=st.integers(0, 1000), same_event_id=st.booleans())
    def stripe_delivers_an_event(self, which, same_event_id):
        """Any event Stripe owes, in any order, as often as it likes (a redelivery keeps its id)."""
        self._deliver(*self.owed[which % len(self.owed)], same_event_id=same_event_id)

    def _deliver(self, event_type, object_id, *, same_event_id=True):
        kind = (
            event_type.rpartition(".")[0]
            if event_type.startswith(("payment_intent.", "checkout.session."))
            else "charge"
        )
        payload = event(
            event_type,
            {"id": object_id, "object": kind},
            _stable_event_id(event_type, object_id) if same_event_id else None,
        )
        body, headers = signed(payload, self.world.webhook_secret)
        answer = self._send(self.stripe_side, "post", "/stripe/webhook", body, headers=headers)
        assert answer.status_int == 200, f"{event_type} {object_id}: {answer.status} {answer.text[:300]}"
        # What the store has now been told, for the checks that hold from here on.
        if kind == "charge":
            charge = self.world.stripe.v1.charges.retrieve(object_id)
        elif kind == "checkout.session":
            session = self.world.stripe.v1.checkout.sessions.retrieve(object_id, params={"expand": ["payment_intent"]})
            latest = session.payment_intent.latest_charge if session.payment_intent else None
            charge = self.world.stripe.v1.charges.retrieve(getattr(latest, "id", latest)) if latest else None
        else:
            intent = self.world.stripe.v1.payment_intents.retrieve(object_id)
            latest = getattr(intent.latest_charge, "id", intent.latest_charge)
            charge = self.world.stripe.v1.charges.retrieve(latest) if latest else None
        if charge is not None and charge.status == "succeeded":
            if event_type in (
                "charge.succeeded",
                "payment_intent.succeeded",
                "charge.refunded",
                "checkout.session.completed",
            ):
                self.success_noticed.add(charge.id)
            if event_type == "charge.refunded" and charge.amount_refunded >= charge.amount:
                self.refund_noticed.add(charge.id)
            if event_type == "charge.refunded":
                self.refund_told[charge.id] = max(self.refund_told.get(charge.id, 0), charge.amount_refunded)

    @precondition(lambda self: any(c.status == "pending" for c in self.charges.values()))
    @rule(which=st.integers(0, 1000), outcome=st.sampled_from(["succeeded", "failed"]))
    def the_bank_answers_for_a_pending_charge(self, which, outcome):
        pending = [c for c in self.charges.values() if c.status == "pending"]
        process.settle_charge(self.world.standin_url, pending[which % len(pending)].id, outcome)

    @rule(seconds=st.sampled_from([0, 3600]))
    def stripe_search_lags(self, seconds):
        self.lag = seconds
        process.set_search_lag(self.world.standin_url, seconds)

    @precondition(lambda self: any(p.status == "pending" and p.stripe_checkout_session_id for p in self.purchases))
    @rule(which=st.integers(0, 1000))
    def a_hosted_page_expires(self, which):
        """Its ``expires_at`` passes: Stripe expires the session and owes ``checkout.session.expired``."""
        waiting = [p for p in self.purchases if p.status == "pending" and p.stripe_checkout_session_id]
        session_id = waiting[which % len(waiting)].stripe_checkout_session_id
        if self.world.stripe.v1.checkout.sessions.retrieve(session_id).status == "open":
            process.expire_checkout_session(self.world.standin_url, session_id)

    # --- the owner ---------------------------------------------------------------------------------
    @precondition(lambda self: any(p.status == "paid" for p in self.purchases))
    @rule(which=st.integers(0, 1000), answer_lost=st.booleans())
    def owner_refunds_in_the_admin(self, which, answer_lost):
        paid = [p for p in self.purchases if p.status == "paid"]
        purchase = paid[which % len(paid)]
        owner = self.owner.apps["checkout_lossy" if answer_lost else "checkout"]
        fields = {"confirm": "refund", "csrf_token": owner.form_csrf_token(f"/admin/purchases/{purchase.id}/refund")}
        self._inject("answer_lost" if answer_lost else None, "/v1/refunds")
        try:
            answer = self._send(owner, "post", f"/admin/purchases/{purchase.id}/refund", fields)
        finally:
            self._clear_faults()
        assert answer.status_int in (303, 409, 503), answer.status
        if answer.status_int == 303:
            self.db.expire_all()
            assert self.db.get(Purchase, purchase.id).status == "refunded"

    @precondition(
        lambda self: any(c.status == "succeeded" and c.amount_refunded < c.amount for c in self.charges.values())
    )
    @rule(which=st.integers(0, 1000), part=st.sampled_from(["the rest", "the rest", "a third"]))
    def owner_refunds_in_stripes_dashboard(self, which, part):
        refundable = [c for c in self.charges.values() if c.status == "succeeded" and c.amount_refunded < c.amount]
        charge = refundable[which % len(refundable)]
        params = {"charge": charge.id}
        if part == "a third":
            params["amount"] = max(1, min(charge.amount // 3, charge.amount - charge.amount_refunded))
        self.world.stripe.v1.refunds.create(params=params)

    @rule(album=st.sampled_from(ALBUMS), price=st.sampled_from(PRICES))
    def owner_changes_the_price(self, album, price):
        """Written by another process (the owner's form on another server): straight into the database."""
        with self.world.engine.begin() as connection:
            connection.execute(update(Album).where(Album.slug == album).values(price_cents=price))

    @rule(album=st.sampled_from(ALBUMS), on_sale=st.sampled_from([True, True, False]))
    def owner_takes_an_album_off_sale_or_back(self, album, on_sale):
        owner = self.owner.apps["checkout"]
        album_id = self._album(album).id
        answer = self._send(
            owner,
            "post",
            f"/admin/albums/{album_id}/publish",
            {"publish": "1" if on_sale else "0", "csrf_token": owner.csrf_token()},
        )
        assert answer.status_int in (200, 303), answer.status
        assert self._album(album).is_published == on_sale

    # --- time --------------------------------------------------------------------------------------
    @rule(min_age_minutes=st.sampled_from([0, 10]), search_lag_minutes=st.sampled_from([0, 60]))
    def reconcile_runs(self, min_age_minutes, search_lag_minutes):
        reconcile_in_process(
            self.world.apps["checkout"],
            min_age=timedelta(minutes=min_age_minutes),
            search_lag=timedelta(minutes=search_lag_minutes),
        )

    @precondition(lambda self: self.purchases)
    @rule(which=st.integers(0, 1000), hours=st.sampled_from([1, 3]))
    def a_purchase_ages(self, which, hours):
        purchase = self.purchases[which % len(self.purchases)]
        with self.world.engine.begin() as connection:  # computed here: date arithmetic differs between databases
            connection.execute(
                update(Purchase)
                .where(Purchase.id == purchase.id)
                .values(created_at=purchase.created_at - timedelta(hours=hours))
            )

    # --- both sides --------------------------------------------------------------------------------
    def _read_both_sides(self):
        self.db.expire_all()
        self.purchases = self.db.scalars(select(Purchase).order_by(Purchase.id)).all()
        charges, params = {}, {"limit": 100, "created": {"gte": self.since}}
        while True:
            page = self.world.stripe.v1.charges.list(params=params)
            charges.update({c.id: c for c in page.data if (c.receipt_email or "").lower() in self.emails})
            if not page.has_more:
                break
            params = {**params, "starting_after": page.data[-1].id}
        self.charges = charges
        for charge in charges.values():  # what Stripe sends (or will) about each
            owed = []
            if charge.status in ("succeeded", "failed"):
                owed.append((f"charge.{charge.status}", charge.id))
            if charge.amount_refunded:
                owed.append(("charge.refunded", charge.id))
            if charge.payment_intent:
                owed.append(
                    (
                        "payment_intent.succeeded" if charge.status == "succeeded" else "payment_intent.payment_failed",
                        charge.payment_intent,
                    )
                )
            self.owed += [o for o in owed if o not in self.owed]
        for purchase in self.purchases:  # and about each hosted page that is over
            if purchase.stripe_checkout_session_id:
                status = self.world.stripe.v1.checkout.sessions.retrieve(purchase.stripe_checkout_session_id).status
                owed = {"complete": "checkout.session.completed", "expired": "checkout.session.expired"}.get(status)
                if owed and (owed, purchase.stripe_checkout_session_id) not in self.owed:
                    self.owed.append((owed, purchase.stripe_checkout_session_id))

    @invariant()
    def check(self):
        """What holds at every moment, whatever is still in flight (run after each step and at the end).

        Only the weak form of "Stripe's money = what the store says is owned" holds mid-run: a charge made
        while its answer was lost, or refunded in Stripe's dashboard, is the store's news only once its
        webhook or reconcile has run. So: every charge names a purchase (recorded before Stripe is asked);
        it is for the price the page showed; nothing is paid or refunded in the store without a succeeded
        charge of its amount; once the store has had a success event it never goes back to pending or
        failed; once it has had the charge.refunded of a full refund it is refunded, and a partial refund
        it was told of stays recorded; one paid purchase per album and buyer; downloads exactly for paid
        purchases. The responses are checked as they come (:meth:`_send`, :meth:`_told_paid`); the exact
        equality at the end (:meth:`_check_exactly`).
        """
        self._read_both_sides()
        by_ref = {p.reference: p for p in self.purchases}
        by_id = {p.id: p for p in self.purchases}

        for charge in self.charges.values():
            # Every charge names a purchase: the purchase is committed before Stripe is asked anything.
            purchase = by_ref.get(ref_of(charge))
            assert purchase is not None, f"charge {charge.id} ({charge.status}) names no purchase: {charge.metadata}"
            # The amount charged is the amount the buyer's page showed (and the purchase's).
            attempt = purchase.checkout_token or purchase.attempt_id or f"purchase:{purchase.id}"
            assert attempt in self.shown_for, f"purchase {purchase.id} comes from no page"
            assert charge.amount == self.shown_for[attempt] == purchase.amount_cents, (
                f"charge {charge.id} is {charge.amount}; the page showed {self.shown_for[attempt]}, "
                f"purchase {purchase.id} is {purchase.amount_cents}"
            )
            if charge.id in self.success_noticed:
                # Once Stripe's word that it succeeded has reached the store, it is never pending or failed again.
                assert purchase.status in ("paid", "refunded"), (
                    f"purchase {purchase.id} is {purchase.status} after the store was told charge {charge.id} succeeded"
                )
            if charge.id in self.refund_told and purchase.status == "paid":
                # A partial refund the store was told of is recorded on the paid purchase (and never forgotten).
                assert purchase.amount_refunded_cents >= self.refund_told[charge.id], (
                    f"purchase {purchase.id} records {purchase.amount_refunded_cents} refunded; "
                    f"Stripe said {self.refund_told[charge.id]}"
                )
            if charge.id in self.refund_noticed:
                # A charge refunded in full, whose charge.refunded the store has had: never paid again.
                assert purchase.status == "refunded", (
                    f"purchase {purchase.id} is {purchase.status}, its charge {charge.id} refunded in full "
                    "and the event delivered"
                )

        owners = {}
        for purchase in self.purchases:
            if purchase.status in ("paid", "refunded"):
                # No purchase paid (or refunded) without Stripe's word: its charge succeeded, for its amount.
                charge = self.charges.get(purchase.stripe_charge_id)
                assert charge is not None, (
                    f"purchase {purchase.id} is {purchase.status} "
                    f"with no charge at Stripe ({purchase.stripe_charge_id})"
                )
                assert charge.status == "succeeded" and charge.amount == purchase.amount_cents, (
                    f"purchase {purchase.id} is {purchase.status}; Stripe has {charge.status} {charge.amount}"
                )
                assert ref_of(charge) == purchase.reference
            if purchase.status == "refunded":
                # Refunded only when the money went back in full.
                assert self.charges[purchase.stripe_charge_id].amount_refunded >= purchase.amount_cents
            if purchase.status == "paid":
                owners.setdefault((purchase.album_id, purchase.email.lower()), []).append(purchase.id)
        for (album_id, email), ids in owners.items():
            # At most one paid purchase per album and buyer: a duplicate is refunded as soon as it is paid
            # (Stripe is reachable here whenever a purchase is settled: faults only hit the buyer's own request).
            assert len(ids) == 1, f"{email} has album {album_id} paid {len(ids)} times: purchases {ids}"

        self._check_downloads(by_id)

    def _check_downloads(self, by_id):
        """A download link works exactly for a paid (unrefunded) purchase; each status is checked once."""
        for purchase in by_id.values():
            if self.download_checked.get(purchase.id) == purchase.status:
                continue
            link = f"/downloads/{self.world.tokens.make('download', purchase.reference)}"
            answer = self._send(self.stripe_side, "head", link)
            expected = {"paid": 200, "refunded": 410}.get(purchase.status, 404)
            assert answer.status_int == expected, (
                f"download of {purchase.status} purchase {purchase.id}: {answer.status}"
            )
            self.download_checked[purchase.id] = purchase.status

    def teardown(self):
        try:
            if self.world is None or not hasattr(self, "db") or sys.exc_info()[0] is not None:
                return  # a step failed: that is the failure to report (and shrink), not what follows
            # Stripe delivers every event it owes (the newest first: out of order once more) ...
            self._read_both_sides()
            for charge in self.charges.values():  # the bank answers in the end
                if charge.status == "pending":
                    process.settle_charge(self.world.standin_url, charge.id, "succeeded")
            self._read_both_sides()
            for owed in reversed(self.owed):
                self._deliver(*owed)
            # ... its search catches up, and reconcile runs with nothing left to wait for.
            self.lag = 0
            process.clear_faults(self.world.standin_url)
            reconcile_in_process(self.world.apps["checkout"], min_age=timedelta(0), search_lag=timedelta(0))
            self.check()
            self._check_exactly()
            tally("end: " + ", ".join(sorted(p.status for p in self.purchases)))
        finally:
            if hasattr(self, "db"):
                self.db.close()

    def _check_exactly(self):
        """At the end: the money Stripe holds for each buyer and album, net of refunds, is what the store
        says the buyer owns; a paid purchase ⇔ one succeeded, unrefunded charge of exactly its amount."""
        held, owned = {}, {}
        by_ref = {p.reference: p for p in self.purchases}
        for charge in self.charges.values():
            purchase = by_ref[ref_of(charge)]
            key = (purchase.album_id, purchase.email.lower())
            if charge.status == "succeeded":
                held[key] = held.get(key, 0) + charge.amount - charge.amount_refunded
                kept = charge.amount_refunded < charge.amount
                assert kept == (purchase.status == "paid"), (
                    f"charge {charge.id} ({charge.amount - charge.amount_refunded} kept) "
                    f"but purchase {purchase.id} is {purchase.status}"
                )
        for purchase in self.purchases:
            assert purchase.status != "pending", (
                f"purchase {purchase.id} is still pending after everything was delivered"
            )
            if purchase.status == "paid":
                key = (purchase.album_id, purchase.email.lower())
                owned[key] = owned.get(key, 0) + purchase.net_cents
        assert {k: v for k, v in held.items() if v} == owned, (
            f"Stripe holds {held}; the store says the buyers own {owned}"
        )


def reconcile_in_process(app, *, min_age, search_lag):
    """What ``album-store reconcile`` does, through the app's own services, without building a new app."""
    from pyramid.request import Request
    from pyramid.scripting import prepare

    from album_store.services.purchases import IPurchaseService

    env = prepare(request=Request.blank("/", base_url="http://localhost"), registry=app.registry)
    try:
        request = env["request"]
        with request.tm:
            request.find_service(IPurchaseService).reconcile_pending(min_age=min_age, search_lag=search_lag)
    finally:
        env["closer"]()


@pytest.fixture(scope="module")
def lossy_apps(app_settings, db_engine):
    """The three flows with ``stripe.max_network_retries = 0``: an answer Stripe loses reaches the store.
    Built once (``main()`` is slow), not per example."""
    lossy = {**app_settings, "stripe.max_network_retries": "0"}
    return {
        "checkout_lossy": main({}, **lossy),
        "intents_lossy": main({}, **{**lossy, "store.payment_flow": "payment_intents"}),
        "hosted_lossy": main({}, **{**lossy, "store.payment_flow": "checkout_session"}),
    }


def test_money_stays_right_whatever_happens(
    app,
    payment_intents_app,
    checkout_session_app,
    lossy_apps,
    db_engine,
    dbsession,
    stripe_client,
    standin,
    new_card_token,
    files_dir,
    ini_file,
    app_settings,
):
    MoneyModel.world = World(
        apps={"checkout": app, "intents": payment_intents_app, "hosted": checkout_session_app, **lossy_apps},
        engine=db_engine,
        stripe=stripe_client,
        standin_url=standin.url,
        new_card_token=new_card_token,
        files_dir=files_dir,
        ini_file=ini_file,
        tokens=SignedTokens(app_settings["store.secret"]),
        webhook_secret=app_settings["stripe.webhook_secret"],
    )
    TALLY.clear()
    try:
        run_state_machine_as_test(MoneyModel, settings=MODEL_SETTINGS)
    finally:
        print("\n".join(f"{count:6} {what}" for what, count in sorted(TALLY.items())))
        MoneyModel.world = None
        process.clear_faults(standin.url)
