"""`make bench`: the store's pages against a bare Pyramid view, and every target of issue 18.

For each catalog size: seed a throwaway SQLite database (or BENCH_DATABASE_URL), serve the store
with production.ini's settings on waitress, serve a bare ``Response("ok")`` view with the same
server settings and logging (production.ini's whole [server:main] and its [loggers]: threads,
connection limit, the lot) in the same layout (one waitress process each), and drive both with wrk
at 16 connections, alternating round by round; each ratio is printed with its min–max over the
rounds (the machine's noise). Then: the checkout POST one buyer at a time, interleaved with the
stand-in's own charge (on SQLite, and on PostgreSQL when BENCH_DATABASE_URL is set), 32 buyers at
once (paid = charged), the admin dashboard over 100,000 and 1,000,000 purchases, the worker's memory
over a long run, and the cluster's pages through nginx. Prints the tables and every target with its
figure and met/missed (bench/targets.py), and writes them to bench/RESULTS.md.

    python -m bench.run [--quick] [--dry-run] [--sizes 100,10000] [--seconds 5] [--rounds 3]
                        [--memory-seconds 600] [--dashboard-purchases 100000,1000000] [--no-cluster]
"""

import argparse
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import requests
import stripe
from sqlalchemy import create_engine, event, func, select

from bench.seed import BENCH_USER, seed
from bench.targets import (
    FRAGMENT,
    MEMORY_GROWTH_LIMIT,
    NGINX_CACHED,
    NGINX_SIGNED_IN,
    RENDERED,
    SIGNED_IN,
    fake_results,
    ratio_text,
    target_lines,
)

ROOT = Path(__file__).resolve().parent.parent
SHOWN_FIELD = re.compile(r'<input type="hidden" name="(shown_[a-z]+)" value="([^"]*)"')
CONNECTIONS = 16


def production_ini():
    return (ROOT / "production.ini").read_text()


def store_app_section(page_cache_seconds=None):
    """production.ini's [app:main], but with cookies usable over the benchmark's plain http."""
    production = production_ini()
    section = production[production.index("[app:main]") : production.index("[alembic]")]
    section = re.sub(r"^store.secure_cookies\s*=.*$", "store.secure_cookies = false", section, flags=re.M)
    if page_cache_seconds is not None:
        section += f"store.page_cache_seconds = {page_cache_seconds}\n"
    return section


BARE_APP = "[app:main]\nuse = call:bench.bare:make_app\n"


def server_ini(tmp, name, app_section, port, threads=None):
    """An ini with production.ini's [server:main] (threads, connection limit, everything) and its
    logging ([loggers] to the end: waitress's "task queue depth" warnings are printed as in
    production), listening on ``port``. The store and the bare view get the very same text
    (``threads``: the layout stage's other thread counts, for both alike)."""
    production = production_ini()
    server = production[production.index("[server:main]") :]
    server = re.sub(r"^listen\s*=.*$", f"listen = 127.0.0.1:{port}", server, flags=re.M)
    if threads is not None:
        server = re.sub(r"^threads\s*=.*$", f"threads = {threads}", server, flags=re.M)
    path = tmp / f"{name}.ini"
    path.write_text(app_section + "\n" + server)
    return path


def server_settings():
    """What the benchmark tells about the layout: production.ini's waitress settings."""
    production = production_ini()
    section = production[production.index("[server:main]") : production.index("[loggers]")]
    settings = dict(re.findall(r"^(\w+)\s*=\s*(.*)$", section, re.M))
    return (
        f"one waitress process per server, threads = {settings.get('threads', '4 (default)')}, "
        f"connection_limit = {settings.get('connection_limit', '100 (waitress default)')}, "
        f"backlog = {settings.get('backlog', '1024 (default)')}, production.ini's logging"
    )


def _server_class():
    from devtools.pserve import Pserve

    class Server(Pserve):
        """The benchmark's ``pserve`` (devtools/pserve.py, as the test suite's live stores)."""

        def __init__(self, ini, env, log):
            super().__init__(ini, log, env=env, cwd=ROOT, ready_path="/", timeout=60)

        def rss_mib(self):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
            return float("nan")

    return Server


def start_server(tmp, name, app_section, env, threads=None):
    from devtools.pserve import free_port

    return _server_class()(server_ini(tmp, name, app_section, free_port(), threads), env, tmp / f"{name}.log")


LAYOUT_THREADS = (2, 4, 8)


