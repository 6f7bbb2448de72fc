"""WABAs (with write-only secrets), business phone numbers and rep assignments."""
from django import forms
from django.contrib import admin, messages
from django.db.models import Count

from chats.compliance.admin_audit import AuditedAdminMixin
from chats.models import PhoneAssignment, PhoneNumber, WhatsAppBusinessAccount
from chats.whatsapp.client import GraphError, GraphOutcomeUnknown, GraphUnreachable
from templates_app.services import sync_templates

SECRET_FIELDS = ("app_secret", "access_token")


class WabaAdminForm(forms.ModelForm):
    """Secrets are write-only: never rendered back, blank keeps the stored value, a box clears it."""

    app_secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave blank to keep the stored value. Empty: WHATSAPP_APP_SECRET applies.",
    )
    clear_app_secret = forms.BooleanField(required=False, label="Clear the stored app secret")
    access_token = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave blank to keep the stored value. Empty: WHATSAPP_ACCESS_TOKEN applies.",
    )
    clear_access_token = forms.BooleanField(required=False, label="Clear the stored access token")

    class Meta:
        model = WhatsAppBusinessAccount
        fields = ("waba_id", "name", "default_language", "app_secret", "access_token")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            # The stored value must never reach the page, not even as "initial";
            # blank as initial also makes "left blank" count as unchanged.
            self.initial[name] = ""

    def clean(self):
        cleaned = super().clean()
        for name in SECRET_FIELDS:
            new_value = cleaned.get(name, "")
            clear = cleaned.get(f"clear_{name}")
            if clear and new_value:
                self.add_error(name, "Either enter a new value or clear the stored one, not both.")
            elif clear:
                cleaned[name] = ""
            elif not new_value:
                cleaned[name] = getattr(self.instance, name, "") if self.instance.pk else ""
        return cleaned

    @property
    def changed_data(self):
        # Lets the admin's history say "Changed access token" without comparing (or logging) values.
        changed = [name for name in super().changed_data if name not in SECRET_FIELDS and not name.startswith("clear_")]
        for name in SECRET_FIELDS:
            if self.data.get(self.add_prefix(name)) or getattr(self, "cleaned_data", {}).get(f"clear_{name}"):
                changed.append(name)
        return changed


def secret_state(value: str) -> str:
    return "set" if value else "not set"


@admin.register(WhatsAppBusinessAccount)
class WhatsAppBusinessAccountAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = WabaAdminForm
    audit_secret_fields = SECRET_FIELDS
    list_display = ("name", "waba_id", "default_language", "app_secret_state", "access_token_state", "number_count")
    search_fields = ("name", "waba_id")
    readonly_fields = ("app_secret_state", "access_token_state", "created_at")
    fieldsets = (
        (None, {"fields": ("waba_id", "name", "default_language", "created_at")}),
        (
            "Secrets (write-only)",
            {
                "description": "Stored values are never shown. Leave a field blank to keep what is stored; "
                "without a value of its own the WABA uses the environment's WHATSAPP_APP_SECRET and "
                "WHATSAPP_ACCESS_TOKEN.",
                "fields": (
                    "app_secret_state", "app_secret", "clear_app_secret",
                    "access_token_state", "access_token", "clear_access_token",
                ),
            },
        ),
    )

    actions = ["sync_message_templates"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(number_count=Count("phone_numbers"))

    @admin.action(description="Sync message templates from Meta")
    def sync_message_templates(self, request, queryset):
        for waba in queryset:
            try:
                result = sync_templates(waba=waba, actor=request.user)
            except (GraphError, GraphUnreachable, GraphOutcomeUnknown) as exc:
                self.message_user(request, f"{waba}: Meta could not be read ({exc}); nothing changed.", messages.ERROR)
            else:
                self.message_user(request, str(result), messages.SUCCESS)

    @admin.display(description="App secret")
    def app_secret_state(self, waba):
        return secret_state(waba.app_secret)

    @admin.display(description="Access token")
    def access_token_state(self, waba):
        return secret_state(waba.access_token)

    @admin.display(description="Numbers", ordering="number_count")
    def number_count(self, waba):
        return waba.number_count


class PhoneAssignmentInline(admin.TabularInline):
    model = PhoneAssignment
    extra = 1
    autocomplete_fields = ("user",)
    fields = ("user", "created_at")
    readonly_fields = ("created_at",)
    verbose_name = "assigned rep"
    verbose_name_plural = "Assigned reps (more than one: the number is shared)"


class SharedFilter(admin.SimpleListFilter):
    title = "shared"
    parameter_name = "shared"

    def lookups(self, request, model_admin):
        return (("yes", "Shared (2+ reps)"), ("no", "Not shared"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(assignee_count__gt=1)
        if self.value() == "no":
            return queryset.filter(assignee_count__lte=1)
        return queryset


@admin.register(PhoneNumber)
class PhoneNumberAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = (
        "display_phone_number", "verified_name", "phone_number_id", "waba", "assignee_count", "is_shared", "reps",
    )
    list_filter = (SharedFilter, "waba")
    search_fields = ("display_phone_number", "phone_number_id", "verified_name", "assignees__username")
    list_select_related = ("waba",)
    readonly_fields = ("created_at",)
    inlines = [PhoneAssignmentInline]

    def get_queryset(self, request):
        # One query for the page whatever the number of reps: counts by annotation,
        # names by a single prefetch.
        return (
            super()
            .get_queryset(request)
            .annotate(assignee_count=Count("assignments", distinct=True))
            .prefetch_related("assignees")
        )

    @admin.display(description="Assignees", ordering="assignee_count")
    def assignee_count(self, number):
        return number.assignee_count

    @admin.display(description="Shared", boolean=True, ordering="assignee_count")
    def is_shared(self, number):
        return number.assignee_count > 1

    @admin.display(description="Reps")
    def reps(self, number):
        return ", ".join(sorted(user.username for user in number.assignees.all())) or "—"


@admin.register(PhoneAssignment)
class PhoneAssignmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("user", "phone_number", "created_at")
    list_filter = ("phone_number",)
    search_fields = ("user__username", "user__first_name", "user__last_name", "phone_number__display_phone_number")
    list_select_related = ("user", "phone_number")
    autocomplete_fields = ("user", "phone_number")
