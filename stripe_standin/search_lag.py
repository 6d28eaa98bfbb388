"""Stripe's search is eventually consistent; the stand-in's can be too.

Stripe: "data is usually searchable within a minute, and can lag up to an hour
during incidents". With a search lag of N seconds (``POST /_standin/search_lag``
``{"seconds": N}``, or :func:`stripe_standin.process.set_search_lag`), an
object written (created or changed) less than N seconds ago is not yet found
by ``GET /v1/charges/search`` / ``GET /v1/payment_intents/search``, or is
found only as it was before the write: the query is matched against the state
the search index had N seconds ago. What a match returns is the object as it
is now (Stripe's index finds ids; the objects come from the API). The default
is 0 (read-after-write, as before); ``DELETE /_standin/faults`` sets it back
to 0, as does ``DELETE /_config/data``.

How: while the lag is on, after every API call the stand-in notes, per
charge and PaymentIntent, when its exported state last changed (a
snapshot, kept as long as it can still be the "N seconds ago" state).
Objects there before the lag was switched on count as indexed long ago.
"""

import json
import time
import types

MAX_LAG = 3600.0


class SearchIndex:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.lag = 0.0
        self._history = {}  # object id -> [(time written, state as searched)], oldest first
        self._last = {}  # object id -> the exported state's JSON, to notice a change

    def clear(self):
        self.lag = 0.0
        self._history.clear()
        self._last.clear()

    def set_lag(self, seconds, objects=()):
        seconds = float(seconds)
        if not 0 <= seconds <= MAX_LAG:
            raise ValueError(f"seconds must be between 0 and {MAX_LAG:g}")
        if seconds == 0:
            self.clear()
            return
        if self.lag == 0:
            # What exists now was indexed long ago.
            self._history.clear()
            self._last.clear()
            self._note(objects, written=float("-inf"))
        self.lag = seconds

    def refresh(self, objects):
        """Note the objects whose state changed since the last look (a write just now)."""
        if self.lag:
            self._note(objects, written=self.clock())

    def _note(self, objects, written):
        horizon = self.clock() - self.lag
        for obj in objects:
            exported = obj._export()
            text = json.dumps(exported, sort_keys=True, default=str)
            if self._last.get(obj.id) == text:
                continue
            self._last[obj.id] = text
            history = self._history.setdefault(obj.id, [])
            history.append((written, types.SimpleNamespace(**exported)))
            # Keep the newest state older than the horizon, and all younger ones.
            while len(history) > 1 and history[1][0] <= horizon:
                history.pop(0)

    def indexed(self, obj):
        """The state search matches ``obj`` against: itself without a lag, the state written at
        least ``lag`` seconds ago with one, or None while the object is too young to be found."""
        if not self.lag:
            return obj
        horizon = self.clock() - self.lag
        found = None
        for written, state in self._history.get(obj.id, ()):
            if written <= horizon:
                found = state
        return found


INDEX = SearchIndex()
