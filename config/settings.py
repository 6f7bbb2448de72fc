"""One settings file, driven by the environment (see docs/configuration.md).

Embedded default: nothing set -> SQLite, in-memory channel layer, eager Celery,
sandbox WhatsApp backend. Services profile: DATABASE_URL and REDIS_URL set.
"""
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The values a fresh clone ships with, for `make run` offline. The cloud backend refuses to start
# with any of them, or with one empty (chats/checks.py); `check --deploy` refuses the SECRET_KEY.
SHIPPED_SECRETS = {
    "SECRET_KEY": "insecure-dev-key-change-me-" + "x" * 24,
    "WHATSAPP_APP_SECRET": "sandbox-app-secret",
    "WHATSAPP_VERIFY_TOKEN": "sandbox-verify-token",
    "WHATSAPP_ACCESS_TOKEN": "sandbox-access-token",
}
SECRET_KEY = env("SECRET_KEY", default=SHIPPED_SECRETS["SECRET_KEY"])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",  # kept for its migration history only: tokens now live hashed in knox
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "import_export",
    "chats",
    "consent",
    "templates_app",
    "media_links",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RejectNulCharactersMiddleware",
    "config.middleware.JsonBodyTooLargeMiddleware",
    "config.middleware.ApiJsonMiddleware",  # before CommonMiddleware: a missing slash is served, not redirected
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's Accept-Language (English unless it asks for French) ...
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # ... unless the signed-in user picked a language (docs/webchat.md, "Languages").
    "config.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
# Threads per ASGI process that run HTTP requests (config/asgi.py); the database pool is sized from it.
HTTP_THREADS = env.int("HTTP_THREADS", default=10)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: SQLite unless DATABASE_URL says otherwise ---------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# On PostgreSQL each process keeps its sessions in a psycopg pool (Django's OPTIONS["pool"]), on by
# default: without it every web request and every webhook batch paid for a new PostgreSQL session
# (a backend forked, authenticated and its prepared statements lost), which made a webhook's
# acknowledgement three to four times slower (docs/performance.md). The default size is what one web
# process can use at once: its HTTP_THREADS, the webhook writer's thread and the WebSocket consumers'
# thread. DATABASE_POOL_SIZE overrides it; 0 turns the pool off.
DATABASE_POOL_SIZE = env.int("DATABASE_POOL_SIZE", default=HTTP_THREADS + 2)
if DATABASE_POOL_SIZE and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django requires it with a pool
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": DATABASE_POOL_SIZE, "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0)}
# Server-side binding lets psycopg prepare a statement once it has run DATABASE_PREPARE_THRESHOLD
# times on a connection; PostgreSQL then skips parsing and planning it. Planning our select_related
# joins cost more than running them (a 7-table message load: 6.8 ms to plan, 0.7 ms to run).
# Set DATABASE_PREPARED_STATEMENTS=0 behind a transaction-mode pooler (PgBouncer before 1.21).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
        "DATABASE_PREPARED_STATEMENTS", default=True):
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": env.int("DATABASE_PREPARE_THRESHOLD", default=5)})
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and eager tasks share the file. HTTP runs on
    # several threads (config/asgi.py): transactions start as writers (BEGIN IMMEDIATE), so two
    # of them queue on the busy timeout instead of failing "database is locked" when a reader
    # tries to become a writer beside another.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and Celery broker ----------------------------------
REDIS_URL = env("REDIS_URL", default="")
# Several Redis servers shard the channel layer: channels-redis hashes each group and channel to one
# of them (every web and worker process must list the same servers, in the same order).
CHANNEL_LAYER_URLS = env.list("CHANNEL_LAYER_URLS", default=[REDIS_URL] if REDIS_URL else [])
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # Messages a channel may hold before channels_redis drops new ones (its default is
            # 100): a rep's socket that falls a second or two behind a burst must not lose events.
            "CONFIG": {"hosts": CHANNEL_LAYER_URLS, "capacity": env.int("CHANNEL_LAYER_CAPACITY", default=1000)},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# Left unset, Celery's Django fix-up closes every database session around each task (under
