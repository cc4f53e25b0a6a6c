"""Named reads for the screens: the library, the favourites gallery and its filters, the random
pick of "Inspire me". Plain functions over the ORM; views call one of them and render.

Each read is a fixed number of queries whatever the number of rows (pinned in the view tests).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber

from . import colour, similarity
from .models import (
    Board,
    BoardItem,
    Favourite,
    Frame,
    FrameColour,
    FrameKey,
    LibraryItem,
    Playlist,
    PlaylistEntry,
    Video,
    frame_count,
    video_label,
)

PREVIEWS = 3  # thumbnails on a video's or a playlist's tile


# --- The library ----------------------------------------------------------------------------
def _library_videos(user) -> QuerySet[Video]:
    """The user's own videos for the library page, newest addition first, with frame counts."""
    return (
        Video.objects.filter(library_items__user=user)
        .with_frame_counts()
        .order_by("-library_items__created_at", "-pk")
    )


def library(user, *, page: str | None, per_page: int) -> tuple[Page, list[Playlist]]:
    """The library page: a page of the user's videos, and the playlists they see (their own and
    the curated ones), each with `preview` (a few frames); the playlists with `n_videos`,
    `n_ready` and `n_frames`. Five queries whatever the numbers of videos and playlists.

    A playlist's counts are summed from its entries, read once with each video's frame count
    (from an index), not counted again for each playlist over all its entries and frames; the
    previews of videos and playlists come from one query (a playlist shows its first frames).
    """
    videos = Paginator(_library_videos(user), per_page).get_page(page)  # its count, its videos
    playlists = list(Playlist.objects.visible_to(user).order_by("-is_curated", "title", "pk"))
    entries = list(
        PlaylistEntry.objects.filter(playlist__in=playlists)
        .annotate(n_frames=frame_count("video_id"))
        .order_by("position", "pk")
        .values_list("playlist_id", "video_id", "video__status", "n_frames")
    )
    entries_of: dict[int, list[tuple[int, str, int]]] = {}
    for playlist_id, *entry in entries:
        entries_of.setdefault(playlist_id, []).append(entry)
    # A playlist shows its first frames: those of its first videos that have any.
    shown_of = {pk: [video_id for video_id, _, n in mine if n][:PREVIEWS] for pk, mine in entries_of.items()}
    previews = _previews({video.pk for video in videos} | {v for shown in shown_of.values() for v in shown})
    for video in videos:
        video.preview = previews.get(video.pk, [])
    for playlist in playlists:
        mine = entries_of.get(playlist.pk, [])
        playlist.n_videos = len(mine)
        playlist.n_ready = sum(1 for _, status, _ in mine if status == Video.Status.READY)
        playlist.n_frames = sum(n for _, _, n in mine)
        frames = itertools.chain.from_iterable(previews.get(v, []) for v in shown_of.get(playlist.pk, []))
        playlist.preview = list(itertools.islice(frames, PREVIEWS))
    return videos, playlists


def attach_previews(videos: list[Video]) -> list[Video]:
    """Set `video.preview` on each video (its first few frames), in one query."""
    previews = _previews({video.pk for video in videos})
    for video in videos:
        video.preview = previews.get(video.pk, [])
    return videos


def _previews(video_ids: set[int]) -> dict[int, list[Frame]]:
    """The first PREVIEWS frames (not hidden) of each video, in one query, from the
    frame_video_shown index alone."""
    rows = (
        Frame.objects.filter(video_id__in=video_ids, is_hidden=False)
        .annotate(n=Window(RowNumber(), partition_by="video_id", order_by=["timestamp_ms", "pk"]))
        .filter(n__lte=PREVIEWS)
        .only("pk", "video_id", "timestamp_ms")
        .order_by("video_id", "timestamp_ms", "pk")  # the index's order (Frame's default joins videos)
    )
    grouped: dict[int, list[Frame]] = {}
    for frame in rows:
        grouped.setdefault(frame.video_id, []).append(frame)
    return grouped


