"""Whole numbers from the outside (an id or a size in an address, a page in a query, a form's hidden
id): one rule, so every view refuses the same inputs. Only ASCII digits count (``str.isdigit`` also
takes "²", which ``int`` refuses), and nothing past what the database's integer column holds (a
receipt link of purchase 2,147,483,647 still opens it; a larger number is nobody's: a 404).

And text from the outside is UTF-8: an address or query that is not (``/albums/%FF``,
``?page=%FF``) is a 400 before anything reads it (``utf8_tween_factory``), not a decoding error
deep in a view or in the error page that would explain it."""

from urllib.parse import unquote_to_bytes

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.tweens import EXCVIEW

#: The largest id the database holds (a 32-bit signed integer column).
MAX_ID = 2**31 - 1
MAX_PAGE = 999_999
PAGE_REFUSED = "The page number must be a whole number from 1 up."


def whole_number(value, *, maximum=MAX_ID):
    """``value`` (a string of ASCII digits, or an int already) as an int from 0 to ``maximum``, else None."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= len(str(maximum)):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum:
        return value
    return None


def page_number(request):
    """``?page=N`` (1 when absent): a whole number from 1 up, of at most six digits; else a 400."""
    page = whole_number(request.GET.get("page", "1"), maximum=MAX_PAGE)
    if page is None or page < 1:
        raise HTTPBadRequest(PAGE_REFUSED)
    return page


NOT_UTF8 = "This address holds bytes that are not UTF-8 text (a %-escape such as %FF or %00): check the link."


def is_utf8_address(environ):
    """Whether the path and the query, %-escapes undone, are UTF-8, and the path holds no NUL (WSGI
    hands the path over as latin-1 text of its bytes; PostgreSQL's text holds no NUL, so
    ``/albums/%00`` would fail in the database, not be a page that is not there). A NUL in a query
    value is the form's to explain (the owner's purchase filter says "Remove the control characters")."""
    try:
        path = environ.get("PATH_INFO", "").encode("latin-1")
        query = unquote_to_bytes(environ.get("QUERY_STRING", "").replace("+", " "))
        path.decode("utf-8")
        query.decode("utf-8")
    except UnicodeError:
        return False
    return b"\x00" not in path


def utf8_tween_factory(handler, registry):
    """Under the exception view tween: the refusal is the store's styled 400 page."""

    def tween(request):
        if not is_utf8_address(request.environ):
            # The error page must not read the address either: it is shown for the root.
            request.environ["PATH_INFO"], request.environ["QUERY_STRING"] = "/", ""
            raise HTTPBadRequest(NOT_UTF8)
        return handler(request)

    return tween


def includeme(config):
    config.add_tween("album_store.parsing.utf8_tween_factory", under=EXCVIEW)
