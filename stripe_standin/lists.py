"""Paging for the list and search endpoints, as Stripe pages them.

Lists (``GET /v1/charges``, ``/v1/checkout/sessions``…) are newest first and paged by cursor:
``limit``, ``starting_after`` or ``ending_before`` (an id of the list, else "No such …").
Search endpoints (``GET /v1/charges/search``, ``/v1/payment_intents/search``) are paged by an
opaque ``page`` token (``next_page``) and answered as a ``search_result`` by
:func:`search_response`, matched against the (maybe lagging) search index of ``search_lag.py``
with the query language of ``search.py``.
"""

import base64

from localstripe.server import json_response

from .errors import invalid_param, no_such, unknown_param
from .params import pop_expand, read_params, to_int, to_str
from .search import parse_query
from .search_lag import INDEX as SEARCH_INDEX


def page(items, limit, starting_after=None, ending_before=None, *, object_name, id_of=lambda item: item.id):
    """One page of ``items`` (newest first) and whether more follow: the first ``limit`` after
    ``starting_after``, or the last ``limit`` before ``ending_before``; a cursor that is not an id of
    ``items`` gets Stripe's "No such {object_name}"."""
    if starting_after:
        ids = [id_of(item) for item in items]
        if starting_after not in ids:
            raise no_such(object_name, starting_after, param="starting_after")
        items = items[ids.index(starting_after) + 1 :]
    elif ending_before:
        ids = [id_of(item) for item in items]
        if ending_before not in ids:
            raise no_such(object_name, ending_before, param="ending_before")
        items = items[: ids.index(ending_before)]
        return items[-limit:], len(items) > limit
    return items[:limit], len(items) > limit


def _encode_page(offset):
    return "page_" + base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def _decode_page(page):
    try:
        assert page.startswith("page_")
        raw = page[5:]
        return int(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except Exception:
        raise invalid_param("page", f"Invalid page: {page}") from None


async def search_response(request, *, url, items, **query_options):
    """Stripe's search endpoints: ``query`` over ``items()`` (newest first), ``limit``, ``page``
    and ``expand`` (``data.…`` and ``total_count``), answered as a ``search_result``."""
    data = await read_params(request)
    expand = pop_expand(data)
    query = data.pop("query", None)
    limit = to_int(data, "limit", minimum=1, maximum=100) or 10
    data.pop("limit", None)
    page = to_str(data, "page")
    data.pop("page", None)
    for key in data:
        raise unknown_param(key)
    predicate = parse_query(query, **query_options)
    offset = _decode_page(page) if page else 0
    objects = items()
    SEARCH_INDEX.refresh(objects)
    # Matched against what the (maybe lagging) search index holds; answered as the object is now.
    found = []
    for item in objects:
        state = SEARCH_INDEX.indexed(item)
        if state is not None and predicate(state):
            found.append(item)
    chunk = found[offset : offset + limit]
    has_more = len(found) > offset + limit
    data_expand = [e[len("data.") :] for e in expand if e.startswith("data.")]
    result = {
        "object": "search_result",
        "url": url,
        "has_more": has_more,
        "next_page": _encode_page(offset + limit) if has_more else None,
        "data": [item._export(expand=data_expand) for item in chunk],
    }
    if "total_count" in expand:
        result["total_count"] = len(found)
    return json_response(result)
