"""The admin dashboard: charts of messaging and consent over a date range, and messages by Meta's pricing
category over a range of months (staff only).

The view only parses the ranges and hands chats.compliance.dashboard's numbers to the template (as JSON
for the charts, and as tables); Chart.js (vendored, chats/static/vendor/chartjs/) draws them.
"""
import datetime

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone

from chats.compliance.dashboard import (dashboard_data, month_bounds, pricing_by_month, pricing_by_rep,
                                        safety_cases_per_week)
from chats.compliance.rollup import coverage

DEFAULT_DAYS = 30
MAX_DAYS = 366
DEFAULT_MONTHS = 12
MAX_MONTHS = 24
MONTH = forms.DateInput(format="%Y-%m", attrs={"type": "month", "pattern": r"\d{4}-\d{2}", "placeholder": "YYYY-MM"})


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


class PricingRangeForm(forms.Form):
    """Months (YYYY-MM, UTC) for the pricing tables; `rep_month` picks the month of the per-rep table."""

    pricing_from = forms.DateField(required=False, input_formats=["%Y-%m"], widget=MONTH, label="From month")
    pricing_to = forms.DateField(required=False, input_formats=["%Y-%m"], widget=MONTH, label="To month")
    rep_month = forms.DateField(required=False, input_formats=["%Y-%m"], widget=MONTH, label="Per rep, month")

    def clean(self):
        cleaned = super().clean()
        last = cleaned.get("pricing_to") or timezone.now().date().replace(day=1)
        first = cleaned.get("pricing_from") or _months_back(last, DEFAULT_MONTHS - 1)
        if first > last:
            raise forms.ValidationError("The first month must not come after the last.")
        if _months_back(last, MAX_MONTHS - 1) > first:
            raise forms.ValidationError(f"Choose at most {MAX_MONTHS} months.")
        rep_month = cleaned.get("rep_month") or last
        if not first <= rep_month <= last:
            raise forms.ValidationError("The per-rep month must be one of the months shown.")
        cleaned["pricing_from"], cleaned["pricing_to"], cleaned["rep_month"] = first, last, rep_month
        return cleaned


def _months_back(month: datetime.date, n: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 - n
    return datetime.date(index // 12, index % 12 + 1, 1)


def _clean_or_default(form_class, request, fields: tuple[str, ...]):
    """(form to show, cleaned values): the request's values when valid, else the defaults (and the form's errors)."""
    form = form_class({k: request.GET[k] for k in fields if request.GET.get(k)})
    if form.is_valid():
        return form_class(initial=form.cleaned_data), form.cleaned_data
    defaults = form_class({})
    defaults.is_valid()
    return form, defaults.cleaned_data


def _month_rows(pricing: dict) -> list[dict]:
    """The by-month numbers as table rows: one per month, a count per category."""
    return [{"month": month, "counts": [pricing["counts"][c][i] for c in pricing["categories"]],
             "total": pricing["total"][i], "billable": pricing["billable"][i], "free": pricing["free"][i]}
            for i, month in enumerate(pricing["labels"])]


def dashboard_view(request):
    """GET /admin/dashboard/?start=YYYY-MM-DD&end=YYYY-MM-DD (inclusive days, UTC; default the last 30 days)
    &pricing_from=YYYY-MM&pricing_to=YYYY-MM&rep_month=YYYY-MM (UTC months; default the last 12, per rep the last)."""
    form, days = _clean_or_default(DateRangeForm, request, ("start", "end"))
    pricing_form, months = _clean_or_default(PricingRangeForm, request, ("pricing_from", "pricing_to", "rep_month"))
    first, last = days["start"], days["end"]
    start = datetime.datetime.combine(first, datetime.time.min, tzinfo=datetime.UTC)
    end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC)
    months_start, months_end = month_bounds(months["pricing_from"], months["pricing_to"])
    rep_start, rep_end = month_bounds(months["rep_month"], months["rep_month"])
    # one coverage query for both ranges; each part of the page reads its own slice of it
    cover = coverage(start=min(start, months_start), end=max(end, months_end))
    pricing = pricing_by_month(start=months_start, end=months_end, cover=cover.within(start=months_start, end=months_end))
    context = {
        **admin.site.each_context(request),
        "title": "Messaging dashboard",
        "form": form,
        "pricing_form": pricing_form,
        "first": first,
        "last": last,
        "charts": {
            **dashboard_data(start=start, end=end, cover=cover.within(start=start, end=end)),
            "pricing": pricing,
        },
        "pricing_rows": _month_rows(pricing),
        "rep_month": months["rep_month"],
        "pricing_reps": pricing_by_rep(start=rep_start, end=rep_end, cover=cover.within(start=rep_start, end=rep_end)),
        "safety_weeks": safety_cases_per_week(start=start, end=end),
    }
    return TemplateResponse(request, "admin/rapport_dashboard.html", context)


# The default admin site keeps its own index, extended with a link to the dashboard.
admin.site.index_template = "admin/rapport_index.html"
