"""requirements/*.lock: what `make` and the Dockerfile install, every transitive dependency pinned
with its hashes, made by `make lock` from the pins people edit (requirements/*.txt)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.helpers import ROOT

REQUIREMENTS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+)", re.M)


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line, following `-r` includes."""
    text = path.read_text()
    pins = {_name(name): version for name, version in PIN.findall(text)}
    for include in re.findall(r"^-r\s+(\S+)", text, re.M):
        pins |= _pins(path.parent / include)
    return pins


def _lock_entries(path: Path) -> dict[str, str]:
    """name -> the entry's text (its pin line, hashes and `# via` comments)."""
    blocks = re.split(r"\n(?=[A-Za-z0-9])", path.read_text())
    return {_name(m.group(1)): block for block in blocks if (m := PIN.match(block))}


@pytest.mark.parametrize("name", ["base", "dev"])
def test_it_locks_every_pin_at_the_version_people_chose(name: str) -> None:
    locked = _pins(REQUIREMENTS / f"{name}.lock")
    chosen = _pins(REQUIREMENTS / f"{name}.txt")

    stale = {pkg: (version, locked.get(pkg)) for pkg, version in chosen.items() if locked.get(pkg) != version}
    assert stale == {}, f"requirements/{name}.txt changed: run `make lock` ({stale})"


@pytest.mark.parametrize("name", ["base", "dev"])
def test_it_hashes_every_locked_package(name: str) -> None:
    entries = _lock_entries(REQUIREMENTS / f"{name}.lock")

    assert len(entries) > len(_pins(REQUIREMENTS / f"{name}.txt"))  # the transitive ones too
    assert [pkg for pkg, block in entries.items() if "--hash=sha256:" not in block] == []


def test_it_runs_make_run_and_make_test_on_the_same_versions() -> None:
    base, dev = _pins(REQUIREMENTS / "base.lock"), _pins(REQUIREMENTS / "dev.lock")

    assert {pkg: (v, dev.get(pkg)) for pkg, v in base.items() if dev.get(pkg) != v} == {}


@pytest.mark.parametrize("name", ["base", "dev"])
def test_it_names_no_package_index(name: str) -> None:
    # pip's own configuration picks the index (a mirror, a proxy); the hashes hold for any.
    text = (REQUIREMENTS / f"{name}.lock").read_text()

    assert not re.search(r"^\s*--(index-url|extra-index-url|find-links|trusted-host)", text, re.M)
    assert "file:" not in text and "://" not in text
