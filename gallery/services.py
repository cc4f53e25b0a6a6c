"""Every write to the catalogue. Plain keyword-only functions; `jobs` records its results here."""

from __future__ import annotations

import csv
import errno
import io
import logging
import secrets
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, ProtectedError, QuerySet
from django.utils import timezone
from django.utils.text import slugify

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
    web_url,
)

logger = logging.getLogger(__name__)


# --- Videos ---------------------------------------------------------------------------------
def video_register(*, provider: str, provider_id: str, source_url: str = "", title: str = "") -> Video:
    """The one row for this source video, created on first sight (safe under concurrency).

    `source_url` is linked from the video's pages: only an http(s) address (or none, for an
    upload) is stored; a `javascript:` link from a playlist or a feed is refused.
    """
    if source_url and not web_url(source_url):
        raise ValidationError("Only http:// and https:// links can be a video's source.", code="scheme")
    try:
        with transaction.atomic():
            video, created = Video.objects.get_or_create(
                provider=provider,
                provider_id=provider_id,
                defaults={"source_url": source_url, "title": title[:500]},
            )
    except IntegrityError:
        # Another request created it between our SELECT and INSERT.
        video, created = Video.objects.get(provider=provider, provider_id=provider_id), False
    if not created and title and not video.title:
        video.title = title[:500]
        video.save(update_fields=["title", "updated_at"])
    return video


def video_update_meta(
    *,
    video: Video,
    title: str = "",
    duration: float | None = None,
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
) -> Video:
    video.title = (title or video.title)[:500]
    video.duration = duration if duration is not None else video.duration
    video.width = width or video.width
    video.height = height or video.height
    video.fps = fps or video.fps
    video.save(update_fields=["title", "duration", "width", "height", "fps", "updated_at"])
    return video


def video_set_status(*, video: Video, status: str, error: str = "") -> Video:
    video.status = status
    video.error = error[:2000]
    video.save(update_fields=["status", "error", "updated_at"])
    return video


def video_attach_file(*, video: Video, name: str, content_type: str = "") -> Video:
    """Keep an uploaded file as the video's own copy (uploads only; downloads are not kept)."""
    if video.file and video.file.name != name:
        return video  # the first copy stays; identical content was uploaded again
    video.file.name = name
    video.content_type = content_type
    video.save(update_fields=["file", "content_type", "updated_at"])
    return video


# --- Library --------------------------------------------------------------------------------
def library_add(*, user, video: Video | None = None, playlist: Playlist | None = None) -> LibraryItem:
    lookup = {"user": user, "video": video} if video is not None else {"user": user, "playlist": playlist}
    try:
        with transaction.atomic():
            item, _ = LibraryItem.objects.get_or_create(**lookup)
    except IntegrityError:
        item = LibraryItem.objects.get(**lookup)
    return item


def library_remove(*, user, video: Video | None = None, playlist: Playlist | None = None) -> int:
    """Take a video or playlist out of one user's library; shared rows and favourites stay."""
    if video is not None:
        deleted, _ = LibraryItem.objects.filter(user=user, video=video).delete()
    else:
        deleted, _ = LibraryItem.objects.filter(user=user, playlist=playlist).delete()
    return deleted


# --- Playlists ------------------------------------------------------------------------------
def playlist_register(
    *, provider: str, provider_id: str, source_url: str, title: str = "", owner=None, is_curated: bool = False
) -> Playlist:
    try:
        with transaction.atomic():
            playlist, created = Playlist.objects.get_or_create(
                provider=provider,
                provider_id=provider_id,
                defaults={
                    "source_url": source_url,
                    "title": title[:500],
                    "owner": owner,
                    "is_curated": is_curated,
                },
            )
    except IntegrityError:
        playlist, created = Playlist.objects.get(provider=provider, provider_id=provider_id), False
    if not created and title and playlist.title != title[:500]:
        playlist.title = title[:500]
        playlist.save(update_fields=["title"])
    return playlist


