"""django-helpdesk 2.6.1's ``escalate_tickets``, end to end, in a virtualenv of its own
(``bench_sweep`` installs it through ``helpdesk_venv`` and runs this file with that Python).

Usage: ``python helpdesk_escalate.py N [N ...]``. With ``HELPDESK_DATABASE_URL``
(``postgres://user:password@host:port/name``) the database ``name`` on that server is made
afresh and dropped at the end, else a SQLite file.

For each N: a queue that escalates after one day (``escalate_days=1``) with a CC address for
updated tickets (``updated_ticket_cc``: the office), 100 staff owners, N open tickets of
priority 3, each from a resident of its own (``submitter_email``) and assigned round robin,
created three days ago and never escalated: every one is due. Then
``call_command("escalate_tickets", "--queues", <the queue>)``, timed as a whole: CPU
(``time.process_time()``, this process only: the database server's share is in the wall time)
and wall time, the queries, and the e-mails it sends through Django's locmem backend (per
ticket: the submitter, the queue's CC, the owner; a template looked up and rendered twice for
each). A warm-up queue of 3 tickets goes first. Checks after: N tickets at priority 2, N
follow-ups, no address mailed twice about one ticket.

Prints ``HELPDESK escalate-<N> cpu wall queries emails escalated duplicates``.
"""

import datetime
import os
import sys
import time

from helpdesk_configure import configure, database

URL = os.environ.get("HELPDESK_DATABASE_URL", "")
OWNERS = 100
configure(root_urlconf=__name__, db=database(URL))

from django.core import mail  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.utils import timezone  # noqa: E402

urlpatterns = [path("", include("helpdesk.urls"))]


def _recreate_database() -> None:
    """Make the database that ``URL`` names afresh, from the server's ``postgres`` database."""
    import psycopg2

    db = connection.settings_dict
    admin = psycopg2.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"], dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}"')
        cursor.execute(f'CREATE DATABASE "{db["NAME"]}"')
    admin.close()


def _drop_database() -> None:
    import psycopg2

    db = connection.settings_dict
    connection.close()
    admin = psycopg2.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"], dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}"')
    admin.close()


def _load(n: int, owners: list) -> str:
    """A queue that escalates and ``n`` tickets in it, all due: its slug."""
    from helpdesk.models import Queue, Ticket

    slug = f"overdue-{n}"
    queue = Queue.objects.create(
        title=f"Overdue {n}",
        slug=slug,
        escalate_days=1,
        email_address="queue@example.com",
        updated_ticket_cc="office@example.com",
    )
    Ticket.objects.bulk_create(
        (
            Ticket(
                title=f"Street lights out {i}",
                queue=queue,
                submitter_email=f"resident{i}@example.com",
                assigned_to=owners[i % len(owners)],
                description="Three street lights at the village entrance have been out for a month.",
                priority=3,
            )
            for i in range(n)
        ),
        batch_size=2000,
    )
    # created is auto_now_add: moved back with an UPDATE, which auto_now fields leave alone.
    then = timezone.now() - datetime.timedelta(days=3)
    Ticket.objects.filter(queue=queue).update(created=then, modified=then)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return slug


def _escalate(slug: str) -> tuple[float, float, int]:
    """Run ``escalate_tickets`` on the queue ``slug``: (CPU seconds, wall seconds, queries)."""
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        cpu, wall = time.process_time(), time.perf_counter()
        call_command("escalate_tickets", "--queues", slug)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu, wall, queries


def main(sizes: list[int]) -> None:
    from django.contrib.auth import get_user_model
    from helpdesk.models import FollowUp, Ticket

    if URL:
        _recreate_database()
    try:
        call_command("migrate", verbosity=0)
        owners = get_user_model().objects.bulk_create(
            get_user_model()(username=f"owner{i}", email=f"owner{i}@example.com", is_staff=True)
            for i in range(OWNERS)
        )
        _escalate(_load(3, owners))  # warm: the command imported, its templates read once
        for n in sizes:
            slug = _load(n, owners)
            mail.outbox = []
            cpu, wall, queries = _escalate(slug)
            escalated = Ticket.objects.filter(queue__slug=slug, priority=2).count()
            followups = FollowUp.objects.filter(ticket__queue__slug=slug).count()
            assert escalated == followups == n, (n, escalated, followups)
            # The subject names the ticket ([overdue-N-id]): one address, one ticket, one message.
            pairs = [(to, message.subject) for message in mail.outbox for to in message.to]
            duplicates = len(pairs) - len(set(pairs))
            print(
                f"HELPDESK escalate-{n} {cpu} {wall} {queries} {len(mail.outbox)} {escalated} {duplicates}",
                flush=True,
            )
            mail.outbox = []
    finally:
        if URL:
            _drop_database()


main([int(arg) for arg in sys.argv[1:]] or [2_000, 10_000])
