"""The shape of one message in API v1 (REST lists, send answers, reactions). No rule lives here: the
fields document what chats/realtime/payloads.py `message_fields` builds, for REST and WebSocket alike."""
from rest_framework import serializers

from chats.models import Message, MessageReaction, SafetyCase
from chats.realtime.payloads import message_fields


class ReplyToOutput(serializers.Serializer):
    id = serializers.IntegerField()
    wamid = serializers.CharField(allow_null=True, help_text="Meta's id of the quoted message.")
    direction = serializers.ChoiceField(choices=Message.Direction.choices)
    quote = serializers.CharField(help_text="The start of the quoted message's text.")


class SenderOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField(source="get_full_name")


class TemplateRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="Meta's template name.")
    display_name = serializers.CharField(help_text="What reps read (the display name, else the name made readable).")
    language = serializers.CharField()


class MessageMediaOutput(serializers.Serializer):
    """What a message carries besides its text, by `kind`: a media link (`media_item`, `title`, `url`), an
    HCP's file (`inbound_media`: `url` is Rapport's own), a shared location, or contact cards. Every field is
    optional: each kind has its own."""

    media_item = serializers.IntegerField(required=False, help_text="Media link: the media item.")
    title = serializers.CharField(required=False, help_text="Media link: the item's title.")
    url = serializers.CharField(
        required=False, allow_null=True,
        help_text="Media link: the tracked link sent to the HCP. HCP's file: Rapport's own link to it "
                  "(GET /api/v1/messages/{id}/media), null until `status` is `ready`. Location: the place's page.")
    type = serializers.ChoiceField(required=False, choices=["image", "video", "document", "audio", "sticker"],
                                   help_text="HCP's file: Meta's message type.")
    mime_type = serializers.CharField(required=False, allow_null=True)
    size = serializers.IntegerField(required=False, allow_null=True, help_text="HCP's file: bytes (once ready).")
    sha256 = serializers.CharField(required=False, allow_null=True,
                                   help_text="HCP's file: hex SHA-256 of the stored file (once ready).")
    filename = serializers.CharField(required=False, allow_null=True, help_text="HCP's file: a document's name.")
    caption = serializers.CharField(required=False, allow_null=True)
    voice = serializers.BooleanField(required=False, help_text="HCP's file: an audio recorded as a voice message.")
    status = serializers.ChoiceField(required=False, choices=["pending", "ready", "failed"],
                                     help_text="HCP's file: fetched from Meta yet? `message.updated` tells changes.")
    failure = serializers.CharField(required=False, allow_null=True, help_text="HCP's file: why it failed.")
    name = serializers.CharField(required=False, allow_null=True, help_text="Location: the place's name.")
    address = serializers.CharField(required=False, allow_null=True, help_text="Location: its address.")
    latitude = serializers.FloatField(required=False, allow_null=True)
    longitude = serializers.FloatField(required=False, allow_null=True)
    map_url = serializers.CharField(required=False, allow_null=True, help_text="Location: a map link to the pin.")
    contacts = serializers.ListField(
        child=serializers.DictField(), required=False,
        help_text="Contact cards: [{name, org, phones: [{phone, type, wa_id}], emails: [{email, type}], urls}].")


class PricingOutput(serializers.Serializer):
    category = serializers.CharField(required=False, help_text="e.g. `marketing`, `utility`, `service`.")
    type = serializers.CharField(required=False, help_text="e.g. `regular`, `free_customer_service`.")
    pricing_model = serializers.CharField(required=False, help_text="e.g. `PMP`, `CBP`.")
    billable = serializers.BooleanField(required=False)


class ReactionByOutput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["hcp", "rep"], help_text="`hcp`: the thread's HCP; `rep`: a rep.")
    id = serializers.IntegerField(help_text="The HCP's account id, or the rep's user id.")
    name = serializers.CharField(help_text="The account's name, or the rep's full name (else username).")


class ReactionOutput(serializers.Serializer):
    emoji = serializers.CharField()
    by = ReactionByOutput()
    at = serializers.DateTimeField(help_text="When it was given: WhatsApp's time for the HCP's, Rapport's for a rep's.")
    status = serializers.ChoiceField(choices=MessageReaction.Status.choices,
                                     help_text="`received` for the HCP's; a rep's is `queued`, then `sent` or `failed`.")
    failure_reason = serializers.CharField(allow_blank=True, help_text="Why a rep's reaction failed, for people.")


class ReactionInput(serializers.Serializer):
    emoji = serializers.CharField(allow_blank=True, trim_whitespace=True, max_length=64,
                                  help_text="One emoji, e.g. 👍; empty removes your reaction.")


class MessageReactionsOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The message.")
    reactions = ReactionOutput(many=True)


class ReactionStateOutput(serializers.Serializer):
    """The same shape as the `message.reaction` event."""

    thread = serializers.IntegerField()
    message = MessageReactionsOutput()


class SafetyCaseBriefOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The case (`GET /api/v1/safety-cases/` for drug safety).")
    status = serializers.ChoiceField(choices=SafetyCase.Status.choices,
                                     help_text="`open`, `forwarded` (to drug safety) or `closed` (not an adverse event).")
    due_at = serializers.DateTimeField(help_text="When drug safety must have it.")


class MessageOutput(serializers.Serializer):
    """The one message shape: the same in REST, in `message.created` events and in the export
    (built by chats/realtime/payloads.py `message_fields`; the fields here document it)."""

    id = serializers.IntegerField()
    thread = serializers.IntegerField(allow_null=True)
    direction = serializers.ChoiceField(choices=Message.Direction.choices)
    kind = serializers.ChoiceField(choices=Message.Kind.choices)
    body = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=Message.Status.choices)
    written_at = serializers.DateTimeField(
        help_text="When the message was written: WhatsApp's timestamp for the HCP's (whole seconds, however late "
                  "it reached Rapport), Rapport's for the rep's. Threads are in this order; `created_at` is when "
                  "Rapport recorded the message.")
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    read_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)
    failure_code = serializers.CharField(allow_blank=True)
    failure_reason = serializers.CharField(allow_blank=True)
    wamid = serializers.CharField(allow_null=True, help_text="Meta's message id (null until Meta answered the send); "
                                                             "check a record against Meta's with it.")
    client_id = serializers.UUIDField(allow_null=True, help_text="The idempotency key the message was sent with.")
    sender = SenderOutput(allow_null=True, help_text="The rep who sent it; null for the HCP's.")
    template = TemplateRefOutput(allow_null=True, help_text="For a template send: which template.")
    reply_to = ReplyToOutput(allow_null=True)
    media = MessageMediaOutput(allow_null=True, help_text="What the message carries besides its text, by `kind` "
                                                          "(media link, HCP's file, location, contacts); else null.")
    reactions = ReactionOutput(many=True, help_text="Current reactions, oldest first (removed ones left out).")
    pricing = PricingOutput(allow_null=True, help_text="Meta's pricing of the message, from its statuses (null "
                                                       "until Meta priced it, and for the HCP's messages).")
    safety_case = SafetyCaseBriefOutput(allow_null=True, help_text="An HCP's message that may report an adverse "
                                                                   "event: its safety case (docs/safety.md); else null.")

    def to_representation(self, instance):
        return message_fields(instance)
