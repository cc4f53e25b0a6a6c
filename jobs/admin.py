"""The admin of jobs, and the curating actions that start work on the catalogue.

gallery never imports jobs, so the catalogue's admin classes live in gallery/admin.py and the
actions that enqueue work are added here, on subclasses registered in their place.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.utils.text import Truncator

from gallery import admin as gallery_admin
from gallery import services as gallery_services
from gallery.models import Frame, Playlist, Video

from . import services
from .forms import FramesForm
from .models import Job

# One small page for the actions that ask first; kept here rather than in templates/ because it
# belongs to these actions alone.
_CONFIRM_PAGE = """{% extends "admin/base_site.html" %}{% load admin_urls l10n %}
{% block breadcrumbs %}<div class="breadcrumbs"><a href="{% url 'admin:index' %}">Home</a>
&rsaquo; <a href="{% url opts|admin_urlname:'changelist' %}">{{ opts.verbose_name_plural|capfirst }}</a>
&rsaquo; {{ title }}</div>{% endblock %}
{% block content %}
<form method="post">{% csrf_token %}
  <p>{{ intro }}</p>
  <ul>{% for obj in queryset %}<li>{{ obj }}</li>{% endfor %}</ul>
  {% if form %}{{ form.as_p }}{% endif %}
  {% for obj in queryset %}<input type="hidden" name="{{ checkbox_name }}" value="{{ obj.pk|unlocalize }}">
  {% endfor %}<input type="hidden" name="action" value="{{ action }}">
  <input type="hidden" name="confirm" value="yes">
  <input type="submit" value="{{ submit }}">
  <a href="{% url opts|admin_urlname:'changelist' %}" class="button cancel-link">Cancel</a>
