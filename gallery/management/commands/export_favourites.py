import os
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gallery import services


class Command(BaseCommand):
    help = (
        "Write a zip of a user's saved frames (full JPEGs) with favourites.csv: title, video_url, "
        "timestamp, timestamp_link, note, and the frame's file in the zip."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="Whose favourites.")
        parser.add_argument(
            "--out", required=True, type=Path, metavar="FILE.zip", help="Where to write the zip."
        )
        parser.add_argument(
            "--base-url",
            default="",
            metavar="URL",
            help="The site's address (https://inspire.example.com): makes links to uploaded videos absolute.",
        )

    def handle(self, *args, user: str, out: Path, base_url: str, **options) -> None:
        account = get_user_model().objects.filter(username=user).first()
        if account is None:
            raise CommandError(f"No user named {user!r}.")
        if out.is_dir():
            raise CommandError(f"{out} is a folder; give the path of the zip file to write.")
        if not out.parent.is_dir():
            raise CommandError(f"The folder {out.parent} does not exist.")
        # Written beside the target and renamed at the end: a failed export leaves no half zip.
        partial = out.with_name(out.name + ".part")
        try:
            with open(partial, "wb") as fh:
                count = services.favourites_export(user=account, out=fh, base_url=base_url)
            os.replace(partial, out)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"Cannot write {out}: {exc.strerror or exc}.") from None
        self.stdout.write(f"Wrote {count} favourite(s) of {user} to {out}.")
