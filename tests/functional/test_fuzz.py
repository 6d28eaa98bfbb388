"""Property-based: arbitrary paths, query strings, form fields and headers never cause a 500,
and a refused request changes nothing."""

import re

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from album_store.models import Purchase, WebhookEvent
from tests.conftest import StoreTestApp
from tests.factories import make_album, make_owner
from tests.stripe_reads import by_reference, newest_charge_id, wait_for_search

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

#: The kinds of odd input once seen to cause a 500 (issue 15), mixed into every generated value: digits
#: str.isdigit() takes and int() refuses, dates a day cannot be added to, control characters and
#: line breaks of every kind.
ODD = st.sampled_from(
    ["²", "١٢", "٣", "9999-12-31", "0001-01-01", "10000-01-01", "a\nb", "\x00", "\x1b[0m", "\u2028", "%00"]
)
text = st.one_of(st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40), ODD)
segment = st.one_of(
    text,
    st.sampled_from(["albums", "purchases", "fuzz", "buy", "cover.svg", "..", "%", "1", "-1", "99999999999999999999"]),
)
ROUTES = [
    "/",
    "/albums",
    "/albums/fuzz",
    "/albums/fuzz/cover.svg",
    "/albums/fuzz/buy",
    "/purchases/1",
    "/stripe/webhook",
    "/favicon.ico",
    "/static/style.css",
    "/account/register",
    "/account/login",
    "/account/logout",
    "/account/confirm",
    "/account/confirm/x",
    "/account/reset",
    "/account/reset/x",
    "/library",
    "/account/fragment",
    "/downloads/x",
    "/covers/1-0123456789abcdef/600.jpg",
    "/admin",
    "/admin/albums",
    "/admin/albums/new",
    "/admin/albums/1/edit",
    "/admin/albums/1/tracks",
    "/admin/albums/1/cover",
    "/admin/albums/1/file",
    "/admin/albums/1/publish",
    "/admin/albums/1/archive",
    "/admin/albums/1/delete",
    "/admin/purchases",
    "/admin/purchases.csv",
    "/admin/purchases/1",
    "/admin/purchases/1/refund",
    "/previews/x.mp3",
    "/previews/" + "0" * 32 + ".mp3",
    "/albums/fuzz/free-download",
    "/free-downloads/x",
    "/admin/albums/1/tracks/1/audio",
    "/admin/albums/1/audio-status.json",
]
ADMIN_ROUTES = [route for route in ROUTES if route.startswith("/admin")]
FIELDS = [
    "stripeToken",
    "stripeTokenType",
    "stripeEmail",
    "csrf_token",
    "amount",
    "page",
    "album",
    "data-amount",
    "email",
    "password",
    "confirm",
    "next",
    "t",
    "title",
    "artist",
    "price",
    "currency",
    "year",
    "slug",
    "description",
    "q",
    "status",
    "album",
    "date_from",
    "date_to",
    "tracks-0-id",
    "tracks-0-title",
    "tracks-0-duration",
    "tracks-0-position",
    "tracks-0-remove",
    "move",
    "remove",
    "publish",
    "action",
]


@pytest.fixture
def fuzz_app(app, dbsession, new_card_token):
    make_album(dbsession, slug="fuzz", price_cents=999)
    return StoreTestApp(app, new_card_token)


def state(dbsession, app=None):
    """What a refused request must not change; also, every request gave its connection back."""
    dbsession.expire_all()
    if app is not None:
        assert app.registry["db_engine"].pool.checkedout() == 0, "a request kept a database connection"
    return (
        dbsession.scalar(select(func.count()).select_from(Purchase)),
        dbsession.scalar(select(func.count()).select_from(WebhookEvent)),
    )


def quote(value):
    from urllib.parse import quote as q

    return q(value, safe="")


