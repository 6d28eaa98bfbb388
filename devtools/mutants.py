"""`make mutants`: which mutants count towards the score, and the score of the last run.

mutmut 3 (configured in pyproject.toml, ``[tool.mutmut]``) mutates the files of the money and access
guarantees into ``mutants/``. :data:`GUARANTEES` names the functions whose mutants are run and
scored: every function of a file (``module.*``), or only those of it that hold a guarantee.

``python -m devtools.mutants --names [MODULE …]`` prints the mutant name patterns for ``mutmut run``
(of the modules whose dotted name contains one of the words, when given). mutmut runs every mutant
it is named again, results or not: ``--pending [MODULE …]`` names only the mutants that have no
result yet or survived (to resume a stopped run, or to try the survivors against new tests),
``--not-run [MODULE …]`` only those with no result yet;
``--sync`` copies the package's templates and static files into ``mutants/`` (mutmut does not);
``--carry-over OLD_DIR`` copies into ``mutants/`` the results of an earlier run kept in ``OLD_DIR``
for every mutant whose code is the same there, in an unchanged function, and that was killed (mutmut
numbers a function's mutants afresh when its settings change, so results cannot be kept by name);
``python -m devtools.mutants`` reads mutmut's results in ``mutants/`` and prints the score per
module and in total (killed / total, %) and each mutant that survived, for ``mutmut show NAME``.
"""

