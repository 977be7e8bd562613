"""An upgrade from the previous release (CHANGELOG.md) to this checkout, on PostgreSQL: the old
release migrates an empty database and writes its demo year through its own services; this
checkout migrates the same database; every row is still there and the pages people use answer.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import urllib.parse

import psycopg2
import pytest

from tests.helpers import ROOT, project_env

pytestmark = [pytest.mark.postgres, pytest.mark.deploy]

# The release before this one (CHANGELOG.md's v0.9.0), by its commit: a clone need not carry tags, and
# CI's clone does not, but every clone of main carries this commit.
PREVIOUS = "74e2b14ff65da578fa97d416d0b014e965ff0c31"

PAGES = """
import django; django.setup()
from django.test import Client
from liaison.models import User
pages = {"lianban": ["/", "/tickets/", "/overview/", "/tickets/statistics/", "/reps/duty/", "/bulletins/",
                     "/admin/proposals/ticket/", "/reps/assessment/"],
         "minzheng": ["/", "/tickets/"], "daibiao": ["/", "/reps/me/", "/tickets/"]}
for username, urls in pages.items():
    client = Client()
    client.force_login(User.objects.get(username=username))
    for url in urls:
        status = client.get(url).status_code
        print(username, url, status)
print("public", "/results/", Client().get("/results/").status_code)
print("public", "/reps/", Client().get("/reps/").status_code)
"""


def counts(dsn: dict) -> dict[str, int]:
    with psycopg2.connect(**dsn) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        tables = [row[0] for row in cursor.fetchall()]
        found = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - names from the catalogue
            found[table] = cursor.fetchone()[0]
    return found


def run(args: list[str], *, cwd, env: dict[str, str], timeout: int = 600) -> str:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(args)} in {cwd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


@pytest.fixture
def database():
    server = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    admin = psycopg2.connect(dbname="postgres", user=server.username, host=server.hostname, port=server.port)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("DROP DATABASE IF EXISTS liaison_upgrade WITH (FORCE)")
        cursor.execute("CREATE DATABASE liaison_upgrade")
    yield {"dbname": "liaison_upgrade", "user": server.username, "host": server.hostname, "port": server.port}
    with admin.cursor() as cursor:
        cursor.execute("DROP DATABASE IF EXISTS liaison_upgrade WITH (FORCE)")
    admin.close()


def test_the_previous_release_upgrades_to_this_one_with_every_row_kept(database, tmp_path):
    archive = subprocess.run(["git", "archive", PREVIOUS], cwd=ROOT, capture_output=True, check=False)
    assert archive.returncode == 0, (
        f"the previous release {PREVIOUS} is not in this clone ({archive.stderr.decode().strip()}): "
        "clone with its history (not --depth) to test the upgrade"
    )
    previous = tmp_path / PREVIOUS
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(previous, filter="data")

    env = project_env(
        DEBUG="1",
        DATABASE_URL=f"postgres://{database['user']}@{database['host']}:{database['port']}/liaison_upgrade",
        LIAISON_VAR_DIR=str(tmp_path / "var"),
        LIAISON_TWO_FACTOR_ENFORCED="0",
        ALLOWED_HOSTS="testserver",
    )
    # The old release, from its own tree (its manage.py puts it first on the path).
    run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=previous, env=env)
    run([sys.executable, "manage.py", "seed_demo"], cwd=previous, env=env)
    before = counts(database)
    assert before["proposals_ticket"] > 0 and before["reps_representative"] > 0

    # This checkout over the same database.
    migrated = run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=ROOT, env=env)
    assert "Applying" in migrated  # there were migrations to apply
    after = counts(database)
    # A new model adds its content type and permissions; every other table keeps its rows.
    grows = {"django_migrations", "django_content_type", "auth_permission"}
    changed = {t: (n, after.get(t)) for t, n in before.items() if t not in grows and after.get(t) != n}
    assert changed == {}, f"rows lost or added by the upgrade: {changed}"
    assert all(after[t] >= before[t] for t in grows)
    assert after["django_migrations"] > before["django_migrations"]

    answered = run([sys.executable, "-c", PAGES], cwd=ROOT, env=env).split("\n")
    failing = [line for line in answered if line and not line.endswith(" 200")]
    assert failing == [], failing
