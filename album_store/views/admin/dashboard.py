"""The owner's dashboard: revenue and sales, a chart of the last 90 days, top albums, latest purchases."""

from pyramid.view import view_config

from ...charts import daily_revenue_chart
from ...services.reports import IReports
from . import TEMPLATES


@view_config(route_name="admin_dashboard", renderer=TEMPLATES + "dashboard.pt", permission="admin")
def dashboard(context, request):
    figures = request.find_service(IReports).dashboard()
    charts = [(entry, daily_revenue_chart(entry.daily, entry.currency)) for entry in figures.currencies]
    return {"figures": figures, "charts": charts}
