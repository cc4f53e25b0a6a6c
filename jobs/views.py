"""Submitting work and following it: thin views over jobs.services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from . import services
from gallery.models import Video

from .forms import AddForm, FramesForm
from .models import Job


@login_required
def add(request: HttpRequest) -> HttpResponse:
    form = AddForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            if form.cleaned_data["upload"]:
                job = services.job_start_upload(
                    user=request.user, upload=form.cleaned_data["upload"],
                    frames_requested=form.cleaned_data["frames"],
                )
                return redirect(job)
            started = services.job_start(
                user=request.user, url=form.cleaned_data["url"], frames_requested=form.cleaned_data["frames"]
            )
        except ValidationError as exc:
            form.add_error("upload" if form.cleaned_data["upload"] else "url", exc)
        else:
            return redirect(started.job or started.video)
    return render(request, "jobs/add.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job.objects.for_user(request.user).select_related("video", "playlist"), pk=pk)
    return render(request, "jobs/job_detail.html", {"job": job, "status": job_status_data(job)})


@login_required
@require_GET
def job_status(request: HttpRequest, pk: int) -> JsonResponse:
    job = get_object_or_404(Job.objects.for_user(request.user).select_related("video", "playlist"), pk=pk)
    return JsonResponse(job_status_data(job))


@login_required
@require_POST
def job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job.objects.for_user(request.user), pk=pk)
    try:
        services.job_retry(job=job)
    except ValidationError:
        pass  # already running or done: the job page shows where it stands
    return redirect(job)


@login_required
@require_POST
def more_frames(request: HttpRequest, video_pk: int) -> HttpResponse:
    video = get_object_or_404(Video.objects.visible_to(request.user), pk=video_pk)
    form = FramesForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["frames"]))
        return redirect(video)
    job = services.job_start_frames(user=request.user, video=video, frames_requested=form.cleaned_data["frames"])
    return redirect(job)


def job_status_data(job: Job) -> dict:
    result_url = ""
    if job.status == Job.Status.DONE:
        target = job.playlist if job.kind in (Job.Kind.PLAYLIST, Job.Kind.REFRESH) else job.video
        result_url = target.get_absolute_url() if target is not None else ""
    children = job.result.get("failed", []) if job.kind in (Job.Kind.PLAYLIST, Job.Kind.REFRESH) else []
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": job.get_status_display(),
        "progress": round(job.progress, 3),
        "message": job.message,
        "finished": job.is_finished,
        "result_url": result_url,
        "ok": job.result.get("ok"),
        "videos": job.result.get("videos"),
        "failed": children,
    }
