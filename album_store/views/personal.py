"""The personal fragment: what the shared pages (home, catalog, album pages: ``caching.py``) leave out.

Those pages are the same bytes for everyone; ``static/personal.js`` asks this route on each of them
and fills in what belongs to this browser's session: the signed-in buyer's nav (Admin for an owner,
Library, Sign out), their email for checkout, whether they own the album shown (its paid date and
receipt), and the flash messages (popped here, so each is shown once). The answer is ``private,
no-store``: no browser history, proxy or page cache keeps it.

Cheap by design: a browser with no session cookie is answered without touching the session or the
database; a signed-in one costs the session's own statement (``request.user``) and, for an album
page, one statement for the owned purchase (``IPurchaseService.owned_by_slug``).
"""

from pyramid.csrf import get_csrf_token
from pyramid.view import view_config

from ..caching import NO_STORE, is_anonymous
from ..services.purchases import IPurchaseService
from ..templating import format_date

#: Longer than any album's slug (the admin form allows far fewer): anything longer is refused.
MAX_SLUG = 200


def _album_slug(request):
    """The ``album`` query value: None when absent, ``False`` when it cannot be a slug."""
    values = request.GET.getall("album")  # UTF-8: parsing.utf8_tween_factory refused the rest
    if not values:
        return None
    if len(values) > 1 or not values[0] or len(values[0]) > MAX_SLUG or not values[0].isprintable():
        return False
    return values[0]


@view_config(
    route_name="personal_fragment",
    request_method=("GET", "HEAD"),
    renderer="json",
    cache_control=NO_STORE,
)
def personal_fragment(request):
    slug = _album_slug(request)
    if slug is False:
        request.response.status = 400
        return {"status": "error", "error": "The album parameter must be one album's slug."}
    if is_anonymous(request):
        return {"signed_in": False}  # a guest with no session: no flash, no user, no Set-Cookie
    session = request.session
    answer = {"signed_in": False}
    user = request.user
    if user is not None:
        answer = {
            "signed_in": True,
            "email": user.email,
            "links": {
                "library": request.route_path("library"),
                "sign_out": request.route_path("account_logout"),
                **({"admin": request.route_path("admin_dashboard")} if user.is_admin else {}),
            },
            "csrf_token": get_csrf_token(request),  # for the Sign out form personal.js draws
        }
        if slug is not None:
            owned = request.find_service(IPurchaseService).owned_by_slug(user, slug)
            answer["owned"] = (
                {
                    "paid_on": format_date(owned.paid_at),
                    "receipt": request.route_path("purchase", id=owned.id),
                }
                if owned is not None
                else None
            )
    if session.peek_flash():
        answer["flash"] = [str(message) for message in session.pop_flash()]
    return answer
