from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gallery.models import Frame, Playlist
from gallery.queries import frame_pick


class Command(BaseCommand):
    help = "Print the path and source link of a random frame (what the original tool did)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", help="Only frames this user can see.")
        parser.add_argument("--playlist", type=int, help="Only frames of this playlist.")

    def handle(self, *args, user: str | None, playlist: int | None, **options) -> None:
        frames, playlists, few = Frame.objects.all(), Playlist.objects.all(), None
        if user:
            account = get_user_model().objects.filter(username=user).first()
            if account is None:
                raise CommandError(f"No user named {user!r}.")
            frames, playlists = Frame.objects.visible_to(account), Playlist.objects.visible_to(account)
            few = Frame.objects.visible_to_few(account)
        if playlist is not None:
            if not playlists.filter(pk=playlist).exists():
                raise CommandError(
                    f"No playlist with id {playlist}" + (f" visible to {user}." if user else ".")
                )
            frames, few = Frame.objects.in_playlist(playlist), None
        frame = frame_pick(frames, few=few)  # no session here: uniform, nothing to avoid
        if frame is None:
            raise CommandError("No frames to choose from yet. Add a video first (manage.py add_source).")
        try:
            path = default_storage.path(frame.image.name)
        except NotImplementedError:  # remote storage: the storage name is the address
            path = frame.image.name
        self.stdout.write(path)
        self.stdout.write(f"{frame.video} at {frame.timestamp_label}: {frame.source_link}")
