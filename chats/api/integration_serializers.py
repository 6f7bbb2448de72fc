"""Input and output shapes of the integration endpoints. No rule lives here."""
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import serializers

from chats.api.fields import StrictCharField, StrictChoiceField
from chats.integration.accounts import BULK_MAX
from chats.integration.feed import CHANGE_TYPES
from chats.models import Account, Thread, WebhookSubscription
from chats.models.phones import normalize_e164
from consent.models import ConsentMethod, ConsentStatus

EXTERNAL_ID_MAX = 100


class ConsentImportInput(serializers.Serializer):
    """Consent captured outside Rapport, with its evidence."""

    status = StrictChoiceField(choices=[ConsentStatus.OPTED_IN, ConsentStatus.OPTED_OUT])
    captured_at = serializers.DateTimeField(help_text="When the HCP gave (or withdrew) consent, ISO 8601.")
    source = StrictCharField(max_length=200, help_text="Where it was captured, e.g. `Veeva CRM`.")
    method = StrictCharField(max_length=32, required=False,
                             help_text="How: a code of `GET /api/v1/consent/methods/` (any kept method).")
    wording = StrictCharField(max_length=5000, required=False, allow_blank=True,
                              help_text="The wording the HCP agreed to, as shown to them.")

    def validate_captured_at(self, value):
        if value > timezone.now() + timezone.timedelta(minutes=5):
            raise serializers.ValidationError("Consent cannot be captured in the future.")
        return value

    def validate_method(self, value):
        method = ConsentMethod.objects.filter(code=value).first()
        if method is None:
            raise serializers.ValidationError(f"No consent method has the code {value!r}.")
        return method


class AccountInput(serializers.Serializer):
    """Any of an HCP's fields; those left out stay as they are (a new HCP needs a name and a WhatsApp number
    or user id)."""

    name = StrictCharField(max_length=200, required=False)
    specialty = StrictCharField(max_length=120, required=False, allow_blank=True)
    country = StrictCharField(max_length=2, required=False, allow_blank=True, help_text="ISO 3166-1 alpha-2.")
    language = StrictCharField(max_length=12, required=False)
    whatsapp_number = StrictCharField(max_length=40, required=False, allow_blank=True, allow_null=True,
                                      help_text="E.164 or any common writing; stored as E.164.")
    whatsapp_user_id = StrictCharField(max_length=150, required=False, allow_blank=True, allow_null=True)
    whatsapp_parent_user_id = StrictCharField(max_length=150, required=False, allow_blank=True)
    whatsapp_username = StrictCharField(max_length=64, required=False, allow_blank=True)
    team = serializers.ListField(child=StrictCharField(max_length=150), required=False, max_length=1000,
                                 help_text="Usernames of the reps who may see the HCP (replaces the team).")
    consent = ConsentImportInput(required=False)

    def validate_country(self, value):
        if value and not (value.isascii() and value.isalpha() and len(value) == 2):
            raise serializers.ValidationError("Give a two-letter ISO 3166-1 country code, e.g. GB.")
        return value.upper()

    def validate_whatsapp_number(self, value):
        if not value:
            return None
        try:
            return normalize_e164(value)
        except DjangoValidationError:
            raise serializers.ValidationError(
                f"“{value}” is not a valid phone number; write it in international form, e.g. +447700900123.") from None

    def validate_whatsapp_user_id(self, value):
        return value or None

    def validate_team(self, names):
        users = list(get_user_model().objects.filter(username__in=set(names)))
        unknown = sorted(set(names) - {user.username for user in users})
        if unknown:
            raise serializers.ValidationError("Unknown username(s): " + ", ".join(unknown) + ".")
        return users


class BulkAccountInput(AccountInput):
    external_id = StrictCharField(max_length=EXTERNAL_ID_MAX)


class BulkInput(serializers.Serializer):
    accounts = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=BULK_MAX,
                                     help_text=f"Up to {BULK_MAX:,} accounts, each with its `external_id`.")


