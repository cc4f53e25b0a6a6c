"""Curating in the admin: playlists from a URL, refresh and frame actions, video files, hiding, retries."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.models import OrmQ

from gallery.models import Frame, Playlist, Video
from jobs.models import Job
from tests import factories
from tests.httpserver import html_playlist
from tests.videos import make_video

PLAYLISTS = "/admin/gallery/playlist/"
VIDEOS = "/admin/gallery/video/"
FRAMES = "/admin/gallery/frame/"
JOBS = "/admin/jobs/job/"


def _queued_job_ids() -> list[int]:
    """Job ids of the run_job tasks waiting in django-q2's ORM queue."""
    return sorted(row.args()[0] for row in OrmQ.objects.all() if row.func() == "jobs.tasks.run_job")


def _files_exist(frame: Frame) -> bool:
    return default_storage.exists(frame.image.name) and default_storage.exists(frame.thumbnail.name)


@pytest.fixture
def curated():
    """A curated playlist of two ready videos with three frames each."""
    playlist = factories.PlaylistFactory(is_curated=True)
    for position in range(2):
        video = factories.VideoFactory()
        factories.PlaylistEntryFactory(playlist=playlist, video=video, position=position)
        factories.FrameFactory.create_batch(3, video=video)
    return playlist


# --- Adding a playlist from a URL -----------------------------------------------------------
def test_it_adds_a_playlist_from_a_url_and_queues_its_import(
    staff, staff_client, allow_private, django_capture_on_commit_callbacks
) -> None:
    url = "http://127.0.0.1:9/tours.html"
    page = staff_client.get(PLAYLISTS + "add/")
    assert page.status_code == 200
    assert list(page.context["adminform"].form.fields) == ["source_url", "title", "is_curated"]
    assert page.context["adminform"].form.initial["is_curated"] is True

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(PLAYLISTS + "add/", {"source_url": url, "title": "", "is_curated": "on"})
    assert response.status_code == 302

    playlist = Playlist.objects.get()
    assert (playlist.source_url, playlist.is_curated, playlist.provider_id) == (url, True, "")
    job = Job.objects.get()
    assert (job.kind, job.playlist, job.user, job.source_url) == (Job.Kind.PLAYLIST, playlist, staff, url)
    assert job.status == Job.Status.QUEUED
    assert _queued_job_ids() == [job.pk]


