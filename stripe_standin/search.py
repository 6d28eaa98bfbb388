"""A small implementation of Stripe's Search Query Language (charges, PaymentIntents).

Supported: ``field:'value'`` (exact, case-insensitive), ``field~'sub'``
(substring), ``field>N`` / ``<`` / ``>=`` / ``<=`` on numbers, ``null``,
negation with a leading ``-``, ``metadata['key']:'value'``, and clauses
joined by spaces or ``AND``, or by ``OR`` (not both), at most 10 clauses.
"""

import re

from .errors import StripeError

PARSE_ERROR = (
    "We were unable to parse your search query. Try using the format "
    '`metadata["key"]:"value"` to query for metadata or '
    '`key:"value"` to query for other fields.'
)

_CLAUSE = re.compile(
    r"""
    (?P<neg>-)?
    (?P<field>
        metadata\[(?P<mq>['"])(?P<mkey>(?:\\.|(?!(?P=mq)).)+)(?P=mq)\]
      | [a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*
    )
    (?P<op>:|~|>=|<=|>|<)
    (?P<value>
        '(?:\\.|[^'\\])*'
      | "(?:\\.|[^"\\])*"
      | -?\d+
      | null | true | false
    )
""",
    re.X | re.I,
)
_JOIN = re.compile(r"\s+(?:(AND|OR)\s+)?", re.I)


def _unquote(raw):
    if raw[:1] in "'\"":
        return re.sub(r"\\(.)", r"\1", raw[1:-1]), True
    return raw, False


def _details(charge):
    return (getattr(charge, "payment_method_details", None) or {}).get("card") or {}


def _billing_zip(charge):
    details = getattr(charge, "billing_details", None) or {}
    return (details.get("address") or {}).get("postal_code")


FIELDS = {
    "amount": ("int", lambda c: c.amount),
    "created": ("int", lambda c: c.created),
    "currency": ("str", lambda c: c.currency),
    "customer": ("str", lambda c: c.customer),
    "status": ("str", lambda c: c.status),
    "payment_intent": ("str", lambda c: c.payment_intent),
    "refunded": ("bool", lambda c: c.refunded),
    "disputed": ("bool", lambda c: bool(getattr(c, "disputed", False))),
    "payment_method_details.card.last4": ("str", lambda c: _details(c).get("last4")),
    "payment_method_details.card.brand": ("str", lambda c: _details(c).get("brand")),
    "payment_method_details.card.exp_month": ("int", lambda c: _details(c).get("exp_month")),
    "payment_method_details.card.exp_year": ("int", lambda c: _details(c).get("exp_year")),
    "payment_method_details.card.fingerprint": ("str", lambda c: _details(c).get("fingerprint")),
    "billing_details.address.postal_code": ("str", _billing_zip),
}


def _error(message=PARSE_ERROR):
    return StripeError(400, message, param="query")


def _predicate(m, fields=FIELDS, resource="charges"):
    field = m.group("field")
    op = m.group("op")
    raw = m.group("value")
    value, quoted = _unquote(raw)
    is_null = not quoted and raw.lower() == "null"

    if m.group("mkey") is not None:
        key = re.sub(r"\\(.)", r"\1", m.group("mkey"))
        kind, get = "str", (lambda c: (c.metadata or {}).get(key))
    else:
        if field not in fields:
            raise _error(
                f"Field `{field}` is an unsupported search field for resource"
                f" `{resource}`. See http://stripe.com/docs/search#query-fields-"
                f"for-{resource.replace('_', '-')} for a list of supported fields."
            )
        kind, get = fields[field]

    if is_null:
        if op != ":":
            raise _error()
        return lambda c: get(c) is None

    if kind == "str":
        if not quoted:
            raise _error()
        if op == ":":
            return lambda c: get(c) is not None and str(get(c)).lower() == value.lower()
        if op == "~":
            if len(value) < 3:
                raise _error("Substring searches need at least 3 characters.")
            return lambda c: get(c) is not None and value.lower() in str(get(c)).lower()
        raise _error(f"Field `{field}` does not support the `{op}` operator.")

    if kind == "bool":
        if value.lower() not in ("true", "false") or op != ":":
            raise _error()
        wanted = value.lower() == "true"
        return lambda c: bool(get(c)) is wanted

    # int
    if not re.fullmatch(r"-?\d+", value) or op == "~":
        raise _error()
    number = int(value)
    compare = {
        ":": lambda a: a == number,
        ">": lambda a: a > number,
        "<": lambda a: a < number,
        ">=": lambda a: a >= number,
        "<=": lambda a: a <= number,
    }[op]
    return lambda c: get(c) is not None and compare(int(get(c)))


def parse_query(query, fields=FIELDS, resource="charges"):
    """Turn a query string into a predicate on an object (a charge unless
    ``fields`` says otherwise)."""
    if not isinstance(query, str) or not query.strip():
        raise StripeError(400, "Missing required param: query.", code="parameter_missing", param="query")
    text = query.strip()
    pos = 0
    preds, joins = [], set()
    while True:
        m = _CLAUSE.match(text, pos)
        if not m:
            raise _error()
        clause = _predicate(m, fields, resource)
        if m.group("neg"):
            preds.append(lambda c, p=clause: not p(c))
        else:
            preds.append(clause)
        pos = m.end()
        if pos == len(text):
            break
        j = _JOIN.match(text, pos)
        if not j or j.end() == len(text):
            raise _error()
        joins.add((j.group(1) or "AND").upper())
        pos = j.end()
    if len(joins) > 1:
        raise _error("You cannot combine `AND` and `OR` in the same query.")
    if len(preds) > 10:
        raise _error("A search query can have at most 10 clauses.")
    if joins == {"OR"}:
        return lambda c: any(p(c) for p in preds)
    return lambda c: all(p(c) for p in preds)
