"""Phone numbers: parsed and validated with `phonenumbers`, stored as E.164."""
import phonenumbers
from django.core.exceptions import ValidationError


def normalize_e164(raw: str, *, default_region: str | None = None) -> str:
    """Return `raw` as E.164 (+447700900001), or raise ValidationError saying why.

    WhatsApp's `wa_id` comes without the plus sign, so digits alone are read as
    international.
    """
    text = (raw or "").strip()
    if not text:
        raise ValidationError("Enter a phone number.", code="required")
    if text[0].isdigit() and default_region is None:
        text = "+" + text
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"“{raw}” is not a phone number: {exc}.", code="invalid") from exc
    # "Possible" (right length for the country), not "valid": the ranges that
    # regulators reserve for drama and tests (+44 7700 900xxx, +1 555 01xx)
    # are real-shaped numbers that demo and staging data rely on.
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationError(f"“{raw}” is not a valid phone number.", code="invalid")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    """Model-field validator: the stored value must already be normalised."""
    if normalize_e164(value) != value:
        raise ValidationError(f"“{value}” is not in E.164 form (e.g. +447700900001).", code="invalid")
