"""Where the stand-in is as strict as Stripe: unknown parameters (from the pinned SDK's own types),
search lag, concurrent requests with one idempotency key, charges left pending, webhook delivery
delayed, duplicated, reordered or held."""

import json

import pytest
import stripe

from .conftest import PUBLISHABLE_KEY, SECRET_KEY, make_client
from .test_standin import charge, http

pytestmark = [pytest.mark.standin_only, pytest.mark.stripe]

AUTH = {"Authorization": f"Bearer {SECRET_KEY}"}


# ---------------------------------------------------------------- unknown parameters


def _refused(call):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        call()
    error = refused.value
    assert error.http_status == 400
    assert error.error.type == "invalid_request_error"
    assert error.user_message == f"Received unknown parameter: {error.param}"
    return error.param


def test_unknown_top_level_charge_parameter_is_refused(client):
    assert _refused(lambda: charge(client, "tok_visa", colour="blue")) == "colour"
    assert client.v1.charges.list().data == []  # nothing was charged


def test_unknown_nested_parameter_is_named_by_its_bracketed_path(client):
    shipping = {"name": "Ana", "address": {"line1": "1 Main St", "colour": "blue"}}
    assert _refused(lambda: charge(client, "tok_visa", shipping=shipping)) == "shipping[address][colour]"


def test_free_form_metadata_takes_any_key(client):
    made = charge(client, "tok_visa", metadata={"anything_at_all": "x", "purchase_ref": "abc"})
    assert made.metadata["anything_at_all"] == "x"


def test_the_exact_stripe_shape_over_http(url):
    status, _, body = http(
        "POST",
        f"{url}/v1/charges",
        headers=AUTH,
        data={"amount": 999, "currency": "usd", "source": "tok_visa", "card[foo]": "1"},
    )
    assert status == 400
    error = json.loads(body)["error"]
    assert (error["type"], error["message"], error["param"]) == (
        "invalid_request_error",
        "Received unknown parameter: card",
        "card",
    )


def test_payment_method_types_is_gone_in_the_pinned_api_version(client):
    assert stripe.api_version == "2026-10-28.endive"
    params = {"amount": 1299, "currency": "usd", "payment_method_types": ["card"]}
    assert _refused(lambda: client.v1.payment_intents.create(params=params)) == "payment_method_types"
    intent = client.v1.payment_intents.create(
        params={"amount": 1299, "currency": "usd", "allowed_payment_method_types": ["card"]}
    )
    assert intent.payment_method_types == ["card"] and intent.status == "requires_payment_method"


def test_unknown_parameters_on_search_retrieve_confirm_cancel_refund_and_tokens(client):
    made = charge(client, "tok_visa")
    assert _refused(lambda: client.v1.charges.search(params={"query": "amount>1", "sort": "x"})) == "sort"
    assert _refused(lambda: client.v1.charges.retrieve(made.id, params={"colour": "x"})) == "colour"
    assert _refused(lambda: client.v1.refunds.create(params={"charge": made.id, "colour": "x"})) == "colour"
    assert (
        _refused(
            lambda: client.v1.tokens.create(
                params={"card": {"number": "4242424242424242", "exp_month": "12", "exp_year": "2034", "colour": "x"}}
            )
        )
        == "card[colour]"
    )
    intent = client.v1.payment_intents.create(params={"amount": 1299, "currency": "usd"})
    assert (
        _refused(
            lambda: client.v1.payment_intents.confirm(
                intent.id, params={"payment_method": "pm_card_visa", "colour": "x"}
            )
        )
        == "colour"
    )
    assert _refused(lambda: client.v1.payment_intents.cancel(intent.id, params={"colour": "x"})) == "colour"
    assert _refused(lambda: client.v1.payment_intents.search(params={"query": "amount>1", "colour": "x"})) == "colour"


def test_browser_only_names_only_with_the_publishable_key(url):
    card = {
        "card[number]": "4242424242424242",
        "card[exp_month]": "12",
        "card[exp_year]": "2034",
        "card[cvc]": "123",
        "payment_user_agent": "test",
        "email": "buyer@example.com",
    }
    status, _, body = http("POST", f"{url}/v1/tokens", data={**card, "key": PUBLISHABLE_KEY})
    assert status == 200, body
    # The same telemetry from a server (secret key) is not a parameter of POST /v1/tokens.
    status, _, body = http("POST", f"{url}/v1/tokens", data=card, headers=AUTH)
    assert status == 400 and json.loads(body)["error"]["param"] in ("payment_user_agent", "email")


def test_client_secret_on_confirm_only_from_a_browser(client, url):
    intent = client.v1.payment_intents.create(params={"amount": 1299, "currency": "usd"})
    assert (
        _refused(
            lambda: client.v1.payment_intents.confirm(
                intent.id, params={"payment_method": "pm_card_visa", "client_secret": intent.client_secret}
            )
        )
        == "client_secret"
    )
    browser = make_client(url, key=PUBLISHABLE_KEY, retries=0)
    done = browser.v1.payment_intents.confirm(
        intent.id, params={"payment_method": "pm_card_visa", "client_secret": intent.client_secret}
    )
    assert done.status == "succeeded"


