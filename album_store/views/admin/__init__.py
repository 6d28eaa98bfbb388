"""The store owner's pages (``/admin``): thin views over ``ICatalogAdmin``, ``IReports`` and
``IPurchaseService``. Every view needs the ``admin`` permission; every form posts with CSRF and a
valid POST ends in a 303 redirect."""

import math

from pyramid.httpexceptions import HTTPNotFound

TEMPLATES = "album_store:templates/admin/"
PAGE_SIZE = 50


def page_count(total, page):
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if page > pages:
        raise HTTPNotFound(f"There {'is' if pages == 1 else 'are'} only {pages} page{'s' if pages != 1 else ''}.")
    return pages


def page_links(request, route_name, page, pages, query):
    """The previous and next pages' addresses, keeping the filters."""

    def link(n):
        return request.route_path(route_name, _query={**{k: v for k, v in query.items() if v}, "page": n})

    return {"previous": link(page - 1) if page > 1 else None, "next": link(page + 1) if page < pages else None}