# --- The favourites gallery -----------------------------------------------------------------
@dataclass(frozen=True)
class GalleryPage:
    """A page of favourites, newest first, and the favourites its "Newer" and "Older" links
    start from (None: no such page).

    No total and no page numbers: counting thousands of favourites (joined to frames and
    playlists when filtered) cost more than the rest of the page together, and reaching page N
    by skipping the favourites before it grew with N. One favourite more than shown tells
    whether there is a page beyond.
    """

    object_list: list[Favourite]
    newer: int | None
    older: int | None
    started: bool  # from a favourite, not the newest

    def __iter__(self) -> Iterator[Favourite]:
        return iter(self.object_list)


def gallery_page(
    user,
    *,
    video: int | None = None,
    playlist: int | None = None,
    title: str = "",
    older_than: int | None = None,
    newer_than: int | None = None,
    per_page: int,
) -> GalleryPage:
    """A page of the user's favourites with their frame and video: the newest, or those just
    older (`older_than` wins if both are given) or just newer than one of their favourites (an
    id: pages link to each other by their first and last favourite). Only those of a video, of
    a playlist's videos, of videos whose title has every word of `title`, when given (they
    combine). One query."""
    if older_than is not None:
        newer_than = None
    favourites = list(
        _favourites_next_to(
            user, video=video, playlist=playlist, title=title, older_than=older_than, newer_than=newer_than
        )[: per_page + 1]
    )
    if newer_than is not None:
        favourites = favourites[::-1]  # read nearest first, shown newest first
    more = len(favourites) > per_page
    if newer_than is not None:
        # The nearest `per_page` newer ones; the one more is the newest of them.
        favourites = favourites[1:] if more else favourites
        newer, older = (favourites[0].pk if more else None), (favourites[-1].pk if favourites else None)
    else:
        favourites = favourites[:per_page]
        newer = favourites[0].pk if favourites and older_than is not None else None
        older = favourites[-1].pk if more else None
    return GalleryPage(favourites, newer, older, older_than is not None or newer_than is not None)


def _favourites_next_to(
    user,
    *,
    video: int | None,
    playlist: int | None,
    title: str,
    older_than: int | None,
    newer_than: int | None,
) -> QuerySet[Favourite]:
    """The user's favourites in the gallery's order from a start: newest first, or the oldest
    first of those newer than `newer_than`.

    Pages start from a favourite (keyset), not from an OFFSET: an OFFSET reads every favourite it
    skips, so a deep page cost more than the first; from a favourite any page is read from the
    (user, -created_at, -id) index like the first. Filters use the favourite's own video column.
    """
    favourites = Favourite.objects.filter(user=user)
    if video is not None:
        favourites = favourites.filter(video_id=video)
    if playlist is not None:
        in_playlist = PlaylistEntry.objects.filter(playlist_id=playlist).values("video_id")
        favourites = favourites.filter(video_id__in=in_playlist)
    for word in title.split():
        favourites = favourites.filter(video__title__icontains=word)
    order = ["-created_at", "-pk"]
    start = older_than if older_than is not None else newer_than
    if start is not None:
        # Next to the favourite in the gallery's order (created_at, id). The index range is
        # bounded by created_at alone (<= or >=); the id only decides among favourites saved
        # at the same instant. A favourite of another user is no start: no page.
        at = Subquery(Favourite.objects.filter(user=user, pk=start).order_by().values("created_at"))
        if older_than is not None:
            favourites = favourites.filter(Q(created_at__lt=at) | Q(pk__lt=start), created_at__lte=at)
        else:
            favourites = favourites.filter(Q(created_at__gt=at) | Q(pk__gt=start), created_at__gte=at)
            order = ["created_at", "pk"]  # the nearest newer ones first
    return favourites.select_related("frame", "video").only(*_TILE_FIELDS).order_by(*order)


# What a gallery tile shows of a favourite, its frame (its size keeps the tile's aspect ratio)
# and its video.
_TILE_FIELDS = (
    "note",
    "created_at",
    "frame__timestamp_ms",
    "frame__width",
    "frame__height",
    "frame__palette",
    "video__title",
    "video__provider",
    "video__provider_id",
)


