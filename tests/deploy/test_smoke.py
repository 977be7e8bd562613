"""The production stack, as docs/operations.md builds it, from this checkout: DEBUG=0, the files in
deploy/ (environment template, systemd units' commands, nginx site and proxy headers) with only
their paths, names and ports replaced; gunicorn behind Debian's real nginx with TLS, a Celery
worker and beat, on a database of their own on the throwaway PostgreSQL and a Redis database of
their own. Then, over HTTPS through nginx, a resident files a matter, the staff handle it (through
the services, in a process on the same database), the resident tracks it and rates the reply.

What it proves: migrate, compilemessages, collectstatic and ``check --deploy`` pass on production
settings; the worker delivered the resident's SMS; beat ran; /healthz is green with its details;
static files come compressed and cache-busted; nginx refuses oversized bodies and never serves
ticket attachments from disk, while the public rep photos are served.

It reuses the package `make test` installed from this checkout (the README's `pip install` of the
source) rather than building a second virtualenv.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg2
import pytest

from tests.helpers import ROOT, project_env

pytestmark = [pytest.mark.worker, pytest.mark.deploy]

DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
TOKEN = "smoke-healthz-token-0123456789abcdef"
PHONE = "13812345678"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_file(path: Path) -> dict[str, str]:
    """KEY=value lines of an EnvironmentFile, comments and blank lines skipped."""
    pairs = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


def exec_start(unit: str) -> str:
    (line,) = [
        line for line in (DEPLOY / "systemd" / unit).read_text().splitlines() if line.startswith("ExecStart=")
    ]
    return line.removeprefix("ExecStart=")


def unit_environment(unit: str) -> dict[str, str]:
    """The unit's own Environment= lines (beside its EnvironmentFile)."""
    lines = (DEPLOY / "systemd" / unit).read_text().splitlines()
    return dict(
        line.removeprefix("Environment=").split("=", 1) for line in lines if line.startswith("Environment=")
    )


def run(args: list[str], env: dict[str, str], *, timeout: int = 300) -> str:
    result = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