# prefork, the whole DATABASE_POOL_SIZE pool): each task opened a new PostgreSQL session, which
# cost more than a send's own work. Set, it recycles them every this many tasks; between tasks,
# config/celery.py applies Django's own end-of-request rule.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_BEAT_SCHEDULE = {
    "sync-whatsapp-templates": {"task": "templates_app.tasks.sync_all_templates_task", "schedule": 3600.0},
    "announce-windows": {"task": "chats.tasks.announce_windows_task", "schedule": 60.0},
    "redact-expired-message-bodies": {
        "task": "chats.compliance.tasks.redact_expired_bodies_task", "schedule": 24 * 3600.0,
    },
    "requeue-stale-sends": {"task": "chats.tasks.requeue_stale_sends_task", "schedule": 60.0},
    "requeue-lost-media-fetches": {"task": "chats.tasks.requeue_lost_media_fetches_task", "schedule": 300.0},
    # a safety net: drains are woken by each stored webhook (chats/ingress/queue.py)
    "drain-webhook-events": {"task": "chats.tasks.drain_webhook_events_task", "schedule": 30.0},
    # integrations' webhooks: fan the change feed out and try the deliveries that are due (retries)
    "integration-webhooks": {"task": "chats.tasks.webhook_fan_out_task", "schedule": 15.0},
    "prune-integration-log": {"task": "chats.tasks.prune_integration_log_task", "schedule": 3600.0},
    "refresh-dashboard-rollup": {
        "task": "chats.compliance.tasks.refresh_dashboard_rollup_task", "schedule": 15 * 60.0,
    },
    # drug safety: the overdue cases, mailed once a day (docs/safety.md)
    "safety-digest": {"task": "chats.tasks.safety_digest_task",
                      "schedule": crontab(hour=env.int("SAFETY_DIGEST_HOUR_UTC", default=7), minute=0)},
}
# Stored webhook bodies (chats/ingress/queue.py): drains running at once, how long a drain
# holds its slot without renewing it, and how long a claimed body waits before another drain
# may take it (a drain killed mid-batch loses its bodies for this long).
WEBHOOK_DRAIN_CONCURRENCY = env.int("WEBHOOK_DRAIN_CONCURRENCY", default=2)
WEBHOOK_DRAIN_SLOT_SECONDS = env.int("WEBHOOK_DRAIN_SLOT_SECONDS", default=10)
WEBHOOK_LEASE_SECONDS = env.int("WEBHOOK_LEASE_SECONDS", default=30)
# A drain with nothing due looks again for this long before it leaves (chats/ingress/queue.py).
WEBHOOK_DRAIN_LINGER_SECONDS = env.float("WEBHOOK_DRAIN_LINGER_SECONDS", default=0.05)
# With tasks run eagerly (no worker to come back after a backoff), a body that failed is tried
# again at once, until processed or dead-lettered (chats/ingress/queue.py).
WEBHOOK_RETRY_WITHOUT_WORKER = env.bool("WEBHOOK_RETRY_WITHOUT_WORKER", default=True)
# Message bodies older than this many days are redacted (rows and statuses stay); 0 keeps them for ever.
MESSAGE_BODY_RETENTION_DAYS = env.int("MESSAGE_BODY_RETENTION_DAYS", default=0)
# The dashboard rollup's beat recomputes yesterday and this many days back in all (late read receipts).
DASHBOARD_ROLLUP_REFRESH_DAYS = env.int("DASHBOARD_ROLLUP_REFRESH_DAYS", default=7)
# A task whose worker died unacknowledged goes back to the Redis queue only after this long;
# the requeue-stale-sends beat (docs/whatsapp.md, Faults) recovers sends sooner.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=3600)}

