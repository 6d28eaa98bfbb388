"""Email through pyramid_mailer: receipts, and the link mails (address confirmations, password resets,
free downloads), of which a visitor's forms may send only so many an hour (``_may_send_link``).

A message is rendered in the request (its links need the request's routes) and queued as the job
``send_mail`` only after the transaction it belongs to has committed, so nobody is told of a purchase
or an account that was then rolled back, and no request waits for the mail server: the worker
(``album-store worker``) sends it, and tries again while the server refuses it. A failure to render,
queue or send is logged and swallowed: mail can never lose or undo what the transaction recorded.
It also means the reset form answers in the same time whether or not the address has an account.

``mail.backend`` chooses the mailer: ``smtp`` (``mail.host``, ``mail.port``, …), ``folder`` (each
message written as an .eml file into ``mail.folder``: development) or ``dummy`` (kept in memory in
``mailer.outbox``: tests).
"""

import logging
from datetime import timedelta

from pyramid.exceptions import ConfigurationError
from pyramid.renderers import render
from pyramid_mailer import get_mailer
from pyramid_mailer.interfaces import IMailer
from pyramid_mailer.mailer import DebugMailer, DummyMailer, Mailer
from pyramid_mailer.message import Attachment, Message
from sqlalchemy import delete, func, or_, select
from zope.interface import Interface, implementer

from ..jobs import IJobQueue, job
from ..models import LinkMail, one_at_a_time
from ..models.meta import utcnow
from ..models.purchase import TAX_EXCLUSIVE
from ..money import format_money
from .audio import offered_formats, track_masters
from .downloads import IDownloadService
from .receipts import receipt_token

log = logging.getLogger(__name__)

#: Link mails (confirmations, password resets, free downloads) a visitor's forms may have sent.
LINK_MAIL_WINDOW = timedelta(hours=1)
LINK_MAILS_PER_ADDRESS = 3
LINK_MAILS_PER_CLIENT = 10


def mailer_from_settings(settings):
    backend = settings["mail.backend"].strip().lower()
    if backend == "smtp":
        return Mailer.from_settings(settings, "mail.")
    if backend == "folder":
        if not settings.get("mail.folder"):
            raise ConfigurationError(
                "Setting mail.folder (environment MAIL_FOLDER) is needed when mail.backend = folder."
            )
        return DebugMailer(settings["mail.folder"])
    if backend == "dummy":
        return DummyMailer()
    raise ConfigurationError(f"Setting mail.backend must be smtp, folder or dummy, not {backend!r}.")


def public_url(request, route_name, **kw):
    """An absolute link for an email: on ``store.url`` when set, so no Host header can redirect it."""
    app_url = request.registry.settings.get("store.url", "").rstrip("/")
    if app_url:
        kw["_app_url"] = app_url
    return request.route_url(route_name, **kw)


class IMailService(Interface):
    def send_after_commit(message):
        """Send ``message`` once the current transaction commits; never raise."""

    def queue_receipt(purchase):
        """The receipt of a paid purchase, with its download link, after the commit that records it."""

    def queue_confirmation(user, token):
        """The link that confirms ``user``'s address."""

    def queue_free_download(purchase, token):
        """A free download's link (pay what you want, 0): following it confirms the buyer's address and
        makes the download theirs (its receipt, with the download link, follows)."""

    def queue_password_reset(user, token):
        """The link to choose a new password."""


