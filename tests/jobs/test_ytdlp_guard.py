"""jobs.ytdlp.guard: every connection yt-dlp opens goes to a public address, checked when it
connects, on every redirect hop; and the private yt-dlp code it stands on is still there.

Real yt-dlp, real sockets, a local HTTP server. Two seams, each named where used:
``socket.getaddrinfo`` for host names (there is no DNS to point at 127.0.0.1 otherwise), and
``policy.is_public_address`` to call a second loopback address "public" (there is no public
address to redirect from). What is served needs not be a video: the guard never looks inside.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yt_dlp

from jobs import ytdlp
from jobs.units import MB
from jobs.ytdlp import guard, policy
from tests.httpserver import MediaServer, html_playlist, second_loopback_server


def test_it_finds_every_private_yt_dlp_name_the_guard_uses() -> None:
    # Fails on a yt-dlp upgrade that moves or renames any of them: adapt guard.py first.
    assert guard.private_api_problems() == []


def test_it_names_what_moved_when_a_private_name_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(guard.PRIVATE_API, "yt_dlp.networking._helper._socket_connect_v2", ())
    monkeypatch.setitem(guard.PRIVATE_METHODS, "yt_dlp.YoutubeDL.dl", ("name", "info", "subtitles_v2"))

    problems = guard.private_api_problems()

    assert len(problems) == 2
    assert problems[0].startswith("yt-dlp ")
    assert "no longer has yt_dlp.networking._helper._socket_connect_v2" in problems[0]
    assert "jobs/ytdlp/guard.py" in problems[0]
    assert "yt_dlp.YoutubeDL.dl no longer takes subtitles_v2" in problems[1]
    with pytest.raises(ImportError, match=r"no longer has yt_dlp\.networking\._urllib\.Gone"):
        guard._lookup("yt_dlp.networking._urllib.Gone")


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("library")
    for name in ("a.mp4", "b.mp4"):
        (root / name).write_bytes(name.encode() * 50_000)
    return root


@pytest.fixture
def outside(library: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MediaServer]:
    """A server on 127.0.0.2 that the adapter treats as a public host; 127.0.0.1 stays private.

    Seam: only the address policy is replaced; yt-dlp, its redirect handling, DNS for names and
    our connect-time hook all run for real.
    """
    real = policy.is_public_address
    monkeypatch.setattr(policy, "is_public_address", lambda address: address == "127.0.0.2" or real(address))
    srv = second_loopback_server(library)
    if srv is None:
        pytest.skip("127.0.0.2 is not available on this machine")
    try:
        yield srv
    finally:
        srv.stop()


def _download(url: str, dest: Path, **overrides: object) -> ytdlp.Download:
    options: dict[str, object] = {"dest_dir": dest, "allow_private": True, "max_filesize": 50 * MB}
    options.update({"max_duration": 3600.0, **overrides})
    return ytdlp.download(url, **options)  # type: ignore[arg-type]


def test_it_refuses_the_local_server_without_connecting(server: MediaServer, dest: Path) -> None:
    url = server.url("a.mp4")

    for call in (
        lambda: ytdlp.inspect(url, allow_private=False, max_entries=10),
        lambda: _download(url, dest, allow_private=False),
    ):
        with pytest.raises(ytdlp.SourceError, match="private or local network"):
            call()
    assert server.requests == []
    assert list(dest.iterdir()) == []


def test_it_refuses_a_public_looking_name_that_resolves_to_loopback(
    server: MediaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Seam: DNS. This name "resolves" to 127.0.0.1 and ::1, as a hostile DNS record would.
    real = socket.getaddrinfo

    def fake_getaddrinfo(host: str, *args: object, **kwargs: object) -> list:
        if host == "videos.example.com":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", server.port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", server.port)),
            ]
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    url = f"http://videos.example.com:{server.port}/a.mp4"

    with pytest.raises(ytdlp.SourceError, match="private or local network"):
        ytdlp.check_url(url, allow_private=False)
    with pytest.raises(ytdlp.SourceError, match="private or local network"):
        ytdlp.inspect(url, allow_private=False, max_entries=10)
    assert server.requests == []


def test_it_downloads_from_a_public_host_with_the_guard_on(outside: MediaServer, dest: Path) -> None:
    result = _download(outside.url("b.mp4"), dest, allow_private=False)

    assert result.path.read_bytes() == (outside.root / "b.mp4").read_bytes()


@pytest.mark.parametrize("target", ["ip", "name"])
def test_it_refuses_a_redirect_to_a_private_address(
    outside: MediaServer, server: MediaServer, dest: Path, target: str
) -> None:
    host = "127.0.0.1" if target == "ip" else "localhost"
    url = outside.add_redirect("/go", f"http://{host}:{server.port}/a.mp4")

    with pytest.raises(ytdlp.SourceError, match="private or local network"):
        ytdlp.inspect(url, allow_private=False, max_entries=10)
    with pytest.raises(ytdlp.SourceError, match="private or local network"):
        _download(url, dest, allow_private=False)

    assert ("GET", "/go") in outside.requests  # the first hop was allowed...
    assert server.requests == []  # ...the second never connected
    assert list(dest.iterdir()) == []


def test_it_refuses_a_playlist_entry_that_redirects_inside(
    outside: MediaServer, server: MediaServer, dest: Path
) -> None:
    hop = outside.add_redirect("/clip.mp4", server.url("a.mp4"), code=307)
    page = outside.add_page("/list.html", html_playlist("Two", [outside.url("b.mp4"), hop]))
    source = ytdlp.inspect(page, allow_private=False, max_entries=10)

    assert [e.url for e in source.entries] == [outside.url("b.mp4"), hop]
    with pytest.raises(ytdlp.SourceError, match="private or local network"):
        _download(source.entries[1].url, dest, allow_private=False)
    assert server.requests == []


def test_it_checks_the_address_again_when_connecting(
    outside: MediaServer, server: MediaServer, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Seam: DNS again. DNS rebinding: public (here 127.0.0.2) when we check the link, private
    # when yt-dlp connects a moment later. Only a check at connect time can catch this.
    real = socket.getaddrinfo
    answers = iter(["127.0.0.2"])

    def rebinding_getaddrinfo(host: str, port: object, *args: object, **kwargs: object) -> list:
        if host == "rebind.example.com":
            address = next(answers, "127.0.0.1")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)

    with pytest.raises(ytdlp.SourceError, match="private or local network"):
        _download(f"http://rebind.example.com:{server.port}/a.mp4", dest, allow_private=False)
    assert server.requests == []


def test_it_refuses_a_redirect_to_another_scheme(server: MediaServer, dest: Path) -> None:
    url = server.add_redirect("/go", "file:///etc/passwd")

    with pytest.raises(ytdlp.SourceError, match=r"^The site redirected to a link we cannot follow\.$"):
        _download(url, dest)
    assert list(dest.iterdir()) == []


def test_it_loads_the_extractors_yt_dlp_would_in_its_order() -> None:
    # The set-up is computed once a process (guard._default_extractors); it must be yt-dlp's own.
    plain = yt_dlp.YoutubeDL({"quiet": True})
    ours = guard.GuardedYoutubeDL({"quiet": True}, allow_private=True)
    again = guard.GuardedYoutubeDL({"quiet": True}, allow_private=True)
    assert list(ours._ies) == list(plain._ies) == list(again._ies)
    assert len(ours._ies) > 1000
    only_generic = {"quiet": True, "allowed_extractors": ["generic"]}
    restricted = guard.GuardedYoutubeDL(only_generic, allow_private=True)
    assert list(restricted._ies) == ["Generic"]
