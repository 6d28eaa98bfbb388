"""Webhook deliveries as unreliable as Stripe's: delayed, duplicated, reordered, held.

Stripe promises neither order nor exactly-once delivery: an event can come
late (retries go on for days), twice, or after a later one. The stand-in
delivers signed events (``Stripe-Signature: t=…,v1=…``, ``t`` the moment of
delivery, as Stripe signs each attempt) to the webhooks registered with
``POST /_config/webhooks/{id}`` (localstripe's, :func:`process.register_webhook`).
By default it does so as localstripe does (once, about a second after the
event). Control it with ``POST /_standin/webhooks`` (JSON or form fields), or
:func:`stripe_standin.process.set_webhook_delivery`:

- ``delay``: seconds to wait before each delivery (on top of the usual ~1 s);
- ``duplicate``: ``true`` delivers every event twice;
- ``hold``: ``true`` keeps events back instead of delivering them;
  ``POST /_standin/webhooks/release`` (:func:`process.release_webhooks`)
  delivers the held ones then, and answers when they have been delivered: a
  test delivers a late webhook at the moment it chooses;
- ``hold_count``: with ``hold``, release by itself as soon as that many are
  held (e.g. 2 with ``order=reverse``: every pair arrives swapped);
- ``order``: how held events go out: ``fifo`` (default), ``reverse``, or
  ``shuffle`` (with ``seed``, an integer, for a repeatable order). The
  release call may give its own ``order``/``seed``, ``count`` (the first N in
  that order) and ``types`` (only events of those types).

``GET /_standin/webhooks`` shows the settings and the held events (id, type);
``DELETE /_standin/webhooks`` — and ``DELETE /_standin/faults`` (the suite's
``faults`` fixture, after each test), and ``DELETE /_config/data`` — go back
to the default and drop held events undelivered; ``DELETE /_config/data`` also
drops the deliveries still on their way (the usual ~1 s), so that a test's
late events never reach the next test's webhook.

The handlers record their events with :func:`maybe_webhook`.
"""

import asyncio
import hashlib
import hmac
import json
import logging
import random
import time

import aiohttp
from localstripe import resources as ls_resources
from localstripe import webhooks as ls_webhooks

log = logging.getLogger("stripe_standin.webhooks")

MAX_DELAY = 3600.0
ORDERS = ("fifo", "reverse", "shuffle")
BASE_DELAY = 1.0  # localstripe's: an event goes out about a second after it happened


class DeliveryError(ValueError):
    pass


def _bool(value, name):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", ""):
        return value.lower() in ("true", "1")
    raise DeliveryError(f"{name} must be true or false")


def _order(order, seed):
    if order not in ORDERS:
        raise DeliveryError(f"order must be one of {', '.join(ORDERS)}")
    if seed not in (None, ""):
        try:
            seed = int(seed)
        except (TypeError, ValueError):
            raise DeliveryError("seed must be an integer") from None
    else:
        seed = None
    return order, seed


def arrange(events, order, seed):
    events = list(events)
    if order == "reverse":
        events.reverse()
    elif order == "shuffle":
        random.Random(seed).shuffle(events)
    return events


