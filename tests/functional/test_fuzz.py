"""Property-based: arbitrary paths, query strings, form fields and headers never cause a 500,
and a refused request changes nothing."""
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from sqlalchemy import func, select

from album_store.models import Purchase, WebhookEvent
from tests.conftest import StoreTestApp
from tests.factories import make_album, make_owner

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
segment = st.one_of(text, st.sampled_from(["albums", "purchases", "fuzz", "buy", "cover.svg", "..", "%", "1", "-1", "99999999999999999999"]))
ROUTES = ["/", "/albums", "/albums/fuzz", "/albums/fuzz/cover.svg", "/albums/fuzz/buy", "/purchases/1", "/stripe/webhook", "/favicon.ico", "/static/style.css",
          "/account/register", "/account/login", "/account/logout", "/account/confirm", "/account/confirm/x", "/account/reset",
          "/account/reset/x", "/library", "/downloads/x", "/covers/1-0123456789abcdef/600.jpg",
          "/admin", "/admin/albums", "/admin/albums/new", "/admin/albums/1/edit", "/admin/albums/1/tracks",
          "/admin/albums/1/cover", "/admin/albums/1/file", "/admin/albums/1/publish", "/admin/albums/1/archive",
          "/admin/albums/1/delete", "/admin/purchases", "/admin/purchases.csv", "/admin/purchases/1",
          "/admin/purchases/1/refund"]
ADMIN_ROUTES = [route for route in ROUTES if route.startswith("/admin")]
FIELDS = ["stripeToken", "stripeTokenType", "stripeEmail", "csrf_token", "amount", "page", "data-amount", "email", "password", "confirm", "next", "t",
          "title", "artist", "price", "currency", "year", "slug", "description", "q", "status", "album", "date_from", "date_to",
          "tracks-0-id", "tracks-0-title", "tracks-0-duration", "tracks-0-position", "tracks-0-remove", "move", "remove", "publish", "action"]


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
@given(base=st.sampled_from(ROUTES), extra=st.lists(segment, max_size=3), query=st.dictionaries(st.sampled_from(FIELDS) | text, text, max_size=4))
def test_any_get_is_answered_without_a_500(fuzz_app, dbsession, base, extra, query):
    path = base.rstrip("/") + "".join("/" + quote(s) for s in extra) if extra else base
    response = fuzz_app.get(path, params=query, expect_errors=True)
    assert response.status_int < 500, (path, query, response.status)
    assert state(dbsession, fuzz_app.app) == (0, 0)


@FUZZ
@given(route=st.sampled_from(ROUTES), fields=st.dictionaries(st.sampled_from(FIELDS) | text, text, max_size=6), with_csrf=st.booleans())
def test_any_form_post_is_answered_without_a_500_and_refusals_record_nothing(fuzz_app, dbsession, route, fields, with_csrf):
    if with_csrf:
        fields = {**fields, "csrf_token": fuzz_app.csrf_token("fuzz")}
    fields.pop("stripeToken", None)  # with a real token it would be a purchase, not a refusal
    response = fuzz_app.post(route, fields, expect_errors=True)
    assert response.status_int < 500, (route, fields, response.status)
    assert state(dbsession, fuzz_app.app) == (0, 0)


@FUZZ
@given(headers=st.dictionaries(
    st.sampled_from(["Stripe-Signature", "Content-Type", "Cookie", "Accept", "If-None-Match", "X-Forwarded-Proto", "Content-Length-Ish", "Referer", "Origin"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80), max_size=5,
), body=st.binary(max_size=300))
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
    from album_store.models import Album

    album_id = dbsession.scalar(select(Album.id).where(Album.slug == "fuzz")) or 1
    return route.replace("/albums/1/", f"/albums/{album_id}/")


@FUZZ
@given(route=st.sampled_from(ADMIN_ROUTES), query=st.dictionaries(st.sampled_from(FIELDS) | text, text, max_size=5))
def test_the_owners_pages_answer_any_query_without_a_500(owner_fuzz_app, dbsession, route, query):
    response = owner_fuzz_app.get(_with_album_id(route, dbsession), params=query, expect_errors=True)
    assert response.status_int < 500, (route, query, response.status)


@FUZZ
@given(route=st.sampled_from(ADMIN_ROUTES), fields=st.dictionaries(st.sampled_from(FIELDS) | text, text, max_size=8))
def test_the_owners_forms_answer_any_post_without_a_500(owner_fuzz_app, dbsession, route, fields):
    fields = {**fields, "csrf_token": owner_fuzz_app.form_csrf_token("/admin/albums")}
    response = owner_fuzz_app.post(_with_album_id(route, dbsession), fields, expect_errors=True)
    assert response.status_int < 500, (route, fields, response.status)


@pytest.fixture
def fuzz_intents_app(payment_intents_app, dbsession, new_card_token):
    make_album(dbsession, slug="fuzz", price_cents=999)
    return StoreTestApp(payment_intents_app, new_card_token)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | text, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(text, inner, max_size=3), max_leaves=8)


@FUZZ
@given(body=st.dictionaries(st.sampled_from(["attempt_id", "email", "amount", "csrf_token"]) | text, json_values, max_size=4)
       | json_values, path=st.sampled_from(["/albums/fuzz/payment-intent", "/purchases/1/confirm", "/albums/missing/payment-intent"]),
       with_csrf=st.booleans())
def test_any_json_to_the_card_payment_endpoints_is_answered_without_a_500(fuzz_intents_app, dbsession, body, path, with_csrf):
    headers = {"Accept": "application/json"}
    if with_csrf:
        headers["X-CSRF-Token"] = fuzz_intents_app.csrf_token("fuzz")
    response = fuzz_intents_app.post_json(path, body, headers=headers, expect_errors=True)
    assert response.status_int < 500, (path, body, response.status)
    assert state(dbsession, fuzz_intents_app.app) == (0, 0)
