"""The stand-in's aiohttp application: localstripe's routes plus our layer.

``build_app()`` makes a fresh ``aiohttp.web.Application`` whose routes are
ours first (tokens, charges, refunds, search, PaymentIntents, Checkout Sessions and their hosted
page, fault injection, checkout.js)
and then every localstripe route we do not replace. Middlewares, outermost
first: ours (faults, idempotency, request ids, Stripe-shaped errors), then
localstripe's error and auth middlewares. localstripe's
``save_store_middleware`` and its pickle file are left out: the store lives
in this process's memory only.
"""

import asyncio
import json
import logging
import os
import re
import secrets
import signal
import socket
import sys

import localstripe
from aiohttp import web
from localstripe import resources as ls_resources
from localstripe import server as ls_server

from . import (
    PINNED_LOCALSTRIPE,
    charges,
    checkout,
    checkout_page,
    checkout_sessions,
    params,
    payment_intents,
    refunds,
    store_index,
    stripe_js,
    tokens,
    webhook_delivery,
)
from .errors import StripeError
from .faults import FaultError, Faults
from .idempotency import (
    MAX_KEY_LENGTH,
    Entry,
    IdempotencyCache,
    fingerprint,
    key_in_use_error,
    key_too_long_error,
    mismatch_error,
    should_store,
)
from .search_lag import INDEX as SEARCH_INDEX
from .webhook_delivery import DELIVERY, DeliveryError

log = logging.getLogger("stripe_standin")

READY_LINE = "stripe-standin listening on http://127.0.0.1:{port}"
OWN_PREFIXES = ("/_standin/", "/checkout.js", "/checkout/", "/js.stripe.com/")


def check_localstripe_version():
    found = getattr(localstripe, "__version__", None)
    if found != PINNED_LOCALSTRIPE:
        raise RuntimeError(
            f"stripe_standin is pinned to localstripe=={PINNED_LOCALSTRIPE} "
            f"but found localstripe {found}; install "
            f"localstripe=={PINNED_LOCALSTRIPE} (its compatibility patches "
            "depend on that version's internals)."
        )


def disable_pickle():
    """localstripe rewrites /tmp/localstripe.pickle on every write: stop it."""
    ls_resources.Store.dump_to_disk = lambda self: None
    ls_resources.Store.try_load_from_disk = lambda self: None


class State:
    def __init__(self):
        self.faults = Faults()
        self.idempotency = IdempotencyCache()

    def reset(self):
        self.faults.clear()
        self.idempotency.clear()
        SEARCH_INDEX.clear()
        DELIVERY.reset()
        DELIVERY.forget_in_flight()


def searchable_objects():
    return charges.all_charges() + payment_intents.all_payment_intents()


STATE = web.AppKey("standin_state", State)


def new_request_id():
    return "req_" + secrets.token_urlsafe(10).replace("-", "x").replace("_", "y")


# ------------------------------------------------------------ api keys


async def api_key_of(request):
    """The key a request authenticates with (sk_ header or pk_ `key`)."""
    key = ls_server.get_api_key(request)
    if key:
        return key
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer pk_"):
        return header[len("Bearer ") :]
    if request.method == "GET" and request.query.get("key", "").startswith("pk_"):
        return request.query["key"]
    if request.method == "POST":
        try:
            data = await ls_server.get_post_data(request, remove_auth=False)
        except Exception:
            return None
        if isinstance(data, dict) and isinstance(data.get("key"), str) and data["key"].startswith("pk_"):
            return data["key"]
    return None


# ------------------------------------------------------------ middlewares

_RESOURCE_PATH = re.compile(r"^/v1/([a-z_]+)s/([A-Za-z0-9_]+)$")


def _stripe_error_from_http(exc, request):
    if exc.status == 404:
        return StripeError(
            404,
            f"Unrecognized request URL ({request.method}: "
            f"{request.path}). Please see https://stripe.com/docs or we "
            "can help at https://support.stripe.com/.",
        )
    if exc.status == 405:
        return StripeError(
            405,
            f"Unrecognized request URL ({request.method}: {request.path}). This URL does not support {request.method}.",
        )
    return StripeError(
        exc.status, exc.reason or "Error", type="api_error" if exc.status >= 500 else "invalid_request_error"
    )


