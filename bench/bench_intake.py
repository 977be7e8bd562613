"""Server CPU and rate of one public submission (GET the form, POST it) for a bare Django view,
a minimal ModelForm intake and Liaison's intake (issue 14: ≤ 2× the minimal intake).

In-process: Django's test client against this module's urlconf (the bench's two views, then the
project's own URLs), each submission a GET of the form page and a POST of it with the token read
from the page, CPU as ``time.process_time()`` over ``BENCH_INTAKE_N`` submissions (client and
server are one process: the client's share is the same for each intake, so it is in the bare
view's figure too and the ratios are, if anything, understated). Alternating rounds (bare,
minimal, Liaison, bare, ...), min/median/max of 3. Everything runs in one transaction rolled back
at the end (no on-commit task fires); rate limits are raised for the run.

The minimal intake is what a plain Django project would write: a ``ModelForm`` of ``Ticket``
(category, township, title, content, place) drawn with ``{{ form }}``, saved with a tracking
code, a redirect. No token, proposer, event row, limits, files or session receipt.

django-helpdesk 2.6.1 (the issue's peer): installed by this bench into a virtualenv of its own
(``bench/.cache/helpdesk-venv``, once), its public form measured by ``helpdesk_public_form.py``
the same way in that Python (SQLite, its own bare view as its baseline): not the same process,
so compared in absolute CPU per submission on the same machine (``BENCH_INTAKE_HELPDESK=0``
skips it).

The Open311 API's intake (issue 16): ``POST /open311/v2/requests.json`` with a key and a fresh
``idempotency_key`` each time (as the intake's page token), a township key, the same matter;
no GET, as a system posts without reading a form. Measured the same way, in the same rounds
(bare, minimal, Liaison, API, bare, ...), and reported against the intake's GET + POST and
against the intake's POST alone (the CPU of its POSTs, timed inside the same submissions).

Then the 429 of a one-IP flood: ``bench_flood``.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import tempfile
import time

from django import forms
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template import engines
from django.urls import include, path

from bench.helpdesk_venv import helpdesk_run

N = int(os.environ.get("BENCH_INTAKE_N", "60"))
ROUNDS = 3
GOAL_VS_MINIMAL = 2.0
GOAL_VS_HELPDESK = 0.5
TOKEN = re.compile(r'name="token" value="([^"]+)"')


def bare(request):
    if request.method == "POST":
        return redirect("/bench/bare/")
    return HttpResponse("<form method='post'><input name='title'></form>")


class MinimalForm(forms.ModelForm):
    class Meta:
        from proposals.models import Ticket

        model = Ticket
        fields = ["category", "township", "title", "content", "place"]


_MINIMAL_PAGE = None


def minimal(request):
    from proposals.models import Ticket, new_tracking_code

    global _MINIMAL_PAGE
    if _MINIMAL_PAGE is None:
        _MINIMAL_PAGE = engines["django"].from_string(
            "<!doctype html><title>Intake</title><form method='post'>{% csrf_token %}{{ form }}"
            "<button>Send</button></form>"
        )
    if request.method == "POST":
        form = MinimalForm(request.POST)
        if form.is_valid():
            ticket = form.save(commit=False)
            ticket.source = Ticket.Source.INTAKE
            ticket.tracking_code = new_tracking_code()
            ticket.save()
            return redirect("/bench/minimal/")
    else:
        form = MinimalForm()
    return HttpResponse(_MINIMAL_PAGE.render({"form": form}, request))


urlpatterns = [
    path("bench/bare/", bare),
    path("bench/minimal/", minimal),
    path("", include("liaison.urls")),
]


def _place():
    from liaison.models import Category, Region

    township = Region.objects.townships().first()
    if township is None:
        from tests.factories import TownshipFactory

        township = TownshipFactory()
    category = Category.objects.filter(is_active=True).first()
    if category is None:
        category = Category.objects.create(name="bench", is_active=True)
    return township, category


def submissions(kind: str, client, township, category, n: int, posts: list[float] | None = None) -> float:
    """CPU seconds of ``n`` submissions through the intake ``kind``; with ``posts``, the CPU of
    the POSTs alone is appended to it too."""
    url = {"bare": "/bench/bare/", "minimal": "/bench/minimal/", "liaison": "/intake/"}[kind]
    data = {
        "category": category.pk,
        "township": township.pk,
        "title": "村口路灯不亮",
        "content": "东街社区村口三盏路灯坏了一个月，晚上走路不安全。",
        "place": "东街社区村口",
        "name": "张大爷",
        "phone": "138 1234 5678",
        "privacy_consent": "on",
    }
    post_cpu = 0.0
    started = time.process_time()
    for _ in range(n):
        page = client.get(url)
        assert page.status_code == 200, (kind, page.status_code)
        if kind == "liaison":
            data["token"] = TOKEN.search(page.content.decode()).group(1)
        before = time.process_time()
        sent = client.post(url, data)
        post_cpu += time.process_time() - before
        assert sent.status_code == 302, (kind, sent.status_code, sent.content[:2000])
    total = time.process_time() - started
    if posts is not None:
        posts.append(post_cpu)
    return total


_API_SENT = iter(range(10**9))


def api_posts(client, raw_key: str, category, n: int) -> float:
    """CPU seconds of ``n`` filings through ``POST /open311/v2/requests.json`` with a key."""
    data = {
        "api_key": raw_key,
        "service_code": str(category.pk),
        "address_string": "东街社区村口",
        "description": "东街社区村口三盏路灯坏了一个月，晚上走路不安全。",
        "first_name": "张",
        "last_name": "大爷",
        "phone": "13812345678",
    }
    started = time.process_time()
    for _ in range(n):
        data["idempotency_key"] = f"bench-{next(_API_SENT)}"
        sent = client.post("/open311/v2/requests.json", data)
        assert sent.status_code == 201, ("api", sent.status_code, sent.content[:2000])
    return time.process_time() - started


def measure(report) -> dict[str, list[float]]:
    """Seconds of CPU per submission, a list of ``ROUNDS`` for each kind: the three intakes
    (GET + POST), ``liaison_post`` (the intake's POSTs alone, inside its rounds) and ``api``."""
    from django.db import transaction
    from django.test import Client, override_settings

    from proposals.api_keys import api_key_create

    limits = dict.fromkeys(
        ("intake", "intake_ip", "track_ip", "track_code", "results_ip", "open311_key"), (10**9, 3600)
    )
    per: dict[str, list[float]] = {"bare": [], "minimal": [], "liaison": [], "api": []}
    liaison_posts: list[float] = []
    with (
        tempfile.TemporaryDirectory() as media,
        override_settings(
            ROOT_URLCONF="bench.bench_intake", RATE_LIMITS=limits, MEDIA_ROOT=media, ALLOWED_HOSTS=["*"]
        ),
        transaction.atomic(),
    ):
        township, category = _place()
        _key, raw_key = api_key_create(actor=None, name="bench", region=township)
        client = Client(REMOTE_ADDR="10.9.9.9")

        def one(kind: str, n: int, posts: list[float] | None = None) -> float:
            if kind == "api":
                return api_posts(client, raw_key, category, n)
            return submissions(kind, client, township, category, n, posts)

        for kind in per:  # warm: templates compiled, translations loaded
            one(kind, 3)
        for _ in range(ROUNDS):
            for kind in per:
                per[kind].append(one(kind, N, liaison_posts if kind == "liaison" else None) / N)
        transaction.set_rollback(True)
    per["liaison_post"] = [cpu / N for cpu in liaison_posts]
    return per


def run(report) -> None:
    per = measure(report)
    medians = {kind: statistics.median(values) for kind, values in per.items()}
    report(
        f"intake: CPU per submission (GET + POST), ms, min/median/max of {ROUNDS} rounds of {N}, in-process"
    )
    for kind in ("bare", "minimal", "liaison"):
        values = per[kind]
        report(
            f"  {kind:8s} {min(values) * 1000:6.2f} / {medians[kind] * 1000:6.2f}"
            f" / {max(values) * 1000:6.2f} ms"
            f"  = {1 / medians[kind]:6.0f} submissions/s of one core"
            f"  ({medians[kind] / medians['bare']:.1f}x bare)"
        )
    ratio = medians["liaison"] / medians["minimal"]
    met = "met" if ratio <= GOAL_VS_MINIMAL else "NOT met"
    report(f"  liaison / minimal ModelForm intake: {ratio:.2f}x (goal <= {GOAL_VS_MINIMAL}x: {met})")
    report("  Open311 API: CPU per filing, ms, min/median/max, in the same rounds")
    for kind, label in (("liaison_post", "intake POST alone"), ("api", "POST /open311/v2/requests.json")):
        values = per[kind]
        report(
            f"  {label:31s} {min(values) * 1000:6.2f} / {medians[kind] * 1000:6.2f}"
            f" / {max(values) * 1000:6.2f} ms  = {1 / medians[kind]:6.0f} filings/s of one core"
        )
    report(
        f"  API filing / intake GET+POST: {medians['api'] / medians['liaison']:.2f}x;"
        f" / intake POST alone: {medians['api'] / medians['liaison_post']:.2f}x"
    )
    helpdesk = _helpdesk(report)
    if helpdesk:
        report(
            f"  django-helpdesk 2.6.1 public form (own process, SQLite):"
            f" bare {helpdesk['bare'][1] * 1000:.2f} ms,"
            f" form {helpdesk['helpdesk'][0] * 1000:.2f} / {helpdesk['helpdesk'][1] * 1000:.2f}"
            f" / {helpdesk['helpdesk'][2] * 1000:.2f} ms"
        )
        ratio = medians["liaison"] / helpdesk["helpdesk"][1]
        met = "met" if ratio <= GOAL_VS_HELPDESK else "NOT met"
        report(f"  liaison / django-helpdesk: {ratio:.2f}x (goal <= {GOAL_VS_HELPDESK}x: {met})")


def _helpdesk(report) -> dict[str, list[float]] | None:
    """django-helpdesk's figures (min, median, max seconds) from its own virtualenv, or None."""
    if os.environ.get("BENCH_INTAKE_HELPDESK") == "0":
        report("  django-helpdesk 2.6.1: skipped (BENCH_INTAKE_HELPDESK=0)")
        return None
    try:
        return helpdesk_run("helpdesk_public_form.py", str(N))
    except (OSError, subprocess.CalledProcessError) as exc:
        report(f"  django-helpdesk 2.6.1: not measured ({type(exc).__name__}: {exc})")
        return None
