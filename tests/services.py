"""Debian's redis-server (and nginx, for tests/cluster/), started by the tests on ports of their own.

Without them the tests that need one skip and say why (``make services`` installs both);
``ALBUM_STORE_REQUIRE_SERVICES=1`` (set by ``.ci/run``) turns that skip into a failure, so CI can
never pass by skipping them.
"""

import os
import shutil
import subprocess
import time

import pytest

REQUIRED = os.environ.get("ALBUM_STORE_REQUIRE_SERVICES", "") not in ("", "0", "false", "no")


def need(program, why):
    """The path of ``program``, or a skip (a failure under ALBUM_STORE_REQUIRE_SERVICES) naming it."""
    found = shutil.which(program) or shutil.which(program, path="/usr/sbin:/usr/bin")
    if found is None:
        reason = f"{program} is not installed ({why}; `make services` installs it)"
        if REQUIRED:
            pytest.fail(f"ALBUM_STORE_REQUIRE_SERVICES is set, but {reason}", pytrace=False)
        pytest.skip(reason)
    return found


class RedisServer:
    def __init__(self, folder, port):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process = subprocess.Popen(
            [
                need("redis-server", "the job queue on Redis"),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        self.client = client

    def flush(self):
        self.client.flushall()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
