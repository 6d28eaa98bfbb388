from sqlalchemy import select, func
from album_store.models import User
from album_store.services.accounts import AccountService
from tests.conftest import StoreTestApp


def test_probe(testapp, app, dbsession, monkeypatch):
    testapp.register("ana@example.com")
    monkeypatch.setattr(AccountService, "find_by_email", lambda self, email: None)
    other = StoreTestApp(app)
    page = other.register("ana@example.com", status="*")
    print("STATUS", page.status)
    dbsession.expire_all()
    print("COUNT", dbsession.scalar(select(func.count()).select_from(User)))
