"""What every template gets besides its view's values: the money formatter and a few helpers."""
from pyramid.events import BeforeRender

from .covers import cover_url
from .money import format_amount_input, format_money


def format_duration(seconds):
    """``format_duration(225)`` → ``"3:45"``; an hour or more → ``"1:02:03"``."""
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


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


def includeme(config):
    config.add_subscriber(add_globals, BeforeRender)
