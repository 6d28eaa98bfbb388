"""`make cluster`: the store deployed past one machine, on this machine.

Starts, from a fresh clone (as root: it installs Debian's nginx, redis-server and PostgreSQL when
missing, as CI does):

- PostgreSQL: a throwaway database in the local cluster (devtools/test_postgresql.sh), dropped at the end;
- Redis (redis-server on a port of its own, nothing saved): the job queue;
- moto's S3-compatible server: the bucket for covers, masters, previews and download ZIPs;
- the Stripe stand-in, its webhooks sent through nginx as Stripe's would be;
- two store processes (``pserve`` on copies of ``production.ini`` that differ only in their
  ``listen`` line), one job-queue worker (``album-store worker``);
- nginx in front, with ``deploy/nginx/album-store.conf`` (TLS from a self-signed certificate, gzip,
  the page cache, the upload limits, the X-Forwarded-* headers production.ini trusts);

and prints the URL. Ctrl-C (or SIGTERM) stops everything it started. Everything it writes lives in
``var/cluster/`` (logs in ``var/cluster/logs/``).

The fault test (tests/cluster/test_cluster.py) starts the same :class:`Cluster` on free ports.
"""

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from devtools.pserve import free_port

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx" / "album-store.conf"
BIN = Path(sys.executable).parent
#: The stand-in's keys: test-mode shaped, as production.ini's checks want.
SECRET_KEY, PUBLISHABLE_KEY = "sk_test_standin_cluster", "pk_test_standin_cluster"
BUCKET = "album-store"


def wait_for(what, check, timeout=30.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (OSError, requests.RequestException):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout:.0f} s")
        time.sleep(interval)


def install_services():
    """nginx and redis-server from Debian's packages, when missing (devtools/install_services.sh)."""
    subprocess.run(["bash", str(ROOT / "devtools" / "install_services.sh")], check=True)


def nginx_site(*, servers, https_listen, http_listen, https_port, server_name, certificate, key, cache_dir):
    """``deploy/nginx/album-store.conf`` with its placeholders filled."""
    values = {
        "@STORE_SERVERS@": "\n    ".join(f"server {server} max_fails=1 fail_timeout=5s;" for server in servers),
        "@HTTPS_LISTEN@": str(https_listen),
        "@HTTP_LISTEN@": str(http_listen),
        "@HTTPS_PORT@": str(https_port),
        "@SERVER_NAME@": server_name,
        "@CERTIFICATE@": str(certificate),
        "@CERTIFICATE_KEY@": str(key),
        "@CACHE_DIR@": str(cache_dir),
    }
    lines = []
    for line in TEMPLATE.read_text().splitlines():
        if not line.lstrip().startswith("#"):  # the header names the placeholders: left as they are
            for placeholder, value in values.items():
                line = line.replace(placeholder, value)
        lines.append(line)
    return "\n".join(lines) + "\n"


def self_signed_certificate(folder):
    """A certificate for 127.0.0.1 and localhost (its own CA: the stand-in trusts it for webhooks)."""
    certificate, key = folder / "cert.pem", folder / "key.pem"
    if not certificate.exists():
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "30",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout",
                str(key),
                "-out",
                str(certificate),
            ],
            check=True,
            capture_output=True,
        )
    return certificate, key


