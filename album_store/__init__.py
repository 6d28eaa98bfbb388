"""Album Store: a Pyramid web shop where a band or label sells its albums through Stripe Checkout."""

from pyramid.config import Configurator

from .settings import load_settings


def main(global_config, **settings):
    """Build the WSGI application (``pserve development.ini`` calls this)."""
    settings = load_settings(settings)
    with Configurator(settings=settings, root_factory=".resources.Root") as config:
        config.include("pyramid_chameleon")
        config.include(".models")
        config.include(".security")
        config.include(".headers")
        config.include(".uploads")
        config.include(".parsing")
        config.include(".caching")
        config.include(".services")
        config.include(".jobs")
        config.include(".routes")
        config.include(".templating")
        config.include(".views")
        config.scan(".views")
    return config.make_wsgi_app()
