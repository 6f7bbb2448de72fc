"""System checks on the secrets: no way in with an empty or a shipped default one.

Registered by ChatsConfig.ready. Django runs them on `manage.py check`, `migrate` and
`runserver`; config/asgi.py runs the `rapport` ones before it serves, so a web process with
the cloud backend and a default secret does not start.
"""
from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

from chats.whatsapp.backends import CloudBackend
from chats.whatsapp.versions import GRAPH_API_VERSIONS, NEWEST, WARN_DAYS_BEFORE_END, available_until

TAG = "rapport"


def uses_cloud_backend() -> bool:
    path = settings.WHATSAPP_BACKENDS.get(settings.WHATSAPP_BACKEND, settings.WHATSAPP_BACKEND)
    try:
        return issubclass(import_string(path), CloudBackend)
    except ImportError:
        return False


def _shipped_or_empty(name: str) -> bool:
    value = getattr(settings, name, "")
    return not value or value == settings.SHIPPED_SECRETS.get(name)


@checks.register(TAG, checks.Tags.security)
def secrets_set_for_meta(app_configs=None, **kwargs) -> list[checks.Error]:
    """With the cloud backend (Meta for real), every secret must be set and none a shipped default:
    a webhook signed with the documented sandbox secret could otherwise opt an HCP out."""
    if not uses_cloud_backend():
        return []
    return [
        checks.Error(f"{name} is empty or the value Rapport ships with, and the cloud backend is in use.",
                     hint=f"Set {name} in the environment to this deployment's own value (docs/configuration.md).",
                     id="rapport.E001")
        for name in ("SECRET_KEY", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_ACCESS_TOKEN")
        if _shipped_or_empty(name)
    ]


@checks.register(TAG)
def graph_api_version_current(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """With the cloud backend, the configured Graph API version must be one Meta still serves:
    a warning within WARN_DAYS_BEFORE_END days of its end (chats/whatsapp/versions.py), an error
    after it, a warning for a version the table does not know."""
    if not uses_cloud_backend():
        return []
    from django.utils import timezone

    version, today = settings.WHATSAPP_API_VERSION, timezone.now().date()
    hint = f"Set WHATSAPP_API_VERSION to {NEWEST} (the newest Rapport knows) after checking Meta's changelog."
    if version not in GRAPH_API_VERSIONS:
        return [checks.Warning(f"WHATSAPP_API_VERSION {version!r} is not in Rapport's table of Graph API versions.",
                               hint=hint, id="rapport.W002")]
    until = available_until(version)
    if until is None:
        return []
    if today > until:
        return [checks.Error(f"Graph API {version} was available until {until:%d %B %Y}; Meta refuses it now.",
                             hint=hint, id="rapport.E003")]
    if (until - today).days <= WARN_DAYS_BEFORE_END:
        return [checks.Warning(f"Graph API {version} is available only until {until:%d %B %Y} "
                               f"({(until - today).days} days).", hint=hint, id="rapport.W001")]
    return []


@checks.register(checks.Tags.security, deploy=True)
def secret_key_not_shipped(app_configs=None, **kwargs) -> list[checks.Error]:
    """`check --deploy`: the shipped SECRET_KEY signs sessions anyone can forge."""
    if _shipped_or_empty("SECRET_KEY"):
        return [checks.Error("SECRET_KEY is empty or the value Rapport ships with.",
                             hint="Set SECRET_KEY in the environment to a long random value.", id="rapport.E002")]
    return []


@checks.register()
def push_settings_usable(app_configs=None, **kwargs) -> list[checks.Warning]:
    """Web Push (chats/notifications/) needs all three VAPID settings, a private key that loads and a
    `mailto:` or `https:` subject; a warning otherwise, since push is then off or every push refused."""
    names = ("VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT")
    values = [getattr(settings, name, "") for name in names]
    hint = "Run `manage.py vapid_keys` and set all three (docs/operations.md, \"Notifications (Web Push)\")."
    if not any(values):
        return []
    if not all(values):
        missing = ", ".join(name for name, value in zip(names, values) if not value)
        return [checks.Warning(f"Web Push is off: {missing} not set.", hint=hint, id="rapport.W010")]
    if not settings.VAPID_SUBJECT.startswith(("mailto:", "https://")):
        return [checks.Warning("VAPID_SUBJECT must be a mailto: or https: URL; push services refuse others.",
                               hint=hint, id="rapport.W011")]
    from py_vapid import Vapid

    try:
        Vapid.from_string(settings.VAPID_PRIVATE_KEY)
    except Exception:  # py_vapid raises several kinds for a malformed key
        return [checks.Warning("VAPID_PRIVATE_KEY is not a P-256 private key; every push would fail.",
                               hint=hint, id="rapport.W012")]
    return []


def refuse_to_serve_on_failed_checks() -> None:
    """Raise ImproperlyConfigured when a `rapport` check fails (config/asgi.py calls it at start-up)."""
    from django.core.exceptions import ImproperlyConfigured

    errors = [e for e in checks.run_checks(tags=[TAG]) if e.is_serious()]
    if errors:
        raise ImproperlyConfigured("Rapport will not serve: " + " ".join(f"{e.id}: {e.msg}" for e in errors))
