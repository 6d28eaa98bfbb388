"""The job queue: the slow work (mail, previews, download formats) runs in a worker, never in a request.

Built on huey. ``jobs.backend`` chooses where the queue lives:

- ``sqlite`` (the default): a SQLite file, ``jobs.sqlite_path`` (default ``var/jobs.sqlite3`` beside
  the ini file's folder when run from it): one host, any number of store processes and workers on it;
- ``redis``: ``jobs.redis_url`` (``redis://host:6379/0``): workers on any host;
- ``memory``: in the process that enqueues (tests, where each test app drains its own queue). A
  production server refuses it: nothing else would ever run its jobs.

A job is a plain function registered with :func:`job`; it is given a :class:`JobContext` (the app's
registry and settings, a database transaction of its own, the queue for a next step) and plain
arguments (ids, not ORM objects: the worker reads the row as it is when the job runs). Jobs are
idempotent: one that runs twice, or after what it was for changed, does nothing wrong. A job that
raises is retried (``retries`` times, ``retry_delay`` seconds apart, doubling); its function is told
whether the try is the last one, so it can record the failure for the owner.

``album-store worker CONFIG`` runs the jobs (``make run`` starts one beside the store); the web side
enqueues through :class:`IJobQueue`, after its transaction commits (:meth:`JobQueue.after_commit`), so
a worker never looks for a row that is not there yet, nor acts on one that was rolled back.
"""

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import transaction
from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab
from pyramid.exceptions import ConfigurationError
from pyramid.settings import asbool
from zope.interface import Interface, implementer

log = logging.getLogger(__name__)

BACKENDS = ("sqlite", "redis", "memory")


@dataclass(frozen=True)
class JobSpec:
    function: object
    retries: int
    retry_delay: int
    every_minutes: int | None = None


#: name → JobSpec, filled by @job at import time (the modules with jobs are imported by includeme).
JOBS = {}


def job(*, retries=3, retry_delay=30, every_minutes=None):
    """Register ``function(context, *args, last_try)`` as a job of that name. With ``every_minutes``
    (a divisor of 60) each worker also runs it on that schedule, with no arguments."""

    def register(function):
        JOBS[function.__name__] = JobSpec(function, retries, retry_delay, every_minutes)
        return function

    return register


class IJobQueue(Interface):
    def enqueue(name, *args):
        """Queue the job now (outside any transaction that the job depends on)."""

    def enqueue_in(seconds, name, *args):
        """Queue the job to run ``seconds`` from now."""

    def after_commit(tm, name, *args):
        """Queue the job once the current transaction of ``tm`` commits (not at all if it aborts)."""

    def check():
        """Raise unless the queue's storage answers (``/readyz``)."""

    def run_pending(limit=None, ahead=None):
        """Run the jobs queued and due, here, now; return how many ran (``album-store worker --until-empty``).
        ``ahead`` (a timedelta) also runs the retries due within that time."""


class JobContext:
    """What a job works with: the app's registry and settings, and a unit of work on the database."""

    def __init__(self, registry):
        self.registry = registry
        self.settings = registry.settings

    @property
    def queue(self):
        """The queue, for a job that queues the next step."""
        return self.registry.getUtility(IJobQueue)

    @contextmanager
    def transaction(self):
        """One transaction on a session of its own, committed when the block ends without an error."""
        from .models import get_tm_session

        tm = transaction.TransactionManager(explicit=True)
        dbsession = get_tm_session(self.registry["dbsession_factory"], tm)
        try:
            with tm:
                yield dbsession
        finally:
            dbsession.close()


def make_huey(settings, name="album-store"):
    backend = settings.get("jobs.backend", "sqlite").strip().lower()
    if backend not in BACKENDS:
        raise ConfigurationError(f"Setting jobs.backend must be one of {', '.join(BACKENDS)}, not {backend!r}.")
    if backend == "memory":
        if asbool(settings.get("store.require_secrets", "false")):
            raise ConfigurationError(
                "Setting jobs.backend = memory keeps jobs inside one process, where no worker runs them: "
                "use sqlite or redis in production."
            )
        return MemoryHuey(name, results=False, utc=True)
    if backend == "redis":
        url = settings.get("jobs.redis_url", "").strip()
        if not url:
            raise ConfigurationError(
                "Setting jobs.redis_url (environment JOBS_REDIS_URL) is needed when jobs.backend = redis."
            )
        return RedisHuey(name, url=url, results=False, utc=True)
    path = settings.get("jobs.sqlite_path", "").strip()
    if not path:
        raise ConfigurationError(
            "Setting jobs.sqlite_path (environment JOBS_SQLITE_PATH) is needed when jobs.backend = sqlite."
        )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=path, results=False, utc=True)


@implementer(IJobQueue)
class JobQueue:
    def __init__(self, huey, registry):
        self.huey = huey
        self.registry = registry
        self.context = JobContext(registry)
        self._tasks = {
            name: huey.task(
                retries=spec.retries, retry_delay=spec.retry_delay, retry_backoff=2, context=True, name=name
            )(self._runner(name, spec.function))
            for name, spec in JOBS.items()
        }
        for name, spec in JOBS.items():
            if spec.every_minutes:
                huey.periodic_task(
                    crontab(minute=f"*/{spec.every_minutes}"), name=f"{name}-every-{spec.every_minutes}-minutes"
                )(self._runner(name, spec.function))

    @property
    def in_memory(self):
        return isinstance(self.huey, MemoryHuey)

    def _runner(self, name, function):
        def run(*args, task=None):
            last_try = task is None or not task.retries
            return function(self.context, *args, last_try=last_try)

        run.__name__ = name
        return run

    def enqueue(self, name, *args):
        self._tasks[name](*args)

    def enqueue_in(self, seconds, name, *args):
        self._tasks[name].schedule(args=args, delay=seconds)

    def after_commit(self, tm, name, *args):
        from .models.transactions import after_commit

        def enqueue():
            try:
                self.enqueue(name, *args)
            except Exception:
                log.exception("could not queue job %s%r", name, args)

        after_commit(tm, enqueue)

    def run_pending(self, limit=None, ahead=None):
        """Run what is queued and what is due of the scheduled retries, as a worker would."""
        ran = 0
        while limit is None or ran < limit:
            due = self.huey._get_timestamp() + (ahead or timedelta(0))
            for task in self.huey.read_schedule(due):
                self.huey.enqueue(task)
            task = self.huey.dequeue()
            if task is None:
                return ran
            self.huey.execute(task, due)
            ran += 1
        return ran

    def check(self):
        self.huey.pending_count()  # one read of the queue's storage (Redis or SQLite)

    def pending_count(self):
        return self.huey.pending_count() + self.huey.scheduled_count()


def includeme(config):
    """After ``.services``: the jobs they define (``@job``) are registered by then."""
    queue = JobQueue(make_huey(config.get_settings()), config.registry)
    config.registry.registerUtility(queue, IJobQueue)
    config.register_service(queue, IJobQueue)
