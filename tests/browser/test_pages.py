"""Every page a shopper can reach, in a real browser: no JavaScript error, no CSP violation, no request
outside the store and Stripe, a Content-Security-Policy header, and no sideways scrolling on a phone.

(The ``page`` fixture fails any test whose browser saw one of those problems; ``shopper.arrived``
checks the width on a phone.)
"""

import re

import pytest
from sqlalchemy import select

from album_store.demo import DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, seed_demo_catalog, seed_demo_owner
from album_store.models import Album, Purchase
from album_store.services.accounts import AccountService
from tests.browser.shopper import CARD_OK
from tests.factories import make_album

pytestmark = [pytest.mark.browser, pytest.mark.stripe]
expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (make install-test)").expect


@pytest.fixture
def catalog(dbsession):
    albums = [
        make_album(
            dbsession,
            slug=f"album-{n}",
            title=f"A Rather Long Album Title Number {n}",
            artist="An Artist With A Long Name",
            price_cents=999 + n,
        )
        for n in range(3)
    ]
    make_album(dbsession, slug="unpublished", title="Not Yet", is_published=False)
    return albums


@pytest.mark.parametrize("device", ["desktop", "phone"], indirect=True)
def test_the_shop_pages_render_cleanly(shopper, watch, catalog):
    shopper.open_home()
    assert shopper.heading() == "New music, straight from the artists"
    shopper.open_catalog()
    assert shopper.page.locator(".album-card").count() == 3
    shopper.open_album("A Rather Long Album Title Number 1")
    assert shopper.page.locator(".tracklist li").count() == 3

    watch.expect_status(404)
    response = shopper.page.goto(shopper.store_url + "/albums/unpublished")
    assert response.status == 404
    shopper.arrived("not-found")


@pytest.mark.parametrize("device", ["desktop", "phone"], indirect=True)
def test_every_page_a_guest_or_the_owner_opens_renders_cleanly(shopper, watch, dbsession):
    """On a phone: nothing scrolls sideways (a wide table scrolls inside itself), the owner's header
    links wrap; everywhere: no JavaScript error, no CSP violation, no request elsewhere."""
    seed_demo_catalog(dbsession)
    seed_demo_owner(AccountService(dbsession, None, None))  # make_owner needs no tokens nor secret
    dbsession.commit()
    shopper.open_catalog()
    shopper.open_album("Blue Skies")
    shopper.pay(CARD_OK)
    shopper.arrived("receipt")
    for path in ["/", "/account/login", "/account/register", "/account/reset"]:
        assert shopper.visit(path).status == 200, path
    watch.expect_status(404)
    assert shopper.visit("/albums/no-such-album").status == 404

    shopper.sign_in(DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD)
    album_id = dbsession.scalars(select(Album.id).where(Album.slug == "blue-skies")).one()
    purchase_id = dbsession.scalars(select(Purchase.id)).one()  # not 1 on PostgreSQL: sequences go on
    for path in [
        "/library",
        "/admin",
        "/admin/albums",
        "/admin/albums/new",
        f"/admin/albums/{album_id}/edit",
        "/admin/purchases",
        "/admin/purchases?status=paid",
        f"/admin/purchases/{purchase_id}",
    ]:
        assert shopper.visit(path).status == 200, path


@pytest.mark.parametrize("device", ["desktop", "phone"], indirect=True)
def test_checkout_opens_over_the_album_and_closes_again(shopper, catalog):
    page = shopper.page
    shopper.open_catalog()
    shopper.open_album("A Rather Long Album Title Number 2")

    modal = shopper.open_checkout()  # on a phone, arrived() checks the modal fits the screen too
    expect(modal.email).to_be_focused()
    assert page.evaluate("() => document.documentElement.style.overflow") == "hidden", "the page behind stays put"
    # Escape closes it, and so does the close button. Both are sent as DOM events: a real key press or
    # click whose handler removes the cross-site frame it landed in can leave Chromium's DevTools protocol
    # waiting forever for the input's acknowledgement (the frame's renderer is gone), hanging the test.
    modal.email.dispatch_event("keydown", {"key": "Escape", "bubbles": True, "cancelable": True})
    page.locator(modal.IFRAME).wait_for(state="detached")
    assert page.evaluate("() => document.documentElement.style.overflow") == ""
    expect(shopper.buy_button()).to_be_focused()

    modal = shopper.open_checkout()
    modal.frame.get_by_role("button", name="Close").dispatch_event("click")
    page.locator(modal.IFRAME).wait_for(state="detached")
    expect(shopper.buy_button()).to_be_focused()


def test_the_csp_lets_checkout_in_and_keeps_everything_else_out(shopper, watch, live_store, catalog):
    with shopper.page.expect_response(re.compile(r"/albums/album-0$")) as album_page:
        shopper.page.goto(live_store.url + "/albums/album-0")
    policy = dict(
        directive.strip().split(" ", 1) for directive in album_page.value.headers["content-security-policy"].split(";")
    )
    assert live_store.standin_url in policy["script-src"] and live_store.standin_url in policy["frame-src"]
    assert "'unsafe-inline'" not in policy["script-src"]
    shopper.open_checkout()  # checkout.js ran, drew its button and framed its modal under that policy
    assert watch.problems() == []

    # An inline script (what an injection would add) is refused, and the watch sees the refusal.
    ran = shopper.page.evaluate(
        """() => { const s = document.createElement('script'); s.textContent = 'window.injected = true';
                   document.head.appendChild(s); return window.injected === true; }"""
    )
    shopper.page.wait_for_timeout(100)
    assert ran is False
    assert any("script-src" in violation for violation in watch.csp_violations())
    assert any("Content Security Policy" in problem for problem in watch.problems())
    watch.forget()


@pytest.mark.parametrize("device", ["phone"], indirect=True)
def test_the_phone_check_notices_a_page_wider_than_the_screen(shopper, catalog):
    shopper.open_catalog()
    shopper.page.evaluate("() => { document.querySelector('h1').style.width = '600px'; }")
    with pytest.raises(AssertionError, match="scrolls sideways"):
        shopper.assert_fits_the_screen()
