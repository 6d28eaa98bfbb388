"""The store as `make cluster` deploys it (devtools/cluster.py), under faults: two store processes and
a worker behind nginx (TLS, its page cache), on PostgreSQL, Redis and S3 (moto), paid through the
Stripe stand-in.

The cluster always runs on a PostgreSQL database of its own, so the module runs once, in the suite's
PostgreSQL pass (``TEST_DATABASE_URL``; `.ci/run`'s second pass), and needs root to make that database
and Debian's nginx and redis-server (`make services`).
"""

import io
import os
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin

import pytest
import requests
from bs4 import BeautifulSoup
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from album_store.models import AlbumFormat, Purchase
from tests.conftest import PASSWORD, standin_only
from tests.factories import make_album, make_owner
from tests.live import form_fields
from tests.paying import shown_price
from tests.services import need

pytestmark = [
    pytest.mark.stripe,
    standin_only,
    pytest.mark.skipif(
        "postgresql" not in os.environ.get("TEST_DATABASE_URL", ""),
        reason="the cluster runs on PostgreSQL: it runs in the suite's PostgreSQL pass (TEST_DATABASE_URL)",
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="the cluster makes its PostgreSQL database as root (as CI runs)"),
]

BUYERS, SECONDS = 32, 30


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    need("nginx", "the cluster's proxy")
    need("redis-server", "the cluster's job queue")
    os.environ["PATH"] = os.environ["PATH"] + ":/usr/sbin"
    from devtools.cluster import Cluster

    # Claims without a sign of life for 3 s count as stuck, so the killed worker's format is taken over soon.
    cluster = Cluster(
        tmp_path_factory.mktemp("cluster"),
        demo=False,
        database="album_store_cluster_test",
        extra_env={"JOBS_STUCK_SECONDS": "3"},
    )
    cluster.start()
    # Every request of this module's own (requests) trusts the cluster's self-signed certificate.
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = str(cluster.certificate)
    try:
        yield cluster
    finally:
        if previous is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous
        cluster.stop()


