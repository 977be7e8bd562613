"""django-helpdesk 2.6.1's public ticket form, measured in-process in a virtualenv of its own
(``bench_intake`` installs it under ``bench/.cache`` and runs this file with that Python).

Same method as ``bench_intake``: Django's test client, each submission a GET of
``/tickets/submit/`` and a POST of it (a public queue, a title, a body, an e-mail address: its
required fields), CPU as ``time.process_time()``, against a bare view in the same process,
alternating rounds, min/median/max of 3. SQLite, ``DEBUG=True``, Django's locmem e-mail backend
(helpdesk mails the submitter while answering the POST). Prints ``HELPDESK <kind> min median max``.
"""

import statistics
import sys
import time

from helpdesk_configure import configure, database

N = int(sys.argv[1]) if len(sys.argv) > 1 else 60
ROUNDS = 3
configure(root_urlconf=__name__, db=database())

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
