from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html

from .models import Favourite, Frame, LibraryItem, Playlist, PlaylistEntry, Video


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
class PlaylistAdmin(admin.ModelAdmin):
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


class FrameInline(admin.TabularInline):
    model = Frame
    extra = 0
    fields = ["thumb", "timestamp_ms", "sharpness", "brightness", "is_hidden"]
    readonly_fields = ["thumb", "timestamp_ms", "sharpness", "brightness"]
    show_change_link = True

    @admin.display(description="Frame")
    def thumb(self, frame: Frame) -> str:
        return _thumb(frame)


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ["__str__", "provider", "status", "n_frames", "duration", "height", "created_at"]
    list_filter = ["status", "provider"]
    search_fields = ["title", "provider_id", "source_url"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [FrameInline]

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
