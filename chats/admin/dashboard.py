"""The admin dashboard: charts of messaging and consent over a date range (staff only).

The view only parses the range and hands chats.compliance.dashboard's numbers
to the template as JSON; Chart.js (vendored, chats/static/vendor/chartjs/) draws them.
"""
import datetime

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone

from chats.compliance.dashboard import dashboard_data

DEFAULT_DAYS = 30
MAX_DAYS = 366


class DateRangeForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        today = timezone.now().date()
        end = cleaned.get("end") or today
        start = cleaned.get("start") or end - datetime.timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise forms.ValidationError("The start must not come after the end.")
        if (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        cleaned["start"], cleaned["end"] = start, end
        return cleaned


def _default_range() -> tuple[datetime.date, datetime.date]:
    today = timezone.now().date()
    return today - datetime.timedelta(days=DEFAULT_DAYS - 1), today


def dashboard_view(request):
    """GET /admin/dashboard/?start=YYYY-MM-DD&end=YYYY-MM-DD (inclusive days, UTC; default the last 30 days)."""
    form = DateRangeForm(request.GET or None)
    if form.is_bound and form.is_valid():
        first, last = form.cleaned_data["start"], form.cleaned_data["end"]
    else:
        first, last = _default_range()
        if not form.is_bound:
            form = DateRangeForm(initial={"start": first, "end": last})
    start = datetime.datetime.combine(first, datetime.time.min, tzinfo=datetime.UTC)
    end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC)
    context = {
        **admin.site.each_context(request),
        "title": "Messaging dashboard",
        "form": form,
        "first": first,
        "last": last,
        "charts": dashboard_data(start=start, end=end),
    }
    return TemplateResponse(request, "admin/rapport_dashboard.html", context)


# The default admin site keeps its own index, extended with a link to the dashboard.
admin.site.index_template = "admin/rapport_index.html"
