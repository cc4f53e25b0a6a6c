"""Submitting work and following it: thin views over jobs.services."""

from __future__ import annotations

import errno
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from gallery import queries
from gallery import services as gallery_services
from gallery.models import Playlist, Video

from . import services
from .forms import AddForm, FramesForm
from .models import Job
from .units import ago_text

logger = logging.getLogger(__name__)

_PLAYLIST_KINDS = (Job.Kind.PLAYLIST, Job.Kind.REFRESH)


@login_required
def add(request: HttpRequest) -> HttpResponse:
    try:
        form = AddForm(request.POST or None, request.FILES or None)
    except OSError as exc:
        # Django streams a large upload to a temporary file while reading the request.
        if exc.errno != errno.ENOSPC:
            raise
        logger.error("Storage full while receiving an upload")
        for handler in request.upload_handlers:
            # The partial temporary file goes now, not whenever it is garbage-collected.
            partial = getattr(handler, "file", None)
            if partial is not None:
                partial.close()
        context = {"form": AddForm(), "error": gallery_services.STORAGE_FULL}
        return render(request, "jobs/add.html", context, status=507)
    if request.method == "POST" and form.is_valid():
        upload, frames = form.cleaned_data["upload"], form.cleaned_data["frames"]
        try:
            if upload:
                job = services.job_start_upload(user=request.user, upload=upload, frames_requested=frames)
                return redirect(job)
            started = services.job_start(
                user=request.user, url=form.cleaned_data["url"], frames_requested=frames
            )
        except ValidationError as exc:
            form.add_error("upload" if upload else "url", exc)
        else:
            if started.job is not None:
                return redirect(started.job)
            messages.info(
                request, f"“{started.video}” is already in the catalogue; it is now in your library."
            )
            return redirect(started.video)
    return render(request, "jobs/add.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(Job.objects.recent_for(request.user), 20).get_page(request.GET.get("page"))
    return render(request, "jobs/job_list.html", {"page": page})


JOB_FRAMES_SHOWN = 12


@login_required
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job.objects.for_user(request.user).select_related("video", "playlist"), pk=pk)
    frames = []
    if job.status == Job.Status.DONE:
        # What the job made, to look at straight away; the result's page has all of them.
        if job.kind in _PLAYLIST_KINDS and job.playlist_id:
            frames = queries.first_frames(playlist=job.playlist, limit=JOB_FRAMES_SHOWN)
        elif job.video_id:
            frames = queries.first_frames(video=job.video, limit=JOB_FRAMES_SHOWN)
    context = {"job": job, "status": job_status_data(job), "frames": frames}
    return render(request, "jobs/job_detail.html", context)


@login_required
@require_GET
def job_status(request: HttpRequest, pk: int) -> JsonResponse:
    job = get_object_or_404(Job.objects.for_user(request.user).select_related("video", "playlist"), pk=pk)
    response = JsonResponse(job_status_data(job))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job.objects.for_user(request.user), pk=pk)
    try:
        services.job_retry(job=job)
    except ValidationError as exc:
        # Already running or done: the job page shows where it stands.
        messages.info(request, " ".join(exc.messages))
    return redirect(job)


@login_required
@require_POST
def more_frames(request: HttpRequest, video_pk: int) -> HttpResponse:
    video = get_object_or_404(Video.objects.visible_to(request.user), pk=video_pk)
    frames = _frames_asked(request)
    if frames is None:
        return redirect(video)
    try:
        job = services.job_start_frames(user=request.user, video=video, frames_requested=frames)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(video)
    return redirect(job)


@login_required
@require_POST
def playlist_more_frames(request: HttpRequest, playlist_pk: int) -> HttpResponse:
    playlist = get_object_or_404(Playlist.objects.visible_to(request.user), pk=playlist_pk)
    frames = _frames_asked(request)
    if frames is None:
        return redirect(playlist)
    try:
        jobs = services.playlist_frames_more_start(
            playlist=playlist, user=request.user, frames_requested=frames
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(playlist)
    if not jobs:
        messages.info(request, "No video of this playlist is ready yet; frames come once they are.")
        return redirect(playlist)
    messages.success(
        request,
        f"Pulling {frames} more frames from each of {len(jobs)} video"
        f"{'s' if len(jobs) != 1 else ''} of “{playlist}”.",
    )
    return redirect("jobs:list")


def _frames_asked(request: HttpRequest) -> int | None:
    """How many frames a "Pull N more frames" form asks for; None once the user was told why not."""
    form = FramesForm(request.POST)
    if form.is_valid():
        return form.cleaned_data["frames"]
    messages.error(request, " ".join(form.errors["frames"]))
    return None


def _title(job: Job) -> str:
    # A link's video gets its title only once the worker has looked at it.
    return str(job.video or job.playlist or "") or job.upload_name or job.source_url


def job_status_data(job: Job) -> dict:
    """Where a job stands, for its page and for the polling script (the same keys for both)."""
    is_playlist = job.kind in _PLAYLIST_KINDS
    target = job.playlist if is_playlist else job.video
    result_url = target.get_absolute_url() if job.status == Job.Status.DONE and target is not None else ""
    inspire_url = ""
    if result_url:
        inspire_url = reverse("gallery:inspire") + f"?{'playlist' if is_playlist else 'video'}={target.pk}"
    children = []
    if is_playlist:
        children = [
            {
                "title": str(child.video or child.source_url),
                "status": child.status,
                "status_label": child.get_status_display(),
                "progress": round(child.progress, 3),
                "message": child.message,
                "url": child.video.get_absolute_url() if child.video_id else "",
            }
            for child in job.children.select_related("video").order_by("pk")
        ]
    counts = {
        "total": len(children),
        "done": sum(c["status"] == Job.Status.DONE for c in children),
        "failed": sum(c["status"] == Job.Status.FAILED for c in children),
    }
    counts["active"] = counts["total"] - counts["done"] - counts["failed"]
    return {
        "id": job.pk,
        "title": _title(job),
        "kind": job.kind,
        # A link becomes a playlist once the worker has looked at it.
        "kind_label": job.get_kind_display(),
        "started_ago": ago_text((timezone.now() - job.created_at).total_seconds()),
        "started_s": round((timezone.now() - job.created_at).total_seconds()),
        "status": job.status,
        "status_label": job.get_status_display(),
        "progress": round(job.progress, 3),
        "percent": round(job.progress * 100),
        "message": job.message,
        "finished": job.is_finished,
        "result_url": result_url,
        "inspire_url": inspire_url,
        "videos": job.result.get("videos"),
        "counts": counts,
        "children": children,
        "failed": job.result.get("failed", []) if is_playlist else [],
    }