def playlist_identify(*, playlist: Playlist, provider: str, provider_id: str, title: str = "") -> Playlist:
    """Give a playlist created from a bare URL (admin) the identity yt-dlp found for it.

    When another row already has that identity, that row wins and this one is merged into it.
    """
    if playlist.provider_id == provider_id and playlist.provider == provider:
        if title and not playlist.title:
            playlist.title = title[:500]
            playlist.save(update_fields=["title"])
        return playlist
    existing = (
        Playlist.objects.filter(provider=provider, provider_id=provider_id).exclude(pk=playlist.pk).first()
    )
    if existing is not None:
        with transaction.atomic():
            if playlist.is_curated and not existing.is_curated:
                existing.is_curated = True
                existing.save(update_fields=["is_curated"])
            for item in LibraryItem.objects.filter(playlist=playlist):
                library_add(user=item.user, playlist=existing)
            playlist.delete()
        return existing
    playlist.provider, playlist.provider_id = provider, provider_id
    playlist.title = playlist.title or title[:500]
    playlist.save(update_fields=["provider", "provider_id", "title"])
    return playlist


@transaction.atomic
def playlist_add_entries(*, playlist: Playlist, videos: Sequence[Video]) -> list[Video]:
    """Append videos not yet in the playlist, keeping order; returns the ones added."""
    present = set(PlaylistEntry.objects.filter(playlist=playlist).values_list("video_id", flat=True))
    position = (PlaylistEntry.objects.filter(playlist=playlist).aggregate(m=Max("position"))["m"] or 0) + 1
    added = []
    for video in videos:
        if video.pk in present:
            continue
        present.add(video.pk)
        PlaylistEntry.objects.create(playlist=playlist, video=video, position=position)
        position += 1
        added.append(video)
    playlist.last_refreshed_at = timezone.now()
    playlist.save(update_fields=["last_refreshed_at"])
    return added


# --- Files ----------------------------------------------------------------------------------
STORAGE_FULL = "The server's storage is full; nothing was saved."


def file_save(*, name: str, content) -> str:
    """Save `content` under `name` (a fresh, unique name) whole, or leave nothing behind.

    Django's FileSystemStorage leaves a partly written file when the disk fills; the name is
    chosen before writing, so a failed write can be removed. A full disk becomes a
    ValidationError with STORAGE_FULL, which users read.
    """
    try:
        return default_storage.save(name, content)
    except OSError as exc:
        _delete_files([name])
        if exc.errno == errno.ENOSPC:
            logger.error("Storage full while writing %s", name)
            raise ValidationError(STORAGE_FULL, code="storage_full") from exc
        raise


def _field_name(frame: Frame, field: str, filename: str) -> str:
    return frame._meta.get_field(field).generate_filename(frame, filename)


# --- Frames ---------------------------------------------------------------------------------
class StillData(Protocol):
    """One still as the extractor makes it (jobs.frames.Still has these), for `frames_add`."""

    timestamp_ms: int
    width: int
    height: int
    jpeg: bytes
    thumbnail: bytes
    thumbnail_ext: str
    dhash: int | None
    brightness: float | None
    contrast: float | None
    sharpness: float | None
    palette: Sequence[str]
    signature: str