class BulkRowResult(serializers.Serializer):
    external_id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["created", "updated", "unchanged", "error"])
    id = serializers.IntegerField(required=False, help_text="The account's id (not for `error`).")
    consent = serializers.ChoiceField(choices=["changed", "unchanged", "superseded"], required=False)
    code = serializers.CharField(required=False, help_text="With `error`: `invalid`, `conflict`, `opted_out_by_hcp` …")
    detail = serializers.CharField(required=False)
    errors = serializers.DictField(required=False)


class BulkOutput(serializers.Serializer):
    results = BulkRowResult(many=True)


class IntegrationAccountOutput(serializers.ModelSerializer):
    team = serializers.SerializerMethodField()
    consent_status = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = ["id", "external_id", "name", "specialty", "country", "language", "whatsapp_number",
                  "whatsapp_user_id", "whatsapp_parent_user_id", "whatsapp_username", "team", "consent_status",
                  "created_at", "updated_at"]

    def get_team(self, account) -> list[str]:
        return sorted(user.username for user in account.team.all())

    def get_consent_status(self, account) -> str:
        record = getattr(account, "consent", None)
        return record.status if record is not None else ConsentStatus.NOT_CAPTURED


class UpsertOutput(IntegrationAccountOutput):
    consent_import = serializers.SerializerMethodField(
        help_text="With `consent` given: `changed`, `unchanged` or `superseded` (Rapport's record is newer).")

    class Meta(IntegrationAccountOutput.Meta):
        fields = [*IntegrationAccountOutput.Meta.fields, "consent_import"]

    def get_consent_import(self, account) -> str | None:
        return self.context.get("consent_import")


class IntegrationThreadOutput(serializers.ModelSerializer):
    account = serializers.SerializerMethodField()
    rep = serializers.SerializerMethodField()
    phone_number = serializers.SerializerMethodField()

    class Meta:
        model = Thread
        fields = ["id", "account", "rep", "phone_number", "created_at", "last_activity_at"]

    def get_account(self, thread) -> dict:
        account = thread.account
        return {"id": account.pk, "external_id": account.external_id, "name": account.name}

    def get_rep(self, thread) -> dict:
        return {"id": thread.user_id, "username": thread.user.get_username(), "full_name": thread.user.get_full_name()}

    def get_phone_number(self, thread) -> dict:
        number = thread.phone_number
        return {"id": number.pk, "phone_number_id": number.phone_number_id,
                "display_phone_number": number.display_phone_number}


class ChangeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    cursor = serializers.CharField(help_text="Page on from here to read the changes after this one.")
    type = serializers.ChoiceField(choices=list(CHANGE_TYPES))
    at = serializers.DateTimeField(help_text="When the change was written.")
    thread = serializers.IntegerField(allow_null=True)
    account = serializers.IntegerField(allow_null=True)
    data = serializers.DictField(help_text="The change: the same payload as the live event of that type.")


class ChangesOutput(serializers.Serializer):
    results = ChangeOutput(many=True)
    cursor = serializers.CharField(help_text="Where to go on from next time (the last change's, or the one given).")
    has_more = serializers.BooleanField(help_text="More changes wait: ask again at once with `cursor`.")


class WebhookSubscriptionInput(serializers.Serializer):
    url = serializers.URLField(max_length=500, help_text="http or https, on a public address.")
    event_types = serializers.ListField(child=StrictChoiceField(choices=list(CHANGE_TYPES)), min_length=1,
                                        max_length=len(CHANGE_TYPES), help_text="The change types to post.")


class WebhookSubscriptionOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "event_types", "is_active", "created_at"]


class WebhookSecretOutput(WebhookSubscriptionOutput):
    secret = serializers.SerializerMethodField(
        help_text="The signing secret (`whsec_…`), shown this once: verify each delivery with it.")

    class Meta(WebhookSubscriptionOutput.Meta):
        fields = [*WebhookSubscriptionOutput.Meta.fields, "secret"]

    def get_secret(self, subscription) -> str:
        return self.context["secret"]
