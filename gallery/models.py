"""The catalogue: videos shared by everyone, playlists, each user's library, frames, favourites.

A `Video` row exists once per source video (provider + id) whoever asked for it; what a user
sees is decided by their `LibraryItem`s and by the staff-curated playlists.
"""

from __future__ import annotations

import functools
import random
import uuid
from dataclasses import dataclass
from typing import TypedDict
from urllib.parse import urlencode

from django.conf import settings
from django.db import connections, models
from django.db.models import Count, OuterRef, Q, Subquery, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, RowNumber

from inspire.links import link, linker


def _visible_sql() -> tuple[str, str]:
    """The two halves of "the videos a user sees", as SQL taking the user's id once each: the
    videos of their library, and those of a playlist in their library or of a curated one.

    Written as SQL because this rule sits inside the hottest queries of the site, and building
    and compiling it through the ORM took several times longer than Postgres took to run it.
    """
    library, entry = (m._meta.db_table for m in (LibraryItem, PlaylistEntry))
    own_videos = f"SELECT video_id FROM {library} WHERE user_id = %s AND video_id IS NOT NULL"
    playlist_videos = (
        f"SELECT e.video_id FROM {entry} e WHERE e.playlist_id IN ({_visible_playlist_ids_sql()})"
    )
    return own_videos, playlist_videos


def _visible_playlist_ids_sql() -> str:
    """The ids of the playlists a user sees (curated, or in their library), as SQL taking the
    user's id once: for PlaylistQuerySet.visible_to and the hand-written queries.

    Two lists read from their own indexes (the curated ones, the user's), not a test of every
    playlist ("curated, or in the library"): that read the whole table, which grows with every
    user's playlists; at 100,000 playlists it made the gallery's filters take 16 ms and a new
    user's random frame 42 ms.
    """
    library, playlist = (m._meta.db_table for m in (LibraryItem, Playlist))
    return (
        f"SELECT id FROM {playlist} WHERE is_curated UNION ALL "
        f"SELECT playlist_id FROM {library} WHERE user_id = %s AND playlist_id IS NOT NULL"
    )


def _visible_videos(user, field: str) -> Q:
    """`field` is the id of a video the user sees (see _visible_sql).

    Two IN lists of ids that Postgres hashes once per query, rather than EXISTS subqueries
    correlated with every video: measured with EXPLAIN ANALYZE (tests/bench/bench_site.py),
    this builds in half the time, plans in a seventh and runs no slower on 100,000 frames.
    """
    own_videos, playlist_videos = _visible_sql()
    return Q(**{f"{field}__in": RawSQL(own_videos, [user.pk])}) | Q(
        **{f"{field}__in": RawSQL(playlist_videos, [user.pk])}
    )


@dataclass(frozen=True)
class VideoIds:
    """A set of videos as a SQL query of their ids (one column, video_id), for
    FrameQuerySet.random_pick."""

    sql: str
    params: tuple = ()
    # Given ids are few; a query may name many videos (see FrameQuerySet.random_pick).
    listed: bool = False

    @classmethod
    def of(cls, videos: models.QuerySet | list[int]) -> VideoIds:
        if isinstance(videos, list):
            return cls(", ".join(["%s"] * len(videos)) or "NULL", tuple(videos), listed=True)
        # Named video_id like the other sets: random_pick matches frames on that column.
        ids = videos.order_by().values(video_id=models.F("pk"))
        sql, params = ids.query.get_compiler(using=videos.db).as_sql()
        return cls(sql, tuple(params))

    @classmethod
    def visible_to(cls, user) -> VideoIds:
        own_videos, playlist_videos = _visible_sql()
        # UNION ALL: the set is only asked whether it holds a video, and a video of the library
        # (found first) spares looking through the playlists' entries; UNION sorted out doubles
        # first, which needed both halves in full for each frame the pick looked at.
        return cls(f"{own_videos} UNION ALL {playlist_videos}", (user.pk, user.pk))

    @classmethod
    def in_playlist(cls, playlist_id: int) -> VideoIds:
        return cls(
            f"SELECT video_id FROM {PlaylistEntry._meta.db_table} WHERE playlist_id = %s", (playlist_id,)
        )


