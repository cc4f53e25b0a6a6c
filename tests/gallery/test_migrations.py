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