@dataclass(frozen=True)
class GalleryFilters:
    """Choices of the gallery's filters: (id, label) pairs sorted by label."""

    playlists: list[tuple[int, str]]
    videos: list[tuple[int, str]]  # the library's, unless many; and the chosen one
    many_videos: bool


def gallery_filters(user, *, videos_max: int, chosen_video: int | None = None) -> GalleryFilters:
    """What the favourites gallery offers to filter by, in one query: the playlists the user
    sees, the videos of their library (none if more than `videos_max`: a list of hundreds helps
    nobody), and `chosen_video` if the user may filter by it (a video they see or saved a frame
    of; linked from its pages).

    The library's videos are read up to one more than `videos_max`, unsorted: sorting a big
    library by title only to learn that it is big costs more than the rest of the page.
    """
    playlists = Playlist.objects.visible_to(user).annotate(
        kind=Value("playlist"), label=F("title"), a=F("source_url"), b=Value("")
    )
    library = LibraryItem.objects.filter(user=user, video__isnull=False).values("video_id")
    videos = Video.objects.filter(pk__in=library[: videos_max + 1]).annotate(
        kind=Value("video"), label=F("title"), a=F("provider"), b=F("provider_id")
    )
    # Unordered parts (no model's default ordering): a compound statement sorts only as a whole.
    playlists, videos = playlists.order_by(), videos.order_by()
    rows = playlists.values_list("kind", "pk", "label", "a", "b")
    if chosen_video is None:
        rows = rows.union(videos.values_list("kind", "pk", "label", "a", "b"), all=True)
    else:
        saved = Favourite.objects.filter(user=user).values("video_id")
        chosen = (
            Video.objects.filter(pk=chosen_video)
            .filter(Q(pk__in=Video.objects.visible_to(user).values("pk")) | Q(pk__in=saved))
            .annotate(kind=Value("chosen"), label=F("title"), a=F("provider"), b=F("provider_id"))
            .order_by()
        )
        rows = rows.union(
            videos.values_list("kind", "pk", "label", "a", "b"),
            chosen.values_list("kind", "pk", "label", "a", "b"),
            all=True,
        )
    found: dict[str, dict[int, str]] = {"playlist": {}, "video": {}, "chosen": {}}
    for kind, pk, title, a, b in rows:
        found[kind][pk] = (title or a) if kind == "playlist" else video_label(title, a, b)
    many_videos = len(found["video"]) > videos_max
    listed = {} if many_videos else found["video"]
    return GalleryFilters(
        playlists=_by_label(found["playlist"]),
        videos=_by_label({**listed, **found["chosen"]}),
        many_videos=many_videos,
    )


def _by_label(options: dict[int, str]) -> list[tuple[int, str]]:
    return sorted(options.items(), key=lambda option: (option[1].casefold(), option[0]))


# --- Boards ---------------------------------------------------------------------------------
def boards_list(user) -> list[Board]:
    """The user's boards by name, each with `n_frames` and `preview` (its first few frames).
    Two queries whatever the numbers of boards and frames."""
    n_frames = (
        BoardItem.objects.filter(board=OuterRef("pk")).order_by().values("board").annotate(n=Count("pk"))
    )
    boards = list(Board.objects.of(user).annotate(n_frames=Coalesce(Subquery(n_frames.values("n")), 0)))
    firsts = (
        BoardItem.objects.filter(board__in=[board.pk for board in boards])
        .annotate(n=Window(RowNumber(), partition_by="board_id", order_by=["position", "pk"]))
        .filter(n__lte=PREVIEWS)
        .select_related("favourite__frame", "favourite__video")
        .only("board", "favourite__frame__timestamp_ms", *_BOARD_VIDEO_FIELDS)
        .order_by("board_id", "position", "pk")
    )
    previews: dict[int, list[Favourite]] = {}
    for item in firsts:
        previews.setdefault(item.board_id, []).append(item.favourite)
    for board in boards:
        board.preview = previews.get(board.pk, [])
    return boards


