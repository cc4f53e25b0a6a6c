"""/healthz: 200 when the database answers and the cluster was seen lately, 503 otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ, Task
from django_q.tasks import async_task

from jobs.models import Job
from tests import factories

KEYS = {"db", "queue_depth", "oldest_queued_s", "cluster_seen_s", "storage", "media_free_mb", "temp_free_mb"}


def _heartbeat(monkeypatch) -> None:
    """What the cluster runs every minute, here through django-q2's sync mode."""
    monkeypatch.setattr(Conf, "SYNC", True)
    async_task("jobs.tasks.heartbeat")


def _finished_task(seconds_ago: float) -> Task:
    stopped = timezone.now() - timedelta(seconds=seconds_ago)
    return Task.objects.create(
        id=f"t{seconds_ago}",
        name="beat",
        func="jobs.tasks.heartbeat",
        started=stopped,
        stopped=stopped,
        success=True,
    )


def test_it_is_healthy_right_after_a_heartbeat(anon_client, monkeypatch) -> None:
    _heartbeat(monkeypatch)
    response = anon_client.get("/healthz")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == KEYS
    assert data["db"] == "ok"
    assert data["queue_depth"] == 0
    assert data["oldest_queued_s"] is None
    assert 0 <= data["cluster_seen_s"] < 5
    assert "no-cache" in response["Cache-Control"]


def test_it_reports_the_queue(anon_client, monkeypatch) -> None:
    _heartbeat(monkeypatch)
    now = timezone.now()
    OrmQ.objects.create(key="inspire", payload="a", lock=now - timedelta(seconds=90))
    OrmQ.objects.create(key="inspire", payload="b", lock=now - timedelta(seconds=10))
    OrmQ.objects.create(key="inspire", payload="c", lock=now + timedelta(hours=1))  # taken by a worker
    data = anon_client.get("/healthz").json()
    assert data["queue_depth"] == 3
    assert 90 <= data["oldest_queued_s"] < 95


def test_it_fails_when_the_heartbeat_is_stale(anon_client, settings) -> None:
    settings.INSPIRE_CLUSTER_STALE_S = 120
    _finished_task(seconds_ago=600)
    response = anon_client.get("/healthz")
    assert response.status_code == 503
    data = response.json()
    assert data["db"] == "ok"
    assert 600 <= data["cluster_seen_s"] < 605


def test_it_fails_when_the_cluster_was_never_seen(anon_client) -> None:
    response = anon_client.get("/healthz")
    assert response.status_code == 503
    data = response.json()
    assert {k: data[k] for k in ("db", "queue_depth", "oldest_queued_s", "cluster_seen_s", "storage")} == {
        "db": "ok",
        "queue_depth": 0,
        "oldest_queued_s": None,
        "cluster_seen_s": None,
        "storage": "ok",
    }


def test_it_counts_progress_of_a_running_job_as_a_sign_of_life(anon_client, owner, settings) -> None:
    """All workers busy on long downloads: the heartbeat waits in the queue, the jobs still move."""
    settings.INSPIRE_CLUSTER_STALE_S = 120
    _finished_task(seconds_ago=3600)
    factories.JobFactory(user=owner, status=Job.Status.RUNNING, progress=0.4)
    response = anon_client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["cluster_seen_s"] < 5


def test_it_fails_when_the_database_is_unreachable(anon_client, monkeypatch) -> None:
    _heartbeat(monkeypatch)

    def unreachable(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", unreachable)
        response = anon_client.get("/healthz")
    assert response.status_code == 503
    data = response.json()
    assert {k: data[k] for k in ("db", "queue_depth", "oldest_queued_s", "cluster_seen_s", "storage")} == {
        "db": "error",
        "queue_depth": None,
        "oldest_queued_s": None,
        "cluster_seen_s": None,
        "storage": "ok",  # measured without the database
    }
    assert data["temp_free_mb"] > 0


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_it_only_answers_get(anon_client, method) -> None:
    assert getattr(anon_client, method)("/healthz").status_code == 405


def test_it_needs_no_login_and_few_queries(anon_client, monkeypatch, django_assert_max_num_queries) -> None:
    _heartbeat(monkeypatch)
    with django_assert_max_num_queries(5):
        assert anon_client.get("/healthz").status_code == 200


class _Broker:
    """Stands in for a Redis broker (no Redis server in the tests): only its queue size."""

    def __init__(self, size: int | None) -> None:
        self.size = size

    def queue_size(self) -> int:
        if self.size is None:
            raise ConnectionError("Redis is down")
        return self.size


@pytest.mark.parametrize(("size", "depth"), [(4, 4), (None, None)])
def test_it_asks_another_broker_for_its_queue(anon_client, monkeypatch, settings, size, depth) -> None:
    _heartbeat(monkeypatch)
    settings.Q_CLUSTER = {**{k: v for k, v in settings.Q_CLUSTER.items() if k != "orm"}, "redis": "redis://x"}
    monkeypatch.setattr("jobs.maintenance.get_broker", lambda: _Broker(size))
    OrmQ.objects.create(key="inspire", payload="unused by redis", lock=timezone.now())
    data = anon_client.get("/healthz").json()
    assert (data["queue_depth"], data["oldest_queued_s"]) == (depth, None)
