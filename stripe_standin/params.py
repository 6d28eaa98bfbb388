"""Request parameters: read and typed as Stripe reads them, and unknown ones refused per the pinned SDK.

:func:`read_params`, :func:`pop_expand`, :func:`to_int`, :func:`to_str`, :func:`to_bool` and
:func:`to_metadata` read a request's form or query parameters and answer a wrong type with Stripe's
400 (``parameter_invalid_integer``, "Invalid string"…); :data:`EMAIL_RE` is the email check Stripe
makes on ``receipt_email``. The rest of this module refuses unknown parameters:

Stripe answers a parameter its API version does not know with a 400
``invalid_request_error`` "Received unknown parameter: NAME" (``param`` is the
bracketed path, e.g. ``card[foo]`` or ``line_items[0][foo]``). The list of
parameters an API version knows is not kept here: it is read, by
introspection, from the installed ``stripe`` SDK's generated request types
(``stripe.params.ChargeCreateParams``, ``PaymentIntentCreateParams``…), whose
API version (``stripe._api_version``) is the one the store speaks. Upgrading
the SDK upgrades the check.

How a type is read: a params TypedDict's own keys (the ``RequestOptions`` it
inherits, ``api_key``, ``idempotency_key``…, are SDK options, not request
parameters), recursing into nested TypedDicts and lists of them; a free-form
dict (``metadata``: ``Dict[str, str]``, an untyped object) takes any key.
Values are not type-checked here: the endpoints' handlers do that.

:data:`ENDPOINTS` maps each endpoint the store and the stand-in's own
checkout.js / Stripe.js use to its params type; an endpoint not listed is
not checked (as before). A browser (publishable key) sends a few names that
are not in the server-side types: :data:`BROWSER_ONLY` allows exactly those,
and only for a request made with a publishable key.
"""

import collections.abc
import functools
import re
import sys
import typing

import stripe
import stripe.params
import typing_extensions
from stripe._request_options import RequestOptions

from .errors import StripeError, invalid_integer, invalid_param, missing_param, unknown_param

API_VERSION = stripe.api_version
_OPTIONS = frozenset(RequestOptions.__annotations__)

_ID = r"[A-Za-z0-9_]+"
#: (method, path pattern, name of the params type in ``stripe.params``).
ENDPOINTS = [
    ("POST", r"/v1/tokens", "TokenCreateParams"),
    ("GET", rf"/v1/tokens/{_ID}", "TokenRetrieveParams"),
    ("POST", r"/v1/charges", "ChargeCreateParams"),
    ("GET", r"/v1/charges", "ChargeListParams"),
    ("GET", r"/v1/charges/search", "ChargeSearchParams"),
    ("GET", rf"/v1/charges/{_ID}", "ChargeRetrieveParams"),
    ("POST", rf"/v1/charges/{_ID}", "ChargeUpdateParams"),
    ("POST", r"/v1/refunds", "RefundCreateParams"),
    ("GET", rf"/v1/refunds/{_ID}", "RefundRetrieveParams"),
    ("POST", r"/v1/payment_methods", "PaymentMethodCreateParams"),
    ("GET", rf"/v1/payment_methods/{_ID}", "PaymentMethodRetrieveParams"),
    ("POST", r"/v1/payment_intents", "PaymentIntentCreateParams"),
    ("GET", r"/v1/payment_intents/search", "PaymentIntentSearchParams"),
    ("GET", rf"/v1/payment_intents/{_ID}", "PaymentIntentRetrieveParams"),
    ("POST", rf"/v1/payment_intents/{_ID}/confirm", "PaymentIntentConfirmParams"),
    ("POST", rf"/v1/payment_intents/{_ID}/cancel", "PaymentIntentCancelParams"),
    # Checkout Sessions (``stripe.params.checkout``): the hosted payment page's API.
    ("POST", r"/v1/checkout/sessions", "checkout.SessionCreateParams"),
    ("GET", r"/v1/checkout/sessions", "checkout.SessionListParams"),
    ("GET", rf"/v1/checkout/sessions/{_ID}", "checkout.SessionRetrieveParams"),
    ("POST", rf"/v1/checkout/sessions/{_ID}/expire", "checkout.SessionExpireParams"),
    ("GET", rf"/v1/checkout/sessions/{_ID}/line_items", "checkout.SessionListLineItemsParams"),
]
_COMPILED = [(method, re.compile(f"^{pattern}$"), name) for method, pattern, name in ENDPOINTS]

