"""django-helpdesk 2.6.1's public ticket form, measured in-process in a virtualenv of its own
(``bench_intake`` installs it under ``bench/.cache`` and runs this file with that Python).

Same method as ``bench_intake``: Django's test client, each submission a GET of
``/tickets/submit/`` and a POST of it (a public queue, a title, a body, an e-mail address: its
required fields), CPU as ``time.process_time()``, against a bare view in the same process,
alternating rounds, min/median/max of 3. SQLite, ``DEBUG=True``, Django's locmem e-mail backend
(helpdesk mails the submitter while answering the POST). Prints ``HELPDESK <kind> min median max``.
"""

import os
import statistics
import sys
import tempfile
import time

import django
from django.conf import settings

N = int(sys.argv[1]) if len(sys.argv) > 1 else 60
ROUNDS = 3
settings.configure(
    DEBUG=True,
    SECRET_KEY="bench-helpdesk-" + "x" * 40,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
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
    DATABASES={
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(tempfile.mkdtemp(), "hd.db")}
    },
    STATIC_URL="/static/",
    SITE_ID=1,
    USE_TZ=True,
    MEDIA_ROOT=tempfile.mkdtemp(),
    EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    HELPDESK_TEAMS_MODE_ENABLED=False,  # else its migrations need pinax-teams
)
django.setup()

from django.core.management import call_command  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.shortcuts import redirect  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import include, path  # noqa: E402


def bare(request):
    if request.method == "POST":
        return redirect("/bench/bare/")
    return HttpResponse("<form method='post'><input name='title'></form>")


urlpatterns = [path("bench/bare/", bare), path("", include("helpdesk.urls"))]


def submissions(kind: str, client, queue, n: int) -> float:
    url = {"bare": "/bench/bare/", "helpdesk": "/tickets/submit/"}[kind]
    data = {
        "queue": queue.pk,
        "title": "Street lights out",
        "body": "Three street lights at the village entrance have been out for a month.",
        "submitter_email": "resident@example.com",
        "priority": 3,
    }
    started = time.process_time()
    for _ in range(n):
        page = client.get(url)
        assert page.status_code == 200, (kind, page.status_code)
        sent = client.post(url, data)
        assert sent.status_code == 302, (kind, sent.status_code)
    return time.process_time() - started


def main() -> None:
    from helpdesk.models import Queue, Ticket

    call_command("migrate", verbosity=0)
    queue = Queue.objects.create(title="Public", slug="public", allow_public_submission=True)
    client = Client(REMOTE_ADDR="10.9.9.9")
    per: dict[str, list[float]] = {"bare": [], "helpdesk": []}
    for kind in per:
        submissions(kind, client, queue, 3)
    for _ in range(ROUNDS):
        for kind in per:
            per[kind].append(submissions(kind, client, queue, N) / N)
    assert Ticket.objects.count() == 3 + ROUNDS * N
    for kind, values in per.items():
        print(f"HELPDESK {kind} {min(values)} {statistics.median(values)} {max(values)}", flush=True)


main()
