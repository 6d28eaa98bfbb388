"""The ``album-store`` command: initdb, create-admin, reconcile, worker.

Each command builds the store's app from the ini (``pyramid.paster.bootstrap``, as ``pserve`` does)
and does its work through the app's services in ``with request.tm:``: the same settings, the same
rules and the same transaction idioms as a request (``album_store/models/__init__.py``). Only the
migrations run without the app: Alembic needs the database URL alone."""

import argparse
import getpass
import logging
import sys
from contextlib import contextmanager
from datetime import timedelta

from alembic.config import Config as AlembicConfig
from pyramid.paster import bootstrap, get_appsettings, setup_logging
from pyramid.request import Request
from pyramid.settings import asbool

from alembic import command as alembic_command

from .demo import (
    DEMO_OWNER_EMAIL,
    DEMO_OWNER_PASSWORD,
    seed_demo_catalog,
    seed_demo_owner,
    write_demo_audio,
    write_demo_files,
)
from .jobs import IJobQueue
from .models import get_engine, normalize_email
from .services.accounts import EmailTaken, IAccountService, password_problems
from .settings import load_settings
from .storage import IFileStorage

#: The migrations, inside the package (``album_store/alembic``), so an installed wheel can migrate. The
#: inis' ``[alembic]`` sections name the same place for Alembic's own ``alembic -c development.ini …``.
MIGRATIONS = "album_store:alembic"


def load(config_uri):
    setup_logging(config_uri)
    return load_settings(get_appsettings(config_uri))


def alembic_config(settings, engine=None):
    """Alembic's config for this store: the package's migrations, the store's database URL."""
    config = AlembicConfig()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["sqlalchemy.url"] = settings["sqlalchemy.url"]
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def migrate(settings, engine=None, revision="head"):
    alembic_command.upgrade(alembic_config(settings, engine), revision)


@contextmanager
def _store(config_uri):
    """The store's app built from the ini as ``pserve`` builds it, and a request inside it: every
    command works through the app's registry and services and the transaction idioms of
    ``models/transactions.py``, each in ``with request.tm:`` (a unit of work that commits at its end,
    or aborts on an exception).

    The request's links are on ``store.url`` (a request from nowhere knows no host of its own). On the
    way out the request's finished callbacks close its session and the engine's connections are let
    go, so no connection stays "idle in transaction" (holding locks on PostgreSQL)."""
    settings = load(config_uri)
    blank = Request.blank("/", base_url=settings.get("store.url") or "http://localhost")
    with bootstrap(config_uri, request=blank) as env:
        try:
            yield env
        finally:
            env["registry"]["db_engine"].dispose()


def cmd_initdb(args):
    # The migrations need the database URL only, not the app: a schema can be brought up to date
    # before the app can be built (its job queue, its storage, whatever it reads at start).
    settings = load(args.config)
    engine = get_engine(settings)
    try:
        migrate(settings, engine)
    finally:
        engine.dispose()
    print("Database migrated to the latest schema.")
    if args.demo:
        with _store(args.config) as env:
            _seed_demo(env["request"], with_audio=not args.no_audio)
    return 0


def _seed_demo(request, *, with_audio):
    settings = request.registry.settings
    storage = request.registry.getUtility(IFileStorage)
    queue = request.registry.getUtility(IJobQueue)
    has_files = storage.can_store("demo.zip")  # local storage without store.files_dir cannot
    with_owner = not asbool(settings["store.require_secrets"])
    with request.tm:
        dbsession = request.dbsession
        added = seed_demo_catalog(dbsession, settings["store.currency"])
        written = write_demo_files(dbsession, storage) if has_files else None
        owner_made = seed_demo_owner(request.find_service(IAccountService)) if with_owner else False
        audio = write_demo_audio(dbsession, storage) if has_files and with_audio else []
        if audio and not queue.in_memory:
            # The worker makes the previews, then the formats: queued once the tracks are committed.
            for track_id in audio:
                queue.after_commit(request.tm, "make_preview", track_id)
    print(f"Demo catalog: {added} album{'s' if added != 1 else ''} added.")
    if not with_owner:
        print("No demo owner where secrets are required: make one with `album-store create-admin`.")
    elif owner_made:
        print(f"Demo store owner: {DEMO_OWNER_EMAIL} with the password {DEMO_OWNER_PASSWORD}")
    else:
        print(f"Demo store owner: {DEMO_OWNER_EMAIL} is there already (its password is left as it is).")
    if written is None:
        print("No store.files_dir (STORE_FILES_DIR) is set, so the demo albums have no files to download.")
    else:
        print(f"Demo downloads: {written} file{'s' if written != 1 else ''} written to {storage.description}.")
    if audio and queue.in_memory:
        print("jobs.backend = memory: no worker will make the demo's previews.")
    elif audio:
        print(f"Demo audio: {len(audio)} tracks; `album-store worker` makes their previews and downloads.")