# What a browser sends that the server-side types lack, by params type. Only with a publishable key.
# - ``key``: Stripe.js and checkout.js authenticate with the publishable key as a parameter (a
#   "simple" cross-origin POST, no Authorization header, no preflight).
# - ``payment_user_agent``, ``time_on_page``, ``guid``, ``muid``, ``sid``, ``referrer``,
#   ``pasted_fields``: telemetry Stripe.js / Checkout add to the tokens and payment methods they make.
# - ``email`` on a token: legacy Checkout's modal sends the buyer's email with the card; the token
#   carries it (``token.email``).
# - ``client_secret`` on confirm: a publishable key may only confirm a PaymentIntent with its client
#   secret (the server-side confirm needs none, so its type has none); retrieve's type has it already.
# - The Payment Element's ``confirmPayment`` (the confirm request Stripe.js sends from its frame, as
#   recorded from real Stripe.js): the card goes inline, ``payment_method_data[card][number|exp_month|
#   exp_year|cvc]`` (the server-side ``payment_method_data`` has no ``card``: raw card numbers come only
#   from Stripe.js), with Stripe.js's telemetry inside ``payment_method_data``
#   (``payment_method_data[payment_user_agent]``, ``[time_on_page]``…) and
#   ``expected_payment_method_type`` (the method the buyer chose in the element: ``card``).
#   A bracketed name allows that sub-tree; the handler checks what is inside.
_TELEMETRY = {"key", "payment_user_agent", "time_on_page", "guid", "muid", "sid", "referrer", "pasted_fields"}
BROWSER_ONLY = {
    "TokenCreateParams": _TELEMETRY | {"email"},
    "PaymentMethodCreateParams": _TELEMETRY,
    "PaymentIntentRetrieveParams": {"key"},
    "PaymentIntentConfirmParams": {"key", "client_secret", "expected_payment_method_type", "payment_method_data[card]"}
    | {f"payment_method_data[{name}]" for name in _TELEMETRY - {"key"}},
}


class Node:
    """What a parameter may hold: any keys (``free``), a TypedDict's ``fields``, list ``item``s."""

    __slots__ = ("free", "fields", "item")

    def __init__(self, free=False, fields=None, item=None):
        self.free = free
        self.fields = fields  # callable returning {name: Node}, computed lazily (types may recurse)
        self.item = item


ANY = Node(free=True)
_WRAPPERS = {
    typing_extensions.NotRequired,
    typing_extensions.Required,
    typing_extensions.Annotated,
    getattr(typing, "NotRequired", None),
    getattr(typing, "Required", None),
    typing.Annotated,
} - {None}
SCALAR = Node()


def _merge(nodes):
    nodes = list(nodes)
    if any(n.free for n in nodes):
        return ANY
    field_sources = [n.fields for n in nodes if n.fields is not None]
    items = [n.item for n in nodes if n.item is not None]
    fields = None
    if field_sources:

        def fields():
            merged = {}
            for source in field_sources:
                for name, node in source().items():
                    merged[name] = _merge([merged[name], node]) if name in merged else node
            return merged

    return Node(fields=fields, item=_merge(items) if items else None)


def _eval(annotation, module):
    if isinstance(annotation, typing.ForwardRef):
        annotation = annotation.__forward_arg__
    if isinstance(annotation, str):
        namespace = dict(vars(sys.modules[module]))
        namespace.setdefault("typing", typing)
        return eval(annotation, namespace)  # the SDK's own generated annotations
    return annotation


def _node(annotation, module):
    try:
        tp = _eval(annotation, module)
    except Exception:
        # An annotation the SDK only resolves under TYPE_CHECKING: take it as free-form, but only
        # when it names no params type of this module (those must stay checked).
        names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(annotation))
        typed = [
            getattr(sys.modules[module], n)
            for n in names
            if typing_extensions.is_typeddict(getattr(sys.modules[module], n, None))
        ]
        return _merge([_typeddict(t) for t in typed]) if typed else ANY
    return _node_of(tp, module)


def _node_of(tp, module):
    if tp is typing.Any:
        return ANY
    if isinstance(tp, (str, typing.ForwardRef)):
        return _node(tp, module)
    if typing_extensions.is_typeddict(tp):
        return _typeddict(tp)
    origin = typing_extensions.get_origin(tp)
    args = typing_extensions.get_args(tp)
    if origin in _WRAPPERS:
        return _node_of(args[0], module)
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        return _merge(_node_of(a, module) for a in args)
    if origin in (typing_extensions.Literal, typing.Literal):
        return SCALAR
    if origin in (list, tuple, set, frozenset) or origin is getattr(typing, "Sequence", None):
        return Node(item=_node_of(args[0], module) if args else ANY)
    if origin is dict or tp is dict:
        return ANY  # Dict[str, …]: free-form keys (metadata and the like)
    if isinstance(tp, type) and tp in (str, int, float, bool, bytes, type(None)):
        return SCALAR
    if origin is not None and isinstance(origin, type) and issubclass(origin, collections.abc.Mapping):
        return ANY
    if origin is not None and isinstance(origin, type) and issubclass(origin, collections.abc.Sequence):
        return Node(item=_node_of(args[0], module) if args else ANY)
    # UntypedStripeObject and anything else the generator calls an object with free keys.
    return ANY


