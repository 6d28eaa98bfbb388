"""The site's forms (WTForms): the checkout forms (the checkout_js POST and the JSON starts), the
buyer's account forms and the store owner's. Pyramid checks the CSRF token of every POST, so these
don't."""

import re
from datetime import date

from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    FileField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)

from .models import PurchaseStatus
from .money import InvalidAmount, format_amount_input, parse_money
from .parsing import whole_number
from .pricing import check_album_pricing
from .services.accounts import MAX_PASSWORD_LENGTH, password_problems
from .services.catalog import ALBUM_STATUSES
from .stripe_amounts import check_chargeable

# No control characters either: PostgreSQL refuses a NUL in text, and they belong in no address.
EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]{2,}$")
EMAIL_VALIDATORS = [
    InputRequired("Enter your email address."),
    Length(max=254, message="That address is too long."),
    Regexp(EMAIL, message="That does not look like an email address."),
]

# A path on this site (the ``next`` of the sign-in forms): one leading slash, then printable ASCII
# with no backslash (browsers read "/\\host" as "//host"), so neither another host nor a header
# break can be smuggled in.
LOCAL_PATH = re.compile(r"/(?![/\\])[!-\[\]-~]*")

#: A token legacy Checkout makes (``tok_…``; the stand-in's and Stripe's test tokens alike).
CARD_TOKEN = re.compile(r"^[A-Za-z0-9_]{3,255}$")
#: An attempt id the server made (``services.purchases.new_attempt_id``).
ATTEMPT_ID = re.compile(r"^att_[A-Za-z0-9_-]{16,60}$")


def valid_email(value):
    """The one rule for a buyer's address: a string that, stripped, looks like an address and fits
    the column (254 characters)."""
    if not isinstance(value, str):
        return False
    value = value.strip()
    return len(value) <= 254 and EMAIL.match(value) is not None


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class NewPassword:
    """Long enough and not a common or easily guessed password (``password_problems``)."""

    def __init__(self, words=()):
        self.words = words

    def __call__(self, form, field):
        email = form.email.data if "email" in form else getattr(form, "account_email", "")
        problems = password_problems(field.data or "", email=email or "", words=self.words)
        if problems:
            raise ValidationError(problems[0])


def _text(value):
    """A field as text, stripped. Anything but a string (what a JSON body may hold: a number, a list)
    is no text at all: a list of one address is not an address."""
    return value.strip() if isinstance(value, str) else ""


class ValidEmail:
    """:func:`valid_email`, with the message this form gives."""

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        if not valid_email(field.data):
            raise StopValidation(self.message)


# --- the checkout forms --------------------------------------------------------------------------
class CheckoutForm(Form):
    """A payment form: fed ``request.POST`` or, for a JSON body, ``data=`` its object. A signed-in
    buyer pays under their account's address, whatever the form says (``user``)."""

    email_field = "email"

    def __init__(self, formdata=None, *, user=None, **kwargs):
        super().__init__(formdata, **kwargs)
        if user is not None:
            self[self.email_field].data = user.email

    @property
    def buyer_email(self):
        return self[self.email_field].data

    def refusal(self):
        """Why the form is refused (the first field's first error), or None when it is valid."""
        if self.validate():
            return None
        return next(iter(self.errors.values()))[0]

    def refused_field(self):
        return next(iter(self.errors), None)


class CardTokenForm(CheckoutForm):
    """The checkout_js POST: legacy Checkout's ``stripeToken`` and ``stripeEmail``."""

    email_field = "stripeEmail"
    stripeToken = StringField(
        filters=[_text],
        validators=[
            DataRequired(
                "The payment form arrived without a card token, so nothing was charged. "
                "Please use the Buy button again."
            ),
            Regexp(CARD_TOKEN, message="The card token is not one Stripe makes, so nothing was charged."),
        ],
    )
    stripeEmail = StringField(
        filters=[_text],
        validators=[ValidEmail("The payment form needs a valid email address for your receipt; nothing was charged.")],
    )


class HostedCheckoutForm(CheckoutForm):
    """The checkout_session Buy form: the guest's ``email``."""

    email = StringField(
        filters=[_text],
        validators=[ValidEmail("Please enter a valid email address for your receipt; nothing was charged.")],
    )


class PaymentStartForm(CheckoutForm):
    """The payment_intents start (card-payment.js's JSON): the page's ``attempt_id`` and ``email``."""

    attempt_id = StringField(
        filters=[lambda value: value if isinstance(value, str) else ""],
        validators=[
            Regexp(
                ATTEMPT_ID, message="This payment form is out of date, so nothing was charged. Please reload the page."
            )
        ],
    )
    email = StringField(
        filters=[_text], validators=[ValidEmail("Please enter a valid email address for your receipt.")]
    )


class LoginForm(Form):
    email = EmailField("Email", EMAIL_VALIDATORS, filters=[_strip])
    password = PasswordField("Password", [InputRequired("Enter your password."), Length(max=MAX_PASSWORD_LENGTH)])
    next = HiddenField()


