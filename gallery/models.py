"""The catalogue: videos shared by everyone, playlists, each user's library, frames, favourites.

A `Video` row exists once per source video (provider + id) whoever asked for it; what a user
sees is decided by their `LibraryItem`s and by the staff-curated playlists.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote, urlencode, urlsplit

from django.conf import settings
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse


def _seen_by(user, field: str) -> Q:
    """`field` is the id of a video the user sees: one of their library, or of a playlist that is
    in their library or curated.

    Three lists of video ids that do not depend on the row (Postgres hashes each once per query),
    each read from its own index: the user's library, their playlists' entries, the curated
    playlists' entries (partial index), never a test of every playlist.
    """
    library = LibraryItem.objects.filter(user=user)
    own_playlists = library.filter(playlist__isnull=False).values("playlist_id")
    return (
        Q(**{f"{field}__in": library.filter(video__isnull=False).values("video_id")})
        | Q(
            **{f"{field}__in": PlaylistEntry.objects.filter(playlist_id__in=own_playlists).values("video_id")}
        )
        | Q(**{f"{field}__in": PlaylistEntry.objects.filter(playlist__is_curated=True).values("video_id")})
    )


class VideoQuerySet(models.QuerySet):
    def visible_to(self, user) -> VideoQuerySet:
        """Videos in the user's library, in a playlist of their library, or in a curated playlist."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(_seen_by(user, "pk"))

    def in_library_of(self, user) -> VideoQuerySet:
        return self.filter(library_items__user=user)

    def with_frame_counts(self) -> VideoQuerySet:
        """`video.n_frames`: its frames that are not hidden."""
        return self.annotate(n_frames=frame_count("pk"))


def frame_count(video: str) -> Coalesce:
    """The number of frames (not hidden) of the video whose id is the outer query's `video`.

    A correlated count, not a JOIN + GROUP BY: Postgres computes it only for the rows a page
    shows (after ORDER BY/LIMIT), a paginator's COUNT(*) leaves it out, and it is read from the
    frame_video_shown index alone."""
    n_frames = (
        Frame.objects.filter(video=OuterRef(video), is_hidden=False)
        .order_by()
        .values("video")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(n_frames), 0)


