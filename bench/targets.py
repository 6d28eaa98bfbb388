"""Issue 18's targets as one table: each a name, a figure read from the benchmark's results, a
threshold and a comparison. `make bench` prints every line with its figure and ``met``/``missed``,
and bench/RESULTS.md holds the same lines; adding a target is one line in :data:`TARGETS`.

A figure that was not measured (no PostgreSQL, no cluster, a page this store does not have) is
``missed (not measured: …)``, never ``met``. Nothing here is timed: the figures come from bench/run.py.

``results`` (what bench/run.py collects, and what :func:`fake_results` imitates for ``--dry-run``)::

    {"sizes": [100, 10000],
     "pages": {"/albums · rendered": {100: {"rps", "p50", "p99", "ratio", "ratio_min", "ratio_max",
                                            "bare", "errors", "sql", "alone"}, 10000: {…}}, …},
     "checkout_alone": {"SQLite": {"post_p50", "charge_p50", "n"}, "PostgreSQL": None or {…}},
     "dashboard": {100000: {"ms", "seed_s"}, 1000000: {…}},
     "memory": {"seconds", "warmup_seconds", "warm", "end", "peak", "samples"},
     "cluster": None or {"pages": {label: {"rps", …, "ratio", "ratio_min", "ratio_max"}}, …}}
"""

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RENDERED = " · rendered"  # the row of a page with the page cache off (store.page_cache_seconds = 0)
SIGNED_IN = " (signed in)"
SHOPPER = ("/albums", "/albums?page=N", "/albums/{slug}")
#: The personal fragment static/personal.js fetches on a shared page (a row, not a target).
FRAGMENT = "/account/fragment?album={slug}"
#: The cluster's rows (through nginx with TLS, two store processes), by what they stand for.
NGINX_CACHED = ("/albums (nginx's cache)", "/albums/{slug} (nginx's cache)")
NGINX_SIGNED_IN = "/albums/{slug} (signed in, past nginx's cache)"
MEMORY_GROWTH_LIMIT = 0.05  # "flat": RSS growth after warm-up below 5 %

COMPARISONS = {">=": operator.ge, "<=": operator.le, "<": operator.lt, "==": operator.eq}
SHOWN = {">=": "≥", "<=": "≤", "<": "<", "==": "="}


@dataclass(frozen=True)
class Figure:
    """What was measured: ``value`` is what the threshold judges (None: not measured), ``text`` says it."""

    value: float | None
    text: str


@dataclass(frozen=True)
class Target:
    name: str
    figure: Callable[[dict], Figure]
    threshold: float
    comparison: str  # one of COMPARISONS
    unit: str = ""

    def verdict(self, figure):
        if figure.value is None:
            return "missed (not measured)"
        return "met" if COMPARISONS[self.comparison](figure.value, self.threshold) else "missed"

    def line(self, results):
        try:
            figure = self.figure(results)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as error:
            figure = Figure(None, f"not measured ({type(error).__name__}: {error})")
        return f"- {self.name}: {figure.text} (target {SHOWN[self.comparison]} {self.threshold:g}{self.unit}: " + (
            f"{self.verdict(figure)})"
        )


def _sizes(results, page):
    rows = results["pages"].get(page)
    if not rows:
        raise KeyError(f"no row {page!r}")
    return [(size, rows[size]) for size in results["sizes"] if size in rows]


def ratio_text(row):
    """``0.31 (0.29–0.33)``: the ratio to the bare view, and its min–max over the rounds."""
    return f"{row['ratio']:.2f} ({row['ratio_min']:.2f}–{row['ratio_max']:.2f})"


def of_bare(page):
    """The page's throughput over the bare view's, the worst catalog size judged, each size shown."""

    def figure(results):
        rows = _sizes(results, page)
        worst = min(row["ratio"] for _, row in rows)
        return Figure(worst, "; ".join(f"{ratio_text(row)} at {size:,} albums" for size, row in rows))

    return figure


def nginx_of_bare(label):
    def figure(results):
        cluster = results.get("cluster")
        if not cluster:
            return Figure(None, "not run (the cluster: --no-cluster, or it could not start)")
        row = cluster["pages"][label]
        return Figure(row["ratio"], f"{ratio_text(row)} ({row['rps']:,.0f} req/s through nginx with TLS)")

    return figure


def p50_growth(page):
    """p50 at the largest catalog over p50 at the smallest."""

    def figure(results):
        rows = _sizes(results, page)
        (small_size, small), (large_size, large) = rows[0], rows[-1]
        if small_size == large_size:
            return Figure(None, f"not measured (one catalog size only: {small_size:,})")
        growth = large["p50"] / small["p50"]
        return Figure(
            growth,
            f"{growth:.2f}× (p50 {large['p50']:.2f} ms at {large_size:,} albums, "
            f"{small['p50']:.2f} ms at {small_size:,})",
        )

    return figure


def statements_most(page):
    def figure(results):
        counts = [(size, row["sql"]) for size, row in _sizes(results, page)]
        return Figure(max(c for _, c in counts), " → ".join(f"{c} at {s:,}" for s, c in counts))

    return figure


def statements_change(page):
    """Statements at the largest catalog minus at the smallest: constant is 0."""

    def figure(results):
        counts = [row["sql"] for _, row in _sizes(results, page)]
        if len(counts) < 2:
            return Figure(None, "not measured (one catalog size only)")
        return Figure(abs(counts[-1] - counts[0]), " → ".join(str(c) for c in counts))

    return figure