def test_known_parameters_come_from_the_sdks_types():
    from stripe._request_options import RequestOptions
    from stripe.params import ChargeCreateParams, PaymentIntentCreateParams

    from stripe_standin import params

    for cls in (ChargeCreateParams, PaymentIntentCreateParams):
        assert params.known(cls.__name__) == set(cls.__annotations__) - set(RequestOptions.__annotations__)
    assert "idempotency_key" not in params.known("ChargeCreateParams")
    assert "payment_method_types" not in params.known("PaymentIntentCreateParams")


# ---------------------------------------------------------------- one idempotency key, two requests at once


def _two_at_once(url, retries, delay=0.8):
    """Two threads charge with one key; the first answers ``delay`` s late (a slow request)."""
    import threading
    import time

    from stripe_standin.process import inject_fault

    inject_fault(url, count=1, status=0, when="after", delay=delay)
    outcomes = {}

    def buy(name):
        try:
            outcomes[name] = charge(make_client(url, retries=retries), "tok_visa", key="double-click")
        except stripe.StripeError as exc:
            outcomes[name] = exc

    first = threading.Thread(target=buy, args=("first",))
    first.start()
    time.sleep(0.2)
    second = threading.Thread(target=buy, args=("second",))
    second.start()
    first.join(10)
    second.join(10)
    return outcomes["first"], outcomes["second"]


def test_a_second_request_while_the_first_is_in_flight_gets_409(url, client):
    first, second = _two_at_once(url, retries=0)
    assert first.status == "succeeded"
    # The SDK raises a 409 as an APIError (v1 maps only 400/404 to InvalidRequestError).
    assert isinstance(second, stripe.APIError), second
    assert second.http_status == 409
    error = second.json_body["error"]
    assert error["code"] == "idempotency_key_in_use" and error["type"] == "invalid_request_error"
    assert error["message"].startswith("There is currently another in-progress request using this Idempotent Key")
    assert [c.id for c in client.v1.charges.list().data] == [first.id]


def test_the_sdk_retries_the_409_and_gets_the_first_answer_replayed(url, client):
    first, second = _two_at_once(url, retries=2)
    assert second.id == first.id
    assert second.last_response.headers.get("idempotent-replayed") == "true"
    assert len(client.v1.charges.list().data) == 1


# ---------------------------------------------------------------- search lag


def test_search_lag_hides_young_objects_and_old_states(url, client):
    import time

    from stripe_standin.process import clear_faults, set_search_lag

    query = {"query": "metadata['purchase_ref']:'lag1'"}
    old = charge(client, "tok_visa", metadata={"purchase_ref": "lag1"})
    assert set_search_lag(url, 0.8) == 0.8
    young = charge(client, "tok_visa", metadata={"purchase_ref": "lag1"})
    assert [c.id for c in client.v1.charges.search(params=query).data] == [old.id]  # too young to be found
    client.v1.refunds.create(params={"charge": old.id})
    refunded = {"query": "metadata['purchase_ref']:'lag1' AND refunded:'true'"}
    assert client.v1.charges.search(params=refunded).data == []  # indexed before its refund
    time.sleep(0.9)
    assert {c.id for c in client.v1.charges.search(params=query).data} == {old.id, young.id}
    assert [c.id for c in client.v1.charges.search(params=refunded).data] == [old.id]
    # PaymentIntents likewise; clear_faults (the suite's `faults` fixture) turns the lag off.
    set_search_lag(url, 30)
    intent = client.v1.payment_intents.create(
        params={"amount": 1299, "currency": "usd", "metadata": {"purchase_ref": "lag2"}}
    )
    pi_query = {"query": "metadata['purchase_ref']:'lag2'"}
    assert client.v1.payment_intents.search(params=pi_query).data == []
    assert client.v1.payment_intents.retrieve(intent.id).id == intent.id  # retrieve is read-after-write
    clear_faults(url)
    assert [p.id for p in client.v1.payment_intents.search(params=pi_query).data] == [intent.id]


def test_search_lag_is_off_by_default(url, client):
    made = charge(client, "tok_visa", metadata={"purchase_ref": "now1"})
    found = client.v1.charges.search(params={"query": "metadata['purchase_ref']:'now1'"}).data
    assert [c.id for c in found] == [made.id]


# ---------------------------------------------------------------- webhook delivery


