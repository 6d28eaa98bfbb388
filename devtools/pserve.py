"""``pserve`` in a process of its own on a loopback port: started, waited for until it answers, stopped.

The one launcher of the live waitress servers that WebTest cannot stand in for: the test suite's live
stores (``tests/live.py``: two processes at once, a process killed between charge and commit) and the
benchmark's store and bare view (``bench/run.py``). It lives in devtools rather than tests because
the benchmark must not import the test suite (devtools is what both may import).
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
LISTEN = re.compile(r"^listen\s*=\s*127\.0\.0\.1:(\d+)\s*$", re.M)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Pserve:
    """``pserve INI`` (the ini's one ``listen = 127.0.0.1:PORT`` line says where), its output in ``log``.

    Returns once ``ready_path`` answers (any status will do: the server is up), or stops the process
    and raises RuntimeError naming the log. This checkout comes first on ``PYTHONPATH``: the package as
    the caller imports it, not whichever one the virtualenv's editable install points at (another
    worktree sharing the venv, say).
    """

    def __init__(self, ini, log, *, env=None, cwd=None, ready_path="/", timeout=30.0):
        self.ini = Path(ini)
        listen = LISTEN.search(self.ini.read_text())
        if listen is None:
            raise ValueError(f"{self.ini} has no `listen = 127.0.0.1:PORT` line")
        self.port = int(listen.group(1))
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "w")
        environ = dict(os.environ if env is None else env)
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("pserve")), str(self.ini)],
            cwd=cwd,
            env=environ,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + ready_path, timeout=2)
                return
            except requests.ConnectionError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"pserve {self.ini.name} did not start; see {self.log.name}")

    def stop(self, sig=signal.SIGTERM):
        """Send ``sig`` (SIGTERM: waitress finishes what it is doing), then kill it after 10 s."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
