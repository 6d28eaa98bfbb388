"""The receipt by email: what it says, that its links work without an account, that it goes out only
after the purchase is committed as paid, and that a mail failure never costs the buyer the purchase."""

import logging
from datetime import timedelta

import pytest
from pyramid_mailer.interfaces import IMailer
from pyramid_mailer.mailer import DummyMailer
from sqlalchemy import select, text

from album_store.models import Purchase
from tests.conftest import StoreTestApp, standin_only
from tests.factories import give_album_file, links_in, mail_text, make_album

pytestmark = pytest.mark.stripe


def purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


def local(url):
    return url.replace("http://localhost", "")


def test_the_receipt_mail_says_what_was_bought_and_its_download_link_works(testapp, app, dbsession, outbox, files_dir):
    album = make_album(dbsession, slug="blue-skies", title="Blue Skies", artist="The Paper Lanterns", price_cents=999)
    give_album_file(dbsession, album, files_dir)
    testapp.buy("blue-skies", email="ana@example.com", status=303)
    [purchase] = purchases(dbsession)

    [message] = outbox
    assert message.recipients == ["ana@example.com"]
    assert message.subject == "Your receipt: Blue Skies by The Paper Lanterns"
    assert message.sender == "Album Store <store@example.com>"
    body = mail_text(message)
    for expected in (
        "Blue Skies by The Paper Lanterns",
        "$9.99",
        purchase.paid_at.strftime("%d %B %Y"),
        "ending in 4242",
        f"#{purchase.id}",
    ):
        assert expected in body, expected
    links = links_in(message)
    [download] = [url for url in links if "/downloads/" in url]
    [receipt] = [url for url in links if "/purchases/" in url]
    assert "http://localhost/library" in links

    # Another device, no account, no cookies: the links in the email are enough.
    elsewhere = StoreTestApp(app)
    response = elsewhere.get(local(download), status=200)
    assert response.content_type == "application/zip" and response.body[:2] == b"PK"
    page = elsewhere.get(local(receipt), status=200)
    assert "Blue Skies" in page.text and "$9.99" in page.text
    assert purchases(dbsession)[0].download_count == 1


def test_the_signed_receipt_link_opens_only_its_own_receipt(testapp, app, dbsession, outbox):
    make_album(dbsession, slug="one")
    make_album(dbsession, slug="two")
    testapp.buy("one", email="ana@example.com", status=303)
    StoreTestApp(app, testapp.new_card_token).buy("two", email="bob@example.com", status=303)
    ana, bob = purchases(dbsession)
    ana_receipt = [url for url in links_in(outbox[0]) if "/purchases/" in url][0]
    token = ana_receipt.split("?t=")[1]

    stranger = StoreTestApp(app)
    stranger.get(local(ana_receipt), status=200)
    stranger.get(f"/purchases/{bob.id}?t={token}", status=404)  # Ana's link, Bob's receipt
    stranger.get(f"/purchases/{ana.id}?t={token[:-3]}abc", status=404)
    refused = stranger.get(f"/purchases/{ana.id}", status=404)
    assert refused.html.find("article").find_all("p")[1].text == "There is no receipt at this address for you."
    # Ana herself, a past buyer: her browser and her link open her receipt, never Bob's.
    testapp.get(f"/purchases/{ana.id}", status=200)
    assert "receipt" in testapp.get(f"/purchases/{bob.id}?t={token}", status=404).text
    assert "receipt" in testapp.get(f"/purchases/{bob.id}", status=404).text


def test_one_purchase_one_mail_and_none_for_a_declined_card(testapp, dbsession, outbox, new_card_token):
    make_album(dbsession, slug="once")
    token = new_card_token()
    testapp.buy("once", token=token, status=303)
    testapp.buy("once", token=token, status=303)  # the same checkout posted twice
    testapp.buy("once", token="tok_chargeDeclined", email="someone-else@example.com", status=402)
    assert len(outbox) == 1


def test_the_receipt_link_opens_a_receipt_whatever_its_number_and_a_number_past_any_record_is_a_404(
    app, dbsession, app_settings
):
    """Receipt numbers grow for as long as the shop runs: the emailed link of purchase 2,147,483,647 (the
    largest the database's integer holds) still opens it; a larger number is a 404, never an error."""
    from tests.factories import issued_token, make_purchase

    album = make_album(dbsession, slug="late-in-life", title="Late in Life")
    purchase = make_purchase(dbsession, album)
    dbsession.execute(text("UPDATE purchases SET id = :big WHERE id = :id"), {"big": 2**31 - 1, "id": purchase.id})
    dbsession.commit()
    token = issued_token(app_settings, "receipt", purchase.reference, seconds_ago=0)
    stranger = StoreTestApp(app)
    assert "Late in Life" in stranger.get(f"/purchases/{2**31 - 1}?t={token}", status=200).text
    stranger.get(f"/purchases/{2**31}?t={token}", status=404)
    stranger.get(f"/purchases/{2**32}?t={token}", status=404)


def test_the_mail_goes_out_only_after_the_paid_purchase_is_committed(make_app, dbsession, db_engine):
    make_album(dbsession, slug="committed")

    class CommitCheckingMailer(DummyMailer):
        """Looks at the database from another connection at the moment the mail is sent."""

        seen = []

        def send_immediately(self, message, fail_silently=False):
            with db_engine.connect() as connection:
                self.seen.append(connection.execute(text("SELECT status FROM purchases")).scalars().all())
            super().send_immediately(message, fail_silently)

    browser = make_app()
    mailer = CommitCheckingMailer()
    browser.app.registry.registerUtility(mailer, IMailer)
    browser.buy("committed", status=303)
    assert mailer.seen == [["paid"]]
    assert len(mailer.outbox) == 1