@implementer(IMailService)
class MailService:
    def __init__(self, request):
        self.request = request
        self.sender = request.registry.settings["mail.default_sender"]

    def send_after_commit(self, message):
        """The message goes to the job queue once the request's transaction commits (``send_mail``)."""
        self.request.registry.getUtility(IJobQueue).after_commit(self.request.tm, "send_mail", message)

    def _message(self, *, to, subject, template, values):
        body = render(f"album_store:templates/mail/{template}", values, self.request)
        if isinstance(body, bytes):  # pyramid_chameleon's text templates render to bytes
            body = body.decode("utf-8")
        # Plain 7-bit text stays readable as it is (in the development mail folder too); anything
        # else goes quoted-printable.
        encoding = "7bit" if body.isascii() else "quoted-printable"
        text = Attachment(data=body, content_type="text/plain", disposition="inline", transfer_encoding=encoding)
        # A header is one line: a title typed before titles were checked (or by hand) must not lose the mail.
        subject = " ".join(subject.split())
        return Message(subject=subject, sender=self.sender, recipients=[to], body=text)

    def queue_receipt(self, purchase):
        try:
            message = self._receipt(purchase)
        except Exception:
            log.exception("could not write the receipt mail of purchase %s", purchase.id)
            return
        self.send_after_commit(message)

    def _receipt(self, purchase):
        album = purchase.album
        downloads = self.request.find_service(IDownloadService)
        download_url = None
        if downloads.file_for(album) is not None or offered_formats(
            album, track_masters(self.request.dbsession, album)
        ):
            download_url = public_url(self.request, "download", token=downloads.token_for(purchase))
        values = {
            "purchase": purchase,
            "album": album,
            "amount": format_money(purchase.charged_cents, purchase.currency),
            "tax_line": _tax_line(purchase),
            "paid_at": purchase.paid_at or purchase.created_at,
            "download_url": download_url,
            "receipt_url": public_url(
                self.request, "purchase", id=purchase.id, _query={"t": receipt_token(self.request, purchase)}
            ),
            "library_url": public_url(self.request, "library"),
            "register_url": public_url(self.request, "account_register"),
            "in_library": purchase.user_id is not None,
        }
        return self._message(
            to=purchase.email,
            subject=f"Your receipt: {album.title} by {album.artist}",
            template="receipt.txt",
            values=values,
        )

    def queue_confirmation(self, user, token):
        url = public_url(self.request, "account_confirm", token=token)
        self._queue_link_mail(user, "Confirm your email address", "confirm_email.txt", {"confirm_url": url})

    def queue_free_download(self, purchase, token):
        if not self._may_send_link("free_download", purchase.email):
            return
        album = purchase.album
        values = {
            "purchase": purchase,
            "album": album,
            "confirm_url": public_url(self.request, "free_download_confirm", token=token),
        }
        self.send_after_commit(
            self._message(
                to=purchase.email,
                subject=f"Confirm your free download: {album.title} by {album.artist}",
                template="free_download.txt",
                values=values,
            )
        )

    def queue_password_reset(self, user, token):
        url = public_url(self.request, "account_reset", token=token)
        self._queue_link_mail(user, "Choose a new password", "password_reset.txt", {"reset_url": url})

    def _queue_link_mail(self, user, subject, template, values):
        if not self._may_send_link(template.split(".")[0], user.email):
            return
        self.send_after_commit(
            self._message(to=user.email, subject=subject, template=template, values={"user": user, **values})
        )

    def _may_send_link(self, kind, email):
        """At most LINK_MAILS_PER_ADDRESS link mails to one address, and LINK_MAILS_PER_CLIENT asked
        for by one client, within LINK_MAIL_WINDOW; past that nothing more is sent (the form answers
        as always: it must not tell whether an account exists). The mail is recorded first and the
        count taken after, one at a time per address and client, so parallel requests hold to it."""
        db = self.request.dbsession
        client = (self.request.client_addr or "unknown")[:64]
        now = utcnow()
        one_at_a_time(db, "link-mail-email:" + email, "link-mail-client:" + client)
        db.execute(
            delete(LinkMail).where(
                or_(LinkMail.email == email, LinkMail.client_addr == client), LinkMail.sent_at < now - LINK_MAIL_WINDOW
            )
        )
        mail = LinkMail(kind=kind, email=email, client_addr=client, sent_at=now)
        db.add(mail)
        db.flush()
        recent = LinkMail.sent_at >= now - LINK_MAIL_WINDOW
        to_address = db.scalar(select(func.count()).where(LinkMail.email == email, recent, LinkMail.id != mail.id))
        from_client = db.scalar(
            select(func.count()).where(LinkMail.client_addr == client, recent, LinkMail.id != mail.id)
        )
        if to_address >= LINK_MAILS_PER_ADDRESS or from_client >= LINK_MAILS_PER_CLIENT:
            db.delete(mail)
            db.flush()
            log.warning(
                "link mail %s to %s not sent: %s link mails to it, %s asked for from %s within the hour",
                kind,
                email,
                to_address,
                from_client,
                client,
            )
            return False
        return True


@job(retries=5, retry_delay=60)
def send_mail(context, message, *, last_try):
    """Hand a rendered message to the mailer (SMTP in production); retried while the server refuses,
    then logged as lost."""
    try:
        get_mailer(context.registry).send_immediately(message)
    except Exception:
        if not last_try:
            log.warning(
                "mail %r to %s not sent yet; it will be tried again", message.subject, message.recipients, exc_info=True
            )
            raise
        log.exception(
            "mail %r to %s could not be sent, and will not be tried again", message.subject, message.recipients
        )
        return
    log.info("mail %r sent to %s", message.subject, message.recipients)


def includeme(config):
    config.registry.registerUtility(mailer_from_settings(config.get_settings()), IMailer)
    config.register_service_factory(lambda context, request: MailService(request), IMailService)


def _tax_line(purchase):
    """The receipt's tax, after the amount: Stripe Tax added it to the price, or it was included."""
    if not purchase.tax_cents:
        return ""
    tax = format_money(purchase.tax_cents, purchase.currency)
    if purchase.tax_behavior == TAX_EXCLUSIVE:
        return f" ({format_money(purchase.amount_cents, purchase.currency)} + {tax} tax)"
    return f" (includes {tax} tax)"
