"""The job queue as deployed: the store queues, `album-store worker` (a process of its own) runs the
jobs, through a queue both reach: SQLite (one host) and Redis (Debian's redis-server, as in the cluster)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from album_store.jobs import make_huey
from tests.factories import make_album

pytestmark = pytest.mark.stripe


def worker_command(ini):
    return [str(Path(sys.executable).with_name("album-store")), "worker", str(ini), "--workers", "1"]


@pytest.fixture(params=["sqlite", "redis"])
def queued_store(request, make_app, ini_file, tmp_path):
    """A store and an ini for its worker sharing one queue (a SQLite file, or Debian's redis-server);
    mail written to a folder. The queue is given as the settings that reach it."""
    mail = tmp_path / "mail"
    if request.param == "redis":
        queue = {"jobs.backend": "redis", "jobs.redis_url": request.getfixturevalue("redis_server").url}
    else:
        queue = {"jobs.backend": "sqlite", "jobs.sqlite_path": str(tmp_path / "jobs.sqlite3")}
    jobs = {**queue, "mail.backend": "folder", "mail.folder": str(mail)}
    text = ini_file.read_text().replace("jobs.backend = memory\n", "").replace("mail.backend = dummy\n", "")
    ini_file.write_text(text + "".join(f"{key} = {value}\n" for key, value in jobs.items()))
    store = make_app(**jobs)
    store.worker_running = False  # only the worker process runs them
    return store, ini_file, queue, mail


def test_a_worker_process_sends_the_mail_the_store_queued(queued_store, dbsession):
    store, ini, queue, mail = queued_store
    make_album(dbsession, slug="queued-mail", title="Queued Mail")
    store.buy("queued-mail", email="ana@example.com", status=303)
    assert make_huey(queue).pending_count() == 1
    assert not mail.exists() or not list(mail.iterdir()), "nothing is sent by the request itself"
    worker = subprocess.Popen(
        worker_command(ini), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (mail.exists() and list(mail.iterdir())):
            time.sleep(0.2)
        [sent] = list(mail.iterdir())
        assert "Subject: Your receipt: Queued Mail by Test Artist" in sent.read_text()
    finally:
        os.killpg(worker.pid, signal.SIGINT)  # Ctrl-C: the consumer finishes and exits
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert make_huey(queue).pending_count() == 0


def test_worker_until_empty_runs_what_is_queued_and_exits(queued_store, dbsession, capsys):
    from album_store.cli import main as cli

    store, ini, queue, mail = queued_store
    make_album(dbsession, slug="drained", title="Drained")
    store.buy("drained", email="ana@example.com", status=303)
    assert cli(["worker", str(ini), "--until-empty"]) == 0
    assert "Ran 1 job; the queue is empty." in capsys.readouterr().out
    assert len(list(mail.iterdir())) == 1


def test_a_worker_refuses_a_queue_kept_in_memory(ini_file, capsys):
    from album_store.cli import main as cli

    assert cli(["worker", str(ini_file)]) == 2
    assert "jobs.backend = memory" in capsys.readouterr().err


def test_production_refuses_a_queue_kept_in_memory():
    from pyramid.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="jobs.backend = memory keeps jobs inside one process"):
        make_huey({"jobs.backend": "memory", "store.require_secrets": "true"})
    with pytest.raises(ConfigurationError, match="jobs.sqlite_path"):
        make_huey({"jobs.backend": "sqlite"})
    with pytest.raises(ConfigurationError, match="must be one of sqlite, redis, memory, not 'rabbit'"):
        make_huey({"jobs.backend": "rabbit"})
