"""Rate limits of the public pages that fit reality, and the pages working with Redis down.

- intake: per form (its signed token) and address, with a much higher ceiling per address, so a
  studio's shared Wi-Fi on a reception day files every resident's matter;
- tracking: wrong pairs count per code and address, so someone else's guesses never lock the
  code's owner out, and per address across codes;
- X-Forwarded-For is believed only from TRUSTED_PROXIES (liaison.http.client_ip);
- an address over the intake's ceiling is refused by proposals.middleware before the session,
  CSRF and the form are read, with the headers and the page of the view's own 429;
- with Redis stopped, intake and tracking still answer (a warning is logged, the counters fall
  back to the process: guesses stay bounded).
"""

import logging
import socket
import subprocess
import time

import pytest
import redis
from django.test import Client, RequestFactory
from prometheus_client import REGISTRY

from liaison.http import client_ip
from proposals import ratelimit
from proposals.models import Category, Ticket, new_tracking_code
from tests.proposals.public_helpers import form_token, fresh_ip, visitor

INTAKE, TRACK = "/intake/", "/track/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def matter(client, **overrides):
    data = {
        "category": Category.objects.get(name="交通出行").pk,
        "title": "村口路灯不亮",
        "content": "东街社区村口三盏路灯坏了一个月，晚上走路不安全。",
        "place": "东街社区村口",
        "name": "张大爷",
        "phone": "138 1234 5678",
        "privacy_consent": "on",
        "token": form_token(client),
    }
    return {**data, **overrides}


def track(client, code, last4):
    return client.post(TRACK, {"code": code, "phone_last4": last4})


# --- intake -----------------------------------------------------------------------------------


def test_thirty_residents_on_one_studio_wifi_all_file_their_matters(township_a):
    wifi = fresh_ip()
    for n in range(30):
        resident = Client(REMOTE_ADDR=wifi)  # each on their own phone, with their own form
        response = resident.post(INTAKE, matter(resident, township=township_a.pk, title=f"事项{n}"))
        assert response.status_code == 302, n
    assert Ticket.objects.count() == 30


def test_one_form_resent_eleven_times_is_limited(township_a):
    resident = visitor()
    data = matter(resident, township=township_a.pk)
    for _ in range(10):  # the first files it, the next nine find the same ticket
        assert resident.post(INTAKE, data).status_code == 302
    refused = resident.post(INTAKE, data)
    assert refused.status_code == 429 and 'id="too-many"' in refused.content.decode()
    assert Ticket.objects.count() == 1
    # A fresh form from the same address still goes through.
    assert (
        resident.post(INTAKE, matter(resident, township=township_a.pk, title="另一件事")).status_code == 302
    )


def test_the_ceiling_per_address_holds_across_forms(township_a, settings):
    settings.RATE_LIMITS = {"intake_ip": (5, 3600)}
    wifi = fresh_ip()
    for n in range(5):
        resident = Client(REMOTE_ADDR=wifi)
        assert (
            resident.post(INTAKE, matter(resident, township=township_a.pk, title=f"事项{n}")).status_code
            == 302
        )
    late = Client(REMOTE_ADDR=wifi)
    assert late.post(INTAKE, matter(late, township=township_a.pk)).status_code == 429
    elsewhere = visitor()
    assert elsewhere.post(INTAKE, matter(elsewhere, township=township_a.pk)).status_code == 302


def test_a_spoofed_forwarded_header_does_not_escape_the_ceiling(township_a, settings):
    """Without trusted proxies every X-Forwarded-For is the client's word: ignored."""
    settings.RATE_LIMITS = {"intake_ip": (3, 3600)}
    settings.TRUSTED_PROXIES = []
    bot = visitor()
    statuses = [
        bot.post(INTAKE, matter(bot, township=township_a.pk), HTTP_X_FORWARDED_FOR=fresh_ip()).status_code
        for _ in range(4)
    ]
    assert statuses == [302, 302, 302, 429]


def test_a_flood_is_answered_cheaply_and_logged_once(township_a, settings, caplog, django_assert_num_queries):
    """Over the limit: the small 429 page in Chinese, no query, and one log line for the flood."""
    settings.RATE_LIMITS = {"intake_ip": (1, 3600)}
    bot = visitor()
    data = matter(bot, township=township_a.pk)
    assert bot.post(INTAKE, data).status_code == 302
    bot.cookies.clear()  # a flood sends no session cookie (with one, its session is read: 1 query)
    ratelimit._last_refusal_log[0] = 0.0
    with caplog.at_level(logging.WARNING):
        for _ in range(20):
            with django_assert_num_queries(0):
                refused = bot.post(INTAKE, data)
            assert refused.status_code == 429 and int(refused["Retry-After"]) <= 3600
    html = refused.content.decode()
    assert "请求过多" in html or "尝试次数过多" in html
    assert "<nav" not in html and len(html) < 3000
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "refused" in lines[0].getMessage()


