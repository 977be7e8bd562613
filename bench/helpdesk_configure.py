"""Configure Django for django-helpdesk 2.6.1 in its own virtualenv (``helpdesk_venv``): the
settings the ``helpdesk_*.py`` scripts share. ``DEBUG=True`` as Liaison's benchmarks run
(``bench/run.py``), Django's locmem e-mail backend."""

import os
import tempfile
from urllib.parse import unquote, urlsplit

import django
from django.conf import settings


def database(url: str = "") -> dict:
    """Django's database settings for a ``postgres://user:password@host:port/name`` URL, or a
    fresh SQLite file when ``url`` is empty."""
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(tempfile.mkdtemp(), "hd.db")}
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


def configure(*, root_urlconf: str, db: dict) -> None:
    settings.configure(
        DEBUG=True,
        SECRET_KEY="bench-helpdesk-" + "x" * 40,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=root_urlconf,
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "django.contrib.sites",
            "django.contrib.humanize",
            "rest_framework",
            "helpdesk",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        DATABASES={"default": db},
        STATIC_URL="/static/",
        SITE_ID=1,
        USE_TZ=True,
        MEDIA_ROOT=tempfile.mkdtemp(),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        HELPDESK_TEAMS_MODE_ENABLED=False,  # else its migrations need pinax-teams
    )
    django.setup()
