"""A shopper names the price in a real browser (legacy Checkout's flow, the default): the album page's
amount field, prefilled with the suggestion, opens Checkout's window for the amount typed
(``StripeCheckout.configure(...).open({amount})``), and exactly that amount is charged."""

import re

import pytest
from sqlalchemy import select

from album_store.models import Purchase
from tests.browser.shopper import CARD_OK
from tests.factories import make_album

pytestmark = [pytest.mark.browser, pytest.mark.stripe]


def purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


@pytest.fixture
def copper_and_salt(dbsession):
    return make_album(
        dbsession,
        slug="copper-and-salt",
        title="Copper & Salt",
        artist="Hollow Pines",
        price_cents=799,
        minimum_cents=500,
    )


@pytest.mark.parametrize("device", ["desktop", "phone"], indirect=True)
def test_a_shopper_pays_more_than_the_minimum_and_is_charged_what_they_chose(
    shopper, copper_and_salt, dbsession, stripe_client
):
    shopper.open_catalog()
    shopper.open_album("Copper & Salt")
    page = shopper.page
    field = page.get_by_label(re.compile(r"^Your price"))
    assert field.input_value() == "7.99", "prefilled with the suggested amount"
    assert "At least $5.00." in page.locator("#amount-terms").inner_text()

    # Under the minimum: the page says so, and no card is asked for.
    shopper.choose_amount("3")
    page.locator("#choose-pay").click()
    assert shopper.amount_error() == "The least you can pay for this album is $5.00."
    assert page.locator(shopper_modal_iframe()).count() == 0

    shopper.choose_amount("12.50")
    modal = shopper.buy_at_chosen_amount()
    assert modal.frame.locator("#sc-amount").inner_text() == "$12.50"
    assert modal.pay_button.inner_text() == "Pay $12.50"
    modal.fill(email="ana@example.com", card=CARD_OK)
    response = modal.pay()

    assert response.status == 200 and re.search(r"/purchases/\d+$", page.url), page.url
    shopper.on_receipt("Copper & Salt", shows=("$12.50",))
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.amount_cents, purchase.minimum_cents) == ("paid", 1250, 500)
    assert stripe_client.v1.charges.retrieve(purchase.stripe_charge_id).amount == 1250


def shopper_modal_iframe():
    from tests.browser.shopper import CheckoutModal

    return CheckoutModal.IFRAME