@FUZZ
@given(
    base=st.sampled_from(ROUTES),
    extra=st.lists(segment, max_size=3),
    query=st.dictionaries(st.sampled_from(FIELDS) | text, text, max_size=4),
)
def test_any_get_is_answered_without_a_500(fuzz_app, dbsession, base, extra, query):
    path = base.rstrip("/") + "".join("/" + quote(s) for s in extra) if extra else base
    response = fuzz_app.get(path, params=query, expect_errors=True)
    assert response.status_int < 500, (path, query, response.status)
    assert state(dbsession, fuzz_app.app) == (0, 0)


class Valid:
    """A value the test fills in when it posts, as the album page's browser would have it: a fresh
    Checkout token, the price the page shows, an attempt id from ``GET /payment-attempt``."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"Valid({self.name!r})"


FRESH_TOKEN, SHOWN_AMOUNT, SHOWN_CURRENCY, ATTEMPT_ID = (
    Valid(n) for n in ("fresh token", "shown_amount", "shown_currency", "attempt id")
)
BUY = "/albums/fuzz/buy"
# What a paying form sends, sometimes valid and sometimes not, merged into the arbitrary fields.
CARD_TOKENS = st.sampled_from([FRESH_TOKEN, "tok_visa", "tok_chargeDeclined"])
EMAILS = st.sampled_from(["buyer@example.com", "Someone.Else@Example.org"])
checkout_fields = st.one_of(
    # what Checkout's form posts: a token it made, the page's price (or, now and then, another one)
    st.fixed_dictionaries(
        {
            "stripeToken": CARD_TOKENS,
            "stripeTokenType": st.just("card"),
            "stripeEmail": EMAILS | EMAILS | text,
            "shown_amount": st.just(SHOWN_AMOUNT) | st.just(SHOWN_AMOUNT) | st.sampled_from(["998", "0999"]),
            "shown_currency": st.just(SHOWN_CURRENCY) | st.just(SHOWN_CURRENCY) | st.just("eur"),
        }
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "stripeToken": CARD_TOKENS | text,
            "stripeTokenType": st.just("card") | text,
            "stripeEmail": EMAILS | text,
            "shown_amount": st.sampled_from([SHOWN_AMOUNT, "999", "998", "0", "-999"]) | text,
            "shown_currency": st.sampled_from([SHOWN_CURRENCY, "usd", "eur", "USD"]) | text,
        },
    ),
)


def fresh_store(app, dbsession, new_card_token):
    """Each example starts from an empty database with the one album, and a browser with no cookies."""
    from tests.conftest import _empty_tables

    _empty_tables(dbsession.get_bind())
    dbsession.expire_all()
    album = make_album(dbsession, slug="fuzz", price_cents=999)
    return StoreTestApp(app, new_card_token), album


def resolve(fields, store, new_card_token, album_page=None):
    """The fields with each :class:`Valid` placeholder made real for this store and this page."""
    from tests.paying import shown_price

    shown = shown_price(album_page or store.get("/albums/fuzz"))

    def real(value):
        if value is FRESH_TOKEN:
            return new_card_token()
        if value is SHOWN_AMOUNT:
            return shown["shown_amount"]
        if value is SHOWN_CURRENCY:
            return shown["shown_currency"]
        if value is ATTEMPT_ID:
            return store.get("/payment-attempt", headers={"Accept": "application/json"}).json["attempt_id"]
        return value

    return {key: real(value) for key, value in fields.items()}


def all_purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


def what_it_says(response):
    """The message a refusal shows: the page's alert, a field's error, the error page's text, or JSON's error."""
    if response.content_type == "application/json":
        return str(response.json.get("error") or "")
    if response.content_type != "text/html":
        return response.text
    found = response.html.select(".alert--error, .field__error, .message-page p:not(.status-code)")
    return " ".join(element.get_text(" ", strip=True) for element in found)


def showed_the_price(amount, currency):
    """Whether a form's price fields are the fuzz album's price, $9.99, as the store reads them."""
    return str(amount).strip() == "999" and isinstance(currency, str) and currency.strip().lower() == "usd"


def check_a_paid_answer(stripe_client, dbsession, receipt_url, before):
    """A receipt was answered: exactly one purchase more, paid, and its charge succeeded at Stripe."""
    purchases = all_purchases(dbsession)
    assert len(purchases) == before + 1, "a receipt means exactly one purchase more"
    purchase = purchases[-1]
    assert receipt_url.endswith(f"/purchases/{purchase.id}")
    assert purchase.status == "paid" and purchase.amount_cents == 999
    charge = stripe_client.v1.charges.retrieve(purchase.stripe_charge_id)
    assert (charge.status, charge.amount, charge.metadata["purchase_ref"]) == ("succeeded", 999, purchase.reference)


def check_a_declined_answer(stripe_client, dbsession, before):
    """A 402: one purchase more, failed, and no charge of it succeeded at Stripe."""
    purchases = all_purchases(dbsession)
    assert len(purchases) == before + 1 and purchases[-1].status == "failed", [p.status for p in purchases]
    assert purchases[-1].stripe_charge_id is None and purchases[-1].paid_at is None
    found = wait_for_search(stripe_client.v1.charges.search, by_reference(purchases[-1].reference))
    assert [c.status for c in found if c.status == "succeeded"] == []


def checkout(token=FRESH_TOKEN, shown_amount=SHOWN_AMOUNT, email="buyer@example.com"):
    return {
        "stripeToken": token,
        "stripeTokenType": "card",
        "stripeEmail": email,
        "shown_amount": shown_amount,
        "shown_currency": SHOWN_CURRENCY,
    }


@FUZZ
@example(route=BUY, fields={}, paying=checkout(), with_csrf=True)  # paid
@example(route=BUY, fields={}, paying=checkout("tok_chargeDeclined"), with_csrf=True)  # declined
@example(route=BUY, fields={}, paying=checkout(shown_amount="998"), with_csrf=True)  # refused: another price
@example(route=BUY, fields={}, paying=checkout(), with_csrf=False)  # refused: no CSRF token
@example(
    route=BUY, fields={}, paying=checkout(email="buyer at example.com"), with_csrf=True
)  # refused: no address for the receipt
@given(
    route=st.sampled_from(ROUTES) | st.just(BUY),
    fields=st.dictionaries(st.sampled_from(FIELDS) | text, text, max_size=4),
    paying=checkout_fields,
    with_csrf=st.sampled_from([True, True, False]),
)
def test_any_form_post_is_answered_without_a_500_and_refusals_record_nothing(
    app, dbsession, new_card_token, stripe_client, route, fields, paying, with_csrf
):
    store, _ = fresh_store(app, dbsession, new_card_token)
    fields = resolve({**fields, **paying}, store, new_card_token)
    if with_csrf:
        fields["csrf_token"] = store.csrf_token("fuzz")
    charged_before = newest_charge_id(stripe_client)
    response = store.post(route, fields, expect_errors=True)
    status, location = response.status_int, response.headers.get("Location", "")
    assert status < 500, (route, fields, response.status)
    event(f"answered {status}{' (a receipt)' if re.search(r'/purchases/[0-9]+$', location) else ''}")
    if status == 303 and re.search(r"/purchases/\d+$", location):
        check_a_paid_answer(stripe_client, dbsession, location, before=0)
        assert route == BUY and with_csrf
        assert showed_the_price(fields.get("shown_amount"), fields.get("shown_currency")), (
            "paid at a price the page did not show"
        )
    elif status == 402:
        assert route == BUY and "declined" in what_it_says(response)
        check_a_declined_answer(stripe_client, dbsession, before=0)
    else:  # refused (a 4xx), or any answer that is no purchase: nothing recorded, nothing charged
        if 400 <= status < 500:
            assert what_it_says(response), (route, response.status, "a refusal says why")
        assert state(dbsession, store.app) == (0, 0), (route, fields, response.status)
        assert newest_charge_id(stripe_client) == charged_before, (
            route,
            fields,
            response.status,
            "charged for a refusal",
        )


@FUZZ
@given(
    headers=st.dictionaries(
        st.sampled_from(
            [
                "Stripe-Signature",
                "Content-Type",
                "Cookie",
                "Accept",
                "If-None-Match",
                "X-Forwarded-Proto",
                "Content-Length-Ish",
                "Referer",
                "Origin",
            ]
        ),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
        max_size=5,
    ),
    body=st.binary(max_size=300),
)
def test_arbitrary_headers_and_webhook_bodies_never_cause_a_500(fuzz_app, dbsession, headers, body):
    for method, path in (("GET", "/albums/fuzz"), ("POST", "/stripe/webhook"), ("POST", "/albums/fuzz/buy")):
        request_headers = dict(headers)
        if method == "GET":
            response = fuzz_app.get(path, headers=request_headers, expect_errors=True)
        else:
            response = fuzz_app.post(path, body, headers=request_headers, expect_errors=True)
        assert response.status_int < 500, (method, path, headers, response.status)
    assert state(dbsession, fuzz_app.app) == (0, 0)


@pytest.fixture
def owner_fuzz_app(fuzz_app, dbsession):
    """The fuzz app signed in as the store owner: the owner's forms must never fail either."""
    owner = make_owner(dbsession)
    fuzz_app.login(owner.email)
    return fuzz_app


