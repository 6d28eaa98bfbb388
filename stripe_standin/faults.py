"""Fault injection for tests: make the next N matching API calls fail.

A fault has ``count``, ``status`` (an HTTP error status, or 0 for "no error,
only the delay"), ``when`` (``before``: answer without doing anything;
``after``: do the real work, then answer the error instead of the real
response, as when a response is lost), ``path_prefix`` (default
``/v1/charges``), optional ``method``, ``delay`` (seconds to wait first; with
``when=after`` the request's idempotency lock is held meanwhile, as a request
still in flight), ``message`` and ``should_retry`` (sets Stripe's
``Stripe-Should-Retry`` header). Each request takes at most one fault: the
first one, in the order they were added, that matches it.
"""

import itertools

from .errors import StripeError

MAX_DELAY = 30.0
_ids = itertools.count(1)


class FaultError(ValueError):
    pass


class Fault:
    def __init__(
        self,
        count=1,
        status=500,
        when="before",
        path_prefix="/v1/charges",
        method=None,
        delay=0.0,
        message=None,
        should_retry=None,
    ):
        try:
            self.count = int(count)
            self.status = int(status)
            self.delay = float(delay or 0)
        except (TypeError, ValueError):
            raise FaultError("count and status must be integers, delay a number") from None
        if self.count < 1:
            raise FaultError("count must be at least 1")
        if self.status != 0 and not 400 <= self.status <= 599:
            raise FaultError("status must be 0 (delay only) or 400-599")
        if not 0 <= self.delay <= MAX_DELAY:
            raise FaultError(f"delay must be between 0 and {MAX_DELAY}")
        if self.status == 0 and self.delay == 0:
            raise FaultError("a fault with status 0 needs a delay")
        if when not in ("before", "after"):
            raise FaultError("when must be 'before' or 'after'")
        if not isinstance(path_prefix, str) or not path_prefix.startswith("/"):
            raise FaultError("path_prefix must start with /")
        if path_prefix.startswith("/_standin"):
            raise FaultError("faults cannot target the stand-in's own API")
        if method is not None and method != "":
            method = str(method).upper()
        else:
            method = None
        if isinstance(should_retry, str):
            if should_retry.lower() not in ("true", "false", ""):
                raise FaultError("should_retry must be true or false")
            should_retry = None if should_retry == "" else should_retry.lower() == "true"
        self.id = f"flt_{next(_ids)}"
        self.when = when
        self.path_prefix = path_prefix
        self.method = method
        self.message = message
        self.should_retry = should_retry

    def matches(self, method, path):
        return path.startswith(self.path_prefix) and (self.method is None or self.method == method)

    def to_dict(self):
        return {
            "id": self.id,
            "count": self.count,
            "status": self.status,
            "when": self.when,
            "path_prefix": self.path_prefix,
            "method": self.method,
            "delay": self.delay,
            "message": self.message,
            "should_retry": self.should_retry,
        }

    def error(self):
        status = self.status
        if status == 429:
            err = StripeError(
                429,
                self.message or "Too many requests hit the API too quickly (injected by the stand-in).",
                code="rate_limit",
            )
        elif status >= 500:
            err = StripeError(
                status, self.message or "An unexpected error occurred (injected by the stand-in).", type="api_error"
            )
        else:
            err = StripeError(status, self.message or f"Injected error {status} (stand-in fault injection).")
        headers = {}
        if self.should_retry is not None:
            headers["Stripe-Should-Retry"] = "true" if self.should_retry else "false"
        return err.to_response(headers=headers)


class Faults:
    def __init__(self):
        self._faults = []

    def add(self, **fields):
        fault = Fault(**fields)
        self._faults.append(fault)
        return fault

    def clear(self):
        self._faults.clear()

    def list(self):
        return [f.to_dict() for f in self._faults]

    def take(self, method, path):
        for fault in self._faults:
            if fault.matches(method, path):
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                return fault
        return None
