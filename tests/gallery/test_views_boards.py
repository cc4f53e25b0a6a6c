"""Boards (list, page, settings, order, zip), "Save to board", bulk actions and Undo: for the
owner, another user (404) and an anonymous visitor (to the login page)."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from django.urls import reverse

from gallery import services
from gallery.models import Board, BoardItem, Favourite, Frame
from tests import factories

pytestmark = pytest.mark.django_db


def _board(user, n: int = 3, name: str = "Warm light") -> Board:
    board = services.board_create(owner=user, name=name)
    video = factories.video_in_library(user, n_frames=n)
    services.board_add_frames(board=board, frames=list(video.frames.order_by("timestamp_ms")))
    return board


def _order(board: Board) -> list[int]:
    return list(board.items.order_by("position", "pk").values_list("pk", flat=True))


def _zip(response) -> zipfile.ZipFile:
    assert response["Content-Type"] == "application/zip"
    assert response.streaming
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


# --- Who may see what -----------------------------------------------------------------------
def _owner_urls(board: Board) -> list[tuple[str, str]]:
    item = board.items.first()
    return [
        ("get", reverse("gallery:boards")),
        ("get", board.get_absolute_url()),
        ("post", board.get_absolute_url()),
        ("post", reverse("gallery:board_delete", args=[board.pk])),
        ("post", reverse("gallery:board_share", args=[board.pk])),
        ("post", reverse("gallery:board_unshare", args=[board.pk])),
        ("post", reverse("gallery:board_reorder", args=[board.pk])),
        ("post", reverse("gallery:board_move", args=[board.pk, item.pk])),
        ("get", reverse("gallery:board_download", args=[board.pk])),
        ("get", reverse("gallery:favourites_download")),
        ("post", reverse("gallery:favourites_bulk")),
        ("post", reverse("gallery:favourites_restore")),
        ("post", reverse("gallery:frame_to_board", args=[item.favourite.frame_id])),
        ("get", reverse("gallery:inspire") + f"?board={board.pk}"),
    ]


def test_it_sends_anonymous_visitors_to_log_in(owner, anon_client) -> None:
    board = _board(owner)
    for method, url in _owner_urls(board):
        response = getattr(anon_client, method)(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
    assert Board.objects.get(pk=board.pk).share_token is None


def test_it_answers_404_for_another_users_board(owner, other_client) -> None:
    board = _board(owner)
    item = board.items.first()
    urls = [
        ("get", board.get_absolute_url()),
        ("post", board.get_absolute_url()),
        ("post", reverse("gallery:board_delete", args=[board.pk])),
        ("post", reverse("gallery:board_share", args=[board.pk])),
        ("post", reverse("gallery:board_unshare", args=[board.pk])),
        ("post", reverse("gallery:board_reorder", args=[board.pk])),
        ("post", reverse("gallery:board_move", args=[board.pk, item.pk])),
        ("get", reverse("gallery:board_download", args=[board.pk])),
        ("get", reverse("gallery:inspire") + f"?board={board.pk}"),
        # the owner's frame (in the owner's library only)
        ("post", reverse("gallery:frame_to_board", args=[item.favourite.frame_id])),
    ]
    for method, url in urls:
        if method == "post":
            response = other_client.post(url, {"name": "Mine now", "board": board.pk})
        else:
            response = other_client.get(url)
        assert response.status_code == 404, url
    board.refresh_from_db()
    assert (board.name, board.share_token, board.items.count()) == ("Warm light", None, 3)
    html = other_client.get(reverse("gallery:boards")).content.decode()
    assert "Warm light" not in html


def test_it_never_acts_on_another_users_favourites_in_bulk(owner, other, other_client) -> None:
    board = _board(owner)
    frames = [item.favourite.frame_id for item in board.items.all()]
    for action in ("remove", "unboard", "board"):
        response = other_client.post(
            reverse("gallery:favourites_bulk"),
            {"frames": frames, "action": action, "from_board": board.pk, "board": board.pk},
        )
        assert response.status_code == 302
    assert Favourite.objects.filter(user=owner).count() == 3 and board.items.count() == 3
    assert not Favourite.objects.filter(user=other).exists()


# --- The list of boards ---------------------------------------------------------------------
def test_it_lists_the_boards_with_counts_and_previews(owner, owner_client) -> None:
    board = _board(owner, n=4)
    services.board_create(owner=owner, name="Empty one")
    html = owner_client.get(reverse("gallery:boards")).content.decode()
    assert html.count('data-testid="board-tile"') == 2
    assert "4 frames" in html and "0 frames" in html and "No frames yet" in html
    first = board.items.order_by("position").first().favourite.frame
    assert first.get_thumbnail_url() in html
    assert html.count("<img") == 3  # a preview of three


def test_it_creates_a_board_and_says_what_is_wrong_with_a_name(owner, owner_client) -> None:
    response = owner_client.post(reverse("gallery:boards"), {"name": "Harbours", "description": "blue"})
    board = Board.objects.get(owner=owner)
    assert response["Location"] == board.get_absolute_url()
    response = owner_client.post(reverse("gallery:boards"), {"name": "Harbours"})
    assert response.status_code == 400
    assert "You already have a board named “Harbours”" in response.content.decode()
    response = owner_client.post(reverse("gallery:boards"), {"name": ""})
    assert response.status_code == 400 and Board.objects.count() == 1


@pytest.mark.parametrize("rows", [2, 6])
def test_it_builds_the_board_list_in_a_fixed_number_of_queries(
    owner, owner_client, django_assert_num_queries, rows
) -> None:
    for i in range(rows):
        _board(owner, n=4, name=f"Board {i}")
    # the user, the boards with their counts, their previews
    with django_assert_num_queries(3):
        response = owner_client.get(reverse("gallery:boards"))
    assert response.content.decode().count('data-testid="board-tile"') == rows


# --- A board's page -------------------------------------------------------------------------
@pytest.mark.parametrize("rows", [3, 12])
def test_it_builds_the_board_page_in_a_fixed_number_of_queries(
    owner, owner_client, django_assert_num_queries, rows
) -> None:
    board = _board(owner, n=rows)
    Favourite.objects.filter(user=owner).update(note="a note")
    # the user, the board, the count, the frames with favourite and video, the boards to add to
    with django_assert_num_queries(5):
        response = owner_client.get(board.get_absolute_url())
    html = response.content.decode()
    assert html.count('data-testid="favourite-tile"') == rows
    assert html.count('class="pick"') == rows
    assert f'href="{reverse("gallery:inspire")}?board={board.pk}"' in html


def test_it_renames_and_describes_a_board(owner, owner_client) -> None:
    board = _board(owner)
    services.board_create(owner=owner, name="Taken")
    response = owner_client.post(board.get_absolute_url(), {"name": "Cool light", "description": "Dusk"})
    assert response.status_code == 302
    board.refresh_from_db()
    assert (board.name, board.description) == ("Cool light", "Dusk")
    response = owner_client.post(board.get_absolute_url(), {"name": "Taken", "description": ""})
    assert response.status_code == 400 and "already have a board named" in response.content.decode()
    assert 'data-testid="board-name">Cool light<' in response.content.decode()


def test_it_deletes_a_board_and_keeps_the_frames(owner, owner_client) -> None:
    board = _board(owner)
    response = owner_client.post(reverse("gallery:board_delete", args=[board.pk]), follow=True)
    assert "Its frames stay in your favourites" in _messages(response)
    assert not Board.objects.exists() and Favourite.objects.filter(user=owner).count() == 3


def test_it_moves_frames_with_the_buttons_and_by_dragging(owner, owner_client) -> None:
    board = _board(owner, n=3)
    a, b, c = _order(board)
    response = owner_client.post(
        reverse("gallery:board_move", args=[board.pk, c]),
        {"direction": "up", "next": board.get_absolute_url() + f"#item-{c}"},
    )
    assert response["Location"] == board.get_absolute_url() + f"#item-{c}"
    assert _order(board) == [a, c, b]
    owner_client.post(reverse("gallery:board_move", args=[board.pk, a]), {"direction": "down"})
    assert _order(board) == [c, a, b]
    response = owner_client.post(
        reverse("gallery:board_reorder", args=[board.pk]),
        {"order": [b, c, a]},
        HTTP_ACCEPT="application/json",
    )
    assert response.json() == {"ok": True} and _order(board) == [b, c, a]


def test_it_downloads_a_board_as_a_zip_in_its_order(owner, owner_client) -> None:
    board = _board(owner, n=3)
    items = list(board.items.order_by("position").select_related("favourite__frame"))
    services.board_reorder(board=board, order=[items[2].pk, items[0].pk, items[1].pk])
    response = owner_client.get(reverse("gallery:board_download", args=[board.pk]))
    assert 'filename="warm-light.zip"' in response["Content-Disposition"]
    assert response["X-Accel-Buffering"] == "no"
    with _zip(response) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("favourites.csv").decode())))
        assert [r["timestamp"] for r in rows] == [items[i].favourite.frame.timestamp_label for i in (2, 0, 1)]
        assert len(archive.namelist()) == 4


def test_it_downloads_all_favourites_as_a_zip(owner, other, owner_client) -> None:
    _board(owner, n=2)
    factories.FavouriteFactory(user=owner, note="loose one")
    factories.FavouriteFactory(user=other, note="not mine")
    with _zip(owner_client.get(reverse("gallery:favourites_download"))) as archive:
        text = archive.read("favourites.csv").decode()
        assert len(archive.namelist()) == 4 and "loose one" in text and "not mine" not in text


# --- Save to board --------------------------------------------------------------------------
def test_it_saves_a_frame_to_a_board_in_one_step_and_remembers_the_board(owner, owner_client) -> None:
    video = factories.video_in_library(owner, n_frames=2)
    first, second = video.frames.order_by("timestamp_ms")
    board = services.board_create(owner=owner, name="Roofs")
    services.board_create(owner=owner, name="Walls")
    response = owner_client.post(
        reverse("gallery:frame_to_board", args=[first.pk]), {"board": board.pk, "next": "/inspire/"}
    )
    assert response["Location"] == "/inspire/"
    assert Favourite.objects.filter(user=owner, frame=first).exists()
    assert list(board.items.values_list("favourite__frame", flat=True)) == [first.pk]
    # The page of the next frame offers that board first.
    html = owner_client.get(second.get_absolute_url()).content.decode()
    assert re.search(rf'<option value="{board.pk}" selected>Roofs</option>', html)


def test_it_saves_to_a_new_board_named_in_the_same_form(owner, owner_client) -> None:
    frame = factories.video_in_library(owner, n_frames=1).frames.get()
    response = owner_client.post(
        reverse("gallery:frame_to_board", args=[frame.pk]),
        {"board": "", "new_board": "Harbours"},
        HTTP_ACCEPT="application/json",
    )
    board = Board.objects.get(owner=owner, name="Harbours")
    assert response.json() == {"saved": True, "board": board.pk, "message": "Saved to “Harbours”."}
    assert board.items.get().favourite.frame == frame
    response = owner_client.post(
        reverse("gallery:frame_to_board", args=[frame.pk]),
        {"board": board.pk},
        HTTP_ACCEPT="application/json",
    )
    assert response.json()["message"] == "Already on “Harbours”." and board.items.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"board": "", "new_board": " "}, "Choose a board, or type the name of a new one."),
        ({"board": "999999"}, "That board is not one of yours; choose another."),
    ],
)
def test_it_says_what_is_wrong_with_a_save_to_board(owner, owner_client, data, message) -> None:
    frame = factories.video_in_library(owner, n_frames=1).frames.get()
    response = owner_client.post(reverse("gallery:frame_to_board", args=[frame.pk]), data, follow=True)
    assert message in _messages(response)
    assert not Favourite.objects.exists()


def test_it_refuses_another_users_board_as_a_target(owner, other, other_client) -> None:
    board = _board(owner, n=1)
    frame = factories.video_in_library(other, n_frames=1).frames.get()
    response = other_client.post(
        reverse("gallery:frame_to_board", args=[frame.pk]),
        {"board": board.pk},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400 and "not one of yours" in response.json()["message"]
    assert board.items.count() == 1


def test_it_offers_save_to_board_on_inspire_frame_favourite_and_video_pages(owner, owner_client) -> None:
    video = factories.video_in_library(owner, n_frames=2)
    saved = factories.FavouriteFactory(user=owner, frame=video.frames.first())
    unsaved = video.frames.exclude(pk=saved.frame_id).get()
    for url in (reverse("gallery:inspire"), unsaved.get_absolute_url(), saved.get_absolute_url()):
        assert 'data-testid="save-to-board"' in owner_client.get(url).content.decode(), url
    html = owner_client.get(video.get_absolute_url()).content.decode()
    assert 'data-testid="bulk"' in html and html.count('class="pick"') == 2


@pytest.mark.parametrize("rows", [3, 12])
def test_it_inspires_from_a_board_in_a_fixed_number_of_queries(
    owner, owner_client, django_assert_num_queries, rows
) -> None:
    board = _board(owner, n=rows)
    # the user, the board, the ids of its frames, the frame, the session's UPDATE (a savepoint
    # around it in tests: 3), the boards of "Save to board"
    with django_assert_num_queries(1 + 1 + 1 + 1 + 3 + 1):
        response = owner_client.get(reverse("gallery:inspire") + f"?board={board.pk}")
    assert 'id="frame-image"' in response.content.decode()


def test_it_says_how_to_fill_an_empty_board_on_inspire(owner, owner_client) -> None:
    board = services.board_create(owner=owner, name="Empty")
    factories.video_in_library(owner, n_frames=2)  # frames elsewhere are not drawn
    html = owner_client.get(reverse("gallery:inspire") + f"?board={board.pk}").content.decode()
    assert 'data-testid="inspire-empty"' in html and "This board has no frames yet" in html


def test_it_inspires_from_a_board_only(owner, owner_client) -> None:
    board = _board(owner, n=2)
    factories.video_in_library(owner, n_frames=5)  # not on the board
    on_board = set(board.items.values_list("favourite__frame_id", flat=True))
    for _ in range(6):
        data = owner_client.get(reverse("gallery:random_frame") + f"?board={board.pk}").json()
        assert data["frame"]["id"] in on_board
    html = owner_client.get(reverse("gallery:inspire") + f"?board={board.pk}").content.decode()
    assert "from board “Warm light”" in html and board.get_absolute_url() in html


# --- Bulk actions and Undo ------------------------------------------------------------------
def test_it_removes_several_favourites_and_undo_puts_them_back(owner, owner_client) -> None:
    board = _board(owner, n=3)
    frames = list(board.items.order_by("position").values_list("favourite__frame_id", flat=True))
    Favourite.objects.filter(frame_id=frames[0]).update(note="keep this note")
    gallery = reverse("gallery:favourites")
    response = owner_client.post(
        reverse("gallery:favourites_bulk"),
        {"frames": frames[:2], "action": "remove", "next": gallery},
        follow=True,
    )
    html = response.content.decode()
    assert "Removed 2 frames from your favourites." in html
    assert Favourite.objects.filter(user=owner).count() == 1 and board.items.count() == 1
    key = re.search(r'name="undo" value="([^"]+)"', html).group(1)
    assert (
        'data-testid="undo"' in html and 'name="csrfmiddlewaretoken"' in html.split('name="undo"')[0][-400:]
    )

    response = owner_client.post(
        reverse("gallery:favourites_restore"), {"undo": key, "next": gallery}, follow=True
    )
    assert "Restored 2 frames." in _messages(response)
    assert Favourite.objects.get(frame_id=frames[0]).note == "keep this note"
    assert list(board.items.order_by("position").values_list("favourite__frame_id", flat=True)) == frames
    # Once only.
    response = owner_client.post(reverse("gallery:favourites_restore"), {"undo": key}, follow=True)
    assert "nothing to undo" in _messages(response)


def test_it_keeps_undo_to_the_user_who_removed(owner, other_client, owner_client) -> None:
    board = _board(owner, n=1)
    frame = board.items.get().favourite.frame_id
    response = owner_client.post(reverse("gallery:frame_unsave", args=[frame]), follow=True)
    key = re.search(r'name="undo" value="([^"]+)"', response.content.decode()).group(1)
    response = other_client.post(reverse("gallery:favourites_restore"), {"undo": key}, follow=True)
    assert "nothing to undo" in _messages(response)
    assert not Favourite.objects.exists()


def test_it_adds_several_frames_to_a_board_and_takes_them_off(owner, owner_client) -> None:
    board = _board(owner, n=3)
    frames = list(board.items.values_list("favourite__frame_id", flat=True))
    target = services.board_create(owner=owner, name="Second")
    response = owner_client.post(
        reverse("gallery:favourites_bulk"),
        {"frames": frames, "action": "board", "board": target.pk},
        follow=True,
    )
    assert "3 frames added to “Second”." in _messages(response)
    response = owner_client.post(
        reverse("gallery:favourites_bulk"),
        {"frames": frames, "action": "board", "board": target.pk},
        follow=True,
    )
    assert "All 3 frames were on “Second” already." in _messages(response)
    response = owner_client.post(
        reverse("gallery:favourites_bulk"),
        {"frames": frames[:2], "action": "unboard", "from_board": board.pk},
        follow=True,
    )
    assert "Took 2 frames off “Warm light”; they stay saved." in _messages(response)
    assert board.items.count() == 1 and target.items.count() == 3
    assert Favourite.objects.filter(user=owner).count() == 3


def test_it_saves_frames_of_a_video_page_to_a_board_in_bulk(owner, owner_client) -> None:
    video = factories.video_in_library(owner, n_frames=3)
    frames = list(video.frames.values_list("pk", flat=True))
    owner_client.post(
        reverse("gallery:favourites_bulk"), {"frames": frames[:2], "action": "board", "new_board": "Picked"}
    )
    board = Board.objects.get(owner=owner, name="Picked")
    assert set(board.items.values_list("favourite__frame_id", flat=True)) == set(frames[:2])


def test_it_downloads_the_selected_frames(owner, owner_client) -> None:
    board = _board(owner, n=3)
    frames = list(board.items.values_list("favourite__frame_id", flat=True))
    response = owner_client.post(
        reverse("gallery:favourites_bulk"), {"frames": frames[:2], "action": "download"}
    )
    with _zip(response) as archive:
        assert len(archive.namelist()) == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "remove"}, "Select at least one frame first."),
        ({"action": "remove", "frames": ["abc", "-1"]}, "Select at least one frame first."),
        ({"action": "explode", "frames": ["FRAME"]}, "Choose what to do with the selected frames."),
    ],
)
def test_it_says_what_is_missing_from_a_bulk_action(owner, owner_client, data, message) -> None:
    frame = _board(owner, n=1).items.get().favourite.frame_id
    data = {**data, "frames": [str(frame) if f == "FRAME" else f for f in data.get("frames", [])]}
    response = owner_client.post(reverse("gallery:favourites_bulk"), data, follow=True)
    assert message in _messages(response)
    assert Favourite.objects.count() == 1


def test_it_shows_the_bulk_form_and_boards_link_on_the_gallery(owner, owner_client) -> None:
    _board(owner, n=2)
    html = owner_client.get(reverse("gallery:favourites")).content.decode()
    assert 'data-testid="bulk"' in html and html.count('form="bulk"') == 2
    assert reverse("gallery:favourites_download") in html and reverse("gallery:boards") in html


def test_it_keeps_frames_that_are_not_frames_out_of_bulk_actions(owner, owner_client) -> None:
    _board(owner, n=1)
    assert not Frame.objects.filter(pk=999999).exists()
    response = owner_client.post(
        reverse("gallery:favourites_bulk"),
        {"frames": ["999999"], "action": "board", "new_board": "X"},
        follow=True,
    )
    assert "Select at least one frame first." in _messages(response)
    assert not Board.objects.filter(name="X").exists() and BoardItem.objects.count() == 1


def test_it_shows_the_owner_the_link_and_their_choice_about_notes(owner, owner_client) -> None:
    board = _board(owner, n=1)
    owner_client.post(reverse("gallery:board_share", args=[board.pk]), {"show_notes": "on"})
    board.refresh_from_db()
    html = owner_client.get(board.get_absolute_url()).content.decode()
    assert f'value="http://testserver/s/{board.share_token}/"' in html
    assert "Your notes are shown on the shared page." in html and "Stop sharing" in html
    owner_client.post(reverse("gallery:board_share", args=[board.pk]))  # a new link, notes hidden
    board.refresh_from_db()
    assert board.show_notes is False
    owner_client.post(reverse("gallery:board_unshare", args=[board.pk]))
    html = owner_client.get(board.get_absolute_url()).content.decode()
    assert "/s/" not in html and "Share with a link" in html


def test_it_offers_save_to_board_with_each_new_inspire_frame(owner, owner_client) -> None:
    factories.video_in_library(owner, n_frames=3)
    board = services.board_create(owner=owner, name="Roofs")
    html = owner_client.get(reverse("gallery:inspire") + "?partial=1").content.decode()
    assert 'data-testid="save-to-board"' in html
    assert f'<option value="{board.pk}" selected>Roofs</option>' in html