class RegisterForm(Form):
    email = EmailField("Email", EMAIL_VALIDATORS, filters=[_strip])
    password = PasswordField(
        "Password", [InputRequired("Choose a password."), NewPassword(words=("album", "store", "albumstore"))]
    )
    confirm = PasswordField("Password again", [EqualTo("password", "The two passwords differ.")])
    next = HiddenField()


class ResetRequestForm(Form):
    email = EmailField("Email", EMAIL_VALIDATORS, filters=[_strip])


class ResetPasswordForm(Form):
    password = PasswordField(
        "New password", [InputRequired("Choose a password."), NewPassword(words=("album", "store", "albumstore"))]
    )
    confirm = PasswordField("New password again", [EqualTo("password", "The two passwords differ.")])

    def __init__(self, formdata=None, *, account_email="", **kwargs):
        super().__init__(formdata, **kwargs)
        self.account_email = account_email


# --- the store owner's forms -------------------------------------------------------------------
#: Currencies the owner may price an album in (Stripe takes them all, and each has a row in
#: ``stripe_amounts.MINIMUM_CHARGE``); the store's own is added, and refused at the price when Stripe
#: publishes no minimum for it.
CURRENCIES = ("usd", "eur", "gbp", "cad", "aud", "nzd", "chf", "sek", "nok", "dkk", "pln", "czk", "jpy")
DURATION = re.compile(r"(?:(?P<h>[0-9]{1,2}):(?P<m2>[0-5][0-9])|(?P<m>[0-9]{1,3})):(?P<s>[0-5][0-9])")
NO_CONTROL = Regexp(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$", message="Remove the control characters.")
#: A one-line field (a title, a name: what reaches a mail's Subject, a ZIP's file names, the tags):
#: no control characters, no line or paragraph breaks of any kind either.
ONE_LINE = Regexp(
    r"^[^\x00-\x1f\x7f\x85\u2028\u2029]*$", message="Use one line, without line breaks or control characters."
)


def parse_duration(text):
    """``"3:45"`` → 225, ``"1:02:03"`` → 3723; None for anything else (seconds must be 00–59)."""
    match = DURATION.fullmatch((text or "").strip())
    if not match:
        return None
    if match["h"] is not None:
        return int(match["h"]) * 3600 + int(match["m2"]) * 60 + int(match["s"])
    return int(match["m"]) * 60 + int(match["s"])


class AlbumForm(Form):
    """An album's details. The price is typed in the currency's major unit ("12.34") and parsed by
    ``money.parse_money`` into ``price_cents``."""

    title = StringField(
        "Title", [InputRequired("Enter the album's title."), Length(max=200), ONE_LINE], filters=[_strip]
    )
    artist = StringField("Artist", [InputRequired("Enter the artist."), Length(max=200), ONE_LINE], filters=[_strip])
    year = IntegerField("Year", [Optional(), NumberRange(1900, 2100, "Enter a year from 1900 to 2100.")])
    currency = SelectField("Currency")
    pricing = SelectField(
        "Pricing",
        choices=[SelectChoice("fixed", "Fixed price"), SelectChoice("choose", "Name your price (pay what you want)")],
        default="fixed",
    )
    price = StringField(
        "Price",
        filters=[_strip],
        description="Name your price: the price is the suggested amount the album page prefills.",
    )
    minimum = StringField(
        "Minimum (pay what you want)",
        filters=[_strip],
        description="The least a buyer may pay: 0 lets buyers take the album free (they confirm "
        "their email). Only for name your price.",
    )
    description = TextAreaField("Description", [Optional(), Length(max=5000), NO_CONTROL], filters=[_strip])
    slug = StringField(
        "Address (slug)",
        [
            Optional(),
            Length(max=120),
            Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", message="Use lower-case letters, digits and single dashes only."),
        ],
        filters=[lambda value: value.strip().lower() if isinstance(value, str) else value],
        description="The album's address is /albums/… — left empty, it is made from the title.",
    )

    def __init__(self, formdata=None, *, store_currency="usd", **kwargs):
        super().__init__(formdata, **kwargs)
        currencies = CURRENCIES if store_currency in CURRENCIES else (store_currency, *CURRENCIES)
        self.currency.choices = [SelectChoice(code, code.upper()) for code in currencies]
        self.price_cents = None
        self.minimum_cents = None  # None: a fixed price

    @staticmethod
    def price_input(album):
        """The album's price as the form shows it: ``"12.34"``."""
        return format_amount_input(album.price_cents, album.currency)

    @staticmethod
    def pricing_data(album):
        """The form's pricing fields for ``album``."""
        if not album.name_your_price:
            return {"pricing": "fixed", "minimum": ""}
        return {"pricing": "choose", "minimum": format_amount_input(album.minimum_cents, album.currency)}

    def validate_minimum(self, field):
        """Name your price: 0 or more (0 allows free downloads), Stripe's minimum charge when not 0, and
        not above the suggestion (``pricing.check_album_pricing``)."""
        self.minimum_cents = None
        if self.pricing.data != "choose":
            return
        currency = self.currency.data or "usd"
        try:
            minimum = parse_money(field.data, currency, allow_zero=True, noun="minimum")
        except InvalidAmount as error:
            raise ValidationError(str(error)) from error
        if self.price_cents is not None:
            problem = check_album_pricing(suggested=self.price_cents, minimum=minimum, currency=currency)
            if problem:
                raise ValidationError(problem)
        self.minimum_cents = minimum

    def validate_price(self, field):
        try:
            currency = self.currency.data or "usd"
            self.price_cents = parse_money(field.data, currency)
            check_chargeable(self.price_cents, currency)  # Stripe's unit and minimum charge
        except InvalidAmount as error:
            self.price_cents = None
            raise ValidationError(str(error)) from error


class TrackRowForm(Form):
    id = HiddenField(filters=[whole_number])
    position = IntegerField("No.", [Optional(), NumberRange(1, 999)])
    title = StringField("Title", [Length(max=200), ONE_LINE], filters=[_strip])
    duration = StringField("Length", filters=[_strip], description="m:ss")
    remove = BooleanField("Remove")

    @property
    def is_blank(self):
        """A new row left empty: ignored."""
        return self.id.data is None and not self.title.data and not self.duration.data

    def validate_title(self, field):
        if not self.is_blank and not self.remove.data and not field.data:
            raise ValidationError("Enter the track's title (or tick Remove).")

    def validate_duration(self, field):
        if self.is_blank or self.remove.data:
            self.seconds = None
            return
        self.seconds = parse_duration(field.data)
        if self.seconds is None:
            raise ValidationError("Type the length as m:ss, e.g. 3:45.")


class TracksForm(Form):
    """Every track of an album in one form: edit, remove, add (the empty rows), reorder (the numbers,
    or the ↑ ↓ buttons, posted as ``move=up-N`` / ``move=down-N`` for row N)."""

    tracks = FieldList(FormField(TrackRowForm), max_entries=300)
    move = HiddenField()

    def requested_move(self):
        match = re.fullmatch(r"(up|down)-([0-9]{1,3})", self.move.data or "")
        return (int(match[2]), -1 if match[1] == "up" else 1) if match else None


class UploadRequired:
    """A file was chosen (the browser sends an empty string for an empty file input)."""

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        if not hasattr(field.data, "file"):
            raise StopValidation(self.message)


class CoverForm(Form):
    cover = FileField(
        "Cover image",
        [UploadRequired("Choose an image file (JPEG, PNG or WebP).")],
        description="JPEG, PNG or WebP, square is best, at least 300 × 300 pixels.",
    )


class DownloadFileForm(Form):
    file = FileField(
        "Download file",
        [UploadRequired("Choose the ZIP file buyers will download.")],
        description="A ZIP archive of the album's tracks.",
    )


class TrackAudioForm(Form):
    """A track's audio on the album editor: a new file, where its preview starts, or another try."""

    audio = FileField("Audio file", description="WAV, FLAC, AIFF or MP3; lossless files give buyers every format.")
    preview_start = IntegerField(
        "Preview starts at (seconds)",
        [Optional(), NumberRange(min=0, max=24 * 3600, message="Give the second the preview starts at, from 0.")],
        default=0,
    )
    retry = HiddenField()


class AlbumSearchForm(Form):
    """The owner's album list: search and status (a GET form)."""

    q = StringField("Search", [Optional(), Length(max=200), NO_CONTROL], filters=[_strip])
    status = SelectField(
        "Show", choices=[SelectChoice(value, label) for value, label in ALBUM_STATUSES.items()], default=""
    )


def date_within(first=date(1970, 1, 1), last=date(9998, 12, 31)):
    """A date the store can search by (a day after ``last`` still exists: ``date.max`` overflows)."""

    def check(form, field):
        if field.data is not None and not first <= field.data <= last:
            raise ValidationError(f"Give a date from {first.year} to {last.year}.")

    return check


class PurchaseFilterForm(Form):
    """The purchases list's filters (a GET form)."""

    status = SelectField(
        "Status",
        choices=[SelectChoice("", "Any status")] + [SelectChoice(s, s.capitalize()) for s in PurchaseStatus.ALL],
        default="",
    )
    album = SelectField("Album", default="")
    email = StringField("Email contains", [Optional(), Length(max=254), NO_CONTROL], filters=[_strip])
    date_from = DateField("From", [Optional(), date_within()])
    date_to = DateField("To", [Optional(), date_within()])

    def __init__(self, formdata=None, *, albums=(), **kwargs):
        super().__init__(formdata, **kwargs)
        self.album.choices = [SelectChoice("", "Any album")] + [
            SelectChoice(str(album_id), title) for album_id, title in albums
        ]

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end comes before the start.")

    def filter_values(self):
        return {
            "status": self.status.data or "",
            "album_id": int(self.album.data) if self.album.data else None,
            "email": self.email.data or "",
            "date_from": self.date_from.data,
            "date_to": self.date_to.data,
        }


class ConfirmForm(Form):
    """A step that asks before doing something that cannot be undone (a refund, a deletion)."""

    confirm = HiddenField()

    def confirmed(self, word):
        return self.confirm.data == word
