"""The CPU of the intake's 429 under a one-IP flood against a bare POST (issue 14: ≤ 1.5×).

In-process, like ``bench_intake``: one client posts the intake form from one address past its
hourly limit (every answer a 429: the limit check, the counter, the small page of its own), and
the same client posts to a bare view that only redirects; ``time.process_time()`` over
``BENCH_FLOOD_N`` posts each, alternating rounds, min/median/max of 3. The rate-limit counters
are in the configured cache (Redis under ``make bench``).

Not measured here: the other clients' throughput during the flood (needs concurrent clients
against gunicorn; see the README).
"""

from __future__ import annotations

import os
import statistics
import time

N = int(os.environ.get("BENCH_FLOOD_N", "300"))
ROUNDS = 3
GOAL = 1.5


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
    report("  other clients' throughput during the flood: not measured")
