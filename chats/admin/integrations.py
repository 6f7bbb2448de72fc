"""CRM integrations in admin: create one (its token shown once), rotate or revoke its token, subscribe
webhooks (their signing secret shown once), and the delivery log with its attempts and a replay action."""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse

from chats.admin.base import ReadOnlyAdmin
from chats.errors import DomainError
from chats.integration.credentials import (
    integration_create, integration_scopes_set, integration_token_revoke, integration_token_rotate,
    webhook_subscribe, webhook_unsubscribe,
)
from chats.integration.feed import CHANGE_TYPES
from chats.integration.webhooks import webhook_delivery_replay
from chats.models import Integration, WebhookAttempt, WebhookDelivery, WebhookSubscription


def shown_once(request, *, title: str, explanation: str, secrets: list[tuple[str, str]], back_url: str):
    """A page that shows a new secret this once (never through a message or a redirect, which would store it)."""
    return TemplateResponse(request, "admin/chats/integration/shown_once.html", {
        "title": title, "explanation": explanation, "secrets": secrets, "back_url": back_url,
        "site_header": admin.site.site_header, "has_permission": True})


class IntegrationForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Integration.Scope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Integration
        fields = ("name", "scopes")


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    form = IntegrationForm
    list_display = ("name", "scope_list", "is_active", "token_issued_at", "revoked_at", "user")
    readonly_fields = ("user", "token_prefix", "token_issued_at", "revoked_at", "created_at")
    actions = ("rotate_token", "revoke_token")

    @admin.display(description="Scopes")
    def scope_list(self, integration):
        return ", ".join(integration.scopes)

    @admin.display(boolean=True, description="Active")
    def is_active(self, integration):
        return integration.is_active

    def save_model(self, request, obj, form, change):
        if change:  # through the service, from the row as stored, so the change is audited
            integration_scopes_set(integration=Integration.objects.get(pk=obj.pk), scopes=form.cleaned_data["scopes"],
                                   actor=request.user)
            return
        try:
            created, request._integration_token = integration_create(
                name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"], actor=request.user)
        except DomainError as exc:
            raise ValidationError(exc.detail) from None
        obj.pk, obj.user, obj.token_prefix = created.pk, created.user, created.token_prefix

    def log_addition(self, request, obj, message):  # the service audits it
        return None

    def response_add(self, request, obj, post_url_continue=None):
        return shown_once(request, title=f"Integration “{obj.name}” created",
                          explanation="Send this token as `Authorization: Bearer <token>`.",
                          secrets=[("token", request._integration_token)],
                          back_url=reverse("admin:chats_integration_changelist"))

    @admin.action(description="Rotate the token (the old one stops at once)")
    def rotate_token(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Rotate one integration at a time.", messages.WARNING)
            return None
        integration = queryset.get()
        token = integration_token_rotate(integration=integration, actor=request.user)
        return shown_once(request, title=f"New token for “{integration.name}”",
                          explanation="The previous token no longer works.", secrets=[("token", token)],
                          back_url=reverse("admin:chats_integration_changelist"))

    @admin.action(description="Revoke the token (its webhooks stop)")
    def revoke_token(self, request, queryset):
        for integration in queryset:
            integration_token_revoke(integration=integration, actor=request.user)
        self.message_user(request, f"Revoked {queryset.count()} token(s).")


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(choices=[(t, t) for t in CHANGE_TYPES],
                                            widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookSubscription
        fields = ("integration", "url", "event_types", "is_active")


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ("integration", "url", "types", "is_active", "fed_through", "created_at")
    list_filter = ("is_active", "integration")

    @admin.display(description="Event types")
    def types(self, subscription):
        return ", ".join(subscription.event_types)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        try:
            created, request._webhook_secret = webhook_subscribe(
                integration=form.cleaned_data["integration"], url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"], actor=request.user)
        except DomainError as exc:
            raise ValidationError(exc.detail) from None
        obj.pk = created.pk

    def log_addition(self, request, obj, message):  # the service audits it
        return None

    def delete_model(self, request, obj):  # through the service, so the deletion is audited
        webhook_unsubscribe(subscription=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for subscription in queryset.select_related("integration"):
            webhook_unsubscribe(subscription=subscription, actor=request.user)

    def response_add(self, request, obj, post_url_continue=None):
        return shown_once(request, title="Webhook subscribed",
                          explanation="Verify each delivery's signature with this secret (Standard Webhooks).",
                          secrets=[("webhook_secret", request._webhook_secret)],
                          back_url=reverse("admin:chats_webhooksubscription_changelist"))


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ("at", "status_code", "duration_ms", "answer")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("seq", "change_type", "order_key", "subscription", "status", "attempts", "next_attempt_at",
                    "delivered_at")
    list_filter = ("status", "subscription")
    list_select_related = ("change", "subscription", "subscription__integration")
    inlines = (AttemptInline,)
    actions = ("replay",)

    @admin.display(description="Change")
    def change_type(self, delivery):
        return delivery.change.type

    @admin.action(description="Replay (send again now)")
    def replay(self, request, queryset):
        for delivery in queryset:
            webhook_delivery_replay(delivery=delivery)
        self.message_user(request, f"{queryset.count()} delivery(ies) will be sent again.")
