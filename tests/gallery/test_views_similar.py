"""More like this: frames that look like one, found through the likeness index, ranked by the
frames issue's similarity(), among the frames the user sees."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gallery import services, similarity
from gallery.models import FrameKey
from jobs import frames as frames_adapter
from tests import factories
from tests.gallery.test_similarity import _picture


def _frame(video, picture):
    return factories.stored_frame(
        video,
        timestamp_ms=1000 * (video.frames.count() + 1),
        palette=["#3a7bd5"],
        signature=frames_adapter.signature(picture) if picture is not None else "",
    )


def _my_video(user):
    video = factories.VideoFactory()
    factories.LibraryItemFactory(user=user, video=video)
    return video


def _similar(client, frame):
    return client.get(reverse("gallery:frame_similar", args=[frame.pk]))


def _found(response) -> list[int]:
    return [match.frame.pk for match in response.context["matches"]]


def test_it_indexes_a_frames_keys_when_it_is_stored(owner) -> None:
    frame = _frame(_my_video(owner), _picture(1))
    keys = set(FrameKey.objects.filter(frame=frame).values_list("key", flat=True))
    assert keys == set(similarity.keys(frame.signature))
    assert FrameKey.objects.filter(frame=frame, video_id=frame.video_id).count() == similarity.BANDS


def test_it_ranks_the_most_alike_first(owner, owner_client) -> None:
    video, elsewhere = _my_video(owner), _my_video(owner)
    source = _frame(video, _picture(1))
    close = _frame(elsewhere, _picture(1, 3))
    farther = _frame(elsewhere, _picture(1, 20))
    for seed in range(10, 16):
        _frame(elsewhere, _picture(seed))
    response = _similar(owner_client, source)
    assert response.status_code == 200
    found = _found(response)
    assert found[:2] == [close.pk, farther.pk]
    assert source.pk not in found
    scores = [m.similarity for m in response.context["matches"]]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == pytest.approx(similarity.similarity(source.signature, close.signature))
    assert "alike" in response.content.decode()


def test_it_never_shows_another_users_frames(owner, other, owner_client, other_client) -> None:
    source = _frame(_my_video(owner), _picture(1))
    theirs = _frame(_my_video(other), _picture(1, 2))
    mine = _frame(_my_video(owner), _picture(1, 4))
    assert _found(_similar(owner_client, source)) == [mine.pk]
    # Nor may they open "more like this" of a frame they cannot see.
    assert _similar(other_client, source).status_code == 404
    assert mine.pk not in _found(_similar(other_client, theirs))


def test_it_opens_for_a_saved_frame_whose_video_left_the_library(owner, owner_client) -> None:
    video = _my_video(owner)
    source = _frame(video, _picture(1))
    services.favourite_add(user=owner, frame=source)
    services.library_remove(user=owner, video=video)
    response = _similar(owner_client, source)
    assert response.status_code == 200
    assert _found(response) == []


def test_it_sends_anonymous_visitors_to_log_in(owner, anon_client) -> None:
    response = _similar(anon_client, _frame(_my_video(owner), _picture(1)))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_says_why_a_frame_without_a_signature_has_nothing_like_it(owner, owner_client) -> None:
    video = _my_video(owner)
    source = _frame(video, None)
    _frame(video, _picture(1))
    response = _similar(owner_client, source)
    assert _found(response) == []
    assert "stored before frames were compared" in response.content.decode()


def test_it_links_more_like_this_from_a_frame(owner, owner_client) -> None:
    source = _frame(_my_video(owner), _picture(1))
    html = owner_client.get(source.get_absolute_url()).content.decode()
    assert f'href="{reverse("gallery:frame_similar", args=[source.pk])}"' in html


@pytest.mark.parametrize("rows", [3, 10])
def test_it_finds_similar_frames_in_a_fixed_number_of_queries(
    owner, owner_client, django_assert_num_queries, rows
) -> None:
    curated = factories.PlaylistFactory(is_curated=True)
    source = _frame(_my_video(owner), _picture(1))
    for i in range(rows):
        video = _my_video(owner) if i % 2 else factories.PlaylistEntryFactory(playlist=curated).video
        _frame(video, _picture(1, 1 + i))
    # the session's user, the frame, the likeness index, the candidates with their videos
    with django_assert_num_queries(4):
        response = _similar(owner_client, source)
    assert len(response.context["matches"]) == rows
