"""One charge per checkout, against live waitress processes (not WebTest), a process killed between
the charge and the commit, and an owner's change seen at once by another process's page cache. Runs
on PostgreSQL too when TEST_DATABASE_URL points there."""

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests
from bs4 import BeautifulSoup

from tests.conftest import PASSWORD, standin_only
from tests.factories import make_album, make_owner
from tests.live import all_purchases, browser_session, form_fields, post_at_once
from tests.stripe_reads import charges_for

pytestmark = pytest.mark.stripe


def succeeded_charges(stripe_client, purchase):
    return [charge for charge in charges_for(stripe_client, purchase) if charge.status == "succeeded"]


@standin_only
def test_three_identical_posts_at_once_on_two_processes_make_one_charge(
    live_stores, dbsession, new_card_token, stripe_client, faults
):
    make_album(dbsession, slug="rush", price_cents=1100)
    first, second = live_stores(), live_stores()
    session, csrf = browser_session(first, "rush")
    fields = {
        "csrf_token": csrf,
        "stripeToken": new_card_token(),
        "stripeTokenType": "card",
        "stripeEmail": "fast@example.com",
        **session.shown,
    }
    # The three leave together (a barrier), and Stripe answers the first charge slowly, so the others
    # arrive while it is in flight: the race really happens, on SQLite as on PostgreSQL.
    faults.inject(count=1, status=0, when="before", delay=1.0, path_prefix="/v1/charges", method="POST")
    barrier = threading.Barrier(3)

    def post(store):
        # The same browser (cookie) posting the same checkout, as a double click and a retry would.
        barrier.wait()
        return requests.post(
            f"{store.url}/albums/rush/buy", data=fields, cookies=session.cookies, allow_redirects=False, timeout=60
        )

    with ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(post, [first, second, first]))

    assert [r.status_code for r in responses] == [303, 303, 303], [r.text[:300] for r in responses]
    assert len({urlsplit(r.headers["Location"]).path for r in responses}) == 1, "one receipt for all three"
    [purchase] = all_purchases(dbsession)
    assert purchase.status == "paid" and purchase.amount_cents == 1100
    assert [c.id for c in succeeded_charges(stripe_client, purchase)] == [purchase.stripe_charge_id]


@standin_only
def test_a_process_killed_between_charge_and_commit_is_settled_by_reconcile(
    live_stores, dbsession, faults, new_card_token, stripe_client, ini_file
):
    from album_store.cli import main as cli

    make_album(dbsession, slug="killed", price_cents=1300)
    store = live_stores()
    session, csrf = browser_session(store, "killed")
    # Stripe makes the charge, then its answer takes 30 s: the process dies while it waits. Only the
    # charge's POST takes the fault: the test's own polling search below must not eat it (it did once,
    # when it ran between the pending purchase's commit and the charge).
    faults.inject(count=1, status=0, when="after", delay=30, path_prefix="/v1/charges", method="POST")
    fields = {
        "csrf_token": csrf,
        "stripeToken": new_card_token(),
        "stripeTokenType": "card",
        "stripeEmail": "killed@example.com",
        **session.shown,
    }
    with ThreadPoolExecutor(1) as pool:
        pending_post = pool.submit(
            requests.post,
            f"{store.url}/albums/killed/buy",
            data=fields,
            cookies=session.cookies,
            allow_redirects=False,
            timeout=60,
        )
        deadline = time.monotonic() + 15
        charged = []
        while not charged and time.monotonic() < deadline:
            time.sleep(0.2)
            pending = all_purchases(dbsession)
            charged = succeeded_charges(stripe_client, pending[0]) if pending else []
        assert charged, ("the charge was never made", pending_post.result() if pending_post.done() else "still waiting")
        store.stop(signal.SIGKILL)
        with pytest.raises(requests.ConnectionError):
            pending_post.result()

    [purchase] = all_purchases(dbsession)
    assert purchase.status == "pending", "the process died before it could record the charge"
    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0"]) == 0
    [purchase] = all_purchases(dbsession)
    assert purchase.status == "paid" and purchase.stripe_charge_id == charged[0].id


# --- the page cache, across processes ----------------------------------------------------------
def shown_by(store, slug):
    """An anonymous visitor's GET of the album page on ``store``: (the price shown, served from the cache?)."""
    page = requests.get(f"{store.url}/albums/{slug}", timeout=10)
    page.raise_for_status()
    price = BeautifulSoup(page.text, "html.parser").find(class_="buy-box__price").get_text(strip=True)
    return price, page.headers.get("X-Page-Cache") == "hit"


def test_a_price_change_reaches_every_process_page_cache_at_once(live_stores, dbsession):
    album = make_album(dbsession, slug="everywhere", price_cents=999)
    owner = make_owner(dbsession)
    first, second = (
        live_stores(**{"store.page_cache_seconds": "300"}),
        live_stores(**{"store.page_cache_seconds": "300"}),
    )
    for store in (first, second):
        shown_by(store, "everywhere")
        assert shown_by(store, "everywhere") == ("$9.99", True), "both processes keep the page"

    # The owner raises the price through the first process, as in the browser.
    owner_browser = requests.Session()
    login = owner_browser.get(f"{first.url}/account/login", timeout=10)
    token = BeautifulSoup(login.text, "html.parser").find("input", attrs={"name": "csrf_token"})["value"]
    fields = {"csrf_token": token, "email": owner.email, "password": PASSWORD, "next": ""}
    signed_in = owner_browser.post(f"{first.url}/account/login", data=fields, allow_redirects=False, timeout=10)
    assert signed_in.status_code == 303, signed_in.text[:500]
    edit = owner_browser.get(f"{first.url}/admin/albums/{album.id}/edit", timeout=10)
    edit.raise_for_status()
    action, fields = form_fields(edit, "album-form")
    fields["price"] = "12.00"
    saved = owner_browser.post(first.url + action, data=fields, allow_redirects=False, timeout=10)
    assert saved.status_code == 303, saved.text[:500]

    assert shown_by(second, "everywhere") == ("$12.00", False), "the other process's very next GET"
    assert shown_by(first, "everywhere") == ("$12.00", False)
    assert shown_by(second, "everywhere") == ("$12.00", True), "and it is cached again"

    # Another host changes it in the database: both processes' next GET show it.
    dbsession.refresh(album)
    album.price_cents = 1500
    dbsession.commit()
    assert [shown_by(store, "everywhere")[0] for store in (second, first)] == ["$15.00", "$15.00"]


def test_sixteen_parallel_wrong_passwords_on_two_processes_get_five_checked(live_stores, dbsession):
    """The sign-in slowdown holds in parallel: each attempt is recorded before its password is checked
    and counted after, one at a time per address, so 16 guesses at once (2 processes × 4 threads)
    have no more than the 5 free failures checked; the rest are told to wait (429)."""
    from album_store.models import LoginAttempt
    from album_store.services.accounts import FREE_FAILURES_PER_ACCOUNT
    from tests.factories import make_user

    make_user(dbsession, "target@example.com", PASSWORD)
    answers = post_at_once(
        [live_stores(), live_stores()],
        "/account/login",
        {"email": "target@example.com", "password": "not the password 123", "next": ""},
    )
    assert sorted(set(answers)) == [401, 429], answers
    assert answers.count(401) == FREE_FAILURES_PER_ACCOUNT, answers
    dbsession.expire_all()
    assert dbsession.query(LoginAttempt).filter_by(email="target@example.com").count() == FREE_FAILURES_PER_ACCOUNT, (
        "a throttled attempt is not counted as a failure"
    )
