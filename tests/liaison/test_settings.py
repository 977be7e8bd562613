"""Settings parse every variable, and a bad value stops start-up naming the variable."""

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from liaison.env import Env
from tests.helpers import ROOT, project_env, run_manage, run_python

PRINT = "import django; django.setup(); from django.conf import settings as s; print({expr})"


def settings_value(expr: str, **env: str) -> str:
    result = run_python(PRINT.format(expr=expr), **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def start_up_error(**env: str) -> str:
    result = run_python("import django; django.setup()", **env)
    assert result.returncode != 0
    return result.stderr


class TestEnv:
    def test_booleans(self):
        env = Env({"A": "1", "B": "off", "C": "Yes"})
        assert env.bool("A") is True and env.bool("B") is False and env.bool("C") is True
        assert env.bool("MISSING", default=True) is True
        with pytest.raises(ImproperlyConfigured, match="D="):
            Env({"D": "maybe"}).bool("D")

    def test_lists_ints_and_choices(self):
        env = Env({"HOSTS": "a.cn, b.cn,,", "N": "7", "BAD": "x", "L": "fr"})
        assert env.list("HOSTS") == ["a.cn", "b.cn"]
        assert env.int("N", 1) == 7 and env.int("MISSING", 3) == 3
        with pytest.raises(ImproperlyConfigured, match="BAD"):
            env.int("BAD", 1)
        with pytest.raises(ImproperlyConfigured, match="L='fr'"):
            env.choice("L", ["zh-hans", "en"], "zh-hans")

    def test_secrets_may_come_from_files(self, tmp_path):
        secret = tmp_path / "key"
        secret.write_text("s3cret\n")
        assert Env({"SECRET_KEY_FILE": str(secret)}).str("SECRET_KEY") == "s3cret"
        with pytest.raises(ImproperlyConfigured, match="SECRET_KEY_FILE"):
            Env({"SECRET_KEY_FILE": str(tmp_path / "missing")}).str("SECRET_KEY")

    def test_database_urls(self):
        config = Env({"DATABASE_URL": "postgres://u:p@db.example:5433/liaison"}).database("DATABASE_URL", "")
        assert (config["ENGINE"], config["HOST"], config["PORT"], config["NAME"]) == (
            "django.db.backends.postgresql",
            "db.example",
            5433,
            "liaison",
        )
        assert (
            Env({}).database("DATABASE_URL", "sqlite:////tmp/x.db")["ENGINE"] == "django.db.backends.sqlite3"
        )

    @pytest.mark.parametrize(
        "url", ["mysql://u@h/db", "not a url", "postgres://u:p@h:99999999/db", "postgres://h"]
    )
    def test_malformed_database_urls_name_the_variable_and_hide_the_password(self, url):
        with pytest.raises(ImproperlyConfigured, match="DATABASE_URL") as info:
            Env({"DATABASE_URL": url}).database("DATABASE_URL", "")
        assert ":p@" not in str(info.value)

    @pytest.mark.parametrize("url", ["http://h:6379", "redis://", "redis://h:port/0"])
    def test_malformed_redis_urls(self, url):
        with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
            Env({"REDIS_URL": url}).redis_url("REDIS_URL")


def test_defaults_need_no_server():
    assert (
        settings_value(
            "s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.CACHES['default']['BACKEND'], s.TIME_ZONE, s.LANGUAGE_CODE, s.DEBUG",
            DEBUG="1",
        )
        == "django.db.backends.sqlite3 filesystem://localhost/ django.core.cache.backends.locmem.LocMemCache Asia/Shanghai zh-hans True"
    )


def test_urls_switch_to_postgresql_and_redis():
    out = settings_value(
        "s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.CELERY_RESULT_BACKEND, s.CACHES['default']['BACKEND']",
        DEBUG="1",
        DATABASE_URL="postgres://u:p@127.0.0.1:5432/x",
        REDIS_URL="redis://127.0.0.1:6379/2",
    )
    assert out == (
        "django.db.backends.postgresql redis://127.0.0.1:6379/2 redis://127.0.0.1:6379/2 "
        "django.core.cache.backends.redis.RedisCache"
    )


def test_the_visibility_timeout_is_set_once_for_broker_and_results():
    out = settings_value(
        "s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'] == s.CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS['visibility_timeout'] == s.CELERY_VISIBILITY_TIMEOUT",
        DEBUG="1",
        REDIS_URL="redis://127.0.0.1:6379/0",
        CELERY_VISIBILITY_TIMEOUT="7200",
    )
    assert out == "True"


def test_debug_is_off_by_default_and_then_a_secret_key_is_required():
    assert "SECRET_KEY" in start_up_error()
    assert (
        settings_value("s.DEBUG, s.SESSION_COOKIE_SECURE, s.SECURE_SSL_REDIRECT", SECRET_KEY="k" * 50)
        == "False True True"
    )


def test_secret_key_file_is_read(tmp_path):
    key = tmp_path / "secret"
    key.write_text("x" * 60)
    assert settings_value("len(s.SECRET_KEY)", SECRET_KEY_FILE=str(key)) == "60"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DATABASE_URL": "mysql://root@localhost/db"}, "DATABASE_URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"LANGUAGE_CODE": "fr"}, "LANGUAGE_CODE"),
        ({"DEBUG": "perhaps"}, "DEBUG"),
        ({"EMAIL_PORT": "twenty-five"}, "EMAIL_PORT"),
        ({"SMS_BACKEND": "pigeon"}, "SMS_BACKEND"),
        ({"SMS_BACKEND": "http"}, "SMS_HTTP_URL"),
        ({"TRUSTED_PROXIES": "127.0.0.1,proxy.example.cn"}, "TRUSTED_PROXIES"),
        ({"RATE_LIMIT_INTAKE_IP": "many"}, "RATE_LIMIT_INTAKE_IP"),
    ],
)
def test_bad_values_stop_start_up_naming_the_variable(env, variable):
    error = start_up_error(**{"DEBUG": "1", **env})
    assert "ImproperlyConfigured" in error and variable in error


