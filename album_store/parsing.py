"""Whole numbers from the outside (an id or a size in an address, a page in a query, a form's hidden
id): one rule, so every view refuses the same inputs. Only ASCII digits count (``str.isdigit`` also
takes "²", which ``int`` refuses), and only a few of them (an id never needs ten)."""
from pyramid.httpexceptions import HTTPBadRequest

PAGE_REFUSED = "The page number must be a whole number from 1 up."


def whole_number(value, *, max_digits=9):
    """``value`` (a string of at most ``max_digits`` ASCII digits, or an int already) as an int, else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= max_digits:
        return int(value)
    return None


def page_number(request):
    """``?page=N`` (1 when absent): a whole number from 1 up, of at most six digits; else a 400."""
    page = whole_number(request.GET.get("page", "1"), max_digits=6)
    if page is None or page < 1:
        raise HTTPBadRequest(PAGE_REFUSED)
    return page