@pytest.fixture(scope="module")
def db(cluster):
    engine = create_engine(cluster.database_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture(scope="module")
def stripe(cluster):
    import stripe as sdk

    return sdk.StripeClient("sk_test_standin_cluster", base_addresses={"api": cluster.standin.url})


def card_token(stripe):
    card = {"number": "4242424242424242", "exp_month": "12", "exp_year": "2034", "cvc": "123"}
    return stripe.v1.tokens.create(params={"card": card}).id


def buy(base_url, slug, stripe, email):
    """A buyer's browser through nginx: the album page, csrf.js's token, Checkout's token, the POST."""
    browser = requests.Session()
    browser.headers["Origin"] = base_url  # as a browser's POST says where its form came from
    page = browser.get(f"{base_url}/albums/{slug}", timeout=30)
    page.raise_for_status()
    csrf = browser.get(f"{base_url}/csrf-token", timeout=30).json()["token"]
    fields = {
        "csrf_token": csrf,
        "stripeToken": card_token(stripe),
        "stripeTokenType": "card",
        "stripeEmail": email,
        **shown_price(page),
    }
    response = browser.post(f"{base_url}/albums/{slug}/buy", data=fields, allow_redirects=False, timeout=60)
    response.browser = browser  # to follow the receipt as this buyer
    return response


@pytest.fixture(scope="module")
def owner(cluster, db):
    """The store owner's browser, signed in through nginx."""
    make_owner(db, email="owner@example.com")
    browser = requests.Session()
    browser.headers["Origin"] = cluster.url
    login = browser.get(f"{cluster.url}/account/login", timeout=10)
    token = BeautifulSoup(login.text, "html.parser").find("input", attrs={"name": "csrf_token"})["value"]
    signed_in = browser.post(
        f"{cluster.url}/account/login",
        allow_redirects=False,
        timeout=10,
        data={"csrf_token": token, "email": "owner@example.com", "password": PASSWORD, "next": ""},
    )
    assert signed_in.status_code == 303, signed_in.text[:500]
    return browser


def succeeded_charges(stripe):
    return [
        charge
        for charge in stripe.v1.charges.list(params={"limit": 100}).auto_paging_iter()
        if charge.status == "succeeded"
    ]


def test_32_buyers_through_nginx_with_a_store_process_killed_midway(cluster, db, stripe):
    album = make_album(db, slug="rush-hour", price_cents=700)
    statuses, lock, stop = [], threading.Lock(), threading.Event()

    def buyer(number):
        n = 0
        while not stop.is_set():
            n += 1
            try:
                status = buy(cluster.url, "rush-hour", stripe, f"buyer{number}-{n}@example.com").status_code
            except requests.HTTPError as error:  # the album page or the CSRF token
                status = f"GET {error.response.status_code}"
            except requests.RequestException as error:
                status = type(error).__name__
            with lock:
                statuses.append(status)

    with ThreadPoolExecutor(BUYERS) as pool:
        for number in range(BUYERS):
            pool.submit(buyer, number)
        time.sleep(SECONDS / 3)
        cluster.kill("store-1")  # SIGKILL, mid-run: whatever it was doing is left as it was
        killed_at = len(statuses)
        time.sleep(SECONDS / 6)
        cluster.start_store(1)
        time.sleep(SECONDS / 2)
        stop.set()

    print(f"{len(statuses)} checkouts; not paid: {sorted(set(map(str, statuses)) - {'303'})}")
    assert 500 not in statuses and "GET 500" not in statuses, "no buyer ever sees a 500"
    paid_pages = statuses.count(303)
    failed = [status for status in statuses if status != 303]
    # Only the requests the killed process held when it died may fail: nginx answers 502 for one whose
    # response had not begun, and cuts the connection of one whose response it had begun to pass on (the
    # headers sent, the body not finished: requests' ChunkedEncodingError). Every other buyer, on the other
    # process or after the restart, paid.
    assert len(failed) <= BUYERS, (len(failed), failed[:20])
    assert set(failed) <= {502, 504, "GET 502", "GET 504", "ChunkedEncodingError"}, failed
    assert paid_pages > 3 * BUYERS, f"only {paid_pages} purchases in {SECONDS} s (killed after {killed_at})"

    # What the killed process left pending is settled by reconcile (and by webhooks meanwhile).
    settled = cluster.cli("reconcile", "--min-age-minutes", "0", "--search-lag-minutes", "0")
    assert settled.returncode == 0, settled.stdout + settled.stderr
    db.expire_all()
    purchases = db.scalars(select(Purchase).where(Purchase.album_id == album.id)).all()
    paid = {p.stripe_charge_id: p for p in purchases if p.status == "paid"}
    ours = {c.id: c for c in succeeded_charges(stripe) if c.amount == 700}
    assert set(paid) == set(ours), (
        "a paid purchase for each charge, a charge for each paid purchase: none lost, none doubled"
    )
    assert all(p.amount_cents == 700 for p in paid.values())
    assert not [p for p in purchases if p.status == "pending"], "nothing is left pending"
    assert len(paid) >= paid_pages, "every buyer shown a receipt owns the album"


def test_a_price_change_through_one_process_is_seen_at_once_through_every_process_and_nginx(cluster, db, owner):
    album = make_album(db, slug="new-price", price_cents=900)
    anonymous = requests.Session()

    def shown(base):
        page = anonymous.get(f"{base}/albums/new-price", timeout=10)
        page.raise_for_status()
        price = BeautifulSoup(page.text, "html.parser").find(class_="buy-box__price").get_text(strip=True)
        return price, page.headers.get("X-Proxy-Cache") or page.headers.get("X-Page-Cache")

    stores = [f"http://127.0.0.1:{port}" for port in cluster.store_ports]
    for base in [cluster.url, *stores]:
        shown(base)
        assert shown(base) == ("$9.00", "HIT" if base == cluster.url else "hit"), base

    edit = owner.get(f"{cluster.url}/admin/albums/{album.id}/edit", timeout=10)
    action, fields = form_fields(edit, "album-form")
    fields["price"] = "11.00"
    saved = owner.post(f"{cluster.url}{action}", data=fields, allow_redirects=False, timeout=10)
    assert saved.status_code == 303, saved.text[:800]

    for base in [cluster.url, *stores]:
        assert shown(base)[0] == "$11.00", f"{base} still shows the old price"

    # A signed-in visitor goes past nginx's copy (a session cookie), and gets the store's shared page:
    # the same bytes as a guest's; what is theirs comes in the personal fragment, kept by nobody.
    signed_in_page = owner.get(f"{cluster.url}/albums/new-price", timeout=10)
    assert signed_in_page.headers["X-Proxy-Cache"] == "BYPASS"
    assert signed_in_page.content == anonymous.get(f"{cluster.url}/albums/new-price", timeout=10).content
    assert "owner@example.com" not in signed_in_page.text and "Sign out" not in signed_in_page.text
    fragment = owner.get(f"{cluster.url}/account/fragment", params={"album": "new-price"}, timeout=10)
    assert fragment.json()["email"] == "owner@example.com" and "no-store" in fragment.headers["Cache-Control"]
    assert anonymous.get(f"{cluster.url}/account/fragment", timeout=10).json() == {"signed_in": False}


def test_a_worker_killed_during_a_transcode_is_restarted_and_each_format_is_made_once(
    cluster, db, owner, stripe, tmp_path
):
    from tests.audio_files import make_audio

    album = make_album(db, slug="long-takes", tracks=2, price_cents=800)
    edit_page = f"{cluster.url}/admin/albums/{album.id}/edit"
    for number, track in enumerate(album.tracks):
        edit = BeautifulSoup(owner.get(edit_page, timeout=10).text, "html.parser")
        form = edit.find("form", id=f"audio-form-{track.id}")
        master = make_audio(tmp_path / f"take{number}.wav", seconds=40, frequency=330 + 110 * number).read_bytes()
        uploaded = owner.post(
            cluster.url + form["action"],
            allow_redirects=False,
            timeout=60,
            data={"csrf_token": form.find("input", attrs={"name": "csrf_token"})["value"], "preview_start": "0"},
            files={"audio": (f"take{number}.wav", master, "audio/wav")},
        )
        assert uploaded.status_code == 303, uploaded.text[:800]

    def formats():
        db.expire_all()
        return {row.format: row for row in db.scalars(select(AlbumFormat).where(AlbumFormat.album_id == album.id))}

    deadline = time.monotonic() + 120
    while not any(row.state == "working" and row.progress > 0 for row in formats().values()):
        assert time.monotonic() < deadline, (
            f"no format was being made: {[(r.format, r.state) for r in formats().values()]}"
        )
        time.sleep(0.05)
    cluster.kill("worker")  # mid-transcode: its job leaves with it
    left = {name: row.state for name, row in formats().items()}
    assert "working" in left.values(), left

    cluster.start_worker()  # as systemd's Restart=always would
    deadline = time.monotonic() + 180
    while True:
        rows = formats()
        if len(rows) == 5 and all(row.state == "ready" for row in rows.values()):
            break
        assert not [row for row in rows.values() if row.state == "failed"], {n: r.error for n, r in rows.items()}
        assert time.monotonic() < deadline, {name: (row.state, row.progress) for name, row in rows.items()}
        time.sleep(0.25)
    log = (cluster.root / "logs" / "worker.log").read_text()
    made = {name: log.count(f"album {album.id}: {name} ZIP made") for name in rows}
    assert made == {name: 1 for name in rows}, f"each format made once: {made}; left by the killed worker: {left}"

    # A buyer downloads one of them from the bucket; after a refund the link is refused.
    paid = buy(cluster.url, "long-takes", stripe, "listener@example.com")
    assert paid.status_code == 303, paid.text[:500]
    receipt = paid.browser.get(urljoin(cluster.url, paid.headers["Location"]), timeout=10)
    links = [a["href"] for a in BeautifulSoup(receipt.text, "html.parser").select("a[href*='/downloads/']")]
    flac = urljoin(cluster.url, next(link for link in links if "format=flac" in link))
    download = requests.get(flac, timeout=60)  # the link works in any browser: it is signed
    assert download.status_code == 200 and download.content[:2] == b"PK", download.status_code
    # From the bucket: the store checked the purchase, then sent the buyer to a short-lived presigned URL.
    assert [r.status_code for r in download.history] == [303]
    assert download.url.startswith(f"http://127.0.0.1:{cluster.s3_port}/album-store/formats/"), download.url
    assert not list((cluster.root / "files").rglob("*.zip")), "nothing of the store's is on the web hosts' disks"
    assert zipfile.ZipFile(io.BytesIO(download.content)).namelist()[:2] == ["01 Song 1.flac", "02 Song 2.flac"]
    purchase = db.scalars(select(Purchase).where(Purchase.email == "listener@example.com")).one()
    page = BeautifulSoup(
        owner.get(f"{cluster.url}/admin/purchases/{purchase.id}/refund", timeout=10).text, "html.parser"
    )
    form = page.find("form", id="refund-form")
    refunded = owner.post(
        cluster.url + form["action"],
        allow_redirects=False,
        timeout=30,
        data={"csrf_token": form.find("input", attrs={"name": "csrf_token"})["value"], "confirm": "refund"},
    )
    assert refunded.status_code == 303, refunded.text[:500]
    assert requests.get(flac, timeout=60).status_code == 410
