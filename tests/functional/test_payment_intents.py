"""What only the payment_intents flow has: the card form, the attempt id, 3-D Secure, the JSON endpoints,
and settling PaymentIntents that the buyer left (reconcile). The shared acceptance tests are in
test_checkout.py; these talk HTTP to the local stand-in (or Stripe's test mode where they can)."""

import logging
import re

import pytest
from sqlalchemy import select

from album_store.models import Purchase
from tests.conftest import StoreTestApp, standin_only
from tests.factories import make_album
from tests.paying import THREE_D_SECURE, VISA
from tests.stripe_reads import charges_for, payment_intents_for

pytestmark = pytest.mark.stripe


def purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


@pytest.fixture
def store(payment_intents_app, dbsession, new_card_token):
    return StoreTestApp(payment_intents_app, new_card_token)


@pytest.fixture
def album(dbsession):
    return make_album(dbsession, slug="blue-skies", title="Blue Skies", artist="The Paper Lanterns", price_cents=999)


def intents_of(stripe_client, purchase):
    return payment_intents_for(stripe_client, purchase)


def test_the_album_page_has_the_card_form_and_stripe_js_but_no_checkout_button(store, album, app_settings):
    page = store.get("/albums/blue-skies")
    form = page.html.find("form", id="card-payment")
    assert form["action"] == "/albums/blue-skies/payment-intent" and form.has_attr("hidden"), "shown by card-payment.js"
    assert (form["data-key"], form["data-amount"], form["data-currency"]) == (
        app_settings["stripe.publishable_key"],
        "999",
        "usd",
    )
    assert form["data-attempt-url"] == "/payment-attempt"
    assert form.find("input", attrs={"name": "csrf_token"}) is not None, "filled in by csrf.js"
    assert form.find(id="payment-element").has_attr("hidden"), "the Payment Element comes with the first Pay"
    assert form.find(id="card-errors")["role"] == "alert"
    assert form.find("button", id="card-pay").get_text(strip=True) == "Pay $9.99"
    scripts = [s["src"].split("?")[0] for s in page.html.find_all("script") if s.get("type") != "application/ld+json"]
    assert scripts == ["/static/csrf.js", "/static/focus.js", app_settings["stripe.js_url"], "/static/card-payment.js"]
    assert (
        not page.html.find("script", class_="stripe-button") and app_settings["stripe.checkout_js_url"] not in page.text
    )
    assert "Paying by card needs JavaScript" in page.html.find("noscript").get_text()


def test_each_page_gets_its_own_attempt_id_and_the_page_itself_none(store, album):
    first = store.get("/albums/blue-skies")
    again = store.get("/albums/blue-skies")
    assert "att_" not in first.text, "the page is cached for every visitor: no attempt id in it"
    ids = {store.get("/payment-attempt").json["attempt_id"] for _ in range(3)}
    assert len(ids) == 3 and all(re.match(r"^att_[A-Za-z0-9_-]{32}$", i) for i in ids)
    answer = store.get("/payment-attempt")
    assert "no-store" in answer.headers["Cache-Control"] and "private" in answer.headers["Cache-Control"]
    assert first.body == again.body


def test_the_policy_allows_stripe_js_and_its_api_and_nothing_else(store, album, app_settings):
    response = store.get("/albums/blue-skies")
    csp = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    stripe_js = re.match(r"^(https?://[^/]+)", app_settings["stripe.js_url"]).group(1)
    assert csp["script-src"].split()[:2] == ["'self'", stripe_js]
    assert stripe_js in csp["frame-src"].split()
    assert csp["connect-src"].split()[0] == "'self'" and len(csp["connect-src"].split()) == 2
    assert "checkout.js" not in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert not [
        s for s in response.html.find_all("script") if not s.get("src") and s.get("type") != "application/ld+json"
    ], "no inline script (the schema.org data block is not a script that runs)"


