"""Thin views: check who may see what, bind a form, call one service or QuerySet method.

Every object is fetched through a queryset already narrowed to what the signed-in user may see,
so another user's rows answer 404, never 403: nobody learns that an id exists.
"""

from __future__ import annotations

import logging
import mimetypes
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from . import colour, queries, services, throttle
from .forms import (
    BoardForm,
    ColourSearchForm,
    FavouriteFilterForm,
    NoteForm,
    SaveToBoardForm,
    ShareForm,
    SignupForm,
    id_from,
    ids_from,
)
from .models import Board, BoardItem, Favourite, Frame, FrameQuerySet, Playlist, Video

logger = logging.getLogger(__name__)

PAGE_SIZE = 24
FRAMES_PAGE_SIZE = 48


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("gallery:home")
    if request.method == "POST" and (wait := throttle.signup_wait(request)) is not None:
        # The form unchecked: its errors ("that username is taken") are what a script looks for.
        message = f"Too many sign-ups from your network. Please try again in {throttle.wait_text(wait)}."
        return render(
            request, "registration/signup.html", {"form": SignupForm(), "throttled": message}, status=429
        )
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.get_username()}! Add a video to start your gallery.")
        return redirect("gallery:home")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


# --- Library --------------------------------------------------------------------------------
LANDING_VIDEOS = 4
LANDING_FRAMES_PER_VIDEO = 2


def home(request: HttpRequest) -> HttpResponse:
    """The library of a signed-in user; for a visitor, what the site does, with a few frames of
    the curated playlists, and the ways in."""
    if not request.user.is_authenticated:
        frames = queries.showcase(videos=LANDING_VIDEOS, per_video=LANDING_FRAMES_PER_VIDEO)
        return render(request, "gallery/landing.html", {"frames": frames})
    page, playlists = queries.library(request.user, page=request.GET.get("page"), per_page=PAGE_SIZE)
    return render(
        request,
        "gallery/home.html",
        {
            "page": page,
            "videos": page.object_list,
            "my_playlists": [p for p in playlists if not p.is_curated],
            "curated": [p for p in playlists if p.is_curated],
        },
    )


@login_required
def video_detail(request: HttpRequest, pk: int) -> HttpResponse:
    video = get_object_or_404(Video.objects.visible_to(request.user), pk=pk)
    frames = video.frames.pickable().order_by("timestamp_ms", "pk")
    page = Paginator(frames, FRAMES_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "gallery/video_detail.html",
        {
            "video": video,
            "page": page,
            "in_library": video.library_items.filter(user=request.user).exists(),
            "frames_default": settings.INSPIRE_FRAMES_DEFAULT,
            "frames_max": settings.INSPIRE_FRAMES_MAX,
            "boards": queries.board_choices(request.user),
        },
    )


@login_required
@require_POST
def video_remove(request: HttpRequest, pk: int) -> HttpResponse:
    video = get_object_or_404(Video.objects.in_library_of(request.user), pk=pk)
    services.library_remove(user=request.user, video=video)
    messages.success(request, f"“{video}” was removed from your library. Your favourites stay.")
    return redirect("gallery:home")


@login_required
def playlist_detail(request: HttpRequest, pk: int) -> HttpResponse:
    playlist = get_object_or_404(Playlist.objects.visible_to(request.user), pk=pk)
    videos = queries.attach_previews(
        list(playlist.videos.with_frame_counts().order_by("playlist_entries__position", "pk"))
    )
    return render(
        request,
        "gallery/playlist_detail.html",
        {
            "playlist": playlist,
            "videos": videos,
            "n_frames": sum(v.n_frames for v in videos),
            "n_ready": sum(1 for v in videos if v.status == Video.Status.READY),
            "in_library": playlist.library_items.filter(user=request.user).exists(),
            "frames_default": settings.INSPIRE_FRAMES_DEFAULT,
            "frames_max": settings.INSPIRE_FRAMES_MAX,
        },
    )


@login_required
@require_POST
def playlist_remove(request: HttpRequest, pk: int) -> HttpResponse:
    playlist = get_object_or_404(Playlist.objects.filter(library_items__user=request.user), pk=pk)
    services.library_remove(user=request.user, playlist=playlist)
    messages.success(request, f"“{playlist}” was removed from your library. Your favourites stay.")
    return redirect("gallery:home")