def _with_album_id(route, dbsession):
    return route.replace("/albums/1/", f"/albums/{_fuzz_album_id(dbsession) or 1}/")


def catalog_snapshot(dbsession):
    """Everything an owner's form could change: albums, tracks, purchases, and the audit trail."""
    from album_store.models import Base

    dbsession.expire_all()
    tables = ("albums", "tracks", "purchases", "audit_events")
    return {
        name: sorted(tuple(row) for row in dbsession.execute(select(Base.metadata.tables[name])).all())
        for name in tables
    }


def the_fuzz_album(dbsession):
    from album_store.models import Album

    dbsession.expire_all()
    return dbsession.scalars(select(Album).where(Album.id == _fuzz_album_id(dbsession))).one_or_none()


def _fuzz_album_id(dbsession):
    from album_store.models import Album

    # The album made by the fixture keeps its id when a valid edit changed its address.
    return dbsession.scalar(select(func.min(Album.id)))


@FUZZ
@given(route=st.sampled_from(ADMIN_ROUTES), query=st.dictionaries(st.sampled_from(FIELDS) | text, text, max_size=5))
def test_the_owners_pages_answer_any_query_without_a_500(owner_fuzz_app, dbsession, route, query):
    before = catalog_snapshot(dbsession)
    response = owner_fuzz_app.get(_with_album_id(route, dbsession), params=query, expect_errors=True)
    assert response.status_int < 500, (route, query, response.status)
    assert response.status_int in (200, 400, 404), (route, query, response.status)
    if response.status_int != 200:
        assert what_it_says(response), (route, query, response.status, "a refusal says what is wrong")
    assert catalog_snapshot(dbsession) == before, "a GET changed the catalog"


