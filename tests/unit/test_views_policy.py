"""The views' policy lives in decorators, predicates and exception views, read from the source:

- no view module reads the ``store.payment_flow`` setting (the ``payment_flow=`` predicate and
  ``request.payment_flow``, both in ``views/predicates.py``, do);
- no view module imports another view module (what two of them share lives outside ``views/``,
  e.g. ``album_page.py``, ``purchase_answers.py``).

A *view module* is a module of ``album_store/views`` that registers a view (any ``*view_config``
decorator); ``views/__init__.py``, ``views/predicates.py`` and ``views/admin/__init__.py`` register none.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "album_store"
VIEWS = PACKAGE / "views"
DECORATORS = {"view_config", "exception_view_config", "notfound_view_config", "forbidden_view_config"}


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def registers_views(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            for decorator in node.decorator_list:
                call = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = call.attr if isinstance(call, ast.Attribute) else getattr(call, "id", None)
                if name in DECORATORS:
                    return True
    return False


def imported_modules(path, tree):
    """Every module ``path`` imports, relative imports resolved (``from .x import y``: ``x`` and ``x.y``)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            module = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def view_modules(root=VIEWS):
    modules = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        if registers_views(tree):
            modules[module_name(path)] = (path, tree)
    return modules


def test_the_policy_test_finds_the_view_modules():
    names = set(view_modules())
    assert {"album_store.views.checkout", "album_store.views.catalog", "album_store.views.admin.albums"} <= names
    assert "album_store.views.predicates" not in names and "album_store.views.admin" not in names


@pytest.mark.parametrize("name", sorted(view_modules()))
def test_no_view_module_reads_the_payment_flow_setting(name):
    path, tree = view_modules()[name]
    reads = [
        node.lineno for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value == "store.payment_flow"
    ]
    assert not reads, (
        f"{path.name} reads store.payment_flow (line {reads[0]}): "
        "use the payment_flow= predicate or request.payment_flow"
    )


@pytest.mark.parametrize("name", sorted(view_modules()))
def test_no_view_module_imports_another(name):
    modules = view_modules()
    path, tree = modules[name]
    others = sorted({m for m in imported_modules(path, tree) if m in modules and m != name})
    assert not others, f"{path.name} imports the view module(s) {others}: move what they share out of views/"