class Cluster:
    """Everything above, started by :meth:`start` and stopped by :meth:`stop` (in reverse order)."""

    def __init__(
        self,
        root=None,
        *,
        https_port=None,
        http_port=None,
        store_ports=None,
        database="album_store_cluster",
        demo=True,
        workers=2,
        extra_env=None,
    ):
        self.root = Path(root or ROOT / "var" / "cluster")
        self.https_port = https_port or free_port()
        self.http_port = http_port or free_port()
        self.store_ports = list(store_ports or (free_port(), free_port()))
        self.redis_port, self.s3_port, self.stripe_tls_port = free_port(), free_port(), free_port()
        self.database = database
        self.demo = demo
        self.workers = workers
        self.extra_env = dict(extra_env or {})
        self.url = f"https://127.0.0.1:{self.https_port}"
        self.processes = {}  # name -> Popen
        self._standin = None
        self._database_url = None
        self._stops = []

    # --- the parts ------------------------------------------------------------------------------
    def _spawn(self, name, command, *, env=None):
        log = open(self.root / "logs" / f"{name}.log", "ab")
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env or dict(os.environ),
            cwd=str(ROOT),
            start_new_session=True,
        )
        log.close()
        self.processes[name] = process
        return process

    @property
    def env(self):
        environ = dict(os.environ)
        path = environ.get("PYTHONPATH")
        environ["PYTHONPATH"] = str(ROOT) + (os.pathsep + path if path else "")
        environ.update(
            {
                "DATABASE_URL": self._database_url,
                "STRIPE_SECRET_KEY": SECRET_KEY,
                "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
                "STRIPE_API_BASE": self._standin.url,
                # The browser loads Stripe's scripts over TLS too (nginx in front of the stand-in).
                "STRIPE_CHECKOUT_JS_URL": f"https://127.0.0.1:{self.stripe_tls_port}/checkout.js",
                "STRIPE_JS_URL": f"https://127.0.0.1:{self.stripe_tls_port}/js.stripe.com/v3/",
                "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
                "STORE_SECRET": self.store_secret,
                "STORE_URL": self.url,
                "STORE_FILES_DIR": str(self.root / "files"),
                "STORE_COVERS_DIR": str(self.root / "files" / "covers"),
                "MAIL_BACKEND": "folder",
                "MAIL_FOLDER": str(self.root / "mail"),
                "JOBS_BACKEND": "redis",
                "JOBS_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                "STORE_STORAGE": "s3",
                "STORAGE_S3_BUCKET": BUCKET,
                "STORAGE_S3_ENDPOINT_URL": f"http://127.0.0.1:{self.s3_port}",
                "STORAGE_S3_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "cluster",
                "AWS_SECRET_ACCESS_KEY": "cluster-secret",
            }
        )
        environ.update(self.extra_env)
        return environ

    def store_ini(self, number):
        return self.root / f"store-{number}.ini"

    def _write_store_inis(self):
        """production.ini, once per store process, with its own ``listen`` line (README.md, "Other commands")."""
        text = (ROOT / "production.ini").read_text()
        if text.count("\nlisten = ") != 1:
            raise RuntimeError("production.ini must have exactly one `listen = HOST:PORT` line")
        for number, port in enumerate(self.store_ports, start=1):
            lines = [
                f"listen = 127.0.0.1:{port}" if line.startswith("listen = ") else line for line in text.splitlines()
            ]
            self.store_ini(number).write_text("\n".join(lines).replace("%(here)s", str(ROOT)) + "\n")

    def _start_database(self):
        created = subprocess.run(
            ["bash", str(ROOT / "devtools" / "test_postgresql.sh"), "create", self.database],
            check=True,
            capture_output=True,
            text=True,
        )
        self._database_url = created.stdout.strip().splitlines()[-1]
        self._stops.append(
            lambda: subprocess.run(
                ["bash", str(ROOT / "devtools" / "test_postgresql.sh"), "drop", self.database], capture_output=True
            )
        )

    def _start_redis(self):
        (self.root / "redis").mkdir(exist_ok=True)
        self._spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root / "redis"),
            ],
        )
        wait_for(
            "Redis",
            lambda: (
                subprocess.run(
                    ["redis-cli", "-p", str(self.redis_port), "ping"], capture_output=True, text=True
                ).stdout.strip()
                == "PONG"
            ),
        )

    def _start_s3(self):
        self._spawn("s3", [str(BIN / "python"), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.s3_port)])
        endpoint = f"http://127.0.0.1:{self.s3_port}"
        wait_for("moto's S3 server", lambda: requests.get(endpoint, timeout=2).status_code < 500)
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="cluster",
            aws_secret_access_key="cluster-secret",
        )
        client.create_bucket(Bucket=BUCKET)

    def _start_standin(self, certificate):
        from stripe_standin.process import start_standin

        # The stand-in posts webhooks to nginx's TLS port: it trusts the self-signed certificate.
        self._standin = start_standin(
            port=0,
            env={"SSL_CERT_FILE": str(certificate)},
            stderr=open(self.root / "logs" / "stripe-standin.log", "ab"),
        )
        self._stops.append(self._standin.stop)

    def start_store(self, number):
        port = self.store_ports[number - 1]
        self._spawn(f"store-{number}", [str(BIN / "pserve"), str(self.store_ini(number))], env=self.env)
        wait_for(
            f"store process {number}",
            lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok,
            timeout=60,
        )

    def start_worker(self):
        self._spawn(
            "worker",
            [str(BIN / "album-store"), "worker", str(self.store_ini(1)), "--workers", str(self.workers)],
            env=self.env,
        )

    def _start_nginx(self, certificate, key):
        folder = self.root / "nginx"
        for sub in ("cache", "temp"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        site = nginx_site(
            servers=[f"127.0.0.1:{port}" for port in self.store_ports],
            https_listen=f"127.0.0.1:{self.https_port}",
            http_listen=f"127.0.0.1:{self.http_port}",
            https_port=self.https_port,
            server_name="localhost 127.0.0.1",
            certificate=certificate,
            key=key,
            cache_dir=folder / "cache",
        )
        (folder / "album-store.conf").write_text(site)
        user = "user root;\n" if os.geteuid() == 0 else ""  # a local throwaway: its folders are root's
        (folder / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {folder}/nginx.pid;\n"
            f"error_log {self.root}/logs/nginx-error.log warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            "    include /etc/nginx/mime.types;\n"
            f"    access_log {self.root}/logs/nginx-access.log;\n"
            f"    client_body_temp_path {folder}/temp/body;\n    proxy_temp_path {folder}/temp/proxy;\n"
            f"    fastcgi_temp_path {folder}/temp/fastcgi;\n    uwsgi_temp_path {folder}/temp/uwsgi;\n"
            f"    scgi_temp_path {folder}/temp/scgi;\n"
            f"    include {folder}/album-store.conf;\n"
            "    # Only here, never in a deployment: the stand-in's checkout.js over TLS, as Stripe's is.\n"
            f"    server {{ listen 127.0.0.1:{self.stripe_tls_port} ssl; ssl_certificate {certificate}; "
            f"ssl_certificate_key {key}; location / {{ proxy_pass {self._standin.url}; }} }}\n"
            "}\n"
        )
        subprocess.run(["nginx", "-t", "-q", "-c", str(folder / "nginx.conf")], check=True)
        self._spawn("nginx", ["nginx", "-c", str(folder / "nginx.conf")])
        wait_for("nginx", lambda: requests.get(f"{self.url}/healthz", verify=str(certificate), timeout=2).ok)

    def start(self):
        for sub in ("logs", "mail", "files"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.webhook_secret = "whsec_" + secrets.token_hex(16)
        self.store_secret = secrets.token_hex(32)
        try:
            self.certificate, key = self_signed_certificate(self.root)
            self._start_database()
            self._start_redis()
            self._start_s3()
            self._start_standin(self.certificate)
            self._write_store_inis()
            initdb = [str(BIN / "album-store"), "initdb", str(self.store_ini(1))] + (["--demo"] if self.demo else [])
            subprocess.run(initdb, check=True, env=self.env, cwd=str(ROOT), capture_output=True)
            for number in range(1, len(self.store_ports) + 1):
                self.start_store(number)
            self.start_worker()
            self._start_nginx(self.certificate, key)
            from devtools.serve_demo import WEBHOOK_EVENTS
            from stripe_standin.process import register_webhook

            register_webhook(
                self._standin.url, "album-store", f"{self.url}/stripe/webhook", self.webhook_secret, WEBHOOK_EVENTS
            )
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def standin(self):
        return self._standin

    @property
    def database_url(self):
        return self._database_url

    # --- faults ---------------------------------------------------------------------------------
    def kill(self, name):
        """SIGKILL a process (``store-1``, ``store-2``, ``worker``): no chance to finish anything."""
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def cli(self, *args):
        """``album-store ARGS`` against this cluster (the first store's ini, the cluster's environment)."""
        return subprocess.run(
            [str(BIN / "album-store"), args[0], str(self.store_ini(1)), *args[1:]],
            env=self.env,
            cwd=str(ROOT),
            capture_output=True,
            text=True,
        )

    def stop(self):
        for _name, process in reversed(list(self.processes.items())):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self.processes.clear()
        while self._stops:
            self._stops.pop()()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    parser = argparse.ArgumentParser(prog="make cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--https-port", type=int, default=8443)
    parser.add_argument("--http-port", type=int, default=8080)
    parser.add_argument("--store-ports", type=int, nargs=2, default=(6601, 6602))
    args = parser.parse_args(argv)
    install_services()
    signal.signal(signal.SIGTERM, _interrupt)
    root = ROOT / "var" / "cluster"
    shutil.rmtree(root, ignore_errors=True)
    cluster = Cluster(root, https_port=args.https_port, http_port=args.http_port, store_ports=args.store_ports)
    print(
        "Starting PostgreSQL, Redis, S3 (moto), the Stripe stand-in, two store processes, a worker and nginx…",
        flush=True,
    )
    with cluster:
        from album_store.demo import DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD

        print(
            f"\n  Album Store (nginx, TLS):  {cluster.url}   (a self-signed certificate: {root / 'cert.pem'})\n"
            f"  Store processes:          {', '.join(f'http://127.0.0.1:{p}' for p in cluster.store_ports)}\n"
            f"  Database:                 {cluster.database_url}\n"
            f"  Jobs (Redis):             redis://127.0.0.1:{cluster.redis_port}/0   Files (S3): "
            f"http://127.0.0.1:{cluster.s3_port}/{BUCKET}\n"
            f"  Stripe stand-in:          {cluster.standin.url}   Logs: {root / 'logs'}\n"
            f"  Owner's pages: {cluster.url}/admin as {DEMO_OWNER_EMAIL} / {DEMO_OWNER_PASSWORD}\n"
            f"  Ctrl-C stops them all.\n",
            flush=True,
        )
        try:
            while all(process.poll() is None for process in cluster.processes.values()):
                time.sleep(1)
            stopped = [name for name, process in cluster.processes.items() if process.poll() is not None]
            print(f"Stopped by itself: {', '.join(stopped)} (see {root / 'logs'}); stopping the rest.", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\nStopping…", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
