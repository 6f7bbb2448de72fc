"""A list filter that is a text box: for columns with too many values for a list of links (HCPs, reps)."""
from django.contrib import admin


class TextInputFilter(admin.SimpleListFilter):
    """Subclasses set title, parameter_name and `lookup` (the queryset filter for the typed text).

    A digits-only value also matches the primary key (`id_lookup`), so a link from
    another page can filter by id without a name search.
    """

    template = "admin/rapport_text_filter.html"
    lookup = ""
    id_lookup = ""

    def lookups(self, request, model_admin):
        # Django shows a filter only when it has choices; the template draws a text box instead.
        return (("", ""),)

    def choices(self, changelist):
        others = {k: v for k, v in changelist.get_filters_params().items() if k != self.parameter_name}
        yield {
            "parameter_name": self.parameter_name,
            "value": self.value() or "",
            "hidden": sorted((k, v[-1] if isinstance(v, list) else v) for k, v in others.items()),
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
        }

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        if self.id_lookup and value.isdigit():
            return queryset.filter(**{self.id_lookup: int(value)})
        return queryset.filter(**{self.lookup: value})


class HcpFilter(TextInputFilter):
    title = "HCP (name, number or id)"
    parameter_name = "hcp"
    lookup = "account__name__icontains"
    id_lookup = "account_id"

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if value.startswith("+"):  # an E.164 number: exact, uses the unique index
            return queryset.filter(account__whatsapp_number=value.replace(" ", ""))
        return super().queryset(request, queryset)


class RepFilter(TextInputFilter):
    title = "rep (username or id)"
    parameter_name = "rep"
    lookup = "actor__username__iexact"
    id_lookup = "actor_id"


class NumberFilter(TextInputFilter):
    title = "number (display number or phone number id)"
    parameter_name = "number"
    lookup = "phone_number__display_phone_number__icontains"

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if value.isdigit():  # Meta's phone_number_id, not our primary key
            return queryset.filter(phone_number__phone_number_id=value)
        return super().queryset(request, queryset)


class FailureCodeFilter(admin.SimpleListFilter):
    """Failed messages by Rapport's failure code, from a fixed list: a list of the codes found would
    read the whole messages table on every page of the list."""

    title = "failure code"
    parameter_name = "failure_code"
    CODES = (
        ("needs_admin", "needs an admin (configuration)"), ("window_closed", "window closed"),
        ("opted_out", "opted out"), ("rate_limited", "rate limited"), ("meta_error", "other Meta error"),
        ("timeout_unknown", "outcome unknown (timeout)"), ("retries_exhausted", "retries exhausted"),
    )

    def lookups(self, request, model_admin):
        return self.CODES

    def queryset(self, request, queryset):
        return queryset.filter(failure_code=self.value()) if self.value() else queryset
