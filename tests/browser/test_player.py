"""The album page's preview player in a real browser: nothing is fetched before play, a keyboard plays
and pauses, one preview at a time, and the next track's preview follows when one ends."""

import pytest

from album_store.jobs import IJobQueue
from album_store.models import Track
from tests.audio_files import make_audio
from tests.factories import make_album

pytestmark = [pytest.mark.browser, pytest.mark.stripe]
expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (make install-test)").expect


@pytest.fixture
def album_with_previews(dbsession, app, files_dir, tmp_path):
    """An album of two short tracks with their audio, whose previews the job queue has made."""
    album = make_album(dbsession, slug="listen-first", title="Listen First", tracks=2)
    folder = files_dir / "masters" / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    for n, track in enumerate(album.tracks):
        make_audio(folder / f"{track.id}.wav", seconds=2 + n, frequency=330 + 110 * n)
        track.audio_filename, track.audio_format, track.audio_state = f"masters/browser/{track.id}.wav", "wav", "queued"
    dbsession.commit()
    queue = app.registry.getUtility(IJobQueue)
    for track in album.tracks:
        queue.enqueue("make_preview", track.id)
    queue.run_pending()
    dbsession.expire_all()
    assert all(dbsession.get(Track, t.id).preview_filename for t in album.tracks)
    return album


def test_a_keyboard_plays_a_preview_then_the_next_and_nothing_loads_before_play(
    page, live_store, watch, album_with_previews
):
    page.goto(f"{live_store.url}/albums/listen-first")
    first = page.get_by_role("button", name="Play the preview of Song 1")
    expect(first).to_be_visible()
    expect(page.locator("#player")).to_be_visible()
    assert not any("/previews/" in url for url in watch.requests), "previews load only when played"

    first.focus()
    page.keyboard.press("Enter")
    pause = page.get_by_role("button", name="Pause the preview of Song 1")
    expect(pause).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#player-title")).to_have_text("Playing: Song 1")
    assert any("/previews/" in url for url in watch.requests)

    page.keyboard.press("Space")  # the same button, still focused: pause
    expect(page.get_by_role("button", name="Play the preview of Song 1")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#player-title")).to_have_text("Paused: Song 1")

    page.keyboard.press("Enter")  # on again; at its end the next track's preview plays by itself
    expect(page.locator("#player-title")).to_have_text("Playing: Song 2", timeout=15000)
    expect(page.get_by_role("button", name="Pause the preview of Song 2")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("button", name="Play the preview of Song 1")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#player-title")).to_have_text("Finished", timeout=15000)


def test_without_javascript_each_preview_is_a_plain_link(browser, live_store, album_with_previews):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_store.url}/albums/listen-first")
        links = page.locator("a.tracklist__preview")
        expect(links).to_have_count(2)
        expect(links.first).to_have_accessible_name("Listen to a preview of Song 1")
        assert page.locator("#player").is_hidden()
    finally:
        context.close()