def frames_add(*, video: Video, stills: Sequence[StillData]) -> list[Frame]:
    """Store a run's stills all together or not at all: every file first, then every row in one
    transaction. When a file cannot be written (a full disk), or the rows cannot be saved, the
    files already written are removed, so no video shows half a run or a truncated image.
    Moments the video already has are skipped (a retried task may have stored them)."""
    taken = set(
        Frame.objects.filter(video=video, timestamp_ms__in=[s.timestamp_ms for s in stills]).values_list(
            "timestamp_ms", flat=True
        )
    )
    frames: list[Frame] = []
    written: list[str] = []
    try:
        for still in stills:
            if still.timestamp_ms in taken:
                continue
            taken.add(still.timestamp_ms)
            frame = _frame_row(video, still)
            frame.image.name = file_save(
                name=_field_name(frame, "image", "frame.jpg"), content=ContentFile(still.jpeg)
            )
            written.append(frame.image.name)
            frame.thumbnail.name = file_save(
                name=_field_name(frame, "thumbnail", f"thumb.{still.thumbnail_ext}"),
                content=ContentFile(still.thumbnail),
            )
            written.append(frame.thumbnail.name)
            frames.append(frame)
        with transaction.atomic():
            Frame.objects.bulk_create(frames)
            frames_index(frames=frames)
    except BaseException:
        # BaseException: a task's timeout (a SystemExit) must not leave files without rows.
        _delete_files(written)
        raise
    return frames


def _frame_row(video: Video, still: StillData) -> Frame:
    return Frame(
        video=video,
        timestamp_ms=still.timestamp_ms,
        width=still.width,
        height=still.height,
        brightness=still.brightness,
        contrast=still.contrast,
        sharpness=still.sharpness,
        dhash=f"{still.dhash:016x}" if still.dhash is not None else "",
        palette=list(still.palette),
        signature=still.signature,
    )


def frames_index(*, frames: Sequence[Frame]) -> None:
    """Write the frames' rows of the colour index and of the likeness index, from their palettes
    and signatures (none for a frame without them). Migration 0007 fills them for the frames
    stored before, with the same functions."""
    FrameColour.objects.bulk_create(
        FrameColour(frame=frame, video_id=frame.video_id, position=position, bin=cube, l=p[0], a=p[1], b=p[2])
        for frame in frames
        for position, cube, p in colour.palette_points(frame.palette)
    )
    FrameKey.objects.bulk_create(
        FrameKey(frame=frame, video_id=frame.video_id, key=key)
        for frame in frames
        for key in set(similarity.keys(frame.signature))
    )


def _delete_files(names: Sequence[str]) -> None:
    for name in names:
        if name:
            try:
                default_storage.delete(name)
            except OSError:
                logger.warning("Could not delete %s", name, exc_info=True)


# --- Favourites -----------------------------------------------------------------------------
def favourite_add(*, user, frame: Frame, note: str = "") -> Favourite:
    try:
        with transaction.atomic():
            favourite, _ = Favourite.objects.get_or_create(
                user=user, frame=frame, defaults={"note": note, "video_id": frame.video_id}
            )
    except IntegrityError:
        favourite = Favourite.objects.get(user=user, frame=frame)
    return favourite


def favourite_remove(*, user, frame: Frame) -> bool:
    deleted, _ = Favourite.objects.filter(user=user, frame=frame).delete()
    return bool(deleted)


def favourite_update_note(*, favourite: Favourite, note: str) -> Favourite:
    if len(note) > 2000:
        raise ValidationError("A note can be at most 2000 characters long.")
    favourite.note = note
    favourite.save(update_fields=["note"])
    return favourite


# --- Curation (admin) and export (manage.py) ------------------------------------------------
@dataclass(frozen=True)
class FilesDeleted:
    """What `video_delete_files` removed and what it kept because someone saved it."""

    frames_deleted: int
    frames_kept: int
    upload_deleted: bool


def frames_delete_unsaved(*, video: Video) -> int:
    """Delete the video's frames that are in nobody's favourites, rows and files.

    Saved frames keep their rows and files: a favourite must never point at a missing image.
    Files go only once the rows are gone for good (on commit), so a rollback loses nothing.
    """
    saved = Favourite.objects.filter(frame=OuterRef("pk"))
    doomed = list(
        Frame.objects.filter(video=video).exclude(Exists(saved)).values_list("pk", "image", "thumbnail")
    )
    if not doomed:
        return 0
    try:
        with transaction.atomic():
            Frame.objects.filter(pk__in=[pk for pk, _, _ in doomed]).delete()
    except (ProtectedError, IntegrityError):
        # Someone saved one of these frames between our read and the delete.
        message = f"Someone saved a frame of “{video}” just now; nothing was deleted. Try again."
        raise ValidationError(message) from None
    names = [name for _, image, thumb in doomed for name in (image, thumb)]
    transaction.on_commit(lambda: _delete_files(names))
    return len(doomed)


