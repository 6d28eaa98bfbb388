"""axe-core (a kept engine, through axe-playwright-python) on the pages a guest, a buyer and the owner
reach (and the open Checkout window), at desktop and phone width: no serious, critical or moderate
violation."""

import pytest

from tests.browser.shopper import CARD_DECLINED, CARD_OK
from tests.conftest import PASSWORD
from tests.factories import make_album, make_owner

pytestmark = [pytest.mark.browser, pytest.mark.stripe]
axe_module = pytest.importorskip(
    "axe_playwright_python.sync_playwright", reason="axe-playwright-python is not installed"
)

#: What fails: serious and critical violations, and moderate ones too (this store has none).
BLOCKING = ("serious", "critical", "moderate")


def problems(page):
    """axe's serious and critical violations on the page as it is now: [(rule, impact, where)]."""
    results = axe_module.Axe().run(page)
    return [
        (v["id"], v["impact"], [node["target"] for node in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("device", ["desktop", "phone"], indirect=True)
def test_a_guest_and_a_buyer_meet_no_serious_accessibility_problem(shopper, watch, dbsession):
    make_album(dbsession, slug="blue-skies", title="Blue Skies", price_cents=999)
    page = shopper.page
    found = {}
    shopper.open_home()
    found["home"] = problems(page)
    shopper.open_catalog()
    found["catalog"] = problems(page)
    shopper.open_album("Blue Skies")
    found["album"] = problems(page)
    shopper.open_checkout()  # the open Checkout window: the stand-in's frame, checked on its own
    found["checkout window"] = problems(
        page.locator("iframe.stripe-standin-checkout-app").element_handle().content_frame()
    )
    page.reload()
    watch.expect_status(402)
    shopper.pay(CARD_DECLINED)
    found["declined"] = problems(page)
    shopper.pay(CARD_OK, email="ana@example.com")
    found["receipt"] = problems(page)
    for path in ("/account/login", "/account/register", "/account/reset"):
        page.goto(shopper.store_url + path)
        found[path] = problems(page)
    assert {name: issues for name, issues in found.items() if issues} == {}


@pytest.mark.parametrize("device", ["desktop", "phone"], indirect=True)
def test_the_owners_pages_meet_no_serious_accessibility_problem(shopper, dbsession):
    owner = make_owner(dbsession)
    album = make_album(dbsession, slug="owned", title="Owned")
    shopper.sign_in(owner.email, PASSWORD)
    page = shopper.page
    found = {}
    for path in (
        "/admin",
        "/admin/albums",
        f"/admin/albums/{album.id}/edit",
        "/admin/albums/new",
        "/admin/purchases",
        "/library",
    ):
        page.goto(shopper.store_url + path)
        found[path] = problems(page)
    assert {name: issues for name, issues in found.items() if issues} == {}
