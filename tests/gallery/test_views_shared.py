"""A board's public link: what an anonymous visitor with the token sees, and everything they
must not: other boards, other frames, notes the owner did not choose to show, anyone's email;
a revoked, replaced or guessed token answers 404 on every shared URL."""

from __future__ import annotations

import secrets

import pytest
from django.test import Client
from django.urls import reverse

from gallery import services
from gallery.models import Board, Favourite
from tests import factories

pytestmark = pytest.mark.django_db


def _shared(user, *, n: int = 2, name: str = "Harbour light", show_notes: bool = False, **video) -> Board:
    board = services.board_create(owner=user, name=name, description="Blue hours")
    frames = list(factories.video_in_library(user, n_frames=n, **video).frames.order_by("timestamp_ms"))
    services.board_add_frames(board=board, frames=frames)
    Favourite.objects.filter(user=user, frame__in=frames).update(note="secret note of the owner")
    return services.board_share(board=board, show_notes=show_notes)


def _shared_urls(board: Board) -> list[str]:
    """Every URL a shared board's visitor may open."""
    token = board.share_token
    urls = [board.get_shared_url()]
    for item in board.items.all():
        frame = item.favourite.frame_id
        urls += [reverse("gallery:shared_frame_file", args=[token, frame, v]) for v in ("image", "thumb")]
    return urls


def test_it_shows_a_shared_board_to_anyone_with_the_link(owner, anon_client) -> None:
    board = _shared(owner, provider="youtube", provider_id="abc123", title="Harbour walk")
    response = anon_client.get(board.get_shared_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="shared-tile"') == 2
    assert "Harbour light" in html and "Blue hours" in html and "Harbour walk" in html
    for item in board.items.select_related("favourite__frame"):
        frame = item.favourite.frame
        assert reverse("gallery:shared_frame_file", args=[board.share_token, frame.pk, "thumb"]) in html
        assert f"https://www.youtube.com/watch?v=abc123&amp;t={frame.timestamp_ms // 1000}s" in html
        assert frame.timestamp_label in html
    assert '<meta name="referrer" content="no-referrer">' in html
    for url in _shared_urls(board)[1:]:
        response = anon_client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg", url
        assert response["Cache-Control"] == "private, no-cache"  # revoking stops it showing


def test_it_shows_nothing_of_the_owner_nor_their_other_boards_nor_their_notes(owner, anon_client) -> None:
    board = _shared(owner)
    services.board_create(owner=owner, name="Private plans")
    html = anon_client.get(board.get_shared_url()).content.decode()
    for leak in (
        "secret note",
        "owner@example.com",
        "@example.com",
        "Private plans",
        'data-testid="username"',
    ):
        assert leak not in html, leak
    assert reverse("gallery:boards") not in html
    # Nor links that only the owner may follow (their gallery, their frames' own pages).
    for item in board.items.select_related("favourite"):
        assert f'"{item.favourite.get_absolute_url()}"' not in html
        assert f'"{reverse("gallery:frame_file", args=[item.favourite.frame_id, "image"])}"' not in html


def test_it_shows_the_notes_when_the_owner_chose_to(owner, anon_client) -> None:
    board = _shared(owner, show_notes=True)
    assert "secret note of the owner" in anon_client.get(board.get_shared_url()).content.decode()


def test_it_serves_only_the_boards_own_frames_through_its_token(owner, other, anon_client) -> None:
    board = _shared(owner)
    not_on_board = factories.video_in_library(owner, n_frames=1).frames.get()
    factories.FavouriteFactory(user=owner, frame=not_on_board)
    elsewhere = _shared(other, name="Their board")
    their_frame = elsewhere.items.first().favourite.frame_id
    for frame in (not_on_board.pk, their_frame):
        for variant in ("image", "thumb"):
            url = reverse("gallery:shared_frame_file", args=[board.share_token, frame, variant])
            assert anon_client.get(url).status_code == 404, url
    frame = board.items.first().favourite.frame_id
    for variant in ("download", "original", "../image"):
        url = f"/s/{board.share_token}/frames/{frame}/{variant}"
        assert anon_client.get(url).status_code == 404, url


def test_it_answers_404_on_every_shared_url_once_revoked(owner, anon_client, owner_client) -> None:
    board = _shared(owner)
    urls = _shared_urls(board)
    owner_client.post(reverse("gallery:board_unshare", args=[board.pk]))
    for url in urls:
        assert anon_client.get(url).status_code == 404, url
        assert owner_client.get(url).status_code == 404, url  # the owner too: the link is dead


def test_it_kills_the_old_link_when_shared_again(owner, anon_client, owner_client) -> None:
    board = _shared(owner)
    old = _shared_urls(board)
    owner_client.post(reverse("gallery:board_share", args=[board.pk]))
    board.refresh_from_db()
    for url in old:
        assert anon_client.get(url).status_code == 404, url
    for url in _shared_urls(board):
        assert anon_client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    "guess",
    [
        lambda token: secrets.token_urlsafe(32),
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: token[:20],
        lambda token: token.upper() if token.upper() != token else token.lower(),
        lambda token: "None",
        lambda token: "%00",
    ],
)
def test_it_answers_404_for_a_guessed_token(owner, anon_client, guess) -> None:
    board = _shared(owner)
    Board.objects.create(owner=owner, name="Never shared")  # share_token is NULL, not ""
    token = guess(board.share_token)
    frame = board.items.first().favourite.frame_id
    for url in (
        f"/s/{token}/",
        f"/s/{token}/frames/{frame}/image",
        f"/s/{token}/frames/{frame}/thumb",
    ):
        assert anon_client.get(url).status_code == 404, url


def test_it_keeps_a_private_board_private(owner, anon_client, other_client) -> None:
    board = services.board_create(owner=owner, name="Private")
    assert board.get_shared_url() == ""
    assert anon_client.get(board.get_absolute_url()).status_code == 302
    assert other_client.get(board.get_absolute_url()).status_code == 404


def test_it_shares_read_only(owner, anon_client) -> None:
    board = _shared(owner)
    response = anon_client.post(board.get_shared_url(), {"name": "Taken over"})
    assert response.status_code == 405
    board.refresh_from_db()
    assert board.name == "Harbour light"


def test_it_builds_the_shared_page_in_a_fixed_number_of_queries(owner, django_assert_num_queries) -> None:
    for n in (2, 8):
        board = _shared(owner, n=n, name=f"Board {n}")
        # the board by its token, the count, the frames with favourite and video
        with django_assert_num_queries(3):
            response = Client().get(board.get_shared_url())
        assert response.content.decode().count('data-testid="shared-tile"') == n


def test_it_links_no_upload_a_visitor_cannot_play(owner, anon_client) -> None:
    board = _shared(owner, provider="upload", source_url="", title="My walk")
    html = anon_client.get(board.get_shared_url()).content.decode()
    assert "Watch at this moment" not in html and "/file" not in html