@transaction.atomic
def video_delete_files(*, video: Video) -> FilesDeleted:
    """Free the disk a video uses without breaking anyone's favourites.

    Unsaved frames go (rows and files). The kept upload goes too unless a saved frame remains,
    because a favourite's "watch at this moment" link plays that file. A video left without
    frames is marked failed with a plain reason, so adding it again processes it afresh.
    """
    deleted = frames_delete_unsaved(video=video)
    kept = Frame.objects.filter(video=video).count()
    upload_deleted = False
    if video.file and kept == 0:
        name = video.file.name
        video.file.name, video.content_type = "", ""
        video.save(update_fields=["file", "content_type", "updated_at"])
        transaction.on_commit(lambda: _delete_files([name]))
        upload_deleted = True
    if kept == 0 and (deleted or upload_deleted):
        video_set_status(
            video=video,
            status=Video.Status.FAILED,
            error="Its frames were removed by the site's staff. Add the video again to pull new ones.",
        )
    return FilesDeleted(frames_deleted=deleted, frames_kept=kept, upload_deleted=upload_deleted)


def frames_set_hidden(*, frames: QuerySet[Frame], hidden: bool) -> int:
    """Hide frames from "Inspire me" (or show them again); favourites of them stay."""
    return frames.update(is_hidden=hidden)


FAVOURITES_CSV_COLUMNS = ["title", "video_url", "timestamp", "timestamp_link", "note", "file"]
_ZIP_CHUNK = 64 * 1024  # bytes read from the storage at a time, and about what each step yields


def favourites_export(*, user, out: BinaryIO, base_url: str = "") -> int:
    """Write a zip of the user's saved frames (full JPEGs) and favourites.csv; returns the count.

    The same archive the site streams for a download (favourites_zip), written to a file."""
    count = 0

    def counted() -> Iterator[Favourite]:
        nonlocal count
        for favourite in Favourite.objects.for_export(user).iterator(chunk_size=500):
            count += 1
            yield favourite

    for chunk in favourites_zip(counted(), base_url=base_url):
        out.write(chunk)
    return count


