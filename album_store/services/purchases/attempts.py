"""Recording a checkout attempt: the pending purchase, committed before Stripe is asked anything.

An attempt is named by what the buyer's browser sends: the Checkout token (checkout_js) or the
server-made attempt id (payment_intents). The same one again — a double click, a retry — finds the
same purchase (both are unique in the database). A new one for an album the same buyer already
has pending or paid meets the purchase's unique ``buyer_album_key`` and is not recorded:
:class:`BuyerHasOne` hands the existing purchase to the flow, which decides what the buyer sees.
"""

import logging
import secrets

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from ...models import Purchase, PurchaseStatus, User, buyer_album_key, normalize_email
from ...stripe_amounts import StripeAmountError, minimum_charge, to_stripe_amount
from .settlement import log_state

log = logging.getLogger("album_store.services.purchases")


class CheckoutTokenReused(Exception):
    """The Checkout token (or attempt id) already paid, or tried to pay, for a different purchase."""


class AttemptAmountDiffers(CheckoutTokenReused):
    """The same Checkout token (or attempt id) again, with another amount than its purchase's (pay
    what you want: the buyer changed the amount after the first try). Nothing more is charged: that
    token or attempt belongs to the purchase it made, at its amount."""

    def __init__(self, purchase):
        super().__init__(purchase.id)
        self.purchase = purchase


class PriceNotChargeable(Exception):
    """Stripe cannot charge the album's price (under its minimum, or not a sum its currency allows):
    nothing is recorded. ``str()`` says why, for the owner; it is a price set before the form checked it."""


class BuyerHasOne(Exception):
    """The same buyer (account, or email for a guest) has this album pending or paid already;
    ``purchase`` is that purchase. Nothing new was recorded."""

    def __init__(self, purchase):
        super().__init__(purchase.id)
        self.purchase = purchase


#: The statements of every checkout, built once (SQLAlchemy then finds their compiled form at once).
BY_TOKEN = select(Purchase).where(Purchase.checkout_token == bindparam("token"))
BY_ATTEMPT = select(Purchase).where(Purchase.attempt_id == bindparam("attempt_id"))
CONFIRMED_ACCOUNT = select(User).where(User.email == bindparam("email"), User.email_confirmed_at.is_not(None))


def new_attempt_id():
    """A fresh id for one payment_intents checkout attempt, made by the server for each album page
    (and after each failed attempt): unguessable, so only the page that shows it can use it."""
    return "att_" + secrets.token_urlsafe(24)


class Attempts:
    def __init__(self, dbsession, settlement):
        self.db = dbsession
        self.settlement = settlement

    def record(
        self, album, *, email, user, token=None, attempt_id=None, browser_key=None, tax_behavior=None, amount_cents=None
    ):
        """The pending purchase of this attempt: found if it was recorded before, else committed now.

        ``amount_cents``: what the buyer confirmed (the album's price when None; pay what you want:
        the buyer's own amount, checked by the view; 0 is a free download). Raises
        :class:`CheckoutTokenReused` when the token or attempt id belongs to another album or email,
        :class:`AttemptAmountDiffers` when it was made for another amount, and :class:`BuyerHasOne`
        when this buyer already has the album pending or paid.
        """
        if amount_cents is None:
            amount_cents = album.price_cents
        if user is not None:
            email = user.email  # a signed-in buyer's purchase is theirs, under their address
        for _ in range(3):
            existing = self._find(token, attempt_id)
            if existing is None:
                existing = self._insert(
                    album,
                    email=email,
                    user=user,
                    token=token,
                    attempt_id=attempt_id,
                    browser_key=browser_key,
                    tax_behavior=tax_behavior,
                    amount_cents=amount_cents,
                )
            if existing is not None:
                break
        else:
            raise RuntimeError("the buyer's other purchase of this album kept changing")
        if existing.album_id != album.id or normalize_email(existing.email) != normalize_email(email):
            raise CheckoutTokenReused(existing.id)
        if existing.amount_cents != amount_cents:
            raise AttemptAmountDiffers(existing)
        return existing

    def _find(self, token, attempt_id):
        if token is None and attempt_id is None:
            return None  # a Checkout Session's attempt: found by its buyer and album (BuyerHasOne)
        if token is not None:
            return self.db.scalars(BY_TOKEN, {"token": token}).one_or_none()
        return self.db.scalars(BY_ATTEMPT, {"attempt_id": attempt_id}).one_or_none()

    def _insert(self, album, *, email, user, token, attempt_id, browser_key=None, tax_behavior=None, amount_cents):
        try:
            # Only what is known to fail: a sum Stripe's unit cannot express, or one under its
            # published minimum (the owner's form refuses both; an older price may still be either).
            # A free download (0) is never sent to Stripe.
            if amount_cents != 0 or not album.name_your_price:
                to_stripe_amount(amount_cents, album.currency)
                minimum = minimum_charge(album.currency)
                if minimum is not None and amount_cents < minimum:
                    raise StripeAmountError(f"under Stripe's minimum of {minimum}")
        except StripeAmountError as error:
            log.error("album %s cannot be sold at %s %s: %s", album.id, amount_cents, album.currency, error)
            raise PriceNotChargeable(str(error)) from error
        key = buyer_album_key(album.id, email)
        owner = user if user is not None else self._confirmed_account(email)
        purchase = Purchase(
            album_id=album.id,
            user_id=owner.id if owner is not None else None,
            email=email,
            # status: pending, the model's default (settlement.py makes every later change)
            # The database's price as the page showed it, or (pay what you want) the buyer's own
            # amount, at least the album's minimum now (both checked by the view: shown_price.py).
            amount_cents=amount_cents,
            minimum_cents=album.minimum_cents,
            currency=album.currency,
            description=f"{album.title} by {album.artist}"[:500],
            buyer_album_key=key,
            checkout_token=token,
            attempt_id=attempt_id,
            browser_key=browser_key,
            # Stripe Tax (checkout_session only): fixed now, so a retried session sends the same.
            tax_behavior=tax_behavior,
        )
        self.db.add(purchase)
        try:
            self.db.flush()
            purchase_id, amount, currency = purchase.id, purchase.amount_cents, purchase.currency
            self.settlement.commit()
        except IntegrityError:
            # Another request committed first: the same token (a double click), or another checkout
            # of this album by this buyer. The database decided; look at what it kept.
            self.settlement.start_over()
            existing = self._find(token, attempt_id)
            if existing is not None:
                return existing
            holder = self.db.scalars(select(Purchase).where(Purchase.buyer_album_key == key)).one_or_none()
            if holder is None:
                return None  # it was settled meanwhile and let go of the key: try again
            raise BuyerHasOne(holder) from None
        log_state(purchase_id, None, PurchaseStatus.PENDING, amount_cents=amount, currency=currency)
        return self.db.get(Purchase, purchase_id)

    def _confirmed_account(self, email):
        """The account whose owner has confirmed ``email``: a guest purchase with it is theirs.
        Before confirmation it is nobody's, so typing someone's address claims nothing."""
        return self.db.scalars(CONFIRMED_ACCOUNT, {"email": normalize_email(email)}).one_or_none()
