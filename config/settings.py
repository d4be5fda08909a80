"""BotPresto settings: every value comes from the environment (see .env.example)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from botpresto.crypto import KeyRingError, development_key_ring, parse_key_ring
from config.env import env_bool, env_db, env_email, env_float, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # local state for the embedded defaults; ignored by git

if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("TESTING", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

PUBLIC_URL = env_url("PUBLIC_URL", "http://127.0.0.1:8000")
ALLOWED_HOSTS = [*env_list("ALLOWED_HOSTS"), urlsplit(PUBLIC_URL).hostname or ""]
if DEBUG:
    ALLOWED_HOSTS += ["localhost", "127.0.0.1", "[::1]", "testserver"]
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL] if PUBLIC_URL.startswith("https://") else []

# --- Encryption at rest -----------------------------------------------------
_keys = env_str("ENCRYPTION_KEYS")
if _keys:
    try:
        ENCRYPTION_KEYRING = parse_key_ring(_keys)
    except KeyRingError as exc:
        raise ImproperlyConfigured(f"ENCRYPTION_KEYS is invalid: {exc}.") from None
elif DEBUG or TESTING:
    ENCRYPTION_KEYRING = development_key_ring(SECRET_KEY)
else:
    raise ImproperlyConfigured(
        "ENCRYPTION_KEYS must be set when DEBUG is off (generate one with "
        "`python -c 'import base64,os; print(\"k1:\" + base64.b64encode(os.urandom(32)).decode())'`)."
    )
del _keys

# --- Applications -----------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "botpresto",
    "proxy",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
                "botpresto.context_processors.maintenance",
            ],
        },
    },
]

# --- Data -------------------------------------------------------------------
DATABASES = {"default": env_db("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "bp"),
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    # Shared by every process on the machine, unlike the local-memory cache.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "botpresto_cache",
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "bp"),
            # Locks and the analytics seen-set live here too: the default cull at 300
            # entries would drop them at random. Expired entries are still removed.
            "OPTIONS": {"MAX_ENTRIES": 1_000_000},
        }
    }

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    # The embedded default: a real broker in a folder, so `make run` needs no server.
    _queue_dir = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
    for _folder in (_queue_dir, VAR_DIR / "celery" / "control"):
        _folder.mkdir(parents=True, exist_ok=True)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Starts due maintenance windows, ends them, sends advance notices.
    "maintenance-tick": {"task": "botpresto.tasks.maintenance_tick_task", "schedule": crontab()},
    # Each minute checks the slice of bots whose turn it is (see WEBHOOK_HEALTH_MINUTES).
    "webhook-health": {"task": "botpresto.tasks.webhook_health_beat_task", "schedule": crontab()},
}

# --- Analytics --------------------------------------------------------------
ANALYTICS_BATCH_SIZE = env_int("ANALYTICS_BATCH_SIZE", 5000, minimum=1, maximum=20000)
ANALYTICS_DRAIN_SECONDS = env_float("ANALYTICS_DRAIN_SECONDS", 10, minimum=1, maximum=300)
ANALYTICS_RETENTION_DAYS = env_int("ANALYTICS_RETENTION_DAYS", 400, minimum=1)
ANALYTICS_MIXPANEL_BUFFER_MAX = env_int("ANALYTICS_MIXPANEL_BUFFER_MAX", 100_000, minimum=0)
ANALYTICS_MIXPANEL_TIMEOUT = env_float("ANALYTICS_MIXPANEL_TIMEOUT", 10, minimum=0.1, maximum=60)
ANALYTICS_MIXPANEL_CONCURRENCY = env_int("ANALYTICS_MIXPANEL_CONCURRENCY", 8, minimum=1, maximum=64)
CELERY_BEAT_SCHEDULE.update(
    {
        # Frequent and short-lived: a tick that finds a drain running returns at once,
        # and a tick nobody picked up in time is dropped instead of piling up.
        "analytics-drain": {
            "task": "analytics.tasks.analytics_drain_task",
            "schedule": 2.0,
            "options": {"expires": 10},
        },
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
    }
)

# --- Integrations -----------------------------------------------------------
TELEGRAM_API_URL = env_url("TELEGRAM_API_URL", "https://api.telegram.org")
TELEGRAM_CONNECT_TIMEOUT = env_float("TELEGRAM_CONNECT_TIMEOUT", 3.05, minimum=0.1, maximum=30)
TELEGRAM_READ_TIMEOUT = env_float("TELEGRAM_READ_TIMEOUT", 10, minimum=0.5, maximum=60)
MIXPANEL_API_URL = env_url("MIXPANEL_API_URL", "https://api.mixpanel.com")
ALLOW_PRIVATE_UPSTREAMS = env_bool("ALLOW_PRIVATE_UPSTREAMS", False)

# --- Maintenance windows and webhook health -----------------------------------
# Bot API calls per second for bulk work (maintenance switches, health checks), shared by all workers.
MAINTENANCE_CALLS_PER_SECOND = env_float("MAINTENANCE_CALLS_PER_SECOND", 10, minimum=0.1, maximum=1000)
MAINTENANCE_NOTICE_HOURS = env_int("MAINTENANCE_NOTICE_HOURS", 24, minimum=0, maximum=24 * 30)
MAINTENANCE_CHUNK_SIZE = env_int("MAINTENANCE_CHUNK_SIZE", 50, minimum=1, maximum=10_000)
WEBHOOK_HEALTH_MINUTES = env_int("WEBHOOK_HEALTH_MINUTES", 5, minimum=1, maximum=24 * 60)
MANUAL_SILENT_HOURS = env_int("MANUAL_SILENT_HOURS", 24, minimum=1, maximum=24 * 365)

# --- The proxy (POST /proxy/bot/<uuid>) ----------------------------------------
PROXY_MAX_BODY_BYTES = env_int("PROXY_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
PROXY_CONNECT_TIMEOUT = env_float("PROXY_CONNECT_TIMEOUT", 3.05, minimum=0.05, maximum=10)
# Telegram waits 60 s for our answer: the read timeout must leave time to answer it.
PROXY_READ_TIMEOUT = env_float("PROXY_READ_TIMEOUT", 25, minimum=0.1, maximum=50)
PROXY_RETRY_AFTER = env_int("PROXY_RETRY_AFTER", 5, minimum=0, maximum=3600)
PROXY_MAX_IN_FLIGHT_PER_BOT = env_int("PROXY_MAX_IN_FLIGHT_PER_BOT", 32, minimum=1)
PROXY_TELEGRAM_SOURCE_CHECK = env_bool("PROXY_TELEGRAM_SOURCE_CHECK", False)
PROXY_TELEGRAM_SOURCE_RANGES = env_list("PROXY_TELEGRAM_SOURCE_RANGES", ["149.154.160.0/20", "91.108.4.0/22"])
for _range in PROXY_TELEGRAM_SOURCE_RANGES:
    try:
        ipaddress.ip_network(_range)
    except ValueError:
        raise ImproperlyConfigured(f"PROXY_TELEGRAM_SOURCE_RANGES has a bad network: {_range!r}.") from None
PROXY_FORWARDED_FOR_HEADER = env_str("PROXY_FORWARDED_FOR_HEADER")
NOTICE_COOLDOWN_SECONDS = env_int("NOTICE_COOLDOWN_SECONDS", 600, minimum=0)
ALERT_AFTER_FAILURES = env_int("ALERT_AFTER_FAILURES", 3, minimum=1)

# --- Email ------------------------------------------------------------------
globals().update(env_email("EMAIL_URL", "consolemail://"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "BotPresto <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Auth and pages ---------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PUBLIC_URL.startswith("https://")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "botpresto.pagination.StrictLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "botpresto.api_errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

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
        "botpresto.openapi.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {"BotStatusEnum": "botpresto.models.Bot.Status", "BotModeEnum": "botpresto.models.Bot.Mode"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # urllib3 logs full request URLs at DEBUG, and Bot API URLs carry the token.
        "urllib3": {"level": "WARNING"},
    },
}
