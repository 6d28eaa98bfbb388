"""Buyer accounts: register, sign in and out, confirm the address, choose a new password.

Thin: the forms are WTForms (``forms.py``), the work is ``IAccountService``, mail goes through
``IMailService`` after the commit. Every valid POST ends in a redirect.
"""

from pyramid.httpexceptions import HTTPBadRequest, HTTPGone, HTTPSeeOther
from pyramid.view import view_config

from ..forms import LOCAL_PATH, LoginForm, RegisterForm, ResetPasswordForm, ResetRequestForm
from ..security import sign_in, sign_out
from ..services.accounts import EmailTaken, IAccountService, LoginThrottled
from ..services.mail import IMailService
from ..services.tokens import LinkExpired, LinkInvalid

TEMPLATES = "album_store:templates/account/"


def safe_next(request, value, default="library"):
    """Where to go after signing in: a path on this site only, never another host."""
    if value and LOCAL_PATH.fullmatch(value):
        return request.application_url + value
    return request.route_url(default)


def _form_page(request, form, status=200, **values):
    request.response.status = status
    return {"form": form, **values}


@view_config(route_name="account_register", renderer=TEMPLATES + "register.pt", request_method="GET")
@view_config(
    route_name="account_register", renderer=TEMPLATES + "register.pt", request_method="POST", require_csrf=True
)
def register(request):
    if request.user is not None and request.method == "GET":
        return HTTPSeeOther(request.route_url("library"))
    form = RegisterForm(request.POST if request.method == "POST" else None, next=request.GET.get("next", ""))
    if request.method != "POST" or not form.validate():
        return _form_page(request, form, 400 if request.method == "POST" else 200)
    accounts = request.find_service(IAccountService)
    try:
        user = accounts.register(form.email.data, form.password.data)
    except EmailTaken:
        form.email.errors.append(
            "An account already uses this address. Sign in, or choose a new password if you forgot it."
        )
        return _form_page(request, form, 409)
    request.find_service(IMailService).queue_confirmation(user, accounts.confirmation_token(user))
    sign_in(request, user)
    request.session.flash(
        f"Welcome! We sent a link to {user.email}. Follow it to confirm the address: albums you bought "
        "with it as a guest then join your library."
    )
    return HTTPSeeOther(safe_next(request, form.next.data))


@view_config(route_name="account_login", renderer=TEMPLATES + "login.pt", request_method="GET")
@view_config(route_name="account_login", renderer=TEMPLATES + "login.pt", request_method="POST", require_csrf=True)
def login(request):
    form = LoginForm(request.POST if request.method == "POST" else None, next=request.GET.get("next", ""))
    if request.method != "POST":
        return _form_page(request, form)
    if not form.validate():
        return _form_page(request, form, 400)
    try:
        user = request.find_service(IAccountService).authenticate(
            form.email.data, form.password.data, request.client_addr
        )
    except LoginThrottled as throttled:
        request.response.headers["Retry-After"] = str(throttled.retry_after)
        return _form_page(
            request,
            form,
            429,
            error=(
                "Too many failed sign-ins. For your safety, please wait "
                f"{_wait_words(throttled.retry_after)} and try again, or choose a new password."
            ),
        )
    if user is None:
        # Returned, not raised: pyramid_tm commits, so the slowdown counts this failed attempt.
        return _form_page(request, form, 401, error="That email and password do not match an account.")
    sign_in(request, user)
    return HTTPSeeOther(safe_next(request, form.next.data))


def _wait_words(seconds):
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@view_config(route_name="account_logout", renderer=TEMPLATES + "logout.pt", request_method="GET")
def logout_page(request):
    if request.user is None:
        return HTTPSeeOther(request.route_url("home"))
    return {}


@view_config(route_name="account_logout", request_method="POST", require_csrf=True)
def logout(request):
    everywhere = bool(request.POST.get("everywhere"))
    sign_out(request, everywhere=everywhere)
    request.session.flash("You are signed out on every device." if everywhere else "You are signed out.")
    return HTTPSeeOther(request.route_url("home"))


@view_config(route_name="account_confirm", request_method="GET")
def confirm_email(request):
    accounts = request.find_service(IAccountService)
    try:
        user, linked = accounts.confirm_email(request.matchdict["token"])
    except LinkExpired:
        raise HTTPGone("This confirmation link has expired. Sign in and ask for a new one from your library.") from None
    except LinkInvalid:
        raise HTTPBadRequest(
            "This confirmation link is not valid. Sign in and ask for a new one from your library."
        ) from None
    added = f" {linked} album{'s' if linked != 1 else ''} you bought with it joined your library." if linked else ""
    request.session.flash(f"Thank you: {user.email} is confirmed.{added}")
    if request.user is not None and request.user.id == user.id:
        return HTTPSeeOther(request.route_url("library"))
    return HTTPSeeOther(request.route_url("account_login", _query={"next": request.route_path("library")}))


@view_config(route_name="account_confirm_resend", request_method="POST", require_csrf=True, permission="library")
def resend_confirmation(request):
    user = request.user
    if not user.email_confirmed:
        accounts = request.find_service(IAccountService)
        request.find_service(IMailService).queue_confirmation(user, accounts.confirmation_token(user))
        request.session.flash(f"We sent a new confirmation link to {user.email}.")
    return HTTPSeeOther(request.route_url("library"))


@view_config(route_name="account_reset_request", renderer=TEMPLATES + "reset_request.pt", request_method="GET")
@view_config(
    route_name="account_reset_request",
    renderer=TEMPLATES + "reset_request.pt",
    request_method="POST",
    require_csrf=True,
)
def reset_request(request):
    form = ResetRequestForm(request.POST if request.method == "POST" else None)
    if request.method != "POST" or not form.validate():
        return _form_page(request, form, 400 if request.method == "POST" else 200)
    accounts = request.find_service(IAccountService)
    user = accounts.find_by_email(form.email.data)
    if user is not None:
        request.find_service(IMailService).queue_password_reset(user, accounts.reset_token(user))
    # The same answer whether or not an account has the address.
    request.session.flash(
        f"If an account uses {form.email.data.lower()}, we have emailed it a link to choose a new password. "
        "The link works once, within an hour."
    )
    return HTTPSeeOther(request.route_url("account_login"))


@view_config(route_name="account_reset", renderer=TEMPLATES + "reset.pt", request_method="GET")
@view_config(route_name="account_reset", renderer=TEMPLATES + "reset.pt", request_method="POST", require_csrf=True)
def reset_password(request):
    # The token is in the address: don't hand it to anyone in a Referer.
    request.response.headers["Referrer-Policy"] = "no-referrer"
    accounts = request.find_service(IAccountService)
    try:
        user = accounts.user_for_reset(request.matchdict["token"])
    except LinkInvalid:  # expired, altered, or already used
        raise HTTPGone(
            "This link to choose a new password has expired or was already used. Please ask for a new one."
        ) from None
    form = ResetPasswordForm(request.POST if request.method == "POST" else None, account_email=user.email)
    if request.method != "POST" or not form.validate():
        return _form_page(request, form, 400 if request.method == "POST" else 200, email=user.email)
    accounts.reset_password(user, form.password.data)
    sign_in(request, user)
    request.session.flash("Your new password is set, and you are signed in.")
    return HTTPSeeOther(request.route_url("library"))