def test_the_same_attempt_twice_is_one_purchase_one_payment_intent_one_charge(store, album, dbsession, stripe_client):
    buyer = store.buyer
    first, csrf = buyer.start("blue-skies", email="ana@example.com")
    again = buyer.post_json(first.request.path, first.request.json, csrf)  # the same fields: attempt id, email, price
    assert first.json["client_secret"] == again.json["client_secret"], "a double click: the same PaymentIntent"
    assert buyer.confirm_at_stripe(first.json["client_secret"]) == "succeeded"
    done = buyer.confirm(first.json["confirm_url"], csrf)
    assert done.json == {"status": "paid", "receipt_url": first.json["confirm_url"].replace("/confirm", "")}
    assert buyer.confirm(first.json["confirm_url"], csrf).json["status"] == "paid"
    replay = buyer.post_json(first.request.path, first.request.json, csrf)
    assert replay.json == done.json, "the same attempt after paying: its receipt"
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid" and [i.id for i in intents_of(stripe_client, purchase)] == [
        purchase.stripe_payment_intent_id
    ]
    assert [c.id for c in charges_for(stripe_client, purchase)] == [purchase.stripe_charge_id]


def test_the_start_answer_names_the_receipt_as_return_url(store, album, dbsession):
    started, _ = store.buyer.start("blue-skies", email="ana@example.com")
    [purchase] = purchases(dbsession)
    assert started.json["status"] == "confirm"
    assert started.json["return_url"] == f"http://localhost/purchases/{purchase.id}"
    assert started.json["confirm_url"] == started.json["return_url"] + "/confirm"


def test_coming_back_to_return_url_settles_the_purchase_from_its_payment_intent(store, album, dbsession):
    """A method that redirects comes back to return_url with Stripe.js's query: the receipt settles the
    purchase by retrieving its own PaymentIntent, then shows itself at its plain address."""
    buyer = store.buyer
    started, _ = buyer.start("blue-skies")
    assert buyer.confirm_at_stripe(started.json["client_secret"], return_url=started.json["return_url"]) == "succeeded"
    [purchase] = purchases(dbsession)
    assert purchase.status == "pending", "nobody told the store yet"
    secret = started.json["client_secret"]
    back = store.get(
        started.json["return_url"],
        params={
            "payment_intent": purchase.stripe_payment_intent_id,
            "payment_intent_client_secret": secret,
            "redirect_status": "succeeded",
        },
        status=303,
    )
    assert back.location == started.json["return_url"], "the client secret leaves the address bar"
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid"
    assert "Thank you! Blue Skies is yours." in back.follow().text


def test_return_url_never_trusts_its_query_string(store, album, dbsession):
    """An unpaid PaymentIntent stays unpaid whatever the query says (another id, redirect_status=succeeded)."""
    buyer = store.buyer
    other, _ = buyer.start("blue-skies", email="someone@example.com")
    started, _ = buyer.start("blue-skies", email="ana@example.com")
    assert buyer.confirm_at_stripe(other.json["client_secret"]) == "succeeded"  # another purchase's PaymentIntent paid
    back = store.get(
        started.json["return_url"],
        params={"payment_intent": other.json["client_secret"].split("_secret_")[0], "redirect_status": "succeeded"},
        status=303,
    )
    unpaid = [p for p in purchases(dbsession) if p.email == "ana@example.com"]
    assert [p.status for p in unpaid] == ["pending"]
    assert "We are confirming your payment" in back.follow().text
    # The receipt of a purchase this browser may not see stays a 404, with or without the query.
    store.reset()
    store.get(started.json["return_url"], params={"payment_intent": "pi_x"}, status=404)


@standin_only
def test_3d_secure_completed_is_paid(store, album, dbsession, stripe_client):
    payment = store.pay("blue-skies", card=THREE_D_SECURE, authenticate=True)
    assert payment.paid
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid" and purchase.card_last4 == "3155"
    charge = stripe_client.v1.charges.retrieve(purchase.stripe_charge_id)
    assert charge.payment_method_details.card.three_d_secure.result == "authenticated"


