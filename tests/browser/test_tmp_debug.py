from tests.factories import make_album

def test_debug(shopper, watch, dbsession):
    make_album(dbsession, slug="blue-skies", title="Blue Skies", price_cents=999)
    shopper.open_catalog(); shopper.open_album("Blue Skies")
    modal = shopper.open_checkout()
    shopper.page.screenshot(path="/tmp/vp.png")
    shopper.page.screenshot(path="/tmp/fp.png", full_page=True)
    shopper.page.wait_for_timeout(500)
    shopper.page.screenshot(path="/tmp/vp2.png")
    print(modal.frame.locator("#sc-dialog").bounding_box())