def test_it_refuses_a_private_address_when_the_setting_is_off(staff_client, settings) -> None:
    settings.INSPIRE_ALLOW_PRIVATE_URLS = False
    response = staff_client.post(
        PLAYLISTS + "add/", {"source_url": "http://127.0.0.1/list.html", "is_curated": "on"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["source_url"]
    assert not Playlist.objects.exists()
    assert not Job.objects.exists()


def test_it_refuses_a_playlist_already_in_the_catalogue(staff_client, allow_private) -> None:
    existing = factories.PlaylistFactory(source_url="http://127.0.0.1:9/tours.html", title="Tours")
    response = staff_client.post(PLAYLISTS + "add/", {"source_url": existing.source_url, "is_curated": "on"})
    assert response.status_code == 200
    assert "already in the catalogue as “Tours”" in str(response.context["adminform"].form.errors)
    assert Playlist.objects.count() == 1
    assert not Job.objects.exists()


def test_it_imports_a_real_playlist_added_in_the_admin_down_to_frames(
    staff, staff_client, media_server, allow_private, run_queue, settings
) -> None:
    settings.INSPIRE_FRAMES_DEFAULT = 3
    for name in ("a.mp4", "b.mp4", "c.webm"):
        make_video(media_server.root / name, seconds=6, codec="vp9" if name.endswith(".webm") else "h264")
    url = media_server.add_page(
        "/tours.html",
        html_playlist("Island tours", [media_server.url(n) for n in ("a.mp4", "b.mp4", "c.webm")]),
    )

    with run_queue():
        response = staff_client.post(PLAYLISTS + "add/", {"source_url": url, "title": "", "is_curated": "on"})
    assert response.status_code == 302

    job = Job.objects.get(parent__isnull=True)
    assert job.status == Job.Status.DONE, job.message
    playlist = Playlist.objects.get()
    assert job.playlist == playlist
    assert playlist.is_curated
    assert playlist.title == "Island tours"
    assert playlist.provider_id  # identified by the worker
    entries = list(playlist.entries.select_related("video").order_by("position"))
    assert [e.video.source_url.rsplit("/", 1)[-1] for e in entries] == ["a.mp4", "b.mp4", "c.webm"]
    for entry in entries:
        assert entry.video.status == Video.Status.READY, entry.video.error
        assert 1 <= entry.video.frames.count() <= 3
        assert all(_files_exist(f) for f in entry.video.frames.all())

    # The change page shows every entry with its status and frame count.
    page = staff_client.get(f"{PLAYLISTS}{playlist.pk}/change/")
    inline = page.context["inline_admin_formsets"][0]
    rows = [
        (form.original.video_id, inline.opts.video_frames(form.original)) for form in inline if form.original
    ]
    assert rows == [(e.video_id, e.video.frames.count()) for e in entries]
    assert page.content.decode().count("Ready") >= 3


# --- Playlist actions -----------------------------------------------------------------------
def test_it_refreshes_the_selected_playlists_now(
    staff, staff_client, curated, django_capture_on_commit_callbacks
):
    other = factories.PlaylistFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            PLAYLISTS, {"action": "refresh_now", "_selected_action": [curated.pk, other.pk]}
        )
    assert response.status_code == 302
    jobs = Job.objects.filter(kind=Job.Kind.REFRESH).order_by("playlist_id")
    assert [(j.playlist_id, j.user) for j in jobs] == [(curated.pk, staff), (other.pk, staff)]
    # One job of a user in the cluster at a time (INSPIRE_USER_RUNNING_JOBS), staff too: the
    # first is queued, the other held until it ends.
    queued = _queued_job_ids()
    assert len(queued) == 1
    assert {j.pk for j in jobs if not j.held} == set(queued)


def test_it_asks_how_many_frames_before_pulling_more(staff_client, curated) -> None:
    response = staff_client.post(PLAYLISTS, {"action": "pull_more_frames", "_selected_action": [curated.pk]})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="frames"' in page
    assert 'name="confirm"' in page
    assert f'name="_selected_action" value="{curated.pk}"' in page
    assert not Job.objects.exists()


def test_it_pulls_more_frames_for_every_ready_video(
    staff, staff_client, curated, django_capture_on_commit_callbacks
):
    waiting = factories.VideoFactory(status=Video.Status.PROCESSING)
    factories.PlaylistEntryFactory(playlist=curated, video=waiting, position=9)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            PLAYLISTS,
            {"action": "pull_more_frames", "_selected_action": [curated.pk], "confirm": "yes", "frames": "5"},
        )
    assert response.status_code == 302
    jobs = list(Job.objects.order_by("pk"))
    ready = list(curated.videos.filter(status=Video.Status.READY).order_by("playlist_entries__position"))
    assert [(j.kind, j.video, j.frames_requested, j.user) for j in jobs] == [
        (Job.Kind.FRAMES, v, 5, staff) for v in ready
    ]
    # The others held: one job of a user in the cluster at a time (INSPIRE_USER_RUNNING_JOBS).
    queued = _queued_job_ids()
    assert len(queued) == 1
    assert {j.pk for j in jobs if not j.held} == set(queued)


@pytest.mark.parametrize("frames", ["0", "999", "many"])
def test_it_refuses_a_bad_number_of_frames(staff_client, curated, frames) -> None:
    response = staff_client.post(
        PLAYLISTS,
        {"action": "pull_more_frames", "_selected_action": [curated.pk], "confirm": "yes", "frames": frames},
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not Job.objects.exists()


# --- Video actions --------------------------------------------------------------------------
def test_it_reextracts_only_the_unsaved_frames(
    staff, staff_client, owner, django_capture_on_commit_callbacks
):
    video = factories.VideoFactory()
    frames = factories.FrameFactory.create_batch(4, video=video)
    saved = frames[0]
    factories.FavouriteFactory(user=owner, frame=saved)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(VIDEOS, {"action": "reextract_frames", "_selected_action": [video.pk]})
    assert response.status_code == 302

    assert list(video.frames.all()) == [saved]
    assert _files_exist(saved)
    assert not any(
        default_storage.exists(f.image.name) or default_storage.exists(f.thumbnail.name) for f in frames[1:]
    )
    job = Job.objects.get()
    assert (job.kind, job.video, job.frames_requested, job.user) == (Job.Kind.FRAMES, video, 3, staff)
    assert _queued_job_ids() == [job.pk]


def test_it_asks_before_deleting_files(staff_client) -> None:
    frame = factories.FrameFactory()
    response = staff_client.post(VIDEOS, {"action": "delete_files", "_selected_action": [frame.video_id]})
    assert response.status_code == 200
    assert 'name="confirm"' in response.content.decode()
    assert Frame.objects.filter(pk=frame.pk).exists()
    assert _files_exist(frame)


def test_it_deletes_files_but_keeps_what_someone_saved(
    staff_client, owner, django_capture_on_commit_callbacks
):
    kept_video = factories.VideoFactory()
    saved, unsaved = factories.FrameFactory.create_batch(2, video=kept_video)
    factories.FavouriteFactory(user=owner, frame=saved)
    emptied = factories.VideoFactory()
    gone = factories.FrameFactory.create_batch(2, video=emptied)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            VIDEOS,
            {"action": "delete_files", "_selected_action": [kept_video.pk, emptied.pk], "confirm": "yes"},
        )
    assert response.status_code == 302

    assert list(kept_video.frames.all()) == [saved]
    assert _files_exist(saved)
    assert not default_storage.exists(unsaved.image.name)
    kept_video.refresh_from_db()
    assert kept_video.status == Video.Status.READY

    assert not emptied.frames.exists()
    assert not any(default_storage.exists(f.image.name) for f in gone)
    emptied.refresh_from_db()
    assert emptied.status == Video.Status.FAILED
    assert "removed" in emptied.error
    assert not Job.objects.exists()


