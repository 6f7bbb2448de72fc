"""Drug safety in admin: the lexicon (terms and product names), and the queue of safety cases, worked here:
forward a case to the safety mailbox in one click, close one as not an adverse event with a reason."""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from chats.compliance.admin_audit import AuditedAdminMixin
from chats.errors import DomainError
from chats.models import SafetyCase, SafetyCaseEvent, SafetyTerm
from chats.safety import selectors
from chats.safety.cases import safety_case_close
from chats.safety.forwarding import safety_case_forward

from .base import short
from .filters import TextInputFilter


@admin.register(SafetyTerm)
class SafetyTermAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("phrase", "kind", "language", "match_type", "is_active", "updated_at")
    list_filter = ("kind", "language", "match_type", "is_active")
    search_fields = ("phrase",)
    list_editable = ("is_active",)
    readonly_fields = ("created_at", "updated_at")


DUE_LABELS = {selectors.OVERDUE: "Overdue", selectors.DUE_SOON: "Due soon", selectors.ON_TIME: "On time",
              selectors.DONE: "Forwarded or closed"}
DUE_COLOURS = {selectors.OVERDUE: "#ba2121", selectors.DUE_SOON: "#b36b00", selectors.ON_TIME: "#417690",
               selectors.DONE: "#666"}


class DueFilter(admin.SimpleListFilter):
    title = "deadline"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return list(DUE_LABELS.items())

    def queryset(self, request, queryset):
        if self.value() in DUE_LABELS:
            return selectors.cases_due(queryset, due=self.value(), now=timezone.now())
        return queryset


class ProductFilter(admin.SimpleListFilter):
    title = "product"
    parameter_name = "product"

    def lookups(self, request, model_admin):
        names = SafetyTerm.objects.filter(kind=SafetyTerm.Kind.PRODUCT).values_list("phrase", flat=True).distinct()
        return [(name, name) for name in sorted(set(names))]

    def queryset(self, request, queryset):
        return selectors.cases_naming(queryset, product=self.value()) if self.value() else queryset


class CountryFilter(TextInputFilter):
    title = "HCP's country (e.g. FR)"
    parameter_name = "country"
    lookup = "account__country__iexact"


class CaseRepFilter(TextInputFilter):
    title = "rep (username or id)"
    parameter_name = "rep"
    lookup = "rep__username__icontains"
    id_lookup = "rep_id"


class TrailInline(admin.TabularInline):
    model = SafetyCaseEvent
    extra = 0
    fields = ("at", "kind", "actor", "note", "details")
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "Trail (append-only)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CloseForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), max_length=4000,
                             help_text="Why this message reports no adverse event. Kept in the case's trail.")


@admin.register(SafetyCase)
class SafetyCaseAdmin(admin.ModelAdmin):
    list_display = ("id", "deadline", "status", "received_at", "due_at", "account", "country", "rep", "product_list",
                    "terms", "preview")
    list_filter = (DueFilter, "status", ProductFilter, CountryFilter, CaseRepFilter)
    list_select_related = ("message", "account", "rep")
    search_fields = ("message__body", "account__name")
    ordering = ("due_at", "id")
    actions = ["forward_selected"]
    inlines = [TrailInline]
    fields = ("status", "message_text", "account", "rep", "thread_link", "matched_terms", "products", "received_at",
              "due_at", "seen_at", "forwarded_at", "closed_at", "close_reason")
    readonly_fields = fields
    change_form_template = "admin/chats/safetycase/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The case is moved only by forwarding or closing it (the buttons), never by editing the row.
        if request.method == "POST":
            raise PermissionDenied
        extra = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                 "show_save_and_add_another": False, "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    @admin.display(description="Deadline", ordering="due_at")
    def deadline(self, case):
        state = selectors.safety_case_due_state(case, now=timezone.now())
        return format_html('<strong style="color:{}">{}</strong>', DUE_COLOURS[state], DUE_LABELS[state])

    @admin.display(description="Country", ordering="account__country")
    def country(self, case):
        return case.account.country if case.account_id else ""

    @admin.display(description="Products")
    def product_list(self, case):
        return ", ".join(case.products)

    @admin.display(description="Safety terms")
    def terms(self, case):
        return ", ".join(sorted({t["phrase"] for t in case.matched_terms}))

    @admin.display(description="Message")
    def preview(self, case):
        return short(case.message.body, 80)

    @admin.display(description="Message")
    def message_text(self, case):
        return case.message.body

    @admin.display(description="Thread")
    def thread_link(self, case):
        return case.message.thread_id or "unrouted"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [path("<int:case_id>/forward/", wrap(self.forward_view), name="chats_safetycase_forward"),
                path("<int:case_id>/close/", wrap(self.close_view), name="chats_safetycase_close"),
                *super().get_urls()]

    def forward_view(self, request, case_id: int):
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        case = get_object_or_404(SafetyCase, pk=case_id)
        self._forward(request, case)
        return redirect(reverse("admin:chats_safetycase_change", args=[case.pk]))

    def _forward(self, request, case):
        try:
            case, sent = safety_case_forward(case=case, actor=request.user)
        except DomainError as exc:
            self.message_user(request, f"Case {case.pk}: {exc.detail}", messages.ERROR)
            return
        if sent:
            self.message_user(request, f"Case {case.pk} forwarded to drug safety.", messages.SUCCESS)
        else:
            when = case.forwarded_at.strftime("%Y-%m-%d %H:%M")
            self.message_user(request, f"Case {case.pk} had been forwarded already ({when}); not sent again.",
                              messages.WARNING)

    @admin.action(description="Forward to drug safety (once each)", permissions=["change"])
    def forward_selected(self, request, queryset):
        for case in queryset:
            self._forward(request, case)

    def close_view(self, request, case_id: int):
        if not self.has_change_permission(request):
            raise PermissionDenied
        case = get_object_or_404(SafetyCase.objects.select_related("message", "account"), pk=case_id)
        form = CloseForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                safety_case_close(case=case, actor=request.user, reason=form.cleaned_data["reason"])
            except DomainError as exc:
                self.message_user(request, exc.detail, messages.ERROR)
            else:
                self.message_user(request, f"Case {case.pk} closed as not an adverse event.", messages.SUCCESS)
            return redirect(reverse("admin:chats_safetycase_change", args=[case.pk]))
        return TemplateResponse(request, "admin/chats/safetycase/close.html", {
            **self.admin_site.each_context(request), "title": f"Close safety case {case.pk}", "case": case,
            "form": form, "opts": self.model._meta})
