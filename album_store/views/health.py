"""Health, for a reverse proxy and an orchestrator; cheap, unauthenticated, never cached.

- ``GET /healthz``: the process is up and answering (touches nothing else).
- ``GET /readyz``: the database, the job queue and the file storage answer; 503 naming which does
  not (the details go to the log, not to an anonymous visitor).
- ``GET /catalog-version``: the catalog's version stamp (``models/catalog_version.py``) in the
  ``X-Catalog-Version`` header of an empty 204. nginx asks it before each shopper's page
  (``deploy/nginx/album-store.conf``: ``auth_request``) and keys its page cache on it, so the proxy's
  copies change when an owner's change commits, as this process's own page cache does; ``unknown``
  when it cannot be read.
"""

import logging

from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import text

from ..jobs import IJobQueue
from ..models import current_catalog_version
from ..storage import IFileStorage

log = logging.getLogger(__name__)
#: The proxy and the orchestrator must see every answer fresh.
NOTHING_KEPT = "no-store"


def _answer(status, body):
    return Response(json_body=body, status=status)


@view_config(route_name="healthz", request_method=("GET", "HEAD"), cache_control=NOTHING_KEPT)
def healthz(request):
    return _answer(200, {"status": "ok"})


def _database(request):
    with request.registry["db_engine"].connect() as connection:
        connection.execute(text("SELECT 1"))


def _queue(request):
    request.registry.getUtility(IJobQueue).check()


def _storage(request):
    request.registry.getUtility(IFileStorage).check()


CHECKS = {"database": _database, "queue": _queue, "storage": _storage}


@view_config(route_name="readyz", request_method=("GET", "HEAD"), cache_control=NOTHING_KEPT)
def readyz(request):
    results = {}
    for name, check in CHECKS.items():
        try:
            check(request)
        except Exception as error:  # whatever a dependency raises, the answer is "not ready"
            log.warning("readyz: the %s does not answer: %s: %s", name, type(error).__name__, error)
            results[name] = "failing"
        else:
            results[name] = "ok"
    ready = all(result == "ok" for result in results.values())
    return _answer(200 if ready else 503, {"status": "ready" if ready else "not ready", **results})


@view_config(route_name="catalog_version", request_method=("GET", "HEAD"), cache_control=NOTHING_KEPT)
def catalog_version(request):
    version = current_catalog_version(request.registry["db_engine"])
    response = Response(status=204)
    # When it cannot be read (no row yet, no database), nothing may come from a cache: nginx neither
    # serves nor keeps a page under "unknown"; the page itself is rendered (or fails) as it would.
    response.headers["X-Catalog-Version"] = "unknown" if version is None else str(version)
    return response