class _Pipe(io.RawIOBase):
    """Where zipfile writes: bytes kept only until the next `take`. Not seekable, so zipfile
    writes each member's sizes after its data (a data descriptor) and never goes back."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


def favourites_zip(favourites: Iterable[Favourite], *, base_url: str = "") -> Iterator[bytes]:
    """The zip of these favourites, made as it is sent: full JPEGs under frames/ and
    favourites.csv (title, video_url, timestamp, timestamp_link, note, file).

    Memory stays flat whatever the number of frames: each image is copied from the storage
    in _ZIP_CHUNK pieces and every piece is handed on before the next is read (only the CSV,
    a line per frame, is kept until the end). JPEGs are stored, not deflated: they do not
    compress and deflating costs time. File names are numbered, so two frames of videos with
    the same title never collide, and slugified, so no title can climb out of the archive
    ("../") or upset a file system. `base_url` turns the site-relative links of uploaded
    videos into absolute ones. `favourites` come with their frame and video
    (Favourite.objects.for_export).
    """
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(FAVOURITES_CSV_COLUMNS)
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for number, favourite in enumerate(favourites, 1):
            frame, video = favourite.frame, favourite.frame.video
            stem = slugify(video.title or str(video))[:60] or "frame"
            seconds = frame.timestamp_ms // 1000
            name = f"frames/{number:04d}-{stem}-{seconds // 60}m{seconds % 60:02d}s.jpg"
            try:
                image = default_storage.open(frame.image.name, "rb")
            except FileNotFoundError:
                # Should never happen (saved frames keep their files); the row still says where.
                logger.warning("Favourite %s: the image %s is missing", favourite.pk, frame.image.name)
                name = ""
            else:
                member = zipfile.ZipInfo(
                    name, date_time=timezone.localtime(favourite.created_at).timetuple()[:6]
                )
                member.compress_type = zipfile.ZIP_STORED
                with image, archive.open(member, "w") as into:
                    while piece := image.read(_ZIP_CHUNK):
                        into.write(piece)
                        yield pipe.take()
            link = video.url_at(frame.timestamp_ms)
            if link.startswith("/") and base_url:
                link = base_url.rstrip("/") + link
            writer.writerow(
                [video.title, video.source_url, frame.timestamp_label, link, favourite.note, name]
            )
            yield pipe.take()
        archive.writestr("favourites.csv", rows.getvalue())
    yield pipe.take()


# --- Boards ---------------------------------------------------------------------------------
def _board_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError("Give the board a name.", code="required")
    if len(name) > 100:
        raise ValidationError("A board's name can be at most 100 characters long.", code="max_length")
    return name


def _board_description(description: str) -> str:
    if len(description) > 2000:
        raise ValidationError("A description can be at most 2000 characters long.", code="max_length")
    return description.strip()


def _name_taken(name: str) -> ValidationError:
    return ValidationError(f"You already have a board named “{name}”; choose another name.", code="unique")


def board_create(*, owner, name: str, description: str = "") -> Board:
    name, description = _board_name(name), _board_description(description)
    try:
        with transaction.atomic():
            return Board.objects.create(owner=owner, name=name, description=description)
    except IntegrityError:
        raise _name_taken(name) from None


def board_update(*, board: Board, name: str, description: str) -> Board:
    board.name, board.description = _board_name(name), _board_description(description)
    try:
        with transaction.atomic():
            board.save(update_fields=["name", "description"])
    except IntegrityError:
        raise _name_taken(board.name) from None
    return board


def board_delete(*, board: Board) -> None:
    """Delete the board; its frames stay in the owner's favourites (and on their other boards)."""
    board.delete()


def board_share(*, board: Board, show_notes: bool = False) -> Board:
    """Give the board a public read-only link: a new random token every time, so a link
    revoked once never works again."""
    board.share_token = secrets.token_urlsafe(32)
    board.show_notes = show_notes
    board.save(update_fields=["share_token", "show_notes"])
    return board


def board_unshare(*, board: Board) -> Board:
    board.share_token = None
    board.save(update_fields=["share_token"])
    return board


@transaction.atomic
def board_add_frames(*, board: Board, frames: Sequence[Frame]) -> int:
    """Put frames on one of its owner's boards, saving them to the owner's favourites first
    (a board holds saved frames); those already on it stay where they are. Returns how many
    were added. The board becomes the one "Save to board" offers first."""
    user = board.owner
    favourites = {f.frame_id: f for f in Favourite.objects.filter(user=user, frame__in=frames)}
    for frame in frames:
        if frame.pk not in favourites:
            favourites[frame.pk] = favourite_add(user=user, frame=frame)
    present = set(BoardItem.objects.filter(board=board).values_list("favourite_id", flat=True))
    position = (BoardItem.objects.filter(board=board).aggregate(m=Max("position"))["m"] or 0) + 1
    new = []
    for frame in dict.fromkeys(frames):
        favourite = favourites[frame.pk]
        if favourite.pk not in present:
            present.add(favourite.pk)
            new.append(BoardItem(board=board, favourite=favourite, position=position))
            position += 1
    BoardItem.objects.bulk_create(new, ignore_conflicts=True)
    board.last_used_at = timezone.now()
    board.save(update_fields=["last_used_at"])
    return len(new)


