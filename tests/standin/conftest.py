"""Fixtures for the stand-in's own tests: a stand-in process and SDK clients.

Independent of the suite's top-level conftest: these tests always talk to a
local stand-in that they start themselves (``start_standin``).
"""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if importlib.util.find_spec("stripe_standin") is None:  # e.g. plain `pytest`
    sys.path.insert(0, str(ROOT))

from stripe_standin.process import reset, start_standin  # noqa: E402

SECRET_KEY = "sk_test_standin"
PUBLISHABLE_KEY = "pk_test_standin"


@pytest.fixture(scope="session")
def standin_server():
    """One stand-in for the session (each test starts from empty data)."""
    with start_standin() as process:
        yield process


@pytest.fixture
def url(standin_server):
    reset(standin_server.url)  # data, used tokens, idempotency records, faults
    yield standin_server.url
    reset(standin_server.url)


def make_client(url, key=SECRET_KEY, retries=2):
    import stripe

    return stripe.StripeClient(key, base_addresses={"api": url}, max_network_retries=retries)


@pytest.fixture
def client(url):
    """The real SDK, configured as the store configures it."""
    return make_client(url)


@pytest.fixture
def client_no_retry(url):
    return make_client(url, retries=0)
