"""Accounts and the store owner in a real browser (issue 6): a signed-in buyer pays with their address
filled in for them and downloads from their library; the owner makes an album in the admin, with a cover
and a download file, and publishes it; the owner refunds a purchase.

The shared fixtures (conftest.py) fail a test whose browser logged a JavaScript error or a CSP violation,
asked anything of another origin, or (on a phone, through ``shopper.arrived``) scrolled sideways.
"""

import re
import zipfile

import pytest
from sqlalchemy import select

from album_store.models import Album, Purchase
from tests.browser.shopper import CARD_OK
from tests.conftest import PASSWORD
from tests.factories import give_album_file, image_bytes, make_album, make_owner, make_user

pytestmark = [pytest.mark.browser, pytest.mark.stripe]
expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (make install-test)").expect

on_desktop_and_phone = pytest.mark.parametrize("device", ["desktop", "phone"], indirect=True)


def purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


def flash(shopper):
    return " ".join(shopper.page.locator("main .alert--info[role=status]").all_inner_texts())


def submit(shopper, button, name):
    """Press a form's button; the store answers with a 303 to the next page."""
    with shopper.page.expect_navigation(wait_until="load") as navigation:
        button.click()
    response = navigation.value
    assert response is not None and response.status == 200, (response and response.status, shopper.page.url)
    shopper.arrived(name)
    return response


@pytest.fixture
def blue_skies(dbsession, files_dir):
    album = make_album(dbsession, slug="blue-skies", title="Blue Skies", artist="The Paper Lanterns", price_cents=999)
    give_album_file(dbsession, album, files_dir)
    return album


@on_desktop_and_phone
def test_a_signed_in_buyer_pays_with_their_address_and_downloads_from_the_library(shopper, blue_skies, dbsession):
    make_user(dbsession, "ana@example.com", PASSWORD, confirmed=True)
    shopper.sign_in("ana@example.com", PASSWORD)
    assert shopper.page.url.endswith("/library"), shopper.page.url
    shopper.arrived("library-empty")

    shopper.open_catalog()
    shopper.open_album("Blue Skies")
    modal = shopper.open_checkout()
    assert modal.email.input_value() == "ana@example.com"
    expect(modal.email).not_to_be_editable()
    modal.fill(email=None, card=CARD_OK)
    response = modal.pay()

    page = shopper.page
    assert response.status == 200 and re.search(r"/purchases/\d+$", page.url), page.url
    shopper.on_receipt("Blue Skies", shows=("Paid", "$9.99", "Visa ending in 4242", "ana@example.com"))
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.email, purchase.user_id is not None) == ("paid", "ana@example.com", True)

    shopper.open_library()
    item = page.locator(".library__item", has_text="Blue Skies")
    expect(item).to_have_count(1)
    assert "$9.99" in item.locator(".library__meta").inner_text()
    with page.expect_download() as download_info:
        item.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".zip"), download.suggested_filename
    with open(download.path(), "rb") as file:
        assert file.read(2) == b"PK"
    assert zipfile.is_zipfile(download.path())


def test_a_signed_in_buyer_sees_their_nav_and_the_album_they_own_on_the_shared_pages(shopper, blue_skies, dbsession):
    """The album page is the guests' page (cached); static/personal.js fills in what is theirs from
    the personal fragment: the nav, "In your library" with the receipt, and the flash messages."""
    from tests.factories import make_purchase

    user = make_user(dbsession, "ana@example.com", PASSWORD, confirmed=True)
    bought = make_purchase(dbsession, blue_skies, email=user.email, commit=False)
    bought.user_id = user.id
    dbsession.commit()
    make_album(dbsession, slug="other", title="Other Album", price_cents=500)
    shopper.sign_in("ana@example.com", PASSWORD)

    page = shopper.page
    shopper.open_catalog()
    nav = page.locator(".site-nav")
    expect(nav.get_by_role("link", name="Library")).to_be_visible()
    expect(nav.get_by_role("button", name="Sign out")).to_be_visible()
    expect(nav.get_by_role("link", name="Sign in")).to_have_count(0)
    expect(nav.get_by_role("link", name="Admin")).to_have_count(0)

    shopper.open_album("Blue Skies")
    owned = page.locator(".buy-box--owned")
    expect(owned).to_contain_text("In your library")
    expect(owned.get_by_role("link", name="the receipt")).to_have_attribute("href", f"/purchases/{bought.id}")
    expect(page.locator("form.buy-form")).to_have_count(0)

    shopper.visit("/albums/other", "album")
    expect(page.locator("script.stripe-button")).to_have_attribute("data-email", "ana@example.com")
    expect(page.locator(".buy-box--owned")).to_have_count(0)

    # Signing out from the nav personal.js drew: its CSRF token is the session's; the message once.
    submit(shopper, nav.get_by_role("button", name="Sign out"), "home")
    expect(page.locator("#flash .alert--info")).to_have_text("You are signed out.")
    expect(nav.get_by_role("link", name="Sign in")).to_be_visible()
    shopper.visit("/", "home")
    expect(nav.get_by_role("link", name="Sign in")).to_be_visible()
    expect(page.locator("#flash .alert--info")).to_have_count(0)


