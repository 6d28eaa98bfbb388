"""The store owner's pages: an owner signed in, a buyer signed in, and the edit page's forms."""

import pytest

from tests.conftest import PASSWORD, StoreTestApp
from tests.factories import make_owner, make_user


@pytest.fixture
def owner(dbsession):
    return make_owner(dbsession)


@pytest.fixture
def owner_app(app, owner, new_card_token):
    """A browser signed in as the store owner."""
    browser = StoreTestApp(app, new_card_token)
    browser.login(owner.email)
    return browser


@pytest.fixture
def buyer_app(app, dbsession, new_card_token):
    """A browser signed in as a buyer (no owner rights)."""
    make_user(dbsession, "buyer@example.com", PASSWORD, confirmed=True)
    browser = StoreTestApp(app, new_card_token)
    browser.login("buyer@example.com")
    return browser


def edit_form(browser, album_id, form_id):
    """A form of the album's edit page, as the browser sees it."""
    return browser.get(f"/admin/albums/{album_id}/edit").forms[form_id]
