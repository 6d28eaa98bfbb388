"""The owner's audit trail: every change made from the owner's pages, with who and when.

Written by the services that make the changes, in the same transaction as the change itself, so a
change that was rolled back leaves no record and a recorded change always happened.
"""

from sqlalchemy import select
from zope.interface import Interface, implementer

from ..models import AuditEvent


class IAuditLog(Interface):
    def record(actor, action, summary, *, album_id=None, purchase_id=None):
        """Add one event: ``actor`` (a User) did ``action`` (a short verb) — ``summary`` says what."""

    def for_album(album_id, limit=100):
        """The album's events, newest first."""

    def for_purchase(purchase_id, limit=100):
        """The purchase's events, newest first."""


@implementer(IAuditLog)
class AuditLog:
    def __init__(self, dbsession):
        self.db = dbsession

    def record(self, actor, action, summary, *, album_id=None, purchase_id=None):
        event = AuditEvent(
            user_id=actor.id if actor is not None else None,
            actor_email=actor.email if actor is not None else "(system)",
            action=action,
            summary=summary[:4000],
            album_id=album_id,
            purchase_id=purchase_id,
        )
        self.db.add(event)
        return event

    def for_album(self, album_id, limit=100):
        return self._events(AuditEvent.album_id == album_id, limit)

    def for_purchase(self, purchase_id, limit=100):
        return self._events(AuditEvent.purchase_id == purchase_id, limit)

    def _events(self, condition, limit):
        return self.db.scalars(
            select(AuditEvent)
            .where(condition)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(limit)
        ).all()


def includeme(config):
    config.register_service_factory(lambda context, request: AuditLog(request.dbsession), IAuditLog)
