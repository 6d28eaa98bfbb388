"""The suite's fixtures: a migrated database, the app, a browser-like client, and Stripe.

Stripe is the local stand-in (``stripe_standin``), started once per session on a free loopback
port, unless ``STRIPE_SECRET_KEY`` holds an ``sk_test_`` key and ``STRIPE_API_BASE`` is unset: then
the same tests run against Stripe's real test mode, and the few that need the stand-in's fault
injection skip and say why.

The database is SQLite in a temporary folder, or ``TEST_DATABASE_URL`` (e.g. PostgreSQL). Its schema
comes from the Alembic migrations, and every test starts from empty tables; the suite drops what it
created when it ends. Tests that need an empty database of their own (migrations, ``initdb``) get a
``scratch_database_url``: a new SQLite file, or a new schema in the PostgreSQL database.
"""

import os
import tempfile

# Chameleon keeps the templates it compiles in this folder (read when chameleon is first imported), so
# each of the many apps the suite builds loads them from here instead of compiling them again.
# Subprocesses (live stores, workers) inherit it.
if "CHAMELEON_CACHE" not in os.environ:
    import atexit
    import shutil

    os.environ["CHAMELEON_CACHE"] = tempfile.mkdtemp(prefix="album-store-chameleon-")
    atexit.register(shutil.rmtree, os.environ["CHAMELEON_CACHE"], True)

import ipaddress  # noqa: E402 (after the setting above)
import secrets
import socket
from pathlib import Path

import pytest
import webtest
from hypothesis import settings as hypothesis_settings
from pyramid.paster import get_appsettings
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

from album_store import main
from album_store.cli import migrate
from album_store.models import Base, get_engine
from album_store.settings import ENVIRONMENT_OVERRIDES, load_settings

ROOT = Path(__file__).resolve().parent.parent
TESTING_INI = ROOT / "testing.ini"
#: A password the store accepts (long, not a common one).
PASSWORD = "velvet-harbour-42"


def _stripe_mode(environ):
    key = environ.get("STRIPE_SECRET_KEY", "")
    if key and not environ.get("STRIPE_API_BASE"):
        if not key.startswith("sk_test_"):
            raise pytest.UsageError("STRIPE_SECRET_KEY must be an sk_test_ key for the test suite; never a live key.")
        return "stripe"
    return "standin"


STRIPE_MODE = _stripe_mode(os.environ)
# `make mutants` (pyproject.toml, [tool.mutmut]): the same examples every run, so a score is repeatable,
# and no deadline, since mutmut's trampolines make every call of a mutated module slower.
hypothesis_settings.register_profile("mutants", derandomize=True, deadline=None)
REAL_STRIPE = {
    "stripe.secret_key": os.environ.get("STRIPE_SECRET_KEY", ""),
    "stripe.publishable_key": os.environ.get("STRIPE_PUBLISHABLE_KEY", "pk_test_unset"),
}
# The developer's own settings (a DATABASE_URL, say) must never reach the test app.
for _variable in ENVIRONMENT_OVERRIDES.values():
    os.environ.pop(_variable, None)

real_stripe_only = pytest.mark.skipif(
    STRIPE_MODE != "stripe", reason="needs Stripe's real test mode (set STRIPE_SECRET_KEY=sk_test_…)"
)
standin_only = pytest.mark.skipif(
    STRIPE_MODE != "standin",
    reason="needs the local Stripe stand-in (fault injection or raw card numbers); running against Stripe's test mode",
)


# --- no internet -------------------------------------------------------------------------------
class InternetAccessError(OSError):
    pass


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(sock, address):
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = address[0]
    try:
        allowed = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        allowed = False
    if not allowed:
        raise InternetAccessError(f"the test suite must not leave this machine (tried {host})")


def _guarded_connect(self, address):
    _check_address(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _check_address(self, address)
    return _real_connect_ex(self, address)


@pytest.fixture(scope="session", autouse=True)
def no_internet():
    """Every connection the suite makes goes to loopback (unless running against real Stripe)."""
    if STRIPE_MODE == "stripe":
        yield False
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _guarded_connect)
        patch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
        yield True


# --- Stripe ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def standin():
    """The local Stripe stand-in's process (None when the suite runs against Stripe itself)."""
    if STRIPE_MODE != "standin":
        yield None
        return
    from stripe_standin.process import start_standin

    with start_standin() as process:
        yield process


