"""`make bench`: the store's pages against a bare Pyramid view, at 100 and 10,000 albums.

For each catalog size: seed a throwaway SQLite database (or BENCH_DATABASE_URL), serve the store
with production.ini's settings on waitress, serve a bare ``Response("ok")`` view with the same
server settings, and drive both with wrk, alternating, in the same run. Then the checkout POST
(token → charge → receipt) against the Stripe stand-in, with 32 concurrent buyers, beside the
stand-in's own charge latency. Prints one table and writes it to bench/RESULTS.md.

    python -m bench.run [--sizes 100,10000] [--purchases 100000] [--seconds 5] [--rounds 2]
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
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import requests
import stripe
from sqlalchemy import create_engine, event, func, select

from album_store import main as make_store
from album_store.cli import migrate
from album_store.models import Album, Purchase
from album_store.settings import load_settings
from bench.seed import BENCH_USER, seed
from devtools.pserve import Pserve, free_port
from stripe_standin.process import start_standin

ROOT = Path(__file__).resolve().parent.parent
THREADS_LINE = re.compile(r"^threads\s*=\s*(\d+)", re.M)
SHOWN_FIELD = re.compile(r'<input type="hidden" name="(shown_[a-z]+)" value="([^"]*)"')


def store_app_section(page_cache_seconds=None):
    """production.ini's [app:main], but with cookies usable over the benchmark's plain http."""
    production = (ROOT / "production.ini").read_text()
    section = production[production.index("[app:main]") : production.index("[server:main]")]
    section = re.sub(r"^store.secure_cookies\s*=.*$", "store.secure_cookies = false", section, flags=re.M)
    if page_cache_seconds is not None:
        section += f"store.page_cache_seconds = {page_cache_seconds}\n"
    return section


def server_ini(tmp, name, app_section, port):
    """An ini with production.ini's [server:main] (threads and all), listening on ``port``."""
    production = (ROOT / "production.ini").read_text()
    server = production[production.index("[server:main]") : production.index("[loggers]")]
    server = re.sub(r"^listen\s*=.*$", f"listen = 127.0.0.1:{port}", server, flags=re.M)
    path = tmp / f"{name}.ini"
    path.write_text(app_section + "\n" + server)
    return path


class Server(Pserve):
    """The benchmark's ``pserve`` (devtools/pserve.py, as the test suite's live stores), in the checkout."""

    def __init__(self, ini, env, log):
        super().__init__(ini, log, env=env, cwd=ROOT, ready_path="/", timeout=30)

    def rss_mib(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url, seconds, connections=16, headers=()):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for header in headers:
        command[1:1] = ["-H", header]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def percentile(p):
        value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * UNITS[unit]

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": percentile(50), "p99": percentile(99), "errors": int(non2xx.group(1)) if non2xx else 0}


def login(url):
    """Sign the benchmark's buyer in; return the Cookie header that carries the session."""
    session = requests.Session()
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


def count_statements(app_settings, paths, cookie_login=None):
    """SQL statements per request for each page, counted in-process with the same settings."""
    import webtest

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


def checkout_run(store_url, standin_url, publishable_key, slugs, buyers, seconds):
    """``buyers`` concurrent shoppers for ``seconds``: page, Checkout token, POST, receipt."""
    deadline = time.monotonic() + seconds
    latencies, outcomes = [], {}

    def shopper(n):
        session = requests.Session()
        session.headers["Origin"] = store_url  # as a browser's form POST says (checked over HTTPS)
        i = n
        while time.monotonic() < deadline:
            slug = slugs[i % len(slugs)]
            i += buyers
            page = session.get(f"{store_url}/albums/{slug}", timeout=30)
            # The price the buy form showed (its hidden shown_* fields), as the browser sends it back.
            shown = dict(SHOWN_FIELD.findall(page.text))
            csrf = (
                session.cookies.get("csrf_token") or session.get(f"{store_url}/csrf-token", timeout=30).json()["token"]
            )
            token = requests.post(
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
            started = time.perf_counter()
            response = session.post(
                f"{store_url}/albums/{slug}/buy",
                data={
                    "csrf_token": csrf,
                    "stripeToken": token,
                    "stripeTokenType": "card",
                    "stripeEmail": f"bench{n}@example.com",
                    **shown,
                },
                allow_redirects=False,
                timeout=60,
            )
            latencies.append((time.perf_counter() - started) * 1000)
            outcomes[response.status_code] = outcomes.get(response.status_code, 0) + 1

    with ThreadPoolExecutor(buyers) as pool:
        list(pool.map(shopper, range(buyers)))
    return latencies, outcomes


def standin_charge_latency(standin_url, secret_key, n=200):
    client = stripe.StripeClient(secret_key, base_addresses={"api": standin_url})
    timings = []
    for _ in range(n):
        started = time.perf_counter()
        client.v1.charges.create(params={"amount": 999, "currency": "usd", "source": "tok_visa"})
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), n / (sum(timings) / 1000)