def run_layout(args, tmp, env, slug):
    """One waitress process with 2, 4 and 8 threads, the store and the bare view alike: a rendered
    album page (the page cache off) and a kept one, each against the bare view on the same layout."""
    layout = {}
    for threads in LAYOUT_THREADS:
        bare = start_server(tmp, f"bare-threads-{threads}", BARE_APP, env, threads)
        try:
            for label, cache_seconds in (("rendered", 0), ("kept", None)):
                store = start_server(
                    tmp, f"store-threads-{threads}-{label}", store_app_section(cache_seconds), env, threads
                )
                try:
                    path = f"/albums/{slug}"
                    wrk(store.url + path, 1)
                    row = compare(store.url + path, bare.url + "/", args.seconds, args.rounds)
                finally:
                    store.stop()
                layout.setdefault(threads, {})[label] = row
                print(
                    f"  threads = {threads}: album page {label:8} {row['rps']:8.0f} req/s  "
                    f"{ratio_text(row)} of bare ({row['bare']:.0f})",
                    flush=True,
                )
        finally:
            bare.stop()
    return layout


def render_layout(layout):
    if not layout:
        return []
    lines = [
        "",
        "| layout: one waitress process, threads | album page rendered: req/s | of bare (min–max) | "
        "album page kept: req/s | of bare (min–max) | bare view req/s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for threads, rows in sorted(layout.items()):
        rendered, kept = rows["rendered"], rows["kept"]
        lines.append(
            f"| {threads} | {rendered['rps']:,.0f} | {ratio_text(rendered)} | {kept['rps']:,.0f} | "
            f"{ratio_text(kept)} | {rendered['bare']:,.0f} |"
        )
    return lines


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url, seconds, connections=CONNECTIONS, headers=(), script=None):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def percentile(p):
        value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * UNITS[unit]

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": percentile(50), "p99": percentile(99), "errors": int(non2xx.group(1)) if non2xx else 0}


def compare(page, bare, seconds, rounds, headers=()):
    """wrk on the bare view and on the page, alternating for ``rounds``; the ratio of each round."""
    page_runs, ratios, bare_rps = [], [], []
    for _ in range(rounds):  # alternate, so both see the same machine
        ceiling = wrk(bare, seconds)["rps"]
        run = wrk(page, seconds, headers=headers)
        page_runs.append(run)
        bare_rps.append(ceiling)
        ratios.append(run["rps"] / ceiling)
    row = {key: statistics.median(r[key] for r in page_runs) for key in ("rps", "p50", "p99")}
    row.update(
        errors=sum(r["errors"] for r in page_runs),
        bare=statistics.median(bare_rps),
        ratio=statistics.median(ratios),
        ratio_min=min(ratios),
        ratio_max=max(ratios),
    )
    return row


def login(url, verify=True):
    """Sign the benchmark's buyer in; return the Cookie header that carries the session."""
    session = requests.Session()
    session.verify = verify
    session.headers["Origin"] = url  # as a browser's form POST says (checked over HTTPS)
    token = session.get(f"{url}/csrf-token", timeout=10).json()["token"]
    email, password = BENCH_USER
    response = session.post(
        f"{url}/account/login",
        data={"csrf_token": token, "email": email, "password": password},
        allow_redirects=False,
        timeout=10,
    )
    if response.status_code != 303:
        raise RuntimeError(f"benchmark login failed: {response.status_code}")
    return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


def count_statements(app_settings, paths):
    """SQL statements per request for each page, counted in-process with the same settings (the
    page cache off: what a rendered page costs), and one request alone (median of 7)."""
    import webtest

    from album_store import main as make_store

    app = make_store({}, **app_settings)
    engine = app.registry["db_engine"]
    anonymous = webtest.TestApp(app, extra_environ={"HTTP_HOST": "127.0.0.1"})
    signed_in = webtest.TestApp(app, extra_environ={"HTTP_HOST": "127.0.0.1"})
    email, password = BENCH_USER
    signed_in.post(
        "/account/login",
        {"csrf_token": signed_in.get("/csrf-token").json["token"], "email": email, "password": password},
    )
    counts = {}
    statements = []

    def count(*args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    for label, path, private in paths:
        client = signed_in if private else anonymous
        client.get(path)  # warm
        statements.clear()
        client.get(path)
        counts[label] = len(statements)
        timings = []
        for _ in range(7):
            started = time.perf_counter()
            client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
        counts[label + " alone"] = statistics.median(timings)
    event.remove(engine, "before_cursor_execute", count)
    return counts


def store_env(tmp, name, database_url, standin):
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "STRIPE_SECRET_KEY": "sk_test_benchmark_run",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_benchmark_run",
        "STRIPE_WEBHOOK_SECRET": "whsec_benchmark_run",
        "STRIPE_API_BASE": standin.url,
        "STRIPE_CHECKOUT_JS_URL": f"{standin.url}/checkout.js",
        "STORE_SECRET": secrets.token_hex(32),
        "STORE_URL": "http://127.0.0.1",
        # The job queue (receipt mail): queued, and no worker runs it during the benchmark.
        "JOBS_SQLITE_PATH": str(tmp / f"jobs-{name}.sqlite3"),
    }


