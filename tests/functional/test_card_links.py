"""The catalog's cards get their addresses from paths made once per page (views/catalog.py
card_links): the same addresses ``route_path`` and ``covers.cover_url`` give, for a drawn cover, an
uploaded one, and an address that needs quoting."""

from pyramid.request import Request
from pyramid.scripting import prepare

from album_store.covers import cover_url
from album_store.views.catalog import album_cards, card_links
from tests.factories import make_album


def test_card_links_are_the_routes_own(app, dbsession):
    make_album(dbsession, slug="drawn-cover")
    uploaded = make_album(dbsession, slug="uploaded-cover")
    uploaded.cover_key = "7-0123456789abcdef"
    odd = make_album(dbsession, slug="odd-slug")
    odd.slug = "odd slug/ü"  # not a slug the forms allow: written by route_path, quoted
    dbsession.commit()
    env = prepare(request=Request.blank("/albums", base_url="http://shop.example:8080/store"), registry=app.registry)
    try:
        request = env["request"]
        rows = album_cards(dbsession)
        cards = card_links(request, rows)
        assert len(cards) == 3
        for album, href, cover in cards:
            assert href == request.route_path("album", slug=album.slug)
            assert cover == cover_url(request, album, 300)
        by_slug = {album.slug: (href, cover) for album, href, cover in cards}
        assert by_slug["uploaded-cover"][1] == "/store/covers/7-0123456789abcdef/300.jpg"
        assert by_slug["drawn-cover"] == ("/store/albums/drawn-cover", "/store/albums/drawn-cover/cover.svg")
        assert by_slug["odd slug/ü"][0] == "/store/albums/odd%20slug/%C3%BC"
    finally:
        env["closer"]()
