"""The settlement rules on their own: the decision from what Stripe says, checked over every case, and
the rule that nothing but settlement.py writes a purchase's status."""

import ast
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from album_store.models import PurchaseStatus
from album_store.services.payments import Charge
from album_store.services.purchases.settlement import TRANSITIONS, decide

PACKAGE = Path(__file__).resolve().parents[2] / "album_store"
STATUSES = st.sampled_from(PurchaseStatus.ALL)


def charge(status, amount, refunded):
    return Charge(
        id="ch_1",
        amount_cents=amount,
        currency="usd",
        status=status,
        card_brand=None,
        card_last4=None,
        amount_refunded_cents=refunded,
        metadata={},
    )


charges = st.builds(
    lambda status, amount, share: charge(status, amount, min(amount, share)),
    st.sampled_from(["succeeded", "pending", "failed"]),
    st.integers(1, 10**8),
    st.integers(0, 10**8),
)


@given(STATUSES, charges)
def test_every_decision_is_a_transition_of_the_table(status, stripe_charge):
    target = decide(status, stripe_charge.amount_cents, stripe_charge)
    assert target is None or (status, target) in TRANSITIONS


@given(STATUSES, charges)
def test_the_store_ends_as_stripe_has_the_money(status, stripe_charge):
    """After deciding, the purchase gives access exactly when Stripe holds the buyer's money."""
    target = decide(status, stripe_charge.amount_cents, stripe_charge) or status
    kept = stripe_charge.succeeded and stripe_charge.amount_refunded_cents < stripe_charge.amount_cents
    if stripe_charge.status == "pending":
        assert target == status, "a pending charge decides nothing"
    elif status == PurchaseStatus.REFUNDED:
        assert target == status, "a refund is final (the store made it, or recorded Stripe's)"
    elif kept:
        # Refunded is final: the store refunds only through Stripe, so an unrefunded charge there is
        # Stripe's view lagging behind, not money to hand back to the buyer's library.
        assert target == (PurchaseStatus.REFUNDED if status == PurchaseStatus.REFUNDED else PurchaseStatus.PAID)
    elif stripe_charge.succeeded:
        assert target == PurchaseStatus.REFUNDED, "refunded in full, whatever the store thought before"
    else:
        assert target != PurchaseStatus.PAID or status == PurchaseStatus.PAID


@given(charges)
def test_a_refunded_purchase_is_never_paid_again(stripe_charge):
    assert decide(PurchaseStatus.REFUNDED, stripe_charge.amount_cents, stripe_charge) is None


def test_only_settlement_writes_a_status():
    """No assignment to ``….status``, and no ``status=`` in an UPDATE of purchases, outside settlement.py."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "settlement.py":
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, (ast.AugAssign, ast.AnnAssign))
                else []
            )
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "status" and _is_purchase(target.value):
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "values"
                and "update(Purchase)" in ast.unparse(node)
            ):
                if any(k.arg == "status" for k in node.keywords):
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []


def _is_purchase(node):
    name = ast.unparse(node)
    return "purchase" in name.lower() or name in ("holder", "existing")


def test_a_succeeded_payment_intent_without_its_charge_decides_nothing():
    """Its refunds cannot be known without the charge, so it is never taken as paid: the purchase is
    left for the webhook or reconcile, which fetch it whole."""
    from types import SimpleNamespace

    import pytest

    from album_store.services.payments import PaymentIntent, PaymentUnavailable
    from album_store.services.purchases.settlement import Settlement

    intent = PaymentIntent(
        id="pi_1",
        status="succeeded",
        amount_cents=999,
        currency="usd",
        client_secret=None,
        metadata={},
        charge=None,
        error_code=None,
        decline_code=None,
        error_message=None,
    )
    purchase = SimpleNamespace(id=1, status=PurchaseStatus.PENDING, amount_cents=999)
    with pytest.raises(PaymentUnavailable):
        Settlement(None, None, None).settle_by_intent(purchase, intent)
    assert purchase.status == PurchaseStatus.PENDING
