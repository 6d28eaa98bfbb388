"""The whole path: the owner makes an album in the browser, a shopper buys it and downloads it."""

import io
import zipfile

import pytest
import webtest

from tests.factories import image_bytes, zip_bytes

from .conftest import edit_form

pytestmark = pytest.mark.stripe


def test_an_album_made_in_the_admin_is_bought_and_downloaded(owner_app, testapp):
    # The owner creates the album ...
    form = owner_app.get("/admin/albums/new").forms["album-form"]
    form["title"], form["artist"], form["price"], form["year"] = "Harbour Lights", "Hollow Pines", "8.99", "2025"
    edit = form.submit(status=303).follow()
    album_id = int(edit.request.path.split("/")[3])
    testapp.get("/albums/harbour-lights", status=404)  # not on sale yet

    # ... gives it tracks, a cover and its file ...
    tracks = edit.forms["tracks-form"]
    for row, (title, length) in enumerate([("Low Water", "3:29"), ("Gulls", "2:12"), ("Home Port", "4:55")]):
        tracks[f"tracks-{row}-title"], tracks[f"tracks-{row}-duration"] = title, length
    tracks.submit(status=303)
    cover = edit_form(owner_app, album_id, "cover-form")
    cover["cover"] = webtest.Upload("harbour.jpg", image_bytes("JPEG", (800, 800), color=(20, 60, 90)), "image/jpeg")
    cover.submit(status=303)
    music = zip_bytes({"Hollow Pines - Harbour Lights/01 Low Water.wav": b"RIFF" + b"\x01" * 5000})
    upload = edit_form(owner_app, album_id, "file-form")
    upload["file"] = webtest.Upload("harbour-lights.zip", music, "application/zip")
    upload.submit(status=303)

    # ... and publishes it.
    edit_form(owner_app, album_id, "publish-form").submit(status=303)
    history = owner_app.get(f"/admin/albums/{album_id}/edit").html.select("#history .badge")
    assert [badge.text for badge in history] == ["publish", "file", "cover", "tracks", "create"]

    # A shopper finds it, with its cover, tracks and price ...
    page = testapp.get("/albums/harbour-lights")
    assert page.html.find("img", class_="album__cover")["src"].startswith("/covers/")
    assert [li.find(class_="tracklist__title").text for li in page.html.select(".tracklist li")] == [
        "Low Water",
        "Gulls",
        "Home Port",
    ]
    button = page.html.find("script", class_="stripe-button")
    assert button["data-amount"] == "899" and button["data-currency"] == "usd"
    testapp.get(page.html.find("img", class_="album__cover")["src"], status=200)

    # ... buys it through Stripe, and downloads exactly the file the owner uploaded.
    receipt = testapp.buy("harbour-lights", email="shopper@example.com", status=303).follow()
    assert "$8.99" in receipt.text
    download = testapp.get(receipt.html.find("a", string=lambda s: s and s.startswith("Download"))["href"])
    assert download.body == music
    assert zipfile.ZipFile(io.BytesIO(download.body)).namelist() == ["Hollow Pines - Harbour Lights/01 Low Water.wav"]

    # The owner sees the sale.
    assert "$8.99" in owner_app.get("/admin").html.select_one(".figure[data-period=Today] .figure__revenue").text
