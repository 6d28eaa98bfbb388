"""A store served live by waitress (``pserve``) on a free loopback port, with the suite's settings
(same database, same Stripe): for what WebTest cannot show — two processes at once, a process killed,
webhooks the stand-in delivers over HTTP. The ``live_stores`` fixture (tests/conftest.py) starts them."""

import requests
from sqlalchemy import select

from album_store.models import Purchase
from devtools.pserve import Pserve, free_port
from tests.paying import shown_price


class LiveStore(Pserve):
    """``pserve`` on a free loopback port, with the suite's settings (same database, same Stripe)."""

    def __init__(self, tmp_path, app_settings):
        port = free_port()
        ini = tmp_path / f"live-{port}.ini"
        lines = ["[app:main]", "use = egg:album_store"]
        lines += [f"{key} = {str(value).replace('%', '%%')}" for key, value in app_settings.items() if "." in key]
        lines += ["", "[server:main]", "use = egg:waitress#main", f"listen = 127.0.0.1:{port}", "threads = 4"]
        ini.write_text("\n".join(lines) + "\n")
        super().__init__(ini, tmp_path / f"live-{port}.log", ready_path="/favicon.ico", timeout=20)


def browser_session(store, slug):
    """A buyer's browser: a session cookie, and the album form's CSRF token and price fields."""
    session = requests.Session()
    page = session.get(f"{store.url}/albums/{slug}", timeout=10)
    page.raise_for_status()
    session.shown = shown_price(page)
    return session, session.get(f"{store.url}/csrf-token", timeout=10).json()["token"]  # as static/csrf.js does


def all_purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


def post_at_once(stores, path, fields, count=16):
    """``count`` browsers, spread over ``stores``, each with its own session and the CSRF token of the
    form at ``path``, post ``fields`` to it together (a barrier): the status codes, in order."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from bs4 import BeautifulSoup

    browsers = []
    for n in range(count):
        store, session = stores[n % len(stores)], requests.Session()
        page = session.get(f"{store.url}{path}", timeout=10)
        token = BeautifulSoup(page.text, "html.parser").find("input", attrs={"name": "csrf_token"})["value"]
        browsers.append((store, session, token))
    barrier = threading.Barrier(count)

    def post(entry):
        store, session, token = entry
        barrier.wait()
        return session.post(
            f"{store.url}{path}", data={"csrf_token": token, **fields}, allow_redirects=False, timeout=60
        ).status_code

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(post, browsers))


def form_fields(page, form_id):
    """What a browser submits for the form: its inputs, selects and textareas as they are filled."""
    from bs4 import BeautifulSoup

    form = BeautifulSoup(page.text, "html.parser").find("form", id=form_id)
    fields = {field["name"]: field.get("value", "") for field in form.find_all("input") if field.get("name")}
    for select_field in form.find_all("select"):
        chosen = select_field.find("option", selected=True) or select_field.find("option")
        fields[select_field["name"]] = chosen.get("value", chosen.get_text())
    fields.update({area["name"]: area.get_text() for area in form.find_all("textarea")})
    return form["action"], fields