class VideoQuerySet(models.QuerySet):
    def visible_to(self, user) -> VideoQuerySet:
        """Videos in the user's library, in a playlist of their library, or in a curated playlist."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(_visible_videos(user, "pk"))

    def in_library_of(self, user) -> VideoQuerySet:
        return self.filter(library_items__user=user)

    def annotate_frames(self) -> VideoQuerySet:
        # A correlated count, not a JOIN + GROUP BY: Postgres computes it only for the rows a
        # page shows (after ORDER BY/LIMIT), and a paginator's COUNT(*) leaves it out.
        n_frames = (
            Frame.objects.filter(video=OuterRef("pk"), is_hidden=False)
            .order_by()
            .values("video")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return self.annotate(n_frames=Coalesce(Subquery(n_frames), 0))

    def for_library(self, user) -> VideoQuerySet:
        """The user's own videos for the library page, newest first, with frame counts."""
        return (
            self.filter(library_items__user=user)
            .annotate_frames()
            .order_by("-library_items__created_at", "-pk")
        )


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
        return link("gallery:video", self.pk)

    @property
    def is_upload(self) -> bool:
        return self.provider == self.UPLOAD_PROVIDER

    def url_at(self, timestamp_ms: int) -> str:
        """Where to watch this video at a moment: YouTube's t= parameter, else a media fragment."""
        seconds = max(0, int(timestamp_ms // 1000))
        if self.provider == "youtube":
            return "https://www.youtube.com/watch?" + urlencode({"v": self.provider_id, "t": f"{seconds}s"})
        if self.is_upload:
            return link("gallery:video_file", self.pk) + f"#t={seconds}"
        return f"{self.source_url}#t={seconds}" if self.source_url else ""


def video_label(title: str, provider: str, provider_id: str) -> str:
    """How a video is named on pages: its title, else where it came from."""
    return title or f"{provider}:{provider_id}"


class PlaylistQuerySet(models.QuerySet):
    def visible_to(self, user) -> PlaylistQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(pk__in=RawSQL(_visible_playlist_ids_sql(), [user.pk]))

    def curated(self) -> PlaylistQuerySet:
        return self.filter(is_curated=True)

    def for_library(self, user) -> PlaylistQuerySet:
        """Playlists for the library page (the user's and the curated ones) with counts."""
        # Correlated counts, one per playlist: joins would multiply entries by frames, and a
        # GROUP BY would evaluate the frame count once per entry.
        entries = PlaylistEntry.objects.filter(playlist=OuterRef("pk")).order_by().values("playlist")
        n_videos = entries.annotate(n=Count("pk")).values("n")
        n_ready = entries.filter(video__status=Video.Status.READY).annotate(n=Count("pk")).values("n")
        n_frames = entries.annotate(
            n=Count("video__frames", filter=Q(video__frames__is_hidden=False))
        ).values("n")
        return (
            self.visible_to(user)
            .annotate(
                n_videos=Coalesce(Subquery(n_videos), 0),
                n_ready=Coalesce(Subquery(n_ready), 0),
                n_frames=Coalesce(Subquery(n_frames), 0),
            )
            .order_by("-is_curated", "title", "pk")
        )


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
        return link("gallery:playlist", self.pk)


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


class LibraryItemQuerySet(models.QuerySet):
    def gallery_filters(self, user, *, videos_max: int, chosen_video: int | None = None) -> GalleryFilters:
        """What the favourites gallery offers to filter by, in one query: the playlists the user
        sees, the videos of their library (none if more than `videos_max`: a list of hundreds
        helps nobody), and `chosen_video` if the user may filter by it (a video they see or
        saved a frame of; linked from its pages).

        Written as SQL for the gallery's sake, as FavouriteQuerySet.gallery_page. The library's
        videos are read up to one more than `videos_max`, unsorted: sorting a big library by
        title only to learn that it is big cost more than the rest of the page.
        """
        if chosen_video is None:
            sql, params = _gallery_filters_statement(self.db, videos_max, False), [user.pk, user.pk]
        else:
            sql = _gallery_filters_statement(self.db, videos_max, True)
            params = [user.pk, user.pk, chosen_video, user.pk, user.pk, user.pk]
        with connections[self.db].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        found: dict[str, dict[int, str]] = {"playlist": {}, "video": {}, "chosen": {}}
        for kind, pk, title, source, source_id in rows:
            label = title or source if kind == "playlist" else video_label(title, source, source_id)
            found[kind][pk] = label
        many_videos = len(found["video"]) > videos_max
        videos = {} if many_videos else found["video"]
        return GalleryFilters(
            playlists=_by_label(found["playlist"]),
            videos=_by_label({**videos, **found["chosen"]}),
            many_videos=many_videos,
        )


def _by_label(options: dict[int, str]) -> list[tuple[int, str]]:
    return sorted(options.items(), key=lambda option: (option[1].casefold(), option[0]))


@dataclass(frozen=True)
class GalleryFilters:
    """Choices of the gallery's filters: (id, label) pairs sorted by label."""

    playlists: list[tuple[int, str]]
    videos: list[tuple[int, str]]  # the library's, unless many; and the chosen one
    many_videos: bool

    def by_field(self) -> dict[str, list[tuple[int, str]]]:
        return {"playlist": self.playlists, "video": self.videos}


@functools.lru_cache(maxsize=8)
def _gallery_filters_statement(using: str, videos_max: int, with_chosen: bool) -> str:
    """The statement of LibraryItemQuerySet.gallery_filters. Parameters: the user twice; with a
    chosen video, its id and the user three times more."""
    quote = connections[using].ops.quote_name
    library_t, playlist_t, video_t, favourite_t = (
        quote(m._meta.db_table) for m in (LibraryItem, Playlist, Video, Favourite)
    )

    # Each playlist and video looked up by its id. Postgres would rather hash the whole table
    # for a join with these few rows when it cannot tell how few they are (a user's playlists
    # hide among everyone's library rows): it read all 20,000 playlists of the bench for two.
    # LATERAL ... LIMIT 1 cannot become such a join. SQLite has no LATERAL and looks ids up.
    def by_id(table: str, columns: str, alias: str, outer_id: str) -> str:
        if connections[using].vendor == "postgresql":
            lookup = f"SELECT {columns} FROM {table} t WHERE t.id = {outer_id} LIMIT 1"
            return f"CROSS JOIN LATERAL ({lookup}) {alias}"
        return f"INNER JOIN {table} {alias} ON {alias}.id = {outer_id}"

    sql = (
        f"SELECT 'playlist', p.id, p.title, p.source_url, '' FROM ({_visible_playlist_ids_sql()}) seen "
        f"{by_id(playlist_t, 't.id, t.title, t.source_url', 'p', 'seen.id')} "
        "UNION ALL SELECT 'video', v.id, v.title, v.provider, v.provider_id FROM (SELECT i.video_id "
        f"FROM {library_t} i WHERE i.user_id = %s AND i.video_id IS NOT NULL "
        f"LIMIT {int(videos_max) + 1}) mine "
        f"{by_id(video_t, 't.id, t.title, t.provider, t.provider_id', 'v', 'mine.video_id')}"
    )
    if with_chosen:
        own_videos, playlist_videos = _visible_sql()
        sql += (
            f" UNION ALL SELECT 'chosen', v.id, v.title, v.provider, v.provider_id FROM {video_t} v "
            f"WHERE v.id = %s AND (v.id IN ({own_videos}) OR v.id IN ({playlist_videos}) OR EXISTS "
            f"(SELECT 1 FROM {favourite_t} s WHERE s.user_id = %s AND s.video_id = v.id))"
        )
    return sql


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

    objects = LibraryItemQuerySet.as_manager()

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


# A random pick looks this far along the rand index, checking each frame's video on its own
# first, then the set of the user's videos at once; see FrameQuerySet.random_pick.
PICK_NEAR = 8
PICK_WINDOW = 1000


def random_key() -> float:
    return random.random()


class FrameQuerySet(models.QuerySet):
    def visible_to(self, user) -> FrameQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(_visible_videos(user, "video_id"))

    def pickable(self) -> FrameQuerySet:
        return self.filter(is_hidden=False)

    def attach_previews(self, videos: list[Video], *, per_video: int = 3) -> list[Video]:
        """Set `video.preview` on each video (its first few frames), in one query."""
        previews = self.previews(video_ids=[v.pk for v in videos], per_video=per_video)
        for video in videos:
            video.preview = previews.get(video.pk, [])
        return videos

    def previews(self, *, video_ids: list[int], per_video: int = 3) -> dict[int, list[Frame]]:
        """The first few frames of each video, in one query whatever the number of videos."""
        rows = (
            self.filter(video_id__in=video_ids, is_hidden=False)
            .annotate(n=Window(RowNumber(), partition_by="video_id", order_by=["timestamp_ms", "pk"]))
            .filter(n__lte=per_video)
            .only("pk", "video_id", "timestamp_ms", "thumbnail")
        )
        grouped: dict[int, list[Frame]] = {}
        for frame in rows:
            grouped.setdefault(frame.video_id, []).append(frame)
        return grouped

    def playlist_previews(self, *, playlist_ids: list[int], per_playlist: int = 3) -> dict[int, list[Frame]]:
        """A few frames of each playlist, in one query whatever the number of playlists."""
        rows = (
            self.filter(video__playlist_entries__playlist_id__in=playlist_ids, is_hidden=False)
            .annotate(
                playlist_id=models.F("video__playlist_entries__playlist_id"),
                n=Window(
                    RowNumber(),
                    partition_by="video__playlist_entries__playlist_id",
                    order_by=["video__playlist_entries__position", "timestamp_ms", "pk"],
                ),
            )
            .filter(n__lte=per_playlist)
            .only("pk", "video_id", "timestamp_ms", "thumbnail")
        )
        grouped: dict[int, list[Frame]] = {}
        for frame in rows:
            grouped.setdefault(frame.playlist_id, []).append(frame)
        return grouped

    def random_pick(self, videos: VideoIds, *, saved_by=None) -> Frame | None:
        """A random frame that may be picked (not hidden) of these videos.

        The first frame at or after a random point of the `rand` key is a fair pick; past the
        highest key the pick wraps around to the lowest. One query brings the frame, what the
        page shows of its video, and `frame.saved` for `saved_by`:

        - It looks among the next PICK_WINDOW frames of the whole table along the rand index.
          For a user who sees even a small share of all frames, one is there almost always,
          found after a few index entries. The first PICK_NEAR of them are checked one by one
          (an index lookup each), which costs nothing per video the user sees: a user who sees
          most frames is served there. Only past them is the set of the user's videos built
          once and matched against the window: small for a user who sees a small share.
        - Only if none is (a user who sees a sliver of a big table, or one video) it probes
          each video's (video, rand) index: a cost that follows what the user sees, not the
          table, so a newcomer with one video among a million frames is as quick as anyone.

        Either way the pick is the same frame: the first one of these videos after the point.
        Written as SQL: this is the query behind "Inspire me" and "Another one", and the ORM
        took several times longer to build and compile it than Postgres took to run it.
        """
        if self.query.has_filters():
            raise TypeError("random_pick() chooses among all frames of `videos`; call it on Frame.objects.")
        if videos.listed and not videos.params:
            return None
        connection = connections[self.db]
        window, probe = _pick_statements(videos.sql, self.db, PICK_NEAR, PICK_WINDOW)
        ids_params = list(videos.params)
        user_id = getattr(saved_by, "pk", None)
        for point in (random.random(), 0.0):  # 0.0: past the highest key, wrap around
            # A few given videos are probed at once; the window would mostly miss them.
            attempts = [] if videos.listed else [(window, [user_id, *[point, *ids_params] * 2])]
            attempts.append((probe, [user_id, *ids_params, point, *ids_params]))
            for sql, params in attempts:
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    row = cursor.fetchone()
                if row is not None:
                    return self._picked(row, connection)
        return None

    def _picked(self, row: tuple, connection) -> Frame:
        """A Frame with what the Inspire page shows of it and of its video; the rest is deferred."""
        n = len(_PICK_FRAME_COLUMNS)
        values = list(row[:n])
        palette = _PICK_FRAME_COLUMNS.index("palette")
        values[palette] = Frame._meta.get_field("palette").from_db_value(values[palette], None, connection)
        frame = Frame.from_db(self.db, _PICK_FRAME_COLUMNS, values)
        frame.video = Video.from_db(self.db, _PICK_VIDEO_COLUMNS, row[n:-1])
        frame.saved = bool(row[-1])
        return frame


# What a pick loads: plain text and number columns, and the palette (converted by hand).
_PICK_FRAME_COLUMNS = ["id", "video_id", "timestamp_ms", "width", "height", "palette"]
_PICK_VIDEO_COLUMNS = ["id", "provider", "provider_id", "source_url", "title"]


@functools.lru_cache(maxsize=64)
def _pick_statements(ids: str, using: str, near: int, window_size: int) -> tuple[str, str]:
    """The two statements of FrameQuerySet.random_pick for a set of video ids, written once per
    process: through a window of the rand index, and by probing each video. Their parameters:
    the user whose saved state to show, then the random point and the ids' own, twice each."""
    quote = connections[using].ops.quote_name
    frame_t, video_t, favourite_t = (quote(m._meta.db_table) for m in (Frame, Video, Favourite))
    columns = ", ".join(
        [*(f"f.{quote(c)}" for c in _PICK_FRAME_COLUMNS), *(f"v.{quote(c)}" for c in _PICK_VIDEO_COLUMNS)]
    )
    select = (
        f"SELECT {columns}, "
        f"EXISTS(SELECT 1 FROM {favourite_t} s WHERE s.frame_id = f.id AND s.user_id = %s) "
        f"FROM {frame_t} f INNER JOIN {video_t} v ON f.video_id = v.id WHERE f.id = "
    )
    # The near frames' videos are looked up one by one. Postgres would turn EXISTS into a join
    # that builds the whole set of videos first; LATERAL ... LIMIT 1 cannot become one. SQLite
    # has no LATERAL and runs EXISTS row by row anyway.
    one_by_one = (
        f"CROSS JOIN LATERAL (SELECT 1 FROM ({ids}) ok WHERE ok.video_id = w.video_id LIMIT 1) hit"
        if connections[using].vendor == "postgresql"
        else f"WHERE EXISTS (SELECT 1 FROM ({ids}) ok WHERE ok.video_id = w.video_id)"
    )
    near_frames = (
        f"SELECT w.id FROM (SELECT k.id, k.video_id, k.rand FROM {frame_t} k WHERE NOT k.is_hidden "
        f"AND k.rand >= %s ORDER BY k.rand LIMIT {int(near)}) w {one_by_one} ORDER BY w.rand LIMIT 1"
    )
    window_frames = (
        f"SELECT w.id FROM (SELECT k.id, k.video_id, k.rand FROM {frame_t} k WHERE NOT k.is_hidden "
        f"AND k.rand >= %s ORDER BY k.rand LIMIT {int(window_size)}) w "
        # "IS TRUE" keeps the IN a test against the set, hashed once, as for the gallery's
        # playlist filter: written plainly, Postgres joined and went through the whole set again
        # for each frame of the window until one matched.
        f"WHERE (w.video_id IN ({ids})) IS TRUE ORDER BY w.rand LIMIT 1"
    )
    window = f"COALESCE(({near_frames}), ({window_frames}))"
    probe = (
        f"SELECT t.id FROM {frame_t} t WHERE NOT t.is_hidden AND t.video_id IN ({ids}) "
        f"AND t.rand = (SELECT min(first_rand) FROM (SELECT (SELECT k.rand FROM {frame_t} k "
        f"WHERE k.video_id = pv.id AND NOT k.is_hidden AND k.rand >= %s ORDER BY k.rand LIMIT 1) "
        f"AS first_rand FROM {video_t} pv WHERE pv.id IN ({ids})) keys) ORDER BY t.id LIMIT 1"
    )
    return f"{select}({window})", f"{select}({probe})"


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
        ]

    def __str__(self) -> str:
        return f"{self.video} @ {self.timestamp_label}"

    def get_absolute_url(self) -> str:
        return link("gallery:frame", self.pk)

    @property
    def timestamp_label(self) -> str:
        return timestamp_label(self.timestamp_ms)

    def get_image_url(self) -> str:
        return link("gallery:frame_file", self.pk, "image")

    def get_thumbnail_url(self) -> str:
        return link("gallery:frame_file", self.pk, "thumb")

    @property
    def source_link(self) -> str:
        return self.video.url_at(self.timestamp_ms)


class FavouriteQuerySet(models.QuerySet):
    def for_gallery(self, user) -> FavouriteQuerySet:
        return self.filter(user=user).select_related("frame__video").order_by("-created_at", "-pk")

    def gallery_page(
        self,
        user,
        *,
        video: int | None = None,
        playlist: int | None = None,
        title: str = "",
        older_than: int | None = None,
        newer_than: int | None = None,
        limit: int,
    ) -> list[GalleryTile]:
        """`limit` of the user's favourites as gallery tiles, newest first: the newest ones, or
        the ones just older or just newer than one of their favourites (an id; pages link to
        each other so, the first and last favourite shown). Only those of a video, of a
        playlist's videos, of videos whose title has every word of `title`, when given (they
        combine).

        Pages start from a favourite rather than from a count of favourites before them: an
        OFFSET reads every favourite it skips, so page 200 of a big gallery took twice as long
        as the first; from a favourite, any page is read from the index like the first.

        One query, written as SQL: the ORM took longer to build and compile it, and to make a
        favourite, a frame and a video of each row, than Postgres took to run it. The page is
        cut from the user's favourite ids alone, read in order from an index; filters match
        the favourites' own video column, so no favourite is joined to its frame before it is
        shown.
        """
        if older_than is not None and newer_than is not None:
            raise TypeError("gallery_page() pages from one favourite: older_than or newer_than.")
        words = title.split()
        start = "older" if older_than is not None else "newer" if newer_than is not None else ""
        # LIMIT written in, not bound: a prepared statement's generic plan cannot know a bound
        # limit, and planned for a thousand rows (whole-table scans and hashes). The playlist
        # too: how many videos it has decides the plan, and bound, Postgres planned the
        # statement anew on every page (more time than running it) rather than reuse one.
        sql = _gallery_statement(self.db, video is not None, playlist is not None, len(words), start).format(
            limit=int(limit), playlist=int(playlist or 0)
        )
        params = [
            user.pk,
            *([] if video is None else [video]),
            *(f"%{connections[self.db].ops.prep_for_like_query(word)}%" for word in words),
            *([] if not start else [older_than if start == "older" else newer_than, user.pk]),
        ]
        with connections[self.db].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        favourite_link = linker("gallery:favourite", int)
        thumbnail_link = linker("gallery:frame_file", int, "thumb")
        return [
            GalleryTile(
                id=favourite_id,
                url=favourite_link(favourite_id),
                thumbnail_url=thumbnail_link(frame_id),
                video=video_label(title, provider, provider_id),
                timestamp_label=timestamp_label(timestamp_ms),
                note=note,
            )
            for favourite_id, note, frame_id, timestamp_ms, title, provider, provider_id in rows
        ]


@functools.lru_cache(maxsize=64)
def _gallery_statement(using: str, by_video: bool, by_playlist: bool, n_words: int, start: str) -> str:
    """The statement of FavouriteQuerySet.gallery_page for one set of filters, written once per
    process, with {limit} and {playlist} to fill in. `start`: "" for the newest favourites,
    "older" or "newer" for those next to a favourite. Parameters: the user, the video, a
    pattern per word, then the favourite to start from and the user again."""
    quote = connections[using].ops.quote_name
    favourite_t, frame_t, video_t, entry_t = (
        quote(m._meta.db_table) for m in (Favourite, Frame, Video, PlaylistEntry)
    )
    conditions = []
    if by_video:
        conditions.append(" AND p.video_id = %s")
    if by_playlist:
        # "IS TRUE" keeps the IN a test against the playlist's videos, hashed once. Written
        # plainly, Postgres made it a join and looked each favourite's video up in the playlist
        # while walking the newest ones: five times slower on the bench's playlist of 40.
        in_playlist = f"SELECT e.video_id FROM {entry_t} e WHERE e.playlist_id = {{playlist}}"
        conditions.append(f" AND (p.video_id IN ({in_playlist})) IS TRUE")
    if n_words:
        # Each word as the ORM writes title__icontains on this database.
        connection = connections[using]
        contains = (
            connection.ops.lookup_cast("icontains", "CharField") % "t.title"
            + " "
            + connection.operators["icontains"] % "%s"
        )
        words = " AND ".join([contains] * n_words)
        conditions.append(f" AND p.video_id IN (SELECT t.id FROM {video_t} t WHERE {words})")
    order = "DESC"
    if start:
        # Next to the favourite in the gallery's order, (created_at, id): a row comparison,
        # which the newest-first indexes answer by starting there. Newer ones are read upwards
        # from it (the nearest first), and shown newest first like any page.
        beyond = "<" if start == "older" else ">"
        conditions.append(
            f" AND (p.created_at, p.id) {beyond} "
            f"(SELECT c.created_at, c.id FROM {favourite_t} c WHERE c.id = %s AND c.user_id = %s)"
        )
        order = "DESC" if start == "older" else "ASC"
    filters = "".join(conditions)
    return (
        "SELECT s.id, s.note, f.id, f.timestamp_ms, v.title, v.provider, v.provider_id "
        f"FROM (SELECT p.id FROM {favourite_t} p WHERE p.user_id = %s{filters} "
        f"ORDER BY p.created_at {order}, p.id {order} LIMIT {{limit}}) page "
        f"INNER JOIN {favourite_t} s ON s.id = page.id INNER JOIN {frame_t} f ON f.id = s.frame_id "
        f"INNER JOIN {video_t} v ON v.id = f.video_id ORDER BY s.created_at DESC, s.id DESC"
    )


class GalleryTile(TypedDict):
    """A saved frame as its gallery tile shows it (the {% favourite_tiles %} tag writes it out).

    A plain dict of the values shown, not a Favourite with its frame and video: making those
    three model instances per tile showed in the gallery's time (tests/bench/bench_site.py).
    """

    id: int  # the favourite's, which pages link to each other by
    url: str
    thumbnail_url: str
    video: str
    timestamp_label: str
    note: str


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
        return link("gallery:favourite", self.pk)