def board_remove_frames(*, board: Board, frames: Sequence[Frame]) -> int:
    """Take frames off a board; they stay saved."""
    deleted, _ = BoardItem.objects.filter(board=board, favourite__frame__in=frames).delete()
    return deleted


@transaction.atomic
def board_reorder(*, board: Board, order: Sequence[int]) -> None:
    """Put the board's items named in `order` (their ids, as dragged on one page of the board)
    in that order, in the places they held together; the others keep their places and ids of
    other boards are ignored. Only rows whose position changed are written."""
    items = list(BoardItem.objects.select_for_update().filter(board=board).order_by("position", "pk"))
    by_id = {item.pk: item for item in items}
    moved = [by_id[pk] for pk in dict.fromkeys(order) if pk in by_id]
    chosen = {item.pk for item in moved}
    slots = [at for at, item in enumerate(items) if item.pk in chosen]
    for at, item in zip(slots, moved, strict=True):
        items[at] = item
    changed = []
    for position, item in enumerate(items, 1):
        if item.position != position:
            item.position = position
            changed.append(item)
    BoardItem.objects.bulk_update(changed, ["position"])


def board_move(*, board: Board, item: BoardItem, by: int) -> None:
    """Move one item `by` places (-1: up one, 1: down one), stopping at either end."""
    ids = list(BoardItem.objects.filter(board=board).order_by("position", "pk").values_list("pk", flat=True))
    if item.pk not in ids:
        return
    at = ids.index(item.pk)
    ids.insert(max(0, min(len(ids) - 1, at + by)), ids.pop(at))
    board_reorder(board=board, order=ids)  # every id: the whole board in this order


# --- Remove, and Undo -----------------------------------------------------------------------
@transaction.atomic
def favourites_remove(*, user, frames: Sequence[Frame]) -> list[dict]:
    """Remove the user's favourites of these frames (and so take them off their boards).

    Returns what Undo needs to put them back as they were (favourites_restore): each one's
    frame, note, date and places on boards, as plain JSON values for the session."""
    favourites = list(Favourite.objects.filter(user=user, frame__in=frames).order_by("created_at", "pk"))
    places: dict[int, list[list[int]]] = {}
    for favourite_id, board_id, position in BoardItem.objects.filter(favourite__in=favourites).values_list(
        "favourite_id", "board_id", "position"
    ):
        places.setdefault(favourite_id, []).append([board_id, position])
    removed = [
        {
            "frame": f.frame_id,
            "note": f.note,
            "created_at": f.created_at.isoformat(),
            "boards": places.get(f.pk, []),
        }
        for f in favourites
    ]
    Favourite.objects.filter(pk__in=[f.pk for f in favourites]).delete()
    return removed


@transaction.atomic
def favourites_restore(*, user, removed: Sequence[dict]) -> int:
    """Undo favourites_remove: each favourite again with its note, its date (its place in the
    gallery) and its places on the user's boards that still exist. A frame deleted meanwhile
    cannot come back; one saved again meanwhile keeps its new note. Returns how many came back."""
    frames = {f.pk: f for f in Frame.objects.filter(pk__in=[r["frame"] for r in removed])}
    boards = set(Board.objects.filter(owner=user).values_list("pk", flat=True))
    restored = 0
    for entry in removed:
        frame = frames.get(entry["frame"])
        if frame is None:
            continue
        favourite, created = Favourite.objects.get_or_create(
            user=user, frame=frame, defaults={"note": entry["note"], "video_id": frame.video_id}
        )
        if created:
            restored += 1
            # auto_now_add set "now": the gallery shows it back where it was.
            when = datetime.fromisoformat(entry["created_at"])
            Favourite.objects.filter(pk=favourite.pk).update(created_at=when)
        BoardItem.objects.bulk_create(
            [
                BoardItem(board_id=board_id, favourite=favourite, position=position)
                for board_id, position in entry["boards"]
                if board_id in boards
            ],
            ignore_conflicts=True,
        )
    return restored