#: The album form's fields, valid now and then, so that some posts are changes the store must make.
album_details = st.fixed_dictionaries(
    {},
    optional={
        "title": st.sampled_from(["Fuzzed Title", "  Spaced Out  "]) | text,
        "artist": st.just("Fuzz Artist") | text,
        "price": st.sampled_from(["12.34", "9", "0.49", "12.345", "-1", "1e3"]) | text,
        "currency": st.sampled_from(["usd", "eur", "isk", "xxx"]),
        "year": st.sampled_from(["", "1999", "1800"]) | text,
        "description": st.just("") | text,
        "slug": st.sampled_from(["", "fuzzed-slug", "Bad Slug!"]) | text,
    },
)


def _valid_album_post(fields):
    """The values a valid album form sets, or None when the store must refuse it."""
    from webob.multidict import MultiDict

    from album_store.forms import AlbumForm

    form = AlbumForm(MultiDict(fields), store_currency="usd")
    return form if form.validate() else None


@FUZZ
@example(
    route="/admin/albums/1/edit",
    fields={"title": "Fuzzed Title", "artist": "Fuzz Artist", "price": "12.34", "currency": "usd"},
)
@example(
    route="/admin/albums/1/edit", fields={"title": "", "artist": "Fuzz Artist", "price": "12.34", "currency": "usd"}
)
@example(
    route="/admin/albums/new",
    fields={"title": "Fuzzed Title", "artist": "Fuzz Artist", "price": "0.49", "currency": "usd"},
)
@given(
    route=st.sampled_from(ADMIN_ROUTES),
    fields=st.builds(
        lambda other, details: {**other, **details},
        st.dictionaries(st.sampled_from(FIELDS) | text, text, max_size=6),
        album_details,
    ),
)
def test_the_owners_forms_answer_any_post_without_a_500(owner_fuzz_app, dbsession, route, fields):
    from album_store.models import Album

    fields = {**fields, "csrf_token": owner_fuzz_app.form_csrf_token("/admin/albums")}
    before = catalog_snapshot(dbsession)
    album_ids = set(dbsession.scalars(select(Album.id)))
    response = owner_fuzz_app.post(_with_album_id(route, dbsession), fields, expect_errors=True)
    status = response.status_int
    assert status < 500, (route, fields, response.status)
    after = catalog_snapshot(dbsession)
    event(f"{route} answered {status}{' (changed)' if after != before else ''}")
    if 400 <= status < 500:
        assert after == before, (route, fields, response.status, "a refused form changed the catalog")
        assert what_it_says(response), (route, fields, response.status, "a refusal says what is wrong")
        return
    assert status in (200, 303), (route, fields, response.status)
    if after != before:  # a change: the answer redirects, and the change is in the audit trail with it
        assert status == 303, (route, fields, response.status)
        assert len(after["audit_events"]) > len(before["audit_events"]), (route, "a change without its audit event")
    valid = _valid_album_post(fields)
    if route == "/admin/albums/1/edit":
        album = the_fuzz_album(dbsession)
        assert (status == 303) == (valid is not None), (fields, response.status)
        if valid is not None:
            assert (album.title, album.artist, album.price_cents, album.currency) == (
                valid.title.data,
                valid.artist.data,
                valid.price_cents,
                valid.currency.data,
            ), "the saved album is what was posted"
    elif route == "/admin/albums/new" and status == 303:
        [new_album] = [a for a in dbsession.scalars(select(Album)) if a.id not in album_ids]
        assert valid is not None and (new_album.title, new_album.price_cents) == (valid.title.data, valid.price_cents)
        assert not new_album.is_published, "a new album starts unpublished"
    elif route == "/admin/albums/1/archive":
        assert status == 303 and the_fuzz_album(dbsession).is_archived == (fields.get("action") != "restore")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
