"""The shared form-field macro: the attributes a template gives an input reach the HTML (they were all
dropped: the macro read Chameleon's own `attrs`), and an error or hint is tied to its input."""

import pytest

from tests.factories import make_owner

pytestmark = pytest.mark.stripe


def test_the_attributes_a_page_gives_an_input_reach_it(testapp):
    login = testapp.get("/account/login").html
    assert login.find("input", attrs={"name": "email"}).get("autocomplete") == "email"
    assert login.find("input", attrs={"name": "password"}).get("autocomplete") == "current-password"
    register = testapp.get("/account/register").html
    password = register.find("input", attrs={"name": "password"})
    assert (password.get("autocomplete"), password.get("minlength")) == ("new-password", "10")
    assert password.get("aria-describedby") == "password-hint" and register.find(id="password-hint")


def test_an_error_marks_its_input_invalid_and_is_read_with_it(testapp):
    csrf = testapp.form_csrf_token("/account/register")
    page = testapp.post(
        "/account/register",
        {"csrf_token": csrf, "email": "not an address", "password": "x", "confirm": "y"},
        status=400,
    ).html
    email = page.find("input", attrs={"name": "email"})
    assert email.get("aria-invalid") == "true"
    assert email.get("aria-describedby") == "email-error"
    assert "does not look like an email address" in page.find(id="email-error").text
    password = page.find("input", attrs={"name": "password"})
    assert password.get("aria-describedby") == "password-error password-hint"


def test_the_owners_upload_inputs_say_what_they_take(app, dbsession):
    from tests.conftest import StoreTestApp
    from tests.factories import make_album

    owner = make_owner(dbsession)
    browser = StoreTestApp(app)
    browser.login(owner.email)
    album = make_album(dbsession)
    page = browser.get(f"/admin/albums/{album.id}/edit").html
    assert page.find("input", attrs={"name": "cover"}).get("accept") == "image/jpeg,image/png,image/webp"
    assert page.find("input", attrs={"name": "title"}).get("maxlength") == "200"


def test_a_form_sent_back_begins_with_its_problems_each_linked_to_its_field(testapp):
    csrf = testapp.form_csrf_token("/account/register")
    page = testapp.post(
        "/account/register",
        {"csrf_token": csrf, "email": "not an address", "password": "x", "confirm": "y"},
        status=400,
    ).html
    summary = page.find(class_="error-summary")
    assert summary["role"] == "alert" and summary.has_attr("data-focus-first")
    assert summary.find("h2").text == "There are 3 problems"
    links = {a["href"]: " ".join(a.text.split()) for a in summary.find_all("a")}
    assert set(links) == {"#email", "#password", "#confirm"}
    assert links["#email"].startswith("Email") and "does not look like an email address" in links["#email"]
    for target in links:
        assert page.find(id=target[1:]).name == "input"
    assert testapp.get("/account/register").html.find(class_="error-summary") is None, "none before a problem"


def test_the_owners_album_form_sent_back_begins_with_its_problems(app, dbsession):
    from tests.conftest import StoreTestApp

    owner = make_owner(dbsession)
    browser = StoreTestApp(app)
    browser.login(owner.email)
    form = browser.get("/admin/albums/new").forms["album-form"]
    form["title"], form["artist"], form["price"] = "", "Someone", "12.345"
    page = form.submit(status=400).html
    summary = page.find(class_="error-summary")
    assert {a["href"] for a in summary.find_all("a")} == {"#title", "#price"}
    assert page.find("input", attrs={"name": "title"}).get("aria-invalid") == "true"