def _rewrite_not_found(request, response):
    """localstripe says "Not Found"; Stripe says "No such charge: 'ch_…'"."""
    m = _RESOURCE_PATH.match(request.path)
    if not m or not isinstance(response, web.Response) or not response.body:
        return response
    try:
        body = json.loads(response.body)
    except ValueError:
        return response
    if body.get("error", {}).get("message") != "Not Found":
        return response
    obj, id = m.group(1), m.group(2)
    return StripeError(404, f"No such {obj}: '{id}'", code="resource_missing", param="id").to_response()


async def _call(request, handler):
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        return _stripe_error_from_http(exc, request).to_response()
    except StripeError as exc:
        return exc.to_response()
    except Exception:
        log.exception("stand-in error on %s %s", request.method, request.path)
        return StripeError(
            500, "An unexpected error occurred in the local Stripe stand-in.", type="api_error"
        ).to_response()
    if response.status == 404:
        response = _rewrite_not_found(request, response)
    return response


def _browser_may_call(request):
    route = f"{request.method} {request.path}"
    return route == "POST /v1/tokens" or bool(payment_intents.PUBLISHABLE_PATHS.match(route))


async def _check_params(request):
    """Stripe's 400 for a parameter the pinned SDK's API version does not know (see params.py)."""
    if params.params_type_for(request.method, request.path) is None:
        return None
    try:
        if request.method == "GET":
            data = ls_server.unflatten_data(request.query)
        else:
            data = await ls_server.get_post_data(request, remove_auth=False)
    except Exception:
        return None  # unreadable: the handler answers as before
    key = await api_key_of(request)
    publishable = bool(key) and key.startswith("pk_")
    if not key or (publishable and not _browser_may_call(request)):
        return None  # authentication comes first: the auth middleware answers 401
    try:
        params.check(request.method, request.path, data, publishable=publishable)
    except StripeError as exc:
        return exc.to_response()
    return None


async def _v1(request, handler, state, request_id):
    fault = state.faults.take(request.method, request.path)
    if fault is not None and fault.when == "before":
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.status:
            return fault.error()
        fault = None

    # Validation comes before idempotency: as on Stripe, a refused request is not saved.
    refused = await _check_params(request)
    if refused is not None:
        return refused

    delayed = False
    key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
    api_key = await api_key_of(request) if key is not None else None
    if key is not None and len(key) > MAX_KEY_LENGTH:
        return key_too_long_error().to_response()

    if key is None or api_key is None:
        response = await _call(request, handler)
    else:
        cache = state.idempotency
        slot = (api_key, key)
        fp = await fingerprint(request)
        if cache.in_flight(slot):
            # Stripe does not queue a second request with a key still in flight: it answers 409
            # (the SDK retries a 409, and then gets the first request's answer replayed).
            return key_in_use_error(key).to_response(headers={"Idempotency-Key": key})
        entry = cache.get(slot)
        if entry is not None:
            if entry.fingerprint != fp:
                return mismatch_error(key).to_response(headers={"Idempotency-Key": key})
            cache.note(request.method, request.path, key, entry.status, entry.body, replayed=True)
            return web.Response(
                body=entry.body,
                status=entry.status,
                content_type=entry.content_type,
                headers={"Idempotent-Replayed": "true", "Original-Request": entry.request_id, "Idempotency-Key": key},
            )
        with cache.executing(slot):
            response = await _call(request, handler)
            if fault is not None and fault.delay:
                # The work is done; the answer is slow. The key stays in flight meanwhile.
                await asyncio.sleep(fault.delay)
                delayed = True
            if isinstance(response, web.Response) and response.body is not None and should_store(response.status):
                cache.put(slot, Entry(fp, response.status, response.body, response.content_type, request_id))
        response.headers["Idempotency-Key"] = key
        cache.note(
            request.method,
            request.path,
            key,
            response.status,
            response.body if isinstance(response, web.Response) else None,
        )

    if fault is not None:  # when == "after"
        if fault.delay and not delayed:
            await asyncio.sleep(fault.delay)
        if fault.status:
            return fault.error()
    return response


