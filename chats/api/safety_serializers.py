"""The shapes of the safety-case endpoints: they document what chats/realtime/payloads.py
`safety_case_fields` and `safety_trail_fields` build (REST, `safety_case.changed` and the change feed alike)."""
from rest_framework import serializers

from chats.models import SafetyCase, SafetyCaseEvent
from chats.realtime.payloads import safety_case_fields, safety_trail_fields


class MatchedTermOutput(serializers.Serializer):
    phrase = serializers.CharField(help_text="The lexicon's term.")
    language = serializers.CharField()
    match_type = serializers.ChoiceField(choices=["contains", "exact", "regex"])
    start = serializers.IntegerField(help_text="Where in `text` (with a file or place name after it) it was found.")
    end = serializers.IntegerField()
    text = serializers.CharField(help_text="The words as the HCP wrote them.")


class CaseAccountOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    country = serializers.CharField(allow_blank=True)


class CaseRepOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField(allow_blank=True)


class SafetyCaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=SafetyCase.Status.choices)
    due_at = serializers.DateTimeField(help_text="`received_at` plus SAFETY_CASE_DEADLINE_HOURS.")
    message = serializers.IntegerField(help_text="The HCP's message.")
    thread = serializers.IntegerField(allow_null=True, help_text="The rep's thread (null: the message was unrouted).")
    text = serializers.CharField(allow_blank=True, help_text="The message as the HCP wrote it.")
    account = CaseAccountOutput(allow_null=True, help_text="The HCP (null: a sender Rapport knows no account of).")
    rep = CaseRepOutput(allow_null=True)
    matched_terms = MatchedTermOutput(many=True)
    products = serializers.ListField(child=serializers.CharField(), help_text="Product names the message names.")
    received_at = serializers.DateTimeField()
    seen_at = serializers.DateTimeField(allow_null=True, help_text="When the rep first opened the thread after it.")
    forwarded_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    close_reason = serializers.CharField(allow_blank=True, help_text="Why drug safety found no adverse event.")

    def to_representation(self, instance):
        return safety_case_fields(instance)


class TrailByOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class SafetyTrailOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SafetyCaseEvent.Kind.choices)
    at = serializers.DateTimeField()
    by = TrailByOutput(allow_null=True, help_text="Null: Rapport itself (the flag).")
    note = serializers.CharField(allow_blank=True, help_text="The rep's note, or the reason for closing.")
    details = serializers.DictField()

    def to_representation(self, instance):
        return safety_trail_fields(instance)


class SafetyCaseDetailOutput(SafetyCaseOutput):
    trail = SafetyTrailOutput(many=True)

    def to_representation(self, instance):
        return {**safety_case_fields(instance),
                "trail": [safety_trail_fields(event) for event in instance.trail.all()]}


class NoteInput(serializers.Serializer):
    note = serializers.CharField(max_length=4000, help_text="What the rep knows (the patient, the product, when).")


class CloseInput(serializers.Serializer):
    reason = serializers.CharField(max_length=4000, help_text="Why this is not an adverse event.")
