"""Input fields that take a value only as the type the contract says: nothing is coerced silently.

DRF turns `{"text": 5}` into "5", `"1.0"` and `true` into ids and `12345` into a UUID. Here a
JSON body must give text as a string, ids as integers and UUIDs as strings; form bodies and
query strings (a QueryDict, where every value is text) may give an id as plain digits.
"""
from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def _from_text_source(field) -> bool:
    """Whether the value came from a form body or a query string, where everything is text."""
    return isinstance(getattr(field.root, "initial_data", None), QueryDict)


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "Give text (a JSON string)."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "Give a whole number (a JSON integer, not text or a decimal)."}

    def to_internal_value(self, data):
        if isinstance(data, str) and _from_text_source(self) and data.isascii() and data.isdigit():
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    default_error_messages = {"invalid": "Give a UUID as a string, e.g. \"8c1e2f0a-6a43-4c1e-9d8b-1a2b3c4d5e6f\"."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "minLength": 1}]})
class IdOrNameField(serializers.Field):
    """An id (a JSON integer) or a name (a JSON string), as Meta's API names templates."""

    default_error_messages = {"invalid": "Give the template's id (an integer) or its name (a string)."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("invalid")
        if isinstance(data, str):
            data = data.strip()
            if not data or len(data) > 512:
                self.fail("invalid")
        elif data < 1:
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value
