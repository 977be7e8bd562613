"""Production start-up refuses what would quietly lose messages or put the demo's logins on real data:
the console email or SMS backend with DEBUG off (liaison.checks), seed_demo on a production database."""

import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from liaison.models import User
from tests.helpers import ROOT, project_env, run_manage, run_python

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "a-production-secret-" + "x" * 50,
    "ALLOWED_HOSTS": "liaison.example.cn",
}
REAL_BACKENDS = {
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "SMS_BACKEND": "http",
    "SMS_HTTP_URL": "https://sms.example.cn/send",
}


def test_console_backends_with_debug_off_stop_check():
    result = run_manage("check", **PRODUCTION)
    assert result.returncode != 0
    assert "liaison.E001" in result.stderr and "EMAIL_BACKEND" in result.stderr
    assert "liaison.E002" in result.stderr and "SMS_BACKEND" in result.stderr
    deploy = run_manage("check", "--deploy", **{**PRODUCTION, **REAL_BACKENDS, "SMS_BACKEND": "console"})
    assert deploy.returncode != 0 and "liaison.E002" in deploy.stderr and "liaison.E001" not in deploy.stderr


def test_gunicorns_wsgi_application_does_not_load_with_console_backends():
    result = run_python("import liaison.wsgi", **PRODUCTION)
    assert result.returncode != 0 and "liaison.E001" in result.stderr and "liaison.E002" in result.stderr
    allowed = run_python("import liaison.wsgi", **PRODUCTION, LIAISON_ALLOW_CONSOLE_MESSAGES="1")
    assert allowed.returncode == 0, allowed.stderr


def test_real_backends_or_the_explicit_allowance_or_debug_pass():
    for env in (REAL_BACKENDS, {"LIAISON_ALLOW_CONSOLE_MESSAGES": "1"}, {"DEBUG": "1"}):
        result = run_manage("check", **{**PRODUCTION, **env})
        assert result.returncode == 0, (env, result.stderr)
        assert "liaison.E00" not in result.stdout + result.stderr


def test_seed_demo_refuses_a_production_database(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--i-know-this-is-not-production") as refused:
        call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert "DEBUG 已关闭" in str(refused.value)  # in the default language, zh-hans
    assert not User.objects.exists()  # no superuser admin/demo-2026, nothing at all


def test_seed_demo_runs_with_debug_on(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert User.objects.get(username="admin").is_superuser


def test_seed_demo_runs_with_debug_off_when_told_it_is_not_production(db, settings):
    settings.DEBUG = False
    call_command("seed_demo", "--i-know-this-is-not-production", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert User.objects.get(username="admin").is_superuser


def test_the_celery_worker_does_not_start_with_console_backends(tmp_path):
    """The worker is what marks deliveries sent: it exits at once rather than log messages away."""
    env = project_env(
        **PRODUCTION, LIAISON_VAR_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'db'}"
    )
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "liaison", "worker", "--pool=solo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "liaison.E001" in result.stderr and "liaison.E002" in result.stderr