import fnmatch
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: module → the functions scored (mutmut's mangled names: ``x_function``, ``xǁClassǁmethod``). Only the
#: functions that hold a money or access guarantee: a whole file is about 2,900 mutants, some 8 hours
#: with one worker here. Log lines (``log_state``), wiring (``includeme``, ``__init__``, factories
#: of services), passwords, sessions and headers are left out.
GUARANTEES = {
    "album_store.services.purchases.settlement": [
        "x_decide",
        "xǁSettlementǁsettle_by_charge",
        "xǁSettlementǁsettle_by_intent",
        "xǁSettlementǁfail",
        "xǁSettlementǁ_record_payment",
        "xǁSettlementǁrefund_duplicate",
        "xǁSettlementǁ_move",
        "x_charged_cents",
        "x_is_settled",
        "x_holds_charged_amount",
    ],
    "album_store.services.purchases.attempts": [
        "xǁAttemptsǁrecord",
        "xǁAttemptsǁ_find",
        "xǁAttemptsǁ_confirmed_account",
    ],
    "album_store.services.purchases.checkout": [
        "xǁCheckoutChargesǁcharge",
        "xǁCheckoutChargesǁgo_on",
        "x_payment_details",
    ],
    "album_store.services.purchases.intents": [
        "xǁPaymentIntentFlowǁconfirm",
        "xǁPaymentIntentFlowǁsettle",
        "xǁPaymentIntentFlowǁgo_on",
        "xǁPaymentIntentFlowǁgive_way",
    ],
    "album_store.services.payments.stripe_service": [
        "xǁStripePaymentServiceǁcharge",
        "xǁStripePaymentServiceǁrefund",
        "x__to_charge",
    ],
    "album_store.stripe_amounts": [
        "x_to_stripe_amount",
        "x_from_stripe_amount",
        "x_minimum_charge",
        "x_check_chargeable",
    ],
    "album_store.services.purchases.reconcile": [
        "xǁReconcilerǁ_settle_pending",
        "xǁReconcilerǁ_repair_failed",
        "xǁReconcilerǁ_settle_pending_intent",
    ],
    "album_store.services.purchases.stripe_events": [
        "xǁStripeEventsǁhandle",
        "xǁStripeEventsǁ_purchase_for_charge",
        "x__same_amount",
        "x__settled_by_session",
    ],
    # Decorated with @view_config: mutmut 3 does not mutate decorated functions (its logic is in
    # payments.verify_webhook and stripe_events, above).
    "album_store.views.webhooks": [],
    "album_store.services.receipts": ["x_may_view_purchase", "x_receipt_token_matches"],
    "album_store.resources": ["x_purchase_factory", "x_download_factory"],
    "album_store.services.downloads": ["xǁDownloadServiceǁpurchase_for", "xǁDownloadServiceǁrecord_download"],
    "album_store.caching": ["xǁPageCacheǁget", "xǁPageCacheǁput", "x_page_cache_tween_factory"],
    "album_store.views.shown_price": ["x_require_shown_price", "x_shown_price", "x__already_started"],
    "album_store.settings": ["x_check_production_settings", "x_check_payment_flow", "x_is_placeholder", "x__key_mode"],
}

KILLED = {1, 3}
TIMEOUT = {36, -24, 24, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}
#: The mutant's run was stopped from outside (SIGTERM, Ctrl-C: the run was interrupted): no result.
INTERRUPTED = {-15, -2}


def patterns(modules=()):
    """mutmut's name patterns for the scored functions; of the modules whose name contains one of
    ``modules``, when given (``make mutants MODULES="settlement settings"``)."""
    return [
        f"{module}.{function}__mutmut_*"
        for module, functions in GUARANTEES.items()
        for function in functions
        if not modules or any(part in module for part in modules)
    ]


def module_of(name):
    return next((module for module in GUARANTEES if name.startswith(module + ".")), None)


def results():
    """{mutant name: mutmut's exit code} for every scored mutant (None: not run yet)."""
    wanted = patterns()
    found = {}
    for meta in (ROOT / "mutants" / "album_store").rglob("*.py.meta"):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if any(fnmatch.fnmatchcase(name, p) for p in wanted):
                found[name] = None if code in INTERRUPTED else code
    return found


def report(out=sys.stdout):
    """The score per module and in total: killed / mutants run (a timeout counts as killed), then
    every survivor by name; mutants not run yet are counted, not listed."""
    found = results()
    if not found:
        print("No mutmut results in mutants/: run `make mutants` first.", file=out)
        return 1
    per_module = defaultdict(Counter)
    survivors, no_tests = [], []
    for name, code in sorted(found.items()):
        counts = per_module[module_of(name)]
        counts["total"] += 1
        if code is None:
            counts["not run"] += 1
            continue
        counts["run"] += 1
        if code in KILLED or code in TIMEOUT:
            counts["killed"] += 1
            counts["timeout"] += code in TIMEOUT
        elif code in NO_TESTS:
            no_tests.append(name)
        else:
            survivors.append(name if code in SURVIVED else f"{name} (exit code {code})")
    width = max(len(m) for m in GUARANTEES)
    print(f"{'module':<{width}}  killed / run      %   (not run yet, of all)", file=out)
    total = Counter()
    for module in GUARANTEES:
        counts = per_module.get(module)
        if not counts:
            print(f"{module:<{width}}  (no mutants)", file=out)
            continue
        total.update(counts)
        print(_row(module, counts, width), file=out)
    print(_row("total", total, width) + f"   {total['timeout']} killed by a timeout", file=out)
    for title, names in (("survived", survivors), ("no test reaches it", no_tests)):
        if names:
            print(f"\n{title} ({len(names)}; `.venv/bin/mutmut show NAME` shows the change):", file=out)
            for name in names:
                print(f"  {name}", file=out)
    return 0


def _row(label, counts, width):
    score = f"{100 * counts['killed'] / counts['run']:5.1f}" if counts["run"] else "   - "
    return (
        f"{label:<{width}}  {counts['killed']:>6} / {counts['run']:<6} {score}   "
        f"({counts['not run']} of {counts['total']})"
    )


def sync_package_data():
    """Copy the package's files that are not Python (templates, static files) into ``mutants/``.
    mutmut copies them only into an empty ``mutants/``: after a template changes, a kept copy would
    test the old one (and the new tests fail on it)."""
    import shutil

    copied = 0
    for source in (ROOT / "album_store").rglob("*"):
        if source.is_file() and source.suffix not in (".py", ".pyc"):
            target = ROOT / "mutants" / source.relative_to(ROOT)
            if not target.exists() or target.stat().st_mtime != source.stat().st_mtime:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
                copied += 1
    return copied


def _functions(path):
    """{name: source} of every function and method in a mutmut-generated file, its name removed
    (``x_f__mutmut_3`` is written ``def x_f__mutmut_3(…)``; the body is what identifies a mutant)."""
    import ast

    tree = ast.parse(path.read_text())
    found = {}
    for node in tree.body:
        for item in node.body if isinstance(node, ast.ClassDef) else [node]:
            if isinstance(item, ast.FunctionDef):
                name, item.name = item.name, "f"
                found[name] = ast.unparse(item)
    return found


def carry_over(old_dir, *, survivors=False, rerun=()):
    """Copy the killed results of ``old_dir`` (a kept ``mutants/``) into ``mutants/`` for each mutant
    of a scored function whose original (``__mutmut_orig``) and mutated code are both the same there.
    A killed mutant stays killed: the tests only grew since. With ``survivors``, survivors are carried
    too (a mutant that survived the same tests survives them again; one that a test written since may
    kill is named, by its old name, in ``rerun``: left without a result, it runs again). Carrying a
    survivor can only understate the score. Returns how many results were carried."""
    old_dir, carried, rerun = Path(old_dir), 0, set(rerun)
    keep = KILLED | TIMEOUT | (SURVIVED if survivors else set())
    for meta_path in (ROOT / "mutants" / "album_store").rglob("*.py.meta"):
        old_meta_path = old_dir / meta_path.relative_to(ROOT / "mutants")
        if not old_meta_path.exists():
            continue
        source = meta_path.with_suffix("")
        new_code, old_code = _functions(source), _functions(old_meta_path.with_suffix(""))
        old_meta = json.loads(old_meta_path.read_text())["exit_code_by_key"]
        old_by_code = {}
        for key, code in old_meta.items():
            short = key.rpartition(".")[2]
            function = short.rpartition("__mutmut_")[0]
            if code in keep and short in old_code and key not in rerun:
                old_by_code[(function, old_code.get(function + "__mutmut_orig"), old_code[short])] = code
        meta = json.loads(meta_path.read_text())
        for key, code in meta["exit_code_by_key"].items():
            short = key.rpartition(".")[2]
            function = short.rpartition("__mutmut_")[0]
            if code is None and short in new_code:
                found = old_by_code.get((function, new_code.get(function + "__mutmut_orig"), new_code[short]))
                if found is not None:
                    meta["exit_code_by_key"][key] = found
                    carried += 1
        meta_path.write_text(json.dumps(meta, indent=4))
    return carried


def pending(modules=(), *, survivors=True):
    """The scored mutants with no result yet, or (``survivors``) that survived; of ``modules``, when given."""
    wanted = patterns(modules)
    return sorted(
        name
        for name, code in results().items()
        if (code is None or (survivors and code in SURVIVED)) and any(fnmatch.fnmatchcase(name, p) for p in wanted)
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--names"]:
        print(" ".join(patterns(sys.argv[2:])))
    elif sys.argv[1:2] == ["--pending"]:
        print(" ".join(pending(sys.argv[2:])))
    elif sys.argv[1:2] == ["--not-run"]:
        print(" ".join(pending(sys.argv[2:], survivors=False)))
    elif sys.argv[1:2] == ["--carry-over"]:
        # --carry-over OLD_DIR [--survivors [OLD_NAME_TO_RUN_AGAIN …]]
        carried = carry_over(sys.argv[2], survivors="--survivors" in sys.argv, rerun=sys.argv[4:])
        print(f"{carried} results carried over from {sys.argv[2]}", file=sys.stderr)
    elif sys.argv[1:2] == ["--sync"]:
        print(f"{sync_package_data()} template and static files copied into mutants/", file=sys.stderr)
    else:
        sys.exit(report())
