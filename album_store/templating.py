"""What every template gets besides its view's values: the money formatter and a few helpers; and
Chameleon's compiler, one template at a time."""

import functools
import threading

from chameleon.template import BaseTemplate
from pyramid.events import BeforeRender

from .caching import is_shared_page, shared_with_sessions
from .covers import cover_url
from .durations import format_duration
from .money import format_amount_input, format_money


def format_date(value):
    return value.strftime("%d %B %Y") if value else ""


def format_timestamp(value):
    """``"28 Nov 2026, 14:05 UTC"``: when something happened, for the owner's pages."""
    return value.strftime("%d %b %Y, %H:%M UTC") if value else ""


def add_globals(event):
    request = event.get("request")
    event["money"] = format_money
    event["duration"] = format_duration
    event["date"] = format_date
    event["timestamp"] = format_timestamp
    event["amount_input"] = format_amount_input
    if request is not None:
        event["store_name"] = request.registry.settings["store.name"]
        event["cover_src"] = lambda album, size: cover_url(request, album, size)
        # The shared page of a public route (caching.py): no personal nav or flash, personal.js fills them.
        event["shared_page"] = shared = is_shared_page(request)
        # Only where visitors with a session share the page too is there anything for it to fill in.
        event["personal_js"] = shared and shared_with_sessions(request.registry)


def _one_at_a_time(cook):
    """Chameleon compiles a template the first time it is used, in the thread that uses it. Right after
    a start, several of waitress's threads did so at once, and Python before 3.13 may then raise
    SystemError ("AST constructor recursion depth mismatch": CPython gh-106905, Chameleon #387): a
    500 for a buyer, seen in the cluster test just after a restart. Compiling takes this lock; a
    template already compiled never does."""

    @functools.wraps(cook)
    def cook_alone(self, *args, **kwargs):
        with _COMPILING:
            return cook(self, *args, **kwargs)

    cook_alone.one_at_a_time = True
    return cook_alone


_COMPILING = threading.RLock()


def includeme(config):
    config.add_subscriber(add_globals, BeforeRender)
    if not getattr(BaseTemplate._cook, "one_at_a_time", False):
        BaseTemplate._cook = _one_at_a_time(BaseTemplate._cook)
