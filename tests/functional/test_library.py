"""The library: what a buyer owns, whether they bought signed in or as a guest who confirmed later."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from album_store.models import Purchase, User
from album_store.models.meta import utcnow
from tests.conftest import PASSWORD, StoreTestApp
from tests.factories import links_in, make_album, make_user
from tests.paying import shown_price

pytestmark = pytest.mark.stripe


def purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


def library_titles(browser):
    page = browser.get("/library")
    return [h.text for h in page.html.find_all(class_="library__title")]


def confirm_link(outbox, email):
    [link] = [url for m in outbox if m.recipients == [email] for url in links_in(m) if "/account/confirm/" in url]
    return link.replace("http://localhost", "")


def test_a_guest_buys_then_confirms_an_account_and_finds_the_album_in_their_library(testapp, app, dbsession, outbox):
    make_album(dbsession, slug="blue-skies", title="Blue Skies")
    testapp.buy("blue-skies", email="Ana@Example.com", status=303)
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid" and purchase.user_id is None

    later = StoreTestApp(app)  # another day, another browser
    later.register("ana@example.com")
    assert library_titles(later) == [], "not before the address is confirmed"

    page = later.get(confirm_link(outbox, "ana@example.com"), status=303).follow()
    assert "1 album you bought with it joined your library" in page.text
    assert library_titles(later) == ["Blue Skies"]
    user = dbsession.scalars(select(User)).one()
    assert purchases(dbsession)[0].user_id == user.id
    later.get(f"/purchases/{purchase.id}", status=200)  # the receipt through the account now


def test_typing_someone_elses_address_claims_none_of_their_albums(testapp, app, dbsession, outbox):
    make_album(dbsession, slug="private", title="Private Album")
    impostor = StoreTestApp(app)
    impostor.register("ana@example.com")  # not Ana: the confirmation link goes to Ana's mailbox
    testapp.buy("private", email="ana@example.com", status=303)  # Ana, as a guest
    assert purchases(dbsession)[0].user_id is None
    assert library_titles(impostor) == []
    impostor.get(f"/purchases/{purchases(dbsession)[0].id}", status=404)


def test_a_guest_purchase_with_a_confirmed_address_joins_that_library_at_once(testapp, app, dbsession):
    make_album(dbsession, slug="later", title="Later Album")
    user = make_user(dbsession, "ana@example.com", PASSWORD, confirmed=True)
    testapp.buy("later", email="ANA@example.com", status=303)
    assert purchases(dbsession)[0].user_id == user.id
    owner = StoreTestApp(app)
    owner.login("ana@example.com")
    assert library_titles(owner) == ["Later Album"]


def test_checkout_prefills_the_email_only_for_a_signed_in_buyer(testapp, dbsession):
    """The album page is the shared one, with no data-email; static/personal.js sets it on Checkout's
    button from the fragment, which names the buyer only while they are signed in."""
    make_album(dbsession, slug="prefill")
    guest_page = testapp.get("/albums/prefill")
    assert not guest_page.html.find("script", class_="stripe-button").has_attr("data-email")
    assert testapp.get("/account/fragment", {"album": "prefill"}).json == {"signed_in": False}

    make_user(dbsession, "ana@example.com", PASSWORD)
    testapp.login("ana@example.com")
    page = testapp.get("/albums/prefill")
    assert page.body == guest_page.body
    assert testapp.get("/account/fragment", {"album": "prefill"}).json["email"] == "ana@example.com"

    testapp.logout()
    assert testapp.get("/account/fragment", {"album": "prefill"}).json["signed_in"] is False


def test_a_signed_in_purchase_belongs_to_the_buyer_and_uses_their_address(testapp, dbsession):
    make_album(dbsession, slug="mine", title="Mine")
    user = make_user(dbsession, "ana@example.com", PASSWORD)  # not even confirmed: signed in is enough
    testapp.login("ana@example.com")
    testapp.buy("mine", email="someone-else@example.com", status=303)
    [purchase] = purchases(dbsession)
    assert (purchase.user_id, purchase.email) == (user.id, "ana@example.com")
    assert library_titles(testapp) == ["Mine"]


def test_the_library_lists_owned_albums_newest_first_with_receipt_and_download(testapp, dbsession):
    for slug, title in (("first", "First Album"), ("second", "Second Album"), ("third", "Third Album")):
        make_album(dbsession, slug=slug, title=title)
    make_user(dbsession, "ana@example.com", PASSWORD)
    testapp.login("ana@example.com")
    for slug in ("first", "second", "third"):
        testapp.buy(slug, status=303)
    first, second, third = purchases(dbsession)
    # Bought on different days; the second most recently.
    for purchase, days_ago in ((first, 3), (second, 1), (third, 2)):
        dbsession.execute(
            update(Purchase).where(Purchase.id == purchase.id).values(paid_at=utcnow() - timedelta(days=days_ago))
        )
    dbsession.execute(update(Purchase).where(Purchase.id == first.id).values(status="refunded"))
    dbsession.commit()

    page = testapp.get("/library")
    assert [h.text for h in page.html.find_all(class_="library__title")] == ["Second Album", "Third Album"]
    items = page.html.find_all(class_="library__item")
    assert items[0].find("a", string="Receipt")["href"] == f"/purchases/{second.id}"


def test_an_owned_album_says_in_your_library_instead_of_offering_a_second_copy(testapp, dbsession, stripe_client):
    make_album(dbsession, slug="owned", title="Owned Album")
    make_user(dbsession, "ana@example.com", PASSWORD)
    testapp.login("ana@example.com")
    csrf = testapp.csrf_token("owned")
    stale_page = shown_price(testapp.get("/albums/owned"))  # a second tab, opened before buying
    testapp.buy("owned", status=303)

    # The shared page still has the buy box; the fragment says it is owned, and personal.js shows
    # "In your library" with the receipt in its place (tests/browser/test_accounts_and_owner.py).
    owned = testapp.get("/account/fragment", {"album": "owned"}).json["owned"]
    assert owned["receipt"] == f"/purchases/{purchases(dbsession)[0].id}" and owned["paid_on"]
    assert "In your library" not in testapp.get("/albums/owned").text

    # A stale page's button posted anyway: refused before any charge.
    token = testapp.new_card_token()
    fields = {
        "stripeToken": token,
        "stripeTokenType": "card",
        "stripeEmail": "ana@example.com",
        "csrf_token": csrf,
        **stale_page,
    }
    refused = testapp.post("/albums/owned/buy", fields, status=409)
    assert "already in your library" in refused.text and "nothing was charged" in refused.text
    assert len(purchases(dbsession)) == 1

    # A guest can still buy it as a gift for someone else (signed out, with their address).
    testapp.logout()
    assert testapp.get("/albums/owned").html.find("script", class_="stripe-button")


def test_the_library_needs_a_signed_in_buyer(testapp, dbsession):
    make_user(dbsession, "ana@example.com", PASSWORD)
    assert "/account/login" in testapp.get("/library", status=303).location
    assert testapp.login("ana@example.com", next="/library").location == "http://localhost/library"