def test_a_press_on_buy_before_the_fragment_is_in_waits_for_the_buyers_email(shopper, blue_skies, dbsession):
    """The fragment held back by the network: Checkout does not open on the press, and opens with the
    buyer's email once the fragment is in (static/personal.js holds the press, then replays it)."""
    from tests.browser.shopper import CheckoutModal

    make_user(dbsession, "ana@example.com", PASSWORD, confirmed=True)
    shopper.sign_in("ana@example.com", PASSWORD)
    page = shopper.page
    held = []
    page.route("**/account/fragment*", lambda route: held.append(route))
    page.goto(shopper.store_url + "/albums/blue-skies")
    shopper.arrived("album")
    shopper.wait_for_csrf_token()
    page.wait_for_function("() => document.querySelector('#buy-box[aria-busy=true] .stripe-button-el')")
    shopper.buy_button().click()
    page.wait_for_timeout(300)
    expect(page.locator(CheckoutModal.IFRAME)).to_have_count(0)
    assert len(held) == 1, "the fragment was asked for, and is still on its way"
    held[0].continue_()
    modal = CheckoutModal(shopper).wait_until_ready()
    assert modal.email.input_value() == "ana@example.com"
    page.unroute("**/account/fragment*")


@on_desktop_and_phone
def test_the_owner_creates_an_album_with_cover_and_file_and_publishes_it(shopper, dbsession, tmp_path):
    owner = make_owner(dbsession)
    cover = tmp_path / "harbour.png"
    cover.write_bytes(image_bytes("PNG", (400, 400), color=(20, 60, 90)))
    music = tmp_path / "harbour-lights.zip"
    with zipfile.ZipFile(music, "w") as archive:
        archive.writestr("Hollow Pines - Harbour Lights/01 Low Water.wav", b"RIFF" + b"\x01" * 2000)

    shopper.sign_in(owner.email, PASSWORD)
    page = shopper.page
    shopper.visit("/admin/albums/new", "admin-album-new")
    assert shopper.heading() == "New album"
    form = page.locator("#album-form")
    form.get_by_label("Title").fill("Harbour Lights")
    form.get_by_label("Artist").fill("Hollow Pines")
    form.get_by_label("Price").fill("12.34")
    form.get_by_label("Year").fill("2025")
    form.get_by_label("Description").fill("Songs from the quay.")
    submit(shopper, form.get_by_role("button", name="Create album"), "admin-album-edit")
    assert re.search(r"/admin/albums/\d+/edit", page.url), page.url
    assert "Harbour Lights" in shopper.heading()
    assert "is created, unpublished" in flash(shopper)
    assert page.locator(".admin-heading .badge").inner_text() == "draft"

    page.locator("#cover-form input[type=file]").set_input_files(str(cover))
    submit(shopper, page.locator("#cover-form").get_by_role("button", name="Upload cover"), "admin-album-cover")
    assert "The new cover is in place." in flash(shopper)
    assert page.locator("section#cover-section img.cover").get_attribute("src").startswith("/covers/")

    page.locator("#file-form input[type=file]").set_input_files(str(music))
    submit(shopper, page.locator("#file-form").get_by_role("button", name="Upload file"), "admin-album-file")
    assert "The download file is in place." in flash(shopper)
    assert "Buyers download a ZIP" in page.locator("section#file-section").inner_text()

    submit(shopper, page.locator("#publish-form").get_by_role("button", name="Publish"), "admin-album-published")
    assert "is on sale" in flash(shopper)
    assert page.locator(".admin-heading .badge").inner_text() == "published"

    dbsession.expire_all()
    album = dbsession.scalars(select(Album).where(Album.title == "Harbour Lights")).one()
    assert (album.price_cents, album.is_published, album.slug) == (1234, True, "harbour-lights")

    shopper.leave()  # the catalog as a stranger sees it
    shopper.open_catalog()
    card = page.locator(".album-card", has_text="Harbour Lights")
    expect(card).to_have_count(1)
    assert card.locator(".price").inner_text() == "$12.34"
    assert card.locator("img.cover").get_attribute("src").startswith("/covers/")
    shopper.open_album("Harbour Lights")
    cover_image = page.locator("img.album__cover")
    expect(cover_image).to_have_attribute("src", re.compile(r"^/covers/"))
    cover_image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=cover_image.element_handle())
    assert "$12.34" in page.locator(".buy-box__price").inner_text()


