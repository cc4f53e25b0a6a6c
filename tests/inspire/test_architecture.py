"""The house rules that code review would otherwise have to remember."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(folder: str) -> list[Path]:
    return [p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts]


def _importers(folder: str, package: str) -> list[str]:
    return [str(p) for p in _modules(folder) if any(n.split(".")[0] == package for n in _imports(p))]


def test_it_keeps_gallery_independent_of_jobs() -> None:
    assert _importers("gallery", "jobs") == []


def test_it_keeps_gallery_independent_of_the_project_package() -> None:
    # inspire holds settings, urls, wsgi and health; the catalogue needs none of it.
    assert _importers("gallery", "inspire") == []


def test_it_keeps_yt_dlp_opencv_and_pyav_behind_their_adapters() -> None:
    # yt_dlp lives in a package now, with finer rules: tests/jobs/test_adapters.py.
    for library, allowed in (
        ("cv2", "jobs/frames.py"),
        ("av", "jobs/frames.py"),
    ):
        users = {
            str(p.relative_to(ROOT))
            for folder in ("gallery", "jobs", "inspire")
            for p in _modules(folder)
            if any(n.split(".")[0] == library for n in _imports(p))
        }
        assert users == {allowed}
