from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from liaison import backup


class Command(BaseCommand):
    help = (
        "Load a backup archive into an empty database and an empty MEDIA_ROOT, then check every table's "
        "row count and checksum and every file's SHA-256 against the archive's manifest."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path)

    def handle(self, *args, archive, **options):
        if not archive.is_file():
            raise CommandError(f"{archive}: no such file")
        try:
            manifest = backup.restore(archive)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(t["rows"] for t in manifest["tables"].values())
        self.stdout.write(
            self.style.SUCCESS(
                f"restored {archive} (made {manifest['created_at']}): {len(manifest['tables'])} tables, "
                f"{rows:,} rows and {len(manifest['media'])} files, each equal to the manifest"
            )
        )
