"""Pay what you want: the buyer names the price (at least the album's minimum, at most its maximum),
and exactly that amount is charged, in every payment flow (``shop``); 0 where the minimum is 0 is a
free download, with no Stripe at all and an email address confirmed by a link."""

import re
import secrets
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pyramid_mailer import get_mailer
from sqlalchemy import select

from album_store.models import Purchase
from tests.conftest import StoreTestApp
from tests.factories import give_album_file, issued_token, make_album, make_user
from tests.paying import VISA
from tests.stripe_reads import charges_for, newest_charge_id

pytestmark = pytest.mark.stripe

#: Stripe's own unreachable: any call the store made to it would be a 503, never a free download.
NO_STRIPE = {"stripe.api_base": "http://127.0.0.1:9", "stripe.max_network_retries": "0", "stripe.timeout_seconds": "2"}


def purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


@pytest.fixture
def album(dbsession):
    """At least $5.00, $10.00 suggested (so at most $1,000.00)."""
    return make_album(
        dbsession, slug=f"pwyw-{secrets.token_hex(4)}", title="Copper & Salt", price_cents=1000, minimum_cents=500
    )


@pytest.fixture
def free_album(dbsession, files_dir):
    """Free, or pay what you want ($3.00 suggested), with its download file."""
    album = make_album(
        dbsession, slug=f"free-{secrets.token_hex(4)}", title="Evergreen", price_cents=300, minimum_cents=0
    )
    give_album_file(dbsession, album, files_dir)
    return album


def charged(stripe_client, purchase):
    """What Stripe charged for the purchase (its charge, read by id)."""
    return stripe_client.v1.charges.retrieve(purchase.stripe_charge_id).amount


# --- the album page ------------------------------------------------------------------------------
def test_the_album_page_asks_for_an_amount_prefilled_with_the_suggestion(shop, flow, album):
    page = shop.get(f"/albums/{album.slug}")
    field = page.html.find("input", attrs={"name": "amount"})
    assert field["value"] == "10.00" and field.has_attr("required")
    terms = page.html.find(id="amount-terms").get_text(" ", strip=True)
    assert "At least $5.00." in terms and "Suggested: $10.00." in terms and "$1,000.00" in terms
    assert page.html.find("input", attrs={"name": "shown_amount"}) is None  # the buyer's amount, not a price
    if flow == "checkout_js":  # the custom integration: no simple-embed button with a fixed data-amount
        assert page.html.find("script", class_="stripe-button") is None
        form = page.html.find("form", id="choose-price")
        assert (form["data-minimum"], form["data-currency"], form["data-key"]) == (
            "500",
            "usd",
            "pk_test_standin_testing",
        )


def test_the_catalog_says_which_albums_are_pay_what_you_want(testapp, album, free_album, dbsession):
    fixed = make_album(dbsession, title="Blue Skies", price_cents=999)
    prices = {
        card.find(class_="album-card__title").get_text(strip=True): card.find(class_="price").get_text(" ", strip=True)
        for card in testapp.get("/albums").html.select(".album-card")
    }
    assert prices[album.title] == "Pay what you want, from $5.00"
    assert prices[free_album.title] == "Free or pay what you want"
    assert prices[fixed.title] == "$9.99"


def test_a_fixed_price_album_page_is_as_before(shop, flow, dbsession):
    fixed = make_album(dbsession, price_cents=999)
    page = shop.get(f"/albums/{fixed.slug}")
    assert page.html.find("input", attrs={"name": "amount"}) is None
    if flow == "checkout_js":
        assert page.html.find("script", class_="stripe-button")["data-amount"] == "999"


# --- the amount charged is the amount chosen -----------------------------------------------------
@pytest.mark.parametrize("typed, cents", [("12.5", 1250), ("5", 500)])
def test_the_amount_charged_is_the_amount_the_buyer_chose(shop, album, dbsession, stripe_client, typed, cents):
    payment = shop.pay(album.slug, extra={"amount": typed})
    assert payment.paid, payment
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.amount_cents, purchase.minimum_cents) == ("paid", cents, 500)
    assert charged(stripe_client, purchase) == cents
    shop.get(payment.receipt_url).mustcontain(f"${cents // 100}.{cents % 100:02d}")


