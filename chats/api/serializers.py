"""Input and output shapes of API v1. No rule lives here."""
from rest_framework import serializers

from chats.api.fields import IdOrNameField, StrictCharField, StrictChoiceField, StrictIntegerField, StrictUUIDField
from chats.conversations.policy import WindowStatus
from chats.api.message_serializers import MessageOutput
from chats.models import Account, Message, PhoneNumber, Thread
from chats.realtime.payloads import state_fields
from consent.models import ConsentMethod, ConsentStatus
from media_links.models import MediaItem
from templates_app.models import MessageTemplate

PREVIEW_CHARS = 120
QUOTE_CHARS = 80


def _clip(text: str, limit: int) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- errors ----------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `license_required`.")
    detail = serializers.CharField(help_text="Human-readable explanation.")


class ValidationErrorSerializer(ErrorSerializer):
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text="Field name → messages."
    )


class BadRequestSerializer(ErrorSerializer):
    """A 400 of several codes: `invalid` carries `errors`, the others do not."""

    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="With `invalid`: field name → messages.")


class MatchSerializer(serializers.Serializer):
    start = serializers.IntegerField(help_text="Offset of the first character, in the text as sent.")
    end = serializers.IntegerField(help_text="Offset after the last character (exclusive).")
    phrase = serializers.CharField(help_text="The restricted phrase as the admin wrote it.")
    rule = serializers.CharField(help_text="Name of the rule the phrase belongs to.")
    match_type = serializers.ChoiceField(choices=["contains", "exact", "regex"])


class RestrictedPhrasesErrorSerializer(ErrorSerializer):
    matches = MatchSerializer(many=True)


class SendUnprocessableSerializer(ErrorSerializer):
    """A send's 422: restricted phrases (with `matches`) or a reused idempotency key (with `message`)."""

    matches = MatchSerializer(many=True, required=False, help_text="With `restricted_phrases`: each phrase found.")
    message = serializers.IntegerField(required=False,
                                       help_text="With `idempotency_key_reused`: the message the key made.")


# --- auth and me -----------------------------------------------------------------


class TokenInput(serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=128, style={"input_type": "password"}, trim_whitespace=False)


class TokenOutput(serializers.Serializer):
    token = serializers.CharField(help_text="The key, shown this once: Rapport keeps only its SHA-512 digest.")
    expiry = serializers.DateTimeField(allow_null=True, help_text="When the token stops working.")


class PhoneNumberOutput(serializers.ModelSerializer):
    is_shared = serializers.BooleanField(help_text="More than one rep is assigned to this number.")

    class Meta:
        model = PhoneNumber
        fields = ["id", "phone_number_id", "display_phone_number", "is_shared"]


class PhoneNumberBrief(serializers.ModelSerializer):
    class Meta:
        model = PhoneNumber
        fields = ["id", "phone_number_id", "display_phone_number"]


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField(source="get_full_name")


class MeOutput(serializers.Serializer):
    user = UserOutput()
    has_engage_license = serializers.BooleanField()
    phone_numbers = PhoneNumberOutput(many=True)


# --- accounts --------------------------------------------------------------------


class AccountOutput(serializers.ModelSerializer):
    has_thread = serializers.BooleanField(help_text="You already have a thread with this HCP.")
    consent_status = serializers.ChoiceField(choices=ConsentStatus.choices)

    class Meta:
        model = Account
        fields = ["id", "name", "specialty", "whatsapp_number", "whatsapp_user_id", "whatsapp_parent_user_id",
                  "whatsapp_username", "language", "has_thread", "consent_status"]


class AccountBrief(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "name", "whatsapp_number", "whatsapp_user_id", "whatsapp_username", "language"]


# --- threads ---------------------------------------------------------------------


class LastMessageOutput(serializers.ModelSerializer):
    body_preview = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "direction", "kind", "body_preview", "status", "created_at"]

    def get_body_preview(self, message) -> str:
        return _clip(message.body, PREVIEW_CHARS)


class ThreadListOutput(serializers.ModelSerializer):
    account = AccountBrief()
    phone_number = PhoneNumberBrief()
    last_message = LastMessageOutput(allow_null=True)
    unread_count = serializers.IntegerField()

    class Meta:
        model = Thread
        fields = ["id", "account", "phone_number", "last_activity_at", "last_read_at", "last_message", "unread_count"]


class ThreadInput(serializers.Serializer):
    account = StrictIntegerField(min_value=1, help_text="Account id.")
    phone_number = StrictIntegerField(
        min_value=1, required=False, allow_null=True,
        help_text="PhoneNumber id (not Meta's phone_number_id). Optional when you have exactly one number.",
    )


class WindowOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=WindowStatus.ALL)
    expires_at = serializers.DateTimeField(allow_null=True)


class StateOutput(serializers.Serializer):
    consent = serializers.ChoiceField(choices=ConsentStatus.choices)
    window = WindowOutput()
    locked_by_other = serializers.BooleanField()
    pending_template_by_other = serializers.BooleanField()
    shared_history = serializers.BooleanField()
    can_send_text = serializers.BooleanField()
    can_send_template = serializers.BooleanField()

    def to_representation(self, state):
        # The fields above document the shape; the domain builds the dict (the `thread.state`
        # event carries the same), and DRF's own walk over the fields agrees (tests/realtime).
        return state_fields(state)