def test_allowed_hosts_and_csrf_origins_are_lists():
    assert (
        settings_value(
            "s.ALLOWED_HOSTS, s.CSRF_TRUSTED_ORIGINS",
            SECRET_KEY="k" * 50,
            ALLOWED_HOSTS="liaison.example.cn,www.liaison.example.cn",
            CSRF_TRUSTED_ORIGINS="https://liaison.example.cn",
        )
        == "['liaison.example.cn', 'www.liaison.example.cn'] ['https://liaison.example.cn']"
    )


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="a-production-secret-" + "x" * 50,
        ALLOWED_HOSTS="liaison.example.cn",
        # Real channels, as in the README's production setup (console ones stop start-up: liaison.checks).
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        SMS_BACKEND="http",
        SMS_HTTP_URL="https://sms.example.cn/send",
        TRUSTED_PROXIES="127.0.0.1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_two_processes_writing_to_the_laptop_database_wait_for_each_other(tmp_path):
    """Web, worker and beat share one SQLite file: a transaction that reads and then writes
    must wait for another writer, not fail with "database is locked".

    A handshake over named pipes (opening one blocks until the other side opens it), not a sleep,
    orders the two processes in each round:
    1. the first reads inside its transaction and says so (``held``);
    2. the second answers (``trying``) and starts its own read-then-write transaction while the
       first is still inside its own; the first then writes and commits;
    3. the second must have waited for that commit: it reads the first's row. It says ``done``.
    Without the write lock at BEGIN the second's read can slip in before the first's commit and one
    of the two writes fails; which of the two racers wins is up to the scheduler, hence several rounds.
    """
    import os
    import sqlite3
    import time

    rounds = 5
    db = tmp_path / "shared.sqlite3"
    with sqlite3.connect(db) as setup:
        setup.execute("CREATE TABLE t (n integer)")
    held, trying, done = (tmp_path / name for name in ("held", "trying", "done"))
    for pipe in (held, trying, done):
        os.mkfifo(pipe)
    start = "import django; django.setup()\nfrom django.db import connection, transaction\nseen = []\n"
    first = start + (
        f"for _ in range({rounds}):\n"
        "    with transaction.atomic(), connection.cursor() as c:\n"
        "        c.execute('SELECT count(*) FROM t'); seen.append(c.fetchone()[0])\n"
        f"        open({str(held)!r}, 'w').close()\n"
        f"        open({str(trying)!r}).read()\n"
        "        c.execute('INSERT INTO t VALUES (1)')\n"
        f"    open({str(done)!r}).read()\n"
        "print(seen)\n"
    )
    second = start + (
        f"for _ in range({rounds}):\n"
        f"    open({str(held)!r}).read()\n"
        f"    open({str(trying)!r}, 'w').close()\n"
        "    with transaction.atomic(), connection.cursor() as c:\n"
        "        c.execute('SELECT count(*) FROM t'); seen.append(c.fetchone()[0])\n"
        "        c.execute('INSERT INTO t VALUES (2)')\n"
        f"    open({str(done)!r}, 'w').close()\n"
        "print(seen)\n"
    )
    env = project_env(DEBUG="1", DATABASE_URL=f"sqlite:///{db}", LIAISON_VAR_DIR=str(tmp_path))
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for code in (first, second)
    ]
    try:
        # One that fails leaves the other blocked on a pipe: stop it at once rather than time out.
        deadline = time.monotonic() + 60
        while any(run.poll() is None for run in runs) and all(run.poll() in (None, 0) for run in runs):
            assert time.monotonic() < deadline, "the two processes did not finish"
            time.sleep(0.05)
    finally:
        for run in runs:
            run.kill()
    results = [run.communicate() for run in runs]
    assert [out.strip() for out, _err in results] == [
        str([2 * i for i in range(rounds)]),
        str([2 * i + 1 for i in range(rounds)]),
    ], [err[-300:] for _out, err in results]
    with sqlite3.connect(db) as check:
        assert check.execute("SELECT n FROM t ORDER BY rowid").fetchall() == [(1,), (2,)] * rounds


def test_the_laptop_broker_keeps_its_state_under_the_var_dir(tmp_path):
    """kombu's filesystem transport writes its exchange table to ./control unless told otherwise."""
    var = tmp_path / "var"
    work = tmp_path / "cwd"
    work.mkdir()
    code = (
        "import django; django.setup(); from liaison.celery import app; "
        "app.send_task('liaison.tasks.heartbeat', ignore_result=True)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=work,
        env=project_env(DEBUG="1", LIAISON_VAR_DIR=str(var), PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert list(work.iterdir()) == []
    assert [p.name for p in (var / "celery" / "control").iterdir()] == ["celery.exchange"]
    assert len(list((var / "celery" / "queue").iterdir())) == 1