@standin_only
def test_3d_secure_cancelled_is_not_paid_and_the_buyer_tries_again_without_reloading(
    store, album, dbsession, stripe_client
):
    buyer = store.buyer
    started, csrf = buyer.start("blue-skies")
    assert (
        buyer.confirm_at_stripe(started.json["client_secret"], THREE_D_SECURE, authenticate=False)
        == "requires_payment_method"
    )
    failed = buyer.confirm(started.json["confirm_url"], csrf)
    assert failed.status_int == 402 and failed.json["status"] == "failed"
    assert "3-D Secure" in failed.json["error"] and "cancelled" in failed.json["error"]
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.failure_code, purchase.stripe_charge_id) == (
        "failed",
        "authentication_failed",
        None,
    )
    assert stripe_client.v1.payment_intents.retrieve(purchase.stripe_payment_intent_id).status == "canceled", (
        "a failed purchase's PaymentIntent can never take money later"
    )

    # The page keeps its form: the answer names the next attempt.
    retry = buyer.post_json(
        started.request.path, {**started.request.json, "attempt_id": failed.json["attempt_id"]}, csrf
    )
    assert retry.json["client_secret"] != started.json["client_secret"]
    assert buyer.confirm_at_stripe(retry.json["client_secret"], VISA) == "succeeded"
    assert buyer.confirm(retry.json["confirm_url"], csrf).json["status"] == "paid"
    assert [p.status for p in purchases(dbsession)] == ["failed", "paid"]


def test_a_declined_attempt_cannot_be_reused(store, album, dbsession):
    buyer = store.buyer
    started, csrf = buyer.start("blue-skies")
    buyer.confirm_at_stripe(started.json["client_secret"], "4000000000000002")
    assert buyer.confirm(started.json["confirm_url"], csrf).status_int == 402
    again = buyer.post_json(started.request.path, started.request.json, csrf)
    assert again.status_int == 402 and again.json["attempt_id"] != started.request.json["attempt_id"]
    assert [p.status for p in purchases(dbsession)] == ["failed"]


def test_pressing_pay_again_after_a_decline_the_store_never_heard_of_says_why(store, album, dbsession):
    """The card was declined in Stripe.js, and the answer never reached the store (the tab reloaded):
    Pay again with the same attempt settles it from the PaymentIntent — declined, with the card's own
    reason and a new attempt id — instead of offering the same PaymentIntent as if nothing happened."""
    buyer = store.buyer
    started, csrf = buyer.start("blue-skies")
    assert buyer.confirm_at_stripe(started.json["client_secret"], "4000000000009995") == "requires_payment_method"
    again = buyer.post_json(started.request.path, started.request.json, csrf)
    assert (again.status_int, again.json["status"]) == (402, "failed")
    assert (
        "insufficient funds" in again.json["error"] and again.json["attempt_id"] != started.request.json["attempt_id"]
    )
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.failure_code) == ("failed", "insufficient_funds")


@standin_only
def test_pressing_pay_again_while_the_payment_is_processing_says_it_is_being_confirmed(store, album, dbsession):
    from stripe_standin.cards import DELAYED_CARD

    buyer = store.buyer
    started, csrf = buyer.start("blue-skies")
    assert buyer.confirm_at_stripe(started.json["client_secret"], DELAYED_CARD) == "processing"
    again = buyer.post_json(started.request.path, started.request.json, csrf)
    assert (again.status_int, again.json["status"]) == (503, "pending") and again.headers["Retry-After"]
    [purchase] = purchases(dbsession)
    assert purchase.status == "pending" and again.json["receipt_url"].endswith(f"/purchases/{purchase.id}")


