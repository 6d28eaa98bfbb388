"""Error pages, all in the layout: 400, 403 (and a bad CSRF token), 404, 503 (the files unreachable), 500."""

import logging

from pyramid.csrf import new_csrf_token
from pyramid.exceptions import BadCSRFOrigin, BadCSRFToken
from pyramid.httpexceptions import HTTPClientError, HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config

from ..forms import LOCAL_PATH
from ..storage import StorageError

log = logging.getLogger(__name__)
TEMPLATE = "album_store:templates/errors/error.pt"


def _error_page(request, status, title, message):
    if _wants_json(request):
        # The album page's card-payment.js: a message it can show beside the card field.
        return Response(json_body={"status": "error", "error": message}, status=status)
    request.response.status = status
    return {"title": title, "message": message, "status": status}


def _wants_json(request):
    return request.headers.get("Accept", "").split(",")[0].strip().startswith("application/json")


@notfound_view_config(renderer=TEMPLATE, append_slash=HTTPSeeOther)
def not_found(exc, request):
    message = exc.detail if isinstance(exc, HTTPNotFound) and exc.detail else "There is nothing at this address."
    return _error_page(request, 404, "Not found", message)


@forbidden_view_config(renderer=TEMPLATE)
def forbidden(exc, request):
    """Anonymous visitors sign in first and come back (a page they can load again: a GET on this
    site); a signed-in visitor without the permission gets the 403 page."""
    if request.user is None:
        query = {}
        if request.method in ("GET", "HEAD") and LOCAL_PATH.fullmatch(request.path_qs):
            query["next"] = request.path_qs
        return HTTPSeeOther(request.route_url("account_login", _query=query))
    return _error_page(request, 403, "Not allowed", "This page is for the store's owner.")


@exception_view_config(BadCSRFToken, renderer=TEMPLATE)
@exception_view_config(BadCSRFOrigin, renderer=TEMPLATE)
def bad_csrf(exc, request):
    new_csrf_token(request)
    return _error_page(
        request,
        403,
        "The form had expired",
        "For your safety the form could not be accepted (its security token was missing or out of date). "
        "Nothing was charged. Please go back, reload the page and try again.",
    )


@exception_view_config(HTTPClientError, renderer=TEMPLATE)
def client_error(exc, request):
    return _error_page(request, exc.code, exc.title, exc.detail or exc.explanation)


@exception_view_config(StorageError, renderer=TEMPLATE)
def storage_unavailable(exc, request):
    """The disk or the bucket did not answer (StorageError; a missing file is the view's own 404)."""
    log.error("storage failed on %s %s: %s", request.method, request.path_qs, exc)
    request.response.headers["Retry-After"] = "30"
    return _error_page(
        request,
        503,
        "Files unavailable",
        "The store's files cannot be reached just now. Nothing was lost; please try again in a minute.",
    )


@exception_view_config(Exception, renderer=TEMPLATE)
def server_error(exc, request):
    log.exception("Unexpected error on %s %s", request.method, request.path_qs)
    return _error_page(
        request,
        500,
        "Something went wrong",
        "Something went wrong on our side and it has been logged. Please try again in a moment.",
    )
