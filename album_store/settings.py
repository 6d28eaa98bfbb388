"""The store's settings: ini values, overridden by environment variables, checked for production.

Every setting has one ini key and one environment variable (README.md, "Configuration"); the variable wins
when it is set. ``store.require_secrets = true`` (set in production.ini) makes start-up refuse
missing or placeholder secrets and a live key paired with a test key.
"""

import os
import re

from pyramid.exceptions import ConfigurationError
from pyramid.settings import asbool

#: ini key -> environment variable
ENVIRONMENT_OVERRIDES = {
    "sqlalchemy.url": "DATABASE_URL",
    "stripe.secret_key": "STRIPE_SECRET_KEY",
    "stripe.publishable_key": "STRIPE_PUBLISHABLE_KEY",
    "stripe.api_base": "STRIPE_API_BASE",
    "stripe.checkout_js_url": "STRIPE_CHECKOUT_JS_URL",
    "stripe.js_url": "STRIPE_JS_URL",
    "stripe.webhook_secret": "STRIPE_WEBHOOK_SECRET",
    "store.name": "STORE_NAME",
    "store.currency": "STORE_CURRENCY",
    "store.secret": "STORE_SECRET",
    "store.payment_flow": "STORE_PAYMENT_FLOW",
    "store.tax": "STORE_TAX",
    "store.tax_code": "STORE_TAX_CODE",
    "store.url": "STORE_URL",
    "store.files_dir": "STORE_FILES_DIR",
    "store.covers_dir": "STORE_COVERS_DIR",
    "store.storage": "STORE_STORAGE",
    "storage.s3_bucket": "STORAGE_S3_BUCKET",
    "storage.s3_endpoint_url": "STORAGE_S3_ENDPOINT_URL",
    "storage.s3_region": "STORAGE_S3_REGION",
    "storage.s3_prefix": "STORAGE_S3_PREFIX",
    "storage.downloads": "STORAGE_DOWNLOADS",
    "storage.presign_seconds": "STORAGE_PRESIGN_SECONDS",
    "mail.backend": "MAIL_BACKEND",
    "mail.folder": "MAIL_FOLDER",
    "mail.host": "MAIL_HOST",
    "mail.port": "MAIL_PORT",
    "mail.username": "MAIL_USERNAME",
    "mail.password": "MAIL_PASSWORD",
    "mail.tls": "MAIL_TLS",
    "mail.default_sender": "MAIL_DEFAULT_SENDER",
    "jobs.backend": "JOBS_BACKEND",
    "jobs.sqlite_path": "JOBS_SQLITE_PATH",
    "jobs.redis_url": "JOBS_REDIS_URL",
    "jobs.stuck_seconds": "JOBS_STUCK_SECONDS",
}

#: Stripe's product tax code for digital audio works, downloaded, not a subscription, permanent rights.
DIGITAL_AUDIO_TAX_CODE = "txcd_10401100"

DEFAULTS = {
    "stripe.api_base": "",
    "stripe.checkout_js_url": "https://checkout.stripe.com/checkout.js",
    "stripe.js_url": "https://js.stripe.com/v3/",
    "stripe.timeout_seconds": "20",
    "stripe.max_network_retries": "2",
    "store.name": "Album Store",
    "store.currency": "usd",
    "store.payment_flow": "checkout_js",
    # Stripe Tax on the hosted page (checkout_session only): off, exclusive (added to the price at
    # Stripe's page) or inclusive (the price includes it), with the albums' product tax code.
    "store.tax": "off",
    "store.tax_code": DIGITAL_AUDIO_TAX_CODE,
    "store.require_secrets": "false",
    "store.secure_cookies": "false",
    "store.max_body_bytes": str(256 * 1024),
    "store.page_cache_seconds": "10",
    "payments.service": "album_store.services.payments.stripe_service.StripePaymentService",
    "store.url": "",
    "store.files_dir": "",
    "store.covers_dir": "",
    # Where the files live (album_store/storage.py): local (files_dir, covers_dir) or s3 (a bucket;
    # credentials from boto3's own chain, AWS_ACCESS_KEY_ID… or a role, never from these settings).
    "store.storage": "local",
    "storage.s3_bucket": "",
    "storage.s3_endpoint_url": "",  # empty: AWS itself
    "storage.s3_region": "",
    "storage.s3_prefix": "",
    # A buyer's download from a bucket: presigned (a 303 to a short-lived URL) or stream (through the store).
    "storage.downloads": "presigned",
    "storage.presign_seconds": "300",
    # The owner's uploads: a cover image, and an album's download file (streamed to disk).
    "store.max_cover_bytes": str(10 * 1024 * 1024),
    "store.max_file_bytes": str(1024 * 1024 * 1024),
    # A track's uploaded audio (WAV, FLAC, AIFF or MP3), streamed to disk.
    "store.max_audio_bytes": str(1024 * 1024 * 1024),
    "mail.backend": "smtp",
    "mail.host": "localhost",
    "mail.port": "25",
    "mail.default_sender": "Album Store <store@localhost>",
    # The job queue (album_store/jobs.py): sqlite (jobs.sqlite_path), redis (jobs.redis_url) or memory.
    "jobs.backend": "sqlite",
    "jobs.sqlite_path": "",
    "jobs.redis_url": "",
    # A format's build with no sign of life for this long is taken over by another worker (its own died).
    "jobs.stuck_seconds": "900",
}