@functools.cache
def _fields_of(cls):
    own = {}
    options = _OPTIONS if RequestOptions in getattr(cls, "__orig_bases__", ()) else ()
    for name, annotation in cls.__annotations__.items():
        if name in options:
            continue  # an SDK request option (api_key, idempotency_key…), not a parameter
        own[name] = _node(annotation, cls.__module__)
    return own


def _typeddict(cls):
    return Node(fields=lambda: _fields_of(cls))


def params_type(type_name):
    """The params TypedDict named ``type_name`` in ``stripe.params`` (``checkout.SessionCreateParams``
    for one in a sub-package)."""
    return functools.reduce(getattr, type_name.split("."), stripe.params)


@functools.cache
def known(type_name):
    """The top-level parameter names a params type knows (for tests and the docs)."""
    return frozenset(_fields_of(params_type(type_name)))


def params_type_for(method, path):
    for m, pattern, name in _COMPILED:
        if m == method and pattern.match(path):
            return name
    return None


def _check(value, node, path, allowed=frozenset()):
    if node.free:
        return
    if isinstance(value, dict):
        if node.fields is not None:
            fields = node.fields()
            for key, sub in value.items():
                name = f"{path}[{key}]"
                if name in allowed:
                    continue
                if key not in fields:
                    raise unknown_param(name)
                _check(sub, fields[key], name, allowed)
        elif node.item is not None:
            for key, sub in value.items():
                _check(sub, node.item, f"{path}[{key}]", allowed)
    elif isinstance(value, list) and node.item is not None:
        for i, sub in enumerate(value):
            _check(sub, node.item, f"{path}[{i}]", allowed)


def check(method, path, data, publishable=False):
    """Raise Stripe's "Received unknown parameter" error for the first parameter of ``data`` that
    the endpoint's params type does not know. Endpoints without a type are not checked."""
    name = params_type_for(method, path)
    if name is None or not isinstance(data, dict):
        return
    fields = _fields_of(params_type(name))
    allowed = BROWSER_ONLY.get(name, set()) if publishable else set()
    for key, value in data.items():
        if key in allowed:
            continue
        if key not in fields:
            raise unknown_param(key)
        _check(value, fields[key], key, allowed)


# ---------------------------------------------------------------- reading and typing

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# Stripe's integers: ASCII digits only (``\d`` would take "١٢٣"), and 64-bit (a longer string is no
# integer to Stripe, and past 4,300 digits Python's int() raises instead of answering 400).
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


async def read_params(request):
    # Imported here, not at the top: localstripe.server builds its whole aiohttp app when imported,
    # and the checks above (``known``, ``check``) are imported by tests that need none of it.
    from localstripe.server import get_post_data, unflatten_data

    if request.method == "GET":
        data = unflatten_data(request.query)
    else:
        data = await get_post_data(request)
    if not data:
        return {}
    if not isinstance(data, dict):
        raise StripeError(400, "Invalid request body: expected an object.")
    return dict(data)


def pop_expand(data):
    expand = data.pop("expand", None)
    if expand is None or expand == "":
        return []
    if isinstance(expand, str):
        expand = [expand]
    if not isinstance(expand, list) or not all(isinstance(e, str) for e in expand):
        raise invalid_param("expand", "Invalid array")
    return expand


def to_int(data, param, required=False, minimum=None, maximum=None):
    value = data.get(param)
    if value is None or value == "":
        if required:
            raise missing_param(param)
        return None
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, str) and _INTEGER.fullmatch(value))
    ):
        raise invalid_integer(param, value)
    value = int(value)
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise invalid_integer(param, value)
    if minimum is not None and value < minimum:
        raise invalid_param(param, f"This value must be greater than or equal to {minimum}.")
    if maximum is not None and value > maximum:
        raise invalid_param(param, f"This value must be less than or equal to {maximum}.")
    return value


def to_str(data, param, max_length=None):
    value = data.get(param)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid_param(param, f"Invalid string: {value!r}")
    if max_length is not None and len(value) > max_length:
        raise invalid_param(
            param, f"Invalid string: {value[:20]}...; must be at most {max_length} characters", code="string_too_long"
        )
    return value


def to_bool(data, param, default):
    value = data.get(param)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid_param(param, f"Invalid boolean: {value}")


def to_metadata(data, param="metadata"):
    value = data.get(param)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid_param(param, "Invalid object")
    if len(value) > 50:
        raise invalid_param(param, "Invalid metadata: metadata can have at most 50 keys.")
    out = {}
    for k, v in value.items():
        if len(str(k)) > 40:
            raise invalid_param(f"{param}[{k}]", "Invalid metadata: keys can be at most 40 characters long.")
        if v is None or v == "":
            continue
        if isinstance(v, (dict, list)):
            raise invalid_param(f"{param}[{k}]", "Invalid metadata value.")
        v = str(v).lower() if isinstance(v, bool) else str(v)
        if len(v) > 500:
            raise invalid_param(f"{param}[{k}]", "Invalid metadata: values can be at most 500 characters long.")
        out[str(k)] = v
    return out
