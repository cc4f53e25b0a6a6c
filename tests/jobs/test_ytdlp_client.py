"""jobs.ytdlp.client on real downloads: generated videos, a local HTTP server, yt-dlp's generic
extractor. No mocks of yt-dlp. What a download is (a video, how long) is for jobs.frames.probe to
say, tested in test_frames.py and test_pipeline.py; the guard and the URL policy have their own
test modules.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from jobs import ytdlp
from jobs.units import MB
from jobs.ytdlp.guard import GuardedYoutubeDL
from tests.httpserver import (
    MediaServer,
    html_page,
    html_playlist,
    jsonld_video_page,
    rss_playlist,
    second_loopback_server,
)
from tests.videos import make_audio_only, make_corrupt, make_empty, make_video

LIMITS = {"max_filesize": 50 * MB, "max_duration": 3600.0}


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files every server in this module serves (made once: encoding is the slow part)."""
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


def _download(url: str, dest: Path, **overrides: object) -> ytdlp.Download:
    options: dict[str, object] = {"dest_dir": dest, "allow_private": True, **LIMITS}
    options.update(overrides)
    return ytdlp.download(url, **options)  # type: ignore[arg-type]


def _url_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


# -- downloads that work ---------------------------------------------------------------------


def test_it_downloads_an_mp4_with_its_size_and_progress(server: MediaServer, dest: Path) -> None:
    calls: list[tuple[float | None, str]] = []

    result = _download(server.url("a.mp4"), dest, progress=lambda f, m: calls.append((f, m)))

    assert result.path == dest / "video.mp4"
    assert result.path.is_file() and result.path.stat().st_size == result.filesize > 100_000
    assert [p.name for p in dest.iterdir()] == ["video.mp4"]  # no work directory left behind
    # A bare file comes with no metadata; jobs.frames.probe measures it.
    assert (result.width, result.height, result.fps, result.duration) == (None, None, None, None)
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
    assert result.path.read_bytes() == (server.root / "clip.webm").read_bytes()


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
          ("clip.webm", "video/webm", VP9, 240), ("song.m4a", "audio/mp4", AAC, None)], 240, "/b.mp4"),
        ([("b.mp4", "video/mp4", AVC, 144), ("sd.mp4", "video/mp4", AVC, 480)], 720, "/sd.mp4"),
        # No H.264 low enough: any video-only stream within the limit.
        ([("sd.mp4", "video/mp4", AVC, 480), ("small.webm", "video/webm", VP9, 144)], 240, "/small.webm"),
        # Nothing within the limit: the best there is, rather than nothing.
        ([("sd.mp4", "video/mp4", AVC, 480)], 240, "/sd.mp4"),
    ],
)  # fmt: skip
def test_it_picks_one_video_stream_preferring_h264_within_the_height_limit(
    server: MediaServer,
    dest: Path,
    representations: list[tuple[str, str, str, int | None]],
    max_height: int,
    expected: str,
) -> None:
    url = server.add_page("/stream.mpd", _dash_manifest(representations), "application/dash+xml")

    result = _download(url, dest, max_height=max_height)

    media = [p for _, p in server.requests if not p.endswith(".mpd")]
    assert media == [expected]  # one stream, no audio, no merge
    assert result.path.read_bytes() == (server.root / expected.lstrip("/")).read_bytes()


def test_it_follows_a_redirect_when_private_addresses_are_allowed(server: MediaServer, dest: Path) -> None:
    url = server.add_redirect("/go", server.url("b.mp4"))

    result = _download(url, dest)

    assert result.path.read_bytes() == (server.root / "b.mp4").read_bytes()
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
    # Listing is flat: the page was read (twice: once more for its <video> titles), none of the videos.
    assert [p for _, p in server.requests] == ["/clips.html", "/clips.html"]
    for i, entry in enumerate(source.entries):
        result = _download(entry.url, tmp_path / f"d{i}")
        assert (result.provider, result.provider_id) == (entry.provider, entry.provider_id)


def test_it_names_the_videos_of_an_html_page_by_their_own_title_or_file(server: MediaServer) -> None:
    body = f"""<h1>Island tours</h1>
    <video controls title="Beach house at noon" src="{server.url("a.mp4")}"></video>
    <video controls aria-label="Harbour &amp; boats"><source src="/b.mp4" type="video/mp4"></video>
    <video controls src="{server.url("sd.mp4")}"></video>
    <video controls src="{server.url("c.mp4")}?take=1"></video>
    <video controls src="{server.url("c.mp4")}?take=2"></video>"""
    page = server.add_page("/tours.html", html_page("Island tours", body))

    source = ytdlp.inspect(page, allow_private=True, max_entries=10)

    assert [e.title for e in source.entries] == [
        "Beach house at noon",  # its <video title>
        "Harbour & boats",  # its aria-label, its file given by a <source> relative to the page
        "sd",  # its file's name
        "Island tours (4)",  # two files of one name: yt-dlp's numbering tells them apart
        "Island tours (5)",
    ]


def test_it_keeps_the_file_names_when_the_page_cannot_be_read_again(server: MediaServer) -> None:
    urls = [server.url(n) for n in ("a.mp4", "b.mp4")]
    page = server.add_page("/two.html", html_playlist("Two clips", urls))
    original = GuardedYoutubeDL.urlopen
    calls = []

    def second_read_fails(self, request):  # the page read by yt-dlp, then a failing re-read
        calls.append(request)
        if len(calls) > 1:
            raise OSError("connection reset")
        return original(self, request)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(GuardedYoutubeDL, "urlopen", second_read_fails)
        source = ytdlp.inspect(page, allow_private=True, max_entries=10)
    assert len(calls) == 2
    assert [e.title for e in source.entries] == ["a", "b"]


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
    elsewhere = second_loopback_server(library)
    if elsewhere is None:
        pytest.skip("127.0.0.2 is not available on this machine")
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


def test_it_refuses_an_empty_file(server: MediaServer, dest: Path) -> None:
    with pytest.raises(ytdlp.SourceError, match=r"^The site sent an empty file instead of a video\.$"):
        _download(server.url("empty.mp4"), dest)
    assert list(dest.iterdir()) == []


def test_it_leaves_judging_the_content_to_the_probe(server: MediaServer, dest: Path) -> None:
    # A corrupt file or an HTML page named .mp4 comes back as it is: jobs.frames.probe, the one
    # check of what a file holds, refuses them (tests/jobs/test_pipeline.py).
    assert _download(server.url("corrupt.mp4"), dest / "corrupt").path == dest / "corrupt" / "video.mp4"
    page = server.add_page("/trap.mp4", html_page("Gotcha"), "video/mp4")
    assert _download(page, dest / "page").path.read_bytes().startswith(b"<!doctype html>")


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


# -- quick_match and options -----------------------------------------------------------------


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
    with GuardedYoutubeDL(options, allow_private=False) as ydl:
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