# --- Inspire me -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Scope:
    """What "Inspire me" draws from: everything the user sees, one playlist, or one video."""

    frames: FrameQuerySet
    target: Video | Playlist | None
    query: str  # kept on "Another one" and on the JSON endpoint
    few: FrameQuerySet | None = None  # the same frames, for reading a few (queries.frame_pick)

    def pick(self, request: HttpRequest) -> Frame | None:
        """A random frame with its video, and `frame.saved` for this user; none of the frames
        shown to them lately (queries.frame_pick), which the session keeps, latest first.

        One list per user (their session) for every scope: a frame just seen from a playlist is
        as stale when it comes up in "everything". The session also remembers which scopes were
        larger than queries.PICK_ALL, counting picks since their size was last read: such a
        scope is read through its window straight away, its size read again every
        _LARGE_RECHECK picks (a library that shrank goes back to the exact pick then)."""
        recent = request.session.get(_RECENT_SESSION_KEY, [])
        large = request.session.get(_LARGE_SESSION_KEY, {})
        since = large.get(self.query)
        hint = since is not None and since < _LARGE_RECHECK
        frame = queries.frame_pick(self.frames, few=self.few, saved_by=request.user, avoid=recent, large=hint)
        if frame is not None:
            request.session[_RECENT_SESSION_KEY] = [frame.pk, *recent][: queries.RECENT]
            if frame.large_scope:
                large[self.query] = since + 1 if hint else 0
            else:
                large.pop(self.query, None)
            request.session[_LARGE_SESSION_KEY] = large
        return frame


_RECENT_SESSION_KEY = "inspire_recent"
_LARGE_SESSION_KEY = "inspire_large"
_LARGE_RECHECK = 20


def _scope(request: HttpRequest) -> _Scope:
    user = request.user
    if request.GET.get("video"):
        video = get_object_or_404(Video.objects.visible_to(user), pk=_int(request.GET["video"]))
        return _Scope(Frame.objects.filter(video=video), video, f"video={video.pk}")
    if request.GET.get("playlist"):
        playlist = get_object_or_404(Playlist.objects.visible_to(user), pk=_int(request.GET["playlist"]))
        return _Scope(Frame.objects.in_playlist(playlist.pk), playlist, f"playlist={playlist.pk}")
    if request.GET.get("board"):
        board = get_object_or_404(Board.objects.of(user), pk=_int(request.GET["board"]))
        return _Scope(Frame.objects.in_board(board.pk), board, f"board={board.pk}")
    return _Scope(Frame.objects.visible_to(user), None, "", few=Frame.objects.visible_to_few(user))


def _int(value: str) -> int:
    pk = id_from(value)
    if pk is None:
        raise Http404("No such video, playlist or board.")
    return pk


def frame_data(frame: Frame) -> dict:
    """A frame of queries.frame_pick (which sets `frame.saved`) for the JSON API."""
    return {
        "id": frame.pk,
        "image_url": frame.get_image_url(),
        "thumbnail_url": frame.get_thumbnail_url(),
        "download_url": reverse("gallery:frame_file", args=[frame.pk, "download"]),
        "detail_url": frame.get_absolute_url(),
        "video_title": str(frame.video),
        "video_url": frame.video.get_absolute_url(),
        "source_link": frame.source_link,
        "timestamp_ms": frame.timestamp_ms,
        "timestamp_label": frame.timestamp_label,
        "palette": frame.palette,
        "width": frame.width,
        "height": frame.height,
        "saved": frame.saved,
        "save_url": reverse("gallery:frame_save", args=[frame.pk]),
        "unsave_url": reverse("gallery:frame_unsave", args=[frame.pk]),
    }


_KINDS = {Video: "video", Playlist: "playlist", Board: "board"}


@login_required
@require_GET
def inspire(request: HttpRequest) -> HttpResponse:
    """The page; with ?partial=1 only its frame (partials/_inspire_frame.html), which the page's
    script fetches for "Another one" in place of a reload."""
    scope = _scope(request)
    frame = scope.pick(request)
    partial = request.GET.get("partial") == "1"
    query = request.GET.copy()
    query.pop("partial", None)
    here = reverse("gallery:inspire") + (f"?{query.urlencode()}" if query else "")
    context = {
        "frame": frame,
        "scope": scope.target,
        "scope_kind": _KINDS.get(type(scope.target), ""),
        "here": here,
        "partial_url": here + ("&" if query else "?") + "partial=1",
        "boards": queries.board_choices(request.user) if frame is not None else None,
    }
    if partial:
        if frame is None:
            return HttpResponse("No frames here yet.", status=404, content_type="text/plain")
        return render(request, "partials/_inspire_frame.html", context)
    return render(request, "gallery/inspire.html", context)


