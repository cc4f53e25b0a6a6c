"""The yt-dlp adapter on real downloads: generated videos, a local HTTP server, yt-dlp's generic
extractor. No mocks of yt-dlp. Three seams, each named where used: ``socket.getaddrinfo`` for
host names (there is no DNS to point at 127.0.0.1 otherwise), ``ytdlp._is_public_address`` to
call a second loopback address "public" (there is no public address to redirect from), and
``ytdlp.ffprobe_path`` to run as the Docker image does, without ffmpeg.
"""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from yt_dlp.utils import DownloadError, ExtractorError, GeoRestrictedError

from jobs import ytdlp
from tests.httpserver import MediaServer, html_page, html_playlist, jsonld_video_page, rss_playlist
from tests.videos import make_audio_only, make_corrupt, make_empty, make_video

MB = 1_000_000
LIMITS = {"max_filesize": 50 * MB, "max_duration": 3600.0}


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files every server in this module serves (made once: ffmpeg is the slow part)."""
    root = tmp_path_factory.mktemp("library")
    make_video(root / "a.mp4", seconds=3)
    make_video(root / "b.mp4", seconds=2, size=(256, 144))
    make_video(root / "c.mp4", seconds=2, fps=30)
    make_video(root / "clip.webm", seconds=2, codec="vp9")
    make_audio_only(root / "song.m4a", seconds=2)
    make_corrupt(root / "corrupt.mp4")
    make_empty(root / "empty.mp4")
    make_video(root / "sd.mp4", seconds=2, size=(640, 480))
    make_video(root / "small.webm", seconds=2, size=(256, 144), codec="vp9")
    return root


@pytest.fixture
def server(library: Path) -> Iterator[MediaServer]:
    with MediaServer(library) as srv:
        yield srv


def _second_loopback_server(library: Path) -> MediaServer:
    try:
        return MediaServer(library, host="127.0.0.2").start()
    except OSError as exc:  # macOS only has 127.0.0.1 unless configured
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EINVAL):
            pytest.skip("127.0.0.2 is not available on this machine")
        raise


@pytest.fixture
def outside(library: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MediaServer]:
    """A server on 127.0.0.2 that the adapter treats as a public host; 127.0.0.1 stays private.

    Seam: only the address policy is replaced; yt-dlp, its redirect handling, DNS for names and
    our connect-time hook all run for real.
    """
    real = ytdlp._is_public_address
    monkeypatch.setattr(ytdlp, "_is_public_address", lambda address: address == "127.0.0.2" or real(address))
    srv = _second_loopback_server(library)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    path = tmp_path / "dest"
    path.mkdir()
    return path


def _download(url: str, dest: Path, **overrides: object) -> ytdlp.Download:
    options: dict[str, object] = {"dest_dir": dest, "allow_private": True, **LIMITS}
    options.update(overrides)
    return ytdlp.download(url, **options)  # type: ignore[arg-type]


def _url_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


# -- downloads that work ---------------------------------------------------------------------


def test_it_downloads_an_mp4_with_its_size_duration_and_progress(server: MediaServer, dest: Path) -> None:
    calls: list[tuple[float | None, str]] = []

    result = _download(server.url("a.mp4"), dest, progress=lambda f, m: calls.append((f, m)))

    assert result.path == dest / "video.mp4"
    assert result.path.is_file() and result.path.stat().st_size == result.filesize > 100_000
    assert [p.name for p in dest.iterdir()] == ["video.mp4"]  # no work directory left behind
    assert (result.width, result.height) == (320, 240)
    assert result.fps == pytest.approx(25)
    assert result.duration == pytest.approx(3, abs=0.2)
    assert result.provider == "generic"
    assert result.provider_id == _url_id(server.url("a.mp4"))
    assert result.url == server.url("a.mp4")
    fractions = [f for f, _ in calls if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert calls[-1] == (1.0, "Download finished")
    assert any(m.startswith("Downloading ") and m.endswith("%") for _, m in calls)


def test_it_downloads_a_webm(server: MediaServer, dest: Path) -> None:
    result = _download(server.url("clip.webm"), dest)

    assert result.path == dest / "video.webm"
    assert result.path.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"
    assert (result.width, result.height) == (320, 240)
    assert result.duration == pytest.approx(2, abs=0.2)


def _dash_manifest(representations: list[tuple[str, str, str, int | None]]) -> str:
    """A static MPEG-DASH manifest, one (file, mime type, codecs, height) per representation:
    a real multi-format source for yt-dlp's format selection, like YouTube's DASH formats."""
    sets = []
    for i, (file, mime, codecs, height) in enumerate(representations):
        size = f' width="{height * 4 // 3}" height="{height}"' if height else ""
        sets.append(
            f'<AdaptationSet mimeType="{mime}"><Representation id="r{i}" codecs="{codecs}"{size}'
            f' bandwidth="{100_000 * (i + 1)}"><BaseURL>{file}</BaseURL></Representation></AdaptationSet>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static"'
        ' mediaPresentationDuration="PT2S" minBufferTime="PT1S"'
        ' profiles="urn:mpeg:dash:profile:isoff-on-demand:2011"><Period>' + "".join(sets) + "</Period></MPD>"
    )


AVC, VP9, AAC = "avc1.42C01E", "vp09.00.10.08", "mp4a.40.2"


@pytest.mark.parametrize(
    ("representations", "max_height", "expected"),
    [
        # H.264 video-only, as tall as allowed: not the taller one, not VP9, not the audio.
        ([("b.mp4", "video/mp4", AVC, 144), ("sd.mp4", "video/mp4", AVC, 480),
          ("clip.webm", "video/webm", VP9, 240), ("song.m4a", "audio/mp4", AAC, None)], 240, (256, 144)),
        ([("b.mp4", "video/mp4", AVC, 144), ("sd.mp4", "video/mp4", AVC, 480)], 720, (640, 480)),
        # No H.264 low enough: any video-only stream within the limit.
        ([("sd.mp4", "video/mp4", AVC, 480), ("small.webm", "video/webm", VP9, 144)], 240, (256, 144)),
        # Nothing within the limit: the best there is, rather than nothing.
        ([("sd.mp4", "video/mp4", AVC, 480)], 240, (640, 480)),
    ],
)  # fmt: skip
def test_it_picks_one_video_stream_preferring_h264_within_the_height_limit(
    server: MediaServer,
    dest: Path,
    representations: list[tuple[str, str, str, int | None]],
    max_height: int,
    expected: tuple[int, int],
) -> None:
    url = server.add_page("/stream.mpd", _dash_manifest(representations), "application/dash+xml")

    result = _download(url, dest, max_height=max_height)

    assert (result.width, result.height) == expected
    media = [p for _, p in server.requests if not p.endswith(".mpd")]
    assert len(media) == 1 and not media[0].endswith(".m4a")  # one stream, no audio, no merge


def test_it_follows_a_redirect_when_private_addresses_are_allowed(server: MediaServer, dest: Path) -> None:
    url = server.add_redirect("/go", server.url("b.mp4"))

    result = _download(url, dest)

    assert (result.width, result.height) == (256, 144)
    assert ("GET", "/b.mp4") in server.requests


def test_it_names_the_file_itself_whatever_the_page_says(server: MediaServer, dest: Path) -> None:
    title = "../../etc/passwd; rm -rf ~ $(reboot) `id` video"
    url = server.add_page("/nasty.html", jsonld_video_page(title, server.url("a.mp4")))

    result = _download(url, dest)

    assert result.path == dest / "video.mp4"
    assert result.title == title  # the title is data for the catalogue, never a path
    assert [p.name for p in dest.iterdir()] == ["video.mp4"]


def test_it_leaves_the_operators_cookies_file_untouched(
    server: MediaServer, dest: Path, tmp_path: Path
) -> None:
    cookies = tmp_path / "cookies.txt"
    content = "# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t2147483647\tsession\tabc\n"
    cookies.write_text(content)

    _download(server.url("b.mp4"), dest, cookies_file=str(cookies))

    assert cookies.read_text() == content  # yt-dlp saved its cookies into a private copy


# -- inspect and ids -------------------------------------------------------------------------


def test_it_inspects_a_single_video_as_one_entry_with_the_download_id(
    server: MediaServer, dest: Path
) -> None:
    source = ytdlp.inspect(server.url("a.mp4"), allow_private=True, max_entries=10)

    assert source.kind == "video"
    assert (source.provider, source.provider_id) == ("generic", _url_id(server.url("a.mp4")))
    assert source.entries == (
        ytdlp.Entry("generic", source.provider_id, server.url("a.mp4"), source.title, source.duration),
    )
    result = _download(source.entries[0].url, dest)
    assert (result.provider, result.provider_id) == (source.provider, source.provider_id)


def test_it_lists_an_html_page_with_three_videos_as_a_playlist(server: MediaServer, tmp_path: Path) -> None:
    urls = [server.url(n) for n in ("a.mp4", "b.mp4", "c.mp4")]
    page = server.add_page("/clips.html", html_playlist("Three clips", urls))

    source = ytdlp.inspect(page, allow_private=True, max_entries=10)

    assert source.kind == "playlist"
    assert source.title == "Three clips"
    assert (source.provider, source.provider_id, source.url) == ("generic", _url_id(page), page)
    assert [e.url for e in source.entries] == urls
    assert {e.provider for e in source.entries} == {"generic"}
    assert len({e.provider_id for e in source.entries}) == 3
    # Listing is flat: the page was read, none of the videos.
    assert [p for _, p in server.requests] == ["/clips.html"]
    for i, entry in enumerate(source.entries):
        result = _download(entry.url, tmp_path / f"d{i}")
        assert (result.provider, result.provider_id) == (entry.provider, entry.provider_id)


def test_it_lists_an_rss_feed_as_a_playlist(server: MediaServer, tmp_path: Path) -> None:
    urls = [server.url("b.mp4"), server.url("c.mp4")]
    feed = server.add_page("/feed.rss", rss_playlist("Weekly clips", urls), "application/rss+xml")

    source = ytdlp.inspect(feed, allow_private=True, max_entries=10)

    assert source.kind == "playlist"
    assert source.title == "Weekly clips"
    assert [(e.url, e.title) for e in source.entries] == [
        (urls[0], "Weekly clips episode 1"),
        (urls[1], "Weekly clips episode 2"),
    ]
    for i, entry in enumerate(source.entries):
        result = _download(entry.url, tmp_path / f"d{i}")
        assert (result.provider, result.provider_id) == (entry.provider, entry.provider_id)


def test_it_gives_a_file_the_same_id_everywhere_and_other_hosts_other_ids(
    server: MediaServer, library: Path
) -> None:
    page = server.add_page(
        "/one-of-two.html", html_playlist("Two", [server.url("a.mp4"), server.url("b.mp4")])
    )
    listed = ytdlp.inspect(page, allow_private=True, max_entries=10).entries[0]
    direct = ytdlp.inspect(server.url("a.mp4"), allow_private=True, max_entries=10)
    elsewhere = _second_loopback_server(library)
    try:
        other = ytdlp.inspect(elsewhere.url("a.mp4"), allow_private=True, max_entries=10)
    finally:
        elsewhere.stop()

    assert listed.provider_id == direct.provider_id
    assert other.provider_id != direct.provider_id  # same "a.mp4", another site


def test_it_refuses_a_playlist_longer_than_the_limit(server: MediaServer) -> None:
    urls = [server.url(n) for n in ("a.mp4", "b.mp4", "c.mp4")]
    page = server.add_page("/clips.html", html_playlist("Three clips", urls))

    assert len(ytdlp.inspect(page, allow_private=True, max_entries=3).entries) == 3
    with pytest.raises(ytdlp.SourceError, match=r"^This playlist has 3 videos; the limit is 2\.$"):
        ytdlp.inspect(page, allow_private=True, max_entries=2)


def test_it_refuses_to_download_a_playlist_link(server: MediaServer, dest: Path) -> None:
    page = server.add_page("/clips.html", html_playlist("Two", [server.url("a.mp4"), server.url("b.mp4")]))

    with pytest.raises(ytdlp.SourceError, match="playlist, not a single video"):
        _download(page, dest)
    assert list(dest.iterdir()) == []


# -- sources that are not videos -------------------------------------------------------------


def test_it_reports_a_missing_video(server: MediaServer, dest: Path) -> None:
    with pytest.raises(ytdlp.SourceError, match=r"^The page or video was not found \(HTTP 404\)\.$"):
        ytdlp.inspect(server.url("nope.mp4"), allow_private=True, max_entries=10)
    with pytest.raises(ytdlp.SourceError, match=r"not found \(HTTP 404\)"):
        _download(server.url("nope.mp4"), dest)
    assert list(dest.iterdir()) == []


def test_it_reports_a_page_without_video(server: MediaServer, dest: Path) -> None:
    page = server.add_page("/about.html", html_page("About us"))

    with pytest.raises(ytdlp.SourceError, match=r"^This page has no video we can read\.$"):
        ytdlp.inspect(page, allow_private=True, max_entries=10)
    with pytest.raises(ytdlp.SourceError, match=r"^This page has no video we can read\.$"):
        _download(page, dest)


def test_it_refuses_an_audio_only_file(server: MediaServer, dest: Path) -> None:
    with pytest.raises(ytdlp.SourceError, match="audio only"):
        ytdlp.inspect(server.url("song.m4a"), allow_private=True, max_entries=10)
    with pytest.raises(ytdlp.SourceError, match="audio only"):
        _download(server.url("song.m4a"), dest)
    assert list(dest.iterdir()) == []


def test_it_refuses_audio_disguised_as_an_mp4(server: MediaServer, library: Path, dest: Path) -> None:
    url = server.add_file("/disguised.mp4", library / "song.m4a", "video/mp4")

    with pytest.raises(ytdlp.SourceError, match="audio only"):
        _download(url, dest)
    assert list(dest.iterdir()) == []


def test_it_refuses_an_html_page_served_as_a_video(server: MediaServer, dest: Path) -> None:
    url = server.add_page("/trap.mp4", html_page("Gotcha"), "video/mp4")

    with pytest.raises(ytdlp.SourceError, match=r"^The downloaded file is not a video we can read\.$"):
        _download(url, dest)
    assert list(dest.iterdir()) == []


def test_it_refuses_empty_and_corrupt_files(server: MediaServer, dest: Path) -> None:
    # Both are SourceErrors here (ffprobe reads every download); without ffprobe installed a
    # corrupt file with a valid header would come back as a Download for frames.probe to reject.
    with pytest.raises(ytdlp.SourceError, match=r"^The site sent an empty file instead of a video\.$"):
        _download(server.url("empty.mp4"), dest)
    with pytest.raises(ytdlp.SourceError, match=r"^The downloaded file is not a video we can read\.$"):
        _download(server.url("corrupt.mp4"), dest)
    assert list(dest.iterdir()) == []


def test_it_still_downloads_without_ffprobe_and_leaves_checks_to_the_frame_extractor(
    server: MediaServer, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Docker image has no ffmpeg: then only the container's magic bytes are checked here,
    # and width, height, fps and duration come from the site's metadata (none for a bare file).
    monkeypatch.setattr(ytdlp, "ffprobe_path", lambda: None)

    result = _download(server.url("a.mp4"), dest)
    assert (result.path, result.width, result.height, result.duration) == (
        dest / "video.mp4",
        None,
        None,
        None,
    )
    result = _download(server.url("corrupt.mp4"), dest / "corrupt")
    assert result.path == dest / "corrupt" / "video.mp4"  # frames.probe() is the one to refuse this
    with pytest.raises(ytdlp.SourceError, match="not a video we can read"):
        _download(server.add_page("/page.mp4", html_page("Not a video"), "video/mp4"), dest / "html")


# -- limits ----------------------------------------------------------------------------------


def test_it_refuses_a_long_video_before_downloading_it(server: MediaServer, dest: Path) -> None:
    page = server.add_page(
        "/long.html", jsonld_video_page("Long", server.url("a.mp4"), duration_s=3 * 3600 + 1)
    )
    calls: list[tuple[float | None, str]] = []

    with pytest.raises(ytdlp.SourceError, match=r"^The video is longer than the 3 h limit\.$"):
        _download(page, dest, max_duration=3 * 3600, progress=lambda f, m: calls.append((f, m)))

    assert list(dest.iterdir()) == []
    assert calls == []  # not even "starting"


def test_it_refuses_a_long_video_after_downloading_when_nothing_said_how_long(
    server: MediaServer, dest: Path
) -> None:
    with pytest.raises(ytdlp.SourceError, match=r"^The video is longer than the 2 s limit\.$"):
        _download(server.url("a.mp4"), dest, max_duration=2)
    assert list(dest.iterdir()) == []


def test_it_refuses_a_big_video_before_downloading_when_the_page_gives_its_size(
    server: MediaServer, dest: Path
) -> None:
    page = server.add_page("/big.html", jsonld_video_page("Big", server.url("a.mp4"), size_bytes=80 * MB))
    calls: list[tuple[float | None, str]] = []

    with pytest.raises(ytdlp.SourceError, match=r"^The video is larger than the 50 MB limit\.$"):
        _download(page, dest, progress=lambda f, m: calls.append((f, m)))
    assert list(dest.iterdir()) == []
    assert calls == []


def test_it_stops_a_download_over_the_size_limit_and_leaves_nothing(server: MediaServer, dest: Path) -> None:
    # Content-Length says too much: yt-dlp's own check stops (silently), we say why.
    with pytest.raises(ytdlp.SourceError, match=r"^The video is larger than the 100 KB limit\.$"):
        _download(server.url("a.mp4"), dest, max_filesize=100_000)
    assert list(dest.iterdir()) == []


def test_it_stops_an_unsized_download_once_it_passes_the_limit(
    server: MediaServer, library: Path, dest: Path
) -> None:
    # No Content-Length: only the byte count of our progress hook can stop it.
    url = server.add_file("/stream.mp4", library / "a.mp4", content_length=False)
    calls: list[tuple[float | None, str]] = []

    with pytest.raises(ytdlp.SourceError, match=r"^The video is larger than the 100 KB limit\.$"):
        _download(url, dest, max_filesize=100_000, progress=lambda f, m: calls.append((f, m)))
    assert list(dest.iterdir()) == []
    assert (1.0, "Download finished") not in calls


# -- URL checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", ytdlp.MSG_NOT_A_LINK),
        ("", ytdlp.MSG_NOT_A_LINK),
        ("http://", ytdlp.MSG_NOT_A_LINK),
        ("https://exa mple.com/", ytdlp.MSG_NOT_A_LINK),
        ("http://example.com:99999/", ytdlp.MSG_NOT_A_LINK),
        ("file:///etc/passwd", ytdlp.MSG_SCHEME),
        ("ftp://example.com/video.mp4", ytdlp.MSG_SCHEME),
        ("javascript:alert(1)", ytdlp.MSG_SCHEME),
        ("https://user:secret@example.com/video.mp4", ytdlp.MSG_CREDENTIALS),
    ],
)
def test_it_refuses_what_is_not_a_web_link(url: str, message: str, dest: Path) -> None:
    for allow_private in (False, True):
        with pytest.raises(ytdlp.SourceError) as caught:
            ytdlp.check_url(url, allow_private=allow_private)
        assert str(caught.value) == message
    with pytest.raises(ytdlp.SourceError, match=message):
        ytdlp.inspect(url, allow_private=True, max_entries=10)
    with pytest.raises(ytdlp.SourceError, match=message):
        _download(url, dest)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("  https://Example.COM:443/a.mp4  ", "https://example.com/a.mp4"),
        ("HTTP://example.com:80", "http://example.com/"),
        ("http://example.com:8080/x?q=1#t=3", "http://example.com:8080/x?q=1"),
        ("youtube.com/watch?v=dQw4w9WgXcQ", "https://youtube.com/watch?v=dQw4w9WgXcQ"),
        ("//vimeo.com/76979871", "https://vimeo.com/76979871"),
        ("http://[::1]:8000/a", "http://[::1]:8000/a"),
        # The fragment carries yt-dlp's "smuggled" data (extra headers...): never from users.
        ("http://example.com/a.mp4#__youtubedl_smuggle=%7B%7D", "http://example.com/a.mp4"),
    ],
)
def test_it_normalises_links(url: str, expected: str) -> None:
    assert ytdlp.check_url(url, allow_private=True) == expected


PRIVATE_URLS = [
    "http://10.0.0.1/",
    "http://[::1]/",
    "http://localhost/",
    "http://LOCALHOST./video.mp4",
    "http://192.168.1.10/video.mp4",
    "http://172.16.0.5/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://0x7f.1/",  # and in hex shorthand
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[64:ff9b::a00:1]/",  # NAT64 for 10.0.0.1
    "http://[2002:7f00:1::]/",  # 6to4 for 127.0.0.1
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_it_refuses_private_addresses(url: str) -> None:
    with pytest.raises(ytdlp.SourceError) as caught:
        ytdlp.check_url(url, allow_private=False)
    assert str(caught.value) == ytdlp.MSG_PRIVATE
    assert ytdlp.check_url(url, allow_private=True)  # development and tests may use them


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


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "93.184.216.34"],
)
def test_it_accepts_public_addresses(address: str) -> None:
    assert ytdlp._is_public_address(address)


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


def test_it_reports_a_host_that_does_not_exist() -> None:
    # .invalid never resolves (RFC 6761).
    with pytest.raises(ytdlp.SourceError, match=r"^We could not find the website nothing-here\.invalid\.$"):
        ytdlp.check_url("https://nothing-here.invalid/video.mp4", allow_private=False)


# -- the connect-time guard: redirects and DNS rebinding --------------------------------------


def test_it_downloads_from_a_public_host_with_the_guard_on(outside: MediaServer, dest: Path) -> None:
    result = _download(outside.url("b.mp4"), dest, allow_private=False)

    assert (result.width, result.height) == (256, 144)


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


# -- quick_match, options, error messages ----------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtube.com/watch?v=dQw4w9WgXcQ&t=42s",
        "https://m.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ?si=abc",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ",
        "https://www.youtube.com/embed/dQw4w9WgXcQ",
        "youtube.com/watch?v=dQw4w9WgXcQ",
    ],
)
def test_it_matches_youtube_links_without_network(url: str) -> None:
    assert ytdlp.quick_match(url) == ("youtube", "dQw4w9WgXcQ")


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/video.mp4",
        "https://www.youtube.com/playlist?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG",
        "https://www.youtube.com/@somechannel",
        "not a url",
        "file:///etc/passwd",
    ],
)
def test_it_does_not_quick_match_playlists_or_generic_links(url: str) -> None:
    assert ytdlp.quick_match(url) is None


def test_it_matches_other_sites_by_their_extractor() -> None:
    assert ytdlp.quick_match("https://vimeo.com/76979871") == ("vimeo", "76979871")


def test_it_builds_options_for_one_safe_download(tmp_path: Path) -> None:
    options = ytdlp.build_options(
        dest_dir=tmp_path,
        max_height=720,
        max_filesize=5 * MB,
        cookies_file="/run/secrets/cookies.txt",
        socket_timeout=7,
        progress_hooks=[print],
    )

    assert options["quiet"] and options["no_warnings"] and options["noprogress"]
    assert options["noplaylist"] is True and options["ignoreerrors"] is False
    assert options["restrictfilenames"] is True
    assert options["outtmpl"] == {"default": "video.%(ext)s"}
    assert options["paths"] == {"home": str(tmp_path), "temp": str(tmp_path)}
    assert options["cachedir"] is False
    assert options["proxy"] == ""
    assert options["socket_timeout"] == 7
    assert options["max_filesize"] == 5 * MB
    assert options["cookiefile"] == "/run/secrets/cookies.txt"
    assert options["progress_hooks"] == [print]
    assert options["format"].split("/") == [
        "bv[height<=?720][vcodec^=avc1][ext=mp4][filesize<=?5000000][filesize_approx<=?5000000][protocol^=http]",
        "bv[height<=?720][filesize<=?5000000][filesize_approx<=?5000000][protocol^=http]",
        "b[height<=?720][filesize<=?5000000][filesize_approx<=?5000000][protocol^=http]",
        "b[protocol^=http]",
    ]
    assert "extract_flat" not in options
    assert "+" not in options["format"]  # one stream, never a merge


def test_it_builds_flat_options_without_cookies() -> None:
    options = ytdlp.build_options(
        dest_dir=None, max_height=480, max_filesize=None, cookies_file=None, socket_timeout=20, flat=True
    )

    assert options["extract_flat"] == "in_playlist"
    assert "cookiefile" not in options and "paths" not in options and "max_filesize" not in options
    assert "[height<=?480]" in options["format"]


def test_it_points_yt_dlp_at_the_deno_runtime_and_local_ejs_scripts() -> None:
    options = ytdlp.build_options(
        dest_dir=None, max_height=720, max_filesize=None, cookies_file=None, socket_timeout=20
    )

    path = options["js_runtimes"]["deno"]["path"]
    assert Path(path).is_file() and os.access(path, os.X_OK)
    assert options["remote_components"] == []  # solver scripts from the yt-dlp-ejs package only
    with ytdlp._GuardedYoutubeDL(options, allow_private=False) as ydl:
        info = ydl._js_runtimes["deno"].info  # yt-dlp's own probe: runs `deno --version`
    assert info is not None and info.supported and info.path == path


def test_it_can_run_the_youtube_challenge_solver_offline() -> None:
    """Readiness for YouTube without YouTube: the installed yt-dlp-ejs scripts are the ones this
    yt-dlp accepts (it checks version and hash), and deno runs them with yt-dlp's own flags."""
    # Imported here: yt-dlp internals, so an upgrade that moves them fails this test only.
    import yt_dlp_ejs
    import yt_dlp_ejs.yt.solver
    from yt_dlp.extractor.youtube.jsc._builtin.deno import DenoJCP
    from yt_dlp.extractor.youtube.jsc._builtin.vendor import HASHES, VERSION

    lib, core = yt_dlp_ejs.yt.solver.lib(), yt_dlp_ejs.yt.solver.core()
    assert yt_dlp_ejs.version.split(".")[:2] == VERSION.split(".")[:2]
    assert hashlib.sha3_512(lib.encode()).hexdigest() == HASHES["yt.solver.lib.min.js"]
    assert hashlib.sha3_512(core.encode()).hexdigest() == HASHES["yt.solver.core.min.js"]

    script = f"{lib}\nObject.assign(globalThis, lib);\n{core}\nconsole.log(typeof jsc);\n"
    deno = [ytdlp.deno_path(), "run", *DenoJCP._DENO_BASE_OPTIONS, "--no-npm", "--cached-only", "-"]
    done = subprocess.run(deno, input=script, capture_output=True, text=True, timeout=60, check=False)

    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "function", "")


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (ExtractorError("Private video. Sign in if you've been granted access to this video"), "private"),
        (ExtractorError("Sign in to confirm your age. This video may be inappropriate"), "age-restricted"),
        # YouTube writes "you\u2019re" with a typographic apostrophe.
        (
            ExtractorError("Sign in to confirm you\u2019re not a bot. Use --cookies-from-browser"),
            "not a robot",
        ),
        (ExtractorError("This video is available to this channel's members-only content"), "signed-in"),
        (GeoRestrictedError("The uploader has not made this video available in your country."), "region"),
        (ExtractorError("Video unavailable. This video has been removed by the uploader"), "unavailable"),
        (ExtractorError("This live event will begin in 3 hours."), "not been published"),
        (ExtractorError("Unable to download", cause=TimeoutError("timed out")), "too long to answer"),
        (
            ExtractorError("Unable to download", cause=socket.gaierror(-2, "Name or service not known")),
            "find",
        ),
        (ExtractorError("Unable to download", cause=ConnectionRefusedError(111, "refused")), "connect"),
        (ExtractorError("Something new and strange"), "We could not read a video from this link."),
    ],
)
def test_it_turns_yt_dlp_errors_into_plain_words(exc: Exception, message: str) -> None:
    wrapped = DownloadError(f"ERROR: {exc}", (type(exc), exc, None))

    text = ytdlp.readable_error(wrapped)

    assert message in text
    assert "ERROR" not in text and "Traceback" not in text