card_payment_fields = st.one_of(
    # what card-payment.js sends: the attempt id it asked for, the page's price (or, now and then, another one)
    st.fixed_dictionaries(
        {
            "attempt_id": st.just(ATTEMPT_ID),
            "email": EMAILS,
            "shown_amount": st.just(SHOWN_AMOUNT) | st.just(SHOWN_AMOUNT) | st.sampled_from(["999", 998]),
            "shown_currency": st.just(SHOWN_CURRENCY) | st.just(SHOWN_CURRENCY) | st.just("eur"),
        }
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "attempt_id": st.just(ATTEMPT_ID) | json_values,
            "email": EMAILS | json_values,
            "shown_amount": st.sampled_from([SHOWN_AMOUNT, 999, "999", 998, 0]) | json_values,
            "shown_currency": st.sampled_from([SHOWN_CURRENCY, "usd", "eur"]) | json_values,
        },
    ),
)
START = "/albums/fuzz/payment-intent"


def card_payment(shown_amount=SHOWN_AMOUNT):
    return {
        "attempt_id": ATTEMPT_ID,
        "email": "buyer@example.com",
        "shown_amount": shown_amount,
        "shown_currency": SHOWN_CURRENCY,
    }


@FUZZ
@example(body=card_payment(), path=START, with_csrf=True, card="4242424242424242")  # paid
@example(body=card_payment(), path=START, with_csrf=True, card="4000000000000002")  # declined
@example(
    body=card_payment(shown_amount=998), path=START, with_csrf=True, card="4242424242424242"
)  # refused: another price
@given(
    body=st.one_of(
        st.builds(
            lambda fields, paying: {**fields, **paying},
            st.dictionaries(
                st.sampled_from(["attempt_id", "email", "amount", "csrf_token"]) | text, json_values, max_size=4
            ),
            card_payment_fields,
        ),
        card_payment_fields,
        json_values,
    ),
    path=st.just(START) | st.sampled_from(["/purchases/1/confirm", "/albums/missing/payment-intent"]),
    with_csrf=st.sampled_from([True, True, False]),
    card=st.sampled_from(["4242424242424242", "4000000000000002"]),
)
def test_any_json_to_the_card_payment_endpoints_is_answered_without_a_500(
    payment_intents_app, dbsession, new_card_token, stripe_client, body, path, with_csrf, card
):
    store, _ = fresh_store(payment_intents_app, dbsession, new_card_token)
    if isinstance(body, dict):
        body = resolve(body, store, new_card_token)
    headers = {"Accept": "application/json"}
    if with_csrf:
        headers["X-CSRF-Token"] = store.csrf_token("fuzz")
    charged_before = newest_charge_id(stripe_client)
    response = store.post_json(path, body, headers=headers, expect_errors=True)
    assert response.status_int < 500, (path, body, response.status)
    answer = response.json if response.content_type == "application/json" else {}
    event(f"answered {response.status_int} {answer.get('status')}")
    if response.status_int == 200 and answer.get("status") == "confirm":
        # A PaymentIntent to confirm: one pending purchase, nothing charged yet. Then pay it as the page does.
        [purchase] = all_purchases(dbsession)
        assert path == START and with_csrf and purchase.status == "pending" and purchase.amount_cents == 999
        assert showed_the_price(body.get("shown_amount"), body.get("shown_currency")), (
            "a PaymentIntent for a price the page did not show"
        )
        intent = stripe_client.v1.payment_intents.retrieve(purchase.stripe_payment_intent_id)
        assert (intent.amount, intent.metadata["purchase_ref"]) == (999, purchase.reference)
        assert intent.status != "succeeded" and newest_charge_id(stripe_client) == charged_before
        store.buyer.confirm_at_stripe(answer["client_secret"], card)
        confirmed = store.buyer.confirm(answer["confirm_url"], headers["X-CSRF-Token"])
        event(f"confirmed {confirmed.status_int}")
        if confirmed.status_int == 200:
            assert confirmed.json["status"] == "paid" and card == "4242424242424242"
            check_a_paid_answer(stripe_client, dbsession, confirmed.json["receipt_url"], before=0)
            assert stripe_client.v1.payment_intents.retrieve(intent.id).status == "succeeded"
        else:
            assert (confirmed.status_int, confirmed.json["status"], card) == (402, "failed", "4000000000000002"), (
                confirmed
            )
            [purchase] = all_purchases(dbsession)
            assert purchase.status == "failed" and purchase.paid_at is None
            assert stripe_client.v1.payment_intents.retrieve(intent.id).status == "canceled", (
                "a failed purchase can never take money later"
            )
    else:  # refused: a message, nothing recorded, nothing charged
        assert 400 <= response.status_int < 500, (path, body, response.status)
        assert what_it_says(response), (path, response.status, "a refusal says why")
        assert state(dbsession, store.app) == (0, 0), (path, body, response.status)
        assert newest_charge_id(stripe_client) == charged_before, (path, body, "charged for a refusal")
