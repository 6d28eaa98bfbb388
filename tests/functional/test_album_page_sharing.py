"""What a shared album link shows and what search engines read: a description, Open Graph tags with
the cover, schema.org MusicAlbum JSON-LD with its offer; and a skip link past the header on every page."""

import json

import pytest

from tests.factories import make_album

pytestmark = pytest.mark.stripe


def json_ld(page):
    return json.loads(page.html.find("script", attrs={"type": "application/ld+json"}).string)


def test_an_album_page_tells_a_shared_link_and_a_search_engine_what_it_sells(testapp, dbsession):
    make_album(
        dbsession, slug="shared", title="Shared </script> Songs", artist="The Linkers", price_cents=1299, tracks=2
    )
    page = testapp.get("/albums/shared")
    meta = {
        tag.get("property") or tag.get("name"): tag["content"]
        for tag in page.html.find_all("meta")
        if tag.get("content")
    }
    assert meta["description"] == "Shared </script> Songs by The Linkers: 2 tracks, $12.99."
    assert meta["og:type"] == "music.album" and meta["og:url"] == "http://localhost/albums/shared"
    assert (
        meta["og:image"].startswith("http://localhost/") and meta["og:title"] == "Shared </script> Songs by The Linkers"
    )
    data = json_ld(page)
    assert (data["@type"], data["name"], data["byArtist"]["name"], data["numTracks"]) == (
        "MusicAlbum",
        "Shared </script> Songs",
        "The Linkers",
        2,
    )
    assert data["offers"] == {
        "@type": "Offer",
        "url": "http://localhost/albums/shared",
        "price": "12.99",
        "priceCurrency": "USD",
        "availability": "https://schema.org/InStock",
    }
    assert "</script> Songs" not in page.text.split('type="application/ld+json">')[1].split("</script>")[0], (
        "a title cannot end the script element early"
    )


def test_a_pay_what_you_want_album_offers_its_minimum(testapp, dbsession):
    make_album(dbsession, slug="pwyw-shared", price_cents=800, minimum_cents=300)
    data = json_ld(testapp.get("/albums/pwyw-shared"))
    assert data["offers"]["price"] == "3.00"


@pytest.mark.parametrize("path", ["/", "/albums", "/account/login"])
def test_every_page_starts_with_a_skip_link_to_its_content(testapp, path):
    page = testapp.get(path).html
    first_link = page.body.find("a")
    assert first_link["href"] == "#content" and first_link.text == "Skip to the content"
    assert page.find(id="content").name == "main"
    assert page.find("meta", attrs={"name": "description"})["content"]
