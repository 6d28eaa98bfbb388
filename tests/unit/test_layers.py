"""The layers point one way: views → services → models, with security beside the services and the
SDK behind the payment interface.

Read from the source (every ``import`` anywhere in a module, in functions too, relative ones
resolved), so a cycle or a shortcut fails here before it is a tangle:

- ``models`` and ``security`` import no service (security says who the visitor is; it asks no
  service for that);
- services import no view, no templating and nothing of ``security`` (passwords.py and
  browser_sessions.py sit beneath both);
- only ``services/payments/stripe_service.py`` imports ``stripe``, and no view module pulls it in,
  checked in a fresh interpreter's ``sys.modules`` (this process has imported ``stripe`` already).
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "album_store"
STRIPE_ADAPTER = "album_store.services.payments.stripe_service"


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path):
    """The absolute names of the modules ``path`` imports (``from x import y``: ``x`` and ``x.y``)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


GRAPH = {_module_name(path): _imports(path) for path in sorted(PACKAGE.rglob("*.py"))}


def _within(name, *layers):
    return any(name == layer or name.startswith(layer + ".") for layer in layers)


def _offences(importers, forbidden):
    return sorted(
        f"{module} imports {imported}"
        for module, imported_names in GRAPH.items()
        if _within(module, *importers)
        for imported in imported_names
        if _within(imported, *forbidden)
    )


def test_the_graph_sees_the_package():
    """A guard for the checks below: they read every module, relative imports resolved."""
    assert {"album_store.security", "album_store.models", "album_store.views.checkout", STRIPE_ADAPTER} <= set(GRAPH)
    assert "album_store.services.payments" in GRAPH["album_store.views.webhooks"]


def test_models_and_security_import_no_service():
    assert _offences(["album_store.models", "album_store.security"], ["album_store.services"]) == []


def test_services_import_no_view_templating_or_security():
    forbidden = ["album_store.views", "album_store.templating", "album_store.security"]
    assert _offences(["album_store.services"], forbidden) == []


def test_only_the_stripe_adapter_imports_stripe():
    importers = sorted(module for module, names in GRAPH.items() if any(_within(name, "stripe") for name in names))
    assert importers == [STRIPE_ADAPTER]


VIEW_MODULES = sorted(name for name in GRAPH if _within(name, "album_store.views"))


@pytest.mark.parametrize(
    "modules",
    [
        pytest.param(VIEW_MODULES, id="every view module"),
        pytest.param(
            ["album_store.services.payments", "album_store.services.purchases", "album_store.resources"],
            id="the payment interface and the purchase services",
        ),
    ],
)
def test_importing_leaves_stripe_out_of_sys_modules(modules):
    """In a fresh interpreter: the first module whose import brings ``stripe`` in is named."""
    program = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "    if 'stripe' in sys.modules:\n"
        "        print(name)\n"
        "        break\n"
    )
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(modules) > 1
    assert done.stdout.strip() == "", f"importing {done.stdout.strip()} imports stripe"