def test_confirming_a_declined_attempt_again_repeats_why_it_failed(store, album, dbsession, stripe_client, caplog):
    """A second confirm of a declined attempt (a double click, a retry after a lost answer) says the
    same: declined, with the card's reason, and a new attempt id for the next Pay. The owner's log
    names the declined charge."""
    buyer = store.buyer
    started, csrf = buyer.start("blue-skies")
    buyer.confirm_at_stripe(started.json["client_secret"], "4000000000000002")
    caplog.set_level(logging.INFO, logger="album_store")
    first = buyer.confirm(started.json["confirm_url"], csrf)
    [purchase] = purchases(dbsession)
    declined_charge = stripe_client.v1.payment_intents.retrieve(purchase.stripe_payment_intent_id).latest_charge
    assert (
        declined_charge
        and f"purchase_id={purchase.id} from=pending to=failed charge_id={declined_charge}" in caplog.text
    )
    again = buyer.confirm(started.json["confirm_url"], csrf)
    assert (again.status_int, again.json["status"]) == (402, "failed")
    assert again.json["error"] == first.json["error"] and "declined" in again.json["error"]
    assert again.json["attempt_id"] not in (started.request.json["attempt_id"], first.json["attempt_id"])
    assert [p.status for p in purchases(dbsession)] == ["failed"]


@standin_only
def test_a_payment_still_processing_at_stripe_is_being_confirmed_never_incomplete(store, album, dbsession, standin):
    """A payment method whose bank answers later leaves the PaymentIntent ``processing``: the buyer is
    told it is being confirmed (the pending receipt, retry later), not to pay again; once the bank says
    yes, the same confirm says paid."""
    from stripe_standin import process
    from stripe_standin.cards import DELAYED_CARD

    buyer = store.buyer
    started, csrf = buyer.start("blue-skies")
    assert buyer.confirm_at_stripe(started.json["client_secret"], DELAYED_CARD) == "processing"
    answer = buyer.confirm(started.json["confirm_url"], csrf)
    assert (answer.status_int, answer.json["status"]) == (503, "pending") and answer.headers["Retry-After"]
    [purchase] = purchases(dbsession)
    assert purchase.status == "pending" and answer.json["receipt_url"].endswith(f"/purchases/{purchase.id}")
    process.settle_payment_intent(standin.url, purchase.stripe_payment_intent_id, "succeeded")
    again = buyer.confirm(started.json["confirm_url"], csrf)
    assert (again.status_int, again.json["status"]) == (200, "paid")
    assert [p.status for p in purchases(dbsession)] == ["paid"]


def test_confirming_before_paying_at_stripe_changes_nothing(store, album, dbsession):
    buyer = store.buyer
    started, csrf = buyer.start("blue-skies")
    early = buyer.confirm(started.json["confirm_url"], csrf)
    assert (
        early.status_int == 409
        and early.json["status"] == "incomplete"
        and "nothing was charged" in early.json["error"]
    )
    assert [p.status for p in purchases(dbsession)] == ["pending"]


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"attempt_id": "att_short", "email": "a@example.com"}, "out of date"),
        ({"attempt_id": "tok_visa", "email": "a@example.com"}, "out of date"),
        ({"email": "a@example.com"}, "out of date"),
        ({"attempt_id": "att_" + "x" * 32, "email": "not an email"}, "valid email"),
        ("not an object", "not understood"),
    ],
)
def test_a_bad_start_request_is_a_400_and_records_nothing(store, album, dbsession, fields, expected):
    _, _, csrf = store.buyer.card_form("blue-skies")
    answer = store.buyer.post_json("/albums/blue-skies/payment-intent", fields, csrf)
    assert answer.status_int == 400 and expected in answer.json["error"]
    assert purchases(dbsession) == []


def test_an_attempt_for_another_album_is_refused(store, album, dbsession):
    make_album(dbsession, slug="other")
    buyer = store.buyer
    started, csrf = buyer.start("blue-skies")
    other = buyer.post_json("/albums/other/payment-intent", started.request.json, csrf)
    assert other.status_int == 409 and "already used" in other.json["error"]
    assert len(purchases(dbsession)) == 1


