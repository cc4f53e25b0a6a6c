"""The operator's manage.py toolbox: inspire_status, refresh_playlists, prune, export_favourites."""

from __future__ import annotations

import csv
import io
import os
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ, Task
from django_q.tasks import async_task

from gallery.models import Frame, Playlist, Video
from jobs.models import Job
from tests import factories
from tests.httpserver import html_playlist
from tests.videos import make_video


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _heartbeat(monkeypatch) -> None:
    """What the cluster does every minute, run here through django-q2's sync mode."""
    monkeypatch.setattr(Conf, "SYNC", True)
    async_task("jobs.tasks.heartbeat")


def _queued_task(age_s: float) -> OrmQ:
    # What the ORM broker writes on enqueue: the lock is the enqueue time until a worker takes it.
    return OrmQ.objects.create(
        key=Conf.CLUSTER_NAME, payload="x", lock=timezone.now() - timedelta(seconds=age_s)
    )


# --- inspire_status -------------------------------------------------------------------------
def test_it_reports_a_healthy_site_with_exit_code_0(db, monkeypatch, owner) -> None:
    _heartbeat(monkeypatch)
    factories.FrameFactory.create_batch(2)
    factories.JobFactory(user=owner, status=Job.Status.FAILED)
    _queued_task(age_s=5)

    out = _run("inspire_status")

    assert "Queue       1 task(s): 1 waiting for a worker (oldest for 5 s)" in out
    assert "Cluster     last seen 0 s ago" in out
    assert "failed 1" in out
    assert "Videos      2 (" in out
    assert "Frames      2 (0 hidden)" in out
    assert "Media       " in out and "in 4 file(s)" in out
    assert "Schedule    inspire-heartbeat" in out


def test_it_exits_2_when_an_old_task_waits_and_the_cluster_is_gone(db) -> None:
    _queued_task(age_s=2 * 3600)
    with pytest.raises(CommandError, match="The queue looks stuck") as caught:
        _run("inspire_status")
    assert caught.value.returncode == 2


def test_it_exits_2_after_the_given_number_of_seconds(db, monkeypatch) -> None:
    _queued_task(age_s=90)
    Task.objects.create(
        id="t1",
        name="t1",
        func="jobs.tasks.run_job",
        started=timezone.now(),
        stopped=timezone.now() - timedelta(seconds=80),
        success=True,
    )
    with pytest.raises(CommandError) as caught:
        _run("inspire_status", "--stuck-after", "60")
    assert caught.value.returncode == 2


def test_it_calls_a_long_backlog_behind_busy_workers_not_stuck(db, owner) -> None:
    """Workers busy on long downloads still write progress: the queue is slow, not stuck."""
    _queued_task(age_s=2 * 3600)
    factories.JobFactory(user=owner, status=Job.Status.RUNNING, progress=0.3)  # updated just now
    out = _run("inspire_status")
    assert "(oldest for 2 h)" in out


def test_it_exits_3_when_the_cluster_has_never_been_seen(db) -> None:
    with pytest.raises(CommandError, match="has never been seen") as caught:
        _run("inspire_status")
    assert caught.value.returncode == 3


def test_it_exits_3_when_the_heartbeat_is_stale(db, settings) -> None:
    settings.INSPIRE_CLUSTER_STALE_S = 120
    stopped = timezone.now() - timedelta(minutes=10)
    Task.objects.create(
        id="b", name="b", func="jobs.tasks.heartbeat", started=stopped, stopped=stopped, success=True
    )
    with pytest.raises(CommandError, match="has not been seen for 10 min") as caught:
        _run("inspire_status")
    assert caught.value.returncode == 3


def test_it_refuses_a_negative_threshold(db) -> None:
    with pytest.raises(CommandError, match="0 or more"):
        _run("inspire_status", "--stuck-after", "-1")


# --- refresh_playlists ----------------------------------------------------------------------
def test_it_asks_which_playlists_to_refresh(db) -> None:
    with pytest.raises(CommandError, match="Say which playlists"):
        _run("refresh_playlists")


def test_it_refuses_an_unknown_playlist(db) -> None:
    known = factories.PlaylistFactory()
    with pytest.raises(CommandError, match="No playlist with id 424242"):
        _run("refresh_playlists", "--playlist", str(known.pk), "--playlist", "424242")
    assert not Job.objects.exists()


def test_it_refuses_a_bad_number_of_frames(db) -> None:
    playlist = factories.PlaylistFactory()
    with pytest.raises(CommandError, match="Choose between 1 and"):
        _run("refresh_playlists", "--playlist", str(playlist.pk), "--frames", "0")


