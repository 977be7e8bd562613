"""Test settings: the production settings module with a test secret and plain http.

Everything else (database, Redis) comes from the environment that `make test` sets up, so
the suite runs against the same settings code that production does.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("HTTPS", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from liaison.settings import *  # noqa: E402, F403
from liaison.settings import STORAGES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests render templates without running collectstatic first.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Persistent connections would outlive the live server's requests and keep the test database
# open when pytest-django drops it at the end of the session.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# The suite runs with DEBUG off and sends nothing for real: the console backends are meant.
LIAISON_ALLOW_CONSOLE_MESSAGES = True
# Most tests sign staff in with a password only; tests/liaison/test_twofa.py and the browser test
# of the second factor turn it on (the `two_factor` fixture).
LIAISON_TWO_FACTOR_ENFORCED = False
