"""Stripe's idempotent requests, kept in memory.

Same API key + same ``Idempotency-Key`` + same request (method, path and
parameters) -> the first response is replayed, status and body. Same key with
another request -> 400 ``idempotency_error``. A request that comes while
another with its key is still executing is not queued: it gets Stripe's 409
``idempotency_key_in_use`` (nothing is saved for it; the SDK retries a 409 and
then gets the first answer replayed).
As on Stripe, only requests that started executing are saved: validation
errors (400), auth errors (401) and missing objects (404) are not.
"""

import collections
import contextlib
import json
import time
import urllib.parse

from .errors import StripeError

TTL_SECONDS = 24 * 3600
MAX_ENTRIES = 50_000
MAX_KEY_LENGTH = 255


class Entry:
    __slots__ = ("fingerprint", "status", "body", "content_type", "request_id", "created")

    def __init__(self, fingerprint, status, body, content_type, request_id):
        self.fingerprint = fingerprint
        self.status = status
        self.body = body
        self.content_type = content_type
        self.request_id = request_id
        self.created = time.monotonic()


def should_store(status):
    return status < 400 or status == 402 or status >= 500


async def fingerprint(request):
    """A canonical form of the request: method, path, query and body."""
    body = await request.read()
    ctype = request.content_type
    if ctype == "application/json" and body:
        try:
            canonical = json.dumps(json.loads(body), sort_keys=True)
        except ValueError:
            canonical = body.decode("utf-8", "replace")
    else:
        pairs = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        canonical = repr(sorted(pairs))
    query = repr(sorted(request.query.items()))
    return f"{request.method} {request.path} {query} {canonical}"


def mismatch_error(key):
    return StripeError(
        400,
        "Keys for idempotent requests can only be used with the same "
        "parameters they were first used with. Try using a key other "
        f"than '{key}' if you meant to execute a different request.",
        type="idempotency_error",
    )


def key_in_use_error(key):
    """Stripe's answer to a request whose key another request is still using (HTTP 409)."""
    return StripeError(
        409,
        "There is currently another in-progress request using this "
        "Idempotent Key (that probably means you submitted twice, and the "
        f"other request is still going through): {key}. Please try again "
        "later.",
        type="invalid_request_error",
        code="idempotency_key_in_use",
    )


def key_too_long_error():
    return StripeError(
        400,
        f"Invalid Idempotency-Key: keys can be at most {MAX_KEY_LENGTH} characters long.",
        type="invalid_request_error",
    )


class IdempotencyCache:
    def __init__(self, ttl=TTL_SECONDS, max_entries=MAX_ENTRIES):
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries = collections.OrderedDict()
        self._executing = set()  # keys of requests still in flight
        self.log = collections.deque(maxlen=max_entries)  # every request with a key, replays too

    def clear(self):
        self._entries.clear()
        self.log.clear()
        # Keys in flight stay: their requests are still running.

    def __len__(self):
        return len(self._entries)

    def note(self, method, path, key, status, body=None, replayed=False):
        """Remember a request made with an idempotency key, and its answer's object id (for tests:
        ``GET /_standin/idempotency``)."""
        object_id = None
        try:
            object_id = json.loads(body).get("id") if body else None
        except (ValueError, AttributeError):
            pass
        self.log.append(
            {
                "method": method,
                "path": path,
                "idempotency_key": key,
                "status": status,
                "id": object_id,
                "replayed": replayed,
            }
        )

    def in_flight(self, key):
        return key in self._executing

    @contextlib.contextmanager
    def executing(self, key):
        self._executing.add(key)
        try:
            yield
        finally:
            self._executing.discard(key)

    def get(self, key):
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() - entry.created > self.ttl:
            del self._entries[key]
            return None
        return entry

    def put(self, key, entry):
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
