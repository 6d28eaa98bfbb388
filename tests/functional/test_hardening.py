"""The store's surface: security headers, cookies, CSRF everywhere but the webhook, body limits."""

import json
import re

from tests.factories import make_album


def test_every_page_sends_the_security_headers(testapp, dbsession, app_settings):
    make_album(dbsession, slug="safe")
    checkout_origin = re.match(r"https?://[^/]+", app_settings["stripe.checkout_js_url"]).group(0)
    for url, status in (("/", 200), ("/albums/safe", 200), ("/albums/nope", 404), ("/static/style.css", 200)):
        response = testapp.get(url, status=status)
        csp = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
        assert csp["default-src"] == "'self'"
        assert csp["script-src"] == f"'self' {checkout_origin}", "only our scripts and Checkout's"
        assert csp["frame-src"] == checkout_origin
        assert checkout_origin in csp["connect-src"]
        assert csp["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_script_or_style_the_policy_would_block(testapp, dbsession):
    make_album(dbsession, slug="strict")
    for url in ("/", "/albums", "/albums/strict"):
        page = testapp.get(url)
        for script in page.html.find_all("script"):
            if script.get("type") == "application/ld+json":
                json.loads(script.string)  # a data block (schema.org), never run, so no policy blocks it
                continue
            assert script.get("src"), f"inline script on {url}"
        assert not page.html.find_all("style"), url
        assert not page.html.select("[style]"), url
        assert not re.search(r"\son[a-z]+=", page.text), f"inline event handler on {url}"


def cookies_set(response):
    return {value.split("=", 1)[0]: value for name, value in response.headerlist if name == "Set-Cookie"}


def test_cookies_are_samesite_lax_and_the_session_is_httponly(testapp, dbsession):
    make_album(dbsession, slug="cookie")
    csrf = cookies_set(testapp.get("/csrf-token"))["csrf_token"]
    assert "SameSite=Lax" in csrf and "HttpOnly" not in csrf, "static/csrf.js reads the token"
    session = cookies_set(testapp.buy("cookie", status=303))["album_store_session"]
    assert "HttpOnly" in session and "SameSite=Lax" in session
    assert "secure" not in (csrf + session).lower(), "plain http in development and tests"


def test_production_cookies_are_secure_and_hsts_is_sent(make_app, dbsession):
    make_album(dbsession, slug="prod-cookie")
    production_like = make_app(**{"store.secure_cookies": "true"})
    production_like.extra_environ["wsgi.url_scheme"] = "https"
    response = production_like.get("/csrf-token")
    assert "; secure" in cookies_set(response)["csrf_token"].lower()
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    production_like.buy("prod-cookie", status=403)  # over https, Pyramid also wants the form's Origin
    production_like.extra_environ["HTTP_ORIGIN"] = "https://localhost"
    bought = production_like.buy("prod-cookie", status=303)
    assert "; secure" in cookies_set(bought)["album_store_session"].lower()


def test_an_oversized_body_is_refused_with_413_before_anything_happens(testapp, dbsession):
    make_album(dbsession, slug="big")
    csrf = testapp.csrf_token("big")
    page = testapp.post(
        "/albums/big/buy", {"csrf_token": csrf, "stripeToken": "tok_visa", "padding": "x" * 300_000}, status=413
    )
    assert "larger than the store accepts" in page.text
    assert page.html.find("header", class_="site-header")