@web.middleware
async def standin_middleware(request, handler):
    state = request.app[STATE]
    path = request.path
    if not path.startswith("/v1/"):
        response = await handler(request)
        if path == "/_config/data" and request.method == "DELETE" and response.status < 300:
            state.reset()
        return response
    request_id = new_request_id()
    try:
        response = await _v1(request, handler, state, request_id)
    finally:
        if SEARCH_INDEX.lag:  # note when each object was written
            SEARCH_INDEX.refresh(searchable_objects())
    response.headers["Request-Id"] = request_id
    return response


@web.middleware
async def auth_middleware(request, handler):
    """localstripe's auth, except for the stand-in's own public pages."""
    if request.path == "/" or request.path.startswith(OWN_PREFIXES):
        return await handler(request)
    if payment_intents.PUBLISHABLE_PATHS.match(f"{request.method} {request.path}"):
        # Stripe.js's calls: a publishable key will do (the handler checks the client secret).
        key = await api_key_of(request)
        if key and key.startswith(("pk_", "sk_")):
            return await handler(request)
    return await ls_server.auth_middleware(request, handler)


# ------------------------------------------------------------ own endpoints


async def health(request):
    return web.Response(text="ok")


async def info(request):
    return web.json_response({"localstripe": localstripe.__version__, "pickle": False})


async def index(request):
    return web.Response(
        text=(
            "stripe-standin: a local Stripe stand-in for development and tests "
            "(localstripe + a compatibility layer). API under /v1/, legacy "
            "Checkout at /checkout.js, test controls under /_standin/.\n"
        )
    )


async def _fields(request):
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="invalid JSON") from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        return data
    return dict(await request.post())


async def faults_add(request):
    fields = await _fields(request)
    allowed = {"count", "status", "when", "path_prefix", "method", "delay", "message", "should_retry"}
    unknown = sorted(set(fields) - allowed)
    if unknown:
        return web.json_response({"error": {"message": f"unknown field(s): {', '.join(unknown)}"}}, status=400)
    try:
        fault = request.app[STATE].faults.add(**fields)
    except FaultError as exc:
        return web.json_response({"error": {"message": str(exc)}}, status=400)
    return web.json_response(fault.to_dict())


async def faults_list(request):
    return web.json_response({"data": request.app[STATE].faults.list()})


async def faults_clear(request):
    """Back to a well-behaved Stripe: no faults, no search lag (what each test starts from)."""
    request.app[STATE].faults.clear()
    SEARCH_INDEX.clear()
    DELIVERY.reset()
    return web.json_response({"data": []})


async def charge_settle(request):
    fields = await _fields(request)
    try:
        charge = charges.settle_charge(request.match_info["id"], fields.get("outcome"))
    except StripeError as exc:
        return exc.to_response()
    if SEARCH_INDEX.lag:
        SEARCH_INDEX.refresh(searchable_objects())
    return web.json_response(charge._export())


async def payment_intent_settle(request):
    """A ``processing`` PaymentIntent (the delayed test card) gets the bank's answer: ``outcome``
    ``succeeded`` or ``failed``, with its events."""
    fields = await _fields(request)
    try:
        intent = payment_intents._retrieve(request.match_info["id"])
        payment_intents.settle(intent, fields.get("outcome"))
    except StripeError as exc:
        return exc.to_response()
    if SEARCH_INDEX.lag:
        SEARCH_INDEX.refresh(searchable_objects())
    return web.json_response(intent._export())


async def webhooks_get(request):
    return web.json_response(DELIVERY.to_dict())


async def webhooks_set(request):
    try:
        return web.json_response(DELIVERY.configure(**await _fields(request)))
    except DeliveryError as exc:
        return web.json_response({"error": {"message": str(exc)}}, status=400)


async def webhooks_reset(request):
    DELIVERY.reset()
    return web.json_response(DELIVERY.to_dict())


async def webhooks_release(request):
    fields = await _fields(request) if request.can_read_body else {}
    unknown = sorted(set(fields) - {"count", "order", "seed", "types"})
    if unknown:
        return web.json_response({"error": {"message": f"unknown field(s): {', '.join(unknown)}"}}, status=400)
    types = fields.get("types")
    if isinstance(types, str):
        types = [t for t in types.split(",") if t]
    try:
        count = int(fields["count"]) if fields.get("count") not in (None, "") else None
        released = await DELIVERY.release(count=count, order=fields.get("order"), seed=fields.get("seed"), types=types)
    except (DeliveryError, TypeError, ValueError) as exc:
        return web.json_response({"error": {"message": str(exc)}}, status=400)
    return web.json_response({"data": released})


