"""Odd input never gets a 500: it gets a 4xx page that says what is wrong, and nothing is recorded.
Each class of input here was once a 500 (issue 15): digits int() refuses, a multipart body without its
boundary or with broken parts, JSON nested past the parser's depth."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from album_store.models import Purchase
from tests.factories import make_album

pytestmark = pytest.mark.stripe

UNICODE_DIGITS = st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=4)
FORM_ROUTES = ["/account/login", "/account/register", "/account/reset", "/albums/odd/buy", "/account/logout"]


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(page=UNICODE_DIGITS)
def test_a_page_number_in_any_digits_is_a_400_unless_it_is_ascii(testapp, page):
    answer = testapp.get("/albums", {"page": page}, status="*")
    if page.isascii() and page.isdigit() and 1 <= int(page) and len(page) <= 6:
        assert answer.status_int in (200, 404)
    else:
        assert answer.status_int == 400 and "The page number must be a whole number from 1 up." in answer.text


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    route=st.sampled_from(FORM_ROUTES),
    content_type=st.sampled_from(
        [
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "multipart/form-data; boundary=zz",
            'multipart/form-data; boundary=""',
            "application/x-www-form-urlencoded",
        ]
    ),
    body=st.binary(max_size=300)
    | st.sampled_from(
        [b"--zz\r\nbad", b"--zz\r\nContent-Disposition: form-data\r\n\r\nx\r\n--zz--", b"--zz--", b"%ff%fe=%c3%28"]
    ),
)
def test_a_form_body_that_is_not_what_it_claims_is_a_400_before_sign_in(testapp, dbsession, route, content_type, body):
    answer = testapp.post(route, body, headers={"Content-Type": content_type}, status="*")
    assert answer.status_int < 500, answer.text[:500]
    if answer.status_int == 400 and "could not be read" in answer.text:
        assert "nothing was done" in answer.text
    assert dbsession.query(Purchase).count() == 0


def test_a_multipart_post_without_its_boundary_says_so(testapp, dbsession):
    make_album(dbsession, slug="odd")
    for route in FORM_ROUTES:
        answer = testapp.post(route, b"x=1", headers={"Content-Type": "multipart/form-data"}, status=400)
        assert (
            "The form could not be read (its body is not valid multipart/form-data), so nothing was done."
            in answer.text
        )


def test_json_nested_deeper_than_the_parser_goes_is_a_400(payment_intents_app, dbsession):
    from tests.conftest import StoreTestApp

    make_album(dbsession, slug="deep")
    browser = StoreTestApp(payment_intents_app)
    for depth in (100, 5000, 100_000):
        body = "[" * depth + "]" * depth
        answer = browser.post(
            "/albums/deep/payment-intent",
            body,
            status="*",
            headers={"Content-Type": "application/json", "X-CSRF-Token": browser.csrf_token("deep")},
        )
        assert answer.status_int == 400, (depth, answer.status)
    assert dbsession.query(Purchase).count() == 0


@pytest.mark.parametrize(
    "field, value", [("date_to", "9999-12-31"), ("date_from", "0001-01-01"), ("date_to", "1969-12-31")]
)
def test_a_date_filter_out_of_range_is_a_400_on_the_list_and_before_the_csv_starts(owner_browser, field, value):
    page = owner_browser.get("/admin/purchases", {field: value}, status=400)
    assert "Give a date from 1970 to 9998." in page.text
    csv = owner_browser.get("/admin/purchases.csv", {field: value}, status=400)
    assert "Give a date from 1970 to 9998." in csv.text and csv.content_type == "text/html"


@pytest.fixture
def owner_browser(app, dbsession):
    from tests.conftest import StoreTestApp
    from tests.factories import make_owner

    owner = make_owner(dbsession)
    browser = StoreTestApp(app)
    browser.login(owner.email)
    return browser


ADDRESSES = ["/albums/{}", "/albums?page={}", "/albums/odd?x={}", "/account/fragment?album={}", "/purchases/{}", "/?{}"]


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(address=st.sampled_from(ADDRESSES), raw=st.binary(min_size=1, max_size=6))
def test_an_address_whose_escapes_are_not_utf8_is_a_400_that_says_so(testapp, address, raw):
    """Any bytes %-escaped into a path or a query: text that is not UTF-8, or a path holding a NUL, is
    a 400 that says why (it was a decoding error escaping the app, not even the 500 page, and a NUL
    was a 500 from PostgreSQL); other text goes on to the route, which never answers a 500 (a NUL in
    a query value is the route's to refuse, as the owner's purchase filter explains)."""
    escaped = "".join(f"%{byte:02X}" for byte in raw)
    answer = testapp.get(address.format(escaped), status="*")
    assert answer.status_int < 500, (address, raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    in_path = "?" not in address
    if text is None or (in_path and "\x00" in text):  # PostgreSQL's text holds no NUL: /albums/%00 was a 500
        assert answer.status_int == 400 and "not UTF-8 text" in answer.text, (address, raw)