@login_required
@require_GET
def random_frame(request: HttpRequest) -> JsonResponse:
    frame = _scope(request).pick(request)
    if frame is None:
        return JsonResponse({"frame": None, "message": "No frames here yet."}, status=404)
    return JsonResponse({"frame": frame_data(frame)})


# --- Frames ---------------------------------------------------------------------------------
def _frames_for(user) -> FrameQuerySet:
    """Frames a user may open: the visible ones, and any they saved.

    A frame stays reachable for a user who saved it, even after its video left their library.
    EXISTS rather than a join on favourites: no DISTINCT, and every thumbnail is one such lookup.
    """
    saved = Favourite.objects.filter(user=user, frame=OuterRef("pk"))
    return Frame.objects.visible_to(user) | Frame.objects.filter(Exists(saved))


def _playing(request: HttpRequest) -> bool:
    """?play=1: the page shows the video playing from the frame's moment in place of the image
    (a link, so it works without the lightbox's script too)."""
    return request.GET.get("play") == "1"


@login_required
@require_GET
def frame_similar(request: HttpRequest, pk: int) -> HttpResponse:
    """ "More like this": the frames the user sees that look most like one they may open."""
    frame = get_object_or_404(_frames_for(request.user).select_related("video"), pk=pk)
    matches = queries.similar_frames(request.user, frame)
    return render(request, "gallery/frame_similar.html", {"frame": frame, "matches": matches})


@login_required
@require_GET
def frame_detail(request: HttpRequest, pk: int) -> HttpResponse:
    frame = get_object_or_404(_frames_for(request.user).select_related("video"), pk=pk)
    favourite = Favourite.objects.filter(user=request.user, frame=frame).first()
    if favourite is not None:
        return redirect(favourite.get_absolute_url() + ("?play=1" if _playing(request) else ""))
    context = {
        "frame": frame,
        "neighbours": queries.frame_neighbours(frame),
        "playing": _playing(request),
        "boards": queries.board_choices(request.user),
    }
    return render(request, "gallery/frame_detail.html", context)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(default)


@login_required
@require_POST
def frame_save(request: HttpRequest, pk: int) -> HttpResponse:
    frame = get_object_or_404(_frames_for(request.user), pk=pk)
    favourite = services.favourite_add(user=request.user, frame=frame)
    if _wants_json(request):
        return JsonResponse({"saved": True, "favourite_url": favourite.get_absolute_url()})
    messages.success(request, "Saved to your favourites.")
    return _back(request, favourite.get_absolute_url())


@login_required
@require_POST
def frame_unsave(request: HttpRequest, pk: int) -> HttpResponse:
    frame = get_object_or_404(_frames_for(request.user), pk=pk)
    if _wants_json(request):  # Inspire's Save button: pressing it again is its undo
        services.favourite_remove(user=request.user, frame=frame)
        return JsonResponse({"saved": False})
    removed = services.favourites_remove(user=request.user, frames=[frame])
    _undo_message(request, removed, "Removed from your favourites.")
    return _back(request, reverse("gallery:favourites"))


@require_GET
def frame_file(request: HttpRequest, pk: int, variant: str) -> HttpResponse:
    if variant not in {"image", "thumb", "download"}:
        raise Http404
    if not request.user.is_authenticated:
        # A visitor sees the frames of the landing page (curated, not hidden), nothing else.
        frame = Frame.objects.showcased().filter(pk=pk).select_related("video").first()
        if frame is None or variant == "download":
            return redirect_to_login(request.get_full_path())
    else:
        # Staff see every frame: the admin lists all of them with their thumbnails.
        frames = Frame.objects.all() if request.user.is_staff else _frames_for(request.user)
        frame = get_object_or_404(frames.select_related("video"), pk=pk)
    field = frame.thumbnail if variant == "thumb" else frame.image
    download_name = None
    if variant == "download":
        ext = PurePosixPath(field.name).suffix or ".jpg"
        download_name = f"{_slug(frame.video.title or 'frame')}-{frame.timestamp_ms // 1000}s{ext}"
    return _serve_file(request, field.name, download_name=download_name)