#: Settings a production server cannot run without.
REQUIRED_SECRETS = (
    "sqlalchemy.url",
    "stripe.secret_key",
    "stripe.publishable_key",
    "stripe.webhook_secret",
    "store.secret",
    # Links in emails are built from it; without it they would trust the request's Host header.
    "store.url",
)

#: How the album page takes a card (README: "Choosing a payment flow").
#: ``checkout_js``: legacy Checkout's button and a charge (the Charges API; not SCA-ready).
#: ``payment_intents``: a card Element from Stripe.js and a PaymentIntent (3-D Secure when the card needs it).
#: ``checkout_session``: Stripe's hosted payment page (a Checkout Session); Stripe's recommendation.
CHECKOUT_JS = "checkout_js"
PAYMENT_INTENTS = "payment_intents"
CHECKOUT_SESSION = "checkout_session"
PAYMENT_FLOWS = (CHECKOUT_JS, PAYMENT_INTENTS, CHECKOUT_SESSION)
#: ``store.tax``: no tax, or Stripe Tax on Checkout Sessions with the price excluding or including it.
TAX_OFF, TAX_EXCLUSIVE, TAX_INCLUSIVE = "off", "exclusive", "inclusive"
TAX_SETTINGS = (TAX_OFF, TAX_EXCLUSIVE, TAX_INCLUSIVE)
TAX_CODE = re.compile(r"txcd_\d{8}")

PLACEHOLDER_MARKERS = ("change-me", "changeme", "change_me", "placeholder", "xxxx", "your-", "your_")


def load_settings(settings, environ=None):
    """Return a new dict of settings: defaults < ini < environment, then checked."""
    environ = os.environ if environ is None else environ
    merged = dict(DEFAULTS)
    merged.update({k: v for k, v in settings.items() if v is not None})
    for key, variable in ENVIRONMENT_OVERRIDES.items():
        value = environ.get(variable)
        if value:
            merged[key] = value
    merged["store.currency"] = merged["store.currency"].strip().lower()
    merged["store.payment_flow"] = check_payment_flow(merged["store.payment_flow"])
    merged["store.tax"], merged["store.tax_code"] = check_tax(merged["store.tax"], merged["store.tax_code"])
    check_storage(merged)
    if not merged.get("store.secret") and not asbool(merged["store.require_secrets"]):
        # Development convenience only: a per-process secret (sessions end at restart).
        merged["store.secret"] = os.urandom(32).hex()
    if asbool(merged["store.require_secrets"]):
        check_production_settings(merged)
    return merged


def check_payment_flow(value):
    """The flow's name, normalised; a clear refusal to start for anything else."""
    flow = str(value).strip().lower()
    if flow not in PAYMENT_FLOWS:
        raise ConfigurationError(
            f"Setting store.payment_flow (environment STORE_PAYMENT_FLOW) must be one of "
            f"{', '.join(PAYMENT_FLOWS)}, not {str(value).strip()!r}."
        )
    return flow


def check_tax(value, code):
    """``store.tax`` and ``store.tax_code``, normalised; a clear refusal to start for anything else."""
    tax = str(value).strip().lower()
    if tax not in TAX_SETTINGS:
        raise ConfigurationError(
            f"Setting store.tax (environment STORE_TAX) must be one of {', '.join(TAX_SETTINGS)}, "
            f"not {str(value).strip()!r}."
        )
    code = str(code).strip()
    if not TAX_CODE.fullmatch(code):
        raise ConfigurationError(
            f"Setting store.tax_code (environment STORE_TAX_CODE) must be one of Stripe's product tax codes "
            f"(txcd_ and 8 digits, e.g. txcd_10401100), not {code!r}."
        )
    return tax, code


#: ``store.storage``: the files on local disk or in an S3-compatible bucket (album_store/storage.py).
STORAGES = ("local", "s3")
#: ``storage.downloads``: how a buyer gets a file from a bucket.
DOWNLOAD_MODES = ("presigned", "stream")
#: SigV4's own limit for a presigned URL: seven days.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
#: Setting names that would put a cloud credential in an ini file: refused (boto3's chain only).
CREDENTIAL_WORDS = ("access_key", "secret_key", "secret_access", "session_token")


