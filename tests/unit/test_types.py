"""The store's calls to Stripe's SDK type-check against the SDK's own types (stripe ships py.typed).

``[tool.mypy]`` in pyproject.toml says what is checked (album_store/services/payments/stripe_service.py,
the only module that imports ``stripe``): a params dict built as ``params: "ChargeCreateParams" = {...}``
with a parameter the pinned API version does not know (or a wrong type) fails here, before it reaches
Stripe.
"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_payments_module_type_checks_against_the_stripe_sdk(monkeypatch):
    api = pytest.importorskip("mypy.api")
    monkeypatch.chdir(ROOT)  # [tool.mypy] in pyproject.toml: files, options, cache
    stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml")])
    assert status == 0, f"mypy found errors:\n{stdout}{stderr}"
