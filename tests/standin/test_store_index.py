"""The store's indexes (stripe_standin/store_index.py) answer what localstripe's scans answered: the
same objects, in the same order, after puts, deletes and a clear. In-process, on localstripe's store."""

import types

import pytest
from localstripe import resources as ls_resources

from stripe_standin import store_index


def scan(kind):
    return [v for k, v in ls_resources.store.items() if k.startswith(kind + ":")]


def scanned_refunds(charge_id):
    # (localstripe's scan would fail on a refund still being made; the index leaves it out until made)
    return [r for r in scan("refund") if getattr(r, "charge", None) == charge_id]


@pytest.fixture
def store():
    store_index.install()
    saved = dict(ls_resources.store)
    ls_resources.store.clear()
    yield ls_resources.store
    ls_resources.store.clear()
    ls_resources.store.update(saved)


def test_each_kind_in_the_stores_order(store):
    for n in range(5):
        store[f"charge:ch_{n}"] = types.SimpleNamespace(id=f"ch_{n}")
        store[f"token:tok_{n}"] = types.SimpleNamespace(id=f"tok_{n}")
    store["balance"] = object()  # not a "{kind}:" key: no kind's scan finds it
    store["checkout.session:cs_1"] = types.SimpleNamespace(id="cs_1")
    del store["charge:ch_2"]
    store["charge:ch_2"] = types.SimpleNamespace(id="ch_2 again")  # back at the end, as in the dict
    store["charge:ch_0"] = types.SimpleNamespace(id="ch_0 replaced")  # keeps its place
    assert store.pop("token:tok_1").id == "tok_1"
    for kind in ("charge", "token", "checkout.session", "refund", "balance"):
        assert store_index.objects_of(kind) == scan(kind), kind
    store.clear()
    assert store_index.objects_of("charge") == [] == scan("charge")


def test_a_charges_refunds_in_the_order_they_were_made(store):
    refunds = []
    for n, charge in enumerate(["ch_a", "ch_b", "ch_a", "ch_c", "ch_a"]):
        refund = types.SimpleNamespace(id=f"re_{n}")
        store[f"refund:re_{n}"] = refund  # localstripe stores it first...
        if n == 1:
            assert store_index.refunds_of("ch_a") == scanned_refunds("ch_a")
        refund.charge = charge  # ...and sets its fields after
        refunds.append(refund)
    half_made = types.SimpleNamespace(id="re_late")
    store["refund:re_late"] = half_made  # no charge yet: found by nobody
    for charge in ("ch_a", "ch_b", "ch_c", "ch_none"):
        assert store_index.refunds_of(charge) == scanned_refunds(charge), charge
    half_made.charge = "ch_b"
    assert store_index.refunds_of("ch_b") == scanned_refunds("ch_b") == [refunds[1], half_made]
    del store["refund:re_2"]
    assert store_index.refunds_of("ch_a") == scanned_refunds("ch_a") == [refunds[0], refunds[4]]