class Stack:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.app_port, self.http_port, self.https_port = free_port(), free_port(), free_port()
        self.base = f"https://127.0.0.1:{self.https_port}"
        self.var = tmp / "var"
        self.tls = ssl.create_default_context()
        self.tls.check_hostname = False
        self.tls.verify_mode = ssl.CERT_NONE  # our own self-signed certificate
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self.tls), urllib.request.HTTPCookieProcessor(self.cookies)
        )

    def start(self, name: str, command: str, **env: str) -> None:
        log = open(self.tmp / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            shlex.split(command), cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append((name, proc))

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.tmp.glob("*.log")))

    def request(self, path: str, *, data: dict | bytes | None = None, headers: dict | None = None):
        """(status, headers, body) of a request through nginx; redirects followed."""
        body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
        headers = {"Referer": self.base + "/", "Origin": self.base, **(headers or {})}
        req = urllib.request.Request(self.base + path, data=body, headers=headers)  # noqa: S310 - https, ours
        try:
            with self.opener.open(req, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def python(self, code: str) -> dict:
        """Run ``code`` (which prints one JSON line) with the stack's settings, on its database."""
        out = run(
            [sys.executable, "-c", "import django, json; django.setup()\n" + code], self.env, timeout=120
        )
        return json.loads(out.strip().splitlines()[-1])

    def healthz(self) -> dict:
        status, _headers, body = self.request("/healthz", headers={"Authorization": f"Bearer {TOKEN}"})
        return {"http": status, **json.loads(body)}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail(
            "nginx is not installed: `make test` installs Debian's nginx (scripts/ensure-debian-packages)"
        )
    if "DATABASE_URL" not in os.environ or "REDIS_URL" not in os.environ:
        pytest.fail(
            "the smoke test needs the throwaway PostgreSQL and Redis: run it under scripts/with-test-services"
        )
    tmp = tmp_path_factory.mktemp("deploy")
    os.chmod(tmp, 0o755)  # noqa: S103 - nginx reads the collected static files under it
    s = Stack(tmp)

    # A database and a Redis database of the stack's own, beside the suite's.
    server = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    admin = psycopg2.connect(dbname="postgres", user=server.username, host=server.hostname, port=server.port)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("DROP DATABASE IF EXISTS liaison_smoke WITH (FORCE)")
        cursor.execute("CREATE DATABASE liaison_smoke")
    redis = urllib.parse.urlsplit(os.environ["REDIS_URL"])

    # deploy/liaison.env.example, with this machine's values where it says CHANGE or names paths.
    (tmp / "secret_key").write_text("smoke-" + "k" * 60)
    (tmp / "healthz_token").write_text(TOKEN)
    values = env_file(DEPLOY / "liaison.env.example")
    for unused in ("SMS_HTTP_URL", "SMS_HTTP_TOKEN_FILE", "EMAIL_HOST", "EMAIL_PORT", "ADMIN_EMAILS"):
        values.pop(unused)
    values.update(
        SECRET_KEY_FILE=str(tmp / "secret_key"),
        HEALTHZ_TOKEN_FILE=str(tmp / "healthz_token"),
        ALLOWED_HOSTS="127.0.0.1",
        CSRF_TRUSTED_ORIGINS=s.base,
        SITE_URL=s.base,
        DATABASE_URL=f"postgres://{server.username}@{server.hostname}:{server.port}/liaison_smoke",
        REDIS_URL=f"redis://{redis.hostname}:{redis.port}/3",
        LIAISON_VAR_DIR=str(s.var),
        MEDIA_ROOT=str(s.var / "media"),
        LIAISON_BACKUP_DIR=str(tmp / "backups"),
        # No SMTP relay or SMS provider here: the console backends, allowed explicitly.
        EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
        SMS_BACKEND="console",
        LIAISON_ALLOW_CONSOLE_MESSAGES="1",
    )
    assert values["DEBUG"] == "0"
    s.env = project_env(**values)

    manage = [sys.executable, "manage.py"]
    run([*manage, "migrate", "--no-input", "-v0"], s.env)
    run([*manage, "compilemessages", "--ignore=.venv", "-v0"], s.env)
    run([*manage, "collectstatic", "--no-input", "-v0"], s.env)
    checked = run([*manage, "check", "--deploy", "--fail-level", "WARNING"], s.env)
    assert "no issues" in checked, checked
    run([*manage, "seed_demo", "--i-know-this-is-not-production"], s.env)

    # The systemd units' commands, with this checkout's virtualenv, ports and paths.
    def unit(name: str) -> str:
        return (
            exec_start(name)
            .replace("/srv/liaison/.venv/bin/", f"{BIN}/")
            .replace("127.0.0.1:8000", f"127.0.0.1:{s.app_port}")
            .replace("/var/lib/liaison/", f"{s.var}/")
            .replace("--workers 4", "--workers 2")
            .replace("--concurrency=4", "--concurrency=1")
        )

    web_env = unit_environment("liaison-web.service")
    assert web_env["PROMETHEUS_MULTIPROC_DIR"] == "/run/liaison-metrics"  # RuntimeDirectory=liaison-metrics
    (tmp / "metrics").mkdir()
    s.start("gunicorn", unit("liaison-web.service"), PROMETHEUS_MULTIPROC_DIR=str(tmp / "metrics"))
    s.start("worker", unit("liaison-worker.service"))
    s.start("beat", unit("liaison-beat.service"))

    # nginx: deploy/nginx/liaison.conf in a minimal main configuration of its own.
    (tmp / "tls").mkdir()
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(tmp / "tls" / "privkey.pem"),
            "-out",
            str(tmp / "tls" / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )
    site = (
        (DEPLOY / "nginx" / "liaison.conf")
        .read_text()
        .replace("listen 80;", f"listen 127.0.0.1:{s.http_port};")
        .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{s.https_port} ssl http2;")
        .replace("127.0.0.1:8000", f"127.0.0.1:{s.app_port}")
        .replace("/etc/ssl/liaison/", f"{tmp}/tls/")
        .replace("/var/lib/liaison/", f"{s.var}/")
        .replace("/etc/nginx/liaison_proxy.conf", str(DEPLOY / "nginx" / "liaison_proxy.conf"))
    )
    (tmp / "site.conf").write_text(site)
    temp = {k: tmp / f"nginx-{k}" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    (tmp / "nginx.conf").write_text(
        f"user root; daemon off; worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/nginx-error.log;\n"
        "events { worker_connections 256; }\n"
        "http { include /etc/nginx/mime.types; "
        f"access_log {tmp}/nginx-access.log; "
        + " ".join(f"{k}_temp_path {path};" for k, path in temp.items())
        + f" include {tmp}/site.conf; }}\n"
    )
    run([nginx, "-t", "-c", str(tmp / "nginx.conf")], s.env)
    s.start("nginx", f"{nginx} -c {tmp / 'nginx.conf'}")

    try:
        deadline = time.monotonic() + 90
        while True:
            for name, proc in s.processes:
                assert proc.poll() is None, f"{name} exited:\n{s.logs()}"
            try:
                if s.healthz()["http"] == 200:
                    break
            except (OSError, ValueError):
                pass
            assert time.monotonic() < deadline, "the stack did not answer /healthz within 90 s:\n" + s.logs()
            time.sleep(0.5)
        yield s
    finally:
        for _name, proc in reversed(s.processes):
            proc.terminate()
        for _name, proc in s.processes:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        with admin.cursor() as cursor:
            cursor.execute("DROP DATABASE IF EXISTS liaison_smoke WITH (FORCE)")
        admin.close()


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)" name="{name}"', html
    )
    assert match, f"no hidden {name} in the page"
    return match.group(1)