@pytest.mark.parametrize(
    "typed, message",
    [
        ("4.99", "The least you can pay for this album is $5.00."),
        ("0", "The least you can pay for this album is $5.00."),
        ("1000.01", "The most you can pay for this album here is $1,000.00."),
        ("5.001", "Use at most 2 decimals"),
        ("-5", "Enter the amount as a plain number"),
        ("1e3", "Enter the amount as a plain number"),
        ("", "Enter an amount"),
    ],
)
def test_an_amount_the_album_does_not_take_is_a_400_that_says_why_and_nothing_is_charged(
    shop, album, dbsession, stripe_client, typed, message
):
    """Also a tampered amount: the page's own field says at least $5.00, the request says less."""
    before = newest_charge_id(stripe_client)
    payment = shop.pay(album.slug, extra={"amount": typed})
    assert payment.status == 400 and message in payment.message, payment
    assert purchases(dbsession) == [] and newest_charge_id(stripe_client) == before


def test_an_amount_under_stripes_smallest_charge_is_refused_before_stripe_is_asked(
    shop, free_album, dbsession, stripe_client
):
    before = newest_charge_id(stripe_client)
    payment = shop.pay(free_album.slug, extra={"amount": "0.30"})
    assert payment.status == 400, payment
    assert "Stripe's smallest charge in USD is $0.50. Pay at least that, or 0 for a free download." in payment.message
    assert purchases(dbsession) == [] and newest_charge_id(stripe_client) == before


def _cents_text(cents):
    return f"{cents // 100}.{cents % 100:02d}"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cents=st.one_of(st.integers(0, 600), st.integers(600, 100_000), st.integers(99_900, 150_000)))
@example(cents=499)
@example(cents=500)
@example(cents=100_000)
@example(cents=100_001)
def test_any_amount_is_charged_exactly_when_it_is_within_the_albums_limits(
    testapp, album, dbsession, stripe_client, cents
):
    """checkout_js (the default flow): whatever amount the buyer types, it is either charged exactly
    (from $5.00 to $1,000.00) or refused with a 400 that charges nothing."""
    email = f"buyer-{secrets.token_hex(4)}@example.com"
    before = {p.id for p in purchases(dbsession)}
    answer = testapp.buy(album.slug, email=email, amount=_cents_text(cents), status="*")
    made = [p for p in purchases(dbsession) if p.id not in before]
    if 500 <= cents <= 100_000:
        assert answer.status_int == 303, answer
        [purchase] = made
        assert purchase.status == "paid" and purchase.amount_cents == cents == charged(stripe_client, purchase)
    else:
        assert answer.status_int == 400 and made == []
        answer.mustcontain("Nothing was charged.")


# --- the page is older than the album's pricing ----------------------------------------------------
def test_a_minimum_raised_above_the_chosen_amount_is_a_409_and_an_amount_above_it_still_pays(
    shop, album, dbsession, stripe_client
):
    stale = shop.buyer.shown_price(album.slug)
    album.minimum_cents = 800
    dbsession.commit()
    refused = shop.pay(album.slug, shown={**stale, "amount": "6.00"})
    assert refused.status == 409, refused
    assert (
        "The least you can pay for Copper & Salt is now $8.00" in refused.message
        and "nothing was charged" in refused.message
    )
    assert purchases(dbsession) == []
    paid = shop.pay(album.slug, shown={**stale, "amount": "9.00"})
    assert paid.paid, paid
    assert charged(stripe_client, purchases(dbsession)[0]) == 900


def test_a_changed_currency_is_a_409_and_nothing_is_charged(shop, album, dbsession, stripe_client):
    stale = shop.buyer.shown_price(album.slug)
    album.currency = "eur"
    dbsession.commit()
    before = newest_charge_id(stripe_client)
    refused = shop.pay(album.slug, shown={**stale, "amount": "12.00"})
    assert refused.status == 409 and "is now priced in EUR" in refused.message, refused
    assert purchases(dbsession) == [] and newest_charge_id(stripe_client) == before


def test_a_page_from_before_the_owner_switched_between_fixed_and_chosen_prices_is_a_409(shop, album, dbsession):
    fixed = make_album(dbsession, price_cents=999)
    fixed_page = shop.buyer.shown_price(fixed.slug)
    chosen_page = shop.buyer.shown_price(album.slug)
    fixed.minimum_cents, album.minimum_cents = 0, None
    dbsession.commit()
    now_chosen = shop.pay(fixed.slug, shown=fixed_page)
    assert now_chosen.status == 409 and "is now pay what you want (at least $0.00)" in now_chosen.message, now_chosen
    now_fixed = shop.pay(album.slug, shown=chosen_page)
    assert now_fixed.status == 409 and "now has a fixed price of $10.00" in now_fixed.message, now_fixed
    assert purchases(dbsession) == []


