"""jobs.units: one way to write sizes and durations, with a megabyte of 1,000,000 bytes."""

from __future__ import annotations

import pytest

from jobs.units import GB, KB, MB, duration_text, size_text


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (20 * MB, "20 MB"),  # INSPIRE_MAX_FILESIZE_MB=20 reads as it is set, not "21 MB"
        (500 * MB, "500 MB"),
        (2048 * MB, "2 GB"),
        (1536 * MB, "1.5 GB"),
        (100 * KB, "100 KB"),
        (9_960_000, "10 MB"),
        (1_250_000, "1.2 MB"),
        (999, "999 bytes"),
        (1, "1 byte"),
        (0, "0 bytes"),
        (3 * GB, "3 GB"),
    ],
)
def test_it_writes_sizes_in_megabytes_of_a_million_bytes(size: int, text: str) -> None:
    assert size_text(size) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (59.6, "1 min"),
        (65, "1 min 5 s"),
        (300, "5 min"),
        (3600, "1 h"),
        (3 * 3600, "3 h"),
        (5400, "1 h 30 min"),
        (3605, "1 h 0 min 5 s"),
        (3661, "1 h 1 min 1 s"),
    ],
)
def test_it_writes_durations_without_empty_parts(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text