async def idempotency_get(request):
    """Read-only, for tests: each API request made with an ``Idempotency-Key`` (replays too), oldest
    first, optionally only those to ``?path=``: method, path, key, status, the answer's object id and
    whether it was replayed. Stripe shows the same in its dashboard's request log."""
    path = request.query.get("path")
    log = request.app[STATE].idempotency.log
    return web.json_response({"data": [entry for entry in log if path is None or entry["path"] == path]})


async def search_lag_get(request):
    return web.json_response({"seconds": SEARCH_INDEX.lag})


async def search_lag_set(request):
    fields = await _fields(request)
    unknown = sorted(set(fields) - {"seconds"})
    if unknown or "seconds" not in fields:
        return web.json_response({"error": {"message": "expected exactly one field: seconds"}}, status=400)
    try:
        SEARCH_INDEX.set_lag(fields["seconds"], searchable_objects())
    except (TypeError, ValueError) as exc:
        return web.json_response({"error": {"message": str(exc)}}, status=400)
    return web.json_response({"seconds": SEARCH_INDEX.lag})


# ------------------------------------------------------------ the app

OVERRIDES = [
    ("POST", "/v1/tokens", tokens.create_token),
    ("POST", "/v1/charges", charges.create_charge),
    ("GET", "/v1/charges", charges.list_charges),
    ("GET", "/v1/charges/search", charges.search_charges),
    ("POST", "/v1/refunds", refunds.create_refund),
    *payment_intents.ROUTES,
    *checkout_sessions.ROUTES,
    *stripe_js.ROUTES,
]


def build_app():
    check_localstripe_version()
    disable_pickle()
    store_index.install()
    webhook_delivery.install()
    app = web.Application(middlewares=[standin_middleware, ls_server.error_middleware, auth_middleware])
    app[STATE] = State()
    app.on_response_prepare.append(ls_server.add_cors_headers)

    router = app.router
    router.add_get("/", index)
    router.add_get("/_standin/health", health)
    router.add_get("/_standin/info", info)
    router.add_get("/_standin/faults", faults_list)
    router.add_post("/_standin/faults", faults_add)
    router.add_delete("/_standin/faults", faults_clear)
    router.add_get("/_standin/search_lag", search_lag_get)
    router.add_get("/_standin/idempotency", idempotency_get)
    router.add_get("/_standin/webhooks", webhooks_get)
    router.add_post("/_standin/charges/{id}/settle", charge_settle)
    router.add_post("/_standin/payment_intents/{id}/settle", payment_intent_settle)
    router.add_post("/_standin/webhooks", webhooks_set)
    router.add_delete("/_standin/webhooks", webhooks_reset)
    router.add_post("/_standin/webhooks/release", webhooks_release)
    router.add_post("/_standin/search_lag", search_lag_set)
    checkout.add_routes(router)
    checkout_page.add_routes(router)

    taken = set()
    for method, path, handler in OVERRIDES:
        router.add_route(method, path, handler)
        taken.add((method, path))
        if method == "GET":
            taken.add(("HEAD", path))
    # localstripe's routes, in their order (extra routes first), minus ours.
    for route in ls_server.app.router.routes():
        path = route.resource.canonical
        if (route.method, path) in taken:
            continue
        if route.method == "HEAD":
            continue  # the API has no use for HEAD
        router.add_route(route.method, path, route.handler)
    return app


async def serve(port=0, access_log=False, ready=None):
    """Listen on 127.0.0.1:port until SIGINT/SIGTERM. Prints the ready line."""
    app = build_app()
    runner = web.AppRunner(
        app, handle_signals=False, access_log=logging.getLogger("aiohttp.access") if access_log else None
    )
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        await runner.cleanup()
        raise
    site = web.SockSite(runner, sock)
    await site.start()
    bound = sock.getsockname()[1]

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    line = READY_LINE.format(port=bound)
    if ready is not None:
        ready(line)
    else:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        # Nothing else goes to stdout: whoever reads the ready line from a
        # pipe need not drain it afterwards.
        try:
            os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
