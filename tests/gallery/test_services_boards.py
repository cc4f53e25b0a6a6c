"""Boards, Remove with Undo and the streamed zip (gallery.services)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone

from gallery import services
from gallery.models import Board, BoardItem, Favourite, Frame
from tests import factories

pytestmark = pytest.mark.django_db


def _frames(user, n: int) -> list[Frame]:
    return list(factories.video_in_library(user, n_frames=n).frames.order_by("timestamp_ms"))


def _order(board: Board) -> list[int]:
    return list(board.items.order_by("position", "pk").values_list("favourite__frame_id", flat=True))


# --- Boards ---------------------------------------------------------------------------------
def test_it_creates_a_board_with_a_tidy_name(owner) -> None:
    board = services.board_create(owner=owner, name="  Warm   light ", description=" for the hall ")
    assert (board.name, board.description, board.share_token) == ("Warm light", "for the hall", None)


@pytest.mark.parametrize(
    ("name", "message"),
    [("   ", "Give the board a name."), ("x" * 101, "at most 100 characters")],
)
def test_it_refuses_a_board_without_a_proper_name(owner, name, message) -> None:
    with pytest.raises(ValidationError, match=message):
        services.board_create(owner=owner, name=name)
    assert not Board.objects.exists()


def test_it_refuses_a_second_board_of_the_same_name_but_not_for_another_user(owner, other) -> None:
    services.board_create(owner=owner, name="Roofs")
    with pytest.raises(ValidationError, match="already have a board named “Roofs”"):
        services.board_create(owner=owner, name="Roofs")
    services.board_create(owner=other, name="Roofs")
    board = services.board_create(owner=owner, name="Walls")
    with pytest.raises(ValidationError, match="already have"):
        services.board_update(board=board, name="Roofs", description="")
    assert Board.objects.get(pk=board.pk).name == "Walls"


def test_it_deletes_a_board_but_keeps_its_frames_saved_and_on_other_boards(owner) -> None:
    frames = _frames(owner, 2)
    doomed, kept = (services.board_create(owner=owner, name=n) for n in ("A", "B"))
    services.board_add_frames(board=doomed, frames=frames)
    services.board_add_frames(board=kept, frames=frames[:1])
    services.board_delete(board=doomed)
    assert Favourite.objects.filter(user=owner).count() == 2
    assert _order(kept) == [frames[0].pk]


def test_it_adds_frames_saving_them_first_once_each_in_order(owner) -> None:
    frames = _frames(owner, 3)
    factories.FavouriteFactory(user=owner, frame=frames[1], note="already saved")
    board = services.board_create(owner=owner, name="A")
    assert services.board_add_frames(board=board, frames=[frames[1], frames[0]]) == 2
    assert services.board_add_frames(board=board, frames=[frames[0], frames[2], frames[2]]) == 1
    assert _order(board) == [frames[1].pk, frames[0].pk, frames[2].pk]
    assert Favourite.objects.get(user=owner, frame=frames[1]).note == "already saved"
    assert Favourite.objects.filter(user=owner).count() == 3
    board.refresh_from_db()
    assert board.last_used_at is not None


def test_it_puts_one_frame_on_several_boards(owner) -> None:
    frame = _frames(owner, 1)[0]
    for name in ("A", "B"):
        services.board_add_frames(board=services.board_create(owner=owner, name=name), frames=[frame])
    assert BoardItem.objects.filter(favourite__frame=frame).count() == 2
    assert Favourite.objects.filter(user=owner, frame=frame).count() == 1


def test_it_takes_frames_off_a_board_and_keeps_them_saved(owner) -> None:
    frames = _frames(owner, 2)
    board = services.board_create(owner=owner, name="A")
    services.board_add_frames(board=board, frames=frames)
    assert services.board_remove_frames(board=board, frames=frames[:1]) == 1
    assert _order(board) == [frames[1].pk]
    assert Favourite.objects.filter(user=owner).count() == 2


def test_it_moves_a_frame_up_and_down_and_stops_at_the_ends(owner) -> None:
    a, b, c = _frames(owner, 3)
    board = services.board_create(owner=owner, name="A")
    services.board_add_frames(board=board, frames=[a, b, c])
    item = board.items.get(favourite__frame=c)
    services.board_move(board=board, item=item, by=-1)
    assert _order(board) == [a.pk, c.pk, b.pk]
    services.board_move(board=board, item=item, by=-1)
    services.board_move(board=board, item=item, by=-1)
    assert _order(board) == [c.pk, a.pk, b.pk]
    services.board_move(board=board, item=board.items.get(favourite__frame=b), by=1)
    assert _order(board) == [c.pk, a.pk, b.pk]


def test_it_reorders_the_dragged_items_in_their_own_places(owner, other) -> None:
    frames = _frames(owner, 5)
    board = services.board_create(owner=owner, name="A")
    services.board_add_frames(board=board, frames=frames)
    ids = {item.favourite.frame_id: item.pk for item in board.items.select_related("favourite")}
    foreign = services.board_create(owner=other, name="B")
    services.board_add_frames(board=foreign, frames=_frames(other, 1))
    # One page showed the 2nd to 4th frames; they were dragged into 4, 2, 3.
    order = [ids[frames[3].pk], ids[frames[1].pk], ids[frames[2].pk], foreign.items.get().pk]
    services.board_reorder(board=board, order=order)
    assert _order(board) == [frames[i].pk for i in (0, 3, 1, 2, 4)]
    assert foreign.items.get().position == 1


def test_it_gives_a_new_long_token_each_time_a_board_is_shared(owner) -> None:
    board = services.board_create(owner=owner, name="A")
    first = services.board_share(board=board).share_token
    second = services.board_share(board=board, show_notes=True).share_token
    assert len(first) >= 43 and len(second) >= 43 and first != second
    assert board.show_notes is True
    services.board_unshare(board=board)
    assert Board.objects.get(pk=board.pk).share_token is None
    assert not Board.objects.shared(first).exists() and not Board.objects.shared("").exists()
    assert not Board.objects.shared("\x00" * 43).exists()  # not a token: no query (Postgres refuses NUL)


# --- Remove and Undo ------------------------------------------------------------------------
def test_it_removes_favourites_and_undo_restores_note_date_and_boards(owner) -> None:
    frames = _frames(owner, 3)
    board, other_board = (services.board_create(owner=owner, name=n) for n in ("A", "B"))
    services.board_add_frames(board=board, frames=frames)
    services.board_add_frames(board=other_board, frames=[frames[1]])
    favourite = Favourite.objects.get(user=owner, frame=frames[1])
    services.favourite_update_note(favourite=favourite, note="the stairs")
    long_ago = timezone.now() - dt.timedelta(days=30)
    Favourite.objects.filter(pk=favourite.pk).update(created_at=long_ago)

    removed = services.favourites_remove(user=owner, frames=[frames[1]])
    assert not Favourite.objects.filter(user=owner, frame=frames[1]).exists()
    assert _order(board) == [frames[0].pk, frames[2].pk] and _order(other_board) == []

    assert services.favourites_restore(user=owner, removed=removed) == 1
    back = Favourite.objects.get(user=owner, frame=frames[1])
    assert (back.note, back.created_at) == ("the stairs", long_ago)
    assert _order(board) == [frames[0].pk, frames[1].pk, frames[2].pk]
    assert _order(other_board) == [frames[1].pk]


def test_it_removes_only_the_users_own_favourites(owner, other) -> None:
    frame = _frames(owner, 1)[0]
    factories.FavouriteFactory(user=other, frame=frame)
    assert services.favourites_remove(user=owner, frames=[frame]) == []
    assert Favourite.objects.filter(user=other, frame=frame).exists()


def test_it_undoes_what_it_can_when_a_frame_or_board_went_meanwhile(owner) -> None:
    frames = _frames(owner, 2)
    board = services.board_create(owner=owner, name="A")
    services.board_add_frames(board=board, frames=frames)
    removed = services.favourites_remove(user=owner, frames=frames)
    frames[0].delete()  # nobody saves it any more: staff may delete it
    services.board_delete(board=board)
    assert services.favourites_restore(user=owner, removed=removed) == 1
    assert list(Favourite.objects.filter(user=owner).values_list("frame_id", flat=True)) == [frames[1].pk]
    assert not BoardItem.objects.exists()


# --- The zip --------------------------------------------------------------------------------
def test_it_zips_a_boards_favourites_in_the_boards_order(owner) -> None:
    frames = _frames(owner, 3)
    board = services.board_create(owner=owner, name="A")
    services.board_add_frames(board=board, frames=[frames[2], frames[0]])
    data = b"".join(services.favourites_zip(Favourite.objects.for_export(owner, board_id=board.pk)))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        rows = list(csv.DictReader(io.StringIO(archive.read("favourites.csv").decode())))
        assert [archive.getinfo(r["file"]).compress_type for r in rows] == [zipfile.ZIP_STORED] * 2
        for frame, row in zip([frames[2], frames[0]], rows, strict=True):
            assert row["timestamp"] == frame.timestamp_label
            with default_storage.open(frame.image.name) as fh:
                assert archive.read(row["file"]) == fh.read()


def _rss() -> int:
    """The process's resident memory now, in bytes (Linux)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_it_streams_5000_frames_in_flat_memory(owner, settings) -> None:
    """The archive of 5,000 favourites (80 MB of images) is made without holding it: the
    process grows by less than a quarter of its size while making it (measured as resident
    memory at every piece handed on; tracemalloc made this test seven times slower)."""
    video = factories.video_in_library(owner, n_frames=0)
    image = bytes(range(256)) * 32  # 8 KB, different for each frame below
    folder = Path(settings.MEDIA_ROOT) / "frames"
    folder.mkdir(parents=True)
    frames = []
    for i in range(5000):
        # Written straight to the test's media folder: default_storage.save() took 10 s for these.
        (folder / f"{i}.jpg").write_bytes(image[i % 256 :] + image)
        frame = Frame(video=video, timestamp_ms=i * 1000, width=4, height=3)
        frame.image.name = frame.thumbnail.name = f"frames/{i}.jpg"
        frames.append(frame)
    Frame.objects.bulk_create(frames)
    Favourite.objects.bulk_create(
        [Favourite(user=owner, frame=f, video=video, note=f"note {f.timestamp_ms}") for f in frames]
    )
    favourites = Favourite.objects.for_export(owner).iterator(chunk_size=500)
    sizes = []
    before = peak = _rss()
    for chunk in services.favourites_zip(favourites):
        sizes.append(len(chunk))
        peak = max(peak, _rss())
    total = sum(sizes)
    assert total > 5000 * len(image)
    # 6 MB measured for 82 MB (the zip's directory and a page of rows); 89 MB when the pieces
    # were kept.
    assert peak - before < total / 4, f"grew by {peak - before:,} bytes for a {total:,} byte archive"
    # Handed on as it is made: a piece of an image at a time; the end (the CSV and the zip's
    # directory, a line and an entry per frame) comes last.
    assert max(sizes[:-1]) <= services._ZIP_CHUNK + 1024