def run_size(size, args, tmp, standin, results):
    database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp / f'bench-{size}.sqlite'}"
    env = {
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
        "JOBS_SQLITE_PATH": str(tmp / f"jobs-{size}.sqlite3"),
    }
    settings = load_settings(
        {"sqlalchemy.url": database_url, "store.require_secrets": "true", "store.secure_cookies": "false"},
        environ=env,
    )
    engine = create_engine(database_url)
    if engine.dialect.name != "sqlite":
        from album_store.models import Base

        with engine.begin() as connection:
            Base.metadata.drop_all(connection)
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    migrate(settings, engine)
    started = time.monotonic()
    seed(engine, albums=size, purchases=args.purchases)
    print(
        f"  seeded {size} albums, {size * 10} tracks, {args.purchases} purchases in {time.monotonic() - started:.1f}s",
        flush=True,
    )
    with engine.connect() as connection:
        published = connection.scalar(select(func.count()).select_from(Album).where(Album.is_published.is_(True)))
        slug = connection.scalar(
            select(Album.slug).where(Album.is_published.is_(True)).order_by(Album.id).offset(size // 2).limit(1)
        )
    deep_page = max(1, (published + 23) // 24 - 1)
    pages = [
        ("/albums", "/albums", False),
        ("/albums?page=N", f"/albums?page={deep_page}", False),
        ("/albums/{slug}", f"/albums/{slug}", False),
        ("/library (signed in)", "/library", True),
        ("/admin (dashboard)", "/admin", True),
    ]
    print(f"  deep page N = {deep_page}; album {slug}", flush=True)
    bare = Server(
        server_ini(tmp, "bare", "[app:main]\nuse = call:bench.bare:make_app\n", free_port()), env, tmp / "bare.log"
    )
    try:
        # First with the in-process page cache (production's setting), then rendering every request.
        for variant, cache_seconds in (("", None), (" · rendered", 0)):
            store = Server(
                server_ini(tmp, f"store-{size}", store_app_section(cache_seconds), free_port()),
                env,
                tmp / f"store-{size}{variant.strip(' ·')}.log",
            )
            try:
                cookie = login(store.url)
                present = []
                for label, path, private in pages:
                    headers = {"Cookie": cookie} if private else {}
                    status = requests.get(
                        store.url + path, headers=headers, timeout=10, allow_redirects=False
                    ).status_code
                    if status == 404 and private:
                        continue  # a page this version of the store does not have yet
                    if status != 200:
                        raise RuntimeError(f"{path} answered {status}")
                    if private and variant:
                        continue  # private pages are never cached: measured once
                    present.append((label, path, private))
                for _, path, private in present:  # warm every page before memory's baseline
                    wrk(store.url + path, 1, headers=[f"Cookie: {cookie}"] if private else [])
                memory_after_warmup = store.rss_mib()
                for label, path, private in present:
                    headers = [f"Cookie: {cookie}"] if private else []
                    bare_runs, page_runs = [], []
                    for _ in range(args.rounds):  # alternate, so both see the same machine
                        bare_runs.append(wrk(bare.url + "/", args.seconds))
                        page_runs.append(wrk(store.url + path, args.seconds, headers=headers))
                    ceiling = statistics.median(r["rps"] for r in bare_runs)
                    row = {key: statistics.median(r[key] for r in page_runs) for key in ("rps", "p50", "p99")}
                    row.update(errors=sum(r["errors"] for r in page_runs), ratio=row["rps"] / ceiling, bare=ceiling)
                    results.setdefault(label + variant, {})[size] = row
                    print(
                        f"  {label + variant:40} {row['rps']:8.0f} req/s  "
                        f"p50 {row['p50']:6.2f} ms  p99 {row['p99']:6.2f} ms  "
                        f"{row['ratio']:.2f} of bare ({ceiling:.0f})",
                        flush=True,
                    )
                if not variant:
                    results.setdefault("_memory", {})[size] = (memory_after_warmup, store.rss_mib())
            finally:
                store.stop()
    finally:
        bare.stop()
    measured = [page for page in pages if page[0] in results]
    statements = count_statements(
        {**settings, "store.secure_cookies": "false", "store.page_cache_seconds": "0"}, measured
    )
    for label, _, _ in measured:
        for key in (label, label + " · rendered"):
            if key in results:
                results[key][size]["sql"] = statements[label]
                results[key][size]["alone"] = statements[label + " alone"]
    return env, settings, slug


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,10000")
    parser.add_argument("--purchases", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--buyers", type=int, default=32)
    parser.add_argument("--checkout-seconds", type=int, default=30)
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS.md"))
    parser.add_argument("--workdir", help="keep databases and server logs here (default: a temporary folder)")
    parser.add_argument(
        "--no-cluster",
        action="store_true",
        help="leave out the cluster rows (make cluster's deployment: needs root, PostgreSQL, nginx, Redis)",
    )
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: `apt-get install -y wrk` (make bench does it when run as root)")
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {}
    workdir = Path(args.workdir) if args.workdir else None
    with tempfile.TemporaryDirectory(prefix="album-store-bench-") as tmp_name, start_standin() as standin:
        tmp = workdir or Path(tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            print(f"catalog of {size} albums:", flush=True)
            env, settings, slug = run_size(size, args, tmp, standin, results)
        checkout = run_checkout(args, tmp, env, settings, standin)
    cluster = None if args.no_cluster else run_cluster(args, tmp)
    report = render(results, sizes, checkout, args) + render_cluster(cluster, args)
    notes = ROOT / "bench" / "NOTES.md"
    if notes.exists():  # the hand-written reading of the figures: what the profile showed, and why
        report += "\n" + notes.read_text()
    print("\n" + report)
    Path(args.output).write_text(report)
    print(f"written to {args.output}")


def run_checkout(args, tmp, env, settings, standin):
    """The checkout POST on the last catalog size: one buyer at a time (the app's own cost beside the
    stand-in's charge), then 32 buyers for 30 s, and count what was paid against what was charged."""
    engine = create_engine(settings["sqlalchemy.url"])
    with engine.connect() as connection:
        slugs = list(connection.scalars(select(Album.slug).where(Album.is_published.is_(True)).limit(50)))
        before = connection.scalar(select(func.max(Purchase.id))) or 0
    store_app = store_app_section()
    store = Server(server_ini(tmp, "store-checkout", store_app, free_port()), env, tmp / "store-checkout.log")
    try:
        standin_p50, standin_rate = standin_charge_latency(standin.url, env["STRIPE_SECRET_KEY"])
        alone, _ = checkout_run(store.url, standin.url, env["STRIPE_PUBLISHABLE_KEY"], slugs, 1, 10)
        latencies, outcomes = checkout_run(
            store.url, standin.url, env["STRIPE_PUBLISHABLE_KEY"], slugs, args.buyers, args.checkout_seconds
        )
    finally:
        store.stop()
    with engine.connect() as connection:
        rows = connection.execute(
            select(Purchase.status, Purchase.stripe_charge_id, Purchase.reference).where(Purchase.id > before)
        ).all()
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
        "alone_p50": statistics.median(alone),
        "alone_n": len(alone),
        "standin_p50": standin_p50,
        "standin_rate": standin_rate,
        "paid": paid,
        "succeeded": succeeded,
        "pending": sum(1 for r in rows if r.status == "pending"),
        "charge_ids_unique": len({r.stripe_charge_id for r in rows if r.stripe_charge_id}) == paid,
    }


def run_cluster(args, tmp):
    """`make cluster`'s deployment (devtools/cluster.py: two store processes and a worker behind nginx
    with TLS, on PostgreSQL, Redis and moto's S3): the catalog and an album page through nginx (its
    cache, then with it bypassed by a session cookie), and the checkout under ``args.buyers`` buyers."""
    from devtools.cluster import Cluster, install_services

    install_services()
    os.environ["PATH"] += ":/usr/sbin"
    cluster = Cluster(tmp / "cluster", demo=False, database="album_store_bench_cluster")
    print("cluster: two store processes and a worker behind nginx…", flush=True)
    with cluster:
        engine = create_engine(cluster.database_url)
        seed(engine, albums=100, purchases=0)
        with engine.connect() as connection:
            slugs = list(connection.scalars(select(Album.slug).where(Album.is_published.is_(True)).limit(50)))
        engine.dispose()
        os.environ["REQUESTS_CA_BUNDLE"] = str(cluster.certificate)
        rows = {}
        for label, path, headers in [
            ("/albums (nginx's cache)", "/albums", ()),
            (f"/albums/{slugs[0]} (nginx's cache)", f"/albums/{slugs[0]}", ()),
            (
                f"/albums/{slugs[0]} (a session cookie: past nginx's cache, the store's own)",
                f"/albums/{slugs[0]}",
                ("Cookie: album_store_session=x",),
            ),
        ]:
            wrk(cluster.url + path, 2, headers=headers)  # warm
            rows[label] = wrk(cluster.url + path, args.seconds, headers=headers)
        latencies, outcomes = checkout_run(
            cluster.url, cluster.standin.url, "pk_test_standin_cluster", slugs, args.buyers, args.checkout_seconds
        )
        settled = cluster.cli("reconcile", "--min-age-minutes", "0", "--search-lag-minutes", "0")
        engine = create_engine(cluster.database_url)
        with engine.connect() as connection:
            statuses = dict(connection.execute(select(Purchase.status, func.count()).group_by(Purchase.status)).all())
        engine.dispose()
        client = stripe.StripeClient("sk_test_standin_cluster", base_addresses={"api": cluster.standin.url})
        succeeded = sum(
            1 for c in client.v1.charges.list(params={"limit": 100}).auto_paging_iter() if c.status == "succeeded"
        )
    return {
        "pages": rows,
        "latencies": latencies,
        "outcomes": outcomes,
        "statuses": statuses,
        "succeeded": succeeded,
        "reconciled": settled.returncode == 0,
    }


def render_cluster(cluster, args):
    if cluster is None:
        return ""
    lines = [
        "",
        "## The cluster (`make cluster`: nginx with TLS → two store processes, PostgreSQL, Redis, S3)",
        "",
        "| page through nginx | req/s | p50 ms | p99 ms | non-2xx |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, row in cluster["pages"].items():
        lines.append(f"| `{label}` | {row['rps']:,.0f} | {row['p50']:.2f} | {row['p99']:.2f} | {row['errors']} |")
    latencies = sorted(cluster["latencies"])
    paid = cluster["statuses"].get("paid", 0)
    lines += [
        "",
        f"- checkout POST through nginx, {args.buyers} buyers for {args.checkout_seconds}s: {len(latencies)} POSTs, "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {latencies[int(len(latencies) * 0.99) - 1]:.1f} ms, "
        f"outcomes {cluster['outcomes']}",
        f"- paid purchases {paid} = successful charges {cluster['succeeded']}: "
        f"{'none lost, none doubled' if paid == cluster['succeeded'] else 'MISMATCH'}; "
        f"purchases by status {cluster['statuses']}",
        "",
    ]
    return "\n".join(lines)


def render(results, sizes, checkout, args):
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    lines = [
        "# Benchmark results",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; commit {commit}",
        f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "- store: production.ini settings on waitress; "
        f"database {'BENCH_DATABASE_URL' if os.environ.get('BENCH_DATABASE_URL') else 'SQLite'};"
        f" wrk -t2 -c16, {args.seconds}s × {args.rounds} rounds, alternating with the bare view",
        "",
        "| page | albums | req/s | p50 ms | p99 ms | of bare | SQL/request | "
        "one request alone, rendered (ms) | non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for page, by_size in results.items():
        if page.startswith("_"):
            continue
        for size in sizes:
            row = by_size[size]
            lines.append(
                f"| `{page}` | {size:,} | {row['rps']:,.0f} | {row['p50']:.2f} | {row['p99']:.2f} | "
                f"{row['ratio']:.2f} | {row.get('sql', '?')} | {row.get('alone', float('nan')):.1f} | {row['errors']} |"
            )
    lines += ["", "| bare view | albums | req/s |", "|---|---:|---:|"]
    for size in sizes:
        first = next(v for k, v in results.items() if not k.startswith("_"))[size]
        lines.append(f'| `Response("ok")` | {size:,} | {first["bare"]:,.0f} |')
    lines += ["", "Targets:", ""]
    for page, by_size in results.items():
        if page.startswith("_") or len(sizes) < 2 or sizes[0] not in by_size or sizes[-1] not in by_size:
            continue
        small, large = by_size[sizes[0]], by_size[sizes[-1]]
        growth = large["p50"] / small["p50"]
        parts = []
        shopper = "signed in" not in page and "dashboard" not in page
        if shopper and "rendered" not in page:
            ratio = min(small["ratio"], large["ratio"])
            parts.append(f"{ratio:.2f} of bare (target ≥ 0.5: {'met' if ratio >= 0.5 else 'missed'})")
        parts.append(
            f"p50 at {sizes[-1]:,} albums is {growth:.2f}× p50 at {sizes[0]:,} "
            f"(target ≤ 1.25: {'met' if growth <= 1.25 else 'missed'})"
        )
        constant = small.get("sql") == large.get("sql")
        limit = " and ≤ 3" if shopper else ""
        ok = constant and (not shopper or large.get("sql", 99) <= 3)
        parts.append(
            f"SQL statements {small.get('sql')} → {large.get('sql')} (constant{limit}: {'met' if ok else 'missed'})"
        )
        if "dashboard" in page:
            alone = large.get("alone", float("nan"))
            parts.append(
                f"one request over {args.purchases:,} purchases: {alone:.0f} ms "
                f"(target < 250 ms: {'met' if alone < 250 else 'missed'})"
            )
        lines.append(f"- `{page}`: " + "; ".join(parts))
    for size, (warm, end) in results["_memory"].items():
        lines.append(f"- worker memory at {size:,} albums: {warm:.1f} MiB after warm-up, {end:.1f} MiB after the run")
    overhead = checkout["alone_p50"] - checkout["standin_p50"]
    balanced = checkout["paid"] == checkout["succeeded"] and checkout["charge_ids_unique"]
    lines += [
        f"- checkout POST, one buyer at a time ({checkout['alone_n']} POSTs): p50 {checkout['alone_p50']:.1f} ms; "
        f"the stand-in's own charge: p50 {checkout['standin_p50']:.1f} ms "
        f"({checkout['standin_rate']:.0f} charges/s single-threaded); the app's "
        f"overhead at p50 ≈ {overhead:.1f} ms "
        f"(target < the stand-in's p50: {'met' if overhead < checkout['standin_p50'] else 'missed'})",
        f"- checkout POST, {args.buyers} buyers for {args.checkout_seconds}s: {checkout['requests']} POSTs, "
        f"p50 {checkout['p50']:.1f} ms, p99 {checkout['p99']:.1f} ms "
        f"(queueing on 2 cores shared with the buyers and the stand-in), "
        f"outcomes {checkout['outcomes']}",
        f"- paid purchases {checkout['paid']} = successful charges {checkout['succeeded']}: "
        f"{'none lost, none doubled' if balanced else 'MISMATCH'}"
        f"; left pending: {checkout['pending']}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
