"""Free downloads: a "name your price" album whose minimum is 0, taken for 0. No Stripe at all.

How one is recorded (the choice, and why): as a purchase like any other, with ``amount_cents = 0``
(and the album's minimum, 0, in ``minimum_cents``), so the library, the receipt and its mail, the
download links, "already in your library" and the owner's lists need no second kind of record.
It is ``pending`` until its buyer confirms the email address from the link the store mails (signed,
for :data:`~album_store.services.tokens.LIFETIMES` ``free-download``), then settlement makes it
``paid`` (:meth:`Settlement.give_free`, the same conditional update as every status change: the
settlement module stays the only writer of a status). A signed-in buyer whose account has confirmed
its address has nothing left to prove: paid at once.

Reconcile and the Stripe webhooks never look at a free download (there is nothing at Stripe; it has
no charge, token, attempt id or session). Unconfirmed, it holds its buyer's place for the album (the
unique ``buyer_album_key``): asking again mails the link again (never a second record); paying for
the album instead fails it ("replaced"), so the paid checkout can go on. It can never be refunded
(nothing was paid).
"""

from ...models import Purchase
from ..tokens import LinkInvalid

PURPOSE = "free-download"
REPLACED = "A paid checkout of this album replaced this free download before it was confirmed."


class FreeDownloads:
    def __init__(self, dbsession, settlement, tokens, mail):
        self.db = dbsession
        self.settlement = settlement
        self.tokens = tokens  # ISignedTokens
        self.mail = mail  # IMailService

    def send_link(self, purchase):
        """Mail the link that confirms the buyer's address (after the current transaction commits)."""
        token = self.tokens.make(PURPOSE, {"p": purchase.id, "r": purchase.reference})
        self.mail.queue_free_download(purchase, token)

    def purchase_for(self, token):
        """The free download a confirmation link names; raises ``LinkExpired`` or ``LinkInvalid``."""
        payload = self.tokens.read(PURPOSE, token)
        purchase_id = payload.get("p") if isinstance(payload, dict) else None
        purchase = self.db.get(Purchase, purchase_id) if isinstance(purchase_id, int) else None
        if purchase is None or purchase.reference != payload.get("r") or not purchase.is_free:
            raise LinkInvalid(PURPOSE)
        return purchase

    def confirm(self, purchase):
        """The buyer followed the link: the download is theirs (paid, by settlement). Returns whether
        it is paid (False: replaced by a paid checkout meanwhile)."""
        return self.settlement.give_free(purchase)

    def give_way(self, purchase):
        """The buyer is paying for the album instead: this unconfirmed free download steps aside."""
        self.settlement.fail(purchase, code="replaced", message=REPLACED)
