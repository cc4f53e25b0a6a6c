"""The landing page of visitors who are not signed in, and the frame images it may show them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gallery.models import Frame
from tests import factories

pytestmark = pytest.mark.django_db


def _curated(n_videos: int = 2, n_frames: int = 3, **playlist_kwargs) -> list[Frame]:
    playlist = factories.PlaylistFactory(is_curated=True, **playlist_kwargs)
    frames = []
    for position in range(n_videos):
        video = factories.VideoFactory()
        factories.PlaylistEntryFactory(playlist=playlist, video=video, position=position)
        frames += factories.FrameFactory.create_batch(n_frames, video=video)
    return frames


def _shown(response) -> set[int]:
    return {frame.pk for frame in response.context["frames"]}


def test_it_tells_a_visitor_what_the_site_does_with_ways_in(anon_client) -> None:
    response = anon_client.get(reverse("gallery:home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Turn long videos into a gallery of stills" in html
    assert f'href="{reverse("signup")}"' in html and f'href="{reverse("login")}"' in html


def test_it_shows_only_frames_of_curated_playlists_that_are_not_hidden(owner, anon_client) -> None:
    curated = _curated(n_videos=2, n_frames=3)
    curated[0].is_hidden = True
    curated[0].save()
    private = factories.video_in_library(owner, n_frames=3)
    not_curated = factories.PlaylistFactory(is_curated=False)
    factories.PlaylistEntryFactory(playlist=not_curated, video=factories.VideoFactory())
    factories.FrameFactory(video=not_curated.videos.get())

    response = anon_client.get(reverse("gallery:home"))
    shown = _shown(response)
    assert shown and shown <= {f.pk for f in curated[1:]}
    assert not shown & set(private.frames.values_list("pk", flat=True))
    html = response.content.decode()
    for frame in response.context["frames"]:
        assert f'src="{frame.get_thumbnail_url()}"' in html
        assert f'width="{frame.width}" height="{frame.height}"' in html


def test_it_lets_a_visitor_see_the_images_of_the_landing_frames_only(owner, anon_client) -> None:
    shown, hidden = _curated(n_videos=1, n_frames=2)
    hidden.is_hidden = True
    hidden.save()
    private = factories.video_in_library(owner, n_frames=1).frames.get()
    for variant in ("thumb", "image"):
        assert anon_client.get(reverse("gallery:frame_file", args=[shown.pk, variant])).status_code == 200
        for frame in (hidden, private):
            response = anon_client.get(reverse("gallery:frame_file", args=[frame.pk, variant]))
            assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    # Downloads and the frame's own page stay for signed-in users.
    assert anon_client.get(reverse("gallery:frame_file", args=[shown.pk, "download"])).status_code == 302
    assert anon_client.get(shown.get_absolute_url()).status_code == 302


def test_it_shows_a_signed_in_user_their_library_instead(owner, owner_client) -> None:
    _curated()
    response = owner_client.get(reverse("gallery:home"))
    assert response.templates[0].name == "gallery/home.html"


@pytest.mark.parametrize("n_videos", [2, 12])
def test_it_builds_the_landing_page_in_a_fixed_number_of_queries(
    anon_client, django_assert_num_queries, n_videos
) -> None:
    _curated(n_videos=n_videos, n_frames=4)
    # the curated videos, their first frames
    with django_assert_num_queries(2):
        response = anon_client.get(reverse("gallery:home"))
    assert len(response.context["frames"]) == min(n_videos, 4) * 2
