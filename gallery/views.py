"""Thin views: check who may see what, bind a form, call one service or QuerySet method.

Every object is fetched through a queryset already narrowed to what the signed-in user may see,
so another user's rows answer 404, never 403: nobody learns that an id exists.
"""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from . import colour, queries, services
from .forms import ColourSearchForm, FavouriteFilterForm, NoteForm, SignupForm, id_from
from .models import Favourite, Frame, FrameQuerySet, Playlist, Video

logger = logging.getLogger(__name__)

PAGE_SIZE = 24
FRAMES_PAGE_SIZE = 48


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("gallery:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        messages.success(request, f"Welcome, {user.get_username()}! Add a video to start your gallery.")
        return redirect("gallery:home")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


# --- Library --------------------------------------------------------------------------------
@login_required
def home(request: HttpRequest) -> HttpResponse:
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
    return _Scope(Frame.objects.visible_to(user), None, "", few=Frame.objects.visible_to_few(user))


def _int(value: str) -> int:
    pk = id_from(value)
    if pk is None:
        raise Http404("No such video or playlist.")
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
        "scope_kind": "video" if isinstance(scope.target, Video) else "playlist" if scope.target else "",
        "here": here,
        "partial_url": here + ("&" if query else "?") + "partial=1",
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
        return redirect(favourite)
    return render(request, "gallery/frame_detail.html", {"frame": frame})


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
    services.favourite_remove(user=request.user, frame=frame)
    if _wants_json(request):
        return JsonResponse({"saved": False})
    messages.success(request, "Removed from your favourites.")
    return _back(request, reverse("gallery:favourites"))


@login_required
@require_GET
def frame_file(request: HttpRequest, pk: int, variant: str) -> HttpResponse:
    if variant not in {"image", "thumb", "download"}:
        raise Http404
    # Staff see every frame: the admin lists all of them with their thumbnails.
    frames = Frame.objects.all() if request.user.is_staff else _frames_for(request.user)
    frame = get_object_or_404(frames.select_related("video"), pk=pk)
    field = frame.thumbnail if variant == "thumb" else frame.image
    download_name = None
    if variant == "download":
        ext = PurePosixPath(field.name).suffix or ".jpg"
        download_name = f"{_slug(frame.video.title or 'frame')}-{frame.timestamp_ms // 1000}s{ext}"
    return _serve_file(field.name, download_name=download_name)


@login_required
@require_GET
def video_file(request: HttpRequest, pk: int) -> HttpResponse:
    """An uploaded video, for the users who have it in their library (jump-to-moment for uploads)."""
    video = get_object_or_404(
        Video.objects.in_library_of(request.user).filter(provider=Video.UPLOAD_PROVIDER), pk=pk
    )
    return _serve_file(video.file.name, content_type=video.content_type or None)


def _slug(text: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in text.lower())
    return "-".join(part for part in cleaned.split("-") if part)[:60] or "frame"


def _serve_file(
    name: str, *, download_name: str | None = None, content_type: str | None = None
) -> HttpResponse:
    """Send a stored file after the caller checked permissions.

    Behind nginx (ACCEL_REDIRECT_PREFIX set) nginx sends the bytes from an internal location;
    otherwise Django streams them from the storage, local disk or a bucket alike.
    """
    gone = Http404("This file is no longer kept.")
    if not name:
        raise gone
    content_type = (
        content_type or mimetypes.guess_type(PurePosixPath(name).name)[0] or "application/octet-stream"
    )
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
        response = FileResponse(
            stream, content_type=content_type, as_attachment=bool(download_name), filename=download_name or ""
        )
    # Frame files never change once written (more frames get new names); private: per-user access.
    response["Cache-Control"] = "private, max-age=31536000, immutable"
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
        {"page": page, "form": form, "query": query.urlencode(), "filtered": any(filters.values())},
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
        {"favourite": favourite, "frame": favourite.frame, "form": form},
        status=400 if form.errors else 200,
    )


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
