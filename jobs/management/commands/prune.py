from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs import maintenance
from jobs.units import size_text


class Command(BaseCommand):
    help = (
        "Remove media files (frames/, thumbs/, uploads/) that no row references, and temporary job "
        "folders of finished jobs. Keeps every file of a frame, video or unfinished job, and any file "
        "younger than --grace. --dry-run lists what would go and removes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be removed; remove nothing."
        )
        parser.add_argument(
            "--grace",
            type=int,
            default=3600,
            metavar="SECONDS",
            help="Keep files younger than this: they may belong to a row being saved (default 3600).",
        )

    def handle(self, *args, dry_run: bool, grace: int, **options) -> None:
        if grace < 0:
            raise CommandError("--grace must be 0 or more seconds.")
        pruned = maintenance.media_prune(dry_run=dry_run, grace_s=grace)
        verb = "Would remove" if dry_run else "Removed"
        for name in pruned.files:
            self.stdout.write(f"{verb} {name}")
        for path in pruned.temp_dirs:
            self.stdout.write(f"{verb} temporary folder {path}")
        self.stdout.write(
            f"{verb} {len(pruned.files)} file(s) ({size_text(pruned.bytes)}) "
            f"and {len(pruned.temp_dirs)} temporary folder(s)."
        )