</form>
{% endblock %}"""


def _confirm_page(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    action: str,
    title: str,
    intro: str,
    submit: str,
    form: forms.Form | None = None,
) -> TemplateResponse:
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        "intro": intro,
        "submit": submit,
        "queryset": queryset,
        "form": form,
        "action": action,
        "checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, engines["django"].from_string(_CONFIRM_PAGE), context)


def _ids(jobs: list[Job]) -> str:
    return ", ".join(f"#{job.pk}" for job in jobs) or "none"


def _started(jobs: list[Job]) -> str:
    """'job #4', 'jobs #4, #5': the jobs an action started."""
    return f"job{pluralize(jobs)} {_ids(jobs)}"


# --- Playlists ------------------------------------------------------------------------------
class PlaylistAddForm(forms.ModelForm):
    """Staff add a playlist by its URL alone; the worker finds its identity, title and videos."""

    class Meta:
        model = Playlist
        fields = ["source_url", "title", "is_curated"]
        labels = {"source_url": "Playlist URL"}
        help_texts = {
            "source_url": "A YouTube playlist, or any page yt-dlp reads as a playlist. "
            "Its videos are imported in the background.",
            "title": "Optional: the playlist's own title is used otherwise.",
        }

    def clean_source_url(self) -> str:
        url = services.source_check(url=self.cleaned_data["source_url"])
        existing = Playlist.objects.filter(source_url=url).first()
        if existing is not None:
            raise ValidationError(
                f"This playlist is already in the catalogue as “{existing}”: open it there "
                "(and tick “curated” to show it to everyone)."
            )
        return url


class CuratedPlaylistAdmin(gallery_admin.PlaylistAdmin):
    actions = ["refresh_now", "pull_more_frames"]

    def get_form(self, request: HttpRequest, obj: Playlist | None = None, **kwargs):
        if obj is None:
            kwargs["form"] = PlaylistAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Playlist | None = None):
        if obj is None:
            return ["source_url", "title", "is_curated"]
        return super().get_fields(request, obj)

    def get_inlines(self, request: HttpRequest, obj: Playlist | None):
        # The entries exist only once the import has read the playlist.
        return [] if obj is None else super().get_inlines(request, obj)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        return {"is_curated": True, **super().get_changeform_initial_data(request)}

    def save_model(self, request: HttpRequest, obj: Playlist, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            job = services.playlist_import_start(playlist=obj, user=request.user)
            self.message_user(
                request,
                f"Importing the playlist in the background (job #{job.pk}); "
                "its videos appear here as they are processed.",
            )

    @admin.action(description="Refresh now (fetch new videos)")
    def refresh_now(self, request: HttpRequest, queryset: QuerySet[Playlist]) -> None:
        jobs = [services.job_start_refresh(playlist=playlist, user=request.user) for playlist in queryset]
        self.message_user(request, f"Refreshing {len(jobs)} playlist{pluralize(jobs)}: {_started(jobs)}.")

    @admin.action(description="Pull more frames for every video…")
    def pull_more_frames(self, request: HttpRequest, queryset: QuerySet[Playlist]) -> HttpResponse | None:
        form = FramesForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            jobs: list[Job] = []
            for playlist in queryset:
                jobs += services.playlist_frames_more_start(
                    playlist=playlist, user=request.user, frames_requested=form.cleaned_data["frames"]
                )
            videos = f"{len(jobs)} video{pluralize(jobs)}"
            self.message_user(request, f"Pulling more frames from {videos}: {_started(jobs)}.")
            return None
        return _confirm_page(
            self,
            request,
            queryset,
            action="pull_more_frames",
            title="Pull more frames",
            intro="How many more frames should every ready video of these playlists give?",
            submit="Pull frames",
            form=form,
        )


# --- Videos ---------------------------------------------------------------------------------
class CuratedVideoAdmin(gallery_admin.VideoAdmin):
    actions = ["reextract_frames", "delete_files"]

    @admin.action(description="Re-extract frames (replace the unsaved ones)")
    def reextract_frames(self, request: HttpRequest, queryset: QuerySet[Video]) -> None:
        jobs, refused = [], []
        for video in queryset:
            try:
                jobs.append(services.frames_reextract_start(video=video, user=request.user))
            except ValidationError as exc:
                refused.append(" ".join(exc.messages))
        if jobs:
            videos = f"{len(jobs)} video{pluralize(jobs)}"
            self.message_user(request, f"Re-extracting frames of {videos}: {_started(jobs)}.")
        for reason in refused:
            self.message_user(request, reason, level=messages.WARNING)

    @admin.action(description="Delete files (keeps frames someone saved)…")
    def delete_files(self, request: HttpRequest, queryset: QuerySet[Video]) -> HttpResponse | None:
        if "confirm" not in request.POST:
            return _confirm_page(
                self,
                request,
                queryset,
                action="delete_files",
                title="Delete files",
                intro="Delete the frames nobody saved of these videos, and each uploaded file no saved "
                "frame needs? Frames in someone's favourites stay, with their files.",
                submit="Yes, delete the files",
            )
        deleted = kept = uploads = 0
        for video in queryset:
            try:
                result = services.video_purge(video=video)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), level=messages.WARNING)
                continue
            deleted, kept = deleted + result.frames_deleted, kept + result.frames_kept
            uploads += result.upload_deleted
        self.message_user(
            request,
            f"Deleted {deleted} frame{pluralize(deleted)} and {uploads} uploaded file{pluralize(uploads)}; "
            f"kept {kept} frame{pluralize(kept)} that {pluralize(kept, 'is,are')} in someone's favourites.",
        )
        return None


# --- Frames ---------------------------------------------------------------------------------
# Hiding needs no jobs, but the frame admin lives where its siblings' actions do.
class CuratedFrameAdmin(gallery_admin.FrameAdmin):
    actions = ["hide", "unhide"]

    @admin.action(description="Hide from “Inspire me”")
    def hide(self, request: HttpRequest, queryset: QuerySet[Frame]) -> None:
        n = gallery_services.frames_set_hidden(frames=queryset, hidden=True)
        self.message_user(request, f"Hid {n} frame{pluralize(n)}.")

    @admin.action(description="Show in “Inspire me” again")
    def unhide(self, request: HttpRequest, queryset: QuerySet[Frame]) -> None:
        n = gallery_services.frames_set_hidden(frames=queryset, hidden=False)
        self.message_user(request, f"Showing {n} frame{pluralize(n)} again.")


admin.site.unregister([Playlist, Video, Frame])
admin.site.register(Playlist, CuratedPlaylistAdmin)
admin.site.register(Video, CuratedVideoAdmin)
admin.site.register(Frame, CuratedFrameAdmin)


# --- Jobs -----------------------------------------------------------------------------------
@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "pk", "kind", "status", "user", "target", "progress", "attempts", "worker", "short_message",
        "created_at",
    ]  # fmt: skip
    list_filter = ["status", "kind"]
    search_fields = ["source_url", "upload_name", "message", "user__username"]
    raw_id_fields = ["user", "video", "playlist", "parent"]
    readonly_fields = ["created_at", "started_at", "finished_at", "updated_at"]
    list_select_related = ["user"]
    actions = ["retry"]

    @admin.display(description="Source")
    def target(self, job: Job) -> str:
        return job.upload_name or job.source_url or str(job.video_id or "")

    @admin.display(description="Message")
    def short_message(self, job: Job) -> str:
        return Truncator(job.message).chars(80)

    @admin.action(description="Retry (failed jobs only)")
    def retry(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        failed = list(queryset.filter(status=Job.Status.FAILED))
        skipped = queryset.count() - len(failed)
        retried = []
        for job in failed:
            try:
                retried.append(services.job_retry(job=job))
            except ValidationError as exc:
                # E.g. an upload whose file is gone: the reason, not a server error.
                self.message_user(request, f"Job #{job.pk}: {' '.join(exc.messages)}", level=messages.WARNING)
        if retried or not failed:
            self.message_user(request, f"Retrying {len(retried)} job{pluralize(retried)}: {_ids(retried)}.")
        if skipped:
            message = f"Skipped {skipped} job{pluralize(skipped)} that had not failed."
            self.message_user(request, message, level=messages.WARNING)
