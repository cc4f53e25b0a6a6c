"""Following work: the job list, a job's page, its JSON status, and retrying a failed job."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from gallery.models import Video
from jobs.models import Job
from tests import factories


def _playlist_job(user, children: int = 3) -> Job:
    playlist = factories.PlaylistFactory(owner=user, title="Island tours")
    parent = factories.JobFactory(
        user=user,
        kind=Job.Kind.PLAYLIST,
        playlist=playlist,
        status=Job.Status.RUNNING,
        progress=0.4,
        message=f"1 of {children} videos processed…",
        result={"videos": children},
    )
    for i in range(children):
        video = factories.VideoFactory(title=f"Tour {i}")
        status = [Job.Status.DONE, Job.Status.FAILED, Job.Status.RUNNING][i % 3]
        factories.JobFactory(
            user=user,
            parent=parent,
            video=video,
            status=status,
            message="This video is private." if status == Job.Status.FAILED else "Downloading the video… 40%",
        )
    return parent


# --- Job list -------------------------------------------------------------------------------
def test_it_lists_the_owners_jobs(owner, other, owner_client) -> None:
    mine = factories.JobFactory(
        user=owner, source_url="https://videos.example.com/mine.mp4", message="Waiting…"
    )
    theirs = factories.JobFactory(user=other, source_url="https://videos.example.com/theirs.mp4")
    response = owner_client.get(reverse("jobs:list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert mine.get_absolute_url() in html
    assert "mine.mp4" in html
    assert theirs.get_absolute_url() not in html


def test_it_sends_anonymous_visitors_from_the_job_list_to_log_in(anon_client) -> None:
    response = anon_client.get(reverse("jobs:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("rows", [5, 15])
def test_it_builds_the_job_list_in_a_fixed_number_of_queries(
    owner, owner_client, django_assert_num_queries, rows
) -> None:
    for _ in range(rows):
        factories.JobFactory(user=owner, video=factories.VideoFactory())
    # the user (ModelBackend), count, jobs with their video and playlist
    with django_assert_num_queries(3):
        response = owner_client.get(reverse("jobs:list"))
    assert response.content.decode().count('class="card job-row"') == rows


# --- Job page -------------------------------------------------------------------------------
def test_it_shows_a_running_job_with_a_live_progress_bar(owner, owner_client) -> None:
    job = factories.JobFactory(
        user=owner, status=Job.Status.RUNNING, progress=0.42, message="Downloading the video… 40%"
    )
    response = owner_client.get(job.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert '<progress class="progress" id="job-progress" aria-label="Progress" max="100" value="42">' in html
    assert "Downloading the video… 40%" in html
    assert f'data-status-url="{reverse("jobs:status", args=[job.pk])}"' in html
    assert 'data-finished="false"' in html
    assert "/static/js/job.js" in html
    assert 'id="job-retry" hidden' in html


def test_it_links_a_finished_job_to_its_result(owner, owner_client) -> None:
    video = factories.VideoFactory(title="Harbour")
    job = factories.JobFactory(
        user=owner, video=video, status=Job.Status.DONE, progress=1.0, message="Ready: 6 frames"
    )
    html = owner_client.get(job.get_absolute_url()).content.decode()
    assert f'id="job-result-link" href="{video.get_absolute_url()}"' in html
    assert f"{reverse('gallery:inspire')}?video={video.pk}" in html
    assert 'data-finished="true"' in html


def test_it_explains_a_failure_and_offers_a_retry(owner, owner_client) -> None:
    job = factories.JobFactory(user=owner, status=Job.Status.FAILED, message="This video is private.")
    html = owner_client.get(job.get_absolute_url()).content.decode()
    assert "This video is private." in html
    assert f'action="{reverse("jobs:retry", args=[job.pk])}" id="job-retry">' in html
    assert "Try again" in html


def test_it_counts_the_videos_of_a_playlist_job(owner, owner_client) -> None:
    job = _playlist_job(owner, children=3)
    html = owner_client.get(job.get_absolute_url()).content.decode()
    assert "1 of 3 videos ready, 1 failed." in html
    assert "Tour 0" in html and "Tour 2" in html
    assert "This video is private." in html


def test_it_hides_another_users_job(owner, other_client) -> None:
    job = factories.JobFactory(user=owner)
    assert other_client.get(job.get_absolute_url()).status_code == 404
    assert other_client.get(reverse("jobs:status", args=[job.pk])).status_code == 404


def test_it_sends_anonymous_visitors_from_a_job_to_log_in(owner, anon_client) -> None:
    job = factories.JobFactory(user=owner)
    for url in (job.get_absolute_url(), reverse("jobs:status", args=[job.pk])):
        response = anon_client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("rows", [5, 15])
def test_it_builds_a_playlist_job_page_in_a_fixed_number_of_queries(
    owner, owner_client, django_assert_num_queries, rows
) -> None:
    job = _playlist_job(owner, children=rows)
    # the user (ModelBackend), job with video and playlist, children with their videos
    with django_assert_num_queries(3):
        owner_client.get(job.get_absolute_url())
    with django_assert_num_queries(3):
        owner_client.get(reverse("jobs:status", args=[job.pk]))


# --- JSON status ----------------------------------------------------------------------------
def test_it_reports_where_a_job_stands_as_json(owner, owner_client) -> None:
    job = factories.JobFactory(
        user=owner, status=Job.Status.RUNNING, progress=0.256, message="Finding good frames…"
    )
    response = owner_client.get(reverse("jobs:status", args=[job.pk]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    data = response.json()
    assert data["status"] == "running"
    assert data["status_label"] == "Running"
    assert data["progress"] == 0.256
    assert data["percent"] == 26
    assert data["message"] == "Finding good frames…"
    assert data["finished"] is False
    assert data["result_url"] == ""


def test_it_reports_each_video_of_a_playlist_job(owner, owner_client) -> None:
    job = _playlist_job(owner, children=3)
    data = owner_client.get(reverse("jobs:status", args=[job.pk])).json()
    assert data["counts"] == {"total": 3, "done": 1, "failed": 1, "active": 1}
    assert [c["status"] for c in data["children"]] == ["done", "failed", "running"]
    assert data["children"][1]["message"] == "This video is private."
    assert data["children"][0]["url"] == Video.objects.get(title="Tour 0").get_absolute_url()


def test_it_links_a_done_playlist_job_to_the_playlist(owner, owner_client) -> None:
    job = _playlist_job(owner, children=1)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.DONE, progress=1.0)
    data = owner_client.get(reverse("jobs:status", args=[job.pk])).json()
    assert data["finished"] is True
    assert data["result_url"] == job.playlist.get_absolute_url()
    assert data["inspire_url"] == f"{reverse('gallery:inspire')}?playlist={job.playlist_id}"


def test_it_only_answers_get_on_the_status(owner, owner_client) -> None:
    job = factories.JobFactory(user=owner)
    assert owner_client.post(reverse("jobs:status", args=[job.pk])).status_code == 405


# --- Retry ----------------------------------------------------------------------------------
def test_it_retries_a_failed_job(owner, owner_client, django_capture_on_commit_callbacks) -> None:
    job = factories.JobFactory(
        user=owner, status=Job.Status.FAILED, message="The site took too long", attempts=1
    )
    with django_capture_on_commit_callbacks() as queued:
        response = owner_client.post(reverse("jobs:retry", args=[job.pk]))
    assert response["Location"] == job.get_absolute_url()
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Job.Status.QUEUED, 0)
    assert len(queued) == 1


def test_it_does_not_retry_a_job_that_did_not_fail(
    owner, owner_client, django_capture_on_commit_callbacks
) -> None:
    job = factories.JobFactory(user=owner, status=Job.Status.DONE, progress=1.0)
    with django_capture_on_commit_callbacks() as queued:
        response = owner_client.post(reverse("jobs:retry", args=[job.pk]), follow=True)
    assert "Only a failed job can be retried." in response.content.decode()
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    assert queued == []


def test_it_does_not_let_another_user_retry(owner, other_client) -> None:
    job = factories.JobFactory(user=owner, status=Job.Status.FAILED)
    assert other_client.post(reverse("jobs:retry", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED


def test_it_retries_only_on_post_with_a_csrf_token(owner, owner_client) -> None:
    job = factories.JobFactory(user=owner, status=Job.Status.FAILED)
    assert owner_client.get(reverse("jobs:retry", args=[job.pk])).status_code == 405
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(reverse("jobs:retry", args=[job.pk])).status_code == 403
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED


def test_it_sends_anonymous_retries_to_log_in(owner, anon_client) -> None:
    job = factories.JobFactory(user=owner, status=Job.Status.FAILED)
    response = anon_client.post(reverse("jobs:retry", args=[job.pk]))
    assert response["Location"].startswith(reverse("login"))
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