def test_a_failing_mail_server_never_loses_or_undoes_the_purchase(make_app, dbsession, caplog):
    make_album(dbsession, slug="no-mail", title="No Mail")
    # A real SMTP mailer pointed at a port where nothing listens: sending raises ConnectionRefusedError.
    browser = make_app(**{"mail.backend": "smtp", "mail.host": "127.0.0.1", "mail.port": "9"})
    with caplog.at_level(logging.WARNING, logger="album_store"):
        receipt = browser.buy("no-mail", email="ana@example.com", status=303).follow(status=200)
    assert "Thank you! No Mail is yours." in receipt.text
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid" and purchase.stripe_charge_id
    assert (
        "mail 'Your receipt: No Mail by Test Artist' to ['ana@example.com'] not sent yet; it will be tried again"
        in caplog.text
    )


def _queue(browser):
    from album_store.jobs import IJobQueue

    return browser.app.registry.getUtility(IJobQueue)


def test_a_receipt_the_mail_server_refused_is_sent_by_a_later_try(make_app, dbsession, tmp_path, caplog):
    """The mail goes out from the job queue, after the request; a refusal is tried again later."""
    make_album(dbsession, slug="later-mail", title="Later Mail")
    folder = tmp_path / "mail"
    browser = make_app(**{"mail.backend": "folder", "mail.folder": str(folder)})
    folder.rmdir()  # the "server" refuses: the folder mailer cannot write its file
    with caplog.at_level(logging.WARNING, logger="album_store"):
        browser.buy("later-mail", email="ana@example.com", status=303)
    assert "not sent yet; it will be tried again" in caplog.text and not folder.exists()
    assert _queue(browser).pending_count() == 1, "the retry waits its turn"
    folder.mkdir()
    assert _queue(browser).run_pending() == 0, "not due yet"
    assert _queue(browser).run_pending(ahead=timedelta(minutes=2)) == 1
    [sent] = list(folder.iterdir())
    assert "Subject: Your receipt: Later Mail by Test Artist" in sent.read_text()
    assert _queue(browser).pending_count() == 0


def test_a_mail_refused_at_every_try_is_logged_as_lost_and_given_up(make_app, dbsession, tmp_path, caplog):
    make_album(dbsession, slug="lost-mail", title="Lost Mail")
    folder = tmp_path / "mail"
    browser = make_app(**{"mail.backend": "folder", "mail.folder": str(folder)})
    folder.rmdir()
    with caplog.at_level(logging.WARNING, logger="album_store"):
        browser.buy("lost-mail", email="ana@example.com", status=303)
        tries = 1
        while _queue(browser).pending_count():
            tries += _queue(browser).run_pending(ahead=timedelta(days=1))
    assert tries == 6, "the first try and five more"
    assert caplog.text.count("not sent yet; it will be tried again") == 5
    assert (
        "mail 'Your receipt: Lost Mail by Test Artist' to ['ana@example.com'] could not be sent, "
        "and will not be tried again" in caplog.text
    )
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid"


@standin_only
def test_reconcile_mails_the_receipt_of_a_purchase_it_finds_paid(
    make_app, dbsession, faults, ini_file, tmp_path, files_dir
):
    from album_store.cli import main as cli

    album = make_album(dbsession, slug="lost-answer", title="Lost Answer")
    give_album_file(dbsession, album, files_dir)
    no_retries = make_app(**{"stripe.max_network_retries": "0"})
    faults.inject(count=1, status=500, when="after")  # charged, but the answer is lost: a 503, no receipt
    no_retries.buy("lost-answer", email="ana@example.com", status=503)

    mail_folder = tmp_path / "mail"
    ini_file.write_text(
        ini_file.read_text().replace("mail.backend = dummy", f"mail.backend = folder\nmail.folder = {mail_folder}")
    )
    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0"]) == 0
    assert purchases(dbsession)[0].status == "paid"
    [sent] = list(mail_folder.iterdir())
    content = sent.read_text()
    assert "To: ana@example.com" in content and "Lost Answer" in content and "/downloads/" in content


def test_a_forged_host_header_never_reaches_a_link_in_a_mail(make_app, dbsession, outbox, files_dir):
    """Links in mail are built on store.url: a request that names another host (a forged Host or
    X-Forwarded-Host) cannot send buyers to it, in the receipt, the confirmation or the reset mail."""
    from album_store.jobs import IJobQueue

    album = make_album(dbsession, slug="forged-host", title="Forged Host")
    give_album_file(dbsession, album, files_dir)
    browser = make_app(**{"store.url": "https://shop.example.com"})
    browser.extra_environ = {"HTTP_HOST": "evil.example", "HTTP_X_FORWARDED_HOST": "evil.example"}
    sent = get_mailer_outbox(browser)
    browser.buy("forged-host", email="ana@example.com", status=303)
    browser.register("ben@example.com")
    csrf = browser.form_csrf_token("/account/reset")
    browser.post("/account/reset", {"csrf_token": csrf, "email": "ben@example.com"}, status=303)
    assert browser.app.registry.getUtility(IJobQueue).pending_count() == 0
    assert [m.subject for m in sent] == [
        "Your receipt: Forged Host by Test Artist",
        "Confirm your email address",
        "Choose a new password",
    ]
    links = [link for message in sent for link in links_in(message)]
    assert len(links) >= 5 and all(link.startswith("https://shop.example.com/") for link in links), links


def get_mailer_outbox(browser):
    from pyramid_mailer import get_mailer

    return get_mailer(browser.app.registry).outbox