_BOARD_VIDEO_FIELDS = (
    "favourite__video__title",
    "favourite__video__provider",
    "favourite__video__provider_id",
)


def board_items(board: Board, *, page: str | None, per_page: int) -> Page:
    """A page of the board's frames in its order: BoardItems with their favourite (its note),
    frame and video. Two queries (the count and the page)."""
    items = (
        BoardItem.objects.filter(board=board)
        .select_related("favourite__frame", "favourite__video")
        .only(
            "board",
            "position",
            "favourite__note",
            "favourite__frame__timestamp_ms",
            "favourite__frame__width",
            "favourite__frame__height",
            "favourite__frame__palette",
            "favourite__video__source_url",
            *_BOARD_VIDEO_FIELDS,
        )
        .order_by("position", "pk")
    )
    return Paginator(items, per_page).get_page(page)


@dataclass(frozen=True)
class BoardChoices:
    """The boards "Save to board" offers, by name, and the one it offers first (last used)."""

    boards: list[Board]
    last_used: int | None

    def __bool__(self) -> bool:
        return bool(self.boards)

    def __iter__(self) -> Iterator[Board]:
        return iter(self.boards)


def board_choices(user) -> BoardChoices:
    """The user's boards; offered first, the one they last saved to, else their newest. One query."""
    boards = list(Board.objects.of(user).only("pk", "name", "last_used_at", "owner"))
    used = [board for board in boards if board.last_used_at is not None]
    if used:
        return BoardChoices(boards, max(used, key=lambda board: board.last_used_at).pk)
    return BoardChoices(boards, max((board.pk for board in boards), default=None))


# --- Inspire me -----------------------------------------------------------------------------
# What the Inspire page shows of a frame and its video (and the image, for manage.py random_frame).
_PICK_FIELDS = (
    "timestamp_ms",
    "width",
    "height",
    "palette",
    "image",
    "video__provider",
    "video__provider_id",
)
_PICK_FIELDS += ("video__source_url", "video__title", "video__content_type")


# A scope of up to PICK_ALL frames is read whole; a larger one through a window of PICK_WINDOW
# frames along `rand`. The window reads about PICK_WINDOW / (the scope's share of all frames)
# entries of the rand index, so the smallest windowed scope costs PICK_WINDOW / PICK_ALL of the
# table: a tenth at these values (a window as large as PICK_ALL would read all of it). A larger
# PICK_ALL costs every pick in a big scope its ids: at 5,000, "Inspire me" at 1M frames served
# half the requests a second it did at 1k (tests/bench/bench_site.py), at 1,000 it keeps pace.
PICK_ALL = 1000
PICK_WINDOW = 100  # W in frame_pick's docstring
RECENT = 20  # frames shown lately that "Another one" keeps away from


