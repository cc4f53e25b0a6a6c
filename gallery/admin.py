from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import pluralize
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from . import services
from .models import Favourite, Frame, LibraryItem, Playlist, PlaylistEntry, Video

FRAME_GRID_PAGE = 120


def _thumb(frame: Frame, height: int = 60) -> str:
    if not frame.thumbnail:
        return "-"
    return format_html(
        # A height attribute, not a style one: the Content-Security-Policy allows no inline style.
        '<img src="{}" alt="Frame at {}" height="{}">',
        frame.get_thumbnail_url(),
        frame.timestamp_label,
        height,
    )


class FrameGridMixin:
    """A video's or a playlist's change page shows its frames as a grid of thumbnails, where
    staff tick several and hide them from "Inspire me" (or show them again) in one go. The grid
    is its own form, posted to its own admin URL: the change form around it stays as it was."""

    change_form_template = "admin/gallery/frame_grid_change_form.html"

    def grid_frames(self, obj) -> QuerySet[Frame]:
        raise NotImplementedError

    def get_urls(self):
        opts = self.model._meta
        view = self.admin_site.admin_view(require_POST(self.frames_visibility))
        grid = path("<path:object_id>/frames/", view, name=f"{opts.app_label}_{opts.model_name}_frames")
        return [grid, *super().get_urls()]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        obj = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if obj is not None:
            frames = self.grid_frames(obj).select_related("video")
            opts = self.model._meta
            extra_context["frame_grid"] = Paginator(frames, FRAME_GRID_PAGE).get_page(
                request.GET.get("frames")
            )
            extra_context["frame_grid_url"] = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_frames", args=[obj.pk]
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def frames_visibility(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        opts = self.model._meta
        back = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        page = request.POST.get("page", "")
        back += f"?frames={page}" if page.isdigit() else ""
        ids = [pk for pk in request.POST.getlist("frame") if pk.isdigit()]
        hide = request.POST.get("visibility") == "hide"
        if request.POST.get("visibility") not in {"hide", "show"} or not ids:
            self.message_user(request, "Tick the frames to hide or show first.", level=messages.WARNING)
            return HttpResponseRedirect(back)
        # Only this video's or playlist's frames, whatever ids were posted.
        n = services.frames_set_hidden(frames=self.grid_frames(obj).filter(pk__in=ids), hidden=hide)
        verb = "Hid" if hide else "Showing"
        again = "" if hide else " in “Inspire me” again"
        self.message_user(request, f"{verb} {n} frame{pluralize(n)}{again}.")
        return HttpResponseRedirect(back)


class PlaylistEntryInline(admin.TabularInline):
    model = PlaylistEntry
    extra = 0
    autocomplete_fields = ["video"]
    fields = ["position", "video", "video_status", "video_frames"]
    readonly_fields = ["video_status", "video_frames"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("video").annotate(n_frames=Count("video__frames"))

    @admin.display(description="Status")
    def video_status(self, entry: PlaylistEntry) -> str:
        return entry.video.get_status_display()

    @admin.display(description="Frames")
    def video_frames(self, entry: PlaylistEntry) -> int:
        return getattr(entry, "n_frames", 0)


@admin.register(Playlist)
class PlaylistAdmin(FrameGridMixin, admin.ModelAdmin):
    list_display = ["__str__", "is_curated", "owner", "n_videos", "last_refreshed_at", "created_at"]
    list_filter = ["is_curated", "provider"]
    list_editable = ["is_curated"]
    search_fields = ["title", "source_url", "provider_id"]
    raw_id_fields = ["owner"]
    inlines = [PlaylistEntryInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("owner").annotate(n_videos_=Count("entries"))

    @admin.display(description="Videos", ordering="n_videos_")
    def n_videos(self, playlist: Playlist) -> int:
        return playlist.n_videos_

    def grid_frames(self, obj: Playlist) -> QuerySet[Frame]:
        return Frame.objects.in_playlist_order(obj.pk)


@admin.register(Video)
class VideoAdmin(FrameGridMixin, admin.ModelAdmin):
    list_display = ["__str__", "provider", "status", "n_frames", "duration", "height", "created_at"]
    list_filter = ["status", "provider"]
    search_fields = ["title", "provider_id", "source_url"]
    readonly_fields = ["created_at", "updated_at"]

    def grid_frames(self, obj: Video) -> QuerySet[Frame]:
        return Frame.objects.filter(video=obj).order_by("timestamp_ms", "pk")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_frames_=Count("frames"))

    @admin.display(description="Frames", ordering="n_frames_")
    def n_frames(self, video: Video) -> int:
        return video.n_frames_


@admin.register(Frame)
class FrameAdmin(admin.ModelAdmin):
    list_display = ["thumb", "video", "timestamp_ms", "sharpness", "brightness", "contrast", "is_hidden"]
    list_filter = ["is_hidden", "video__provider"]
    list_editable = ["is_hidden"]
    search_fields = ["video__title", "video__provider_id"]
    raw_id_fields = ["video"]
    readonly_fields = ["thumb", "rand", "created_at"]
    list_select_related = ["video"]

    @admin.display(description="Frame")
    def thumb(self, frame: Frame) -> str:
        return _thumb(frame)


@admin.register(Favourite)
class FavouriteAdmin(admin.ModelAdmin):
    list_display = ["user", "frame", "note", "created_at"]
    search_fields = ["user__username", "note", "frame__video__title"]
    raw_id_fields = ["user", "frame"]
    list_select_related = ["user", "frame__video"]

    def save_model(self, request, obj: Favourite, form, change: bool) -> None:
        obj.video_id = obj.frame.video_id  # kept with the frame, as favourite_add does
        super().save_model(request, obj, form, change)


@admin.register(LibraryItem)
class LibraryItemAdmin(admin.ModelAdmin):
    list_display = ["user", "video", "playlist", "created_at"]
    list_filter = [("playlist", admin.EmptyFieldListFilter), ("video", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "video__title", "playlist__title"]
    raw_id_fields = ["user", "video", "playlist"]
    list_select_related = ["user", "video", "playlist"]


@admin.register(PlaylistEntry)
class PlaylistEntryAdmin(admin.ModelAdmin):
    list_display = ["playlist", "position", "video", "added_at"]
    list_filter = ["playlist__is_curated"]
    search_fields = ["playlist__title", "video__title"]
    raw_id_fields = ["playlist", "video"]
    list_select_related = ["playlist", "video"]
