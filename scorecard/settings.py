"""Settings for every runtime shape, configured from environment variables.

Defaults give the embedded mode (SQLite, eager Celery, local-memory cache). Production sets
DATABASE_URL, CELERY_BROKER_URL, REDIS_URL, SECRET_KEY and DEBUG=0.
"""

from __future__ import annotations

import importlib.util
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEFAULT_SECRET_KEY = "insecure-embedded-mode-key-do-not-use-in-production"
# Off unless set: production fails closed. The embedded mode (make demo / make serve / the test suite)
# sets DEBUG=1 explicitly (the Makefile, scorecard/settings_dev.py).
DEBUG = env_bool("DEBUG", False)
# The configured mode, kept apart from DEBUG (which the test runner turns off): seed_demo asks it.
SCORECARD_EMBEDDED = DEBUG
SECRET_KEY = os.environ.get("SECRET_KEY", "") or DEFAULT_SECRET_KEY
if not DEBUG and SECRET_KEY in {"", DEFAULT_SECRET_KEY}:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a private value when DEBUG is off (DEBUG is off unless set). "
        "For the embedded mode on a laptop, set DEBUG=1 (make demo and make serve do)."
    )

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "scorecard.admin_site.OperatorAdminConfig",  # the Django admin, superusers only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "template_partials",
    "treebeard",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",  # recovery codes
    "scorecard",
    "territories",
    "sales",
    "people",
    "perspectives",
    "kpis",
    "imports",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "scorecard.middleware.IdleSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the second step was given
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "scorecard.urls"
WSGI_APPLICATION = "scorecard.wsgi.application"

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
                "scorecard.context_processors.current_membership",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "") or f"sqlite:///{BASE_DIR / 'scorecard.sqlite3'}"
_db = dj_database_url.parse(DATABASE_URL)
if _db["ENGINE"] == "django.db.backends.postgresql":
    # Django's native psycopg 3 pool; it requires persistent connections to be off.
    _db["CONN_MAX_AGE"] = 0
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("DB_POOL_MIN", "1")),
        "max_size": int(os.environ.get("DB_POOL_MAX", "10")),
        "timeout": 10,
    }
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    _db.setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache ------------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "scorecard"}
    }

# --- celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "scorecard")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message whose worker died unacknowledged is redelivered after this many seconds (Redis broker).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))
}
# An organisation's recomputes go to its shard queue, "<SCORECARD_RECOMPUTE_QUEUE>-<org id % SHARDS>", each
# consumed by one single-process worker that keeps the organisation's deals warm (kpis.recompute.route).
SCORECARD_RECOMPUTE_SHARDS = max(1, int(os.environ.get("SCORECARD_RECOMPUTE_SHARDS", "1")))
SCORECARD_RECOMPUTE_QUEUE = os.environ.get("SCORECARD_RECOMPUTE_QUEUE", "recompute")
CELERY_TASK_ROUTES = ["kpis.recompute.route"]
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-rollups": {
        "task": "kpis.tasks.recompute_sweep",
        "schedule": 5 * 60,
        "options": {"expires": 4 * 60},
    },
    "expire-import-files": {
        "task": "imports.tasks.import_jobs_expire",
        "schedule": crontab(hour=3, minute=30),
        "options": {"expires": 60 * 60},
    },
    "nightly-full-recompute": {
        "task": "kpis.tasks.recompute_all_nightly",
        "schedule": crontab(hour=int(os.environ.get("NIGHTLY_RECOMPUTE_HOUR", "2")), minute=0),
        "options": {"expires": 60 * 60},
    },
}
# Changes enqueue a recompute of the affected periods after commit (off: only nightly and on demand).
SCORECARD_AUTO_RECOMPUTE = env_bool("SCORECARD_AUTO_RECOMPUTE", True)
# Leading- and trailing-edge debounce: the first change after SETTLE quiet seconds runs at once; changes
# right after a run wait until none came in for SETTLE seconds (at most MAX_WAIT).
SCORECARD_RECOMPUTE_SETTLE_SECONDS = float(os.environ.get("SCORECARD_RECOMPUTE_SETTLE_SECONDS", "1.0"))
SCORECARD_RECOMPUTE_MAX_WAIT_SECONDS = float(os.environ.get("SCORECARD_RECOMPUTE_MAX_WAIT_SECONDS", "30"))
# A recompute lock outlives a crashed worker by at most this long.
SCORECARD_RECOMPUTE_LOCK_SECONDS = int(os.environ.get("SCORECARD_RECOMPUTE_LOCK_SECONDS", "900"))
# Fault injection, for tests only: dotted path of a callable(org) a recompute calls just before it writes
# (tests/kpis/faults.py holds the transaction open). Unset in production.
SCORECARD_RECOMPUTE_BEFORE_WRITE = os.environ.get("SCORECARD_RECOMPUTE_BEFORE_WRITE") or None
# Organisations whose deals a process keeps in memory between recomputes (kpis.rollup.warm); 0 = off.
SCORECARD_WARM_ORGS = int(os.environ.get("SCORECARD_WARM_ORGS", "2"))