class TemplateOutput(serializers.ModelSerializer):
    display_name = serializers.CharField(source="label", help_text="What reps read: the template's display name, "
                                                                    "else its Meta name made readable.")
    preview = serializers.CharField(help_text="The body with placeholders filled for this thread (without a "
                                              "thread: the body as written, placeholders and all).")
    parameters = serializers.DictField(child=serializers.CharField(allow_blank=True))
    status = serializers.CharField(source="meta_status", help_text="Meta's status (`APPROVED`, `PENDING`, "
                                                                   "`REJECTED`, `PAUSED` ...); empty for Text Only.")

    class Meta:
        model = MessageTemplate
        fields = ["id", "name", "display_name", "language", "kind", "usage", "meta_category", "status",
                  "display_order", "preview", "parameters"]


class ThreadDetailOutput(serializers.ModelSerializer):
    account = AccountBrief()
    phone_number = PhoneNumberBrief()
    state = StateOutput()
    quick_templates = TemplateOutput(many=True)

    class Meta:
        model = Thread
        fields = ["id", "account", "phone_number", "created_at", "last_activity_at", "last_read_at", "state",
                  "quick_templates"]


class ReadOutput(serializers.Serializer):
    id = serializers.IntegerField()
    last_read_at = serializers.DateTimeField()


# --- templates, media, phrases ---------------------------------------------------


class TemplateQuery(serializers.Serializer):
    thread = StrictIntegerField(min_value=1, required=False,
                                help_text="Only what this thread may send now, rendered for it. Without: every "
                                          "template of your numbers' WABAs, with its status.")
    category = StrictChoiceField(choices=MessageTemplate.Usage.choices, required=False, allow_blank=True)


class MediaOutput(serializers.ModelSerializer):
    share_template = serializers.CharField(source="share_template.name", allow_null=True, default=None)

    class Meta:
        model = MediaItem
        fields = ["id", "kind", "title", "description", "url", "thumbnail_url", "share_template"]


class PhraseCheckInput(serializers.Serializer):
    # WhatsApp caps a text message at 4,096 characters; longer can never be sent.
    text = StrictCharField(max_length=4096, allow_blank=True, trim_whitespace=False)


class PhraseCheckOutput(serializers.Serializer):
    matches = MatchSerializer(many=True)


# --- sending ---------------------------------------------------------------------


class MessageInput(serializers.Serializer):
    kind = StrictChoiceField(choices=["text", "template", "media"])
    text = StrictCharField(max_length=4096, required=False, allow_blank=True, trim_whitespace=False, default="",
                                 help_text="The text (kind text), or an optional note before a media link.")
    template = IdOrNameField(
        required=False,
        help_text="Kind template: the template's id, or its name (as Meta's API names templates).")
    language = StrictCharField(
        max_length=12, required=False,
        help_text="With a template name: its language, e.g. `fr`; default the HCP's language, then the WABA's.")
    media = StrictIntegerField(min_value=1, required=False, allow_null=True, help_text="Media item id (kind media).")
    reply_to = StrictIntegerField(min_value=1, required=False, allow_null=True,
                                        help_text="Id of a message of this thread to quote.")
    client_id = StrictUUIDField(
        required=False,
        help_text="Your idempotency key: the same key again returns the first message; the same key with "
                  "another content answers 422 `idempotency_key_reused`. Required unless the "
                  "`Idempotency-Key` header gives it.")

    def validate(self, data):
        if data["kind"] == "template" and not data.get("template"):
            raise serializers.ValidationError({"template": ["Required when kind is template."]})
        if data["kind"] == "media" and not data.get("media"):
            raise serializers.ValidationError({"media": ["Required when kind is media."]})
        if data["kind"] == "text" and not data.get("text", "").strip():
            raise serializers.ValidationError({"text": ["Write something to send."]})
        return data


class EndOutput(serializers.Serializer):
    thread = serializers.IntegerField()
    state = StateOutput()
    closing_message = MessageOutput(allow_null=True)


class ConsentInput(serializers.Serializer):
    method = serializers.SlugRelatedField(
        slug_field="code", queryset=ConsentMethod.objects.filter(offered_to_reps=True),
        help_text="How the HCP gave consent: a `code` from `GET /api/v1/consent/methods/` (e.g. `verbal`).",
    )
    phone_number = StrictIntegerField(
        min_value=1, required=False, allow_null=True,
        help_text="PhoneNumber id to send the confirmation from. Optional when you have exactly one number.",
    )


class ConsentOutput(serializers.Serializer):
    account = serializers.IntegerField()
    consent_status = serializers.ChoiceField(choices=ConsentStatus.choices)
    thread = serializers.IntegerField(allow_null=True)
    method = serializers.CharField(allow_null=True, help_text="The method recorded with the capture.")
    wording_version = serializers.IntegerField(
        allow_null=True, help_text="The version of the consent wording the HCP agreed to (null when none is set).")
    confirmation = MessageOutput(allow_null=True)
    confirmation_not_sent = serializers.CharField(
        allow_null=True, help_text="Why no confirmation went out (e.g. `conversation_locked`), else null."
    )


class ConsentMethodOutput(serializers.ModelSerializer):
    class Meta:
        model = ConsentMethod
        fields = ["code", "label"]
