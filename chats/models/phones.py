"""Phone numbers: parsed and validated with `phonenumbers`, stored as E.164; WhatsApp user ids checked."""
import re

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


# Meta's business-scoped user id: an ISO country code, a dot, then up to 128 letters and digits
# (a parent id shared across businesses has ENT between them: US.ENT.1181…).
WHATSAPP_USER_ID = re.compile(r"^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$")


def validate_whatsapp_user_id(value: str) -> None:
    """Model-field validator for a WhatsApp (business-scoped) user id, e.g. US.13491208655302741918."""
    if value and not WHATSAPP_USER_ID.match(value):
        raise ValidationError(
            f"“{value}” is not a WhatsApp user id: a country code, a dot and letters or digits, "
            "e.g. US.13491208655302741918.", code="invalid")