# --- never a double charge -----------------------------------------------------------------------
def test_the_same_checkout_twice_charges_once_and_another_amount_with_its_token_is_refused(
    testapp, album, dbsession, stripe_client
):
    token = testapp.new_card_token()
    first = testapp.buy(album.slug, token=token, amount="12.00", status=303)
    again = testapp.buy(album.slug, token=token, amount="12.00", status=303)
    assert again.location == first.location
    other = testapp.buy(album.slug, token=token, amount="15.00", status=409)
    other.mustcontain("This checkout was started for $12.00, so nothing was charged for another amount.")
    [purchase] = purchases(dbsession)
    assert [c.amount for c in charges_for(stripe_client, purchase)] == [1200]


def test_a_payment_attempt_keeps_its_amount(payment_intents_app, new_card_token, album, dbsession, stripe_client):
    shop = StoreTestApp(payment_intents_app, new_card_token)
    action, attempt_id, csrf, shown = shop.buyer._open_card_form(album.slug)
    fields = {"attempt_id": attempt_id, "email": "buyer@example.com", **shown, "amount": "12.00"}
    first = shop.buyer.post_json(action, fields, csrf)
    again = shop.buyer.post_json(action, fields, csrf)
    assert first.json["status"] == "confirm" and again.json["client_secret"] == first.json["client_secret"]
    other = shop.buyer.post_json(action, {**fields, "amount": "15.00"}, csrf)
    assert (
        other.status_int == 409
        and "started for $12.00" in other.json["error"]
        and other.json["attempt_id"] != attempt_id
    )
    [purchase] = purchases(dbsession)
    assert stripe_client.v1.payment_intents.retrieve(purchase.stripe_payment_intent_id).amount == 1200
    # The next attempt (the answer's new id) at the new amount replaces the unpaid one, and pays it.
    retry = shop.buyer.post_json(action, {**fields, "attempt_id": other.json["attempt_id"], "amount": "15.00"}, csrf)
    assert retry.json["status"] == "confirm", retry
    shop.buyer.confirm_at_stripe(retry.json["client_secret"], VISA, return_url=retry.json["return_url"])
    assert shop.buyer.confirm(retry.json["confirm_url"], csrf).json["status"] == "paid"
    old, new = purchases(dbsession)
    assert (old.status, new.status, new.amount_cents, charged(stripe_client, new)) == ("failed", "paid", 1500, 1500)


def test_another_amount_on_the_hosted_page_expires_the_first_page(
    checkout_session_app, new_card_token, album, dbsession, stripe_client
):
    from stripe_standin import process

    shop = StoreTestApp(checkout_session_app, new_card_token)
    first = shop.buyer.press_buy(album.slug, extra={"amount": "12.00"})
    again = shop.buyer.press_buy(album.slug, extra={"amount": "12.00"})
    assert first.status_int == again.status_int == 303 and again.location == first.location
    other = shop.buyer.press_buy(album.slug, extra={"amount": "15.00"})
    assert other.status_int == 303 and other.location != first.location
    old, new = purchases(dbsession)
    assert (old.status, old.amount_cents, new.status, new.amount_cents) == ("failed", 1200, "pending", 1500)
    assert stripe_client.v1.checkout.sessions.retrieve(old.stripe_checkout_session_id).status == "expired"
    with pytest.raises(process.CheckoutPageError):
        process.pay_checkout_session(first.location, card=VISA, email="buyer@example.com", authenticate=True)
    back = process.pay_checkout_session(other.location, card=VISA, email="buyer@example.com", authenticate=True)
    parts = urlsplit(back)
    shop.get(f"{parts.path}?{parts.query}")
    old, new = purchases(dbsession)
    assert (old.status, new.status, charged(stripe_client, new)) == ("failed", "paid", 1500)


# --- free downloads --------------------------------------------------------------------------------
def ask_for_free_download(shop, flow, slug, email="fan@example.com"):
    """The album page's form with 0 as the amount, as each flow's page sends it."""
    if flow == "payment_intents":
        answer, _ = shop.buyer.start(slug, email, extra={"amount": "0"})
        return answer
    if flow == "checkout_session":
        return shop.buyer.press_buy(slug, email, extra={"amount": "0"})
    page = shop.get(f"/albums/{slug}")
    form = page.html.find("form", id="choose-price")
    fields = {field["name"]: field.get("value", "") for field in form.find_all("input")}
    fields.update(amount="0", email=email, csrf_token=shop.csrf_token())
    return shop.post(form["action"], fields, status="*")


