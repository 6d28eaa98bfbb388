"""Settings: the environment beats the ini; production refuses missing or placeholder secrets."""
from pathlib import Path

from pyramid.exceptions import ConfigurationError
from pyramid.paster import get_appsettings
import pytest

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
        environ={"DATABASE_URL": "sqlite:///env.sqlite", "STORE_NAME": "From env", "STORE_CURRENCY": "EUR",
                 "STRIPE_API_BASE": "http://127.0.0.1:1234"},
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


@pytest.mark.parametrize("variable, setting", [
    ("DATABASE_URL", "sqlalchemy.url"),
    ("STRIPE_SECRET_KEY", "stripe.secret_key"),
    ("STRIPE_PUBLISHABLE_KEY", "stripe.publishable_key"),
    ("STRIPE_WEBHOOK_SECRET", "stripe.webhook_secret"),
    ("STORE_SECRET", "store.secret"),
    ("STORE_URL", "store.url"),
])
def test_production_refuses_a_missing_secret_by_name(variable, setting):
    with pytest.raises(ConfigurationError, match=f"{setting}.*{variable}.*missing"):
        production(**{variable: ""})


@pytest.mark.parametrize("variable, value", [
    ("STORE_SECRET", "change-me-change-me-change-me-change-me"),
    ("STRIPE_SECRET_KEY", "sk_live_placeholder"),
    ("STRIPE_WEBHOOK_SECRET", "whsec_xxxxxxxx"),
])
def test_production_refuses_a_placeholder(variable, value):
    with pytest.raises(ConfigurationError, match="placeholder"):
        production(**{variable: value})


def test_production_refuses_a_live_key_paired_with_a_test_key():
    with pytest.raises(ConfigurationError, match="live key but stripe.publishable_key is a test key"):
        production(STRIPE_PUBLISHABLE_KEY="pk_test_51HxYzAbCdEf")


def test_production_refuses_a_short_store_secret():
    with pytest.raises(ConfigurationError, match="store.secret.*at least 32"):
        production(STORE_SECRET="tooshortbutreal")


def test_production_ini_refuses_to_build_the_app_without_secrets(monkeypatch):
    from album_store import main

    for variable in GOOD_PRODUCTION:
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(ConfigurationError, match="sqlalchemy.url"):
        main({}, **get_appsettings(str(ROOT / "production.ini")))
