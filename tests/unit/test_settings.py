"""Settings: the environment beats the ini; production refuses missing or placeholder secrets."""

from pathlib import Path

import pytest
from pyramid.exceptions import ConfigurationError
from pyramid.paster import get_appsettings

from album_store.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent.parent

GOOD_PRODUCTION = {
    "DATABASE_URL": "postgresql+psycopg:///album_store",
    "STRIPE_SECRET_KEY": "sk_live_51HxYzAbCdEf",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_51HxYzAbCdEf",
    "STRIPE_WEBHOOK_SECRET": "whsec_3f9a8b7c6d5e",
    "STORE_SECRET": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "STORE_URL": "https://music.example.com",
}


def production(**environ):
    return load_settings(get_appsettings(str(ROOT / "production.ini")), environ={**GOOD_PRODUCTION, **environ})


def test_environment_variables_override_the_ini():
    settings = load_settings(
        {"sqlalchemy.url": "sqlite:///ini.sqlite", "store.name": "From ini", "store.currency": "usd"},
        environ={
            "DATABASE_URL": "sqlite:///env.sqlite",
            "STORE_NAME": "From env",
            "STORE_CURRENCY": "EUR",
            "STRIPE_API_BASE": "http://127.0.0.1:1234",
        },
    )
    assert settings["sqlalchemy.url"] == "sqlite:///env.sqlite"
    assert settings["store.name"] == "From env"
    assert settings["store.currency"] == "eur"
    assert settings["stripe.api_base"] == "http://127.0.0.1:1234"
    assert settings["stripe.checkout_js_url"] == "https://checkout.stripe.com/checkout.js"


def test_production_starts_with_real_secrets():
    settings = production()
    assert settings["store.secure_cookies"] == "true"
    assert settings["stripe.api_base"] == "", "production talks to Stripe itself"


@pytest.mark.parametrize(
    "variable, setting",
    [
        ("DATABASE_URL", "sqlalchemy.url"),
        ("STRIPE_SECRET_KEY", "stripe.secret_key"),
        ("STRIPE_PUBLISHABLE_KEY", "stripe.publishable_key"),
        ("STRIPE_WEBHOOK_SECRET", "stripe.webhook_secret"),
        ("STORE_SECRET", "store.secret"),
        ("STORE_URL", "store.url"),
    ],
)
def test_production_refuses_a_missing_secret_by_name(variable, setting):
    with pytest.raises(ConfigurationError, match=f"{setting}.*{variable}.*missing"):
        production(**{variable: ""})