def fresh_database(database_url, env, **seeding):
    """Migrate an empty database (PostgreSQL's is emptied first) and seed it; return the engine."""
    from album_store.cli import migrate
    from album_store.models import Base
    from album_store.settings import load_settings

    settings = load_settings(
        {"sqlalchemy.url": database_url, "store.require_secrets": "true", "store.secure_cookies": "false"},
        environ=env,
    )
    engine = create_engine(database_url)
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            Base.metadata.drop_all(connection)
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    migrate(settings, engine)
    started = time.monotonic()
    seed(engine, **seeding)
    return engine, settings, time.monotonic() - started


def pages_database(tmp, name):
    return os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp / f'bench-{name}.sqlite'}"


def run_size(size, args, tmp, standin, results):
    database_url = pages_database(tmp, size)
    env = store_env(tmp, size, database_url, standin)
    engine, settings, took = fresh_database(database_url, env, albums=size, purchases=args.purchases)
    print(f"  seeded {size} albums, {size * 10} tracks, {args.purchases} purchases in {took:.1f}s", flush=True)
    from album_store.models import Album

    with engine.connect() as connection:
        published = connection.scalar(select(func.count()).select_from(Album).where(Album.is_published.is_(True)))
        slug = connection.scalar(
            select(Album.slug).where(Album.is_published.is_(True)).order_by(Album.id).offset(size // 2).limit(1)
        )
    engine.dispose()
    deep_page = max(1, (published + 23) // 24 - 1)
    pages = [
        ("/albums", "/albums", False),
        ("/albums?page=N", f"/albums?page={deep_page}", False),
        ("/albums/{slug}", f"/albums/{slug}", False),
        ("/albums" + SIGNED_IN, "/albums", True),
        ("/albums/{slug}" + SIGNED_IN, f"/albums/{slug}", True),
        ("/library" + SIGNED_IN, "/library", True),
        # What static/personal.js asks for on every shared page a signed-in buyer opens.
        (FRAGMENT + SIGNED_IN, f"/account/fragment?album={slug}", True),
    ]
    print(f"  deep page N = {deep_page}; album {slug}", flush=True)
    bare = start_server(tmp, f"bare-{size}", BARE_APP, env)
    try:
        # First with the in-process page cache (production's setting), then rendering every request.
        for variant, cache_seconds in (("", None), (RENDERED, 0)):
            store = start_server(
                tmp, f"store-{size}{'-rendered' if variant else ''}", store_app_section(cache_seconds), env
            )
            try:
                cookie = login(store.url)
                present = []
                for label, path, private in pages:
                    if private and variant:
                        continue  # signed-in pages: measured as production serves them
                    headers = {"Cookie": cookie} if private else {}
                    status = requests.get(store.url + path, headers=headers, timeout=10, allow_redirects=False)
                    if status.status_code != 200:
                        raise RuntimeError(f"{path} answered {status.status_code}")
                    present.append((label, path, private))
                for _, path, private in present:  # warm every page
                    wrk(store.url + path, 1, headers=[f"Cookie: {cookie}"] if private else [])
                for label, path, private in present:
                    headers = [f"Cookie: {cookie}"] if private else []
                    row = compare(store.url + path, bare.url + "/", args.seconds, args.rounds, headers)
                    results["pages"].setdefault(label + variant, {})[size] = row
                    print(
                        f"  {label + variant:34} {row['rps']:8.0f} req/s  p50 {row['p50']:6.2f} ms  "
                        f"p99 {row['p99']:6.2f} ms  {ratio_text(row)} of bare ({row['bare']:.0f})",
                        flush=True,
                    )
            finally:
                store.stop()
    finally:
        bare.stop()
    measured = [(label, path, private) for label, path, private in pages]
    statements = count_statements(
        {**settings, "store.secure_cookies": "false", "store.page_cache_seconds": "0"}, measured
    )
    for label, _, _ in measured:
        for key in (label, label + RENDERED):
            if size in results["pages"].get(key, {}):
                results["pages"][key][size]["sql"] = statements[label]
                results["pages"][key][size]["alone"] = statements[label + " alone"]
    return env, settings, [slug]


def card_token(http, standin_url, publishable_key):
    """A Checkout token for Stripe's test card that succeeds, as checkout.js gets one from the stand-in."""
    return http.post(
        f"{standin_url}/v1/tokens",
        data={
            "key": publishable_key,
            "card[number]": "4242424242424242",
            "card[exp_month]": "12",
            "card[exp_year]": "2034",
            "card[cvc]": "123",
        },
        timeout=30,
    ).json()["id"]


def buy_once(session, store_url, standin_url, publishable_key, slug, email):
    """One buyer's checkout of ``slug``: the page, a Checkout token, then the POST (timed)."""
    page = session.get(f"{store_url}/albums/{slug}", timeout=30)
    # The price the buy form showed (its hidden shown_* fields), as the browser sends it back.
    shown = dict(SHOWN_FIELD.findall(page.text))
    csrf = session.cookies.get("csrf_token") or session.get(f"{store_url}/csrf-token", timeout=30).json()["token"]
    token = card_token(requests, standin_url, publishable_key)
    started = time.perf_counter()
    response = session.post(
        f"{store_url}/albums/{slug}/buy",
        data={"csrf_token": csrf, "stripeToken": token, "stripeTokenType": "card", "stripeEmail": email, **shown},
        allow_redirects=False,
        timeout=60,
    )
    return response.status_code, (time.perf_counter() - started) * 1000


def checkout_run(store_url, standin_url, publishable_key, slugs, buyers, seconds):
    """``buyers`` concurrent shoppers for ``seconds``: page, Checkout token, POST, receipt."""
    deadline = time.monotonic() + seconds

    def shopper(n):
        """This shopper's (latency, status) pairs: each thread counts its own (a shared dict's
        ``+= 1`` from 32 threads loses counts)."""
        session = requests.Session()
        session.headers["Origin"] = store_url
        i, done = n, []
        while time.monotonic() < deadline:
            status, ms = buy_once(
                session, store_url, standin_url, publishable_key, slugs[i % len(slugs)], f"bench{n}@example.com"
            )
            i += buyers
            done.append((ms, status))
        return done

    with ThreadPoolExecutor(buyers) as pool:
        done = [pair for pairs in pool.map(shopper, range(buyers)) for pair in pairs]
    return [ms for ms, _ in done], dict(Counter(status for _, status in done))


def checkout_alone(tmp, name, database_url, standin, seconds):
    """One buyer at a time on a fresh database: each POST beside one charge of the stand-in's own,
    taken in turn, so a stand-in that slows as its charges pile up slows both sides alike."""
    from album_store.models import Album

    env = store_env(tmp, f"checkout-{name}", database_url, standin)
    engine, _, _ = fresh_database(database_url, env, albums=100, purchases=1000)
    with engine.connect() as connection:
        slugs = list(connection.scalars(select(Album.slug).where(Album.is_published.is_(True)).limit(50)))
    engine.dispose()
    store = start_server(tmp, f"store-checkout-{name}", store_app_section(), env)
    client = stripe.StripeClient(env["STRIPE_SECRET_KEY"], base_addresses={"api": standin.url})
    posts, charges, outcomes = [], [], {}
    try:
        session = requests.Session()
        session.headers["Origin"] = store.url
        deadline = time.monotonic() + seconds
        i = 0
        while time.monotonic() < deadline or i < 5:
            started = time.perf_counter()
            client.v1.charges.create(params={"amount": 999, "currency": "usd", "source": "tok_visa"})
            charges.append((time.perf_counter() - started) * 1000)
            status, ms = buy_once(
                session,
                store.url,
                standin.url,
                env["STRIPE_PUBLISHABLE_KEY"],
                slugs[i % len(slugs)],
                f"alone{i}@example.com",
            )
            outcomes[status] = outcomes.get(status, 0) + 1
            if status == 303:
                posts.append(ms)
            i += 1
    finally:
        store.stop()
    if not posts:
        raise RuntimeError(f"no checkout POST succeeded on {name}: {outcomes}")
    run = {
        "post_p50": statistics.median(posts[1:] or posts),  # the first POST warms the route
        "charge_p50": statistics.median(charges[1:] or charges),
        "n": len(posts),
        "outcomes": outcomes,
    }
    print(
        f"  checkout alone on {name}: POST p50 {run['post_p50']:.1f} ms, stand-in charge p50 "
        f"{run['charge_p50']:.1f} ms, {run['n']} POSTs, outcomes {outcomes}",
        flush=True,
    )
    return run


def run_checkout(args, env, settings, standin):
    """The checkout POST on the last catalog size's database under ``args.buyers`` buyers, and what
    was paid counted against what was charged."""
    from album_store.models import Album, Purchase

    engine = create_engine(settings["sqlalchemy.url"])
    with engine.connect() as connection:
        slugs = list(connection.scalars(select(Album.slug).where(Album.is_published.is_(True)).limit(50)))
        before = connection.scalar(select(func.max(Purchase.id))) or 0
    tmp = Path(env["JOBS_SQLITE_PATH"]).parent
    store = start_server(tmp, "store-checkout", store_app_section(), env)
    try:
        latencies, outcomes = checkout_run(
            store.url, standin.url, env["STRIPE_PUBLISHABLE_KEY"], slugs, args.buyers, args.checkout_seconds
        )
    finally:
        store.stop()
    with engine.connect() as connection:
        rows = connection.execute(
            select(Purchase.status, Purchase.stripe_charge_id, Purchase.reference).where(Purchase.id > before)
        ).all()
    engine.dispose()
    client = stripe.StripeClient(env["STRIPE_SECRET_KEY"], base_addresses={"api": standin.url})
    ours = {row.reference for row in rows}
    succeeded = 0
    for charge in client.v1.charges.list(params={"limit": 100}).auto_paging_iter():
        if charge.status == "succeeded" and charge.metadata and charge.metadata.to_dict().get("purchase_ref") in ours:
            succeeded += 1
    paid = sum(1 for row in rows if row.status == "paid")
    return {
        "p50": statistics.median(latencies),
        "p99": sorted(latencies)[int(len(latencies) * 0.99) - 1],
        "requests": len(latencies),
        "outcomes": outcomes,
        "paid": paid,
        "succeeded": succeeded,
        "pending": sum(1 for r in rows if r.status == "pending"),
        "charge_ids_unique": len({r.stripe_charge_id for r in rows if r.stripe_charge_id}) == paid,
    }


def run_dashboard(tmp, purchases, standin, repeats=5):
    """One signed-in owner's ``/admin`` over ``purchases`` purchases (1,000 albums): median of
    ``repeats`` requests, after one that warms it, through waitress with production's settings."""
    database_url = pages_database(tmp, f"dashboard-{purchases}")
    env = store_env(tmp, f"dashboard-{purchases}", database_url, standin)
    engine, _, took = fresh_database(database_url, env, albums=1000, purchases=purchases)
    engine.dispose()
    print(f"  seeded {purchases:,} purchases in {took:.1f}s", flush=True)
    store = start_server(tmp, f"store-dashboard-{purchases}", store_app_section(), env)
    try:
        cookie = login(store.url)
        timings = []
        for i in range(repeats + 1):
            started = time.perf_counter()
            response = requests.get(store.url + "/admin", headers={"Cookie": cookie}, timeout=120)
            if response.status_code != 200:
                raise RuntimeError(f"/admin answered {response.status_code}")
            if i:
                timings.append((time.perf_counter() - started) * 1000)
    finally:
        store.stop()
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    run = {"ms": statistics.median(timings), "n": len(timings), "seed_s": took}
    print(f"  /admin over {purchases:,} purchases: {run['ms']:.0f} ms (median of {run['n']})", flush=True)
    return run


LUA = """
local anonymous = {%(anonymous)s}
local signed_in = {%(signed_in)s}
local cookie = "%(cookie)s"
math.randomseed(os.time())
request = function()
  if math.random() < 0.2 then
    return wrk.format("GET", signed_in[math.random(#signed_in)], {["Cookie"] = cookie})
  end
  return wrk.format("GET", anonymous[math.random(#anonymous)])
end
"""


def run_memory(args, tmp, env, standin):
    """The store (production settings) under wrk for ``args.memory_seconds``: a random album page of
    the whole catalog (the long tail through the page cache), a random catalog page, and signed-in
    pages; the worker's RSS after warm-up (the first fifth, at least one interval) against the end."""
    from album_store.models import Album

    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as connection:
        slugs = list(connection.scalars(select(Album.slug).where(Album.is_published.is_(True))))
    engine.dispose()
    pages = (len(slugs) + 23) // 24
    anonymous = [f"/albums/{s}" for s in slugs] + [f"/albums?page={n}" for n in range(1, pages + 1)]
    store = start_server(tmp, "store-memory", store_app_section(), env)
    try:
        cookie = login(store.url)
        signed_in = ["/library", "/albums", f"/albums/{slugs[len(slugs) // 2]}"]
        script = tmp / "memory.lua"
        script.write_text(
            LUA
            % {
                "anonymous": ", ".join(f'"{p}"' for p in anonymous),
                "signed_in": ", ".join(f'"{p}"' for p in signed_in),
                "cookie": cookie.replace('"', '\\"'),
            }
        )
        interval = min(30, max(5, args.memory_seconds // 20))
        warmup = max(interval, args.memory_seconds // 5)
        samples, elapsed = [], 0
        while elapsed < args.memory_seconds:
            wrk(store.url + "/", interval, script=script)
            elapsed += interval
            samples.append((elapsed, store.rss_mib()))
        warm = next(rss for at, rss in samples if at >= warmup)
        memory = {
            "seconds": elapsed,
            "warmup_seconds": warmup,
            "warm": warm,
            "end": samples[-1][1],
            "peak": max(rss for _, rss in samples),
            "samples": samples,
        }
    finally:
        store.stop()
    print(
        f"  memory: {memory['warm']:.1f} MiB after {warmup} s → {memory['end']:.1f} MiB at {elapsed} s "
        f"(peak {memory['peak']:.1f})",
        flush=True,
    )
    return memory


def run_cluster(args, tmp, standin):
    """`make cluster`'s deployment (devtools/cluster.py: two store processes and a worker behind nginx
    with TLS, on PostgreSQL, Redis and moto's S3): the catalog and an album page through nginx's
    cache, an album page for a signed-in buyer (past nginx's cache), each beside the bare view (one
    waitress process, direct: not the same layout, said so in the table), and the checkout under
    ``args.buyers`` buyers."""
    from album_store.models import Album, Purchase
    from devtools.cluster import Cluster, install_services

    install_services()
    os.environ["PATH"] += ":/usr/sbin"
    cluster = Cluster(tmp / "cluster", demo=False, database="album_store_bench_cluster")
    print("cluster: two store processes and a worker behind nginx…", flush=True)
    bare = start_server(tmp, "bare-cluster", BARE_APP, store_env(tmp, "bare-cluster", "sqlite://", standin))
    try:
        with cluster:
            engine = create_engine(cluster.database_url)
            seed(engine, albums=100, purchases=0)
            with engine.connect() as connection:
                slugs = list(connection.scalars(select(Album.slug).where(Album.is_published.is_(True)).limit(50)))
            engine.dispose()
            os.environ["REQUESTS_CA_BUNDLE"] = str(cluster.certificate)
            wanted = [(NGINX_CACHED[0], "/albums", ()), (NGINX_CACHED[1], f"/albums/{slugs[0]}", ())]
            try:
                cookie = login(cluster.url)
                wanted.append((NGINX_SIGNED_IN, f"/albums/{slugs[0]}", (f"Cookie: {cookie}",)))
            except (RuntimeError, requests.RequestException, ValueError) as error:  # that row: not measured
                print(f"  the signed-in row through nginx: no login ({error})", flush=True)
            rows = {}
            for label, path, headers in wanted:
                wrk(cluster.url + path, 2, headers=headers)  # warm
                rows[label] = compare(cluster.url + path, bare.url + "/", args.seconds, args.rounds, headers)
                print(f"  {label:50} {rows[label]['rps']:8.0f} req/s  {ratio_text(rows[label])} of bare", flush=True)
            latencies, outcomes = checkout_run(
                cluster.url, cluster.standin.url, "pk_test_standin_cluster", slugs, args.buyers, args.checkout_seconds
            )
            settled = cluster.cli("reconcile", "--min-age-minutes", "0", "--search-lag-minutes", "0")
            engine = create_engine(cluster.database_url)
            with engine.connect() as connection:
                statuses = dict(
                    connection.execute(select(Purchase.status, func.count()).group_by(Purchase.status)).all()
                )
            engine.dispose()
            client = stripe.StripeClient("sk_test_standin_cluster", base_addresses={"api": cluster.standin.url})
            succeeded = sum(
                1 for c in client.v1.charges.list(params={"limit": 100}).auto_paging_iter() if c.status == "succeeded"
            )
    finally:
        bare.stop()
    return {
        "pages": rows,
        "latencies": latencies,
        "outcomes": outcomes,
        "statuses": statuses,
        "succeeded": succeeded,
        "reconciled": settled.returncode == 0,
    }


def render_cluster(cluster, args):
    if not cluster:
        return ""
    lines = [
        "",
        "## The cluster (`make cluster`: nginx with TLS → two store processes, PostgreSQL, Redis, S3)",
        "",
        "| page through nginx | req/s | p50 ms | p99 ms | of bare (one waitress process, direct) | non-2xx |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, row in cluster["pages"].items():
        lines.append(
            f"| `{label}` | {row['rps']:,.0f} | {row['p50']:.2f} | {row['p99']:.2f} | {ratio_text(row)} | "
            f"{row['errors']} |"
        )
    latencies = sorted(cluster.get("latencies") or [0.0])
    paid = cluster.get("statuses", {}).get("paid", 0)
    lines += [
        "",
        f"- checkout POST through nginx, {args.buyers} buyers for {args.checkout_seconds}s: {len(latencies)} POSTs, "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {latencies[max(0, int(len(latencies) * 0.99) - 1)]:.1f} ms, "
        f"outcomes {cluster.get('outcomes')}",
        f"- paid purchases {paid} = successful charges {cluster.get('succeeded')}: "
        f"{'none lost, none doubled' if paid == cluster.get('succeeded') else 'MISMATCH'}; "
        f"purchases by status {cluster.get('statuses')}",
        "",
    ]
    return "\n".join(lines)


def render(results, args):
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    sizes = results["sizes"]
    database = "BENCH_DATABASE_URL (PostgreSQL)" if os.environ.get("BENCH_DATABASE_URL") else "SQLite"
    lines = [
        "# Benchmark results" + (" (DRY RUN: made-up figures)" if args.dry_run else ""),
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; commit {commit}",
        f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        f"- store: production.ini settings; database {database}; wrk -t2 -c{CONNECTIONS}, "
        f"{args.seconds}s × {args.rounds} rounds, alternating with the bare view"
        + (" (--quick)" if args.quick else ""),
        f"- server layout, the store and the bare view alike: {server_settings()}",
        "- of bare: the median ratio over the rounds, (min–max) over the rounds: the machine's noise",
        "",
        "| page | albums | req/s | p50 ms | p99 ms | of bare (min–max) | SQL/request (rendered) | "
        "one request alone, rendered (ms) | non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for page, by_size in results["pages"].items():
        for size in sizes:
            row = by_size.get(size)
            if row is None:
                continue
            lines.append(
                f"| `{page}` | {size:,} | {row['rps']:,.0f} | {row['p50']:.2f} | {row['p99']:.2f} | "
                f"{ratio_text(row)} | {row.get('sql', '?')} | {row.get('alone', float('nan')):.1f} | {row['errors']} |"
            )
    lines += ["", '| bare view `Response("ok")` | albums | req/s (median over the rounds of the first row) |']
    lines += ["|---|---:|---:|"]
    first = next(iter(results["pages"].values()), {})
    for size in sizes:
        if size in first:
            lines.append(f"| same layout | {size:,} | {first[size]['bare']:,.0f} |")
    lines += render_layout(results.get("layout"))
    checkout = results.get("checkout")
    if checkout:
        balanced = checkout["paid"] == checkout["succeeded"] and checkout["charge_ids_unique"]
        lines += [
            "",
            f"- checkout POST, {args.buyers} buyers for {args.checkout_seconds}s: {checkout['requests']} POSTs, "
            f"p50 {checkout['p50']:.1f} ms, p99 {checkout['p99']:.1f} ms (queueing on 2 cores shared with the "
            f"buyers and the stand-in), outcomes {checkout['outcomes']}",
            f"- paid purchases {checkout['paid']} = successful charges {checkout['succeeded']}: "
            f"{'none lost, none doubled' if balanced else 'MISMATCH'}; left pending: {checkout['pending']}",
        ]
    memory = results.get("memory")
    if memory and memory.get("samples"):
        lines += [
            f"- worker RSS (MiB) every {memory['samples'][0][0]} s of the memory run: "
            + ", ".join(f"{rss:.0f}" for _, rss in memory["samples"])
        ]
    lines += [
        "",
        "## Issue 18's targets (bench/targets.py)",
        "",
        f"Worker memory is flat when its RSS grows less than {MEMORY_GROWTH_LIMIT:.0%} from the end of the "
        "warm-up to the end of the run. A figure not measured is missed, never met.",
        "",
        *target_lines(results),
        "",
    ]
    return "\n".join(lines)


QUICK = {"seconds": 3, "rounds": 3, "memory_seconds": 60, "checkout_seconds": 10, "checkout_alone_seconds": 8}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,10000")
    parser.add_argument("--purchases", type=int, default=100_000, help="purchases in each catalog's database")
    parser.add_argument("--seconds", type=int, default=5, help="wrk's duration for each round of each row")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, alternating the bare view and the page")
    parser.add_argument("--buyers", type=int, default=32)
    parser.add_argument("--checkout-seconds", type=int, default=30, help="the run with --buyers buyers")
    parser.add_argument("--checkout-alone-seconds", type=int, default=20, help="one buyer at a time, per database")
    parser.add_argument(
        "--checkout-postgresql",
        metavar="URL",
        help="a PostgreSQL database (emptied!) for the checkout's own overhead only (default: BENCH_DATABASE_URL)",
    )
    parser.add_argument("--memory-seconds", type=int, default=600, help="the worker memory run (0: left out)")
    parser.add_argument("--dashboard-purchases", default="100000,1000000")
    parser.add_argument(
        "--no-layout", dest="layout", action="store_false", help="leave out the threads-per-process stage"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short durations to try things out: "
        + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in QUICK.items()),
    )
    parser.add_argument("--dry-run", action="store_true", help="no server, no wrk: made-up figures, printed only")
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS.md"))
    parser.add_argument("--workdir", help="keep databases and server logs here (default: a temporary folder)")
    parser.add_argument(
        "--no-cluster",
        action="store_true",
        help="leave out the cluster rows (make cluster's deployment: needs root, PostgreSQL, nginx, Redis)",
    )
    if "--quick" in (sys.argv[1:] if argv is None else argv):
        parser.set_defaults(**QUICK)  # --quick's durations, unless given explicitly
    return parser.parse_args(argv)


def stage(name, function, *args):
    """One part of the run; when it fails, its figures are "not measured" and the rest still runs."""
    try:
        return function(*args)
    except Exception as error:
        print(f"{name}: not measured ({type(error).__name__}: {error})", flush=True)
        return None


def main(argv=None):
    args = parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.dry_run:
        results = fake_results(
            sizes, postgresql=bool(os.environ.get("BENCH_DATABASE_URL")), cluster=not args.no_cluster
        )
        print(render(results, args) + render_cluster(results["cluster"], args))
        return results
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: `apt-get install -y wrk` (make bench does it when run as root)")
    from stripe_standin.process import start_standin

    results = {"sizes": sizes, "pages": {}, "checkout_alone": {}, "dashboard": {}, "memory": None, "cluster": None}
    workdir = Path(args.workdir) if args.workdir else None
    with tempfile.TemporaryDirectory(prefix="album-store-bench-") as tmp_name, start_standin() as standin:
        tmp = workdir or Path(tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            print(f"catalog of {size} albums:", flush=True)
            env, settings, slugs = run_size(size, args, tmp, standin, results)
        if args.layout:
            print("server layout (threads per process):", flush=True)
            results["layout"] = stage("layout", run_layout, args, tmp, env, slugs[0])
        if args.memory_seconds:
            print(f"worker memory over {args.memory_seconds} s at {sizes[-1]:,} albums:", flush=True)
            results["memory"] = stage("memory", run_memory, args, tmp, env, standin)
        print("checkout:", flush=True)
        results["checkout"] = stage("checkout", run_checkout, args, env, settings, standin)
        results["checkout_alone"]["SQLite"] = stage(
            "checkout alone on SQLite",
            checkout_alone,
            tmp,
            "SQLite",
            f"sqlite:///{tmp / 'checkout.sqlite'}",
            standin,
            args.checkout_alone_seconds,
        )
        postgresql = args.checkout_postgresql or os.environ.get("BENCH_DATABASE_URL")
        if postgresql:
            results["checkout_alone"]["PostgreSQL"] = stage(
                "checkout alone on PostgreSQL",
                checkout_alone,
                tmp,
                "PostgreSQL",
                postgresql,
                standin,
                args.checkout_alone_seconds,
            )
        print("admin dashboard:", flush=True)
        for purchases in (int(n) for n in args.dashboard_purchases.split(",") if n):
            figures = stage(f"dashboard over {purchases:,}", run_dashboard, tmp, purchases, standin)
            if figures:
                results["dashboard"][purchases] = figures
        if not args.no_cluster:
            results["cluster"] = stage("cluster", run_cluster, args, tmp, standin)
    report = render(results, args) + render_cluster(results["cluster"], args)
    notes = ROOT / "bench" / "NOTES.md"
    if notes.exists():  # the hand-written reading of the figures: what the profile showed, and why
        report += "\n" + notes.read_text()
    print("\n" + report)
    Path(args.output).write_text(report)
    print(f"written to {args.output}")
    return results


if __name__ == "__main__":
    main()