def test_it_queues_a_refresh_of_every_curated_playlist(db, django_capture_on_commit_callbacks) -> None:
    curated = factories.PlaylistFactory.create_batch(2, is_curated=True)
    mine = factories.PlaylistFactory()
    with django_capture_on_commit_callbacks(execute=True):
        out = _run("refresh_playlists", "--curated", "--playlist", str(mine.pk))
    jobs = list(Job.objects.order_by("playlist_id"))
    assert [(j.kind, j.playlist) for j in jobs] == [(Job.Kind.REFRESH, p) for p in [*curated, mine]]
    assert sorted(row.args()[0] for row in OrmQ.objects.all()) == [j.pk for j in jobs]
    assert out.count("Queued refresh job") == 3


def test_it_refreshes_a_playlist_here_with_a_progress_bar(db, media_server, allow_private, settings) -> None:
    for name in ("a.mp4", "b.mp4"):
        make_video(media_server.root / name, seconds=6)
    url = media_server.add_page(
        "/list.html", html_playlist("Tours", [media_server.url("a.mp4"), media_server.url("b.mp4")])
    )
    playlist = Playlist.objects.create(source_url=url, is_curated=True)

    out = _run("refresh_playlists", "--playlist", str(playlist.pk), "--frames", "2", "--wait")

    assert "[1/1] Refreshing" in out
    assert "100%" in out and "[####" in out
    job = Job.objects.get(parent__isnull=True)
    assert job.status == Job.Status.DONE, job.message
    assert job.message in out
    playlist = Playlist.objects.get()
    assert playlist.title == "Tours"
    assert [v.status for v in playlist.videos.all()] == [Video.Status.READY] * 2
    assert Frame.objects.filter(video__playlist_entries__playlist=playlist).count() >= 2
    assert not OrmQ.objects.exists()  # run here, nothing left for the cluster


# --- prune ----------------------------------------------------------------------------------
def _old(name: str, hours: float = 2) -> str:
    moment = time.time() - hours * 3600
    os.utime(default_storage.path(name), (moment, moment))
    return name


@pytest.fixture
def media(owner, settings):
    """Referenced files of every kind, orphans, and leftovers in the temporary folder."""
    frame = factories.FrameFactory()
    upload_video = factories.VideoFactory(provider=Video.UPLOAD_PROVIDER)
    upload_video.file.name = default_storage.save("uploads/kept-by-video", ContentFile(b"video"))
    upload_video.save()
    queued = factories.JobFactory(user=owner, kind=Job.Kind.UPLOAD)
    queued.upload.name = default_storage.save("uploads/queued-upload", ContentFile(b"queued"))
    queued.save()
    failed = factories.JobFactory(user=owner, kind=Job.Kind.UPLOAD, status=Job.Status.FAILED)
    failed.upload.name = default_storage.save("uploads/failed-upload", ContentFile(b"failed"))
    failed.save()
    kept = [frame.image.name, frame.thumbnail.name, upload_video.file.name, queued.upload.name]
    orphans = [
        default_storage.save("frames/77/orphan.jpg", ContentFile(b"o" * 1000)),
        default_storage.save("thumbs/77/orphan.webp", ContentFile(b"o")),
        failed.upload.name,
    ]
    fresh = default_storage.save("frames/78/being-saved.jpg", ContentFile(b"new"))
    for name in [*kept, *orphans]:
        _old(name)
    temp = Path(settings.INSPIRE_TEMP_DIR) / f"job-{failed.pk}"
    temp.mkdir(parents=True)
    (temp / "video.mp4.part").write_bytes(b"partial")
    moment = time.time() - 7200
    os.utime(temp / "video.mp4.part", (moment, moment))
    os.utime(temp, (moment, moment))
    return {"kept": kept, "orphans": orphans, "fresh": fresh, "temp": temp}


def test_it_prunes_orphans_and_keeps_everything_referenced(media) -> None:
    out = _run("prune")
    for name in media["orphans"]:
        assert not default_storage.exists(name), name
        assert f"Removed {name}" in out
    for name in [*media["kept"], media["fresh"]]:
        assert default_storage.exists(name), name
    assert not media["temp"].exists()
    assert "Removed 3 file(s)" in out
    assert "and 1 temporary folder(s)" in out
    assert Frame.objects.count() == 1  # rows are never touched


def test_it_only_lists_on_a_dry_run(media) -> None:
    out = _run("prune", "--dry-run")
    for name in [*media["kept"], *media["orphans"], media["fresh"]]:
        assert default_storage.exists(name), name
    for name in media["orphans"]:
        assert f"Would remove {name}" in out
    assert media["temp"].exists()
    assert "Would remove 3 file(s)" in out