@pytest.mark.parametrize(
    "variable, value",
    [
        ("STORE_SECRET", "change-me-change-me-change-me-change-me"),
        ("STRIPE_SECRET_KEY", "sk_live_placeholder"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_xxxxxxxx"),
    ],
)
def test_production_refuses_a_placeholder(variable, value):
    with pytest.raises(ConfigurationError, match="placeholder"):
        production(**{variable: value})


def test_production_refuses_a_live_key_paired_with_a_test_key():
    with pytest.raises(ConfigurationError, match="live key but stripe.publishable_key is a test key"):
        production(STRIPE_PUBLISHABLE_KEY="pk_test_51HxYzAbCdEf")


def test_production_refuses_a_short_store_secret():
    with pytest.raises(ConfigurationError, match="store.secret.*at least 32"):
        production(STORE_SECRET="tooshortbutreal")


def test_production_takes_a_store_secret_of_exactly_32_characters():
    assert production(STORE_SECRET="a3f9" * 8)["store.secret"] == "a3f9" * 8
    with pytest.raises(ConfigurationError, match="at least 32"):
        production(STORE_SECRET=("a3f9" * 8)[:31])


@pytest.mark.parametrize(
    "environ, refusal",
    [
        (
            {"STORE_SECRET": "a3f9" * 7},
            "Setting store.secret (environment STORE_SECRET) must be at least 32 characters.",
        ),
        (
            {"STRIPE_SECRET_KEY": "rk_live_51HxYzAbCdEf"},
            "Setting stripe.secret_key (environment STRIPE_SECRET_KEY) must start with sk_test_ or sk_live_.",
        ),
        (
            {"STRIPE_PUBLISHABLE_KEY": "sk_live_51HxYzAbCdEf"},
            "Setting stripe.publishable_key (environment STRIPE_PUBLISHABLE_KEY) must start with pk_test_ or pk_live_.",
        ),
        (
            {"STRIPE_SECRET_KEY": "sk_test_51HxYzAbCdEf"},
            "stripe.secret_key is a test key but stripe.publishable_key is a live key; "
            "use the pair from the same Stripe mode.",
        ),
        (
            {"STRIPE_WEBHOOK_SECRET": "we_3f9a8b7c6d5e"},
            "Setting stripe.webhook_secret (environment STRIPE_WEBHOOK_SECRET) must start with whsec_.",
        ),
    ],
)
def test_production_says_which_setting_to_fix_and_how(environ, refusal):
    """The owner reads this refusal at start-up: the setting, its variable, and what a good value looks like."""
    with pytest.raises(ConfigurationError) as refused:
        production(**environ)
    assert str(refused.value) == refusal


def test_production_targets_postgresql_through_psycopg():
    from album_store.models import get_engine

    assert "postgresql+psycopg://" in (ROOT / "production.ini").read_text()
    engine = get_engine(production())  # builds the engine and its pool; connects to nothing yet
    assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
    assert engine.pool.size() == 8, "a connection for each waitress thread"
    engine.dispose()


def test_production_ini_refuses_to_build_the_app_without_secrets(monkeypatch):
    from album_store import main

    for variable in GOOD_PRODUCTION:
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(ConfigurationError, match="sqlalchemy.url"):
        main({}, **get_appsettings(str(ROOT / "production.ini")))


def test_the_payment_flow_is_checkout_js_unless_set():
    assert load_settings({}, environ={})["store.payment_flow"] == "checkout_js"
    assert (
        load_settings({"store.payment_flow": "payment_intents"}, environ={})["store.payment_flow"] == "payment_intents"
    )
    settings = load_settings({"store.payment_flow": "checkout_js"}, environ={"STORE_PAYMENT_FLOW": " Payment_Intents "})
    assert settings["store.payment_flow"] == "payment_intents", "the environment wins, spelled loosely"


@pytest.mark.parametrize("value", ["paymentintents", "checkout", "charges", "elements"])
def test_an_unknown_payment_flow_refuses_to_start_naming_the_setting(value):
    with pytest.raises(
        ConfigurationError,
        match=r"store\.payment_flow \(environment STORE_PAYMENT_FLOW\) must be one of "
        rf"checkout_js, payment_intents, checkout_session, not '{value}'\.$",
    ):
        load_settings({}, environ={"STORE_PAYMENT_FLOW": value})


def test_stripe_tax_is_off_unless_set_and_takes_the_digital_audio_code():
    settings = load_settings({}, environ={})
    assert (settings["store.tax"], settings["store.tax_code"]) == ("off", "txcd_10401100")
    settings = load_settings({"store.tax": "Exclusive"}, environ={"STORE_TAX_CODE": " txcd_10000000 "})
    assert (settings["store.tax"], settings["store.tax_code"]) == ("exclusive", "txcd_10000000")
    assert load_settings({}, environ={"STORE_TAX": "inclusive"})["store.tax"] == "inclusive"


@pytest.mark.parametrize("value", ["on", "true", "vat", ""])
def test_an_unknown_tax_setting_refuses_to_start_naming_the_setting(value):
    with pytest.raises(
        ConfigurationError,
        match=r"^Setting store\.tax \(environment STORE_TAX\) must be one of "
        rf"off, exclusive, inclusive, not '{value}'\.$",
    ):
        load_settings({"store.tax": value}, environ={})


@pytest.mark.parametrize("code", ["10401100", "txcd_1040110", "txcd_104011000", "TXCD_10401100", "txcd_1040110x"])
def test_a_tax_code_stripe_would_refuse_refuses_to_start(code):
    with pytest.raises(
        ConfigurationError, match=rf"store\.tax_code \(environment STORE_TAX_CODE\) must be .* not '{code}'\.$"
    ):
        load_settings({"store.tax_code": code}, environ={})


def test_stripe_js_is_stripes_own_unless_set():
    assert load_settings({}, environ={})["stripe.js_url"] == "https://js.stripe.com/v3/"
    settings = load_settings({}, environ={"STRIPE_JS_URL": "http://127.0.0.1:12111/js.stripe.com/v3/"})
    assert settings["stripe.js_url"] == "http://127.0.0.1:12111/js.stripe.com/v3/"


def test_production_serves_either_flow_with_stripes_own_stripe_js():
    assert production(STORE_PAYMENT_FLOW="payment_intents")["stripe.js_url"] == "https://js.stripe.com/v3/"


def test_the_policy_follows_the_flow():
    from album_store.headers import content_security_policy

    def policy(**settings):
        merged = load_settings(settings, environ={})
        return dict(part.strip().split(" ", 1) for part in content_security_policy(merged).split(";"))

    checkout = policy()
    assert checkout["script-src"] == "'self' https://checkout.stripe.com"
    intents = policy(**{"store.payment_flow": "payment_intents"})
    assert intents["script-src"] == "'self' https://js.stripe.com https://*.js.stripe.com"
    assert intents["frame-src"] == "https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com"
    assert intents["connect-src"] == "'self' https://api.stripe.com"
    # The Payment Element draws in its own frame: nothing for the page's styles or images, no inline code.
    assert (intents["style-src"], intents["img-src"]) == ("'self'", "'self' data:")
    assert "unsafe" not in content_security_policy(load_settings({"store.payment_flow": "payment_intents"}, environ={}))
    demo = policy(
        **{
            "store.payment_flow": "payment_intents",
            "stripe.api_base": "http://127.0.0.1:12111",
            "stripe.js_url": "http://127.0.0.1:12111/js.stripe.com/v3/",
        }
    )
    assert demo["script-src"] == "'self' http://127.0.0.1:12111" and demo["frame-src"] == "http://127.0.0.1:12111"
    assert demo["connect-src"] == "'self' http://127.0.0.1:12111"