def _choice(settings, key, choices):
    value = str(settings[key]).strip().lower()
    if value not in choices:
        raise ConfigurationError(
            f"Setting {key} (environment {ENVIRONMENT_OVERRIDES[key]}) must be one of {', '.join(choices)}, "
            f"not {str(settings[key]).strip()!r}."
        )
    return value


def check_storage(settings):
    """``store.storage`` and the ``storage.*`` settings, normalised in place; a clear refusal to start
    for an unknown storage, a bucket missing, or a credential in the settings."""
    for key in settings:
        if key.startswith(("storage.", "aws")) and any(word in key.lower() for word in CREDENTIAL_WORDS):
            raise ConfigurationError(
                f"Setting {key}: the store takes no cloud credentials from its settings; give them to boto3 "
                "in its environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or through a role."
            )
    settings["store.storage"] = _choice(settings, "store.storage", STORAGES)
    settings["storage.downloads"] = _choice(settings, "storage.downloads", DOWNLOAD_MODES)
    for key in ("storage.s3_bucket", "storage.s3_endpoint_url", "storage.s3_region", "storage.s3_prefix"):
        settings[key] = str(settings.get(key) or "").strip()
    if settings["store.storage"] == "s3" and not settings["storage.s3_bucket"]:
        raise ConfigurationError(
            "Setting storage.s3_bucket (environment STORAGE_S3_BUCKET) is missing; "
            "it is needed when store.storage = s3."
        )
    if ".." in settings["storage.s3_prefix"].split("/"):
        raise ConfigurationError("Setting storage.s3_prefix (environment STORAGE_S3_PREFIX) must not contain '..'.")
    endpoint = settings["storage.s3_endpoint_url"]
    if endpoint and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", endpoint):
        raise ConfigurationError(
            "Setting storage.s3_endpoint_url (environment STORAGE_S3_ENDPOINT_URL) must be an http(s) URL, "
            f"not {endpoint!r}."
        )
    seconds = str(settings["storage.presign_seconds"]).strip()
    if not (seconds.isascii() and seconds.isdigit()) or not 1 <= int(seconds) <= MAX_PRESIGN_SECONDS:
        raise ConfigurationError(
            f"Setting storage.presign_seconds (environment STORAGE_PRESIGN_SECONDS) must be a whole number of "
            f"seconds from 1 to {MAX_PRESIGN_SECONDS}, not {seconds!r}."
        )
    settings["storage.presign_seconds"] = str(int(seconds))


def is_placeholder(value):
    lowered = value.strip().lower()
    return any(marker in lowered for marker in PLACEHOLDER_MARKERS)


def check_production_settings(settings):
    """Refuse to start, naming the setting, when a secret is missing or looks like a placeholder."""
    for key in REQUIRED_SECRETS:
        value = (settings.get(key) or "").strip()
        variable = ENVIRONMENT_OVERRIDES[key]
        if not value:
            raise ConfigurationError(f"Setting {key} (environment {variable}) is missing.")
        if is_placeholder(value):
            raise ConfigurationError(
                f"Setting {key} (environment {variable}) is still a placeholder; set a real value."
            )
    if len(settings["store.secret"]) < 32:
        raise ConfigurationError("Setting store.secret (environment STORE_SECRET) must be at least 32 characters.")
    secret_mode = _key_mode(settings["stripe.secret_key"], "sk_")
    publishable_mode = _key_mode(settings["stripe.publishable_key"], "pk_")
    if secret_mode is None:
        raise ConfigurationError(
            "Setting stripe.secret_key (environment STRIPE_SECRET_KEY) must start with sk_test_ or sk_live_."
        )
    if publishable_mode is None:
        raise ConfigurationError(
            "Setting stripe.publishable_key (environment STRIPE_PUBLISHABLE_KEY) must start with pk_test_ or pk_live_."
        )
    if secret_mode != publishable_mode:
        raise ConfigurationError(
            f"stripe.secret_key is a {secret_mode} key but stripe.publishable_key is a {publishable_mode} key; "
            "use the pair from the same Stripe mode."
        )
    if not settings["stripe.webhook_secret"].startswith("whsec_"):
        raise ConfigurationError(
            "Setting stripe.webhook_secret (environment STRIPE_WEBHOOK_SECRET) must start with whsec_."
        )


def _key_mode(key, prefix):
    for mode in ("test", "live"):
        if key.startswith(f"{prefix}{mode}_"):
            return mode
    return None
