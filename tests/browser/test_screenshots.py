"""A tour of the main pages with the demo catalog, photographed at desktop and phone width: a guest's
purchase and a declined card, a signed-in buyer's checkout and library, the owner's dashboard.

``make screenshots`` runs it with ``SCREENSHOTS_DIR=docs/screenshots`` so a reviewer can look at the
pages without running a browser; in an ordinary test run the pictures go to ``test-artifacts/pages/``.
Each page is photographed when the shopper arrives on it (``Shopper.arrived``), so a new journey step
(the library, the owner's dashboard) adds its picture by calling ``arrived`` like the others.
"""

import os
from pathlib import Path

import pytest

from album_store.demo import DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, seed_demo_catalog, seed_demo_owner
from album_store.services.accounts import AccountService
from tests.browser.shopper import CARD_DECLINED, CARD_OK, CheckoutModal
from tests.conftest import PASSWORD, ROOT
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.stripe]
expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (make install-test)").expect

SCREENSHOTS_DIR = Path(os.environ.get("SCREENSHOTS_DIR") or ROOT / "test-artifacts" / "pages")


class Photographer:
    """Takes one picture of each page the first time the shopper reaches it: ``{device}-NN-{page}.png``."""

    def __init__(self, page, device, folder):
        self.page, self.device, self.folder = page, device, folder
        self.taken = {}
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob(f"{device}-*.png"):
            old.unlink()

    def __call__(self, name):
        if name in self.taken:
            return
        path = self.folder / f"{self.device}-{len(self.taken) + 1:02d}-{name}.png"
        # With Checkout open the page behind is fixed under its overlay: the screen is what a shopper sees.
        modal_open = self.page.locator(CheckoutModal.IFRAME).count() > 0
        self.page.screenshot(path=str(path), full_page=not modal_open, animations="disabled", caret="hide")
        self.taken[name] = path


@pytest.mark.parametrize("device", ["desktop", "phone"], indirect=True)
def test_a_tour_of_the_main_pages(shopper, watch, device, dbsession):
    seed_demo_catalog(dbsession)
    seed_demo_owner(AccountService(dbsession, None, None))  # make_owner needs no tokens nor secret
    make_user(dbsession, "ana@example.com", PASSWORD, confirmed=True)
    dbsession.commit()
    photographer = shopper.on_arrival = Photographer(shopper.page, device, SCREENSHOTS_DIR)

    # A guest buys an album, then is declined for another.
    shopper.open_home()
    shopper.open_catalog()
    shopper.open_album("Blue Skies")
    assert shopper.pay(CARD_OK).status == 200
    shopper.arrived("receipt")
    shopper.open_catalog()
    shopper.open_album("Night Bus Home")
    watch.expect_status(402)
    assert shopper.pay(CARD_DECLINED).status == 402
    shopper.arrived("declined")

    # A buyer with an account: Checkout knows their email; the album is in their library.
    shopper.leave()
    shopper.sign_in("ana@example.com", PASSWORD)
    shopper.open_catalog()
    shopper.open_album("Low Frequencies")
    modal = shopper.open_checkout()
    expect(modal.email).to_have_value("ana@example.com")
    shopper.arrived("checkout-signed-in")
    modal.fill(email=None, card=CARD_OK)
    assert modal.pay().status == 200
    shopper.open_library()
    assert "Low Frequencies" in shopper.page.locator("main").inner_text()

    # The store owner.
    shopper.leave()
    shopper.sign_in(DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD)
    shopper.open_dashboard()

    assert list(photographer.taken) == [
        "home",
        "catalog",
        "album",
        "checkout",
        "checkout-filled",
        "receipt",
        "declined",
        "sign-in",
        "checkout-signed-in",
        "library",
        "admin-dashboard",
    ]