# Headers that differ between any two responses, whatever answered them.
PER_RESPONSE = {"X-Request-ID", "Retry-After", "Expires"}


def test_an_address_over_its_ceiling_is_refused_before_csrf_with_every_security_header(
    township_a, settings, django_assert_num_queries
):
    settings.RATE_LIMITS = {"intake_ip": (1, 3600)}
    resident = visitor()
    assert resident.post(INTAKE, matter(resident, township=township_a.pk)).status_code == 302
    bot = Client(enforce_csrf_checks=True, REMOTE_ADDR=resident.defaults["REMOTE_ADDR"])
    with django_assert_num_queries(0):
        refused = bot.post(INTAKE, {"title": "x"})  # no CSRF token: the view would answer 403
    assert refused.status_code == 429
    page = visitor().get(INTAKE)
    assert refused["Content-Security-Policy"] == page["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in refused["Content-Security-Policy"]
    assert refused["X-Frame-Options"] == "DENY" and refused["X-Content-Type-Options"] == "nosniff"
    assert refused["Referrer-Policy"] == refused["Cross-Origin-Opener-Policy"] == "same-origin"
    assert refused["Permissions-Policy"] == settings.PERMISSIONS_POLICY
    assert "no-store" in refused["Cache-Control"] and len(refused["X-Request-ID"]) == 32
    assert refused["Content-Length"] == str(len(refused.content))


def test_the_early_429_is_the_chinese_page_with_the_minutes_to_wait(township_a, settings):
    settings.RATE_LIMITS = {"intake_ip": (1, 3600)}
    bot = visitor()
    assert bot.post(INTAKE, matter(bot, township=township_a.pk)).status_code == 302
    refused = bot.post(INTAKE, {"title": "x"})
    html = refused.content.decode()
    minutes = -(-int(refused["Retry-After"]) // 60)
    assert refused.status_code == 429 and refused["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans">' in html and "尝试次数过多" in html
    assert f"请约 {minutes} 分钟后" in html and "党代表工作室" in html
    bot.cookies["django_language"] = "en"  # the language the visitor chose, as on every page
    assert "Please try again in about" in bot.post(INTAKE, {"title": "x"}).content.decode()


def test_the_early_429_answers_as_the_views_own_and_leaves_the_others_alone(township_a, settings):
    """One address over its ceiling (the middleware's 429), another filing and then resending one
    form past the per-form limit (the view's 429): the same headers, and the neighbour's filing and
    fresh form go through."""
    settings.RATE_LIMITS = {"intake_ip": (1, 3600), "intake": (2, 3600)}
    flooder = visitor()
    assert flooder.post(INTAKE, matter(flooder, township=township_a.pk)).status_code == 302
    early = flooder.post(INTAKE, {"title": "x"})
    assert early.status_code == 429

    settings.RATE_LIMITS = {"intake_ip": (100, 3600), "intake": (2, 3600)}
    neighbour = visitor()
    data = matter(neighbour, township=township_a.pk)
    assert [neighbour.post(INTAKE, data).status_code for _ in range(3)] == [302, 302, 429]
    late = neighbour.post(INTAKE, data)
    assert late.status_code == 429 and Ticket.objects.count() == 2
    assert set(early.headers) - PER_RESPONSE == set(late.headers) - PER_RESPONSE
    assert early.content == late.content or early["Retry-After"] != late["Retry-After"]
    fresh = matter(neighbour, township=township_a.pk, title="另一件事")
    assert neighbour.post(INTAKE, fresh).status_code == 302


def test_the_early_429_is_counted_in_the_metrics_as_the_intakes(township_a, settings):
    settings.RATE_LIMITS = {"intake_ip": (1, 3600)}
    labels = {"method": "POST", "view": "public:intake", "status": "4xx"}

    def refused() -> float:
        return REGISTRY.get_sample_value("liaison_http_request_duration_seconds_count", labels) or 0.0

    bot = visitor()
    assert bot.post(INTAKE, matter(bot, township=township_a.pk)).status_code == 302
    before = refused()
    assert [bot.post(INTAKE, {"title": "x"}).status_code for _ in range(3)] == [429, 429, 429]
    assert refused() == before + 3


# --- tracking ---------------------------------------------------------------------------------


def test_someone_elses_guesses_never_lock_the_owner_out(ticket):
    guesser = visitor()
    for last4 in ("0000", "1111", "2222", "3333", "4444"):
        assert track(guesser, ticket.display_code, last4).status_code == 200
    assert track(guesser, ticket.display_code, "5678").status_code == 429  # the guesser is stopped
    owner = visitor()
    assert track(owner, ticket.display_code, "5678").status_code == 302  # the owner is not


def test_the_ceiling_per_address_holds_across_codes(ticket, settings):
    settings.RATE_LIMITS = {"track_ip": (8, 3600)}
    guesser = visitor()
    for _ in range(8):  # a different code each time: the per-code count never reaches 5
        assert track(guesser, new_tracking_code(), "1234").status_code == 200
    assert track(guesser, ticket.display_code, "5678").status_code == 429
    assert track(visitor(), ticket.display_code, "5678").status_code == 302


# --- the client's address -----------------------------------------------------------------------


class TestClientIp:
    def test_a_forwarded_header_from_an_untrusted_client_is_ignored(self, settings):
        settings.TRUSTED_PROXIES = ["127.0.0.1"]
        spoofed = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="1.2.3.4")
        assert client_ip(spoofed) == "203.0.113.9"
        settings.TRUSTED_PROXIES = []
        behind = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
        assert client_ip(behind) == "127.0.0.1"

    def test_from_a_trusted_proxy_the_right_most_untrusted_address_is_the_client(self, settings):
        settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
        request = RequestFactory().get(
            "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7, 10.1.2.3"
        )
        assert client_ip(request) == "198.51.100.7"  # 6.6.6.6 is what the client claimed
        garbled = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, nonsense")
        assert client_ip(garbled) == "127.0.0.1"
        inside = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.0.5")
        assert client_ip(inside) == "10.0.0.5"

    def test_the_rate_limits_count_the_forwarded_client_behind_a_trusted_proxy(self, ticket, settings):
        settings.TRUSTED_PROXIES = ["127.0.0.1"]
        guesser, owner = fresh_ip(), fresh_ip()
        proxy = Client(REMOTE_ADDR="127.0.0.1")
        for last4 in ("0000", "1111", "2222", "3333", "4444"):
            proxy.post(
                TRACK, {"code": ticket.display_code, "phone_last4": last4}, HTTP_X_FORWARDED_FOR=guesser
            )
        locked = proxy.post(
            TRACK, {"code": ticket.display_code, "phone_last4": "5678"}, HTTP_X_FORWARDED_FOR=guesser
        )
        assert locked.status_code == 429
        mine = proxy.post(
            TRACK, {"code": ticket.display_code, "phone_last4": "5678"}, HTTP_X_FORWARDED_FOR=owner
        )
        assert mine.status_code == 302

    def test_ipv6_clients_are_counted_per_64_block(self, settings):
        settings.TRUSTED_PROXIES = []
        one = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2::1")
        two = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2:ffff::9")
        assert ratelimit.client_ip(one) == ratelimit.client_ip(two) == "2001:db8:1:2::/64"


# --- Redis down -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own (the suite's Redis stays up for the others)."""
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    yield proc, port
    proc.kill()
    proc.wait(timeout=10)


def test_intake_and_tracking_work_with_redis_stopped(own_redis, settings, township_a, ticket, caplog):
    proc, port = own_redis
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    resident = visitor()
    assert track(resident, ticket.display_code, "0000").status_code == 200  # counted in this Redis
    assert redis.Redis(port=port).dbsize() > 0

    proc.terminate()  # Redis goes down
    proc.wait(timeout=10)
    ratelimit._last_warning[0] = 0.0
    with caplog.at_level(logging.WARNING, logger="proposals.ratelimit"):
        data = matter(resident, township=township_a.pk, title="停电了")
        filed = resident.post(INTAKE, data)
        assert filed.status_code == 302 and Ticket.objects.filter(title="停电了").exists()
        assert track(resident, ticket.display_code, "5678").status_code == 302
    assert "the cache does not answer" in caplog.text

    # Guessing stays bounded while Redis is down: the counters fall back to this process.
    guesser = visitor()
    for last4 in ("0000", "1111", "2222", "3333", "4444"):
        assert track(guesser, ticket.display_code, last4).status_code == 200
    assert track(guesser, ticket.display_code, "5678").status_code == 429