def test_it_takes_fresh_files_too_without_a_grace_period(media) -> None:
    _run("prune", "--grace", "0")
    assert not default_storage.exists(media["fresh"])
    assert all(default_storage.exists(name) for name in media["kept"])


def test_it_refuses_a_negative_grace(db) -> None:
    with pytest.raises(CommandError, match="0 or more"):
        _run("prune", "--grace", "-5")


# --- export_favourites ----------------------------------------------------------------------
def test_it_exports_a_users_favourites_as_a_zip(owner, other, tmp_path) -> None:
    youtube = factories.VideoFactory(
        provider="youtube",
        provider_id="abc123",
        title="Island/../tour",
        source_url="https://www.youtube.com/watch?v=abc123",
    )
    first = factories.FavouriteFactory(
        user=owner, frame=factories.FrameFactory(video=youtube, timestamp_ms=83_000), note="Love the bridge"
    )
    twin = factories.FavouriteFactory(
        user=owner, frame=factories.FrameFactory(video=youtube, timestamp_ms=83_500)
    )
    upload = factories.VideoFactory(provider=Video.UPLOAD_PROVIDER, title="My walk", source_url="")
    third = factories.FavouriteFactory(
        user=owner, frame=factories.FrameFactory(video=upload, timestamp_ms=5_000)
    )
    factories.FavouriteFactory(user=other)  # not theirs
    out = tmp_path / "favs.zip"

    printed = _run(
        "export_favourites", "--user", "owner", "--out", str(out), "--base-url", "https://inspire.example"
    )

    assert "Wrote 3 favourite(s)" in printed
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        rows = list(csv.DictReader(io.StringIO(archive.read("favourites.csv").decode())))
        images = {row["file"]: archive.read(row["file"]) for row in rows}
    assert len(names) == 4 and "favourites.csv" in names
    assert all(name.startswith("frames/") and ".." not in name for name in names if name != "favourites.csv")
    assert len({row["file"] for row in rows}) == 3  # same video, same second: still two files
    assert list(rows[0]) == ["title", "video_url", "timestamp", "timestamp_link", "note", "file"]
    assert [(r["title"], r["timestamp"], r["note"]) for r in rows] == [
        ("Island/../tour", "1:23", "Love the bridge"),
        ("Island/../tour", "1:23", ""),
        ("My walk", "0:05", ""),
    ]
    assert rows[0]["video_url"] == "https://www.youtube.com/watch?v=abc123"
    assert rows[0]["timestamp_link"] == "https://www.youtube.com/watch?v=abc123&t=83s"
    assert rows[2]["timestamp_link"].startswith("https://inspire.example/") and rows[2][
        "timestamp_link"
    ].endswith("#t=5")
    for favourite, row in zip([first, twin, third], rows, strict=True):
        with default_storage.open(favourite.frame.image.name) as fh:
            assert images[row["file"]] == fh.read()
    assert not list(tmp_path.glob("*.part"))


def test_it_exports_an_empty_zip_for_a_user_without_favourites(owner, tmp_path) -> None:
    out = tmp_path / "none.zip"
    _run("export_favourites", "--user", "owner", "--out", str(out))
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["favourites.csv"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody", "--out", "{tmp}/x.zip"], "No user named 'nobody'"),
        (["--user", "owner", "--out", "{tmp}/missing/x.zip"], "does not exist"),
        (["--user", "owner", "--out", "{tmp}"], "is a folder"),
        (["--user", "owner", "--out", "/proc/inspire-export.zip"], "Cannot write"),
    ],
)
def test_it_refuses_bad_arguments_with_a_clear_error(owner, tmp_path, args, message) -> None:
    with pytest.raises(CommandError, match=message):
        _run("export_favourites", *[a.format(tmp=tmp_path) for a in args])


def test_it_exits_non_zero_on_bad_arguments_from_the_shell(tmp_path) -> None:
    """Through manage.py itself: the message on stderr and a non-zero exit code."""
    import subprocess
    import sys

    env = {**os.environ, "DEBUG": "1", "SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    env.pop("DATABASE_URL", None)
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    subprocess.run([sys.executable, str(manage), "migrate", "-v0"], env=env, check=True)
    result = subprocess.run(
        [
            sys.executable,
            str(manage),
            "export_favourites",
            "--user",
            "nobody",
            "--out",
            str(tmp_path / "x.zip"),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "No user named 'nobody'" in result.stderr
    status = subprocess.run(
        [sys.executable, str(manage), "inspire_status"], env=env, capture_output=True, text=True
    )
    assert status.returncode == 3
    assert "has never been seen" in status.stderr