@login_required
@require_GET
def video_file(request: HttpRequest, pk: int) -> HttpResponse:
    """An uploaded video, for the users who have it in their library (jump-to-moment for uploads)."""
    video = get_object_or_404(
        Video.objects.in_library_of(request.user).filter(provider=Video.UPLOAD_PROVIDER), pk=pk
    )
    return _serve_file(request, video.file.name, content_type=video.content_type or None)


def _slug(text: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in text.lower())
    return "-".join(part for part in cleaned.split("-") if part)[:60] or "frame"


def _serve_file(
    request: HttpRequest, name: str, *, download_name: str | None = None, content_type: str | None = None
) -> HttpResponse:
    """Send a stored file after the caller checked permissions.

    In a bucket (STORAGE_BACKEND=s3): a redirect to a signed URL that lasts INSPIRE_SIGNED_URL_S,
    so the bytes never pass through Django. Behind nginx (ACCEL_REDIRECT_PREFIX set) nginx sends
    them from an internal location (and answers byte ranges itself); otherwise Django streams
    them from the disk, one byte range of them when asked (a <video> seeking to a moment).
    """
    gone = Http404("This file is no longer kept.")
    if not name:
        raise gone
    content_type = (
        content_type or mimetypes.guess_type(PurePosixPath(name).name)[0] or "application/octet-stream"
    )
    if settings.STORAGE_BACKEND == "s3":
        return _signed_redirect(name, download_name=download_name, content_type=content_type)
    if settings.ACCEL_REDIRECT_PREFIX:
        if not default_storage.exists(name):
            raise gone
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.ACCEL_REDIRECT_PREFIX.rstrip("/") + "/" + name
        if download_name:
            # The header FileResponse writes (filename*= for names that are not ASCII).
            response["Content-Disposition"] = content_disposition_header(True, download_name)
    else:
        # Open once, no exists() first: on a bucket that would be a second request per image.
        try:
            stream = default_storage.open(name, "rb")
        except FileNotFoundError:
            raise gone from None
        response = _ranged(request, stream, content_type) or FileResponse(
            stream, content_type=content_type, as_attachment=bool(download_name), filename=download_name or ""
        )
        response["Accept-Ranges"] = "bytes"
        if download_name and response.status_code == 206:
            response["Content-Disposition"] = content_disposition_header(True, download_name)
    # Frame files never change once written (more frames get new names); private: per-user access.
    response["Cache-Control"] = "private, max-age=31536000, immutable"
    return response


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_RANGE_CHUNK = 64 * 1024