class Delivery:
    FIELDS = {"delay", "duplicate", "hold", "hold_count", "order", "seed"}

    def __init__(self):
        self.generation = 0  # bumped by forget_in_flight(): deliveries scheduled before are dropped
        self.reset()

    def forget_in_flight(self):
        """Drop the deliveries already scheduled but not yet sent (``DELETE /_config/data``): an
        event of the data just forgotten must not reach a webhook registered afterwards."""
        self.generation += 1

    def reset(self):
        self.delay = 0.0
        self.duplicate = False
        self.hold = False
        self.hold_count = None
        self.order = "fifo"
        self.seed = None
        self.held = []
        self.delivered = []  # (event id, type) in the order they went out, for tests

    @property
    def default(self):
        return not (self.delay or self.duplicate or self.hold)

    def configure(self, **fields):
        unknown = sorted(set(fields) - self.FIELDS)
        if unknown:
            raise DeliveryError(f"unknown field(s): {', '.join(unknown)}")
        try:
            delay = float(fields.get("delay", self.delay) or 0)
        except (TypeError, ValueError):
            raise DeliveryError("delay must be a number") from None
        if not 0 <= delay <= MAX_DELAY:
            raise DeliveryError(f"delay must be between 0 and {MAX_DELAY:g}")
        duplicate = _bool(fields.get("duplicate", self.duplicate), "duplicate")
        hold = _bool(fields.get("hold", self.hold), "hold")
        hold_count = fields.get("hold_count", self.hold_count)
        if hold_count in ("", None):
            hold_count = None
        else:
            try:
                hold_count = int(hold_count)
            except (TypeError, ValueError):
                raise DeliveryError("hold_count must be an integer") from None
            if hold_count < 1:
                raise DeliveryError("hold_count must be at least 1")
        order, seed = _order(fields.get("order", self.order), fields.get("seed", self.seed))
        self.delay, self.duplicate, self.hold = delay, duplicate, hold
        self.hold_count, self.order, self.seed = hold_count, order, seed
        return self.to_dict()

    def to_dict(self):
        return {
            "delay": self.delay,
            "duplicate": self.duplicate,
            "hold": self.hold,
            "hold_count": self.hold_count,
            "order": self.order,
            "seed": self.seed,
            "held": [{"id": e.id, "type": e.type} for e in self.held],
        }

    # ------------------------------------------------------------ scheduling

    def schedule(self, event):
        """localstripe's ``schedule_webhook``, with this policy."""
        if not ls_webhooks._webhooks:
            return
        if self.default:
            asyncio.ensure_future(self._send_later([event]))
            return
        if self.hold:
            self.held.append(event)
            if self.hold_count is not None and len(self.held) >= self.hold_count:
                batch = arrange(self.held, self.order, self.seed)
                self.held = []
                asyncio.ensure_future(self._send_later(batch))
            return
        asyncio.ensure_future(self._send_later([event]))

    async def release(self, count=None, order=None, seed=None, types=None):
        """Deliver held events now (at once, no delay); return them once delivered."""
        order, seed = _order(order or self.order, seed if seed is not None else self.seed)
        chosen = arrange(self.held, order, seed)
        if types:
            chosen = [e for e in chosen if e.type in types]
        if count is not None:
            chosen = chosen[: int(count)]
        ids = {id(e) for e in chosen}
        self.held = [e for e in self.held if id(e) not in ids]
        for event in chosen:
            await self._deliver(event)
        return [{"id": e.id, "type": e.type} for e in chosen]

    async def _send_later(self, events):
        generation = self.generation
        await asyncio.sleep(BASE_DELAY + self.delay)
        if generation != self.generation:
            return
        for event in events:
            await self._deliver(event)

    async def _deliver(self, event):
        times = 2 if self.duplicate else 1
        for _ in range(times):
            await send(event)
            self.delivered.append((event.id, event.type))


async def send(event):
    """POST the signed event to every registered webhook that wants it."""
    payload = json.dumps(event._export(), indent=2, sort_keys=True).encode("utf-8")
    timestamp = int(time.time())  # Stripe signs each delivery attempt when it makes it
    signed = b"%d.%s" % (timestamp, payload)
    for webhook in list(ls_webhooks._webhooks.values()):
        if webhook.events is not None and event.type not in webhook.events:
            continue
        signature = hmac.new(webhook.secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": f"t={timestamp},v1={signature}",
        }
        try:
            async with aiohttp.ClientSession() as session:
                async with session.post(webhook.url, data=payload, headers=headers) as r:
                    log.info("webhook %s (%s) -> %s", event.type, event.id, r.status)
        except aiohttp.ClientError as exc:
            log.info("webhook %s (%s) failed: %s", event.type, event.id, exc)


DELIVERY = Delivery()


def install():
    """Route every event localstripe and the stand-in schedule through :data:`DELIVERY`."""
    ls_webhooks.schedule_webhook = DELIVERY.schedule
    ls_resources.schedule_webhook = DELIVERY.schedule


def maybe_webhook(event_type, obj):
    """Record an event; deliver it only if a webhook is registered."""
    event = ls_resources.Event(event_type, obj)
    if ls_webhooks._webhooks:
        ls_webhooks.schedule_webhook(event)
    return event