def _upload_video(name: str) -> Video:
    stored = default_storage.save(f"uploads/{name}", ContentFile(b"\x00\x00\x00\x18ftypmp42" + b"x" * 100))
    video = factories.VideoFactory(provider=Video.UPLOAD_PROVIDER, source_url="", content_type="video/mp4")
    video.file.name = stored
    video.save()
    return video


def test_it_keeps_an_upload_a_saved_frame_still_plays_from(
    staff_client, owner, django_capture_on_commit_callbacks
):
    needed = _upload_video("needed")
    factories.FavouriteFactory(user=owner, frame=factories.FrameFactory(video=needed))
    unneeded = _upload_video("unneeded")
    factories.FrameFactory(video=unneeded)
    names = {needed.pk: needed.file.name, unneeded.pk: unneeded.file.name}

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            VIDEOS, {"action": "delete_files", "_selected_action": [needed.pk, unneeded.pk], "confirm": "yes"}
        )

    needed.refresh_from_db()
    unneeded.refresh_from_db()
    assert needed.file.name == names[needed.pk]
    assert default_storage.exists(names[needed.pk])
    assert not unneeded.file
    assert not default_storage.exists(names[unneeded.pk])


def test_it_refuses_to_touch_a_video_being_processed(staff_client, owner) -> None:
    frame = factories.FrameFactory()
    factories.JobFactory(user=owner, video=frame.video, holds_video=True, status=Job.Status.RUNNING)
    for action in ("reextract_frames", "delete_files"):
        response = staff_client.post(
            VIDEOS, {"action": action, "_selected_action": [frame.video_id], "confirm": "yes"}, follow=True
        )
        assert "is being processed right now" in response.content.decode()
    assert Frame.objects.filter(pk=frame.pk).exists()
    assert _files_exist(frame)
    assert Job.objects.count() == 1


def test_it_refuses_to_reextract_an_upload_whose_file_was_deleted(staff_client) -> None:
    video = factories.VideoFactory(provider=Video.UPLOAD_PROVIDER, source_url="")
    response = staff_client.post(
        VIDEOS, {"action": "reextract_frames", "_selected_action": [video.pk]}, follow=True
    )
    assert "was deleted, so it cannot be read again" in response.content.decode()
    assert not Job.objects.exists()


# --- Frames and jobs ------------------------------------------------------------------------
def test_it_hides_and_unhides_frames(staff_client) -> None:
    shown, hidden_later = factories.FrameFactory.create_batch(2)
    staff_client.post(FRAMES, {"action": "hide", "_selected_action": [hidden_later.pk]})
    assert list(Frame.objects.pickable()) == [shown]
    staff_client.post(FRAMES, {"action": "unhide", "_selected_action": [hidden_later.pk]})
    assert set(Frame.objects.pickable()) == {shown, hidden_later}


def test_it_lists_jobs_by_status_and_kind_with_their_error(staff_client, owner) -> None:
    failed = factories.JobFactory(
        user=owner, status=Job.Status.FAILED, attempts=3, message="The video is private."
    )
    factories.JobFactory(user=owner, status=Job.Status.DONE, kind=Job.Kind.FRAMES)
    response = staff_client.get(JOBS, {"status__exact": "failed", "kind__exact": "video"})
    assert list(response.context["cl"].result_list) == [failed]
    assert "The video is private." in response.content.decode()
    change = staff_client.get(f"{JOBS}{failed.pk}/change/").content.decode()
    assert "The video is private." in change


