"""SQL statements per page: a shopper's page runs at most two, and as many for a catalog of three
albums as for one of sixty with many tracks each (no statement per album, card or track). Counted
with a ``before_cursor_execute`` listener on the app's engine; the page cache is off in tests
(testing.ini), so every request renders. A behaviour test: nothing here is timed."""

import contextlib

from sqlalchemy import event

from tests.conftest import PASSWORD
from tests.factories import make_album, make_purchase, make_user


@contextlib.contextmanager
def counted(app):
    statements = []
    engine = app.registry["db_engine"]

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements_for(app, client, path):
    client.get(path, status=200)  # warm: templates compiled, caches filled
    with counted(app) as statements:
        client.get(path, status=200)
    return statements


SHOPPER_PAGES = ("/albums/{slug}", "/albums", "/albums?page=2")


def shopper_counts(app, client, slug):
    return {path: len(statements_for(app, client, path.format(slug=slug))) for path in SHOPPER_PAGES}


def test_shopper_pages_run_at_most_two_statements_however_large_the_catalog(app, testapp, dbsession):
    for _ in range(26):  # two catalog pages
        make_album(dbsession, tracks=1)
    small = shopper_counts(app, testapp, make_album(dbsession, slug="probe-small", tracks=1).slug)
    assert all(count <= 2 for count in small.values()), small

    for _ in range(40):
        make_album(dbsession, tracks=12)
    large = shopper_counts(app, testapp, make_album(dbsession, slug="probe-large", tracks=30).slug)
    assert large == small, "statements grew with the albums and tracks"


def test_the_library_runs_as_many_statements_for_twelve_albums_as_for_one(app, testapp, dbsession):
    user = make_user(dbsession, "collector@example.com", PASSWORD, confirmed=True)

    def own(album):
        purchase = make_purchase(dbsession, album, email=user.email, commit=False)
        purchase.user_id = user.id
        dbsession.commit()

    own(make_album(dbsession, tracks=2))
    testapp.login(user.email)
    one = statements_for(app, testapp, "/library")
    for _ in range(11):
        own(make_album(dbsession, tracks=8))
    twelve = statements_for(app, testapp, "/library")
    assert len(testapp.get("/library").html.select(".library__item")) == 12
    assert len(twelve) == len(one), twelve


def test_a_signed_in_buyers_shopper_pages_run_what_a_guests_do_and_the_fragment_two(app, testapp, dbsession):
    """Their pages are the shared ones (no session read, no owned lookup); the fragment, with the owned
    album, runs the session's statement and the owned purchase's."""
    slug = make_album(dbsession, slug="probe-signed-in", tracks=2).slug
    paths = ("/", "/albums", f"/albums/{slug}")
    guest = [len(statements_for(app, testapp, path)) for path in paths]
    make_user(dbsession, "counted@example.com", PASSWORD, confirmed=True)
    testapp.login("counted@example.com")
    assert [len(statements_for(app, testapp, path)) for path in paths] == guest
    assert len(statements_for(app, testapp, f"/account/fragment?album={slug}")) == 2


#: The checkout POST (checkout_js, a guest, a card that succeeds): the album; the purchase of this token
#: (none yet); the confirmed account of the email (none); the pending purchase's INSERT (committed before
#: the charge); after the charge, the settlement's one UPDATE … RETURNING (committed). No reload of what
#: was just written, and no statement per track. A reload after a commit that comes back fails this.
CHECKOUT_POST_STATEMENTS = 6


def checkout_post_statements(app, testapp, slug):
    from tests.paying import shown_price

    page = testapp.get(f"/albums/{slug}", status=200)
    fields = {
        "stripeToken": testapp.new_card_token(),
        "stripeTokenType": "card",
        "stripeEmail": f"counted-{slug}@example.com",
        "csrf_token": testapp.csrf_token(),
        **shown_price(page),
    }
    with counted(app) as statements:
        testapp.post(f"/albums/{slug}/buy", fields, status=303)
    return statements


def test_the_checkout_post_runs_six_statements_however_many_tracks(app, testapp, dbsession, outbox):
    checkout_post_statements(app, testapp, make_album(dbsession, slug="warm-up", tracks=1).slug)
    one = checkout_post_statements(app, testapp, make_album(dbsession, slug="one-track", tracks=1).slug)
    many = checkout_post_statements(app, testapp, make_album(dbsession, slug="many-tracks", tracks=30).slug)
    assert len(one) == CHECKOUT_POST_STATEMENTS, "\n".join(one)
    assert len(many) == len(one), "\n".join(many)
    assert sum(statement.lstrip().upper().startswith("INSERT") for statement in one) == 1
    assert sum(statement.lstrip().upper().startswith("UPDATE") for statement in one) == 1
    # Still paid, with the receipt queued and sent after the commit that recorded the payment.
    assert [message.subject for message in outbox][-1].startswith("Your receipt:")