def option(html: str, select: str, label: str) -> str:
    block = re.search(rf'<select[^>]* name="{select}"[^>]*>.*?</select>', html, re.S)  # any attribute order
    assert block, f"no select {select}"
    match = re.search(rf'<option value="(\d+)"[^>]*>{label}</option>', block.group(0))
    assert match, f"no option {label} in {select}"
    return match.group(1)


def wait_for(stack: Stack, what: str, code: str, *, seconds: int = 60) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        found = stack.python(code)
        if found.get("ok"):
            return found
        assert time.monotonic() < deadline, (
            f"{what} did not happen within {seconds} s: {found}\n{stack.logs()}"
        )
        time.sleep(1)


SENT_SMS = """
from liaison.models import Delivery
print(json.dumps({{"ok": Delivery.objects.filter(notification__kind={kind!r}, channel="sms", address={phone!r},
                                               status="sent").exists(),
                  "all": list(Delivery.objects.values_list("notification__kind", "status"))}}))
"""

HANDLE = """
from liaison.models import HandlingUnit, User
from proposals import services
from proposals.models import Ticket
staff = {{u.username: u for u in User.objects.filter(username__in=["chengguan", "lianban", "minzheng"])}}
def fresh():
    return Ticket.objects.get(tracking_code={code!r})
services.ticket_forward_to_county(actor=staff["chengguan"], ticket=fresh())
services.ticket_assign(actor=staff["lianban"], ticket=fresh(), lead_unit=HandlingUnit.objects.get(name="县民政局"))
services.ticket_sign(actor=staff["minzheng"], ticket=fresh())
from django.utils import timezone
services.ticket_contact(actor=staff["minzheng"], ticket=fresh(), how="电话", contacted_on=timezone.localdate())
services.ticket_plan(actor=staff["minzheng"], ticket=fresh(), plan="更换灯具", rep_consulted=False)
services.ticket_reply(actor=staff["minzheng"], ticket=fresh(), text="已更换三盏路灯", summary="路灯已修复")
services.ticket_to_proposers(actor=staff["lianban"], ticket=fresh())
print(json.dumps({{"status": fresh().status}}))
"""


