"""gallery.similarity: the measure "more like this" and jobs/frames.py share, and its index keys."""

from __future__ import annotations

import numpy as np
import pytest

from gallery import similarity
from jobs import frames


def _picture(seed: int, shift: int = 0) -> np.ndarray:
    """A BGR picture of soft coloured blobs; `shift` pans it sideways by that many pixels."""
    rng = np.random.default_rng(seed)
    height, width = 180, 320
    y, x = np.mgrid[0:height, 0 : width + 40]
    image = np.zeros((height, width + 40, 3), np.float64)
    for _ in range(6):
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width + 40), rng.uniform(20, 70)
        image += np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))[..., None] * rng.uniform(40, 200, 3)
    image = image[:, shift : shift + width]
    return np.clip(image, 0, 255).astype(np.uint8)


def test_it_correlates_as_opencv_does() -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        a = rng.integers(0, 16, (9, 16)).astype(np.float32)
        b = np.roll(a, rng.integers(-2, 3), axis=1) if rng.random() < 0.5 else rng.integers(0, 16, (9, 16))
        b = b.astype(np.float32)
        assert similarity.shifted_correlation(a, b) == pytest.approx(
            frames._shifted_correlation(a, b), abs=1e-6
        )


def test_it_measures_as_the_frames_pipeline_does() -> None:
    signatures = [frames.signature(_picture(seed, shift)) for seed, shift in ((1, 0), (1, 6), (2, 0), (3, 0))]
    for a in signatures:
        for b in signatures:
            assert similarity.similarity(a, b) == pytest.approx(frames.similarity(a, b), abs=1e-6)
    assert similarity.similarity(signatures[0], signatures[1]) > frames.SIMILAR
    assert similarity.similarity("", signatures[0]) == 0.0


def test_it_gives_alike_frames_shared_keys_and_unlike_ones_few() -> None:
    base = similarity.keys(frames.signature(_picture(1)))
    panned = similarity.keys(frames.signature(_picture(1, 6)))
    others = [similarity.keys(frames.signature(_picture(seed))) for seed in range(10, 30)]
    assert len(base) == similarity.BANDS
    assert len(set(base) & set(panned)) >= 3
    assert np.mean([len(set(base) & set(other)) for other in others]) < 2


def test_it_gives_no_keys_without_a_signature() -> None:
    assert similarity.keys("") == []
    assert similarity.keys("not base64!") == []
