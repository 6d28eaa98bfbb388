"""The ceiling: a bare Pyramid view, served by waitress with the store's own server settings."""

from pyramid.config import Configurator
from pyramid.response import Response


def ok(request):
    return Response("ok")


def make_app(global_config, **settings):
    with Configurator(settings=settings) as config:
        config.add_route("ok", "/")
        config.add_view(ok, route_name="ok")
    return config.make_wsgi_app()
