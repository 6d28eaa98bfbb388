"""What reaches a mail header (the receipt's Subject names the album and artist), a ZIP's file names
and the audio tags is one line: line breaks and control characters are refused with a message."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from album_store.models import Album
from tests.factories import make_album

pytestmark = pytest.mark.stripe

BREAKS = ["\n", "\r", "\x00", "\x1b", "\x7f", "\x85", "\u2028", "\u2029", "\t"]


def post_new_album(owner_app, **fields):
    form = owner_app.get("/admin/albums/new").forms["album-form"]
    values = {
        "title": "Tide Tables",
        "artist": "Hollow Pines",
        "year": "2024",
        "price": "12.34",
        "currency": "usd",
        **fields,
    }
    for name, value in values.items():
        form[name] = value
    return form.submit(status="*")


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    field=st.sampled_from(["title", "artist"]),
    before=st.text(min_size=1, max_size=8).filter(str.strip),
    breaking=st.sampled_from(BREAKS),
    after=st.text(min_size=1, max_size=8).filter(str.strip),
)
def test_a_title_or_artist_with_a_line_break_or_control_character_is_refused(
    owner_app, dbsession, field, before, breaking, after
):
    count = len(dbsession.scalars(select(Album.id)).all())
    answer = post_new_album(owner_app, **{field: before.strip() + breaking + after.strip()})
    assert answer.status_int == 400
    assert "Use one line, without line breaks or control characters." in answer.text
    dbsession.rollback()
    assert len(dbsession.scalars(select(Album.id)).all()) == count, "nothing created"


def test_a_track_title_with_a_line_break_is_refused(owner_app, dbsession):
    album = make_album(dbsession, tracks=1)
    form = owner_app.get(f"/admin/albums/{album.id}/edit").forms["tracks-form"]
    form["tracks-0-title"] = "First\nSecond"
    page = form.submit(status=400)
    assert "Use one line, without line breaks or control characters." in page.text


def test_a_receipt_mail_goes_out_for_an_album_whose_title_has_a_line_break_from_before(testapp, dbsession, outbox):
    make_album(dbsession, slug="two-lines", title="Two\nLines")  # stored before titles were checked
    testapp.buy("two-lines", email="ana@example.com", status=303)
    [mail] = outbox
    assert mail.subject == "Your receipt: Two Lines by Test Artist"