def mailed_link(outbox, subject_start):
    [message] = [m for m in outbox if m.subject.startswith(subject_start)]
    return message, re.search(r"http://\S+", message.body.data).group(0)


def test_a_free_download_calls_no_stripe_and_is_the_buyers_once_the_email_is_confirmed(
    flow, make_app, free_album, dbsession
):
    shop = make_app(**{"store.payment_flow": flow, **NO_STRIPE})
    outbox = get_mailer(shop.app.registry).outbox
    outbox.clear()
    answer = ask_for_free_download(shop, flow, free_album.slug)
    assert answer.status_int == 200, answer
    assert "We emailed a link to fan@example.com" in (
        answer.json["message"] if flow == "payment_intents" else answer.text
    )
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.amount_cents, purchase.minimum_cents, purchase.stripe_charge_id) == (
        "pending",
        0,
        0,
        None,
    )
    # Before the address is confirmed: no receipt for this browser, no download.
    shop.get(f"/purchases/{purchase.id}", status=404)
    message, link = mailed_link(outbox, "Confirm your free download")
    assert message.recipients == ["fan@example.com"] and "/free-downloads/" in link
    receipt = shop.get(urlsplit(link).path, status=303).follow()
    receipt.mustcontain("Paid", "Download Evergreen")
    assert purchases(dbsession)[0].status == "paid"
    download = receipt.html.find("a", string=re.compile("Download Evergreen"))["href"]
    assert shop.get(urlsplit(download).path).content_type == "application/zip"
    receipt_mail, _ = mailed_link(outbox, "Your receipt: Evergreen")
    assert "/downloads/" in receipt_mail.body.data and "Paid:    nothing, a free download" in receipt_mail.body.data
    # The link again: the same receipt, nothing new.
    shop.get(urlsplit(link).path, status=303)
    assert len(purchases(dbsession)) == 1 and len([m for m in outbox if m.subject.startswith("Your receipt")]) == 1


def test_its_own_form_works_without_javascript_and_asking_again_mails_the_link_again(
    testapp, free_album, dbsession, outbox
):
    for _ in range(2):
        fields = {
            "amount": "0",
            "shown_currency": "usd",
            "shown_minimum": "0",
            "email": "fan@example.com",
            "csrf_token": testapp.csrf_token(free_album.slug),
        }
        testapp.post(f"/albums/{free_album.slug}/free-download", fields, status=200).mustcontain("We emailed a link")
    assert len(purchases(dbsession)) == 1
    assert len([m for m in outbox if m.subject.startswith("Confirm your free download")]) == 2


def test_a_free_download_needs_an_email_address(testapp, free_album, dbsession):
    fields = {
        "amount": "0",
        "shown_currency": "usd",
        "shown_minimum": "0",
        "email": "not-an-address",
        "csrf_token": testapp.csrf_token(free_album.slug),
    }
    testapp.post(f"/albums/{free_album.slug}/free-download", fields, status=400).mustcontain(
        "Enter your email address for the free download"
    )
    assert purchases(dbsession) == []


def test_a_signed_in_buyer_whose_address_is_confirmed_gets_it_at_once_in_the_library(
    testapp, free_album, dbsession, outbox
):
    make_user(dbsession, "fan@example.com", "velvet-harbour-42", confirmed=True)
    testapp.login("fan@example.com")
    answer = ask_for_free_download(testapp, "checkout_js", free_album.slug, email="")
    assert answer.status_int == 303, answer
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid" and purchase.user_id is not None
    testapp.get("/library").mustcontain("Evergreen")
    assert [m.subject for m in outbox] == [f"Your receipt: Evergreen by {free_album.artist}"]


def test_paying_for_the_album_replaces_an_unconfirmed_free_download(
    testapp, free_album, dbsession, outbox, stripe_client
):
    ask_for_free_download(testapp, "checkout_js", free_album.slug, email="buyer@example.com")
    _, link = mailed_link(outbox, "Confirm your free download")
    paid = testapp.buy(free_album.slug, amount="4.00", status=303)
    free, bought = purchases(dbsession)
    assert (free.status, bought.status, charged(stripe_client, bought)) == ("failed", "paid", 400)
    testapp.get(urlsplit(link).path, status=410).mustcontain("replaced by a purchase")
    assert paid.location.endswith(f"/purchases/{bought.id}")


