"""frames_add stores a run's frames all together or not at all; file_save leaves no partial file."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage

from gallery import services
from gallery.models import Frame
from tests import factories


def _Still(timestamp_ms: int) -> factories.Still:
    return factories.Still(
        timestamp_ms,
        width=64,
        height=36,
        jpeg=b"\xff\xd8" + b"j" * 5000,
        thumbnail=b"t" * 1000,
        thumbnail_ext="webp",
        dhash=7,
        brightness=100.0,
        contrast=30.0,
        sharpness=50.0,
        palette=("#112233",),
    )


def _media_files() -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_it_stores_every_frame_of_a_run(db) -> None:
    video = factories.VideoFactory()
    frames = services.frames_add(video=video, stills=[_Still(1000), _Still(2000), _Still(2000)])
    assert [f.timestamp_ms for f in frames] == [1000, 2000]  # a moment already taken is skipped
    assert Frame.objects.filter(video=video).count() == 2
    assert len(_media_files()) == 4


def test_it_keeps_nothing_of_a_run_when_the_disk_fills_half_way(db, monkeypatch) -> None:
    """The real disk is filled in tests/reliability/test_disk_full.py; here the fifth write fails
    after writing half of its file, as FileSystemStorage does when the disk fills."""
    real_save, calls = FileSystemStorage._save, []

    def filling(self, name, content):
        calls.append(name)
        if len(calls) == 5:
            Path(self.path(name)).parent.mkdir(parents=True, exist_ok=True)
            Path(self.path(name)).write_bytes(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", filling)
    video = factories.VideoFactory()
    with pytest.raises(ValidationError) as full:
        services.frames_add(video=video, stills=[_Still(t) for t in (1000, 2000, 3000, 4000)])
    assert full.value.messages == [services.STORAGE_FULL]
    assert not Frame.objects.exists()
    assert _media_files() == []  # neither the four whole files nor the half one
