"""A Job is one thing a user (or the scheduler) asked for, with its progress and outcome.

Status lives here, never in django-q2's tables: those only record finished tasks.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from gallery.models import Playlist, Video


def _upload_path(instance: Job, filename: str) -> str:
    # Never the user's file name on disk: it is kept in `upload_name` for display only.
    return f"uploads/{uuid.uuid4().hex}"


class JobQuerySet(models.QuerySet):
    def for_user(self, user) -> JobQuerySet:
        return self.filter(user=user)

    def active(self) -> JobQuerySet:
        return self.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING, Job.Status.WAITING])

    def in_flight(self) -> JobQuerySet:
        """Jobs given to the cluster and not settled: queued there, or running a task.

        A playlist job whose videos have their own jobs runs no task any more (it only counts
        them), and a job waiting for another one's download holds no worker.
        """
        return self.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING], held=False).exclude(
            children__isnull=False
        )

    def recent_for(self, user) -> JobQuerySet:
        return self.for_user(user).filter(parent__isnull=True).select_related("video", "playlist")


class Job(models.Model):
    class Kind(models.TextChoices):
        VIDEO = "video", "Video"
        PLAYLIST = "playlist", "Playlist"
        UPLOAD = "upload", "Upload"
        FRAMES = "frames", "More frames"
        REFRESH = "refresh", "Playlist refresh"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting for the same video"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    source_url = models.URLField(max_length=2000, blank=True)
    upload = models.FileField(upload_to=_upload_path, blank=True, max_length=255)
    upload_name = models.CharField(max_length=255, blank=True, help_text="The file name the user gave.")
    frames_requested = models.PositiveSmallIntegerField(default=12)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    message = models.CharField(max_length=1000, blank=True, help_text="Where it stands, in plain words.")
    attempts = models.PositiveSmallIntegerField(default=0)
    # Which worker host took the job last ("<INSPIRE_WORKER_NAME>/<pid>"): with workers on
    # several hosts, where to look for its log, and after a killed worker, who took it over.
    worker = models.CharField(max_length=200, blank=True)
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    playlist = models.ForeignKey(
        Playlist, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    # True while this job is the one downloading its video: the partial unique constraint
    # below makes a second job for the same video wait instead of downloading it again.
    holds_video = models.BooleanField(default=False)
    # Queued but not handed to the cluster yet: its user already has INSPIRE_USER_RUNNING_JOBS
    # jobs there. It is handed over when one of those ends (or by the reaper's catch-up).
    held = models.BooleanField(default=False)
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the latest attempt started: the reaper measures Q_TIMEOUT from it.
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="job_progress_0_1"
            ),
            models.UniqueConstraint(
                fields=["video"], condition=Q(holds_video=True), name="job_one_download_per_video"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="job_status_created")]

    def __str__(self) -> str:
        target = self.upload_name or self.source_url or (str(self.video) if self.video_id else "")
        return f"{self.get_kind_display()} #{self.pk}: {target} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("jobs:detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}