def test_a_forged_or_expired_link_gives_nothing(testapp, app_settings, free_album, dbsession, outbox):
    ask_for_free_download(testapp, "checkout_js", free_album.slug)
    [purchase] = purchases(dbsession)
    testapp.get("/free-downloads/not-a-token", status=404)
    old = issued_token(
        app_settings, "free-download", {"p": purchase.id, "r": purchase.reference}, seconds_ago=4 * 86400
    )
    testapp.get(f"/free-downloads/{old}", status=410).mustcontain("Ask for the free download again")
    forged = issued_token(app_settings, "free-download", {"p": purchase.id, "r": "someone-elses"}, seconds_ago=0)
    testapp.get(f"/free-downloads/{forged}", status=404)
    assert purchases(dbsession)[0].status == "pending"


def test_reconcile_leaves_an_unconfirmed_free_download_waiting_and_its_link_still_works(
    testapp, ini_file, free_album, dbsession, outbox
):
    from album_store.cli import main as cli

    ask_for_free_download(testapp, "checkout_js", free_album.slug)
    _, link = mailed_link(outbox, "Confirm your free download")
    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0", "--search-lag-minutes", "0"]) == 0
    assert purchases(dbsession)[0].status == "pending"
    testapp.get(urlsplit(link).path, status=303)
    assert purchases(dbsession)[0].status == "paid"


# --- the demo ----------------------------------------------------------------------------------------
def test_the_demo_has_a_pay_what_you_want_album_and_a_free_or_more_one(dbsession):
    from album_store.demo import DEMO_ALBUMS, seed_demo_catalog
    from album_store.models import Album

    assert seed_demo_catalog(dbsession) == len(DEMO_ALBUMS)
    dbsession.commit()
    assert seed_demo_catalog(dbsession) == 0, "a second run adds nothing"
    albums = {album.slug: album for album in dbsession.scalars(select(Album))}
    copper, evergreen = albums.pop("copper-and-salt"), albums.pop("evergreen-ep")
    assert (copper.minimum_cents, copper.price_cents) == (500, 799)
    assert (evergreen.minimum_cents, evergreen.price_cents) == (0, 329)
    assert {album.minimum_cents for album in albums.values()} == {None}


# --- anything a form can send -------------------------------------------------------------------------
AMOUNTS = st.sampled_from(["0", "5", "4.99", "12.50", "1000.01", "1000", " 7 ", "", "5.001", "-5"]) | st.text(
    max_size=12
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(["buy", "free-download"]),
    amount=AMOUNTS | st.none(),
    currency=st.sampled_from(["usd", "USD", "eur", "", "u$d"]),
    minimum=st.sampled_from(["500", "0", "", "x", "9" * 12]),
    token=st.booleans(),
    email=st.sampled_from(["fan@example.com", "not an address", ""]),
)
def test_any_pay_what_you_want_post_is_answered_without_a_500_and_a_refusal_records_nothing(
    testapp, album, dbsession, stripe_client, route, amount, currency, minimum, token, email
):
    fields = {
        "shown_currency": currency,
        "shown_minimum": minimum,
        "stripeEmail": email,
        "email": email,
        "csrf_token": testapp.csrf_token(album.slug),
    }
    if amount is not None:
        fields["amount"] = amount
    if token:
        fields.update(stripeToken=testapp.new_card_token(), stripeTokenType="card")
    before, charged_before = len(purchases(dbsession)), newest_charge_id(stripe_client)
    answer = testapp.post(f"/albums/{album.slug}/{route}", fields, expect_errors=True)
    assert answer.status_int < 500, (fields, answer.status)
    made = purchases(dbsession)[before:]
    if answer.status_int == 303 and "/purchases/" in answer.headers["Location"]:
        [purchase] = made
        assert route == "buy" and token and currency.lower() == "usd"
        assert purchase.amount_cents == parse_amount(amount) == charged(stripe_client, purchase)
        assert 500 <= purchase.amount_cents <= 100_000
    else:
        assert 400 <= answer.status_int < 500 and made == [], (fields, answer.status)
        assert newest_charge_id(stripe_client) == charged_before


def parse_amount(text):
    from album_store.pricing import parse_chosen_amount

    return parse_chosen_amount(text, "usd")