def frame_pick(
    frames: QuerySet[Frame],
    *,
    few: QuerySet[Frame] | None = None,
    saved_by=None,
    avoid: Sequence[int] = (),
    large: bool = False,
) -> Frame | None:
    """A random frame among `frames` (already narrowed to what may be seen: a user's frames, a
    playlist's, a video's) that is not hidden, with its video, and `frame.saved` for `saved_by`.
    `few`: the same frames written for reading a few of them (`Frame.objects.visible_to_few`),
    if `frames` is not. `avoid`: the ids of the frames shown lately, the latest first.
    `large`: the caller knows the scope is larger than PICK_ALL (`frame.large_scope` of its
    last pick said so), so its ids are not read again only to learn that: a big scope then
    costs the window and the frame, as a small one costs its ids and the frame.

    Every frame is equally likely, whatever their `rand` keys, in a scope of up to PICK_ALL
    (1000) frames: its ids are all read (in any order, from the index that has them, stopping
    at PICK_ALL + 1) and one is chosen in Python. A larger scope is not read whole: the pick
    chooses among a window of W (PICK_WINDOW, 100) frames that follow each other along the
    indexed `rand` key from a random point (wrapping around past the highest key). A frame's
    chance is then the sum of the W gaps between keys up to its own, divided by W: with random
    keys, 1/N within a relative spread of about 1/sqrt(W) (10%), where the first frame after a
    random point had the single gap before it (a spread of 100%: some came up far more often).

    Never one of the last RECENT (20) frames of `avoid` that are in the scope or the window,
    if the scope has more than RECENT frames; of half as many as the scope has otherwise (the
    previous one at least, when there are two), so that a small scope is not shown in a fixed
    cycle. Each frame is still shown as often as any other, over many picks.

    Queries: the ids (one), the window when the scope is larger than PICK_ALL (one, and one more for
    the wrap-around, rarely: when fewer than W keys follow the point), the frame (one). On
    300k frames (Postgres): the ids in 0.1 to 2 ms from frame_video_shown alone; the window
    in 1 to 25 ms along frame_rand, which reads about W / (the scope's share of all frames)
    entries; the frame by its primary key, with `saved` looked up for that row alone.
    """
    chosen, large = _pick_id(frames, few=few, avoid=avoid, large=large)
    if chosen is None:
        return None
    frame = Frame.objects.filter(pk=chosen).select_related("video").only(*_PICK_FIELDS)
    if saved_by is not None:
        frame = frame.with_saved(saved_by)
    frame = frame.order_by().first()
    if frame is not None:
        frame.large_scope = large  # for the caller's hint next time (see `large`)
    return frame


def frame_pick_id(
    frames: QuerySet[Frame], *, few: QuerySet[Frame] | None = None, avoid: Sequence[int] = ()
) -> int | None:
    """The id of frame_pick's frame: all of its choice, without reading the frame."""
    return _pick_id(frames, few=few, avoid=avoid)[0]


def _pick_id(
    frames: QuerySet[Frame], *, few: QuerySet[Frame] | None, avoid: Sequence[int], large: bool = False
) -> tuple[int | None, bool]:
    """The chosen id, and whether the scope was larger than PICK_ALL (read through a window)."""
    if not large:
        listed = (frames if few is None else few).pickable().order_by().values_list("pk", flat=True)
        ids = list(listed[: PICK_ALL + 1])
        if len(ids) <= PICK_ALL:
            return _choose(ids, avoid), False
    return _choose(_window(frames.pickable()), avoid), True


def _window(pickable: QuerySet[Frame]) -> list[int]:
    """PICK_WINDOW frames that follow each other along `rand` from a random point, wrapping around."""
    point = random.random()
    along = pickable.order_by("rand").values_list("pk", flat=True)
    window = list(along.filter(rand__gte=point)[:PICK_WINDOW])
    if len(window) < PICK_WINDOW:  # past the highest key: on from the lowest
        window += along.filter(rand__lt=point)[: PICK_WINDOW - len(window)]
    return window


def _choose(ids: list[int], avoid: Sequence[int]) -> int | None:
    """One of `ids` at random, but none of the latest of `avoid` among them."""
    keep_away = RECENT if len(ids) > RECENT else len(ids) // 2
    shown = set(ids)
    recent = set([pk for pk in dict.fromkeys(avoid) if pk in shown][:keep_away])
    left = [pk for pk in ids if pk not in recent]
    return random.choice(left) if left else None


# --- Previous and next ----------------------------------------------------------------------
@dataclass(frozen=True)
class Neighbours:
    """The URLs of the pages before and after one, in the order of the list it was opened from
    ("" at either end)."""

    previous: str = ""
    next: str = ""


def frame_neighbours(frame: Frame) -> Neighbours:
    """The frames before and after `frame` on its video's page (not hidden, by moment): two
    queries, each one step along the frame_video_shown index from the frame (keyset)."""
    shown = Frame.objects.filter(video_id=frame.video_id, is_hidden=False).values_list("pk", flat=True)
    at, pk = frame.timestamp_ms, frame.pk
    before = shown.filter(Q(timestamp_ms__lt=at) | Q(timestamp_ms=at, pk__lt=pk), timestamp_ms__lte=at)
    after = shown.filter(Q(timestamp_ms__gt=at) | Q(timestamp_ms=at, pk__gt=pk), timestamp_ms__gte=at)
    previous = before.order_by("-timestamp_ms", "-pk").first()
    following = after.order_by("timestamp_ms", "pk").first()
    return Neighbours(
        Frame(pk=previous).get_absolute_url() if previous else "",
        Frame(pk=following).get_absolute_url() if following else "",
    )