def cmd_create_admin(args):
    password = args.password
    if password is None:
        password = getpass.getpass("Password for the store owner: ")
        if getpass.getpass("Same password again: ") != password:
            print("The passwords differ; nothing was changed.", file=sys.stderr)
            return 2
    email = normalize_email(args.email)
    problems = password_problems(password, email=email)
    if problems:
        print(f"{problems[0]} Nothing was changed.", file=sys.stderr)
        return 2
    if "@" not in email:
        print("That is not an email address; nothing was changed.", file=sys.stderr)
        return 2
    with _store(args.config) as env:
        request = env["request"]
        with request.tm:
            try:
                user, created = request.find_service(IAccountService).make_owner(email, password)
            except EmailTaken:  # made by someone else just now: a second run promotes it
                print("An account with this address was made just now; run the command again.", file=sys.stderr)
                return 2
    print(f"{'Created' if created else 'Promoted'} store owner {email}.")
    return 0


def cmd_reconcile(args):
    """Settle pending purchases through the app's own services, so a purchase found paid also gets
    its receipt mail (with the download link), as if the buyer had seen the confirmation page."""
    from .services.purchases import IPurchaseService

    with _store(args.config) as env:
        request = env["request"]
        with request.tm:
            service = request.find_service(IPurchaseService)
            settled = service.reconcile_pending(
                min_age=timedelta(minutes=args.min_age_minutes), search_lag=timedelta(minutes=args.search_lag_minutes)
            )
        _run_jobs_kept_in_memory(env["registry"])
    print(f"Reconciled {len(settled)} purchase{'s' if len(settled) != 1 else ''}.")
    return 0


def _run_jobs_kept_in_memory(registry):
    """With ``jobs.backend = memory`` no worker shares this process's queue: run what it queued (the
    receipts of what reconcile settled) before it exits."""
    queue = registry.getUtility(IJobQueue)
    if queue.in_memory:
        queue.run_pending()


def cmd_worker(args):
    """Run the job queue: mail, previews, download formats (album_store/jobs.py)."""
    with _store(args.config) as env:
        queue = env["registry"].getUtility(IJobQueue)
        if args.until_empty:
            ran = queue.run_pending()
            print(f"Ran {ran} job{'s' if ran != 1 else ''}; the queue is empty.")
            return 0
        if queue.in_memory:
            print(
                "jobs.backend = memory: a worker shares no queue with the store; use sqlite or redis.", file=sys.stderr
            )
            return 2
        # What a worker killed mid-job left behind (resume_unfinished also runs every 10 minutes).
        queue.enqueue("resume_unfinished")
        # Threads: the jobs wait on ffmpeg and the mail server, not on Python.
        queue.huey.create_consumer(workers=args.workers, worker_type="thread", check_worker_health=True).run()
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="album-store", description="Run the album store's chores.")
    sub = parser.add_subparsers(dest="command", required=True)

    initdb = sub.add_parser("initdb", help="migrate the database to the latest schema")
    initdb.add_argument("config", help="the ini file, e.g. development.ini")
    initdb.add_argument("--demo", action="store_true", help="also add the demo catalog (idempotent)")
    initdb.add_argument(
        "--no-audio",
        action="store_true",
        help="with --demo: no generated track audio, covers or previews (quicker; for tests)",
    )
    initdb.set_defaults(func=cmd_initdb)

    admin = sub.add_parser("create-admin", help="create or promote a store owner account")
    admin.add_argument("config")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", help="prompted for when left out")
    admin.set_defaults(func=cmd_create_admin)

    reconcile = sub.add_parser("reconcile", help="settle purchases left pending against Stripe")
    reconcile.add_argument("config")
    reconcile.add_argument(
        "--min-age-minutes",
        type=float,
        default=10,
        help="only purchases pending at least this long (default 10), so checkouts in progress are left alone",
    )
    reconcile.add_argument(
        "--search-lag-minutes",
        type=float,
        default=60,
        help="how far Stripe's search may lag behind (default 60, as Stripe says it can during incidents): "
        "a purchase younger than this is not marked failed just because search found no payment yet",
    )
    reconcile.set_defaults(func=cmd_reconcile)
    worker = sub.add_parser("worker", help="run the job queue (mail, previews, download formats) until stopped")
    worker.add_argument("config")
    worker.add_argument("--workers", type=int, default=2, help="jobs run at the same time (default 2)")
    worker.add_argument("--until-empty", action="store_true", help="run the queued jobs, then exit")
    worker.set_defaults(func=cmd_worker)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