def checkout_overhead(database):
    def figure(results):
        run = results["checkout_alone"].get(database)
        if run is None:
            hint = "set BENCH_DATABASE_URL" if database == "PostgreSQL" else "no run"
            return Figure(None, f"not run ({hint})")
        overhead = run["post_p50"] - run["charge_p50"]
        return Figure(
            overhead,
            f"{overhead:.1f} ms (POST p50 {run['post_p50']:.1f} ms − the stand-in's charge p50 "
            f"{run['charge_p50']:.1f} ms, {run['n']} POSTs, one buyer at a time)",
        )

    return figure


def dashboard(purchases):
    def figure(results):
        run = results["dashboard"].get(purchases)
        if run is None:
            return Figure(None, f"not run (--dashboard-purchases without {purchases:,})")
        return Figure(run["ms"], f"{run['ms']:.0f} ms (median of {run['n']}; seeded in {run['seed_s']:.0f} s)")

    return figure


def memory_growth(results):
    memory = results.get("memory")
    if not memory:
        return Figure(None, "not run")
    growth = memory["end"] / memory["warm"] - 1
    return Figure(
        growth * 100,
        f"{growth:+.1%} ({memory['warm']:.1f} MiB after {memory['warmup_seconds']:.0f} s of warm-up → "
        f"{memory['end']:.1f} MiB at {memory['seconds']:.0f} s, peak {memory['peak']:.1f} MiB)",
    )


TARGETS = [
    *[Target(f"`{p}` cache off, of bare at 16 connections", of_bare(p + RENDERED), 0.25, ">=") for p in SHOPPER],
    *[Target(f"`{p}` signed-in buyer, of bare", of_bare(p + SIGNED_IN), 0.5, ">=") for p in SHOPPER[::2]],
    Target(f"`{NGINX_SIGNED_IN}` through nginx, of bare", nginx_of_bare(NGINX_SIGNED_IN), 0.5, ">="),
    Target("`/library` signed in, of bare", of_bare("/library" + SIGNED_IN), 0.2, ">="),
    *[Target(f"`{p}` cache on, of bare", of_bare(p), 0.8, ">=") for p in SHOPPER],
    *[Target(f"`{p}` through nginx, of bare", nginx_of_bare(p), 0.8, ">=") for p in NGINX_CACHED],
    *[
        Target(f"checkout POST overhead, {db}", checkout_overhead(db), 5, "<=", " ms")
        for db in ("SQLite", "PostgreSQL")
    ],
    Target("admin dashboard, one request over 100,000 purchases", dashboard(100_000), 50, "<", " ms"),
    Target("admin dashboard, one request over 1,000,000 purchases", dashboard(1_000_000), 250, "<", " ms"),
    *[Target(f"`{p}` p50 at the large catalog over the small", p50_growth(p), 1.1, "<=", "×") for p in SHOPPER],
    *[Target(f"`{p}` cache off, p50 large over small", p50_growth(p + RENDERED), 1.1, "<=", "×") for p in SHOPPER],
    *[Target(f"`{p}` SQL statements per page (rendered)", statements_most(p + RENDERED), 2, "<=") for p in SHOPPER],
    *[
        Target(f"`{p}` SQL statements change with the catalog", statements_change(p + RENDERED), 0, "==")
        for p in SHOPPER
    ],
    Target("worker memory growth after warm-up (%)", memory_growth, MEMORY_GROWTH_LIMIT * 100, "<", " %"),
]


def target_lines(results):
    return [target.line(results) for target in TARGETS]


def fake_results(sizes=(100, 10_000), postgresql=False, cluster=True):
    """Made-up figures of the right shape, for ``--dry-run`` and the unit test: no server, no wrk."""
    pages: dict[str, Any] = {}
    names = [*SHOPPER, *(p + SIGNED_IN for p in SHOPPER[::2]), "/library" + SIGNED_IN, FRAGMENT + SIGNED_IN]
    names += [p + RENDERED for p in SHOPPER]
    for i, page in enumerate(names):
        pages[page] = {
            size: {
                "rps": 1000.0 - 50 * i,
                "p50": 10.0 + i + j,
                "p99": 40.0 + i,
                "ratio": 0.30 - 0.01 * i,
                "ratio_min": 0.28 - 0.01 * i,
                "ratio_max": 0.32 - 0.01 * i,
                "bare": 3000.0,
                "errors": 0,
                "sql": 1 + i % 2,
                "alone": 2.5,
            }
            for j, size in enumerate(sizes)
        }
    nginx = {"rps": 600.0, "p50": 20.0, "p99": 80.0, "errors": 0, "ratio": 0.2, "ratio_min": 0.18, "ratio_max": 0.22}
    return {
        "sizes": list(sizes),
        "pages": pages,
        "checkout_alone": {
            "SQLite": {"post_p50": 9.0, "charge_p50": 4.0, "n": 300},
            "PostgreSQL": {"post_p50": 8.0, "charge_p50": 4.0, "n": 300} if postgresql else None,
        },
        "dashboard": {100_000: {"ms": 40.0, "n": 5, "seed_s": 3.0}, 1_000_000: {"ms": 400.0, "n": 5, "seed_s": 25.0}},
        "memory": {"seconds": 600, "warmup_seconds": 120, "warm": 170.0, "end": 172.0, "peak": 173.0, "samples": []},
        "cluster": {
            "pages": {label: dict(nginx) for label in (*NGINX_CACHED, NGINX_SIGNED_IN)},
            "latencies": [300.0, 500.0, 700.0],
            "outcomes": {303: 3},
            "statuses": {"paid": 3},
            "succeeded": 3,
            "reconciled": True,
        }
        if cluster
        else None,
    }
