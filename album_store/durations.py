"""How long a track lasts, as people write it (``3:45``): one formatter, shared by the templates
(templating.py's ``duration``), the catalog service's change notes and the owner's messages.

Beside money.py's formatter and beneath both layers that use it, so a service never imports the
presentation layer to word a change.
"""


def format_duration(seconds):
    """``format_duration(225)`` → ``"3:45"``; an hour or more → ``"1:02:03"``."""
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
