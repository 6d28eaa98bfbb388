"""The owner's purchases: the filtered list (and its CSV export, streamed), one purchase, a refund."""

import csv
import io

from pyramid.httpexceptions import HTTPBadRequest, HTTPConflict, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config

from ...caching import NO_STORE
from ...forms import ConfirmForm, PurchaseFilterForm
from ...models import PurchaseStatus
from ...money import format_amount_input
from ...parsing import page_number
from ...services.audit import IAuditLog
from ...services.payments import IPaymentService, PaymentUnavailable, RefundRefused
from ...services.purchases import IPurchaseService, NotRefundable
from ...services.reports import IReports, PurchaseFilters
from . import PAGE_SIZE, TEMPLATES, page_count, page_links

CSV_COLUMNS = (
    "id",
    "reference",
    "created_at",
    "paid_at",
    "status",
    "album_slug",
    "album_title",
    "email",
    "amount",
    "tax",
    "charged",
    "refunded",
    "net",
    "currency",
    "stripe_charge_id",
    "refunded_at",
    # Pay what you want: the album's minimum when the buyer chose the amount, and how much more they
    # chose (both empty for a fixed price).
    "minimum",
    "over_minimum",
)


def _filter_form(request):
    return PurchaseFilterForm(request.GET, albums=request.find_service(IReports).album_choices())


@view_config(route_name="admin_purchases", renderer=TEMPLATES + "purchases.pt", permission="admin")
def purchase_list(context, request):
    form = _filter_form(request)
    page = page_number(request)
    if not form.validate():
        request.response.status = 400
        return {"form": form, "purchases": [], "total": 0, "page": 1, "pages": 1, "pager": {}, "csv_url": None}
    query = {key: request.GET.get(key, "") for key in ("status", "album", "email", "date_from", "date_to")}
    purchases, total = request.find_service(IReports).purchases(
        PurchaseFilters(**form.filter_values()), page=page, page_size=PAGE_SIZE
    )
    pages = page_count(total, page)
    return {
        "form": form,
        "purchases": purchases,
        "total": total,
        "page": page,
        "pages": pages,
        "pager": page_links(request, "admin_purchases", page, pages, query),
        "csv_url": request.route_path("admin_purchases_csv", _query={k: v for k, v in query.items() if v}),
    }


@view_config(route_name="admin_purchases_csv", permission="admin", cache_control=NO_STORE)
def purchase_csv(context, request):
    """The filtered list as CSV, streamed: rows are read in batches and written as they are sent."""
    form = _filter_form(request)
    if not form.validate():
        raise HTTPBadRequest(
            "The filters are not valid: " + "; ".join(f"{name}: {errors[0]}" for name, errors in form.errors.items())
        )
    rows = request.find_service(IReports).purchase_rows(PurchaseFilters(**form.filter_values()))
    response = Response(app_iter=_csv_lines(rows), content_type="text/csv", charset="utf-8")
    response.content_disposition = 'attachment; filename="purchases.csv"'
    return response


def _chosen(row):
    """The CSV's pay-what-you-want cells: the minimum and the amount over it, or two empty cells."""
    if row.minimum_cents is None:
        return "", ""
    return (
        format_amount_input(row.minimum_cents, row.currency),
        format_amount_input(row.amount_cents - row.minimum_cents, row.currency),
    )


def _csv_lines(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush():
        data = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return data

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for n, row in enumerate(rows, start=1):
        money = [
            format_amount_input(cents, row.currency)
            for cents in (
                row.amount_cents,
                row.tax_cents,
                row.charged_cents,
                row.amount_refunded_cents,
                row.net_cents,
            )
        ]
        writer.writerow(
            [
                _cell(value)
                for value in (
                    row.id,
                    row.reference,
                    _iso(row.created_at),
                    _iso(row.paid_at),
                    row.status,
                    row.slug,
                    row.title,
                    row.email,
                    *money,
                    row.currency,
                    row.stripe_charge_id or "",
                    _iso(row.refunded_at),
                    *_chosen(row),
                )
            ]
        )
        if n % 200 == 0:
            yield flush()
    yield flush()


def _iso(value):
    return value.isoformat() if value else ""


def _cell(value):
    """Text a spreadsheet would run as a formula (=, +, -, @ first) is quoted with an apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@view_config(route_name="admin_purchase", renderer=TEMPLATES + "purchase.pt", permission="admin")
def purchase_detail(context, request):
    purchase = context.purchase
    payments = request.find_service(IPaymentService)
    stripe_id = purchase.stripe_charge_id or purchase.stripe_payment_intent_id
    return {
        "purchase": purchase,
        "album": purchase.album,
        "stripe_id": stripe_id,
        "stripe_url": payments.dashboard_url(stripe_id) if stripe_id else None,
        "history": request.find_service(IAuditLog).for_purchase(purchase.id),
        "refundable": purchase.status == PurchaseStatus.PAID and bool(stripe_id),
    }


@view_config(
    route_name="admin_purchase_refund", renderer=TEMPLATES + "refund.pt", permission="admin", request_method="GET"
)
def refund_confirm(context, request):
    return {"purchase": context.purchase, "album": context.purchase.album, "error": None}


@view_config(
    route_name="admin_purchase_refund",
    renderer=TEMPLATES + "refund.pt",
    permission="admin",
    request_method="POST",
    require_csrf=True,
)
def refund(context, request):
    purchase = context.purchase
    if not ConfirmForm(request.POST).confirmed("refund"):
        return HTTPSeeOther(request.route_url("admin_purchase_refund", id=purchase.id))
    was_refunded = purchase.status == PurchaseStatus.REFUNDED
    try:
        request.find_service(IPurchaseService).refund_purchase(purchase, actor=request.user)
    except (NotRefundable, RefundRefused) as refused:
        request.response.status = HTTPConflict.code
        return {"purchase": purchase, "album": purchase.album, "error": str(refused)}
    except PaymentUnavailable as unavailable:
        request.response.status = 503
        request.response.headers["Retry-After"] = "30"
        return {
            "purchase": purchase,
            "album": purchase.album,
            "error": f"{unavailable} Nothing was changed here; trying again is safe (it can never refund twice).",
        }
    request.session.flash(
        "This purchase was refunded already." if was_refunded else "Refunded in full. The buyer's download has ended."
    )
    return HTTPSeeOther(request.route_url("admin_purchase", id=purchase.id))
