"""Settings for Liaison, read from environment variables with defaults for a laptop.

With no variables set this runs on SQLite under ``var/``, a filesystem Celery broker and
a local-memory cache: no server to install. ``DATABASE_URL`` and ``REDIS_URL`` switch to
PostgreSQL and Redis. The README lists every variable.
"""

import ipaddress
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from liaison.env import Env

env = Env()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.str("LIAISON_VAR_DIR") or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off. "
            "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    SECRET_KEY = "django-insecure-development-only-never-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "liaison",
    "reps",
    "studios",
    "proposals",
    "liaison.admin_site.LiaisonAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "bootstrap",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]

MIDDLEWARE = [
    "liaison.metrics.MetricsMiddleware",
    "liaison.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "liaison.middleware.PermissionsPolicyMiddleware",
    # A flood of the public intake from one address is refused here, with the headers above and
    # before the session, CSRF, authentication and the form are read (its 429 costs a bare request).
    "proposals.middleware.IntakeFloodMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "liaison.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "liaison.audit.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "liaison.session_policy.SessionPolicyMiddleware",
    "liaison.twofa.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "liaison.urls"
WSGI_APPLICATION = "liaison.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "liaison.context_processors.nav",
                "liaison.context_processors.notifications",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL says otherwise.
DATABASES = {
    "default": env.database(
        "DATABASE_URL",
        default=f"sqlite:///{VAR_DIR / 'liaison.sqlite3'}",
        conn_max_age=env.int("DATABASE_CONN_MAX_AGE", 60),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# SQLite builds an index without its INCLUDE columns (ticket_unit_running covers the township only
# on PostgreSQL, for an index-only scan): the same index, less covering, which is all the laptop needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"] if DATABASES["default"]["ENGINE"].endswith("sqlite3") else []

AUTH_USER_MODEL = "liaison.User"
AUTHENTICATION_BACKENDS = [
    # Django's password check, refusing a username or IP locked after failed sign-ins.
    "liaison.lockout.LockoutBackend",
    "liaison.backends.RolePermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
# Failed sign-ins (liaison.lockout): a username is locked by its county's SecurityPolicy; an IP
# address is refused for LOGIN_IP_LOCKOUT_MINUTES after LOGIN_IP_FAILURE_LIMIT failures within
# as many minutes, whatever the usernames (a studio's shared Wi-Fi has room for a few typos).
LOGIN_IP_FAILURE_LIMIT = env.int("LOGIN_IP_FAILURE_LIMIT", 20)
LOGIN_IP_LOCKOUT_MINUTES = env.int("LOGIN_IP_LOCKOUT_MINUTES", 15)
# Second factor (django-otp, see liaison/twofa.py): the name authenticator apps show beside the
# account; a wrong code doubles the wait before the next try (1, 2, 4 ... seconds, per device).
OTP_TOTP_ISSUER = "党代表工作室"
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Whether the security policies' second factor is asked at all. Always on in a deployment; the
# test suite turns it off for the tests that sign staff in with a password only, and
# tests/liaison/test_twofa.py turns it back on.
LIAISON_TWO_FACTOR_ENFORCED = True

# Internationalisation: Simplified Chinese first, English as the second language.
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LANGUAGE_CODE = env.choice("LANGUAGE_CODE", [code for code, _name in LANGUAGES], "zh-hans")
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT") or VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Redis, when configured, carries the Celery broker, results, the cache and rate limits.
REDIS_URL = env.redis_url("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # An unreachable Redis costs a request two seconds, not a hung worker: the rate limits
            # then fall back to a per-process count (proposals.ratelimit).
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery. Without Redis, kombu's filesystem transport and the file result backend need no
# server, so `make run` runs a real worker and beat on a bare laptop.
CELERY_BROKER_DIR = VAR_DIR / "celery"
# (The filesystem transport ignores the host; naming one keeps kombu from warning on every send.)
CELERY_BROKER_URL = REDIS_URL or "filesystem://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or f"file://{CELERY_BROKER_DIR / 'results'}"
# How long Redis waits for an unacknowledged task before handing it to another worker. With
# acks_late a task is acknowledged after it runs, so this must exceed the longest task and
# the longest retry countdown; it is set once and used for broker and results alike.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", 2 * 60 * 60)
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # The exchange table; kombu's default is "control" in the working directory.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {}
    # The filesystem broker is shared by web, worker and beat through these folders.
    for _sub in ("queue", "processed", "results", "control"):
        (CELERY_BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# E-mail and SMS, the channels of notifications (liaison.notify, liaison.channels).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", "localhost")
EMAIL_PORT = env.int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
# Seconds an SMTP call may take: a delivery's row stays locked while it is sent (liaison.notify).
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "liaison@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SMS_BACKEND = env.choice("SMS_BACKEND", ["console", "http"], "console")
SMS_HTTP_URL = env.str("SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = env.str("SMS_HTTP_TOKEN", "")
SMS_SIGN_NAME = env.str("SMS_SIGN_NAME", "党代表工作室")
if SMS_BACKEND == "http" and not SMS_HTTP_URL:
    raise ImproperlyConfigured("SMS_BACKEND=http needs SMS_HTTP_URL.")
# The site's address, e.g. https://liaison.example.cn: notification emails link to it when set.
SITE_URL = env.str("SITE_URL", "")

# Security. HTTPS is assumed whenever DEBUG is off; HTTPS=0 turns it off for a plain-http
# test deployment. Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER=1.
HTTPS = env.bool("HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) on every response: scripts, styles and everything else come
# from this site's own static files only. No inline <script>, no onclick=, no <style> or style=""
# (tests/liaison/test_headers.py scans the templates); data to a script goes in data- attributes or
# json_script. Images may also be data: URLs, which Bootstrap's CSS uses for its small icons.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# No page uses the camera, microphone, location, payments or USB. (Taking a photo for a visit goes
# through a file input, which opens the phone's camera app without this permission.)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
# Uploads larger than this go to a temp file rather than memory; the hard caps are per form.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Each line carries the request id (liaison.logs); LOG_FORMAT=json writes JSON lines instead of text.
LOG_FORMAT = env.choice("LOG_FORMAT", ["plain", "json"], "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "liaison.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "liaison.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

ADMINS = [("Liaison", addr) for addr in env.list("ADMIN_EMAILS")]

# Load balancers probe /healthz over plain http inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Degraded modes and public-facing limits (issue 11).
# The proxies whose X-Forwarded-For is believed (addresses or CIDR blocks, e.g. 127.0.0.1):
# liaison.http.client_ip. Empty: the header is ignored and REMOTE_ADDR is the client.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES")
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or network.") from None
# Rate limits of the public pages, per hour (proposals.ratelimit): intake posts per form and
# address, and per address (a studio's shared Wi-Fi on a reception day); wrong tracking pairs
# per code and address, and per address across codes.
RATE_LIMITS = {
    "intake": (env.int("RATE_LIMIT_INTAKE_FORM", 10), 3600),
    "intake_ip": (env.int("RATE_LIMIT_INTAKE_IP", 200), 3600),
    "track_code": (env.int("RATE_LIMIT_TRACK_CODE", 5), 3600),
    "track_ip": (env.int("RATE_LIMIT_TRACK_IP", 20), 3600),
    "results_ip": (env.int("RATE_LIMIT_RESULTS_IP", 300), 60),
    "open311_key": (env.int("RATE_LIMIT_OPEN311_KEY", 600), 3600),
}
# With DEBUG off, the console email and SMS backends (which only log) stop start-up unless this
# says they are meant (a demo or test deployment): liaison.checks.
LIAISON_ALLOW_CONSOLE_MESSAGES = env.bool("LIAISON_ALLOW_CONSOLE_MESSAGES", default=False)
# /healthz shows its details (which check failed and why) to staff and to this bearer token.
HEALTHZ_TOKEN = env.str("HEALTHZ_TOKEN", "")
# Nightly backups (liaison.backup, beat's "backup" entry, `manage.py backup`): where the archives
# go (put it on another disk or a mounted share) and how many of them are kept.
BACKUP_DIR = Path(env.str("LIAISON_BACKUP_DIR") or VAR_DIR / "backups")
BACKUP_KEEP = env.int("LIAISON_BACKUP_KEEP", 14)
# How far back the ticket-event sweep catches up after an outage (proposals.reminders): older
# events are skipped with a warning in the log and on /healthz.
EVENT_CATCH_UP_DAYS = env.int("EVENT_CATCH_UP_DAYS", 30)
# Seconds before the first retry of a failed webhook delivery; each further retry waits twice as
# long, at most 30 minutes (proposals.webhooks.retry_delay).
WEBHOOK_RETRY_BACKOFF = env.int("WEBHOOK_RETRY_BACKOFF", 60)
