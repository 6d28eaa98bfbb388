"""Whole numbers from the outside (an id or a size in an address, a page in a query, a form's hidden
id): one rule, so every view refuses the same inputs. Only ASCII digits count (``str.isdigit`` also
takes "²", which ``int`` refuses), and nothing past what the database's integer column holds (a
receipt link of purchase 2,147,483,647 still opens it; a larger number is nobody's: a 404)."""

from pyramid.httpexceptions import HTTPBadRequest

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
