"""Who sees a receipt (services/receipts.py) across signing in and out: the browser that bought keeps
its receipts when its buyer signs in (security.py clears the rest of the session), and a receipt
stays its buyer's, never the next account's to use that browser."""

import pytest

from tests.conftest import PASSWORD, StoreTestApp
from tests.factories import make_album, make_user

pytestmark = pytest.mark.stripe


def test_a_guests_receipt_is_still_theirs_after_signing_in_and_not_the_next_accounts(testapp, dbsession):
    make_album(dbsession, slug="kept")
    make_user(dbsession, "ana@example.com", PASSWORD)
    make_user(dbsession, "bo@example.com", PASSWORD)
    receipt = testapp.buy("kept", email="guest@example.com", status=303).location
    assert testapp.get(receipt).status_int == 200

    testapp.login("ana@example.com")
    assert testapp.get(receipt).status_int == 200, "signing in keeps the receipts this browser may see"

    testapp.logout()  # signing out keeps nothing of the session
    testapp.login("bo@example.com")
    testapp.get(receipt, status=404)
    StoreTestApp(testapp.app).get(receipt, status=404)