def favourite_neighbours(favourite: Favourite) -> Neighbours:
    """The favourites before (newer) and after (older) `favourite` in its owner's gallery: two
    queries, one step each way along the gallery's keyset (the favourite_user_newest index)."""
    user = favourite.user_id
    newer = _favourites_next_to(
        user, video=None, playlist=None, title="", older_than=None, newer_than=favourite.pk
    ).values_list("pk", flat=True)
    older = _favourites_next_to(
        user, video=None, playlist=None, title="", older_than=favourite.pk, newer_than=None
    ).values_list("pk", flat=True)
    previous, following = newer.first(), older.first()
    return Neighbours(
        Favourite(pk=previous).get_absolute_url() if previous else "",
        Favourite(pk=following).get_absolute_url() if following else "",
    )


# --- What a job made -----------------------------------------------------------------------
def first_frames(*, video: Video | None = None, playlist: Playlist | None = None, limit: int) -> list[Frame]:
    """The first `limit` frames (not hidden) of a video, or of a playlist's videos in its order,
    with their videos: the page of a finished job shows them. One query."""
    if playlist is not None:
        frames = Frame.objects.in_playlist_order(playlist.pk)
    else:
        frames = Frame.objects.filter(video=video).order_by("timestamp_ms", "pk")
    return list(frames.filter(is_hidden=False).select_related("video")[:limit])


# --- The landing page -----------------------------------------------------------------------
def showcase(*, videos: int, per_video: int) -> list[Frame]:
    """A few frames for visitors who are not signed in: the first `per_video` frames (not hidden)
    of the first `videos` videos of the curated playlists that have any. Two queries, bounded
    by the arguments whatever the size of the catalogue."""
    curated = PlaylistEntry.objects.filter(playlist__is_curated=True, video__status=Video.Status.READY)
    # A few more entries than videos: a video in two curated playlists is listed twice.
    video_ids = list(
        curated.order_by("playlist_id", "position", "pk").values_list("video_id", flat=True)[: videos * 3]
    )
    frames = (
        Frame.objects.showcased()
        .filter(video_id__in=video_ids)
        .annotate(n=Window(RowNumber(), partition_by="video_id", order_by=["timestamp_ms", "pk"]))
        .filter(n__lte=per_video)
        .select_related("video")
        .only(
            "pk", "timestamp_ms", "width", "height", "video__title", "video__provider", "video__provider_id"
        )
        .order_by("video_id", "timestamp_ms", "pk")
    )
    by_video: dict[int, list[Frame]] = {}
    for frame in frames:
        by_video.setdefault(frame.video_id, []).append(frame)
    chosen = [by_video[v] for v in dict.fromkeys(video_ids) if v in by_video][:videos]
    return list(itertools.chain.from_iterable(chosen))


# --- Frames a video already has -------------------------------------------------------------
def frame_likenesses(video: Video) -> tuple[list[str], list[int]]:
    """What "pull more frames" must not repeat: the signatures of the video's frames, and the
    difference hashes of those stored before signatures existed. One query."""
    signatures, hashes = [], []
    for signature, dhash in video.frames.order_by().values_list("signature", "dhash"):
        if signature:
            signatures.append(signature)
        elif dhash:
            hashes.append(int(dhash, 16))
    return signatures, hashes


# --- Frames with this colour ----------------------------------------------------------------
COLOUR_RESULTS = 24  # frames a colour search shows, the closest first (a gallery page's worth)


@dataclass(frozen=True)
class ColourMatch:
    """A frame found by colour, with the colour of its palette closest to the one searched and
    their ΔE76 (coloraide's)."""

    frame: Frame
    swatch: str
    delta_e: float

    @property
    def label(self) -> str:
        return f"{self.swatch} · ΔE {self.delta_e:.1f}"


