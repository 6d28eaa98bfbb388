"""Payment errors are answered by exception views (``views/payment_errors.py``), and the request's
transaction ends as it did when the views returned or raised those answers themselves.

pyramid_tm aborts the transaction when an exception view answers. The purchase service commits what
the buyer must never lose before it raises (the pending purchase before Stripe is asked, a
decline's ``failed``); what is left in the transaction when the error is answered (here: a
signed-in buyer's session, noted as used) is committed for the answers the views used to *return*
(a declined card's 402 page) and rolled back for those they used to *raise* (the 409s).
"""

from datetime import timedelta

from sqlalchemy import select, update

from album_store.models import AccountSession, Purchase
from album_store.models.meta import utcnow
from tests.conftest import PASSWORD, standin_only
from tests.factories import make_album, make_user
from tests.paying import shown_price

AN_HOUR_AGO = timedelta(hours=1)  # longer ago than security.SESSION_TOUCH: the next request notes the use


def _purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


def _session_last_seen(dbsession, user):
    dbsession.expire_all()
    return dbsession.scalars(select(AccountSession.last_seen_at).where(AccountSession.user_id == user.id)).one()


def _buy_after_an_hour(testapp, dbsession, user, slug, token, *, status):
    """Post the album's form (read first) with the buyer's session last used an hour ago, so that
    this request, and only it, notes the use (``security.get_user``) in its own transaction."""
    fields = {
        "stripeToken": token,
        "stripeTokenType": "card",
        "stripeEmail": user.email,
        **shown_price(testapp.get(f"/albums/{slug}")),
        "csrf_token": testapp.csrf_token(),
    }
    _make_session_old(dbsession, user)
    return testapp.post(f"/albums/{slug}/buy", fields, status=status)


def _make_session_old(dbsession, user):
    dbsession.execute(
        update(AccountSession).where(AccountSession.user_id == user.id).values(last_seen_at=utcnow() - AN_HOUR_AGO)
    )
    dbsession.commit()


@standin_only
def test_a_declined_card_is_recorded_failed_and_the_402_commits_as_the_returned_page_did(
    testapp, dbsession, new_card_token
):
    make_album(dbsession, slug="declined", price_cents=1099)
    user = make_user(dbsession, "signed-in@example.com", PASSWORD)
    testapp.login(user.email)
    token = new_card_token("4000000000000002")

    page = testapp.buy("declined", token=token, status=402)
    assert "Your card was declined." in page.html.find(class_="alert--error").text
    # What the decline records, committed by the service before the error reached the exception view.
    [purchase] = _purchases(dbsession)
    assert (purchase.status, purchase.failure_code) == ("failed", "card_declined")
    assert purchase.failure_message.startswith("Your card was declined")
    assert purchase.email == user.email and purchase.amount_cents == 1099
    assert purchase.stripe_charge_id is None and purchase.paid_at is None and purchase.buyer_album_key is None

    # The same token again: the service writes nothing (the purchase failed already), so only this
    # request's own write is left in the transaction: the session, used again after an hour.
    again = _buy_after_an_hour(testapp, dbsession, user, "declined", token, status=402)
    assert "Your card was declined." in again.html.find(class_="alert--error").text
    assert utcnow() - _session_last_seen(dbsession, user) < timedelta(minutes=1), (
        "the 402 page commits the transaction, as the view's returned page did"
    )
    [same] = _purchases(dbsession)
    assert (same.id, same.status, same.failure_code) == (purchase.id, "failed", "card_declined")


@standin_only
def test_a_reused_card_token_is_a_409_that_rolls_back_as_the_raised_conflict_did(testapp, dbsession, new_card_token):
    make_album(dbsession, slug="reused", price_cents=1099)
    token = new_card_token()
    testapp.buy("reused", token=token, email="first@example.com", status=303)
    user = make_user(dbsession, "second@example.com", PASSWORD)
    testapp.login(user.email)

    refused = _buy_after_an_hour(testapp, dbsession, user, "reused", token, status=409)
    assert "already used for another purchase" in refused.text
    assert utcnow() - _session_last_seen(dbsession, user) >= AN_HOUR_AGO - timedelta(minutes=1), (
        "the 409 rolls the transaction back, as the view's raised HTTPConflict did"
    )
    [purchase] = _purchases(dbsession)
    assert (purchase.email, purchase.status) == ("first@example.com", "paid")


@standin_only
def test_a_402_whose_commit_fails_is_the_500_page_as_before(testapp, dbsession, new_card_token, caplog):
    """pyramid_tm rendered a failed commit with the exception view of the failure; so does the
    exception view that commits in its place."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    make_album(dbsession, slug="commit-fails", price_cents=1099)
    user = make_user(dbsession, "unlucky@example.com", PASSWORD)
    testapp.login(user.email)
    token = new_card_token("4000000000000002")
    testapp.buy("commit-fails", token=token, status=402)

    def refuse(session):
        if session is not dbsession:
            raise RuntimeError("injected: the commit fails")

    event.listen(Session, "before_commit", refuse)
    try:
        page = _buy_after_an_hour(testapp, dbsession, user, "commit-fails", token, status=500)
    finally:
        event.remove(Session, "before_commit", refuse)
    assert "Something went wrong" in page.text and "injected: the commit fails" in caplog.text
    assert utcnow() - _session_last_seen(dbsession, user) >= AN_HOUR_AGO - timedelta(minutes=1), "nothing kept"