@pytest.fixture
def hooks(url):
    """A webhook endpoint recording what the stand-in delivers: ``hooks.wait(n)`` -> [(type, id, t)]."""
    import http.server
    import threading
    import time

    from stripe_standin.process import register_webhook

    got, lock = [], threading.Condition()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            event = stripe.Webhook.construct_event(body, self.headers["Stripe-Signature"], "whsec_test")
            with lock:
                got.append((event.type, event.id, event.data.object.id))
                lock.notify_all()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    register_webhook(
        url,
        "strictness",
        f"http://127.0.0.1:{server.server_port}/",
        "whsec_test",
        events=["charge.succeeded", "charge.failed", "charge.refunded"],
    )

    class Hooks:
        def wait(self, n, timeout=6.0):
            deadline = time.monotonic() + timeout
            with lock:
                while len(got) < n and time.monotonic() < deadline:
                    lock.wait(0.05)
                return list(got)

        @property
        def got(self):
            with lock:
                return list(got)

    yield Hooks()
    register_webhook(url, "strictness", "http://127.0.0.1:9/", "whsec_test", events=[])  # off
    server.shutdown()


def test_webhooks_held_then_released_on_demand_in_reverse(url, client, hooks):
    import time

    from stripe_standin.process import held_webhooks, release_webhooks, set_webhook_delivery

    set_webhook_delivery(url, hold=True)
    first = charge(client, "tok_visa")
    client.v1.refunds.create(params={"charge": first.id})
    time.sleep(1.3)  # the usual delivery time has passed: nothing came
    assert hooks.got == []
    assert [e["type"] for e in held_webhooks(url)] == ["charge.succeeded", "charge.refunded"]
    released = release_webhooks(url, order="reverse")
    assert [e["type"] for e in released] == ["charge.refunded", "charge.succeeded"]
    assert [t for t, _, _ in hooks.got] == ["charge.refunded", "charge.succeeded"]  # delivered already
    assert held_webhooks(url) == []


def test_webhooks_released_one_type_at_a_time(url, client, hooks):
    from stripe_standin.process import release_webhooks, set_webhook_delivery

    set_webhook_delivery(url, hold=True)
    paid = charge(client, "tok_visa")
    with pytest.raises(stripe.CardError):
        charge(client, "tok_chargeDeclined")
    assert [e["type"] for e in release_webhooks(url, types=["charge.failed"])] == ["charge.failed"]
    assert [t for t, _, _ in hooks.got] == ["charge.failed"]
    release_webhooks(url)
    assert hooks.got[-1] == ("charge.succeeded", hooks.got[-1][1], paid.id)


def test_webhooks_duplicated(url, client, hooks):
    from stripe_standin.process import set_webhook_delivery

    set_webhook_delivery(url, duplicate=True)
    made = charge(client, "tok_visa")
    got = hooks.wait(2)
    assert len(got) == 2 and got[0] == got[1] and got[0][2] == made.id  # the same event id twice


def test_webhooks_delayed(url, client, hooks):
    import time

    from stripe_standin.process import set_webhook_delivery

    set_webhook_delivery(url, delay=1.0)
    charge(client, "tok_visa")
    time.sleep(1.5)
    assert hooks.got == []  # the usual ~1 s has passed
    assert len(hooks.wait(1, timeout=3)) == 1


def test_webhooks_shuffled_with_a_seed_every_n(url, client, hooks):
    from stripe_standin import webhook_delivery
    from stripe_standin.process import set_webhook_delivery

    set_webhook_delivery(url, hold=True, hold_count=3, order="shuffle", seed=7)
    ids = [charge(client, "tok_visa").id for _ in range(3)]
    got = [obj for _, _, obj in hooks.wait(3)]
    assert sorted(got) == sorted(ids)
    assert got == webhook_delivery.arrange(ids, "shuffle", 7)


def test_clear_faults_goes_back_to_prompt_single_deliveries(url, client, hooks):
    from stripe_standin.process import clear_faults, held_webhooks, set_webhook_delivery

    set_webhook_delivery(url, hold=True, duplicate=True)
    charge(client, "tok_visa")
    clear_faults(url)
    assert held_webhooks(url) == []
    charge(client, "tok_visa")
    assert len(hooks.wait(1)) == 1


# ---------------------------------------------------------------- charges left pending


def test_a_pending_charge_succeeds_later_with_its_webhook(url, client, hooks):
    from stripe_standin.process import settle_charge

    made = charge(client, "tok_standin_pending")
    assert made.status == "pending" and client.v1.charges.retrieve(made.id).status == "pending"
    assert settle_charge(url, made.id, "succeeded")["status"] == "succeeded"
    assert client.v1.charges.retrieve(made.id).status == "succeeded"
    assert ("charge.succeeded", made.id) in [(t, obj) for t, _, obj in hooks.wait(1)]


def test_a_pending_charge_can_fail_later(url, client, hooks):
    from stripe_standin.process import StandinError, settle_charge

    made = charge(client, "tok_standin_pending")
    settle_charge(url, made.id, "failed")
    failed = client.v1.charges.retrieve(made.id)
    assert (failed.status, failed.failure_code) == ("failed", "card_declined")
    assert ("charge.failed", made.id) in [(t, obj) for t, _, obj in hooks.wait(1)]
    with pytest.raises(StandinError):
        settle_charge(url, made.id, "succeeded")  # no longer pending