def test_a_matter_goes_from_intake_to_rating_through_nginx_gunicorn_worker_and_beat(stack):
    # The resident files a matter (the intake form, as a browser sends it).
    status, _headers, page = stack.request("/intake/")
    assert status == 200
    html = page.decode()
    form = {
        "csrfmiddlewaretoken": hidden(html, "csrfmiddlewaretoken"),
        "token": hidden(html, "token"),
        "township": option(html, "township", "城关镇"),
        "category": re.search(
            r'<select[^>]* name="category"[^>]*>.*?<option value="(\d+)"', html, re.S
        ).group(1),
        "title": "村口路灯不亮",
        "content": "东街社区村口三盏路灯坏了一个月，晚上出行不安全。",
        "name": "张大爷",
        "phone": PHONE,
        "sms_consent": "on",
        "privacy_consent": "on",
        "homepage": "",
    }
    status, _headers, page = stack.request("/intake/", data=form)
    assert status == 200
    code = re.search(r'id="receipt-code">([^<]+)<', page.decode()).group(1).replace(" ", "").replace("-", "")

    # The worker sends the receipt SMS (console backend: recorded as sent once handed over).
    wait_for(stack, "the receipt SMS", SENT_SMS.format(kind="proposer.receipt", phone=PHONE))

    # The township, the county office and the unit handle it; the reply goes to the resident.
    handled = stack.python(HANDLE.format(code=code))
    assert handled["status"] == "forwarded"
    wait_for(stack, "the reply-ready SMS", SENT_SMS.format(kind="proposer.reply_ready", phone=PHONE))

    # The resident tracks it with the code and the phone's last four digits, and rates the reply.
    status, _headers, page = stack.request("/track/")
    csrf = hidden(page.decode(), "csrfmiddlewaretoken")
    status, _headers, page = stack.request(
        "/track/", data={"csrfmiddlewaretoken": csrf, "code": code, "phone_last4": PHONE[-4:]}
    )
    assert status == 200 and 'name="score"' in page.decode(), page.decode()[:2000]
    csrf = hidden(page.decode(), "csrfmiddlewaretoken")
    status, _headers, page = stack.request(
        "/track/ticket/", data={"csrfmiddlewaretoken": csrf, "score": "satisfied", "comment": "谢谢"}
    )
    assert status == 200 and 'name="score"' not in page.decode()
    rated = stack.python(
        "from proposals.models import Rating\n"
        f"scores = Rating.objects.filter(ticket__tracking_code={code!r}).values_list('score', flat=True)\n"
        "print(json.dumps({'ok': list(scores)}))"
    )
    assert rated == {"ok": ["satisfied"]}

    # Beat ran (its heartbeat, run by the worker) and /healthz is green with every detail.
    health = wait_for(
        stack,
        "beat's heartbeat",
        "from liaison.models import Heartbeat\n"
        "print(json.dumps({'ok': Heartbeat.objects.filter(name='beat').exists()}))",
    )
    assert health["ok"]
    details = stack.healthz()
    assert details["http"] == 200 and details["status"] == "ok"
    assert details["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}
    assert details["beat_last_seen"] and details["beat_stale"] is False
    assert details["deliveries_failed"] == 0

    # /metrics through nginx, for the monitor's token only: every gunicorn worker's requests,
    # the worker's task outcomes, the tickets.
    assert stack.request("/metrics")[0] == 404
    status, _headers, body = stack.request("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    text = body.decode()
    assert status == 200

    def sample(name: str, **labels: str) -> float:
        """The value of ``name`` with these labels (in whatever order the exporter writes them)."""
        for line in text.splitlines():
            if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"no {name} {labels} in /metrics:\n{text[:3000]}")

    assert sample("liaison_http_request_duration_seconds_count", method="POST", view="public:intake") >= 1
    assert sample("liaison_celery_tasks_total", task="liaison.tasks.heartbeat", outcome="success") >= 1
    open_now = stack.python(
        "from proposals.models import Ticket\nprint(json.dumps({'open': Ticket.objects.open().count()}))"
    )
    assert sample("liaison_tickets", state="open") == open_now["open"], open_now


def test_static_files_come_compressed_and_cache_busted(stack):
    _status, headers, page = stack.request("/intake/")
    assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-ID"])  # nginx's $request_id, kept by the app
    css = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', page.decode())
    assert css, "no hashed stylesheet on the page"
    status, headers, body = stack.request(css.group(1), headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip" and body[:2] == b"\x1f\x8b"
    assert "immutable" in headers["Cache-Control"] or "max-age=315360000" in headers["Cache-Control"]


def test_nginx_never_serves_attachments_from_disk_but_serves_rep_photos(stack):
    attachment = stack.var / "media" / "proposals" / "2026" / "12" / "0123456789abcdef01234567.pdf"
    attachment.parent.mkdir(parents=True, exist_ok=True)
    attachment.write_bytes(b"%PDF-1.4 private")
    status, _headers, body = stack.request("/media/proposals/2026/12/0123456789abcdef01234567.pdf")
    assert status == 404 and b"private" not in body
    photo = stack.var / "media" / "reps" / "photos" / "rep.png"
    photo.parent.mkdir(parents=True, exist_ok=True)
    photo.write_bytes(b"\x89PNG\r\n\x1a\npublic")
    status, _headers, body = stack.request("/media/reps/photos/rep.png")
    assert status == 200 and body.endswith(b"public")


def test_plain_http_is_redirected_and_oversized_bodies_are_refused_at_the_proxy(stack):
    with socket.create_connection(("127.0.0.1", stack.http_port)) as conn:
        conn.sendall(b"GET /intake/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        head = conn.recv(4096).decode()
    assert head.startswith("HTTP/1.1 301") and "Location: https://127.0.0.1/intake/" in head
    status, _headers, _body = stack.request(
        "/intake/", data=b"x" * (21 * 1024 * 1024), headers={"Content-Type": "application/octet-stream"}
    )
    assert status == 413
