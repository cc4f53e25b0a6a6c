"""Every write to the catalogue. Plain keyword-only functions; `jobs` records its results here."""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, ProtectedError, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from . import colour, similarity
from .models import (
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


# --- Frames ---------------------------------------------------------------------------------
def frame_add(
    *,
    video: Video,
    timestamp_ms: int,
    width: int,
    height: int,
    jpeg: bytes,
    thumbnail: bytes,
    thumbnail_ext: str = "webp",
    dhash: int | None = None,
    brightness: float | None = None,
    contrast: float | None = None,
    sharpness: float | None = None,
    palette: Sequence[str] = (),
    signature: str = "",
) -> Frame | None:
    """Store one still and its files; None when this moment of the video is already stored."""
    if Frame.objects.filter(video=video, timestamp_ms=timestamp_ms).exists():
        return None
    frame = Frame(
        video=video,
        timestamp_ms=timestamp_ms,
        width=width,
        height=height,
        brightness=brightness,
        contrast=contrast,
        sharpness=sharpness,
        dhash=f"{dhash:016x}" if dhash is not None else "",
        palette=list(palette),
        signature=signature,
    )
    frame.image.save("frame.jpg", ContentFile(jpeg), save=False)
    frame.thumbnail.save(f"thumb.{thumbnail_ext}", ContentFile(thumbnail), save=False)
    try:
        with transaction.atomic():
            frame.save()
            frame_index(frame=frame)
    except IntegrityError:
        # A retried task raced us to the same moment: keep theirs, drop our files.
        _delete_files([frame.image.name, frame.thumbnail.name])
        return None
    return frame


def frame_index(*, frame: Frame) -> None:
    """Write the frame's rows of the colour index and of the likeness index, from its palette
    and its signature (none for a frame without them). Migration 0006 fills them for the frames
    stored before, with the same functions."""
    FrameColour.objects.bulk_create(
        FrameColour(frame=frame, video_id=frame.video_id, position=position, bin=cube, l=p[0], a=p[1], b=p[2])
        for position, cube, p in colour.palette_points(frame.palette)
    )
    FrameKey.objects.bulk_create(
        FrameKey(frame=frame, video_id=frame.video_id, key=key)
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


def favourites_export(*, user, out: BinaryIO, base_url: str = "") -> int:
    """Write a zip of the user's saved frames (full JPEGs) and favourites.csv; returns the count.

    File names are numbered, so two frames of videos with the same title never collide, and
    slugified, so no title can climb out of the archive ("../") or upset a file system.
    `base_url` turns the site-relative links of uploaded videos into absolute ones.
    """
    favourites = list(
        Favourite.objects.filter(user=user).select_related("frame__video").order_by("created_at", "pk")
    )
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(FAVOURITES_CSV_COLUMNS)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for number, favourite in enumerate(favourites, 1):
            frame, video = favourite.frame, favourite.frame.video
            stem = slugify(video.title or str(video))[:60] or "frame"
            seconds = frame.timestamp_ms // 1000
            name = f"frames/{number:04d}-{stem}-{seconds // 60}m{seconds % 60:02d}s.jpg"
            try:
                with default_storage.open(frame.image.name, "rb") as image:
                    # JPEGs are already compressed: storing them is as small and much faster.
                    archive.writestr(name, image.read(), compress_type=zipfile.ZIP_STORED)
            except FileNotFoundError:
                # Should never happen (saved frames keep their files); the row still says where.
                logger.warning("Favourite %s: the image %s is missing", favourite.pk, frame.image.name)
                name = ""
            link = video.url_at(frame.timestamp_ms)
            if link.startswith("/") and base_url:
                link = base_url.rstrip("/") + link
            writer.writerow(
                [video.title, video.source_url, frame.timestamp_label, link, favourite.note, name]
            )
        archive.writestr("favourites.csv", rows.getvalue())
    return len(favourites)
