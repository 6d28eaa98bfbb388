"""How large a request body the store reads, and reading a form body once, before any view.

Every body may be up to ``store.max_body_bytes``. A view that takes an upload says so itself, with
the view option ``max_body="store.max_cover_bytes"`` (the setting that holds its file's limit); the
file may then be that large, plus room for the other fields and the multipart framing.

The limit must be enforced before anything reads the body, and a tween runs before the view is
looked up: so the view deriver below only *collects* each declared limit by the view's route, at
configuration time, and the tween looks the request's route up (as the router will) and refuses a
``Content-Length`` over that route's limit with a 413, unread.
"""

from pyramid.exceptions import ConfigurationError
from pyramid.httpexceptions import HTTPBadRequest, HTTPRequestEntityTooLarge
from pyramid.interfaces import IRoutesMapper
from pyramid.tweens import EXCVIEW

#: Room beside the file itself: the form's other fields and the multipart framing.
FORM_ROOM = 64 * 1024
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
#: The registry's ``{route name: bytes}`` of the views that declared ``max_body``.
ROUTE_LIMITS = "album_store.upload_limits"


def max_body(view, info):
    """The view deriver of ``max_body=SETTING``: records the route's limit for the tween."""
    setting = info.options.get("max_body")
    if setting is not None:
        route_name = info.options.get("route_name")
        if route_name is None:
            raise ConfigurationError("max_body= is a route's limit: the view needs a route_name")
        limits = info.registry.setdefault(ROUTE_LIMITS, {})
        limits[route_name] = max(limits.get(route_name, 0), int(info.settings[setting]) + FORM_ROOM)
    return view


max_body.options = ("max_body",)


def body_size_limit_tween_factory(handler, registry):
    """Refuse request bodies over their route's limit before anything reads them, then read a form
    body once (a broken one is the sender's 400, answered before the CSRF check or a view reads it)."""
    limit = int(registry.settings["store.max_body_bytes"])
    route_limits = dict(registry.get(ROUTE_LIMITS, {}))
    smallest = min(limit, *route_limits.values()) if route_limits else limit

    def allowed(request):
        route = registry.getUtility(IRoutesMapper)(request)["route"]
        return route_limits.get(route.name, limit) if route is not None else limit

    def tween(request):
        length = request.content_length
        if length is not None and length > smallest:
            most = allowed(request)
            if length > most:
                raise HTTPRequestEntityTooLarge(
                    f"The request is larger than the store accepts here ({most // 1024} KiB)."
                )
        if request.method in ("POST", "PUT", "PATCH") and request.content_type in FORM_TYPES:
            try:
                request.POST  # noqa: B018 (reading the property parses the body, once, here)
            except (ValueError, TypeError, UnicodeDecodeError, EOFError) as error:
                raise HTTPBadRequest(
                    f"The form could not be read (its body is not valid {request.content_type}), so nothing was done. "
                    "Please send the form again from the page."
                ) from error
        return handler(request)

    return tween


def includeme(config):
    config.add_view_deriver(max_body)
    # Under the exception view tween, so the refusal is rendered as the styled 413 page.
    config.add_tween("album_store.uploads.body_size_limit_tween_factory", under=EXCVIEW)
