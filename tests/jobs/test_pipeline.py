"""jobs.pipeline: jobs started through the services and run on real downloads and real decoding
(django-q2 sync mode)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from gallery.models import Frame, LibraryItem, Playlist, Video
from jobs import pipeline, services
from jobs.models import Job
from jobs.units import MB
from tests import factories, scenes
from tests.httpserver import html_page, html_playlist, rss_playlist
from tests.videos import make_audio_only, make_corrupt, make_empty, make_video

pytestmark = pytest.mark.usefixtures("allow_private")


def _start(owner, url: str, run_queue, frames: int = 6) -> Job:
    with run_queue():
        started = services.job_start(user=owner, url=url, frames_requested=frames)
    assert started.job is not None
    return Job.objects.get(pk=started.job.pk)


def test_it_turns_a_video_link_into_good_frames(owner, served_video, run_queue, settings) -> None:
    job = _start(owner, served_video, run_queue)
    assert job.status == Job.Status.DONE, job.message
    assert job.progress == 1.0
    assert job.attempts == 1
    video = job.video
    assert video.status == Video.Status.READY
    assert (video.width, video.height) == (320, 240)
    assert 11 <= video.duration <= 13
    frames = list(video.frames.order_by("timestamp_ms"))
    assert 4 <= len(frames) <= 6
    assert all(0 < f.timestamp_ms < 12_000 for f in frames)
    assert len({f.dhash for f in frames}) == len(frames)
    for frame in frames:
        assert default_storage.open(frame.image.name).read(3) == b"\xff\xd8\xff"
        assert default_storage.exists(frame.thumbnail.name)
        assert len(frame.palette) == 5
        assert frame.sharpness > 0
    assert LibraryItem.objects.filter(user=owner, video=video).exists()
    assert job.message.startswith("Ready: ")
    assert not any(Path(settings.INSPIRE_TEMP_DIR).glob("job-*"))


def test_it_links_a_second_request_to_the_first_result(
    owner, other, served_video, run_queue, media_server
) -> None:
    first = _start(owner, served_video, run_queue)
    downloads = [r for r in media_server.requests if r[1].endswith("tour.mp4") and r[0] == "GET"]
    started = services.job_start(user=other, url=served_video)
    assert started.job is None
    assert started.video == first.video
    assert LibraryItem.objects.filter(user=other, video=first.video).exists()
    again = [r for r in media_server.requests if r[1].endswith("tour.mp4") and r[0] == "GET"]
    assert again == downloads


def test_it_parks_a_second_job_behind_the_one_downloading(owner, other, served_video, run_queue) -> None:
    video = factories.VideoFactory(
        provider="generic", status=Video.Status.PROCESSING, source_url=served_video
    )
    holder = factories.JobFactory(
        user=owner, video=video, holds_video=True, status=Job.Status.RUNNING, source_url=served_video
    )
    waiter = factories.JobFactory(user=other, video=video, source_url=served_video)
    pipeline.job_run(job_id=waiter.pk)
    waiter.refresh_from_db()
    assert waiter.status == Job.Status.WAITING
    assert not video.frames.exists()
    # The holder finishing settles the waiter without a second download.
    Job.objects.filter(pk=holder.pk).update(holds_video=False)
    pipeline.job_run(job_id=holder.pk)
    holder.refresh_from_db()
    waiter.refresh_from_db()
    assert holder.status == Job.Status.DONE, holder.message
    assert waiter.status == Job.Status.DONE
    # The same frames; only the holder's message says how it read the video.
    assert holder.message.startswith(waiter.message)


def test_it_imports_an_html_playlist_video_by_video(owner, media_server, run_queue) -> None:
    for name in ("a.mp4", "b.mp4", "c.webm"):
        make_video(media_server.root / name, seconds=6, codec="vp9" if name.endswith("webm") else "h264")
    url = media_server.add_page(
        "/tours.html",
        html_playlist("Island tours", [media_server.url(n) for n in ("a.mp4", "b.mp4", "c.webm")]),
    )
    job = _start(owner, url, run_queue, frames=3)
    assert job.kind == Job.Kind.PLAYLIST
    assert job.status == Job.Status.DONE, job.message
    assert job.message == "3 of 3 videos ready."
    playlist = job.playlist
    assert playlist.title == "Island tours"
    assert [e.video.source_url.rsplit("/", 1)[-1] for e in playlist.entries.select_related("video")] == [
        "a.mp4",
        "b.mp4",
        "c.webm",
    ]
    # Each video by its own file's name, not "Island tours (1)", "(2)", "(3)".
    assert [e.video.title for e in playlist.entries.select_related("video")] == ["a", "b", "c"]
    assert job.children.count() == 3
    assert all(c.status == Job.Status.DONE for c in job.children.all())
    assert Frame.objects.filter(video__playlist_entries__playlist=playlist).count() >= 6
    assert LibraryItem.objects.filter(user=owner, playlist=playlist).exists()


def test_it_reports_failed_entries_without_failing_the_others(owner, media_server, run_queue) -> None:
    make_video(media_server.root / "good.mp4", seconds=6)
    make_audio_only(media_server.root / "sound.m4a")
    media_server.add_file("/song.mp4", media_server.root / "sound.m4a")
    feed = rss_playlist(
        "Mixed", [media_server.url("good.mp4"), media_server.url("song.mp4"), media_server.url("missing.mp4")]
    )
    url = media_server.add_page("/feed.rss", feed, "application/rss+xml")
    job = _start(owner, url, run_queue, frames=3)
    assert job.status == Job.Status.DONE, job.message
    assert job.message == "1 of 3 videos ready. 2 failed."
    assert job.result["ok"] == 1
    reasons = [f["reason"] for f in job.result["failed"]]
    assert len(reasons) == 2
    assert all(reason and "Traceback" not in reason for reason in reasons)


@pytest.mark.parametrize("names", [["gone.mp4"], ["gone.mp4", "lost.mp4"]])
def test_it_fails_a_playlist_none_of_whose_videos_work_and_says_why(
    owner, media_server, run_queue, names
) -> None:
    feed = rss_playlist("Gone", [media_server.url(n) for n in names])
    url = media_server.add_page("/gone.rss", feed, "application/rss+xml")
    job = _start(owner, url, run_queue, frames=3)
    assert job.status == Job.Status.FAILED, job.message
    first = job.result["failed"][0]["reason"]
    assert first
    if len(names) == 1:
        assert job.message == f"Its video could not be processed: {first}"
    else:
        assert job.message == f"None of the 2 videos could be processed: {first}"


@pytest.mark.parametrize("kind", ["rss", "html"])
def test_it_skips_playlist_entries_whose_link_is_not_a_web_link(owner, media_server, run_queue, kind) -> None:
    make_video(media_server.root / "good.mp4", seconds=6)
    links = [media_server.url("good.mp4"), "javascript:alert(document.cookie)"]
    if kind == "rss":
        url = media_server.add_page("/feed.rss", rss_playlist("Mixed", links), "application/rss+xml")
    else:
        url = media_server.add_page("/list.html", html_playlist("Mixed", links))
    job = _start(owner, url, run_queue, frames=3)
    assert job.kind == Job.Kind.PLAYLIST
    assert job.status == Job.Status.DONE, job.message
    assert job.message == "1 of 1 video ready. Skipped 1 entry whose link is not an http(s) web link."
    assert job.result["skipped"] == ["javascript:alert(document.cookie)"]
    assert list(Video.objects.values_list("source_url", flat=True)) == [media_server.url("good.mp4")]
    assert job.playlist.entries.count() == 1


def test_it_refreshes_a_playlist_with_only_the_new_videos(owner, media_server, run_queue) -> None:
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        make_video(media_server.root / name, seconds=6)
    urls = [media_server.url(n) for n in ("a.mp4", "b.mp4", "c.mp4")]
    media_server.add_page("/list.html", html_playlist("Tours", urls[:2]))
    first = _start(owner, media_server.url("list.html"), run_queue, frames=2)
    assert first.status == Job.Status.DONE, first.message
    media_server.add_page("/list.html", html_playlist("Tours", urls))
    with run_queue():
        refresh = services.job_start_refresh(playlist=first.playlist, user=owner, frames_requested=2)
    refresh.refresh_from_db()
    assert refresh.status == Job.Status.DONE, refresh.message
    assert refresh.result["added"] == 1
    assert refresh.children.count() == 1
    assert first.playlist.entries.count() == 3
    assert refresh.children.get().video.source_url == urls[2]
    assert Playlist.objects.count() == 1


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "404"),
        ("page", "no video"),
        ("html-as-video", "not a video we can read"),
        ("corrupt", "not a video we can read"),
        ("empty", "empty"),
        ("audio", "audio only"),
        # A link to a text file, from a server that answers byte ranges and from one that does
        # not (a whole download, which yt-dlp names video.unknown_video: it was taken for no
        # file at all, "The download failed; please try again later").
        ("script", "not a video"),
        ("script-whole", "not a video"),
        ("text", "not a video"),
        ("text-whole", "not a video"),
    ],
)
def test_it_fails_bad_sources_with_a_message_and_keeps_nothing(
    owner, media_server, run_queue, settings, setup, expected
) -> None:
    root = media_server.root
    if setup == "page":
        url = media_server.add_page("/about.html", html_page("About us"))
    elif setup == "html-as-video":
        url = media_server.add_page("/trap.mp4", html_page("Gotcha"), "video/mp4")
    elif setup == "corrupt":
        make_corrupt(root / "broken.mp4")
        url = media_server.url("broken.mp4")
    elif setup == "empty":
        make_empty(root / "empty.mp4")
        url = media_server.url("empty.mp4")
    elif setup == "audio":
        make_audio_only(root / "sound.m4a")
        url = media_server.add_file("/sound.mp4", root / "sound.m4a")
    elif setup.startswith(("script", "text")):
        name = "make.py" if setup.startswith("script") else "notes.txt"
        (root / name).write_text("import av\nprint('not a video')\n" * 50)
        media_server.ranges = not setup.endswith("-whole")
        url = media_server.url(name)
    else:
        url = media_server.url("missing.mp4")
    job = _start(owner, url, run_queue)
    assert job.status == Job.Status.FAILED
    assert job.message
    assert expected.lower() in job.message.lower()
    assert "Traceback" not in job.message and "ERROR:" not in job.message
    assert not Frame.objects.exists()
    assert not Video.objects.filter(status=Video.Status.READY).exists()
    assert not job.holds_video
    assert not any(Path(settings.INSPIRE_TEMP_DIR).glob("job-*/*"))


def test_it_reads_a_video_whose_link_and_headers_name_no_type(owner, media_server, run_queue) -> None:
    """A bare link sent whole as octet-stream: yt-dlp names the download video.unknown_video, and
    the frames judge it by its bytes (it was taken for no file at all)."""
    make_video(media_server.root / "clip.mp4", seconds=6)
    media_server.ranges = False
    url = media_server.add_file("/watch", media_server.root / "clip.mp4", "application/octet-stream")
    job = _start(owner, url, run_queue, frames=3)
    assert job.status == Job.Status.DONE, job.message
    assert job.video.frames.count() >= 2


def test_it_refuses_a_video_over_the_duration_limit(owner, served_video, run_queue, settings) -> None:
    settings.INSPIRE_MAX_DURATION_S = 5
    job = _start(owner, served_video, run_queue)
    assert job.status == Job.Status.FAILED
    assert "longer than" in job.message
    assert not Frame.objects.exists()


def test_it_refuses_a_video_over_the_size_limit(owner, media_server, run_queue, settings) -> None:
    big = make_video(media_server.root / "big.mp4", seconds=10, size=(1280, 720), fps=30, keyint_s=0.2)
    assert big.stat().st_size > 1024 * 1024
    settings.INSPIRE_MAX_FILESIZE_MB = 1
    job = _start(owner, media_server.url("big.mp4"), run_queue)
    assert job.status == Job.Status.FAILED
    assert "larger than" in job.message or "limit" in job.message
    assert not Frame.objects.exists()


def test_it_states_the_download_limit_in_the_megabytes_it_counts(
    owner, media_server, run_queue, settings
) -> None:
    # A megabyte is 1,000,000 bytes for the limit and for its label: 20 MB reads "20 MB".
    settings.INSPIRE_MAX_FILESIZE_MB = 20
    (media_server.root / "big.mp4").write_bytes(bytes(20 * MB + 1))
    job = _start(owner, media_server.url("big.mp4"), run_queue)
    assert job.status == Job.Status.FAILED
    assert job.message == "The video is larger than the 20 MB limit."
    assert media_server.bytes_served("big.mp4") < 20 * MB


def test_it_pulls_more_frames_distinct_from_the_first_ones(owner, served_video, run_queue) -> None:
    first = _start(owner, served_video, run_queue, frames=4)
    before = set(first.video.frames.values_list("timestamp_ms", flat=True))
    with run_queue():
        more = services.job_start_frames(user=owner, video=first.video, frames_requested=4)
    more.refresh_from_db()
    assert more.status == Job.Status.DONE, more.message
    after = set(first.video.frames.values_list("timestamp_ms", flat=True))
    assert before < after
    assert len(after) > len(before)
    hashes = list(first.video.frames.values_list("dhash", flat=True))
    assert len(set(hashes)) == len(hashes)


def test_it_runs_a_finished_job_again_without_adding_frames(owner, served_video, run_queue) -> None:
    job = _start(owner, served_video, run_queue)
    count = job.video.frames.count()
    pipeline.job_run(job_id=job.pk)  # a duplicate delivery of the same task
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)  # as if the worker died at the very end
    pipeline.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    assert job.video.frames.count() == count


def test_it_gives_up_after_the_attempt_limit(owner, served_video, settings) -> None:
    job = factories.JobFactory(
        user=owner,
        source_url=served_video,
        status=Job.Status.RUNNING,
        attempts=settings.INSPIRE_JOB_MAX_ATTEMPTS,
    )
    pipeline.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "gave up" in job.message
    assert not Frame.objects.exists()


def test_it_extracts_frames_from_an_upload(owner, tmp_path, run_queue) -> None:
    path = make_video(tmp_path / "holiday.mov", seconds=8)
    upload = SimpleUploadedFile("holiday.mov", path.read_bytes(), content_type="application/octet-stream")
    with run_queue():
        job = services.job_start_upload(user=owner, upload=upload, frames_requested=4)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.message
    video = job.video
    assert video.is_upload
    assert video.title == "holiday"
    assert video.content_type == "video/quicktime"  # from its content, not its name
    assert video.frames.count() >= 3
    assert default_storage.exists(video.file.name)
    assert LibraryItem.objects.filter(user=owner, video=video).exists()


def test_it_retries_a_failed_job(owner, media_server, run_queue) -> None:
    job = _start(owner, media_server.url("later.mp4"), run_queue)
    assert job.status == Job.Status.FAILED
    make_video(media_server.root / "later.mp4", seconds=6)
    with run_queue():
        services.job_retry(job=job)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.message
    assert job.video.frames.exists()


def test_it_says_why_and_pulls_only_new_scenes_from_a_video_of_photographs(
    owner, media_server, run_queue
) -> None:
    """The labelled photo video of tests/scenes.py, served and processed like any link: fewer
    scenes than asked is said on the job, and "pull more" never repeats a scene."""
    made = scenes.make(scenes.small(), media_server.root, ["h264"])["h264"]
    made.path.rename(media_server.root / "photos.mp4")
    timeline = made.timeline
    first = _start(owner, media_server.url("photos.mp4"), run_queue, frames=4)
    assert first.status == Job.Status.DONE, first.message
    video = first.video
    kept = list(video.frames.order_by("timestamp_ms"))
    assert len(kept) == 4
    assert all(frame.signature for frame in kept)
    first_scenes = {timeline.scene_at(timeline.frame_time(f.timestamp_ms)) for f in kept}
    assert None not in first_scenes and len(first_scenes) == 4

    # More than the video has left: the rest of its scenes, none again, and the reason said.
    with run_queue():
        more = services.job_start_frames(user=owner, video=video, frames_requested=12)
    more.refresh_from_db()
    assert more.status == Job.Status.DONE, more.message
    added = video.frames.exclude(pk__in=[f.pk for f in kept])
    new_scenes = [timeline.scene_at(timeline.frame_time(f.timestamp_ms)) for f in added]
    assert new_scenes, "pull more found nothing new"
    assert None not in new_scenes
    assert len(set(new_scenes)) == len(new_scenes)
    assert not set(new_scenes) & first_scenes
    assert f"so we kept {len(new_scenes)} of the 12 frames you asked for" in more.message, more.message
