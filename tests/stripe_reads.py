"""Reading what Stripe recorded, in a way that also holds against Stripe's real test mode.

Stripe's search is eventually consistent: an object written a moment ago may not be found yet (or be
found as it was). Where the test knows an object's id (``purchase.stripe_charge_id``,
``purchase.stripe_payment_intent_id``), read it by id: ``retrieve`` and ``list`` are not lagging.
Where only search can find it (by the metadata the store sends), go through :func:`wait_for_search`:
against the stand-in (whose search lags only when a test asks, ``faults.search_lag``) it reads once;
against Stripe's test mode (``STRIPE_MODE == "stripe"``) it polls until what the test waits for is
there, or until a deadline (``STRIPE_SEARCH_DEADLINE_SECONDS``, 90 s by default).

An empty search proves nothing against real Stripe; a test that needs "nothing was charged" reads
what it can by id or lists (``newest_charge_id``), as the store's own reconcile does.
"""

import os
import time

SEARCH_DEADLINE_SECONDS = float(os.environ.get("STRIPE_SEARCH_DEADLINE_SECONDS", "90"))
POLL_SECONDS = 2.0


def _real_stripe():
    from tests.conftest import STRIPE_MODE

    return STRIPE_MODE == "stripe"


def wait_for_search(search, query, *, until=bool, deadline=None, **params):
    """``search(params={"query": query, **params}).data`` as a list, once against the stand-in; against
    Stripe's test mode again every few seconds until ``until(found)`` is true or ``deadline`` seconds
    have passed (then the last answer, for the test's own assertion to judge).

    ``until`` defaults to "found something"; pass e.g. ``lambda found: charge_id in ids(found)`` to
    wait for the very object the test knows was written."""
    deadline = SEARCH_DEADLINE_SECONDS if deadline is None else deadline
    give_up = time.monotonic() + deadline
    while True:
        found = list(search(params={"query": query, **params}).data)
        if not _real_stripe() or until(found) or time.monotonic() >= give_up:
            return found
        time.sleep(POLL_SECONDS)


def ids(objects):
    return [o.id for o in objects]


def by_reference(reference):
    """The search query for what the store sent Stripe about one purchase."""
    return f"metadata['purchase_ref']:'{reference}'"


def charges_for(stripe_client, purchase, *, until=None):
    """The charges Stripe has for ``purchase`` (by its reference). Against real Stripe, waits until the
    purchase's own charge is among them when the store recorded one, else until any is found."""
    if until is None and purchase.stripe_charge_id:

        def until(found):
            return purchase.stripe_charge_id in ids(found)

    return wait_for_search(stripe_client.v1.charges.search, by_reference(purchase.reference), until=until or bool)


def payment_intents_for(stripe_client, purchase, *, until=None):
    """The PaymentIntents Stripe has for ``purchase`` (by its reference), as :func:`charges_for`."""
    if until is None and purchase.stripe_payment_intent_id:

        def until(found):
            return purchase.stripe_payment_intent_id in ids(found)

    return wait_for_search(
        stripe_client.v1.payment_intents.search, by_reference(purchase.reference), until=until or bool
    )


def newest_charge_id(stripe_client):
    """The newest charge's id (a list, not lagging): compare it before and after a request to know
    whether the request made a charge."""
    newest = stripe_client.v1.charges.list(params={"limit": 1}).data
    return newest[0].id if newest else None
