"""The CPU of the intake's 429 under a one-IP flood against a bare POST (issue 14: ≤ 1.5×).

In-process, like ``bench_intake``: one client posts the intake form from one address past its
hourly limit (every answer a 429: the limit check, the counter, the small page of its own), and
the same client posts to a bare view that only redirects; ``time.process_time()`` over
``BENCH_FLOOD_N`` posts each, alternating rounds, min/median/max of 3. The rate-limit counters
are in the configured cache (Redis under ``make bench``).

Then, through gunicorn (2 sync workers, ``DEBUG=0``, ``TRUSTED_PROXIES`` set to the client):
three residents (each their own ``X-Forwarded-For`` address) submit the form over and over (GET,
POST, as a browser: CSRF cookie and token) for ``BENCH_FLOOD_SECONDS``, alone and while one
more client floods the intake POST from one address (every answer a 429 past its form's limit);
alternating phases, 2 of each; the residents' submissions per second in each phase. Needs
PostgreSQL and Redis (``make bench``); skipped otherwise.
"""

from __future__ import annotations

import http.client
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.bench_pages import _free_port, _wait

N = int(os.environ.get("BENCH_FLOOD_N", "300"))
ROUNDS = 3
GOAL = 1.5
GOAL_OTHERS = 0.8
SECONDS = float(os.environ.get("BENCH_FLOOD_SECONDS", "10"))
ROOT = Path(__file__).resolve().parent.parent


def _posts(client, url: str, n: int, status: int) -> float:
    data = {"token": "flood", "title": "x" * 20, "content": "y" * 200}
    started = time.process_time()
    for _ in range(n):
        response = client.post(url, data)
        assert response.status_code == status, (url, response.status_code)
    return time.process_time() - started


def run(report) -> None:
    from django.test import Client, override_settings

    from proposals import ratelimit

    per: dict[str, list[float]] = {"bare POST": [], "intake 429": []}
    with override_settings(
        ROOT_URLCONF="bench.bench_intake", RATE_LIMITS={"intake_ip": (1, 3600)}, ALLOWED_HOSTS=["*"]
    ):
        client = Client(REMOTE_ADDR="10.8.8.8")
        client.post("/intake/", {"token": "flood"})  # the one allowed post
        _posts(client, "/bench/bare/", 5, 302)
        _posts(client, "/intake/", 5, 429)
        for _ in range(ROUNDS):
            per["bare POST"].append(_posts(client, "/bench/bare/", N, 302) / N)
            per["intake 429"].append(_posts(client, "/intake/", N, 429) / N)
        ratelimit._refused.clear()
    report(f"flood: CPU per POST from one address, ms, min/median/max of {ROUNDS} rounds of {N}, in-process")
    for kind, values in per.items():
        report(
            f"  {kind:10s} {min(values) * 1000:6.3f} / {statistics.median(values) * 1000:6.3f}"
            f" / {max(values) * 1000:6.3f} ms"
        )
    ratio = statistics.median(per["intake 429"]) / statistics.median(per["bare POST"])
    report(f"  429 / bare POST: {ratio:.2f}x (goal <= {GOAL}x: {'met' if ratio <= GOAL else 'NOT met'})")
    _throughput(report)


def _throughput(report) -> None:
    from django.db import connection

    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        report("  other clients' throughput during the flood: not measured (needs PostgreSQL and Redis)")
        return
    from bench.bench_intake import _place

    township, category = _place()  # committed: gunicorn's workers read them
    port = _free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "HTTPS": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "TRUSTED_PROXIES": "127.0.0.1",
        "RATE_LIMIT_INTAKE_IP": str(10**6),  # the residents are not limited; the flood's form is
        "LIAISON_ALLOW_CONSOLE_MESSAGES": "1",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-flood-throwaway-key-" + "x" * 40,
        "PYTHONPATH": str(ROOT),
    }
    # DEBUG=0 serves the hashed names: collected with the server's settings.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "liaison.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}",
         "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        _wait(port)
        fields = {"township": township.pk, "category": category.pk}
        rates: dict[str, list[float]] = {"alone": [], "during the flood": []}
        refused = []
        for _ in range(2):
            rates["alone"].append(_phase(port, fields, flood=False)[0])
            rate, n429 = _phase(port, fields, flood=True)
            rates["during the flood"].append(rate)
            refused.append(n429)
    finally:
        server.terminate()
        server.wait(timeout=30)
    alone, during = statistics.median(rates["alone"]), statistics.median(rates["during the flood"])
    report(f"  through gunicorn, 3 residents for {SECONDS:.0f} s, submissions/s (2 phases each):")
    report(f"    alone            {', '.join(f'{r:.1f}' for r in rates['alone'])}")
    report(
        f"    during the flood {', '.join(f'{r:.1f}' for r in rates['during the flood'])}"
        f"  (the flood got {', '.join(str(n) for n in refused)} 429s)"
    )
    ratio = during / alone
    report(f"  residents during / without the flood: {ratio:.2f}x (goal >= {GOAL_OTHERS}x: "
           f"{'met' if ratio >= GOAL_OTHERS else 'NOT met'})")  # fmt: skip


_INPUT = re.compile(r'name="(csrfmiddlewaretoken|token)" value="([^"]+)"')


def _request(port: int, method: str, path: str, address: str, cookie: str = "", body: str = ""):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"X-Forwarded-For": address, "Host": "127.0.0.1"}
    if cookie:
        headers["Cookie"] = cookie
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body or None, headers=headers)
    response = conn.getresponse()
    content = response.read().decode("utf-8", "replace")
    conn.close()
    return response.status, response.getheader("Set-Cookie") or "", content


def _form(port: int, address: str) -> tuple[str, dict[str, str]]:
    status, set_cookie, page = _request(port, "GET", "/intake/", address)
    assert status == 200, status
    csrf = re.search(r"csrftoken=([^;]+)", set_cookie)
    assert csrf, set_cookie
    return f"csrftoken={csrf.group(1)}", dict(_INPUT.findall(page))


def _phase(port: int, fields, *, flood: bool) -> tuple[float, int]:
    from urllib.parse import urlencode

    stop = time.monotonic() + SECONDS
    done = [0]
    refused = [0]
    lock = threading.Lock()

    def resident(n: int) -> None:
        address = f"10.20.{n}.{int(time.time()) % 250 + 1}"
        while time.monotonic() < stop:
            cookie, inputs = _form(port, address)
            data = {
                **fields, **inputs, "title": "村口路灯不亮", "content": "东街社区村口三盏路灯坏了一个月。",
                "name": "张大爷", "phone": "138 1234 5678", "privacy_consent": "on",
            }  # fmt: skip
            status, _cookie, _page = _request(port, "POST", "/intake/", address, cookie, urlencode(data))
            assert status == 302, status
            with lock:
                done[0] += 1

    def flooder() -> None:
        address = "10.66.66.66"
        cookie, inputs = _form(port, address)
        body = urlencode({**inputs, "token": "flood"})
        while time.monotonic() < stop:
            status, _cookie, _page = _request(port, "POST", "/intake/", address, cookie, body)
            if status == 429:
                refused[0] += 1

    threads = [threading.Thread(target=resident, args=(n,)) for n in range(3)]
    if flood:
        threads.append(threading.Thread(target=flooder))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0] / (time.monotonic() - started), refused[0]