def colour_search(
    user, *, hex_colour: str, favourites: bool = False, limit: int = COLOUR_RESULTS
) -> list[ColourMatch]:
    """The frames the user sees (or their favourites) with a palette colour within
    colour.SEARCH_RADIUS (ΔE76) of `hex_colour`, the closest first (then the newest frame).
    Two queries whatever the number of frames.

    The first reads the colour index for the bins (cubes of Lab) the radius touches, keeps the
    rows within the radius and ranks each frame by its closest colour, in the database: only
    `limit` frame ids leave it. The second reads those frames with their videos.
    """
    if not user.is_authenticated:
        return []
    target = colour.lab(hex_colour)
    squared = sum(
        ((F(axis) - value) * (F(axis) - value) for axis, value in zip("lab", target, strict=True)),
        start=Value(0.0),
    )
    rows = FrameColour.objects.saved_by(user) if favourites else FrameColour.objects.visible_to(user)
    rows = rows.filter(bin__in=colour.bins_within(target, colour.SEARCH_RADIUS))
    ranked = list(
        rows.annotate(d2=ExpressionWrapper(squared, output_field=FloatField()))
        .filter(d2__lte=colour.SEARCH_RADIUS**2)
        .values("frame_id")
        .annotate(closest=Min("d2"))
        .order_by("closest", "-frame_id")
        .values_list("frame_id", flat=True)[:limit]
    )
    frames = Frame.objects.filter(pk__in=ranked).select_related("video").only(*_MATCH_FIELDS).in_bulk()
    matches = []
    for pk in ranked:
        frame = frames[pk]
        # The swatch the database ranked by (the nearest in Lab, coloraide's conversions being
        # cached), then its ΔE by coloraide: one colour difference a frame, not one a swatch.
        swatch = min(frame.swatches, key=lambda c: math.dist(colour.lab(c), target))
        matches.append(ColourMatch(frame, swatch, colour.delta_e(hex_colour, swatch)))
    return matches


# What a tile of the colour and likeness pages shows of a frame and its video.
_MATCH_FIELDS = (
    "timestamp_ms",
    "width",
    "height",
    "palette",
    "video__title",
    "video__provider",
    "video__provider_id",
)


# --- More like this -------------------------------------------------------------------------
SIMILAR_RESULTS = 24  # frames "More like this" shows, the most alike first
SIMILAR_CANDIDATES = 200  # frames sharing the most keys, ranked exactly


@dataclass(frozen=True)
class SimilarMatch:
    frame: Frame
    similarity: float  # gallery.similarity.similarity, 0 to 1

    @property
    def label(self) -> str:
        return f"{self.similarity:.0%} alike"


def similar_frames(user, frame: Frame, *, limit: int = SIMILAR_RESULTS) -> list[SimilarMatch]:
    """The frames the user sees that look most like `frame`, the most alike first. Two queries
    whatever the number of frames.

    The first reads the likeness index: the SIMILAR_CANDIDATES frames sharing the most keys
    (gallery.similarity.keys) with `frame`; the second reads them with their signatures and
    videos, which are ranked by similarity() itself. A frame without a signature (stored before
    they existed) has no keys: nothing is found, and no query is made.
    """
    keys = similarity.keys(frame.signature)
    if not keys or not user.is_authenticated:
        return []
    candidates = list(
        FrameKey.objects.visible_to(user)
        .filter(key__in=keys)
        .exclude(frame_id=frame.pk)
        .values("frame_id")
        .annotate(shared=Count("pk"))
        .order_by("-shared", "-frame_id")
        .values_list("frame_id", flat=True)[:SIMILAR_CANDIDATES]
    )
    found = Frame.objects.filter(pk__in=candidates).select_related("video").only(*_MATCH_FIELDS, "signature")
    scored = [SimilarMatch(other, similarity.similarity(frame.signature, other.signature)) for other in found]
    scored.sort(key=lambda match: (-match.similarity, -match.frame.pk))
    return scored[:limit]
