"""BotPresto settings: every value comes from the environment; .env.example explains each one.

No app code is imported here. The encryption key ring is parsed when the apps load
(botpresto.core.apps), so a bad ENCRYPTION_KEYS also stops the service at start.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from config.env import database, email, env, flag, items, number, text, url, whole_numbers

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # local state: the embedded broker, beat's schedule file; ignored by git
VAR_DIR.mkdir(exist_ok=True)
if (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env")

# --- Core -------------------------------------------------------------------------------
DEBUG = flag("DEBUG", False)
SECRET_KEY = text("SECRET_KEY") or ("insecure-development-key-do-not-use-in-production" if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
ENCRYPTION_KEYS = text("ENCRYPTION_KEYS")  # id:base64key,...; required unless DEBUG
PUBLIC_URL = url("PUBLIC_URL", "http://127.0.0.1:8000")
# Base of the webhook URLs given to Telegram (the proxy role); empty: PUBLIC_URL serves /proxy/ too.
PROXY_URL = url("PROXY_URL", PUBLIC_URL) if text("PROXY_URL") else ""
ALLOWED_HOSTS = [*items("ALLOWED_HOSTS"), *(urlsplit(base).hostname or "" for base in (PUBLIC_URL, PROXY_URL) if base)]
if DEBUG:
    ALLOWED_HOSTS += ["localhost", "127.0.0.1", "[::1]", "testserver"]
HTTPS = PUBLIC_URL.startswith("https://")
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL] if HTTPS else []
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if flag("BEHIND_TLS_PROXY", False) else None
# With an https PUBLIC_URL: plain http is redirected, and browsers are told to use https only.
SECURE_SSL_REDIRECT = flag("SECURE_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = number("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = flag("SECURE_HSTS_PRELOAD", HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Scripts only from this service (the API docs' one inline script carries a nonce); styles may be
# inline (the charts size their bars with style attributes; Redoc injects its styles at run time).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],  # Redoc's search runs in a worker made from a blob
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "botpresto.core",
    "accounts",
    "botpresto.bots",
    "botpresto.notifications",
    "proxy",
    "analytics",
    *(["botpresto.devtools"] if DEBUG else []),
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as axes asks: turns a lockout into its 429 page
]
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.tenant",
                "botpresto.bots.context_processors.maintenance",
            ],
        },
    },
]

# --- Data -------------------------------------------------------------------------------
DATABASES = {"default": database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = number("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
else:
    # An unreachable host fails in seconds, not after the system's TCP timeout (minutes): the proxy's
    # recorder and every task then count and retry instead of hanging. A ?connect_timeout= in the URL wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = text("REDIS_URL")
_cache_prefix = text("CACHE_KEY_PREFIX", "bp")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": _cache_prefix,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
        if REDIS_URL
        else {
            # Shared by every process on the machine, unlike the local-memory cache. Locks and
            # seen-sets live here too: the default cull at 300 entries would drop them at random.
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "botpresto_cache",
            "KEY_PREFIX": _cache_prefix,
            "OPTIONS": {"MAX_ENTRIES": 1_000_000},
        }
    )
}

# --- Background work (Celery) -------------------------------------------------------------
CELERY_BROKER_URL = text("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    # The embedded default: a real broker in a folder, so `make run` needs no server. kombu's own
    # folder transport lets a worker read a message still being written; ours renames complete files
    # into place (botpresto.core.broker).
    CELERY_BROKER_TRANSPORT = "botpresto.core.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "celery" / "queue"),
        "data_folder_out": str(VAR_DIR / "celery" / "queue"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
        "polling_interval": 0.25,  # seconds between looks at an empty queue: alerts go out promptly
    }
    for _folder in ("queue", "control", "staging", "claimed"):
        (VAR_DIR / "celery" / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_ALWAYS_EAGER = flag("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Owners' alerts and users' notices have queues of their own, so neither waits behind the
# other or behind bulk work. The Procfiles run a worker of its own for "alerts" (a worker
# consuming several queues takes the next message of any, so a burst of notices would still
# hold an alert back); a worker started without -Q consumes all three.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [Queue("celery"), Queue("alerts"), Queue("notices")]
CELERY_TASK_ROUTES = {
    "botpresto.notifications.tasks.owner_alert*": {"queue": "alerts"},
    "botpresto.bots.tasks.bot_endpoint_*": {"queue": "alerts"},
    "botpresto.notifications.tasks.notice_*": {"queue": "notices"},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Frequent ticks expire rather than pile up when no worker picked them up in time.
CELERY_BEAT_SCHEDULE = {
    "maintenance-tick": {"task": "botpresto.bots.tasks.maintenance_tick_task", "schedule": crontab()},
    "webhook-health": {"task": "botpresto.bots.tasks.webhook_health_beat_task", "schedule": crontab()},
    "owner-alerts-sweep": {"task": "botpresto.notifications.tasks.owner_alerts_sweep_task", "schedule": 30.0},
    "endpoint-recoveries-sweep": {
        "task": "botpresto.bots.tasks.bot_endpoint_recoveries_sweep_task",
        "schedule": 15.0,
        "options": {"expires": 30},
    },
    "analytics-drain": {"task": "analytics.tasks.analytics_drain_task", "schedule": 2.0, "options": {"expires": 10}},
    "analytics-mixpanel-send": {
        "task": "analytics.tasks.analytics_mixpanel_send_task",
        "schedule": 2.0,
        "options": {"expires": 10},
    },
    "analytics-stats-prune": {
        "task": "analytics.tasks.analytics_stats_prune_task",
        "schedule": 3600.0,
        "options": {"expires": 1800},
    },
    "deliveries-prune": {
        "task": "analytics.tasks.deliveries_prune_task",
        "schedule": 600.0,
        "options": {"expires": 300},
    },
}

# --- Integrations -----------------------------------------------------------------------
TELEGRAM_API_URL = url("TELEGRAM_API_URL", "https://api.telegram.org")
TELEGRAM_CONNECT_TIMEOUT = number("TELEGRAM_CONNECT_TIMEOUT", 3.05, minimum=0.1, maximum=30.0)
TELEGRAM_READ_TIMEOUT = number("TELEGRAM_READ_TIMEOUT", 10.0, minimum=0.5, maximum=60.0)
MIXPANEL_API_URL = url("MIXPANEL_API_URL", "https://api.mixpanel.com")
ALLOW_PRIVATE_UPSTREAMS = flag("ALLOW_PRIVATE_UPSTREAMS", False)
# Ports an owner's endpoint may use: Telegram's own webhook ports unless an operator widens them.
UPSTREAM_ALLOWED_PORTS = whole_numbers("UPSTREAM_ALLOWED_PORTS", [443, 80, 88, 8443])
globals().update(email("EMAIL_URL", "consolemail://"))
DEFAULT_FROM_EMAIL = SERVER_EMAIL = text("DEFAULT_FROM_EMAIL", "BotPresto <noreply@localhost>")

# --- Analytics --------------------------------------------------------------------------
ANALYTICS_BATCH_SIZE = number("ANALYTICS_BATCH_SIZE", 5000, minimum=1, maximum=20000)
ANALYTICS_DRAIN_SECONDS = number("ANALYTICS_DRAIN_SECONDS", 10.0, minimum=1.0, maximum=300.0)
ANALYTICS_RETENTION_DAYS = number("ANALYTICS_RETENTION_DAYS", 400, minimum=1)
ANALYTICS_MIXPANEL_BUFFER_MAX = number("ANALYTICS_MIXPANEL_BUFFER_MAX", 100_000, minimum=0)
ANALYTICS_MIXPANEL_TIMEOUT = number("ANALYTICS_MIXPANEL_TIMEOUT", 10.0, minimum=0.1, maximum=60.0)
ANALYTICS_MIXPANEL_CONCURRENCY = number("ANALYTICS_MIXPANEL_CONCURRENCY", 8, minimum=1, maximum=64)
# The Redis buffer: streams the workers share out by bot, a lease per stream (analytics.buffer).
ANALYTICS_SHARDS = number("ANALYTICS_SHARDS", 8, minimum=1, maximum=32)
ANALYTICS_LEASE_SECONDS = number("ANALYTICS_LEASE_SECONDS", 10.0, minimum=1.0, maximum=300.0)
ANALYTICS_MAX_DELIVERIES = number("ANALYTICS_MAX_DELIVERIES", 5, minimum=1, maximum=100)

# --- Delivery log (analytics.deliveries) ---------------------------------------------------
DELIVERY_LOG_ENABLED = flag("DELIVERY_LOG_ENABLED", True)
DELIVERY_LOG_DAYS = number("DELIVERY_LOG_DAYS", 7, minimum=1, maximum=90)
# A busy bot keeps its newest attempts only, so it cannot fill the database.
DELIVERY_LOG_MAX_PER_BOT = number("DELIVERY_LOG_MAX_PER_BOT", 10_000, minimum=100, maximum=1_000_000)

# --- Maintenance windows and webhook health -------------------------------------------------
MAINTENANCE_CALLS_PER_SECOND = number("MAINTENANCE_CALLS_PER_SECOND", 10.0, minimum=0.1, maximum=1000.0)
MAINTENANCE_NOTICE_HOURS = number("MAINTENANCE_NOTICE_HOURS", 24, minimum=0, maximum=24 * 30)
MAINTENANCE_CHUNK_SIZE = number("MAINTENANCE_CHUNK_SIZE", 50, minimum=1, maximum=10_000)
WEBHOOK_HEALTH_MINUTES = number("WEBHOOK_HEALTH_MINUTES", 5, minimum=1, maximum=24 * 60)
MANUAL_SILENT_HOURS = number("MANUAL_SILENT_HOURS", 24, minimum=1, maximum=24 * 365)

# Bots one tenant may connect: each holds a proxy secret that relays whatever its owner points it at.
BOTS_PER_TENANT_MAX = number("BOTS_PER_TENANT_MAX", 50, minimum=1)

# --- The proxy (POST /proxy/bot/<uuid>) ---------------------------------------------------
PROXY_MAX_BODY_BYTES = number("PROXY_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
# Seconds a client has to send a whole update once its headers arrived; past it, 408.
PROXY_BODY_TIMEOUT = number("PROXY_BODY_TIMEOUT", 10.0, minimum=0.5, maximum=60.0)
# Forwards one proxy process runs at once (each waits on an owner's endpoint); slow clients use none.
PROXY_THREADS = number("PROXY_THREADS", 128, minimum=4, maximum=4096)
PROXY_CONNECT_TIMEOUT = number("PROXY_CONNECT_TIMEOUT", 3.05, minimum=0.05, maximum=10.0)
PROXY_READ_TIMEOUT = number("PROXY_READ_TIMEOUT", 25.0, minimum=0.1, maximum=50.0)  # Telegram waits 60 s
PROXY_RETRY_AFTER = number("PROXY_RETRY_AFTER", 5, minimum=0, maximum=3600)
PROXY_MAX_IN_FLIGHT_PER_BOT = number("PROXY_MAX_IN_FLIGHT_PER_BOT", 32, minimum=1)
# Updates one tenant's bots may bring each second, per proxy process; past it, 429 + Retry-After.
PROXY_TENANT_REQUESTS_PER_SECOND = number("PROXY_TENANT_REQUESTS_PER_SECOND", 1000, minimum=1)
PROXY_TELEGRAM_SOURCE_CHECK = flag("PROXY_TELEGRAM_SOURCE_CHECK", False)
PROXY_TELEGRAM_SOURCE_RANGES = items("PROXY_TELEGRAM_SOURCE_RANGES", ["149.154.160.0/20", "91.108.4.0/22"])
for _range in PROXY_TELEGRAM_SOURCE_RANGES:
    try:
        ipaddress.ip_network(_range)
    except ValueError:
        raise ImproperlyConfigured(f"PROXY_TELEGRAM_SOURCE_RANGES has a bad network: {_range!r}.") from None
PROXY_FORWARDED_FOR_HEADER = text("PROXY_FORWARDED_FOR_HEADER")
NOTICE_COOLDOWN_SECONDS = number("NOTICE_COOLDOWN_SECONDS", 600, minimum=0)
ALERT_AFTER_FAILURES = number("ALERT_AFTER_FAILURES", 3, minimum=1)
# The operator's Telegram bot that sends owners their alerts (empty: no Telegram channel). See alert_bot_setup.
ALERT_BOT_TOKEN = text("ALERT_BOT_TOKEN")
ALERT_WEBHOOK_TIMEOUT = number("ALERT_WEBHOOK_TIMEOUT", 5.0, minimum=0.5, maximum=30.0)

# --- Metrics for operators (botpresto.core.metrics) -----------------------------------------------
# Every process of a host (web, proxy, worker) writes its metrics to files here, and a scrape adds them
# up (prometheus-client's multiprocess mode). Empty it when all of the host's roles are stopped.
# METRICS_ENABLED=false: no process counts anything (make bench measures what counting costs against it).
METRICS_DIR = text("METRICS_DIR", str(VAR_DIR / "metrics")) if flag("METRICS_ENABLED", True) else ""
if METRICS_DIR:
    Path(METRICS_DIR).mkdir(parents=True, exist_ok=True)
    # Read when prometheus_client is imported, which no module does before these settings are loaded.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = METRICS_DIR
# GET /metrics with "Authorization: Bearer <METRICS_TOKEN>" (or as staff); empty: only staff's session.
METRICS_TOKEN = text("METRICS_TOKEN")

# --- Pages, auth and the API ----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
# axes first: it refuses a locked-out email and address before the password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "accounts.backends.EmailBackend"]
LOGIN_URL, LOGIN_REDIRECT_URL, LOGOUT_REDIRECT_URL = "login", "home", "login"
LANGUAGE_CODE, TIME_ZONE, USE_I18N, USE_TZ = "en", "UTC", True, True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ApiKeyAuthentication"],
    # Reads for every role; writes only where a view names the permission they need.
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "botpresto.core.pagination.StrictLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "botpresto.core.api_errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "accounts.throttling.ApiAddressRateThrottle",
        "accounts.throttling.ApiKeyRateThrottle",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# --- How much anyone may ask (accounts.throttling); every refusal is a 429 with Retry-After --------
LOGIN_FAILURE_LIMIT = number("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_LOCKOUT_MINUTES = number("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
LOGIN_ATTEMPTS_PER_ADDRESS_HOUR = number("LOGIN_ATTEMPTS_PER_ADDRESS_HOUR", 60, minimum=1)
SIGNUPS_PER_ADDRESS_HOUR = number("SIGNUPS_PER_ADDRESS_HOUR", 10, minimum=1)
PASSWORD_RESETS_PER_ADDRESS_HOUR = number("PASSWORD_RESETS_PER_ADDRESS_HOUR", 10, minimum=1)
PASSWORD_RESETS_PER_EMAIL_HOUR = number("PASSWORD_RESETS_PER_EMAIL_HOUR", 3, minimum=1)
VERIFICATION_EMAILS_PER_HOUR = number("VERIFICATION_EMAILS_PER_HOUR", 5, minimum=1)
INVITATIONS_PER_TENANT_DAY = number("INVITATIONS_PER_TENANT_DAY", 50, minimum=1)
API_REQUESTS_PER_MINUTE_PER_KEY = number("API_REQUESTS_PER_MINUTE_PER_KEY", 300, minimum=1)
API_REQUESTS_PER_MINUTE_PER_ADDRESS = number("API_REQUESTS_PER_MINUTE_PER_ADDRESS", 600, minimum=1)
API_FAILED_AUTH_PER_ADDRESS = number("API_FAILED_AUTH_PER_ADDRESS", 20, minimum=1)
# django-axes: an email and address pair is locked out after LOGIN_FAILURE_LIMIT failures, pages
# and admin alike; attempts are kept in the database, so every process sees them.
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "accounts.throttling.axes_username"
AXES_CLIENT_IP_CALLABLE = "accounts.throttling.axes_client_address"
AXES_LOCKOUT_CALLABLE = "accounts.throttling.axes_lockout_response"
AXES_VERBOSE = False

SPECTACULAR_SETTINGS = {
    "TITLE": "BotPresto API",
    "DESCRIPTION": "Connect Telegram bots to the BotPresto proxy and read their analytics.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",  # served by this app: no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "botpresto.core.openapi.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "BotStatusEnum": "botpresto.bots.models.Bot.Status",
        "BotModeEnum": "botpresto.bots.models.Bot.Mode",
        "AlertKindEnum": "botpresto.notifications.models.OwnerAlert.Kind",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": text("LOG_LEVEL", "INFO")},
    # urllib3 logs full request URLs at DEBUG, and Bot API URLs carry the token.
    "loggers": {"urllib3": {"level": "WARNING"}},
}