def _ranged(request: HttpRequest, stream: File, content_type: str) -> HttpResponse | None:
    """The 206 answer to a Range header of one byte range (416 if it lies past the end), or
    None to send the whole file: no Range, several ranges, or one that does not parse (RFC 9110
    lets a server ignore those)."""
    match = _RANGE.fullmatch(request.headers.get("Range", "").strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first and last and int(last) < int(first):
        return None  # not a valid range: ignored, as RFC 9110 says
    size = stream.size
    if first == "":  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or (first == "" and int(last) == 0):
        stream.close()
        response = HttpResponse(status=416, content_type="text/plain")
        response.content = b"That part of the file does not exist."
        response["Content-Range"] = f"bytes */{size}"
        return response
    stream.seek(start)
    response = StreamingHttpResponse(_read(stream, end - start + 1), status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    return response


def _read(stream: File, length: int) -> Iterator[bytes]:
    try:
        while length > 0:
            chunk = stream.read(min(_RANGE_CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk
    finally:
        stream.close()


def _signed_redirect(name: str, *, download_name: str | None, content_type: str) -> HttpResponse:
    """A redirect to the object itself, signed for INSPIRE_SIGNED_URL_S.

    No existence check first (a HEAD to the bucket per image): rows and objects are kept in
    step by the services and media_prune, and a missing object answers 404/403 from the bucket.
    """
    parameters = {"ResponseContentType": content_type}
    if download_name:
        parameters["ResponseContentDisposition"] = content_disposition_header(True, download_name)
    url = default_storage.url(name, parameters=parameters, expire=settings.INSPIRE_SIGNED_URL_S)
    response = HttpResponseRedirect(url)
    # The browser may reuse the redirect, but only while the URL it points to is still valid.
    response["Cache-Control"] = f"private, max-age={settings.INSPIRE_SIGNED_URL_S // 2}"
    return response


# --- Favourites -----------------------------------------------------------------------------
@login_required
@require_GET
def favourites(request: HttpRequest) -> HttpResponse:
    form = FavouriteFilterForm(request.GET or None, user=request.user)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    page = queries.gallery_page(
        request.user,
        video=filters.get("video"),
        playlist=filters.get("playlist"),
        title=filters.get("title", ""),
        older_than=id_from(request.GET.get("before")),
        newer_than=id_from(request.GET.get("after")),
        per_page=PAGE_SIZE,
    )
    query = request.GET.copy()
    for where in ("before", "after", "page"):  # "page": links from before pages started at favourites
        query.pop(where, None)
    return render(
        request,
        "gallery/favourite_list.html",
        {
            "page": page,
            "form": form,
            "query": query.urlencode(),
            "filtered": any(filters.values()),
            "boards": queries.board_choices(request.user),
        },
        status=400 if form.errors else 200,
    )


@login_required
def favourite_detail(request: HttpRequest, pk: int) -> HttpResponse:
    favourite = get_object_or_404(Favourite.objects.for_gallery(request.user), pk=pk)
    form = NoteForm(request.POST or None, initial={"note": favourite.note})
    if request.method == "POST" and form.is_valid():
        try:
            services.favourite_update_note(favourite=favourite, note=form.cleaned_data["note"])
        except ValidationError as exc:
            form.add_error("note", exc)
        else:
            messages.success(request, "Note saved.")
            return redirect(favourite)
    return render(
        request,
        "gallery/favourite_detail.html",
        {
            "favourite": favourite,
            "frame": favourite.frame,
            "form": form,
            "neighbours": queries.favourite_neighbours(favourite),
            "playing": _playing(request),
            "boards": queries.board_choices(request.user),
        },
        status=400 if form.errors else 200,
    )


# --- Boards ---------------------------------------------------------------------------------
def _own_board(request: HttpRequest, pk: int) -> Board:
    return get_object_or_404(Board.objects.of(request.user), pk=pk)


@login_required
def boards(request: HttpRequest) -> HttpResponse:
    """The user's boards, and the form that makes a new one."""
    form = BoardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            board = services.board_create(owner=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            messages.success(request, f"Board “{board}” created. Save frames to it from anywhere.")
            return redirect(board)
    return render(
        request,
        "gallery/board_list.html",
        {"boards": queries.boards_list(request.user), "form": form},
        status=400 if form.errors else 200,
    )


@login_required
def board_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A board's frames in its order, with its settings (POST: a new name or description)."""
    board = _own_board(request, pk)
    form = BoardForm(request.POST or None, initial={"name": board.name, "description": board.description})
    if request.method == "POST" and form.is_valid():
        try:
            services.board_update(board=board, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error("name", exc)
            board.refresh_from_db()
        else:
            messages.success(request, "Board saved.")
            return redirect(board)
    page = queries.board_items(board, page=request.GET.get("page"), per_page=FRAMES_PAGE_SIZE)
    return render(
        request,
        "gallery/board_detail.html",
        {
            "board": board,
            "page": page,
            "form": form,
            "share_form": ShareForm(initial={"show_notes": board.show_notes}),
            "share_url": request.build_absolute_uri(board.get_shared_url()) if board.share_token else "",
            "boards": queries.board_choices(request.user) if page.object_list else None,
            "here": request.get_full_path(),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def board_delete(request: HttpRequest, pk: int) -> HttpResponse:
    board = _own_board(request, pk)
    services.board_delete(board=board)
    messages.success(request, f"Board “{board}” deleted. Its frames stay in your favourites.")
    return redirect("gallery:boards")


@login_required
@require_POST
def board_share(request: HttpRequest, pk: int) -> HttpResponse:
    board = _own_board(request, pk)
    form = ShareForm(request.POST)
    form.is_valid()  # a checkbox: always valid
    services.board_share(board=board, show_notes=form.cleaned_data["show_notes"])
    messages.success(request, "Anyone with the link can now see this board (read only).")
    return redirect(board)


@login_required
@require_POST
def board_unshare(request: HttpRequest, pk: int) -> HttpResponse:
    board = _own_board(request, pk)
    services.board_unshare(board=board)
    messages.success(request, "The board is private again: its link no longer works.")
    return redirect(board)


@login_required
@require_POST
def board_move(request: HttpRequest, pk: int, item: int) -> HttpResponse:
    """Move a frame one place up or down (the buttons that work without a script)."""
    board = _own_board(request, pk)
    moved = get_object_or_404(BoardItem.objects.filter(board=board), pk=item)
    services.board_move(board=board, item=moved, by=-1 if request.POST.get("direction") == "up" else 1)
    return _back(request, board.get_absolute_url())


@login_required
@require_POST
def board_reorder(request: HttpRequest, pk: int) -> HttpResponse:
    """The board's frames in a new order (dragged, static/js/boards.js): item ids, first first."""
    board = _own_board(request, pk)
    services.board_reorder(board=board, order=ids_from(request.POST.getlist("order")))
    if _wants_json(request):
        return JsonResponse({"ok": True})
    return _back(request, board.get_absolute_url())


def _zip_response(favourites: Iterable[Favourite], request: HttpRequest, name: str) -> StreamingHttpResponse:
    """A zip made while it is sent (services.favourites_zip): flat memory for any number of frames."""
    chunks = services.favourites_zip(favourites, base_url=request.build_absolute_uri("/"))
    response = StreamingHttpResponse(chunks, content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["X-Accel-Buffering"] = "no"  # behind nginx too, sent as it is made
    return response


@login_required
@require_GET
def board_download(request: HttpRequest, pk: int) -> HttpResponse:
    board = _own_board(request, pk)
    favourites = Favourite.objects.for_export(request.user, board_id=board.pk).iterator(chunk_size=500)
    return _zip_response(favourites, request, f"{_slug(board.name)}.zip")


@login_required
@require_GET
def favourites_download(request: HttpRequest) -> HttpResponse:
    favourites = Favourite.objects.for_export(request.user).iterator(chunk_size=500)
    return _zip_response(favourites, request, "inspire-favourites.zip")


def _board_to_save_to(request: HttpRequest) -> Board:
    """The board a "Save to board" form names, a new one made if it says so; ValidationError
    with a readable message otherwise."""
    choices = queries.board_choices(request.user)
    form = SaveToBoardForm(request.POST, boards=choices)
    if not form.is_valid():
        raise ValidationError([e for errors in form.errors.values() for e in errors])
    chosen = form.cleaned_data["board"]
    if chosen is not None:
        return next(board for board in choices if board.pk == chosen)
    return services.board_create(owner=request.user, name=form.cleaned_data["new_board"])


def _to_board(request: HttpRequest, frames: list[Frame], default: str) -> HttpResponse:
    try:
        board = _board_to_save_to(request)
    except ValidationError as exc:
        if _wants_json(request):
            return JsonResponse({"message": " ".join(exc.messages)}, status=400)
        messages.error(request, " ".join(exc.messages))
        return _back(request, default)
    added = services.board_add_frames(board=board, frames=frames)
    text = _added_text(board, added=added, asked=len(frames))
    if _wants_json(request):
        return JsonResponse({"saved": True, "board": board.pk, "message": text})
    messages.success(request, text)
    return _back(request, default)


def _added_text(board: Board, *, added: int, asked: int) -> str:
    if asked == 1:
        return f"Saved to “{board}”." if added else f"Already on “{board}”."
    if not added:
        return f"All {asked} frames were on “{board}” already."
    if added < asked:
        return f"{added} of {asked} frames added to “{board}” (the others were on it already)."
    return f"{asked} frames added to “{board}”."


@login_required
@require_POST
def frame_to_board(request: HttpRequest, pk: int) -> HttpResponse:
    """Save a frame to a board in one step (and so to the favourites)."""
    frame = get_object_or_404(_frames_for(request.user), pk=pk)
    return _to_board(request, [frame], frame.get_absolute_url())


_UNDO_SESSION_KEY = "gallery_undo"
_UNDO_KEEP = 5  # removals that can still be undone


def _undo_message(request: HttpRequest, removed: list[dict], text: str) -> None:
    """A message that says what was removed, with an Undo button (partials/_undo.html).

    What Undo restores stays in the session under a random key; the form only names the key,
    so nobody can restore anything but their own removal."""
    if not removed:
        messages.info(request, "Nothing was removed: those frames were not in your favourites.")
        return
    key = secrets.token_urlsafe(12)
    kept = request.session.get(_UNDO_SESSION_KEY, {})
    kept[key] = removed
    request.session[_UNDO_SESSION_KEY] = dict(list(kept.items())[-_UNDO_KEEP:])
    context = {"text": text, "key": key, "next": request.POST.get("next", "")}
    # Rendered, so its CSRF field is Django's; safe HTML survives the message storage.
    messages.success(request, render_to_string("partials/_undo.html", context, request=request))


@login_required
@require_POST
def favourites_restore(request: HttpRequest) -> HttpResponse:
    """Undo a removal: the favourites back with their notes, dates and boards."""
    kept = request.session.get(_UNDO_SESSION_KEY, {})
    removed = kept.pop(request.POST.get("undo", ""), None)
    if removed is None:
        messages.error(request, "There is nothing to undo: it was undone already, or too long ago.")
        return _back(request, reverse("gallery:favourites"))
    request.session[_UNDO_SESSION_KEY] = kept
    restored = services.favourites_restore(user=request.user, removed=removed)
    if restored == len(removed):
        messages.success(request, f"Restored {restored} frame{'s' if restored != 1 else ''}.")
    else:
        messages.warning(
            request, f"Restored {restored} of {len(removed)} frames; the others no longer exist."
        )
    return _back(request, reverse("gallery:favourites"))


@login_required
@require_POST
def favourites_bulk(request: HttpRequest) -> HttpResponse:
    """One action on the frames ticked in a gallery, a board or a video page: remove them
    from the favourites (with Undo), add them to a board, take them off a board, download them."""
    frames = list(_frames_for(request.user).filter(pk__in=ids_from(request.POST.getlist("frames"))))
    action = request.POST.get("action", "")
    default = reverse("gallery:favourites")
    if not frames:
        messages.error(request, "Select at least one frame first.")
        return _back(request, default)
    if action == "remove":
        removed = services.favourites_remove(user=request.user, frames=frames)
        n = len(removed)
        _undo_message(request, removed, f"Removed {n} frame{'s' if n != 1 else ''} from your favourites.")
    elif action == "board":
        return _to_board(request, frames, default)
    elif action == "unboard":
        board = _own_board(request, id_from(request.POST.get("from_board")) or 0)
        n = services.board_remove_frames(board=board, frames=frames)
        messages.success(request, f"Took {n} frame{'s' if n != 1 else ''} off “{board}”; they stay saved.")
    elif action == "download":
        favourites = Favourite.objects.for_export(request.user).filter(frame__in=frames)
        return _zip_response(favourites, request, "inspire-selection.zip")
    else:
        messages.error(request, "Choose what to do with the selected frames.")
    return _back(request, default)


# --- A board's public link (no sign-in) -----------------------------------------------------
@require_GET
def shared_board(request: HttpRequest, token: str) -> HttpResponse:
    """A shared board, read only: its frames, their videos' titles and moments; the notes only
    if the owner chose so; nothing about the owner. A revoked or guessed token: 404."""
    board = get_object_or_404(Board.objects.shared(token))
    page = queries.board_items(board, page=request.GET.get("page"), per_page=FRAMES_PAGE_SIZE)
    return render(request, "gallery/board_shared.html", {"board": board, "page": page, "token": token})


@require_GET
def shared_frame_file(request: HttpRequest, token: str, pk: int, variant: str) -> HttpResponse:
    """A frame's image or thumbnail for a shared board's visitors: only frames of that board."""
    if variant not in {"image", "thumb"}:
        raise Http404
    board = get_object_or_404(Board.objects.shared(token))
    frame = get_object_or_404(Frame.objects.in_board(board.pk).only("image", "thumbnail"), pk=pk)
    response = _serve_file(request, (frame.thumbnail if variant == "thumb" else frame.image).name)
    # Asked again each time, not kept for a year: once the link is revoked, no browser shows it.
    response["Cache-Control"] = "private, no-cache"
    return response


# --- Colour ---------------------------------------------------------------------------------
@login_required
@require_GET
def colour_frames(request: HttpRequest) -> HttpResponse:
    """ "Frames with this colour": the frames (or favourites) with a palette colour close to the
    one asked for, the closest first. No colour yet: the picker alone."""
    form = ColourSearchForm(request.GET or None)
    matches, searched = [], None
    if form.is_bound and form.is_valid():
        searched = form.cleaned_data["colour"]
        favourites_only = form.cleaned_data["scope"] == "favourites"
        matches = queries.colour_search(request.user, hex_colour=searched, favourites=favourites_only)
    return render(
        request,
        "gallery/colour_list.html",
        {"form": form, "matches": matches, "searched": searched, "radius": colour.SEARCH_RADIUS},
        status=400 if form.errors else 200,
    )