def test_it_retries_failed_jobs_and_skips_the_others(staff_client, owner, django_capture_on_commit_callbacks):
    failed = factories.JobFactory(user=owner, status=Job.Status.FAILED, attempts=3, message="Network down.")
    done = factories.JobFactory(user=owner, status=Job.Status.DONE, progress=1.0)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            JOBS, {"action": "retry", "_selected_action": [failed.pk, done.pk]}, follow=True
        )
    failed.refresh_from_db()
    done.refresh_from_db()
    assert (failed.status, failed.attempts) == (Job.Status.QUEUED, 0)
    assert done.status == Job.Status.DONE
    assert _queued_job_ids() == [failed.pk]
    assert "Skipped 1 job that had not failed." in response.content.decode()


def test_it_explains_why_a_failed_upload_whose_file_is_gone_cannot_be_retried(
    staff_client, owner, django_capture_on_commit_callbacks
) -> None:
    gone = factories.JobFactory(
        user=owner, kind=Job.Kind.UPLOAD, upload="uploads/deleted", status=Job.Status.FAILED, source_url=""
    )
    failed = factories.JobFactory(user=owner, status=Job.Status.FAILED, message="Network down.")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            JOBS, {"action": "retry", "_selected_action": [gone.pk, failed.pk]}, follow=True
        )
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Job #{gone.pk}: The uploaded file is no longer kept; please upload it again." in page
    assert f"Retrying 1 job: #{failed.pk}." in page
    gone.refresh_from_db()
    assert gone.status == Job.Status.FAILED
    assert _queued_job_ids() == [failed.pk]


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", [PLAYLISTS, VIDEOS, FRAMES, JOBS])
def test_it_lists_many_rows_in_as_many_queries_as_few(staff_client, owner, url) -> None:
    def add_rows() -> None:
        playlist = factories.PlaylistFactory(owner=owner)
        frame = factories.FrameFactory()
        factories.PlaylistEntryFactory(playlist=playlist, video=frame.video)
        factories.JobFactory(user=owner, video=frame.video, playlist=playlist, message="Ready.")

    add_rows()
    few = _queries(staff_client, url)
    for _ in range(5):
        add_rows()
    assert _queries(staff_client, url) == few


# --- Staff only -----------------------------------------------------------------------------
@pytest.fixture
def admin_urls(curated) -> list[str]:
    video = curated.videos.first()
    frame = video.frames.first()
    job = factories.JobFactory(video=video)
    return [
        PLAYLISTS,
        PLAYLISTS + "add/",
        f"{PLAYLISTS}{curated.pk}/change/",
        VIDEOS,
        f"{VIDEOS}{video.pk}/change/",
        FRAMES,
        f"{FRAMES}{frame.pk}/change/",
        JOBS,
        f"{JOBS}{job.pk}/change/",
        "/admin/django_q/schedule/",
    ]


def test_it_keeps_every_curation_page_for_staff(staff_client, admin_urls) -> None:
    for url in admin_urls:
        assert staff_client.get(url).status_code == 200, url


def test_it_sends_normal_users_and_visitors_to_the_admin_login(owner_client, anon_client, admin_urls) -> None:
    for client in (owner_client, anon_client):
        for url in admin_urls:
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/"), url


def test_it_ignores_actions_posted_by_normal_users(owner_client, curated, allow_private) -> None:
    video = curated.videos.first()
    posts = [
        (PLAYLISTS + "add/", {"source_url": "http://127.0.0.1:9/x.html", "is_curated": "on"}),
        (PLAYLISTS, {"action": "refresh_now", "_selected_action": [curated.pk]}),
        (
            PLAYLISTS,
            {"action": "pull_more_frames", "_selected_action": [curated.pk], "confirm": "yes", "frames": 3},
        ),
        (VIDEOS, {"action": "reextract_frames", "_selected_action": [video.pk]}),
        (VIDEOS, {"action": "delete_files", "_selected_action": [video.pk], "confirm": "yes"}),
        (FRAMES, {"action": "hide", "_selected_action": [video.frames.first().pk]}),
    ]
    for url, data in posts:
        response = owner_client.post(url, data)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert not Job.objects.exists()
    assert Playlist.objects.count() == 1
    assert Frame.objects.count() == 6
    assert not Frame.objects.filter(is_hidden=True).exists()
