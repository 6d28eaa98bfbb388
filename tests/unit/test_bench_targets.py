"""The benchmark's target table (bench/targets.py): met/missed from figures, never from a timing here."""

import copy

import pytest

from bench import run
from bench.targets import RENDERED, TARGETS, Figure, Target, fake_results, target_lines


def test_every_target_has_a_line_with_its_verdict():
    lines = target_lines(fake_results())
    assert len(lines) == len(TARGETS)
    for line in lines:
        assert line.endswith(("(target", ": met)", ": missed)", ": missed (not measured))")), line


@pytest.mark.parametrize(
    ("comparison", "threshold", "value", "verdict"),
    [
        (">=", 0.25, 0.25, "met"),
        (">=", 0.25, 0.249, "missed"),
        ("<=", 5, 5.0, "met"),
        ("<=", 5, 5.01, "missed"),
        ("<", 50, 50.0, "missed"),
        ("<", 50, 49.9, "met"),
        ("==", 0, 0, "met"),
        ("==", 0, 1, "missed"),
        (">=", 0.25, None, "missed (not measured)"),
    ],
)
def test_verdicts(comparison, threshold, value, verdict):
    target = Target("t", lambda results: Figure(value, "x"), threshold, comparison)
    assert target.verdict(Figure(value, "x")) == verdict
    assert target.line({}).endswith(f": {verdict})")


def by_name(fragment):
    (target,) = [t for t in TARGETS if fragment in t.name]
    return target


def test_postgresql_unmeasured_is_missed_never_met():
    line = by_name("overhead, PostgreSQL").line(fake_results(postgresql=False))
    assert "not run (set BENCH_DATABASE_URL)" in line
    assert line.endswith("missed (not measured))")
    assert by_name("overhead, PostgreSQL").line(fake_results(postgresql=True)).endswith(": met)")  # 8 − 4 ≤ 5


def test_checkout_overhead_is_post_minus_charge():
    results = fake_results()
    results["checkout_alone"]["SQLite"] = {"post_p50": 9.5, "charge_p50": 4.0, "n": 10}
    line = by_name("overhead, SQLite").line(results)
    assert line.startswith("- checkout POST overhead, SQLite: 5.5 ms") and line.endswith(": missed)")


def test_the_worst_catalog_size_is_judged_and_the_noise_shown():
    results = fake_results()
    rows = results["pages"]["/albums" + RENDERED]
    rows[100].update(ratio=0.40, ratio_min=0.35, ratio_max=0.45)
    rows[10_000].update(ratio=0.26, ratio_min=0.21, ratio_max=0.30)
    target = by_name("`/albums` cache off, of bare")
    line = target.line(results)
    assert "0.26 (0.21–0.30) at 10,000 albums" in line and line.endswith(": met)")
    rows[10_000]["ratio"] = 0.24
    assert target.line(results).endswith(": missed)")


def test_a_missing_row_or_run_is_not_measured():
    results = copy.deepcopy(fake_results(cluster=False))
    del results["pages"]["/library (signed in)"]
    results["dashboard"].pop(1_000_000)
    results["memory"] = None
    for fragment in (
        "`/library` signed in",
        "1,000,000 purchases",
        "memory growth",
        "`/albums (nginx's cache)` through",
    ):
        assert by_name(fragment).line(results).endswith("missed (not measured))"), fragment


def test_sql_statements_must_be_constant_and_at_most_two():
    results = fake_results()
    rows = results["pages"]["/albums/{slug}" + RENDERED]
    rows[100]["sql"], rows[10_000]["sql"] = 2, 3
    assert by_name("`/albums/{slug}` SQL statements per page").line(results).endswith(": missed)")
    assert by_name("`/albums/{slug}` SQL statements change").line(results).endswith(": missed)")


def test_memory_flat_below_five_percent():
    results = fake_results()
    results["memory"].update(warm=200.0, end=209.0)
    assert by_name("memory growth").line(results).endswith(": met)")
    results["memory"].update(end=211.0)
    assert by_name("memory growth").line(results).endswith(": missed)")


def test_dry_run_prints_every_target_without_wrk(capsys, tmp_path):
    output = tmp_path / "RESULTS.md"
    run.main(["--dry-run", "--quick", "--output", str(output)])
    printed = capsys.readouterr().out
    assert "DRY RUN" in printed
    for target in TARGETS:
        assert f"- {target.name}: " in printed
    assert not output.exists()  # a dry run never overwrites the results