def test_a_wrong_csrf_header_is_a_403_in_json(store, album, dbsession):
    action, attempt, _ = store.buyer.card_form("blue-skies")
    answer = store.buyer.post_json(action, {"attempt_id": attempt, "email": "a@example.com"}, "forged")
    assert answer.status_int == 403 and answer.content_type == "application/json"
    assert "Nothing was charged" in answer.json["error"]
    assert purchases(dbsession) == []


def test_someone_elses_purchase_cannot_be_confirmed(store, album, dbsession, new_card_token):
    started, _ = store.buyer.start("blue-skies")
    stranger = StoreTestApp(store.app, new_card_token)
    _, _, csrf = stranger.buyer.card_form("blue-skies")
    refused = stranger.buyer.confirm(started.json["confirm_url"], csrf)
    # The purchase's own refusal (a deleted route's 404 would say "There is nothing at this address.").
    assert (refused.status_int, refused.json["error"]) == (404, "There is no receipt at this address for you.")
    assert purchases(dbsession)[0].status == "pending"


def test_each_flow_refuses_the_others_addresses(store, testapp, album, dbsession):
    page = store.buy("blue-skies", token="tok_visa", status=409)
    assert "reload" in page.text and "nothing was charged" in page.text
    csrf = testapp.csrf_token("blue-skies")
    refused = testapp.post_json(
        "/albums/blue-skies/payment-intent",
        {"attempt_id": "att_" + "x" * 32, "email": "a@example.com"},
        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
        status=404,
    )
    assert refused.json["error"] == "This store takes cards with Checkout's button on the album page."
    assert (
        "only takes the album page's card payments" in store.get("/albums/blue-skies/payment-intent", status=404).text
    )
    assert purchases(dbsession) == []


# --- settling what the buyer left --------------------------------------------------------------
def reconcile(ini_file):
    """``album-store reconcile`` (its ini keeps the default flow: purchases are settled by how they were made)."""
    from album_store.cli import main as cli

    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0"]) == 0


def test_reconcile_settles_a_payment_whose_buyer_closed_the_tab(store, album, dbsession, ini_file, capsys):
    buyer = store.buyer
    started, _ = buyer.start("blue-skies")
    assert buyer.confirm_at_stripe(started.json["client_secret"]) == "succeeded"  # then the tab closed
    assert purchases(dbsession)[0].status == "pending"
    capsys.readouterr()
    reconcile(ini_file)
    assert capsys.readouterr().out.strip() == "Reconciled 1 purchase.", "the owner is told what it settled"
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid" and purchase.stripe_charge_id and purchase.card_last4 == "4242"


def test_reconcile_cancels_an_abandoned_payment_intent_and_fails_the_purchase(
    store, album, dbsession, ini_file, stripe_client
):
    store.buyer.start("blue-skies")  # the buyer never entered a card
    reconcile(ini_file)
    [purchase] = purchases(dbsession)
    assert purchase.status == "failed" and purchase.failure_code == "not_completed"
    assert stripe_client.v1.payment_intents.retrieve(purchase.stripe_payment_intent_id).status == "canceled"
    reconcile(ini_file)
    assert purchases(dbsession)[0].status == "failed", "twice changes nothing"


@standin_only
def test_a_lost_answer_to_creating_the_payment_intent_is_found_by_reconcile(
    make_app, album, dbsession, faults, ini_file, stripe_client
):
    no_retries = make_app(**{"store.payment_flow": "payment_intents", "stripe.max_network_retries": "0"})
    faults.inject(count=1, status=500, when="after", path_prefix="/v1/payment_intents", method="POST")
    assert no_retries.pay("blue-skies").status == 503
    [purchase] = purchases(dbsession)
    assert purchase.status == "pending" and purchase.stripe_payment_intent_id is None
    [intent] = intents_of(stripe_client, purchase)
    reconcile(ini_file)
    [purchase] = purchases(dbsession)
    assert purchase.status == "failed" and purchase.stripe_payment_intent_id == intent.id
    assert stripe_client.v1.payment_intents.retrieve(intent.id).status == "canceled"