class Video(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    UPLOAD_PROVIDER = "upload"

    provider = models.CharField(max_length=50, help_text="yt-dlp extractor, or 'upload'.")
    provider_id = models.CharField(max_length=255)
    source_url = models.URLField(max_length=2000, blank=True)
    title = models.CharField(max_length=500, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds.")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True, help_text="Why the last processing failed, in plain words.")
    # Kept only for uploads (the user's own copy, private to them); downloads are deleted.
    file = models.FileField(upload_to="uploads/", blank=True, max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VideoQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_id"], name="video_unique_source"),
            models.CheckConstraint(condition=~Q(provider_id=""), name="video_provider_id_set"),
        ]

    def __str__(self) -> str:
        return video_label(self.title, self.provider, self.provider_id)

    def get_absolute_url(self) -> str:
        return reverse("gallery:video", args=[self.pk])

    @property
    def is_upload(self) -> bool:
        return self.provider == self.UPLOAD_PROVIDER

    def url_at(self, timestamp_ms: int) -> str:
        """Where to watch this video at a moment: YouTube's t= parameter, else a media fragment."""
        seconds = max(0, int(timestamp_ms // 1000))
        if self.provider == "youtube":
            return "https://www.youtube.com/watch?" + urlencode({"v": self.provider_id, "t": f"{seconds}s"})
        if self.is_upload:
            return reverse("gallery:video_file", args=[self.pk]) + f"#t={seconds}"
        return f"{self.source_href}#t={seconds}" if self.source_href else ""

    def player_at(self, timestamp_ms: int) -> Player | None:
        """How the site plays this video in place from a moment: YouTube's privacy-enhanced
        embed, or an HTML5 <video> for an upload (served by the site) or a link straight to a
        video file; None for a page that only another site can play."""
        seconds = max(0, int(timestamp_ms // 1000))
        if self.provider == "youtube":
            query = urlencode({"start": seconds})
            return Player(
                "youtube", f"https://www.youtube-nocookie.com/embed/{quote(self.provider_id)}?{query}"
            )
        if self.is_upload:
            src = reverse("gallery:video_file", args=[self.pk])
        elif PurePosixPath(urlsplit(self.source_href).path).suffix.lower() in _PLAYABLE_SUFFIXES:
            src = self.source_href
        else:
            return None
        return Player("file", f"{src}#t={seconds}", self.content_type or "")

    @property
    def source_href(self) -> str:
        return web_url(self.source_url)


# What a browser's <video> plays from a link (a page of another site needs that site's player).
_PLAYABLE_SUFFIXES = frozenset({".mp4", ".m4v", ".webm", ".mov", ".ogv"})


@dataclass(frozen=True)
class Player:
    kind: str  # "youtube" (an iframe) or "file" (a <video>)
    src: str
    content_type: str = ""


def web_url(url: str) -> str:
    """`url` if it is an http(s) address, else "": what a page may link to (never javascript:)."""
    return url if urlsplit(url).scheme.lower() in {"http", "https"} else ""


def video_label(title: str, provider: str, provider_id: str) -> str:
    """How a video is named on pages: its title, else where it came from."""
    return title or f"{provider}:{provider_id}"


class PlaylistQuerySet(models.QuerySet):
    def visible_to(self, user) -> PlaylistQuerySet:
        """Curated playlists, and those in the user's library.

        The ids of both lists, each read from its own index (the curated playlists' partial
        index, the user's library), rather than "curated, or in the library" tested on every
        playlist of the site."""
        if not user.is_authenticated:
            return self.none()
        curated = Playlist.objects.filter(is_curated=True).order_by().values("pk")
        in_library = LibraryItem.objects.filter(user=user, playlist__isnull=False).order_by()
        return self.filter(pk__in=curated.union(in_library.values("playlist_id"), all=True))

    def curated(self) -> PlaylistQuerySet:
        return self.filter(is_curated=True)


class Playlist(models.Model):
    provider = models.CharField(max_length=50, blank=True)
    provider_id = models.CharField(max_length=255, blank=True)
    source_url = models.URLField(max_length=2000)
    title = models.CharField(max_length=500, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_playlists",
        help_text="Who added it first; empty for a playlist staff curate.",
    )
    is_curated = models.BooleanField(
        default=False, help_text="Curated playlists are shown to every signed-in user."
    )
    videos = models.ManyToManyField(Video, through="PlaylistEntry", related_name="playlists")
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PlaylistQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Known only once yt-dlp has looked at the URL; until then the id is blank.
            models.UniqueConstraint(
                fields=["provider", "provider_id"],
                condition=~Q(provider_id=""),
                name="playlist_unique_source",
            ),
        ]
        indexes = [
            # Every user sees the curated playlists: found without reading everyone's playlists.
            models.Index(fields=["id"], condition=Q(is_curated=True), name="playlist_curated"),
        ]

    def __str__(self) -> str:
        return self.title or self.source_url

    def get_absolute_url(self) -> str:
        return reverse("gallery:playlist", args=[self.pk])

    @property
    def source_href(self) -> str:
        return web_url(self.source_url)


class PlaylistEntry(models.Model):
    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="entries")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="playlist_entries")
    position = models.PositiveIntegerField(default=0)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["playlist", "position", "pk"]
        verbose_name_plural = "playlist entries"
        constraints = [
            models.UniqueConstraint(fields=["playlist", "video"], name="playlist_entry_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.playlist} #{self.position}: {self.video}"


class LibraryItem(models.Model):
    """One video or one playlist that a user added: their view of the shared catalogue."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="library")
    video = models.ForeignKey(
        Video, null=True, blank=True, on_delete=models.CASCADE, related_name="library_items"
    )
    playlist = models.ForeignKey(
        Playlist, null=True, blank=True, on_delete=models.CASCADE, related_name="library_items"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(video__isnull=False, playlist__isnull=True)
                | Q(video__isnull=True, playlist__isnull=False),
                name="library_item_one_target",
            ),
            models.UniqueConstraint(fields=["user", "video"], name="library_video_unique"),
            models.UniqueConstraint(fields=["user", "playlist"], name="library_playlist_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.video or self.playlist}"


def _frame_path(instance: Frame, filename: str) -> str:
    # Random names: a path reveals nothing and cannot be guessed from a video id.
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return f"frames/{instance.video_id}/{uuid.uuid4().hex}.{ext}"


def _thumb_path(instance: Frame, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return f"thumbs/{instance.video_id}/{uuid.uuid4().hex}.{ext}"


def timestamp_label(timestamp_ms: int) -> str:
    """A moment of a video as people write it: 4:05, or 1:02:03 past an hour."""
    seconds = timestamp_ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")


def random_key() -> float:
    return random.random()


class FrameQuerySet(models.QuerySet):
    def visible_to(self, user) -> FrameQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(_seen_by(user, "video_id"))

    def visible_to_few(self, user) -> FrameQuerySet:
        """The frames of `visible_to`, written for reading a few of them in any order: the video
        ids the user sees as one list (a UNION ALL of the same three lists), which Postgres
        joins to the frames of each video through its index and stops once it has enough.

        Each form is fast where the other is slow, measured on 300k frames: to read up to 1001
        of someone's 490 frames, this one took 0.4 ms where `visible_to`'s OR of three lists
        read the whole table (114 ms); along the `rand` index for thousands of frames, the OR
        took 3 ms where this one sorted all of them (200 ms).
        """
        if not user.is_authenticated:
            return self.none()
        library = LibraryItem.objects.filter(user=user).order_by()
        own_playlists = library.filter(playlist__isnull=False).values("playlist_id")
        entries = PlaylistEntry.objects.order_by()
        seen = (
            library.filter(video__isnull=False)
            .values("video_id")
            .union(
                entries.filter(playlist_id__in=own_playlists).values("video_id"),
                entries.filter(playlist__is_curated=True).values("video_id"),
                all=True,
            )
        )
        return self.filter(video_id__in=seen)

    def pickable(self) -> FrameQuerySet:
        return self.filter(is_hidden=False)

    def showcased(self) -> FrameQuerySet:
        """Frames anyone may see, signed in or not (the landing page's examples): those of the
        curated playlists that staff did not hide. Nothing of a user's own library."""
        curated = PlaylistEntry.objects.filter(playlist__is_curated=True).values("video_id")
        return self.filter(is_hidden=False, video_id__in=curated)

    def in_playlist(self, playlist_id: int) -> FrameQuerySet:
        return self.filter(
            video_id__in=PlaylistEntry.objects.filter(playlist_id=playlist_id).values("video_id")
        )

    def in_playlist_order(self, playlist_id: int) -> FrameQuerySet:
        """The frames of a playlist's videos in its order, then by moment. One entry per video of
        a playlist (playlist_entry_unique): the join repeats no frame."""
        return self.filter(video__playlist_entries__playlist_id=playlist_id).order_by(
            "video__playlist_entries__position", "video_id", "timestamp_ms", "pk"
        )

    def in_board(self, board_id: int) -> FrameQuerySet:
        return self.filter(pk__in=BoardItem.objects.filter(board_id=board_id).values("favourite__frame_id"))

    def with_saved(self, user) -> FrameQuerySet:
        """`frame.saved`: whether `user` saved the frame."""
        return self.annotate(saved=Exists(Favourite.objects.filter(user=user, frame=OuterRef("pk"))))


class Frame(models.Model):
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="frames")
    timestamp_ms = models.PositiveIntegerField()
    image = models.FileField(upload_to=_frame_path, max_length=255)
    thumbnail = models.FileField(upload_to=_thumb_path, max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    brightness = models.FloatField(null=True, blank=True, help_text="Mean luma, 0-255.")
    contrast = models.FloatField(null=True, blank=True, help_text="Luma standard deviation.")
    sharpness = models.FloatField(null=True, blank=True, help_text="Variance of the Laplacian.")
    dhash = models.CharField(max_length=16, blank=True, help_text="64-bit difference hash, hex.")
    # What jobs.frames compares to tell near-duplicates apart (colour, luma and edge histograms
    # and a tiny grey picture, base64); empty for frames stored before it existed.
    signature = models.CharField(max_length=200, blank=True, editable=False)
    palette = models.JSONField(default=list, blank=True, help_text="Dominant colours, '#rrggbb'.")
    is_hidden = models.BooleanField(default=False, help_text="Hidden frames are never picked at random.")
    rand = models.FloatField(default=random_key, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FrameQuerySet.as_manager()

    class Meta:
        ordering = ["video", "timestamp_ms"]
        constraints = [
            # Makes extraction idempotent: a retried task cannot store the same moment twice.
            models.UniqueConstraint(fields=["video", "timestamp_ms"], name="frame_unique_moment"),
        ]
        indexes = [
            models.Index(fields=["rand"], name="frame_rand"),
            models.Index(fields=["video", "rand"], name="frame_video_rand"),
            # The frames pages show, in their order: counts and previews of the library are
            # read from this index alone (Postgres), without visiting each frame's row.
            models.Index(
                fields=["video", "timestamp_ms", "id"], condition=Q(is_hidden=False), name="frame_video_shown"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.video} @ {self.timestamp_label}"

    def get_absolute_url(self) -> str:
        return reverse("gallery:frame", args=[self.pk])

    @property
    def timestamp_label(self) -> str:
        return timestamp_label(self.timestamp_ms)

    def get_image_url(self) -> str:
        return reverse("gallery:frame_file", args=[self.pk, "image"])

    def get_thumbnail_url(self) -> str:
        return reverse("gallery:frame_file", args=[self.pk, "thumb"])

    @property
    def source_link(self) -> str:
        return self.video.url_at(self.timestamp_ms)

    @property
    def player(self) -> Player | None:
        return self.video.player_at(self.timestamp_ms)

    @property
    def swatches(self) -> list[str]:
        """The palette's '#rrggbb' colours; anything else is left out: it goes into an SVG fill,
        where escaping alone would not keep out a url() to another site."""
        return [c for c in self.palette or () if isinstance(c, str) and _COLOUR.fullmatch(c)]


class FavouriteQuerySet(models.QuerySet):
    def for_gallery(self, user) -> FavouriteQuerySet:
        return self.filter(user=user).select_related("frame__video").order_by("-created_at", "-pk")

    def for_export(self, user, *, board_id: int | None = None) -> FavouriteQuerySet:
        """The user's favourites (of one of their boards, in its order) for a zip: oldest first."""
        favourites = self.filter(user=user).select_related("frame__video")
        if board_id is None:
            return favourites.order_by("created_at", "pk")
        return favourites.filter(board_items__board_id=board_id).order_by(
            "board_items__position", "board_items__id"
        )


class Favourite(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites")
    # PROTECT: a frame someone saved cannot vanish under them; deleting files keeps these.
    frame = models.ForeignKey(Frame, on_delete=models.PROTECT, related_name="favourites")
    # The frame's video, stored again (a frame never changes video; set by favourite_add): the
    # gallery filters favourites by video through an index, without joining every favourite
    # of the user to its frame.
    video = models.ForeignKey(Video, on_delete=models.PROTECT, related_name="+", editable=False)
    note = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FavouriteQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "frame"], name="favourite_unique"),
        ]
        # The gallery's order, id included: a page is read from an index alone, no sort.
        indexes = [
            # With the video (Postgres): a filtered page is also read from this index alone.
            models.Index(
                fields=["user", "-created_at", "-id"], include=["video"], name="favourite_user_newest"
            ),
            models.Index(fields=["user", "video", "-created_at", "-id"], name="favourite_user_video_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.frame}"

    def get_absolute_url(self) -> str:
        return reverse("gallery:favourite", args=[self.pk])

    @property
    def source_link(self) -> str:
        return self.video.url_at(self.frame.timestamp_ms)


class BoardQuerySet(models.QuerySet):
    def of(self, user) -> BoardQuerySet:
        """The user's own boards (none for an anonymous visitor)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)

    def shared(self, token: str) -> BoardQuerySet:
        """The board a public link names; none for a revoked or guessed token, or for anything
        that secrets.token_urlsafe cannot have made (a NUL byte is an error in Postgres)."""
        if not _TOKEN.fullmatch(token):
            return self.none()
        return self.filter(share_token=token)


class Board(models.Model):
    """A named collection of one user's saved frames, private unless shared by a link."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="boards")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=2000)
    # Null while private; a fresh secrets.token_urlsafe(32) each time it is shared (services).
    share_token = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    show_notes = models.BooleanField(
        default=False, help_text="Whether the public link shows the owner's notes on the frames."
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BoardQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="board_unique_name"),
            models.CheckConstraint(condition=~Q(name=""), name="board_name_set"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("gallery:board", args=[self.pk])

    def get_shared_url(self) -> str:
        return reverse("gallery:shared_board", args=[self.share_token]) if self.share_token else ""


class BoardItem(models.Model):
    """One saved frame on a board. Through the favourite: a board only ever holds frames its
    owner saved, and removing the favourite takes the frame off every board (Undo puts it back)."""

    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="items")
    favourite = models.ForeignKey(Favourite, on_delete=models.CASCADE, related_name="board_items")
    position = models.PositiveIntegerField(default=0)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["board", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["board", "favourite"], name="board_item_unique"),
        ]
        indexes = [models.Index(fields=["board", "position", "id"], name="board_item_order")]

    def __str__(self) -> str:
        return f"{self.board} #{self.position}: {self.favourite.frame}"


# --- The indexes of "Frames with this colour" and "More like this" --------------------------
class FrameIndexQuerySet(models.QuerySet):
    def visible_to(self, user) -> FrameIndexQuerySet:
        """Rows of the frames Frame.objects.visible_to(user) holds: the same rule, tested on the
        rows' own video column."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(_seen_by(user, "video_id"))

    def saved_by(self, user) -> FrameIndexQuerySet:
        return self.filter(frame_id__in=Favourite.objects.filter(user=user).values("frame_id"))


class FrameColour(models.Model):
    """One colour of a frame's palette in CIE Lab (D65), and the cube of Lab that holds it
    (gallery.colour.bin_of): "Frames with this colour" reads the cubes within a ΔE of the colour
    from the index, then ranks by the exact ΔE. Written with the frame (services.frames_add)."""

    # No index of its own: the unique (frame, position) starts with it.
    frame = models.ForeignKey(Frame, on_delete=models.CASCADE, related_name="colours", db_index=False)
    # The frame's video, stored again (a frame never changes video): visibility is decided by
    # video, so the search tests it on these rows without joining every candidate to its frame.
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(help_text="Its place in the palette, the most common first.")
    bin = models.IntegerField()
    l = models.FloatField()  # noqa: E741 (CIE's own name for lightness)
    a = models.FloatField()
    b = models.FloatField()

    objects = FrameIndexQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["frame", "position"], name="frame_colour_unique"),
        ]
        indexes = [
            # With what the ranking needs (Postgres): the search reads this index alone.
            models.Index(fields=["bin", "video"], include=["frame", "l", "a", "b"], name="frame_colour_bin"),
        ]

    def __str__(self) -> str:
        return f"{self.frame_id} #{self.position}: L {self.l:.0f} a {self.a:.0f} b {self.b:.0f}"


class FrameKey(models.Model):
    """One of a frame's locality-sensitive keys (gallery.similarity.keys, from its signature):
    frames alike share keys, so "More like this" reads the frames sharing the most keys with
    one from the index, then ranks them by similarity(). Written with the frame."""

    frame = models.ForeignKey(Frame, on_delete=models.CASCADE, related_name="keys", db_index=False)
    # Indexed as FrameColour's: the unique (frame, key) serves the frame, the video is stored again.
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="+")
    key = models.IntegerField()

    objects = FrameIndexQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["frame", "key"], name="frame_key_unique"),
        ]
        indexes = [
            models.Index(fields=["key", "video"], include=["frame"], name="frame_key_key"),
        ]

    def __str__(self) -> str:
        return f"{self.frame_id}: {self.key}"
