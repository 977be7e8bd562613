"""Backup and restore (``liaison.backup``): an archive restored into an empty database and media
directory equals what was backed up, table by table and file by file; a restore that would mix
with existing data, or an archive that was tampered with, is refused with a clear error."""

import io
import json
import tarfile

import psycopg2
import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection

from liaison import backup
from proposals import services
from proposals.models import Attachment
from tests.helpers import run_manage, run_python

PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def some_work(media, township_a, category, clerk_a):
    ticket = services.ticket_register(
        actor=clerk_a,
        township=township_a,
        title="村口路灯不亮",
        content="东街社区村口三盏路灯坏了一个月",
        category=category,
        source="reception",
        proposers=[("张大爷", "13812345678")],
    )
    attachment = Attachment(ticket=ticket, name="路灯.png", content_type="image/png", size=len(PHOTO))
    attachment.file.save("路灯.png", ContentFile(PHOTO))
    return attachment


@pytest.fixture
def empty_database():
    """A new database on the test server, dropped afterwards; its DATABASE_URL."""
    db = connection.settings_dict
    name = f"{db['NAME']}_restored"
    admin = psycopg2.connect(dbname="postgres", user=db["USER"], host=db["HOST"], port=db["PORT"])
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{name}"
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


FIGURES = (
    "import django, json; django.setup(); from liaison import backup; "
    "from proposals.models import Attachment; a = Attachment.objects.get(); "
    "print(json.dumps({'tables': backup.table_figures(), 'file': a.file.read().hex(), 'name': a.file.name}))"
)


@pytest.mark.postgres
def test_a_postgres_backup_restores_into_an_empty_database_equal_table_by_table(
    transactional_db, some_work, tmp_path, empty_database
):
    archive = backup.create(tmp_path / "backups")
    manifest = backup.read_manifest(archive)
    assert manifest["engine"] == "postgresql" and manifest["tables"] == backup.table_figures()
    assert manifest["tables"]["proposals_ticket"]["rows"] == 1
    assert list(manifest["media"]) == [some_work.file.name]

    restored_media = tmp_path / "restored-media"
    env = {"DEBUG": "1", "DATABASE_URL": empty_database, "MEDIA_ROOT": str(restored_media)}
    result = run_manage("restore", str(archive), **env)
    assert result.returncode == 0, result.stderr
    assert "each equal to the manifest" in result.stdout

    result = run_python(FIGURES, **env)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["tables"] == manifest["tables"]  # every table: rows and content
    assert found["name"] == some_work.file.name and bytes.fromhex(found["file"]) == PHOTO  # read back

    again = run_manage("restore", str(archive), **env)  # now the database holds data
    assert again.returncode != 0 and "the database is not empty" in again.stderr


def test_the_archive_holds_the_manifest_the_database_and_the_files(transactional_db, some_work, tmp_path):
    archive = backup.create(tmp_path)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names[0] == "manifest.json" and {"database.dump", "database.sqlite3"} & set(names)
    assert f"media/{some_work.file.name}" in names


def test_restore_refuses_a_database_that_holds_data(transactional_db, some_work, tmp_path):
    archive = backup.create(tmp_path)
    with pytest.raises(CommandError, match="the database is not empty"):
        call_command("restore", str(archive))


def test_restore_refuses_a_file_that_is_not_a_backup(db, tmp_path):
    stray = tmp_path / "notes.tar.gz"
    with tarfile.open(stray, "w:gz"):
        pass
    with pytest.raises(CommandError, match="not a Liaison backup"):
        call_command("restore", str(stray))
    with pytest.raises(CommandError, match="no such file"):
        call_command("restore", str(tmp_path / "missing.tar.gz"))


def test_backup_keeps_the_newest_archives(transactional_db, media, tmp_path):
    import datetime

    from django.utils import timezone

    start = timezone.now()
    made = [backup.create(tmp_path, keep=2, now=start + datetime.timedelta(days=d)) for d in range(3)]
    assert backup.archives(tmp_path) == made[1:]
    assert not made[0].exists()


def test_a_sqlite_install_backs_up_and_restores_with_the_two_commands(tmp_path):
    """`make run`'s embedded database: back up, restore into a new file, the same rows."""
    first = {
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'first.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "LIAISON_VAR_DIR": str(tmp_path / "var"),
    }
    assert run_manage("migrate", "-v0", timeout=300, **first).returncode == 0
    made = run_python(
        "import django; django.setup(); from tests.factories import TownshipFactory; TownshipFactory()",
        **first,
    )
    assert made.returncode == 0, made.stderr
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "note.txt").write_bytes("收到".encode())
    result = run_manage("backup", "--dir", str(tmp_path / "backups"), "--keep", "3", **first)
    assert result.returncode == 0, result.stderr
    (archive,) = backup.archives(tmp_path / "backups")

    second = {
        **first,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'second.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "m2"),
    }
    result = run_manage("restore", str(archive), **second)
    assert result.returncode == 0, result.stderr
    count = "import django; django.setup(); from liaison.models import Region; print(Region.objects.count())"
    assert run_python(count, **second).stdout.strip() == run_python(count, **first).stdout.strip() == "2"
    assert (tmp_path / "m2" / "note.txt").read_bytes() == "收到".encode()

    # An archive whose file no longer matches its manifest: loaded, checked, refused.
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(tampered, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member)
            if member.name == "media/note.txt":
                member.size = len(b"changed")
                data = io.BytesIO(b"changed")
            target.addfile(member, data)
    third = {
        **first,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'third.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "m3"),
    }
    result = run_manage("restore", str(tampered), **third)
    assert result.returncode != 0
    assert "restored files differ from the manifest: note.txt" in result.stderr
