"""Ten users submit the same link at the same moment: one download, ten finished jobs."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from gallery.models import LibraryItem, Video
from jobs.models import Job
from tests.cluster import run_cluster, wait_for
from tests.reliability.conftest import users
from tests.videos import make_video

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("allow_private")]


def test_it_downloads_a_link_ten_users_submit_at_once_only_once(transactional_db, media_server) -> None:
    make_video(media_server.root / "shared.mp4", seconds=4)
    url = media_server.url("shared.mp4")
    people = users(10)
    clients = []
    for person in people:
        client = Client()
        client.force_login(person)
        clients.append(client)
    start, answers = threading.Barrier(len(clients)), []

    def submit(client: Client) -> None:
        try:
            start.wait(timeout=10)
            answers.append(client.post(reverse("jobs:add"), {"url": url, "frames": 4}).status_code)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == [302] * 10
    assert Job.objects.count() == 10
    with run_cluster({"Q_WORKERS": "2"}) as cluster:
        wait_for(lambda: not Job.objects.active().exists(), timeout=120, what="the ten jobs", cluster=cluster)
    jobs = list(Job.objects.all())
    assert [j.status for j in jobs] == [Job.Status.DONE] * 10, [j.message for j in jobs]
    assert all(j.message.startswith("Ready: ") for j in jobs)
    video = Video.objects.get()
    assert video.status == Video.Status.READY and 1 <= video.frames.count() <= 4
    assert {j.video_id for j in jobs} == {video.pk}
    # Only the job that held the video downloaded it; the others waited for it, or found it ready.
    assert sum("frames_before" in j.result for j in jobs) == 1
    assert LibraryItem.objects.filter(video=video).count() == 10
