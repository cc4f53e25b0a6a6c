"""A fair share of the workers: one running job per user (the rest held back), a per-hour limit
on submissions, and the reaper that ends jobs whose task is gone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from gallery.models import Video
from jobs import maintenance, pipeline, services
from jobs.models import Job
from tests import factories

pytestmark = pytest.mark.usefixtures("allow_private")
URL = "http://127.0.0.1:9/{}.mp4"


def test_it_holds_a_users_second_job_until_the_first_ends(owner, other, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        first = services.job_start(user=owner, url=URL.format("a")).job
        second = services.job_start(user=owner, url=URL.format("b")).job
        others = services.job_start(user=other, url=URL.format("c")).job
    assert len(queued) == 2  # the owner's first, and the other user's
    assert [Job.objects.get(pk=j.pk).held for j in (first, second, others)] == [False, True, False]
    assert Job.objects.get(pk=second.pk).message == services.HELD_MESSAGE
    first.refresh_from_db()
    with django_capture_on_commit_callbacks() as released:
        pipeline._fail(first, "It went wrong.")
    assert len(released) == 1
    second.refresh_from_db()
    assert not second.held and second.status == Job.Status.QUEUED
    assert second.message == "Waiting for a worker…"


def test_it_holds_a_job_a_worker_starts_while_its_user_already_runs_one(owner):
    factories.JobFactory(user=owner, status=Job.Status.RUNNING, started_at=timezone.now())
    raced = factories.JobFactory(user=owner, status=Job.Status.QUEUED)
    pipeline.job_run(job_id=raced.pk)  # handed out together with `running`, as two requests can
    raced.refresh_from_db()
    assert (raced.status, raced.held, raced.attempts) == (Job.Status.QUEUED, True, 0)


def test_it_refuses_submissions_past_the_hourly_limit_with_a_clear_message(owner, owner_client, settings):
    settings.INSPIRE_USER_JOBS_PER_HOUR = 2
    for name in ("a", "b"):
        services.job_start(user=owner, url=URL.format(name))
    with pytest.raises(ValidationError) as refused:
        services.job_start(user=owner, url=URL.format("c"))
    message = refused.value.messages[0]
    assert message.startswith("You have added 2 videos in the last hour, which is the limit.")
    assert "try again in 60 minutes" in message
    response = owner_client.post(reverse("jobs:add"), {"url": URL.format("d"), "frames": 4})
    assert response.status_code == 400
    assert "which is the limit" in response.content.decode()
    with pytest.raises(CommandError, match="which is the limit"):
        call_command("add_source", URL.format("e"), "--user", owner.username)
    assert Job.objects.count() == 2
    # An hour later the user may add again; staff are never limited.
    Job.objects.update(created_at=timezone.now() - timedelta(minutes=61))
    services.job_start(user=owner, url=URL.format("f"))
    staff = factories.UserFactory(is_staff=True)
    for name in ("g", "h", "i"):
        services.job_start(user=staff, url=URL.format(name))


def test_it_says_the_limit_when_more_frames_are_asked_past_it(owner, owner_client, settings):
    settings.INSPIRE_USER_JOBS_PER_HOUR = 1
    video = factories.video_in_library(owner, n_frames=2)
    services.job_start(user=owner, url=URL.format("a"))
    response = owner_client.post(reverse("jobs:more_frames", args=[video.pk]), {"frames": 4}, follow=True)
    assert "which is the limit" in response.content.decode()
    assert Job.objects.count() == 1


def _stale(user, video=None, **kwargs) -> Job:
    return factories.JobFactory(
        user=user,
        status=Job.Status.RUNNING,
        video=video,
        holds_video=video is not None,
        attempts=1,
        started_at=timezone.now() - timedelta(hours=2),
        **kwargs,
    )


def test_it_reaps_a_job_past_its_timeout_and_restarts_the_jobs_waiting_for_its_video(
    owner, other, settings, django_capture_on_commit_callbacks
):
    settings.Q_TIMEOUT = 1800
    video = factories.VideoFactory(status=Video.Status.PROCESSING)
    stuck = _stale(owner, video)
    waiting = factories.JobFactory(user=other, video=video, status=Job.Status.WAITING)
    fresh = factories.JobFactory(status=Job.Status.RUNNING, started_at=timezone.now())  # a third user
    with django_capture_on_commit_callbacks() as queued:
        assert maintenance.jobs_reap() == 1
    stuck.refresh_from_db()
    assert stuck.status == Job.Status.FAILED
    assert stuck.message == "This took longer than 30 minutes and was stopped."
    assert not stuck.holds_video
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED
    waiting.refresh_from_db()
    assert waiting.status == Job.Status.QUEUED  # started again, not failed with it
    assert len(queued) == 1
    fresh.refresh_from_db()
    assert fresh.status == Job.Status.RUNNING
    with django_capture_on_commit_callbacks():
        services.job_retry(job=stuck)
    assert Job.objects.get(pk=stuck.pk).status == Job.Status.QUEUED


def test_it_leaves_a_job_to_the_broker_when_its_task_will_be_handed_out_again(owner):
    stuck = _stale(owner)
    payload = SignedPackage.dumps({"id": "x", "name": f"job-{stuck.pk}", "func": services.RUN_TASK})
    OrmQ.objects.create(key="inspire", payload=payload, lock=timezone.now() + timedelta(minutes=5))
    assert maintenance.jobs_reap() == 0
    assert Job.objects.get(pk=stuck.pk).status == Job.Status.RUNNING


def test_it_hands_over_held_jobs_whose_user_has_room_again(owner, django_capture_on_commit_callbacks):
    held = factories.JobFactory(user=owner, status=Job.Status.QUEUED, held=True)
    with django_capture_on_commit_callbacks() as queued:
        maintenance.jobs_reap()
    assert len(queued) == 1
    assert not Job.objects.get(pk=held.pk).held


def test_it_schedules_the_reaper_every_minute(db):
    spec = {s.name: s for s in maintenance.schedule_specs()}["inspire-reap"]
    assert (spec.func, spec.minutes) == ("jobs.tasks.reap", 1)
