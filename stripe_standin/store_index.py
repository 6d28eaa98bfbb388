"""Lookups in localstripe's store that do not grow with it.

localstripe keeps every object in one dict (``"charge:ch_…"``, ``"token:tok_…"``, ``"event:evt_…"``…)
and lists a kind by scanning all of it: ``Charge.refunds`` (read by ``amount_refunded`` and
``refunded``, so three times for every charge exported) scanned every object in the store for the
charge's refunds. With a token, a charge, a balance transaction and an event or two per checkout, the
charge a benchmark made after 3,000 others took about 20× the first one. Here the store also keeps,
as objects are put in and taken out:

- each kind's objects, in the store's own order (what a scan that keeps the keys starting with
  ``"{kind}:"`` finds, in the order it finds them);
- each charge's refunds, in the order they were made.

Answers are the same objects in the same order as before (``tests/standin``); only the time changes.
"""

from localstripe import resources as ls_resources
from localstripe.errors import UserError

#: kind -> {store key: object}, in the store's insertion order.
_BY_KIND = {}
#: charge id -> {store key: refund}, in the order the refunds were made.
_REFUNDS_BY_CHARGE = {}
#: Refunds put in the store whose charge is not known yet (localstripe stores an object before its
#: ``__init__`` sets its fields): filed under their charge at the next look-up.
_UNFILED_REFUNDS = {}


def _kind(key):
    # Only "{kind}:{id}" keys are found by a kind's scan (the balance's key, "balance", is not).
    if isinstance(key, str):
        kind, colon, _ = key.partition(":")
        if colon:
            return kind
    return None


def _added(key, value):
    kind = _kind(key)
    if kind is None:
        return
    _BY_KIND.setdefault(kind, {})[key] = value
    if kind == "refund":
        _UNFILED_REFUNDS[key] = value


def _removed(key):
    kind = _kind(key)
    if kind is None:
        return
    value = _BY_KIND.get(kind, {}).pop(key, None)
    _UNFILED_REFUNDS.pop(key, None)
    if kind == "refund" and value is not None:
        _REFUNDS_BY_CHARGE.get(getattr(value, "charge", None), {}).pop(key, None)


def _cleared():
    _BY_KIND.clear()
    _REFUNDS_BY_CHARGE.clear()
    _UNFILED_REFUNDS.clear()


def objects_of(kind):
    """The store's objects of ``kind`` (``"charge"``, ``"refund"``…), in the store's order: what
    ``[v for k, v in store.items() if k.startswith(kind + ":")]`` gives."""
    return list(_BY_KIND.get(kind, {}).values())


def refunds_of(charge_id):
    """The refunds of a charge, in the store's order."""
    for key, refund in list(_UNFILED_REFUNDS.items()):
        if not hasattr(refund, "charge"):
            break  # still being made: it and every later one wait, so the order stays the store's
        del _UNFILED_REFUNDS[key]
        _REFUNDS_BY_CHARGE.setdefault(refund.charge, {})[key] = refund
    return list(_REFUNDS_BY_CHARGE.get(charge_id, {}).values())


class IndexedStore(ls_resources.Store):
    """localstripe's store, keeping the indexes above for the one store instance."""

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        _added(key, value)

    def __delitem__(self, key):
        super().__delitem__(key)
        _removed(key)

    def clear(self):
        super().clear()
        _cleared()

    def pop(self, key, *default):
        found = key in self
        value = super().pop(key, *default)
        if found:
            _removed(key)
        return value

    def popitem(self):
        key, value = super().popitem()
        _removed(key)
        return key, value

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value


def _api_list_all(cls, url, limit=None, starting_after=None, **kwargs):
    """localstripe's ``StripeObject._api_list_all``, from the kind's index instead of a scan."""
    if kwargs:
        raise UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
    li = ls_resources.List(url, limit=limit, starting_after=starting_after)
    li._list = objects_of(cls.object)
    return li


def _refund_list_all(cls, url, charge=None, payment_intent=None, limit=None, starting_after=None):
    """localstripe's ``Refund._api_list_all`` (same checks, same answer), from the charge's refunds."""
    try:
        if charge is not None:
            assert type(charge) is str and charge.startswith("ch_")
            assert payment_intent is None
        elif payment_intent is not None:
            assert type(payment_intent) is str and payment_intent.startswith("pi_")
            payment_intent_obj = ls_resources.PaymentIntent._api_retrieve(payment_intent)
            charge = payment_intent_obj.latest_charge.id
    except AssertionError:
        raise UserError(400, "Bad request") from None

    if charge is None:
        li = ls_resources.StripeObject._api_list_all.__func__(cls, url, limit=limit, starting_after=starting_after)
    else:
        li = ls_resources.List(url, limit=limit, starting_after=starting_after)
        ls_resources.Charge._api_retrieve(charge)  # to return 404 if not existant
        li._list = refunds_of(charge)
    li._list.sort(key=lambda i: i.date, reverse=True)
    return li


def install():
    """Index localstripe's store (the one instance every module shares) and its listings. Idempotent;
    call it before any object is made (the store is re-indexed from what it holds, in its order)."""
    store = ls_resources.store
    if type(store) is not IndexedStore:
        store.__class__ = IndexedStore
        _cleared()
        for key, value in dict.items(store):
            _added(key, value)
    ls_resources.StripeObject._api_list_all = classmethod(_api_list_all)
    ls_resources.Refund._api_list_all = classmethod(_refund_list_all)
