"""HTTP caching of shoppers' pages, and a small in-process cache that honours it.

How a response may be kept is declared on its view, by two view options (a view deriver):

- ``public_page=True``: a shopper's page, the same bytes for every visitor (as below);
- ``cache_control="…"``: the view's responses carry this ``Cache-Control`` (e.g. :data:`IMMUTABLE`).

The home page, the catalog and album pages (``public_page=True``) are one shared page for everyone,
signed in or not: their bodies hold no CSRF token (``static/csrf.js`` fills the forms from the
``csrf_token`` cookie), no email, no personal nav, no "In your library" box and no flash message.
What is personal comes from ``GET /account/fragment`` (``views/personal.py``: JSON, ``private,
no-store``), which ``static/personal.js`` fetches on every shared page and fills in: the nav, the
owned box, the buyer's email for checkout, the flash messages (popped there, so each is shown once).
A shared page is sent ``Cache-Control: public, max-age=N`` (``store.page_cache_seconds``) with an
ETag, so a browser or a reverse proxy can keep it and revalidate with a 304. The one exception is
the ``payment_intents`` flow, whose album page carries a signed-in buyer's email in its read-only
card form and their owned box: there a signed-in visitor (a session cookie) still gets pages
rendered for them, ``private, no-cache`` (:func:`gets_shared_copy`).

The page cache keeps those public responses in this process for the same N seconds, so a catalog
page seen by many visitors is rendered once, not once per visitor. It has two halves: its front,
``page_cache_execution_policy`` (a Pyramid execution policy wrapping pyramid_retry's), answers a
kept page straight from the WSGI environ, before the router makes a request, applies its extensions
or copies its body, so a hit costs about what a bare Pyramid view does; on a miss the outermost
tween, ``page_cache_tween_factory``, keeps the rendered page (with the security headers of the tween
under it, ``headers.py``, already on it). Each copy is kept with the catalog's version stamp
(``models/catalog_version.py``: one row, bumped in the same transaction as any change to an album or
its tracks, by whichever process or host makes it) read before the page was rendered, and is served
only while the stamp is still the same: one single-row read per cacheable request
(``CatalogVersionReader``, on a connection each thread keeps), and an owner's change reaches every
process's next request at once. When the stamp cannot be read, the cache is not used. Browsers and proxies, which cannot
ask for the stamp, may still keep a page for N seconds: the buy route checks the price the page
showed (``shown_price.py``), so a stale page can never charge a price its buyer did not see.
"""

import threading
import time
from collections import OrderedDict

from pyramid.config import PHASE3_CONFIG
from pyramid.interfaces import IExecutionPolicy
from pyramid.response import Response
from pyramid.router import default_execution_policy
from pyramid.tweens import INGRESS

from .browser_sessions import SESSION_COOKIE
from .models.catalog_version import CatalogVersionReader
from .settings import PAYMENT_INTENTS

#: Content named by its hash or its upload: browsers and proxies keep it for a year without asking.
IMMUTABLE = "public, max-age=31536000, immutable"
#: A personal answer (a CSRF token, an attempt id, an owner's data): kept by nobody.
NO_STORE = "private, no-store"
#: Where the ``public_page`` deriver marks the request whose view served a shopper's page.
PUBLIC_PAGE = "album_store.public_page"
#: The header that says an answer came from this process's page cache.
HIT = ("X-Page-Cache", "hit")
#: Where the front leaves (key, stamp) for the tween, when the page may be kept once rendered.
KEEP_UNDER = "album_store.page_cache.keep_under"


def cache_policy(view, info):
    """The view deriver of ``public_page=True`` and ``cache_control=…`` (see the module's opening)."""
    public = info.options.get("public_page", False)
    cache_control = info.options.get("cache_control")
    if not public and cache_control is None:
        return view

    def view_with_cache_policy(context, request):
        if public:  # before the view: its template renders the shared page (see is_shared_page)
            request.environ[PUBLIC_PAGE] = True
        response = view(context, request)
        if cache_control is not None:
            response.cache_control = cache_control
        return response

    return view_with_cache_policy


cache_policy.options = ("public_page", "cache_control")


def _may_hold_a_session(environ):
    """Whether the raw Cookie header so much as names the session cookie (a header that does not
    cannot hold one): the cheap test, made before any cookie is parsed."""
    cookie_header = environ.get("HTTP_COOKIE")
    return bool(cookie_header) and SESSION_COOKIE in cookie_header


def is_anonymous(request):
    """No session cookie: a visitor who is not signed in and has no message waiting."""
    return not _may_hold_a_session(request.environ) or SESSION_COOKIE not in request.cookies


def page_key(environ):
    """What a kept page is found by: the scheme and host (behind the proxy, as waitress set them from
    its trusted headers), the path and the query, read straight from the WSGI environ."""
    return (
        environ["wsgi.url_scheme"],
        environ.get("HTTP_HOST", ""),
        environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
    )


def shared_with_sessions(registry):
    """Whether visitors with a session (signed in, or a message waiting) share the public pages too,
    their personal part filled in by static/personal.js: not in the ``payment_intents`` flow (its album
    page's card form carries the buyer's email); there only visitors with no session share them."""
    return registry.settings.get("store.payment_flow") != PAYMENT_INTENTS


