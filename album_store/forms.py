"""The account forms (WTForms). Pyramid checks the CSRF token of every POST, so these don't."""
import re

from wtforms import EmailField, Form, HiddenField, PasswordField
from wtforms.validators import EqualTo, InputRequired, Length, Regexp, ValidationError

from .services.accounts import MAX_PASSWORD_LENGTH, password_problems

# No control characters either: PostgreSQL refuses a NUL in text, and they belong in no address.
EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]{2,}$")
EMAIL_VALIDATORS = [
    InputRequired("Enter your email address."),
    Length(max=254, message="That address is too long."),
    Regexp(EMAIL, message="That does not look like an email address."),
]


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


class LoginForm(Form):
    email = EmailField("Email", EMAIL_VALIDATORS, filters=[_strip])
    password = PasswordField("Password", [InputRequired("Enter your password."), Length(max=MAX_PASSWORD_LENGTH)])
    next = HiddenField()


class RegisterForm(Form):
    email = EmailField("Email", EMAIL_VALIDATORS, filters=[_strip])
    password = PasswordField("Password", [InputRequired("Choose a password."), NewPassword(words=("album", "store", "albumstore"))])
    confirm = PasswordField("Password again", [EqualTo("password", "The two passwords differ.")])
    next = HiddenField()


class ResetRequestForm(Form):
    email = EmailField("Email", EMAIL_VALIDATORS, filters=[_strip])


class ResetPasswordForm(Form):
    password = PasswordField("New password", [InputRequired("Choose a password."), NewPassword(words=("album", "store", "albumstore"))])
    confirm = PasswordField("New password again", [EqualTo("password", "The two passwords differ.")])

    def __init__(self, formdata=None, *, account_email="", **kwargs):
        super().__init__(formdata, **kwargs)
        self.account_email = account_email
