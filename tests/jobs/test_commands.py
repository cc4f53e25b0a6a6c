"""manage.py add_source, extract_frames and random_frame, on real downloads."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from gallery.models import Frame, LibraryItem, Video
from jobs.models import Job
from tests import factories
from tests.httpserver import html_playlist
from tests.videos import make_video

pytestmark = pytest.mark.usefixtures("allow_private")


def test_it_adds_a_video_and_waits_with_a_progress_bar(owner, served_video, capsys) -> None:
    call_command("add_source", served_video, "--user", "owner", "--frames", "4", "--wait")
    out = capsys.readouterr().out
    assert "100%" in out
    assert "Done:" in out
    video = Video.objects.get()
    assert video.status == Video.Status.READY
    assert 3 <= video.frames.count() <= 4
    assert LibraryItem.objects.filter(user=owner, video=video).exists()
    job = Job.objects.get()
    assert job.status == Job.Status.DONE
    assert job.frames_requested == 4


def test_it_adds_a_playlist_and_waits_for_every_video(owner, media_server, capsys) -> None:
    for name in ("a.mp4", "b.mp4"):
        make_video(media_server.root / name, seconds=5)
    url = media_server.add_page(
        "/p.html", html_playlist("Two", [media_server.url("a.mp4"), media_server.url("b.mp4")])
    )
    call_command("add_source", url, "--user", "owner", "--frames", "2", "--wait")
    out = capsys.readouterr().out
    assert "2 of 2 videos ready." in out
    assert Video.objects.filter(status=Video.Status.READY).count() == 2


def test_it_queues_without_wait(owner, served_video, capsys) -> None:
    call_command("add_source", served_video, "--user", "owner")
    job = Job.objects.get()
    assert job.status == Job.Status.QUEUED
    assert f"Queued job {job.pk}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["https://example.com/v.mp4", "--user", "nobody"], "No user named"),
        (["not a link", "--user", "owner"], ""),
        (["https://example.com/v.mp4", "--user", "owner", "--frames", "0"], "Choose between"),
    ],
)
def test_it_rejects_bad_arguments(owner, args, message) -> None:
    with pytest.raises(CommandError) as info:
        call_command("add_source", *args)
    assert message in str(info.value)
    assert not Job.objects.exists()


def test_it_fails_with_the_job_message(owner, media_server) -> None:
    with pytest.raises(CommandError) as info:
        call_command("add_source", media_server.url("nothing-here.mp4"), "--user", "owner", "--wait")
    assert "404" in str(info.value)


def test_it_extracts_more_frames(owner, served_video, capsys) -> None:
    call_command("add_source", served_video, "--user", "owner", "--frames", "3", "--wait")
    video = Video.objects.get()
    before = video.frames.count()
    call_command("extract_frames", str(video.pk), "--frames", "3", "--wait")
    assert video.frames.count() > before
    with pytest.raises(CommandError, match="No video with id"):
        call_command("extract_frames", "999999")


def test_it_prints_a_random_frame(owner, other, capsys) -> None:
    frame = factories.FrameFactory(
        video__provider="youtube", video__provider_id="dQw4w9WgXcQ", timestamp_ms=61_000
    )
    LibraryItem.objects.create(user=owner, video=frame.video)
    call_command("random_frame", "--user", "owner")
    path, link = capsys.readouterr().out.strip().splitlines()
    assert path.endswith(frame.image.name)
    assert "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=61s" in link
    with pytest.raises(CommandError, match="No frames"):
        call_command("random_frame", "--user", "other")
    with pytest.raises(CommandError, match="No user named"):
        call_command("random_frame", "--user", "ghost")
    with pytest.raises(CommandError, match="No playlist"):
        call_command("random_frame", "--playlist", "12345")
    assert Frame.objects.count() == 1


def test_it_prints_a_random_frame_of_a_playlist(owner) -> None:
    entry = factories.PlaylistEntryFactory(playlist__is_curated=True)
    frame = factories.FrameFactory(video=entry.video)
    factories.FrameFactory()  # not in the playlist
    for _ in range(10):
        out = StringIO()
        call_command("random_frame", "--playlist", str(entry.playlist.pk), stdout=out)
        assert out.getvalue().splitlines()[0].endswith(frame.image.name)
