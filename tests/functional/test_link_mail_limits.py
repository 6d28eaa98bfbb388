"""Forms that mail a link (confirm an address, reset a password, a free download) are limited per
address and per client, in the database, so no one can flood a mailbox (50 reset requests sent 50
mails), and the limit holds for requests in parallel on several processes."""

import pytest
from sqlalchemy import func, select

from album_store.models import LinkMail
from album_store.services.mail import LINK_MAILS_PER_ADDRESS, LINK_MAILS_PER_CLIENT
from tests.conftest import PASSWORD, StoreTestApp
from tests.factories import make_user
from tests.live import post_at_once

pytestmark = pytest.mark.stripe


def ask_reset(browser, email):
    csrf = browser.form_csrf_token("/account/reset")
    return browser.post("/account/reset", {"csrf_token": csrf, "email": email}, status=303).follow()


def test_fifty_reset_requests_send_three_mails_and_answer_the_same_each_time(testapp, dbsession, outbox):
    make_user(dbsession, "ana@example.com", PASSWORD)
    answers = {ask_reset(testapp, "ana@example.com").html.find(class_="alert").text for _ in range(50)}
    assert len(answers) == 1, "the answer never says whether a mail went out"
    assert [m.recipients for m in outbox] == [["ana@example.com"]] * LINK_MAILS_PER_ADDRESS


def test_one_client_registering_many_addresses_sends_at_most_its_share_of_confirmations(app, dbsession, outbox):
    browser = StoreTestApp(app)
    for n in range(LINK_MAILS_PER_CLIENT + 5):
        fresh = StoreTestApp(app)  # a new browser each time, from the same client address
        fresh.register(f"someone{n}@example.com")
    assert len(outbox) == LINK_MAILS_PER_CLIENT
    assert browser.get("/").status_int == 200


def test_the_limit_holds_for_parallel_requests_on_two_processes(live_stores, dbsession):
    make_user(dbsession, "target@example.com", PASSWORD)
    answers = post_at_once([live_stores(), live_stores()], "/account/reset", {"email": "target@example.com"})
    assert set(answers) == {303}
    dbsession.expire_all()
    assert (
        dbsession.scalar(select(func.count()).select_from(LinkMail).where(LinkMail.email == "target@example.com"))
        == LINK_MAILS_PER_ADDRESS
    )