def gets_shared_copy(request):
    """Whether this visitor gets the shared copy of a public page (rendered or from the page cache)."""
    return is_anonymous(request) or shared_with_sessions(request.registry)


def is_shared_page(request):
    """Whether the page being rendered is the shared one (templates and ``album_page`` ask): nothing
    personal in it, ``static/personal.js`` fills that in from the personal fragment."""
    return bool(request.environ.get(PUBLIC_PAGE)) and gets_shared_copy(request)


def set_cache_headers(request, response):
    """Shoppers' pages (a view with ``public_page=True`` served it) as above. Any other response that did
    not say how it may be kept (a receipt, the library, every owner's page, an answer to a form, an
    error) is ``private, no-store``: no browser history, shared computer or proxy keeps a personal
    page, its download link or its CSRF token. Responses made to be kept (static files, covers,
    previews, downloads) set their own."""
    if not request.environ.get(PUBLIC_PAGE) or request.method not in ("GET", "HEAD") or response.status_code != 200:
        if "Cache-Control" not in response.headers:
            response.cache_control = NO_STORE
        return
    seconds = request.registry.settings["store.page_cache_seconds"]
    cache_control = response.cache_control
    if gets_shared_copy(request) and "Set-Cookie" not in response.headers:
        cache_control.public = True
        cache_control.max_age = seconds
    else:
        cache_control.private = True
        cache_control.no_cache = True
    response.md5_etag()
    response.conditional_response = True


class PageCache:
    """Public responses by (scheme, host, path and query), for ``seconds``; the newest ``size``.

    An entry put with a ``version`` is given back only to a ``get`` with the same one (and dropped
    otherwise): the caller passes the catalog's current stamp."""

    def __init__(self, seconds, size=2048):
        self.seconds = seconds
        self.size = size
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, *, version=None):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic() or entry[1] != version:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[2], entry[3]

    def put(self, key, headerlist, body, *, version=None):
        with self._lock:
            self._entries[key] = (time.monotonic() + self.seconds, version, headerlist, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self):
        with self._lock:
            self._entries.clear()

    def __len__(self):
        return len(self._entries)


def serves_kept_pages(environ, with_sessions):
    """A GET or HEAD that a kept page may answer: any, when visitors with a session share the public
    pages (``with_sessions``, :func:`shared_with_sessions`), else one without a session cookie. Read
    from the environ alone, before Pyramid makes a request (a header that merely mentions the cookie's
    name is taken for a session: that visit is rendered, and :func:`is_anonymous` decides its headers)."""
    if environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
        return False
    return with_sessions or not _may_hold_a_session(environ)


def page_cache_execution_policy(inner, cache, catalog_version, *, with_sessions):
    """The page cache's front: a Pyramid execution policy, which runs before the router makes a
    request, its extensions, its thread-local context or the retry policy's copy of the body
    (``inner`` is the policy it wraps: pyramid_retry's). A kept page is answered from the environ;
    on a miss the stamp read here is left in the environ for the tween below to keep the rendered
    page under."""

    def policy(environ, router):
        if serves_kept_pages(environ, with_sessions):
            # Read before rendering: a change committed meanwhile leaves this copy under the older stamp.
            version = catalog_version()
            if version is not None:
                key = page_key(environ)
                hit = cache.get(key, version=version)
                if hit is not None:
                    return Response(headerlist=[*hit[0], HIT], body=hit[1], conditional_response=True)
                environ[KEEP_UNDER] = (key, version)
        return inner(environ, router)

    return policy


def page_cache_tween_factory(handler, registry):
    """Outermost tween: decides the caching headers, and keeps the public pages the front missed."""
    cache = registry.page_cache

    def tween(request):
        response = handler(request)
        set_cache_headers(request, response)
        keep = request.environ.get(KEEP_UNDER)
        if (
            keep is not None
            and response.status_code == 200
            and response.cache_control.public
            and "Set-Cookie" not in response.headers
            and response.content_length is not None
        ):
            key, version = keep
            cache.put(key, tuple(response.headerlist), response.body, version=version)
        return response

    return tween


def includeme(config):
    settings = config.get_settings()
    settings["store.page_cache_seconds"] = int(settings["store.page_cache_seconds"])
    registry = config.registry

    def install_front():
        registry.page_cache = cache = PageCache(settings["store.page_cache_seconds"])
        if cache.seconds <= 0:
            return
        inner = registry.queryUtility(IExecutionPolicy, default=default_execution_policy)
        front = page_cache_execution_policy(
            inner, cache, CatalogVersionReader(registry["db_engine"]), with_sessions=shared_with_sessions(registry)
        )
        registry.registerUtility(front, IExecutionPolicy)

    # After every other action, pyramid_retry's execution policy included: the front wraps it.
    config.action(None, install_front, order=PHASE3_CONFIG + 1)
    config.add_tween("album_store.caching.page_cache_tween_factory", under=INGRESS)
    config.add_view_deriver(cache_policy)
