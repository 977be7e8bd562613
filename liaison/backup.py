"""One archive holds everything a new server needs: the database, the uploaded files, and a manifest
that proves the restore is whole.

``create()`` writes ``liaison-<time>.tar.gz`` with:
- ``database.dump``: ``pg_dump --format=custom`` (PostgreSQL), or ``database.sqlite3``, a copy made
  with SQLite's online backup;
- ``media/``: every file under ``MEDIA_ROOT`` (attachments, photos, reports);
- ``manifest.json``: the engine, the time, each table's row count and content checksum, each file's
  size and SHA-256.
On PostgreSQL the manifest and the dump read one snapshot (``pg_export_snapshot`` handed to
``pg_dump --snapshot``), so what the manifest counts is exactly what the dump holds, whatever is
written meanwhile.

``restore()`` loads an archive into an empty database and an empty media directory, then counts
and checksums again and fails unless every table and every file equals the manifest.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

FORMAT = 1
PREFIX = "liaison-"
SUFFIX = ".tar.gz"
MANIFEST = "manifest.json"
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"


class BackupError(Exception):
    """A backup or restore that cannot be done, or a restore that does not equal its manifest."""


# --- what a database holds -----------------------------------------------------------------------


def _tables(conn) -> list[str]:
    return sorted(conn.introspection.table_names(include_views=False))


def table_figures() -> dict[str, dict]:
    """Each table's row count and a checksum of its content, independent of the rows' order."""
    if connection.vendor == "sqlite":  # read raw: Django's converters would change the values' repr
        name = str(connection.settings_dict["NAME"])
        raw = sqlite3.connect(name, uri=name.startswith("file:"))  # the tests' shared in-memory one
        try:
            return _sqlite_figures(raw)
        finally:
            raw.close()
    figures = {}
    with connection.cursor() as cursor:
        for table in _tables(connection):
            name = connection.ops.quote_name(table)  # a table name from introspection
            sql = f"SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '') FROM (SELECT md5(t::text) AS h FROM {name} t) rows"  # noqa: S608, E501
            cursor.execute(sql)
            rows, checksum = cursor.fetchone()
            figures[table] = {"rows": rows, "checksum": checksum}
    return figures


def media_figures(root: Path) -> dict[str, dict]:
    files = {}
    if root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            files[path.relative_to(root).as_posix()] = {
                "size": path.stat().st_size,
                "sha256": digest.hexdigest(),
            }
    return files


# --- backing up ----------------------------------------------------------------------------------


def _pg_env(db: dict) -> dict[str, str]:
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    return env


def _run(args: list[str], env: dict[str, str]) -> None:
    try:
        result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError as exc:
        raise BackupError(f"{args[0]} is not installed (Debian: apt install postgresql-client)") from exc
    if result.returncode:
        raise BackupError(f"{args[0]} failed: {result.stderr.strip()[:2000]}")


def _dump_database(into: Path) -> tuple[str, dict]:
    """Write the database into ``into`` and return (file name, table figures of exactly that)."""
    if connection.vendor == "postgresql":
        db = connection.settings_dict
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
            figures = table_figures()
            _run(
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={into / PG_DUMP}",
                    db["NAME"],
                ],
                _pg_env(db),
            )
        return PG_DUMP, figures
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        target = sqlite3.connect(into / SQLITE_COPY)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        copy = sqlite3.connect(into / SQLITE_COPY)
        try:
            figures = _sqlite_figures(copy)
        finally:
            copy.close()
        return SQLITE_COPY, figures
    raise BackupError(f"backups of {connection.vendor} databases are not supported")


def _sqlite_figures(raw: sqlite3.Connection) -> dict[str, dict]:
    """``table_figures`` of a SQLite file that Django is not connected to."""
    names = [
        row[0]
        for row in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    figures = {}
    for table in names:
        hashes = sorted(
            hashlib.md5(repr(row).encode(), usedforsecurity=False).hexdigest()
            for row in raw.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - a table name from the file
        )
        checksum = hashlib.md5("".join(hashes).encode(), usedforsecurity=False).hexdigest() if hashes else ""
        figures[table] = {"rows": len(hashes), "checksum": checksum}
    return figures


def create(directory: Path, *, keep: int | None = None, now: datetime.datetime | None = None) -> Path:
    """Write one archive into ``directory``; then keep only the newest ``keep`` archives there."""
    if connection.in_atomic_block:
        raise BackupError("a backup reads its own snapshot: run it outside a transaction")
    directory.mkdir(parents=True, exist_ok=True)
    now = now or timezone.now()
    name = f"{PREFIX}{timezone.localtime(now):%Y%m%d-%H%M%S}{SUFFIX}"
    media_root = Path(settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".backup-") as work:
        work_dir = Path(work)
        dump_name, tables = _dump_database(work_dir)
        files = media_figures(media_root)
        manifest = {
            "format": FORMAT,
            "created_at": timezone.localtime(now).isoformat(),
            "engine": connection.vendor,
            "database": dump_name,
            "tables": tables,
            "media": files,
        }
        partial = work_dir / (name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            body = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(body), int(now.timestamp())
            archive.addfile(info, io.BytesIO(body))
            archive.add(work_dir / dump_name, arcname=dump_name)
            for relative in files:
                archive.add(media_root / relative, arcname=f"media/{relative}")
        final = directory / name
        os.replace(partial, final)  # whole or absent: a crash leaves no half archive under the name
    if keep:
        prune(directory, keep=keep)
    return final


def archives(directory: Path) -> list[Path]:
    """This directory's archives, oldest first (their names sort by time)."""
    return sorted(p for p in directory.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())


