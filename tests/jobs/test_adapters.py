"""Where the third-party media libraries may be imported: yt-dlp behind jobs/ytdlp/ (its private
modules behind the guard alone), PyAV and OpenCV behind jobs/frames.py."""

from __future__ import annotations

from tests.inspire.test_architecture import ROOT, _imports, _modules


def _importers(library: str) -> dict[str, set[str]]:
    """{module path: the names of `library` it imports} over the apps and the project package."""
    found = {}
    for folder in ("gallery", "jobs", "inspire"):
        for path in _modules(folder):
            hits = {name for name in _imports(path) if name.split(".")[0] == library}
            if hits:
                found[str(path.relative_to(ROOT))] = hits
    return found


def test_it_keeps_yt_dlp_inside_jobs_ytdlp() -> None:
    users = _importers("yt_dlp")
    assert users and all(path.startswith("jobs/ytdlp/") for path in users), users
    assert "jobs/ytdlp/policy.py" not in users


def test_it_keeps_yt_dlps_private_code_in_the_guard() -> None:
    private = {
        path
        for path, names in _importers("yt_dlp").items()
        if any(part.startswith("_") for name in names for part in name.split("."))
    }
    assert private <= {"jobs/ytdlp/guard.py"}
    # The guard reaches them by dotted path (so that a move names itself): no other file may.
    for path in (ROOT / "jobs").rglob("*.py"):
        if path.name != "guard.py":
            text = path.read_text()
            assert "yt_dlp.networking._" not in text and "yt_dlp.downloader" not in text, path


def test_it_keeps_pyav_and_opencv_inside_jobs_frames() -> None:
    assert set(_importers("av")) == {"jobs/frames.py"}
    assert set(_importers("cv2")) == {"jobs/frames.py"}