@pytest.fixture(scope="session")
def stripe_settings(standin):
    if standin is None:
        return {
            **REAL_STRIPE,
            "stripe.api_base": "",
            "stripe.checkout_js_url": "https://checkout.stripe.com/checkout.js",
            "stripe.js_url": "https://js.stripe.com/v3/",
        }
    return {
        "stripe.secret_key": "sk_test_standin_testing",
        "stripe.publishable_key": "pk_test_standin_testing",
        "stripe.api_base": standin.url,
        "stripe.checkout_js_url": f"{standin.url}/checkout.js",
        "stripe.js_url": f"{standin.url}/js.stripe.com/v3/",
    }


@pytest.fixture(scope="session")
def stripe_client(stripe_settings):
    """The real SDK, pointed where the app points: for tests to check what Stripe recorded."""
    import stripe

    base = {"api": stripe_settings["stripe.api_base"]} if stripe_settings["stripe.api_base"] else {}
    return stripe.StripeClient(stripe_settings["stripe.secret_key"], base_addresses=base)


@pytest.fixture(scope="session")
def new_card_token(stripe_client):
    """A fresh single-use Checkout token for 4242 4242 4242 4242, as Checkout's modal makes one.

    Stripe's test mode refuses raw card numbers from a server, so there the reusable magic
    ``tok_visa`` stands in for it.
    """

    def factory(number="4242424242424242"):
        if STRIPE_MODE != "standin":
            return "tok_visa"
        card = {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"}
        return stripe_client.v1.tokens.create(params={"card": card}).id

    return factory


@pytest.fixture
def faults(standin):
    """Fault injection on the stand-in; cleared after each test."""
    if standin is None:
        pytest.skip("fault injection needs the local Stripe stand-in")
    from stripe_standin import process

    class Faults:
        def inject(self, **kwargs):
            process.inject_fault(standin.url, **kwargs)

        def search_lag(self, seconds):
            """Stripe's search is eventually consistent: objects written less than ``seconds`` ago are not
            yet found (or found as they were). Back to 0 after the test."""
            process.set_search_lag(standin.url, seconds)

        def webhook_delivery(self, **kwargs):
            """Webhooks delayed, duplicated, held, reordered (stripe_standin/webhook_delivery.py). Reset after
            the test; ``process.release_webhooks(standin.url)`` delivers held ones."""
            return process.set_webhook_delivery(standin.url, **kwargs)

    yield Faults()
    process.clear_faults(standin.url)


# --- database ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


@pytest.fixture(scope="session")
def files_dir(tmp_path_factory):
    """``store.files_dir`` of the test app: albums' downloadable files."""
    return tmp_path_factory.mktemp("files")


@pytest.fixture(scope="session")
def app_settings(database_url, stripe_settings, files_dir):
    settings = dict(get_appsettings(str(TESTING_INI)))
    settings.update(stripe_settings)
    settings["sqlalchemy.url"] = database_url
    settings["store.files_dir"] = str(files_dir)
    return settings


SCRATCH_SCHEMA_PREFIX = "scratch_"


def _no_waiting_for_locks(connection):
    """On PostgreSQL, a DROP that waits for a connection left open in a transaction fails instead of
    hanging the suite."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL lock_timeout = '15s'"))


def _drop_schema(engine):
    with engine.begin() as connection:
        _no_waiting_for_locks(connection)
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        if connection.dialect.name == "postgresql":  # left by an interrupted run
            leftovers = connection.scalars(
                text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :prefix"),
                {"prefix": SCRATCH_SCHEMA_PREFIX + "%"},
            ).all()
            for schema in leftovers:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(scope="session")
def db_engine(app_settings):
    settings = load_settings(app_settings, environ={})
    engine = get_engine(settings)
    _drop_schema(engine)  # a leftover schema from an earlier run on the same database
    migrate(settings, engine)
    yield engine
    _drop_schema(engine)  # leave TEST_DATABASE_URL as empty as it was found
    engine.dispose()


@pytest.fixture
def scratch_database_url(database_url, db_engine, tmp_path):
    """An empty database of the suite's kind, apart from the shared one (which stays migrated).

    SQLite: a new file. PostgreSQL: a new schema in ``TEST_DATABASE_URL``, made the connection's
    ``search_path`` through the URL, and dropped afterwards.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.sqlite'}"
        return
    if url.get_backend_name() != "postgresql":
        pytest.skip(f"no scratch database for {url.get_backend_name()} yet")
    schema = f"{SCRATCH_SCHEMA_PREFIX}{secrets.token_hex(6)}"
    with db_engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    with db_engine.begin() as connection:
        _no_waiting_for_locks(connection)
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _empty_tables(engine):
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def dbsession(db_engine):
    """A session for arranging and checking data; tables are emptied before each test."""
    _empty_tables(db_engine)
    session = Session(bind=db_engine, expire_on_commit=False)
    yield session
    session.close()


@pytest.fixture(scope="session")
def app(app_settings, db_engine):
    return main({}, **app_settings)


@pytest.fixture(scope="session")
def payment_intents_app(app_settings, db_engine):
    """The store with ``store.payment_flow = payment_intents``."""
    return main({}, **{**app_settings, "store.payment_flow": "payment_intents"})


@pytest.fixture(scope="session")
def checkout_session_app(app_settings, db_engine):
    """The store with ``store.payment_flow = checkout_session`` (Stripe's hosted page)."""
    return main({}, **{**app_settings, "store.payment_flow": "checkout_session"})


# --- an S3 bucket (tests/s3.py) -------------------------------------------------------------------
@pytest.fixture(scope="session")
def moto_s3():
    """moto's S3-compatible server on loopback with the test bucket (tests/s3.py), for the session."""
    from tests.s3 import MotoS3

    server = MotoS3()
    yield server
    server.stop()


def s3_store(app_settings, moto_s3, **overrides):
    """The store with its files in the moto bucket; fake credentials reach boto3 through the
    environment only while the app (and so its client) is made."""
    from tests.s3 import fake_aws_credentials

    with fake_aws_credentials():
        return main({}, **{**app_settings, **moto_s3.settings(**overrides)})


@pytest.fixture(scope="session")
def s3_app(app_settings, db_engine, moto_s3):
    """The store with ``store.storage = s3`` (buyers' downloads presigned, the default)."""
    return s3_store(app_settings, moto_s3)


@pytest.fixture(scope="session")
def s3_stream_app(app_settings, db_engine, moto_s3):
    """The store with ``store.storage = s3`` and ``storage.downloads = stream``."""
    return s3_store(app_settings, moto_s3, **{"storage.downloads": "stream"})


@pytest.fixture(params=["checkout_js", "payment_intents", "checkout_session"])
def flow(request):
    """Every payment flow: a test taking it (or ``shop``) runs once for each."""
    return request.param


@pytest.fixture
def shop(flow, request, dbsession, new_card_token):
    """A browser on the store in the test's payment flow (``shop.pay(slug, card=…)``)."""
    app = request.getfixturevalue(
        {"checkout_js": "app", "payment_intents": "payment_intents_app", "checkout_session": "checkout_session_app"}[
            flow
        ]
    )
    return StoreTestApp(app, new_card_token)


@pytest.fixture
def make_app(app_settings, db_engine, new_card_token):
    """Build another app with some settings changed (e.g. Stripe somewhere unreachable)."""

    def factory(**overrides):
        return StoreTestApp(main({}, **{**app_settings, **overrides}), new_card_token)

    return factory


def run_jobs(app):
    """Run what the app's in-memory job queue holds (and what it queues meanwhile), as its worker."""
    from album_store.jobs import IJobQueue

    return app.registry.getUtility(IJobQueue).run_pending()


class StoreTestApp(webtest.TestApp):
    """A browser: keeps cookies, and knows how to fetch a form's CSRF token and pay for an album."""

    #: Run the jobs a request queued once its answer is back, as a worker beside the store would;
    #: a test that looks at work still queued sets it False and calls :meth:`run_jobs` itself.
    worker_running = True

    def __init__(self, app, new_card_token=None, **kwargs):
        kwargs.setdefault("extra_environ", {"HTTP_HOST": "localhost"})
        super().__init__(app, **kwargs)
        self.new_card_token = new_card_token

    def do_request(self, req, status=None, expect_errors=None):
        response = super().do_request(req, status=status, expect_errors=expect_errors)
        if self.worker_running:
            self.run_jobs()
        return response

    def run_jobs(self):
        """Run every job queued in this app's queue (``jobs.backend = memory``) and due; how many ran."""
        return run_jobs(self.app)

    def csrf_token(self, slug=None):
        """The token static/csrf.js puts in the album form: the cookie's, or a new one from the store."""
        if slug is not None:
            self.get(f"/albums/{slug}")
        return self.cookies.get("csrf_token") or self.get("/csrf-token").json["token"]

    def form_csrf_token(self, path):
        """The CSRF token of the first form on the page at ``path``."""
        return self.get(path).html.find("input", attrs={"name": "csrf_token"})["value"]

    def register(self, email, password=PASSWORD, *, confirm=None, status=303):
        fields = {"email": email, "password": password, "confirm": password if confirm is None else confirm}
        fields["csrf_token"] = self.form_csrf_token("/account/register")
        return self.post("/account/register", fields, status=status)

    def login(self, email, password=PASSWORD, *, next="", status=303):
        fields = {
            "email": email,
            "password": password,
            "next": next,
            "csrf_token": self.form_csrf_token("/account/login"),
        }
        return self.post("/account/login", fields, status=status)

    def logout(self):
        return self.post("/account/logout", {"csrf_token": self.form_csrf_token("/account/logout")}, status=303)

    @property
    def buyer(self):
        """Pays as a browser does in this store's payment flow (tests/paying.py)."""
        from tests.paying import Buyer

        return Buyer(self, STRIPE_MODE == "stripe", self.new_card_token)

    def pay(self, slug, card=None, email="buyer@example.com", **kwargs):
        """Pay for the album in this store's flow; a :class:`tests.paying.Payment` says how it ended."""
        from tests.paying import VISA

        return self.buyer.pay(slug, card or VISA, email, **kwargs)

    def buy(self, slug, token=None, email="buyer@example.com", *, csrf=True, status=None, shown=None, **extra):
        """Post the album's form as Checkout does; ``token`` defaults to a fresh 4242 card token.

        The form's price fields are read from the album page as it is now, unless ``shown`` gives
        others (an older page's :func:`tests.paying.shown_price`, a tampered price, ``{}`` for none)."""
        from tests.paying import shown_price

        if token is None:
            token = self.new_card_token()
        page = self.get(f"/albums/{slug}", status="*")
        fields = {
            "stripeToken": token,
            "stripeTokenType": "card",
            "stripeEmail": email,
            **(shown_price(page) if shown is None else shown),
            **extra,
        }
        if csrf:
            fields["csrf_token"] = self.csrf_token()
        return self.post(f"/albums/{slug}/buy", fields, status=status)


@pytest.fixture
def testapp(app, dbsession, new_card_token):
    return StoreTestApp(app, new_card_token)


@pytest.fixture
def outbox(app):
    """The mail the test app has sent (pyramid_mailer's DummyMailer), emptied for each test."""
    from pyramid_mailer import get_mailer

    sent = get_mailer(app.registry).outbox
    sent.clear()
    return sent


@pytest.fixture
def ini_file(tmp_path, app_settings):
    """An ini file for the CLI, pointing at the test database and Stripe."""
    lines = ["[app:main]", "use = egg:album_store"]
    lines += [
        f"{key} = {value}"
        for key, value in app_settings.items()
        if key.startswith(("stripe.", "store.", "sqlalchemy.", "mail.", "jobs."))
    ]
    path = tmp_path / "cli.ini"
    path.write_text("\n".join(lines).replace("%", "%%") + "\n")
    return path


@pytest.fixture
def live_stores(tmp_path, app_settings, dbsession):
    """Start stores served by waitress in processes of their own (tests/live.py); stopped after the test."""
    started = []

    def start(**overrides):
        from tests.live import LiveStore

        store = LiveStore(tmp_path, {**app_settings, **overrides})
        started.append(store)
        return store

    yield start
    for store in started:
        store.stop()


# --- Redis ---------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _redis_server(tmp_path_factory):
    from tests.live import free_port
    from tests.services import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis"), free_port())
    yield server
    server.stop()


@pytest.fixture
def redis_server(_redis_server):
    """Debian's redis-server on a port of its own (tests/services.py), emptied for each test."""
    _redis_server.flush()
    return _redis_server
