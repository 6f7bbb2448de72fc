"""Reads of consent: one home for "is this HCP opted in?"."""
from django.db.models import Exists, OuterRef

from consent.models import ConsentMethod, ConsentRecord, ConsentStatus, ConsentType


def consent_status(*, account) -> str:
    """opted_in / opted_out from the account's record, else not_captured (one query at most;
    none when the record was loaded with the account, e.g. select_related("consent"))."""
    try:
        return account.consent.status
    except ConsentRecord.DoesNotExist:
        return ConsentStatus.NOT_CAPTURED


def is_opted_in(status: str) -> bool:
    """Whether a consent status lets anything be sent to the HCP."""
    return status == ConsentStatus.OPTED_IN


def opted_in_exists(account_ref: str = "account_id") -> Exists:
    """`is_opted_in` as a query expression: the row whose `account_ref` names the HCP is opted in now."""
    return Exists(ConsentRecord.objects.filter(account_id=OuterRef(account_ref), status=ConsentStatus.OPTED_IN))


def consent_methods_offered():
    """The methods a rep may name when capturing consent, in the admins' order."""
    return ConsentMethod.objects.filter(offered_to_reps=True)


def consent_type_for(*, language: str) -> ConsentType | None:
    """The keywords and wording in `language`, else its base language (pt_BR → pt), else English."""
    candidates = [language, language.split("_")[0], "en"]
    found = {t.language: t for t in ConsentType.objects.filter(language__in=candidates)}
    return next((found[c] for c in candidates if c in found), None)
