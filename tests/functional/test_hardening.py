"""The store's surface: security headers, cookies, CSRF everywhere but the webhook, body limits."""
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
            assert script.get("src"), f"inline script on {url}"
        assert not page.html.find_all("style"), url
        assert not page.html.select("[style]"), url
        assert not re.search(r"\son[a-z]+=", page.text), f"inline event handler on {url}"


def test_the_session_cookie_is_httponly_and_samesite_lax(testapp, dbsession):
    make_album(dbsession, slug="cookie")
    response = testapp.get("/albums/cookie")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "secure" not in cookie.lower(), "plain http in development and tests"


def test_production_cookies_are_secure_and_hsts_is_sent(make_app, dbsession):
    make_album(dbsession, slug="prod-cookie")
    production_like = make_app(**{"store.secure_cookies": "true"})
    response = production_like.get("/albums/prod-cookie", extra_environ={"wsgi.url_scheme": "https"})
    assert "; secure" in response.headers["Set-Cookie"].lower()
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_an_oversized_body_is_refused_with_413_before_anything_happens(testapp, dbsession):
    make_album(dbsession, slug="big")
    csrf = testapp.csrf_token("big")
    page = testapp.post("/albums/big/buy", {"csrf_token": csrf, "stripeToken": "tok_visa", "padding": "x" * 300_000}, status=413)
    assert "larger than the store accepts" in page.text
    assert page.html.find("header", class_="site-header")
