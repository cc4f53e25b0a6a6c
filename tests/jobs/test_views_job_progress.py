"""The job page's JSON status followed through a real `manage.py qcluster` process.

The views run here; the work runs in the cluster subprocess on the same (committed) test
database, exactly as in production: nothing is run inline or in django-q2's sync mode.
"""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from gallery.models import Frame
from jobs.models import Job
from tests.cluster import run_cluster
from tests.videos import make_video

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("allow_private"),
]


def _follow(client, job_id: int, timeout: float = 90) -> list[dict]:
    """Poll the status endpoint like job.js does, until the job settles; every answer seen."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = client.get(reverse("jobs:status", args=[job_id])).json()
        seen.append(data)
        if data["finished"]:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout}s; last status {seen[-1]}")


def test_it_reports_a_job_run_by_the_cluster_from_queued_to_done(owner_client, media_server) -> None:
    make_video(media_server.root / "tour.mp4", seconds=8)
    with run_cluster() as cluster:
        response = owner_client.post(reverse("jobs:add"), {"url": media_server.url("tour.mp4"), "frames": 4})
        job = Job.objects.get()
        assert response["Location"] == job.get_absolute_url()
        seen = _follow(owner_client, job.pk)
    last = seen[-1]
    assert last["status"] == "done", f"{last}\n{cluster.output}"
    assert last["percent"] == 100
    assert last["result_url"] == Job.objects.get().video.get_absolute_url()
    percents = [s["percent"] for s in seen]
    assert percents == sorted(percents)  # progress only ever moves forward
    assert Frame.objects.filter(video__jobs=job).count() >= 2
    # The result page and its frames answer through the normal views.
    assert owner_client.get(last["result_url"]).status_code == 200


def test_it_shows_why_a_job_failed_in_the_cluster_and_retries_it(owner_client, media_server) -> None:
    with run_cluster() as cluster:
        owner_client.post(reverse("jobs:add"), {"url": media_server.url("missing.mp4"), "frames": 4})
        job = Job.objects.get()
        last = _follow(owner_client, job.pk)[-1]
        assert last["status"] == "failed", f"{last}\n{cluster.output}"
        assert "404" in last["message"] or "not found" in last["message"].lower()
        page = owner_client.get(job.get_absolute_url()).content.decode()
        assert last["message"] in page.replace("&#x27;", "'")
        assert 'id="job-retry">' in page  # the retry form is shown, not hidden
        # The file appears; a retry through the page now succeeds.
        make_video(media_server.root / "missing.mp4", seconds=6)
        owner_client.post(reverse("jobs:retry", args=[job.pk]))
        last = _follow(owner_client, job.pk)[-1]
        assert last["status"] == "done", f"{last}\n{cluster.output}"
