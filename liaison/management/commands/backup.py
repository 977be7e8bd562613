from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from liaison import backup


class Command(BaseCommand):
    help = (
        "Write one backup archive (database dump, uploaded files, manifest of row counts and checksums) "
        "and keep the newest --keep archives in the directory."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=None, help="where to write (default: BACKUP_DIR)")
        parser.add_argument("--keep", type=int, default=None, help="archives to keep (default: BACKUP_KEEP)")

    def handle(self, *args, dir, keep, **options):  # noqa: A002 - the option's name
        directory = dir or Path(settings.BACKUP_DIR)
        keep = settings.BACKUP_KEEP if keep is None else keep
        if keep < 1:
            raise CommandError("--keep must be at least 1")
        try:
            path = backup.create(directory, keep=keep)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        manifest = backup.read_manifest(path)
        rows = sum(t["rows"] for t in manifest["tables"].values())
        self.stdout.write(
            self.style.SUCCESS(
                f"{path}: {len(manifest['tables'])} tables, {rows:,} rows, {len(manifest['media'])} files"
            )
        )
