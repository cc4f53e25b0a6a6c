"""Migrations that change data, run forwards on rows written by the schema before them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db(transaction=True)
def test_it_gives_existing_favourites_their_frames_video() -> None:
    before, after = [("gallery", "0001_initial")], [("gallery", "0002_favourite_video")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    user = apps.get_model("auth", "User").objects.create(username="keeper")
    Video, Frame, Favourite = (apps.get_model("gallery", name) for name in ("Video", "Frame", "Favourite"))
    frames = [
        Frame.objects.create(
            video=Video.objects.create(provider="generic", provider_id=f"v{i}"),
            timestamp_ms=1000,
            image="frames/a.jpg",
            thumbnail="thumbs/a.jpg",
            width=4,
            height=3,
        )
        for i in range(2)
    ]
    for frame in frames:
        Favourite.objects.create(user=user, frame=frame)

    executor = MigrationExecutor(connection)  # reloaded: the graph as it now stands
    executor.migrate(after)
    Favourite = executor.loader.project_state(after).apps.get_model("gallery", "Favourite")
    assert sorted(Favourite.objects.values_list("frame__video_id", "video_id")) == sorted(
        (frame.video_id, frame.video_id) for frame in frames
    )
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_it_indexes_the_colours_and_likeness_of_frames_stored_before() -> None:
    from gallery import colour, similarity
    from jobs import frames as frames_adapter
    from tests.gallery.test_similarity import _picture

    before, after = [("gallery", "0006_board")], [("gallery", "0007_frame_colour")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    Video, Frame = (apps.get_model("gallery", name) for name in ("Video", "Frame"))
    video = Video.objects.create(provider="generic", provider_id="old")
    signature = frames_adapter.signature(_picture(1))
    palettes = [["#3a7bd5", "#d53a3a", "#d53a3a"], [], ["javascript:", "#ffffff"]]
    frames = [
        Frame.objects.create(
            video=video,
            timestamp_ms=1000 * i,
            image="frames/a.jpg",
            thumbnail="thumbs/a.jpg",
            width=4,
            height=3,
            palette=palette,
            signature=signature if i == 0 else "",
        )
        for i, palette in enumerate(palettes)
    ]

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    apps = executor.loader.project_state(after).apps
    FrameColour, FrameKey = (apps.get_model("gallery", name) for name in ("FrameColour", "FrameKey"))
    colours = list(
        FrameColour.objects.order_by("frame_id", "position").values_list("frame_id", "position", "bin")
    )
    assert colours == [
        (frames[0].pk, 0, colour.bin_of(colour.lab("#3a7bd5"))),
        (frames[0].pk, 1, colour.bin_of(colour.lab("#d53a3a"))),
        (frames[2].pk, 1, colour.bin_of(colour.lab("#ffffff"))),
    ]
    assert set(FrameKey.objects.values_list("frame_id", "key")) == {
        (frames[0].pk, key) for key in similarity.keys(signature)
    }
    assert FrameColour.objects.filter(video_id=video.pk).count() == 3
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