@standin_only
def test_reconcile_gives_up_a_payment_stripe_never_received_only_after_the_search_lag(
    make_app, album, dbsession, faults, ini_file, capsys
):
    """Stripe never got the request for the PaymentIntent: while its search may still lag, reconcile
    leaves the purchase pending (and says it changed nothing); after that, it fails it as "no payment",
    which the owner sees on the purchase."""
    from album_store.cli import main as cli

    no_retries = make_app(**{"store.payment_flow": "payment_intents", "stripe.max_network_retries": "0"})
    faults.inject(count=1, status=500, when="before", path_prefix="/v1/payment_intents", method="POST")
    assert no_retries.pay("blue-skies").status == 503
    capsys.readouterr()
    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0"]) == 0
    assert purchases(dbsession)[0].status == "pending" and capsys.readouterr().out.strip() == "Reconciled 0 purchases."
    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0", "--search-lag-minutes", "0"]) == 0
    assert capsys.readouterr().out.strip() == "Reconciled 1 purchase."
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.failure_code, purchase.failure_message) == (
        "failed",
        "no_payment",
        "The payment was not completed.",
    )


# --- signed-in buyers ----------------------------------------------------------------------------
def test_a_signed_in_buyer_pays_with_their_email_prefilled_and_the_purchase_is_theirs(store, album, dbsession):
    from tests.conftest import PASSWORD
    from tests.factories import make_user

    user = make_user(dbsession, "ana@example.com", PASSWORD, confirmed=True)
    store.login("ana@example.com")
    email = store.get("/albums/blue-skies").html.find("input", id="card-email")
    assert email["value"] == "ana@example.com" and email.has_attr("readonly")
    payment = store.pay("blue-skies", email="someone-else@example.com")  # the account's address wins
    assert payment.paid
    [purchase] = purchases(dbsession)
    assert (purchase.user_id, purchase.email) == (user.id, "ana@example.com")
    page = store.get("/albums/blue-skies")
    assert page.html.find(class_="buy-box--owned") and not page.html.find("form", id="card-payment")
    attempt = store.get("/payment-attempt").json["attempt_id"]  # a page opened before it was bought
    shown = {"shown_amount": album.price_cents, "shown_currency": album.currency}
    again = store.buyer.post_json(
        "/albums/blue-skies/payment-intent", {"attempt_id": attempt, **shown}, store.csrf_token()
    )
    assert again.status_int == 409 and "already in your library" in again.json["error"]
    assert len(purchases(dbsession)) == 1


def test_a_buyer_paying_just_as_reconcile_gives_up_on_their_payment_intent_is_paid(
    store, album, dbsession, payment_intents_app, db_engine
):
    """Reconcile read the PaymentIntent still open, and cancels it as abandoned; the buyer's payment
    got there first, so Stripe will not cancel it: the purchase is paid (never failed with the money
    taken), and reconcile says it changed."""
    from datetime import timedelta

    import transaction

    from album_store.models import get_tm_session
    from album_store.services.payments.stripe_service import StripePaymentService
    from album_store.services.purchases import PurchaseService

    buyer = store.buyer
    started, _ = buyer.start("blue-skies")
    [purchase] = purchases(dbsession)
    real = StripePaymentService.from_settings(payment_intents_app.registry.settings)

    class TheBuyerPaysFirst:
        def __getattr__(self, name):
            return getattr(real, name)

        def cancel_payment_intent(self, payment_intent_id):
            assert buyer.confirm_at_stripe(started.json["client_secret"]) == "succeeded"
            return real.cancel_payment_intent(payment_intent_id)

    manager = transaction.TransactionManager(explicit=True)
    session = get_tm_session(payment_intents_app.registry["dbsession_factory"], manager)
    try:
        with manager:
            changed = PurchaseService(session, manager, TheBuyerPaysFirst()).reconcile_pending(
                min_age=timedelta(0), search_lag=timedelta(0)
            )
    finally:
        session.close()
    assert changed == [purchase.id]
    [paid] = purchases(dbsession)
    assert paid.status == "paid" and paid.stripe_charge_id
