"""Password rules, signed tokens, and mail tied to the transaction: the logic under the account pages."""

import pytest
import transaction
from pyramid import testing
from pyramid_mailer.interfaces import IMailer
from pyramid_mailer.mailer import DummyMailer
from pyramid_mailer.message import Message

from album_store.jobs import IJobQueue, JobQueue, make_huey
from album_store.services.accounts import password_problems
from album_store.services.mail import MailService
from album_store.services.tokens import LinkExpired, LinkInvalid, SignedTokens
from tests.factories import issued_token


@pytest.mark.parametrize(
    "password",
    ["velvet-harbour-42", "correct horse battery staple", "granite lantern orchard", "Tr0ub4dor&3-and-more"],
)
def test_long_uncommon_passwords_are_accepted(password):
    assert password_problems(password, email="ana@example.com") == []


@pytest.mark.parametrize(
    "password",
    [
        "123456789012",
        "password1234",
        "qwertyuiop12",
        "1q2w3e4r5t6y",
        "Password123!",
        "abcdefghijkl",
        "aaaaaaaaaaaa",
        "ana@example.com",
        "anaexample",
        "albumstore1",
    ],
)
def test_common_or_guessable_passwords_are_refused(password):
    assert password_problems(password, email="ana@example.com", words=("album", "store", "albumstore"))


def test_length_limits():
    assert password_problems("Zq8#mW2!x", email="") == ["Use at least 10 characters."]
    assert password_problems("kP9v" * 60, email="") == ["Use at most 200 characters."]
    assert password_problems("xQ7!vR2#nL9@" * 10, email="") == []  # longer than zxcvbn's 72: judged by its start


def test_a_token_is_read_back_only_for_its_own_purpose_and_store():
    tokens = SignedTokens("secret-one-0123456789-0123456789")
    token = tokens.make("download", "ref123")
    assert tokens.read("download", token) == "ref123"
    with pytest.raises(LinkInvalid):
        tokens.read("receipt", token)
    with pytest.raises(LinkInvalid):
        SignedTokens("secret-two-0123456789-0123456789").read("download", token)
    with pytest.raises(LinkInvalid):
        tokens.read("download", token + "x")


def test_a_token_expires_after_its_purposes_lifetime():
    settings = {"store.secret": "secret-one-0123456789-0123456789"}
    tokens = SignedTokens(settings["store.secret"])
    assert tokens.read("password-reset", issued_token(settings, "password-reset", {"u": 1}, seconds_ago=3500)) == {
        "u": 1
    }
    with pytest.raises(LinkExpired):
        tokens.read("password-reset", issued_token(settings, "password-reset", {"u": 1}, seconds_ago=3700))
    assert tokens.read("download", issued_token(settings, "download", "r", seconds_ago=6 * 86400)) == "r"
    with pytest.raises(LinkExpired):
        tokens.read("download", issued_token(settings, "download", "r", seconds_ago=8 * 86400))


def test_mail_waits_for_the_commit_and_is_dropped_on_abort():
    with testing.testConfig(settings={"mail.default_sender": "store@example.com"}) as config:
        mailer = DummyMailer()
        config.registry.registerUtility(mailer, IMailer)
        request = testing.DummyRequest()
        request.registry = config.registry
        request.tm = transaction.TransactionManager(explicit=True)
        service = MailService(request)

        queue = JobQueue(make_huey({"jobs.backend": "memory"}), config.registry)
        config.registry.registerUtility(queue, IJobQueue)

        request.tm.begin()
        service.send_after_commit(Message(subject="rolled back", recipients=["a@example.com"], body="x"))
        request.tm.abort()
        request.tm.begin()
        service.send_after_commit(Message(subject="committed", recipients=["a@example.com"], body="x"))
        assert queue.pending_count() == 0, "nothing is queued before the commit"
        request.tm.commit()
        assert mailer.outbox == [] and queue.pending_count() == 1, "queued for the worker, not sent by the request"
        assert queue.run_pending() == 1
        assert [m.subject for m in mailer.outbox] == ["committed"]
