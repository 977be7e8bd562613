"""Run every benchmark in bench/ and print ratios against baselines measured in the same run.

Usage: `make bench` (starts a throwaway PostgreSQL + Redis), or with DATABASE_URL set:
`python bench/run.py [name ...]`. Each bench_*.py module has `run(report)`; `report` prints
a line and keeps it for bench/results/latest.txt.
"""

import importlib
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liaison.settings")
os.environ.setdefault("DEBUG", "1")


def prepare_database() -> None:
    """Create the benchmark database when missing and migrate it."""
    import django
    from django.core.management import call_command

    django.setup()
    from django.db import connection

    if connection.vendor == "postgresql":
        import psycopg2

        settings = connection.settings_dict
        admin = psycopg2.connect(
            host=settings["HOST"],
            port=settings["PORT"],
            user=settings["USER"],
            password=settings["PASSWORD"],
            dbname="postgres",
        )
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [settings["NAME"]])
            if not cursor.fetchone():
                cursor.execute(f'CREATE DATABASE "{settings["NAME"]}"')
        admin.close()
    call_command("migrate", verbosity=0)


def main(names: list[str]) -> None:
    prepare_database()
    from django.db import connection

    version = connection.pg_version if connection.vendor == "postgresql" else ""
    lines = [f"# database: {connection.vendor} {version}"]

    def report(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    print(lines[0])
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    for name in names or modules:
        report(f"## {name}")
        importlib.import_module(f"bench.{name}").run(report)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
