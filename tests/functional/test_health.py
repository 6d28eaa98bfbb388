"""/healthz, /readyz and /catalog-version: what a proxy and an orchestrator ask the store."""

from album_store.models import current_catalog_version
from tests.factories import make_album
from tests.live import free_port


def test_healthz_answers_without_touching_anything(testapp):
    answer = testapp.get("/healthz", status=200)
    assert answer.json == {"status": "ok"}
    assert answer.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in answer.headers


def test_readyz_says_ready_when_the_database_queue_and_storage_answer(testapp, dbsession):
    answer = testapp.get("/readyz", status=200)
    assert answer.json == {"status": "ready", "database": "ok", "queue": "ok", "storage": "ok"}
    assert answer.headers["Cache-Control"] == "no-store"


def test_readyz_names_the_queue_that_does_not_answer_and_says_no_more(make_app, dbsession):
    # Redis where nothing listens: the store itself still serves, but is not ready.
    store = make_app(**{"jobs.backend": "redis", "jobs.redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    store.worker_running = False
    answer = store.get("/readyz", status=503)
    assert answer.json == {"status": "not ready", "database": "ok", "queue": "failing", "storage": "ok"}
    assert "127.0.0.1" not in answer.text, "the details go to the log, not to an anonymous visitor"
    store.get("/healthz", status=200)


def test_readyz_fails_when_the_database_does_not_answer(make_app, tmp_path):
    store = make_app(**{"sqlalchemy.url": f"sqlite:///{tmp_path}/no/such/folder/store.sqlite"})
    answer = store.get("/readyz", status=503)
    assert answer.json["database"] == "failing" and answer.json["status"] == "not ready"


def test_catalog_version_changes_with_an_owners_change(testapp, dbsession):
    assert testapp.get("/catalog-version", status=204).headers["X-Catalog-Version"] == "unknown", "no stamp yet"
    make_album(dbsession, slug="first-on-the-shelf")
    before = testapp.get("/catalog-version", status=204)
    assert before.headers["Cache-Control"] == "no-store"
    assert int(before.headers["X-Catalog-Version"]) == current_catalog_version(dbsession.get_bind())
    make_album(dbsession, slug="new-on-the-shelf")
    after = testapp.get("/catalog-version", status=204)
    assert int(after.headers["X-Catalog-Version"]) > int(before.headers["X-Catalog-Version"])
