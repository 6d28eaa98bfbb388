"""`make run`: the local Stripe stand-in, the store and its job-queue worker, until Ctrl-C stops them.

The stand-in listens on the port of ``stripe.api_base`` in the ini (development.ini: 12111), so the
store's settings and the stand-in agree; the store is served by ``pserve`` on the ini's ``listen``.
"""

import configparser
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from pyramid.paster import get_appsettings

from album_store.demo import DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD
from album_store.services.purchases import HANDLED_EVENTS
from stripe_standin.process import register_webhook, start_standin

#: The store's own list of the events it acts on (the same list to add in Stripe's dashboard).
WEBHOOK_EVENTS = list(HANDLED_EVENTS)


def store_url(ini):
    """The address of the ini's one ``listen = HOST:PORT`` line in [server:main]."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ini)
    return "http://" + parser["server:main"]["listen"].split()[0]


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(ini="development.ini"):
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops both, as Ctrl-C does
    settings = get_appsettings(ini)
    api_base = urlsplit(settings["stripe.api_base"])
    if api_base.hostname not in ("127.0.0.1", "localhost"):
        sys.exit(f"{ini}: stripe.api_base must point at the local stand-in on 127.0.0.1 for `make run`")
    pserve = Path(sys.executable).with_name("pserve")
    url = store_url(ini)
    with start_standin(port=api_base.port) as standin:
        # Stripe's events reach the store as they would in production (signed with the ini's secret).
        register_webhook(
            standin.url, "album-store", f"{url}/stripe/webhook", settings["stripe.webhook_secret"], WEBHOOK_EVENTS
        )
        store = subprocess.Popen([str(pserve), ini])
        # The job queue's worker: mail, previews and download formats (album_store/jobs.py).
        worker = subprocess.Popen([str(Path(sys.executable).with_name("album-store")), "worker", ini])
        print(
            f"\n  Album Store:   {url}\n"
            f"  Stripe stand-in: {standin.url} (local test checkout, no Stripe account needed)\n"
            f"  Pay with 4242 4242 4242 4242, any future expiry, any CVC; 4000 0000 0000 0002 is declined.\n"
            f"  With STORE_PAYMENT_FLOW=payment_intents, 4000 0025 0000 3155 asks for 3-D Secure.\n"
            f"  Store owner's pages: {url}/admin — sign in as {DEMO_OWNER_EMAIL}\n"
            f"    with the password {DEMO_OWNER_PASSWORD} (made by `album-store initdb --demo`).\n"
            f"  A worker (album-store worker) makes the previews and downloads in the background.\n"
            f"  Ctrl-C stops them all.\n",
            flush=True,
        )
        try:
            store.wait()
        except KeyboardInterrupt:
            for process in (store, worker):
                process.send_signal(signal.SIGINT)
            for process in (store, worker):
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        finally:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=10)
    return store.returncode or 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