# --- change history (django-simple-history) ---------------------------------------------------
# Reasons ("why this target changed", "why this period was unlocked") are free text, not 100 chars.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# --- auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one account, or from one
# IP address, that account or address is locked out for AXES_COOLOFF_MINUTES; every attempt is logged.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: per account and per address
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False  # no start-up banner on every manage.py command
# Behind a proxy the client's address is in X-Forwarded-For only when the proxy is trusted to set it.
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("AXES_PROXY_COUNT", "0")) or None
# Invitations carry a set-password link (the password-reset token, valid PASSWORD_RESET_TIMEOUT seconds).
# The embedded mode prints mail on the console; production sets an SMTP backend and its server.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "") or "django.core.mail.backends.console.EmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "") or "localhost"
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "") or "25")
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "") or "Sales Scorecard <scorecard@localhost>"
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT", "") or str(7 * 24 * 60 * 60))
# Two-factor sign-in (django-otp, scorecard/twofactor.py): optional per user; with SCORECARD_REQUIRE_2FA
# admins and platform operators must enrol before any page works. Wrong codes wait 1, 2, 4 … seconds.
SCORECARD_REQUIRE_2FA = env_bool("SCORECARD_REQUIRE_2FA", False)
OTP_TOTP_ISSUER = "Sales Scorecard"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sales Scorecard API",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- i18n / static ----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# plotly.js comes from the installed plotly package, so the chart library always matches its version;
# htmx comes from django-htmx ({% htmx_script %}, static/django_htmx/). No CDN.
_plotly_spec = importlib.util.find_spec("plotly")
if _plotly_spec is None or not _plotly_spec.submodule_search_locations:
    raise ImproperlyConfigured("The plotly package is required (it ships plotly.min.js).")
PLOTLY_JS_DIR = Path(_plotly_spec.submodule_search_locations[0]) / "package_data"
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor/plotly", PLOTLY_JS_DIR)]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- imports ----------------------------------------------------------------------------------
# Refused before parsing: a larger file, an XLSX inflating beyond these sizes, more rows (issue 13).
_MB = 1024 * 1024
SCORECARD_IMPORT_MAX_BYTES = int(os.environ.get("SCORECARD_IMPORT_MAX_BYTES", "") or 10 * _MB)
SCORECARD_IMPORT_MAX_UNCOMPRESSED_BYTES = int(
    os.environ.get("SCORECARD_IMPORT_MAX_UNCOMPRESSED_BYTES", "") or 256 * _MB
)
SCORECARD_IMPORT_MAX_SHARED_STRINGS_BYTES = int(
    os.environ.get("SCORECARD_IMPORT_MAX_SHARED_STRINGS_BYTES", "") or 32 * _MB
)
# An upload not imported within this many days loses its file (the job's record stays).
SCORECARD_IMPORT_KEEP_DAYS = int(os.environ.get("SCORECARD_IMPORT_KEEP_DAYS", "") or 7)
SCORECARD_IMPORT_MAX_ROWS = int(os.environ.get("SCORECARD_IMPORT_MAX_ROWS", "") or 1_000_000)

SCORECARD_DATA_DIR = Path(os.environ.get("SCORECARD_DATA_DIR", "") or BASE_DIR.parent / "shared" / "data")

# --- transport security -------------------------------------------------------------------------
# With DEBUG off every protection of `manage.py check --deploy` is on; each can be switched off by the
# environment, e.g. for a local trial over plain HTTP (docker-compose's defaults say how).
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# A client can send X-Forwarded-Proto itself: trust it only behind a TLS-terminating proxy that sets it.
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): only the app's own scripts, styles and images; no inline script,
# no eval, no style attribute. Every main page works under it (tests/browser/test_csp.py). style-src
# allows two exact <style> contents by hash, both from plotly.js (measured: without them its rules do not
# apply and the modebar falls into the page's flow): the empty string, because plotly.js appends an empty
# <style> and fills its sheet through the CSSOM, which CSP does not govern; and the maplibre stylesheet
# plotly.js 4.1.1 injects when it loads (map traces; a new plotly.js fails the browser test with the hash
# it needs). The QR code is inline SVG, no image source; data: is for images plotly.js draws.
CSP_STYLE_HASHES = [
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # "" (empty <style> elements)
    "'sha256-ji27qzEtxXZW+7dun6UwjHXJ18e6WAin1VvNtkzIE/o='",  # plotly.js 4.1.1's maplibre-gl CSS
]
_csp = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", *CSP_STYLE_HASHES],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}
# CSP_REPORT_ONLY=1: browsers report what the policy would block (console, securitypolicyviolation
# events) without blocking it, e.g. to try the policy against a customised deployment first.
if env_bool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _csp
else:
    CONTENT_SECURITY_POLICY = _csp

# Sessions end after SESSION_IDLE_MINUTES without a request (scorecard.middleware.IdleSessionMiddleware
# renews an active session's expiry every few minutes, not with a write on every request).
SESSION_COOKIE_AGE = int(float(os.environ.get("SESSION_IDLE_MINUTES", "120")) * 60)
SESSION_COOKIE_HTTPONLY = True

# /readyz names its failing checks only to staff and to these networks (the health checks of the
# orchestrator); anyone else gets a plain status.
READYZ_DETAIL_NETWORKS = [
    n.strip()
    for n in os.environ.get("READYZ_DETAIL_NETWORKS", "127.0.0.1/32,::1/128").split(",")
    if n.strip()
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