# --- CRM integrations (docs/integration.md) ---------------------------------------
# Webhooks may go to loopback and private addresses: on in the embedded profile (a receiver on the same
# machine), off on the services profile, where such a URL could reach internal services.
INTEGRATION_WEBHOOK_ALLOW_PRIVATE = env.bool("INTEGRATION_WEBHOOK_ALLOW_PRIVATE", default=not REDIS_URL)
INTEGRATION_WEBHOOK_TIMEOUT_SECONDS = env.float("INTEGRATION_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# A delivery the receiver keeps refusing is tried with backoff for this long, then given up (kept, replayable).
INTEGRATION_WEBHOOK_GIVE_UP_SECONDS = env.int("INTEGRATION_WEBHOOK_GIVE_UP_SECONDS", default=24 * 3600)
# The change feed and the webhook delivery log keep this many days (the prune beat); a feed cursor from
# before what is kept answers 410 `cursor_expired`.
INTEGRATION_CHANGE_RETENTION_DAYS = env.int("INTEGRATION_CHANGE_RETENTION_DAYS", default=30)

# --- Web Push notifications to reps' devices (docs/operations.md, "Notifications") ---------
# The VAPID key pair (`manage.py vapid_keys` prints a fresh one) and the subject push services may
# write to (mailto: or https:). Push is off while any of the three is empty.
VAPID_PUBLIC_KEY = env("VAPID_PUBLIC_KEY", default="")
VAPID_PRIVATE_KEY = env("VAPID_PRIVATE_KEY", default="")
VAPID_SUBJECT = env("VAPID_SUBJECT", default="")
# A lock screen is not private: a notification names the HCP but holds no message text unless this is on.
PUSH_MESSAGE_TEXT = env.bool("PUSH_MESSAGE_TEXT", default=False)
PUSH_TIMEOUT_SECONDS = env.float("PUSH_TIMEOUT_SECONDS", default=10.0)
# Push endpoints over plain http or on loopback and private addresses: only on the embedded profile.
PUSH_ALLOW_PRIVATE_ENDPOINTS = env.bool("PUSH_ALLOW_PRIVATE_ENDPOINTS", default=not REDIS_URL)

# --- Cache (login throttling, webhook drain slots): Redis on the services profile, per-process memory otherwise ---
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "config.cache.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": "rapport", "OPTIONS": {"pool_class": "config.cache.SharedConnectionPool"}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=300)
# Requests per token (`.user`) and per client address (`.ip`) on the limited endpoints: sends
# (POST /threads/{id}/messages/) and searches (GET /accounts/). "N/s", "N/min", "N/hour" or "N/day";
# an empty value lifts that limit (docs/api.md, "Rate limits").
API_THROTTLE_RATES = {
    "send.user": env("API_THROTTLE_SEND_USER", default="120/min"),
    "send.ip": env("API_THROTTLE_SEND_IP", default="600/min"),
    "search.user": env("API_THROTTLE_SEARCH_USER", default="300/min"),
    "search.ip": env("API_THROTTLE_SEARCH_IP", default="1200/min"),
}
# API tokens (django-rest-knox): stored as SHA-512 digests, shown once, each expiring.
REST_KNOX = {"TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=30)), "AUTO_REFRESH": False}
# Failed sign-ins from one address, whatever the usernames, before it waits out the window.
LOGIN_MAX_FAILURES_PER_IP = env.int("LOGIN_MAX_FAILURES_PER_IP", default=20)

# --- Production hardening (docs/security.md): DJANGO_SECURE=1 behind HTTPS ----------------
if env.bool("DJANGO_SECURE", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # /healthz answers the load balancer over plain HTTP on the private network
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Auth ---------------------------------------------------------------------
# The user with their profile in one query. Django's own backend stays listed for sessions it signed
# in before (a session names the backend that made it); they work on, one query slower, until renewed.
AUTHENTICATION_BACKENDS = ["config.auth_backend.ProfileModelBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- I18N / time --------------------------------------------------------------
# The web chat and the API's `detail` texts speak these; catalogues in locale/ (docs/development.md).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "config" / "static"]
# Files HCPs send (chats/media/): the file system under WHATSAPP_MEDIA_ROOT by default, any Django
# storage backend (django-storages' S3, Azure, GCS ...) by setting, never served as public URLs.
WHATSAPP_MEDIA_ROOT = env.path("WHATSAPP_MEDIA_ROOT", default=BASE_DIR / "var" / "inbound-media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "inbound_media": {
        "BACKEND": env("WHATSAPP_MEDIA_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env.json("WHATSAPP_MEDIA_STORAGE_OPTIONS", default={}) or {"location": str(WHATSAPP_MEDIA_ROOT)},
    },
}
WHITENOISE_USE_FINDERS = True

# --- REST API -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "chats.api.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": [
        "chats.api.parsers.JSONParser", "rest_framework.parsers.FormParser", "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "chats.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["chats.api.throttles.PerTokenThrottle", "chats.api.throttles.PerAddressThrottle"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Rapport API",
    "DESCRIPTION": "WhatsApp chat between field reps and HCPs, with compliance rules enforced.",
    "VERSION": "1.0.0",
    "LICENSE": {"name": "Proprietary: Rapport's own"},
    "SERVERS": [{"url": "/", "description": "this Rapport (the schema's own origin)"}],
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "chats.api.schema.finish_schema"],
    # /api/docs/ works offline: Swagger UI from the pinned drf-spectacular-sidecar, not a CDN
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `kind` or `status`; name each choice set once.
    "ENUM_NAME_OVERRIDES": {
        "MessageKindEnum": "chats.models.messages.Message.Kind",
        "MessageStatusEnum": "chats.models.messages.Message.Status",
        "MediaKindEnum": "media_links.models.MediaItem.Kind",
        "TemplateKindEnum": "templates_app.models.MessageTemplate.Kind",
        "ConsentStatusEnum": "consent.models.ConsentStatus",
        "WindowStatusEnum": "chats.conversations.policy.WindowStatus.ALL",
        "ChangeTypeEnum": "chats.integration.feed.CHANGE_TYPES",
        "SafetyCaseStatusEnum": "chats.models.safety.SafetyCase.Status",
        "SafetyTrailKindEnum": "chats.models.safety.SafetyCaseEvent.Kind",
    },
}

# --- WhatsApp -----------------------------------------------------------------
WHATSAPP_BACKEND = env("WHATSAPP_BACKEND", default="sandbox")
# The backend each name stands for; the sandbox's status replay is development tooling.
WHATSAPP_BACKENDS = {
    "cloud": "chats.whatsapp.backends.CloudBackend",
    "sandbox": "chats.devtools.sandbox.ReplayingSandboxBackend",
}
WHATSAPP_GRAPH_URL = env("WHATSAPP_GRAPH_URL", default="https://graph.facebook.com")
# The newest Graph API version in chats/whatsapp/versions.py; a system check warns 60 days before
# the configured one ends.
WHATSAPP_API_VERSION = env("WHATSAPP_API_VERSION", default="v26.0")
WHATSAPP_APP_SECRET = env("WHATSAPP_APP_SECRET", default=SHIPPED_SECRETS["WHATSAPP_APP_SECRET"])
WHATSAPP_VERIFY_TOKEN = env("WHATSAPP_VERIFY_TOKEN", default=SHIPPED_SECRETS["WHATSAPP_VERIFY_TOKEN"])
WHATSAPP_ACCESS_TOKEN = env("WHATSAPP_ACCESS_TOKEN", default=SHIPPED_SECRETS["WHATSAPP_ACCESS_TOKEN"])
WHATSAPP_MPS = env.int("WHATSAPP_MPS", default=80)
WHATSAPP_TIMEOUT_SECONDS = env.float("WHATSAPP_TIMEOUT_SECONDS", default=10.0)
# Sends: HTTP attempts per message on transient errors, backoff bases, and how long a
# worker may wait in place for a rate slot before re-queuing (see docs/whatsapp.md).
WHATSAPP_SEND_MAX_ATTEMPTS = env.int("WHATSAPP_SEND_MAX_ATTEMPTS", default=5)
WHATSAPP_SEND_MAX_DEFERRALS = env.int("WHATSAPP_SEND_MAX_DEFERRALS", default=30)
WHATSAPP_STALE_SEND_SECONDS = env.int("WHATSAPP_STALE_SEND_SECONDS", default=120)  # requeue sweep
WHATSAPP_RETRY_BASE_SECONDS = env.float("WHATSAPP_RETRY_BASE_SECONDS", default=2.0)
WHATSAPP_PAIR_BACKOFF_SECONDS = env.float("WHATSAPP_PAIR_BACKOFF_SECONDS", default=6.0)
WHATSAPP_RATE_MAX_WAIT_SECONDS = env.float("WHATSAPP_RATE_MAX_WAIT_SECONDS", default=2.0)
# Mark the HCP's latest message read at WhatsApp when the rep opens the thread, and show the typing
# indicator while the rep types (which marks it read too); off, the HCP sees neither.
WHATSAPP_SEND_READ_RECEIPTS = env.bool("WHATSAPP_SEND_READ_RECEIPTS", default=True)
# Sandbox status webhooks arrive 1 s (delivered) and 3 s (read) after a send, as with Meta;
# tests turn the pacing off so statuses are played at once.
WHATSAPP_SANDBOX_PACED = env.bool("WHATSAPP_SANDBOX_PACED", default=True)
# Inbound media (docs/whatsapp.md "Inbound media"): the largest file Rapport fetches (Meta's own cap
# is 100 MB, for documents), how long Meta keeps a webhook's media (retries stop then), the backoff.
WHATSAPP_MEDIA_MAX_BYTES = env.int("WHATSAPP_MEDIA_MAX_BYTES", default=100 * 1024 * 1024)
WHATSAPP_MEDIA_RETENTION_HOURS = env.int("WHATSAPP_MEDIA_RETENTION_HOURS", default=7 * 24)
WHATSAPP_MEDIA_RETRY_BASE_SECONDS = env.float("WHATSAPP_MEDIA_RETRY_BASE_SECONDS", default=30.0)
WHATSAPP_MEDIA_RETRY_MAX_SECONDS = env.float("WHATSAPP_MEDIA_RETRY_MAX_SECONDS", default=3600.0)
# The sandbox backend's stand-in for Meta's media store: files the simulator "uploads" as an HCP.
WHATSAPP_SANDBOX_MEDIA_DIR = env.path("WHATSAPP_SANDBOX_MEDIA_DIR", default=BASE_DIR / "var" / "sandbox-media")
# Unset, it follows the address `make run` serves on (HOST and PORT), so links work there.
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default=None) or "http://{}:{}".format(
    env("RAPPORT_HOST", default="127.0.0.1"), env("RAPPORT_PORT", default="8000"))

# --- Drug safety (docs/safety.md) -------------------------------------------------
# Where possible adverse events are forwarded, and the daily digest of overdue ones goes.
SAFETY_MAILBOX = env("SAFETY_MAILBOX", default="drug.safety@example.com")
# A case is due at drug safety this many hours after Rapport received the HCP's message.
SAFETY_CASE_DEADLINE_HOURS = env.int("SAFETY_CASE_DEADLINE_HOURS", default=24)
# The admin queue marks an open case "due soon" this many hours before its deadline.
SAFETY_CASE_DUE_SOON_HOURS = env.int("SAFETY_CASE_DUE_SOON_HOURS", default=4)
# Django's e-mail backend: the console in the embedded profile (mails are printed), SMTP where configured.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="rapport@example.com")

# --- Logging ------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # httpx logs every request at INFO (a line per Graph call); the outcomes that matter are logged by us.
    "loggers": {name: {"level": "WARNING"} for name in ("httpx", "httpcore")},
}