def prune(directory: Path, *, keep: int) -> list[Path]:
    removed = archives(directory)[:-keep] if keep > 0 else []
    for path in removed:
        path.unlink()
    return removed


# --- restoring -----------------------------------------------------------------------------------


def read_manifest(archive_path: Path) -> dict:
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            manifest = json.load(archive.extractfile(MANIFEST))
    except (KeyError, tarfile.TarError, OSError, ValueError) as exc:
        raise BackupError(f"{archive_path} holds no readable {MANIFEST}: not a Liaison backup") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"{archive_path} is backup format {manifest.get('format')}, this version reads {FORMAT}"
        )
    return manifest


def restore(archive_path: Path) -> dict:
    """Load ``archive_path`` into the (empty) database and media directory, then check both against
    the manifest. Returns the manifest."""
    manifest = read_manifest(archive_path)
    if manifest["engine"] != connection.vendor:
        raise BackupError(
            f"the backup is of a {manifest['engine']} database, this server uses {connection.vendor}"
        )
    if _tables(connection):
        raise BackupError("the database is not empty: restore into a new, empty database")
    media_root = Path(settings.MEDIA_ROOT)
    if media_root.is_dir() and any(p.is_file() for p in media_root.rglob("*")):
        raise BackupError(f"{media_root} is not empty: restore into an empty media directory")
    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        with tarfile.open(archive_path, "r:gz") as archive:
            archive.extractall(work_dir, filter="data")  # refuses absolute paths, .. and links out
        _load_database(work_dir / manifest["database"])
        if (work_dir / "media").is_dir():
            media_root.mkdir(parents=True, exist_ok=True)
            shutil.copytree(work_dir / "media", media_root, dirs_exist_ok=True)
    _verify(manifest, media_root)
    return manifest


def _load_database(dump: Path) -> None:
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        connection.close()
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                f"--dbname={db['NAME']}",
                str(dump),
            ],
            _pg_env(db),
        )
    else:
        connection.close()
        shutil.copyfile(dump, db["NAME"])


def _verify(manifest: dict, media_root: Path) -> None:
    found = table_figures()
    wrong = sorted(
        table
        for table in manifest["tables"].keys() | found.keys()
        if manifest["tables"].get(table) != found.get(table)
    )
    if wrong:
        raise BackupError(f"restored tables differ from the manifest: {', '.join(wrong[:20])}")
    files = media_figures(media_root)
    wrong = sorted(
        name
        for name in manifest["media"].keys() | files.keys()
        if manifest["media"].get(name) != files.get(name)
    )
    if wrong:
        raise BackupError(f"restored files differ from the manifest: {', '.join(wrong[:20])}")