@on_desktop_and_phone
def test_the_owner_refunds_a_purchase(shopper, blue_skies, testapp, dbsession, stripe_client):
    testapp.buy("blue-skies", email="buyer@example.com", status=303)
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid"
    owner = make_owner(dbsession)

    shopper.sign_in(owner.email, PASSWORD)
    page = shopper.page
    shopper.visit(f"/admin/purchases/{purchase.id}", "admin-purchase")
    assert shopper.heading() == f"Purchase {purchase.id}"
    assert page.locator(".admin-heading .badge").first.inner_text() == "paid"

    submit(shopper, page.get_by_role("link", name="Refund…"), "admin-refund")
    assert shopper.heading() == f"Refund purchase {purchase.id}?"
    assert "buyer@example.com" in page.locator("main").inner_text()
    submit(shopper, page.get_by_role("button", name="Yes, refund $9.99"), "admin-refunded")

    assert page.url.endswith(f"/admin/purchases/{purchase.id}"), page.url
    assert "Refunded in full." in flash(shopper)
    assert page.locator(".admin-heading .badge").first.inner_text() == "refunded"
    details = " ".join(page.locator(".admin-details").inner_text().split())
    assert "Refunded $9.99" in details
    expect(page.get_by_role("link", name="Refund…")).to_have_count(0)

    [refunded] = purchases(dbsession)
    assert (refunded.status, refunded.amount_refunded_cents) == ("refunded", 999)
    charge = stripe_client.v1.charges.retrieve(refunded.stripe_charge_id)
    assert (charge.refunded, charge.amount_refunded) == (True, 999)


def test_the_owner_finds_the_upload_fields_by_their_labels(shopper, dbsession):
    owner = make_owner(dbsession)
    album = make_album(dbsession, slug="harbour-lights", title="Harbour Lights", is_published=False)
    shopper.sign_in(owner.email, PASSWORD)
    shopper.visit(f"/admin/albums/{album.id}/edit", "admin-album-edit")
    page = shopper.page
    assert page.evaluate("() => document.querySelectorAll('[id=cover], [id=file]').length") == 2, "each id once"
    expect(page.get_by_label("Cover image")).to_have_attribute("type", "file", timeout=2_000)
    expect(page.get_by_label("Download file")).to_have_attribute("type", "file", timeout=2_000)


def test_a_form_sent_back_with_a_problem_takes_the_keyboard_to_the_first_one(page, live_store, watch):
    watch.expect_status(400)
    page.goto(f"{live_store.url}/account/register")
    page.fill("#email", "not an address")
    page.fill("#password", "x")
    page.fill("#confirm", "y")
    with page.expect_navigation():
        page.press("#confirm", "Enter")
    assert page.evaluate("document.activeElement.className") == "error-summary", "the problems, first"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the first problem's link: to its field
    assert page.evaluate("document.activeElement.id") == "email"
    assert page.evaluate("document.activeElement.getAttribute('aria-invalid')") == "true"


@pytest.mark.parametrize("device", ["phone"], indirect=True)
def test_the_owners_album_list_on_a_phone_keeps_titles_readable(shopper, dbsession):
    """Titles ran a word a line beside their status badges; now they keep a readable width, and the
    table scrolls in its own box (the page itself does not scroll sideways)."""
    owner = make_owner(dbsession)
    make_album(dbsession, slug="a-long-one", title="A Rather Long Album Title For A Phone")
    shopper.sign_in(owner.email, PASSWORD)
    shopper.visit("/admin/albums", "owner's albums on a phone")
    link = shopper.page.get_by_role("link", name="A Rather Long Album Title For A Phone")
    box = link.bounding_box()
    line_height = shopper.page.evaluate("parseFloat(getComputedStyle(document.querySelector('#albums a')).lineHeight)")
    assert box["height"] <= 3 * line_height + 2, f"the title takes {box['height'] / line_height:.1f} lines"


@pytest.mark.parametrize("device", ["phone"], indirect=True)
def test_the_owners_purchase_filters_line_up_on_a_phone(shopper, dbsession):
    owner = make_owner(dbsession)
    shopper.sign_in(owner.email, PASSWORD)
    shopper.visit("/admin/purchases", "owner's purchases on a phone")
    rights = shopper.page.evaluate(
        "Array.from(document.querySelectorAll('.filters select, .filters input:not([type=date]):not([type=hidden])'))"
        ".map(e => Math.round(e.getBoundingClientRect().right))"
    )
    assert len(rights) >= 3 and len(set(rights)) == 1, rights
