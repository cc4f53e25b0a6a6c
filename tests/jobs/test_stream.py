"""The range reader (jobs/ytdlp/stream.py) against a local server that acts like YouTube's CDN.

Real sockets and real HTTP throughout (tests/youtube_like.py); the seams are the ones the
guard's own tests use: ``policy.is_public_address`` calls 127.0.0.2 public (there is no public
address without internet) and ``socket.getaddrinfo`` answers for made-up host names.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import socket
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from jobs import containers, frames
from jobs.ytdlp import policy
from jobs.ytdlp.messages import MSG_PRIVATE, MSG_STREAM_BROKEN, MSG_TOO_SLOW, SourceError
from jobs.ytdlp.stream import Limits, RangeReader, RangesRefused
from tests.videos import FRAGMENTED, make_video
from tests.youtube_like import StreamServer

KB = 1024


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DASH-style fragmented mp4 with a sidx, 24 s, a keyframe every 2 s."""
    return make_video(
        tmp_path_factory.mktemp("stream") / "dash.mp4", seconds=24, keyint_s=2, movflags=FRAGMENTED
    )


@pytest.fixture
def cdn() -> Iterator[StreamServer]:
    with StreamServer() as server:
        yield server


@pytest.fixture
def public_cdn(monkeypatch: pytest.MonkeyPatch) -> Iterator[StreamServer]:
    """A server on 127.0.0.2, which the address policy is told to call public."""
    real = policy.is_public_address
    monkeypatch.setattr(policy, "is_public_address", lambda address: address == "127.0.0.2" or real(address))
    try:
        server = StreamServer(host="127.0.0.2").__enter__()
    except OSError:
        pytest.skip("127.0.0.2 is not available on this machine")
    try:
        yield server
    finally:
        server.__exit__(None, None, None)


def _reader(url: str, **options: object) -> RangeReader:
    return RangeReader(url, allow_private=True, **options)  # type: ignore[arg-type]


def test_it_reads_any_part_of_a_file_with_ranges_only(cdn: StreamServer, dash: Path) -> None:
    cdn.add("dash.mp4", dash, require_range=True)
    data = dash.read_bytes()
    with _reader(cdn.fresh_url("dash.mp4"), block_size=16 * KB, max_request=48 * KB) as reader:
        assert reader.size == len(data)
        for start, n in [(0, 100), (len(data) - 10, 100), (123_456, 70_000), (5, 200_000), (77, 0)]:
            reader.seek(start)
            assert reader.read(n) == data[start : start + n]
        reader.seek(-20, 2)
        assert reader.tell() == len(data) - 20
        assert reader.read() == data[-20:]
        assert reader.read(10) == b""
    log = cdn.media_requests("dash.mp4")
    assert all(status == 206 for *_, status in log)
    assert reader.requests == len(log)
    assert reader.bytes_read == cdn.bytes_sent
    # googlevideo's chunk limit: no range larger than max_request.
    sizes = [int(b) - int(a) + 1 for a, b in (r[2].removeprefix("bytes=").split("-") for r in log)]
    assert max(sizes) <= 48 * KB


def test_it_gives_the_frames_a_local_file_gives(cdn: StreamServer, dash: Path) -> None:
    cdn.add("dash.mp4", dash, require_range=True)
    with _reader(cdn.fresh_url("dash.mp4")) as reader:
        meta = frames.probe(reader)
        streamed = frames.select_stills(reader, count=3, meta=meta, rng=random.Random(7))
    local = frames.select_stills(dash, count=3, meta=frames.probe(dash), rng=random.Random(7))

    assert meta == frames.probe(dash)
    assert [s.timestamp_ms for s in streamed.stills] == [s.timestamp_ms for s in local.stills]
    assert [s.jpeg for s in streamed.stills] == [s.jpeg for s in local.stills]
    assert len(local.stills) == 3
    # Every read went through the reader (PyAV had no other way in).
    assert reader.bytes_read == cdn.bytes_sent > 0


def test_it_says_when_a_server_ignores_ranges(cdn: StreamServer, dash: Path) -> None:
    cdn.add("plain.mp4", dash, ranges=False)
    reader = _reader(cdn.fresh_url("plain.mp4"))
    with pytest.raises(RangesRefused):
        reader.open()
    reader.close()
    # It hung up rather than take the whole file.
    assert cdn.bytes_sent < dash.stat().st_size


def test_it_refuses_a_redirect_to_a_private_address(
    public_cdn: StreamServer, cdn: StreamServer, dash: Path
) -> None:
    cdn.add("inside.mp4", dash)
    hop = public_cdn.add_redirect("/go.mp4", cdn.fresh_url("inside.mp4"))
    reader = RangeReader(hop, allow_private=False)
    with pytest.raises(SourceError, match="private or local network") as caught:
        reader.open()
    assert str(caught.value) == MSG_PRIVATE
    assert [r[1] for r in public_cdn.log] == ["/go.mp4"]  # the first hop was allowed...
    assert cdn.log == []  # ...the second never connected


def test_it_checks_the_address_again_at_every_connect(
    public_cdn: StreamServer, dash: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DNS rebinding: public (127.0.0.2) for the first connection, private (127.0.0.1) when the
    # reader connects again after the server closed the connection.
    with StreamServer(port=public_cdn.port) as inside:  # the same port, on the private address
        for server in (public_cdn, inside):
            server.add("clip.mp4", dash)
            server.close_each = True
        real = socket.getaddrinfo
        answers = iter(["127.0.0.2"])

        def rebinding_getaddrinfo(host: str, port: object, *args: object, **kwargs: object) -> list:
            if host == "rebind.example.com":
                address = next(answers, "127.0.0.1")
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
            return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
        reader = RangeReader(
            f"http://rebind.example.com:{public_cdn.port}/v/clip.mp4", allow_private=False, block_size=16 * KB
        )
        reader.open()
        assert len(public_cdn.log) == 1
        reader.seek(200_000)
        with pytest.raises(SourceError, match="private or local network"):
            reader.read(100)
        reader.close()
        assert inside.log == []


def test_it_retries_a_body_cut_short_then_gives_a_clear_error(cdn: StreamServer, dash: Path) -> None:
    data = dash.read_bytes()
    cdn.add("flaky.mp4", dash, break_after=10_000, breaks=2)
    with _reader(cdn.fresh_url("flaky.mp4"), retries=3) as reader:
        reader.seek(50_000)
        assert reader.read(100_000) == data[50_000:150_000]
    assert len(cdn.media_requests("flaky.mp4")) >= 3

    cdn.add("broken.mp4", dash, break_after=10_000, breaks=100)
    reader = _reader(cdn.fresh_url("broken.mp4"), retries=2)
    with pytest.raises(SourceError) as caught:
        reader.open()
    assert str(caught.value) == MSG_STREAM_BROKEN
    assert len(cdn.media_requests("broken.mp4")) == 3  # the first try and two retries
    # The error stays: PyAV, which may take a failed read for the end of the file, cannot
    # hide it from the pipeline.
    assert reader.error is caught.value


def test_it_refreshes_an_expired_url_once(cdn: StreamServer, dash: Path) -> None:
    data = dash.read_bytes()
    cdn.add("expiring.mp4", dash, require_range=True, expire_requests=2)
    refreshes: list[str] = []

    def refresh() -> tuple[str, dict[str, str]]:
        refreshes.append("again")
        return cdn.fresh_url("expiring.mp4"), {}

    with _reader(cdn.fresh_url("expiring.mp4"), block_size=16 * KB, refresh=refresh) as reader:
        for start in (0, 300_000, 600_000):  # three requests: the third one finds it expired
            reader.seek(start)
            assert reader.read(1000) == data[start : start + 1000]
        assert refreshes == ["again"]
        assert reader.refreshed
        reader.seek(900_000)
        reader.read(1000)  # the new URL's second request
        reader.seek(1_200_000)
        with pytest.raises(SourceError, match=r"refused access to this video \(HTTP 403\)"):
            reader.read(1000)  # expired again: once is all
    assert refreshes == ["again"]


def test_it_stops_a_slow_drip_with_a_clear_message(cdn: StreamServer, dash: Path) -> None:
    cdn.add("drip.mp4", dash, drip_bps=4000)
    limits = Limits(min_speed_bps=20_000, window_s=0.5)
    reader = _reader(cdn.fresh_url("drip.mp4"), limits=limits)
    with pytest.raises(SourceError) as caught:
        reader.open()
    assert str(caught.value) == MSG_TOO_SLOW
    assert reader.bytes_read < 64 * KB  # stopped within the first block


def test_it_stops_at_the_deadline(cdn: StreamServer, dash: Path) -> None:
    cdn.add("slowish.mp4", dash, drip_bps=60_000)
    reader = _reader(cdn.fresh_url("slowish.mp4"), limits=Limits(deadline_s=0.3), block_size=16 * KB)
    with pytest.raises(SourceError) as caught:
        reader.open()
        for start in range(0, 2_000_000, 100_000):
            reader.seek(start)
            reader.read(10)
    assert str(caught.value) == MSG_TOO_SLOW


# --- Prefetch: several ranges at once ---------------------------------------------------------
def _spread(size: int, count: int, length: int) -> list[tuple[int, int]]:
    """``count`` ranges of ``length`` bytes spread over a file, far apart."""
    step = size // count
    return [(i * step + 777, i * step + 777 + length - 1) for i in range(1, count)]


def test_it_prefetches_ranges_together_and_serves_them_exactly(cdn: StreamServer, dash: Path) -> None:
    data = dash.read_bytes()
    cdn.add("dash.mp4", dash, require_range=True)
    ranges = _spread(len(data), 8, 5000)
    # Two ranges close together go as one request.
    ranges.append((ranges[0][1] + 100, ranges[0][1] + 3000))
    with _reader(cdn.fresh_url("dash.mp4"), parallel=3) as reader:
        first = reader.requests
        assert reader.prefetch(ranges) == 7
        assert reader.requests == first + 7
        assert reader.prefetch(ranges) == 0  # all held already
        for start, end in ranges:
            reader.seek(start)
            assert reader.read(end - start + 1) == data[start : end + 1]
        assert reader.requests == first + 7  # the reads came from what was prefetched
        # A read that runs past a prefetched range stops there (FFmpeg asks again if it needs more).
        start, end = ranges[1]
        reader.seek(start)
        assert reader.read(10_000) == data[start : end + 1]
        assert reader.read(10) == data[end + 1 : end + 11]
    log = [r[2] for r in cdn.media_requests("dash.mp4")]
    assert f"bytes={ranges[0][0]}-{ranges[0][1] + 3000}" in log[1:8]
    # Counted as asked (the server's own count may lag its last write).
    spans = [[int(x) for x in r.removeprefix("bytes=").split("-")] for r in log]
    assert reader.bytes_read == sum(min(b, len(data) - 1) - a + 1 for a, b in spans)


def test_it_fetches_no_byte_twice_while_a_prefetch_holds_it(cdn: StreamServer, dash: Path) -> None:
    # A prefetch that takes in ranges prefetched already asks only for the rest; a read that
    # runs on through prefetched ranges (a decoding through a short video's GOPs) fetches only
    # what they leave out, and its read-ahead keeps growing.
    data = dash.read_bytes()
    cdn.add("dash.mp4", dash, require_range=True)
    block = 16 * KB
    with _reader(cdn.fresh_url("dash.mp4"), block_size=block) as reader:
        held = _spread(len(data), 4, 30_000)
        reader.prefetch(held)
        before = len(cdn.media_requests("dash.mp4"))
        first, last = held[0][0] - 5000, held[-1][1] + 5000
        reader.prefetch([(first, last)])
        asked = sorted(
            tuple(int(x) for x in r[2].removeprefix("bytes=").split("-"))
            for r in cdn.media_requests("dash.mp4")[before:]
        )
        gaps = [(first, held[0][0] - 1)]
        gaps += [(a[1] + 1, b[0] - 1) for a, b in itertools.pairwise(held)] + [(held[-1][1] + 1, last)]
        # The pieces of each gap (a long one goes as several requests, end to end), nothing else.
        joined: list[tuple[int, int]] = []
        for a, b in asked:
            if joined and a == joined[-1][1] + 1:
                joined[-1] = (joined[-1][0], b)
            else:
                joined.append((a, b))
        assert joined == gaps
        sent = cdn.bytes_sent
        reader.seek(0)
        pieces = iter(lambda: reader.read(32 * KB), b"")  # as FFmpeg reads: a buffer at a time
        assert b"".join(pieces) == data
    # The rest of the file only: less the first block (it came at open), plus at most one block
    # fetched again where the read-ahead meets the prefetched span.
    assert cdn.bytes_sent - sent <= len(data) - (last - first + 1)
    # A read-ahead that doubles on to the end of the file, across the prefetched span.
    assert len(cdn.media_requests("dash.mp4")) - before - len(asked) <= 12


def test_reading_on_past_a_far_prefetched_range_reads_ahead_in_proportion_to_it(
    cdn: StreamServer, dash: Path
) -> None:
    # A long run read at the start (the index) must not make the read-ahead past a keyframe
    # prefetched far from it large: that keyframe is a run of its own. It grew with every
    # keyframe read before it, 2 MB a still on a 10-minute stream, and a job read 19% of it.
    data = dash.read_bytes()
    cdn.add("dash.mp4", dash, require_range=True)
    block = 16 * KB
    with _reader(cdn.fresh_url("dash.mp4"), block_size=block) as reader:
        pieces = iter(lambda: reader.read(32 * KB), b"")
        head = b"".join(itertools.islice(pieces, 16))  # 512 KB in sequence: the read-ahead grows
        assert head == data[: len(head)] and len(cdn.media_requests("dash.mp4")) < 16
        start, end = _spread(len(data), 4, 5000)[-1]
        reader.prefetch([(start, end)])
        reader.seek(start)
        assert reader.read(5000) == data[start : end + 1]
        before = len(cdn.media_requests("dash.mp4"))
        assert reader.read(32 * KB) == data[end + 1 : end + 1 + 32 * KB]
    asked = [r[2] for r in cdn.media_requests("dash.mp4")[before:]]
    spans = [[int(x) for x in r.removeprefix("bytes=").split("-")] for r in asked]
    # 5000 bytes read in sequence: one block ahead, then growing from there, not 512 KB at once.
    assert spans[0][1] - spans[0][0] + 1 <= block, asked
    assert sum(b - a + 1 for a, b in spans) <= 4 * block, asked


def test_it_checks_the_address_of_each_prefetch_connection(
    public_cdn: StreamServer, dash: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The prefetch's own connections go through the guard too: a name that turns private
    # after the first connect is refused, and the private server never hears from it.
    with StreamServer(port=public_cdn.port) as inside:
        for server in (public_cdn, inside):
            server.add("clip.mp4", dash)
        real = socket.getaddrinfo
        answers = iter(["127.0.0.2"])

        def rebinding_getaddrinfo(host: str, port: object, *args: object, **kwargs: object) -> list:
            if host == "rebind.example.com":
                address = next(answers, "127.0.0.1")
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
            return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
        reader = RangeReader(f"http://rebind.example.com:{public_cdn.port}/v/clip.mp4", allow_private=False)
        reader.open()
        with pytest.raises(SourceError) as caught:
            reader.prefetch(_spread(dash.stat().st_size, 4, 1000))
        assert str(caught.value) == MSG_PRIVATE
        assert reader.error is caught.value  # kept: later reads fail the same way
        with pytest.raises(SourceError):
            reader.seek(300_000)
            reader.read(10)
        reader.close()
        assert inside.log == []
        assert len(public_cdn.log) == 1


def test_it_surfaces_a_prefetch_that_keeps_breaking(cdn: StreamServer, dash: Path) -> None:
    media = cdn.add("flaky.mp4", dash)
    with _reader(cdn.fresh_url("flaky.mp4"), retries=1) as reader:
        media.break_after, media.breaks = 100, 100
        with pytest.raises(SourceError) as caught:
            reader.prefetch(_spread(dash.stat().st_size, 3, 2000))
        assert str(caught.value) == MSG_STREAM_BROKEN
        assert reader.error is caught.value


def test_it_refreshes_an_expired_url_once_for_a_whole_prefetch(cdn: StreamServer, dash: Path) -> None:
    data = dash.read_bytes()
    cdn.add("expiring.mp4", dash, require_range=True, expire_requests=3)
    refreshes: list[str] = []

    def refresh() -> tuple[str, dict[str, str]]:
        refreshes.append("again")
        return cdn.fresh_url("expiring.mp4"), {}

    ranges = _spread(len(data), 5, 1000)  # 4 requests after the first: some find it expired
    with _reader(cdn.fresh_url("expiring.mp4"), refresh=refresh, parallel=4) as reader:
        reader.prefetch(ranges)
        for start, end in ranges:
            reader.seek(start)
            assert reader.read(end - start + 1) == data[start : end + 1]
    assert refreshes == ["again"]


def test_it_prefetches_what_the_frames_read_and_gives_the_same_frames(
    cdn: StreamServer, tmp_path: Path
) -> None:
    # A plain mp4 (its index gives each keyframe's offset and size): the probe prefetches the
    # tail it measures, the frames the keyframes of their points (and the frames on to the
    # points that share one), then what the steadiness check decodes after the best ones;
    # the pixels are those of the local file.
    video = make_video(tmp_path / "plain.mp4", seconds=40, keyint_s=2)
    cdn.add("plain.mp4", video, require_range=True)
    with _reader(cdn.fresh_url("plain.mp4")) as reader:
        asked: list[list[tuple[int, int]]] = []
        prefetch = reader.prefetch
        reader.prefetch = lambda ranges: asked.append(list(ranges)) or prefetch(asked[-1])  # type: ignore[method-assign]
        meta = frames.probe(reader)
        by_probe = len(asked)
        streamed = frames.select_stills(reader, count=3, meta=meta, rng=random.Random(3))
    local = frames.select_stills(video, count=3, meta=frames.probe(video), rng=random.Random(3))

    assert [s.timestamp_ms for s in streamed.stills] == [s.timestamp_ms for s in local.stills]
    assert [s.jpeg for s in streamed.stills] == [s.jpeg for s in local.stills]
    with av.open(str(video)) as container:
        entries = container.streams.video[0].index_entries
        keyframes = {(e.pos, e.pos + e.size - 1) for e in entries if e.is_keyframe}
        last = max(e.pos + e.size - 1 for e in entries)
    assert by_probe == 1 and len(asked[0]) == 1 and asked[0][0][1] == last  # the tail
    # 24 points, 20 keyframes: a keyframe each, and from a shared one on to its point.
    starts = {start for start, _ in keyframes}
    assert len(set(asked[1]) & keyframes) >= 10 and all(start in starts for start, _ in asked[1])
    assert len(asked) == 3 and asked[2] and all(start in starts for start, _ in asked[2])
    assert reader.bytes_read == cdn.bytes_sent


@pytest.fixture(scope="module")
def streamed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The two formats whose index entries say too little for the prefetch: a DASH-style
    fragmented mp4 (a sidx, a moof per keyframe) and a VP9 WebM (Cues without sizes)."""
    folder = tmp_path_factory.mktemp("indexed")
    return {
        "dash.mp4": make_video(folder / "dash.mp4", seconds=48, keyint_s=2, movflags=FRAGMENTED),
        "v.webm": make_video(folder / "v.webm", seconds=48, keyint_s=2, codec="vp9"),
    }


def _stills_streamed(cdn: StreamServer, name: str) -> tuple[frames.Selection, RangeReader, int]:
    """The stills read through the range reader, and how many of its requests a read waited
    for (those not made by a prefetch, whose requests go several at once)."""
    with _reader(cdn.fresh_url(name)) as reader:
        prefetch = reader.prefetch
        together = 0

        def counted(ranges: list[tuple[int, int]]) -> int:
            nonlocal together
            before = reader.requests
            try:
                return prefetch(ranges)
            finally:
                together += reader.requests - before

        reader.prefetch = counted  # type: ignore[method-assign]
        meta = frames.probe(reader)
        selection = frames.select_stills(reader, count=3, meta=meta, rng=random.Random(3))
    return selection, reader, reader.requests - together


@pytest.mark.parametrize("name", ["dash.mp4", "v.webm"])
def test_it_prefetches_a_fragmented_mp4_and_a_webm_from_their_own_index(
    cdn: StreamServer, streamed: dict[str, Path], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # From the sidx and moofs (the Cues and clusters), the seeks find their keyframes already
    # fetched: a read waits for the network only at the start, not at each seek as when only
    # FFmpeg's index entries are used; and the frames are those of the local file.
    video = streamed[name]
    cdn.add(name, video, require_range=True)
    indexed, reader, waited = _stills_streamed(cdn, name)
    with monkeypatch.context() as patched:
        patched.setattr(containers, "key_index", lambda *args, **kwargs: None)
        _, before, waited_before = _stills_streamed(cdn, name)
    local = frames.select_stills(video, count=3, meta=frames.probe(video), rng=random.Random(3))

    assert len(local.stills) == 3
    assert [s.timestamp_ms for s in indexed.stills] == [s.timestamp_ms for s in local.stills]
    assert [s.jpeg for s in indexed.stills] == [s.jpeg for s in local.stills]
    assert waited <= 5 and 3 * waited <= waited_before
    assert reader.bytes_read < before.bytes_read / 2


def test_it_fetches_what_an_estimate_left_out_once_the_headers_are_in(
    cdn: StreamServer, streamed: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An estimate far too small (a keyframe assumed to take a hundredth of what the first and
    # last ones do): the first fetch falls short of every keyframe. The second one fetches the
    # rest of each, placed from the moofs the first one brought, all at once too; the frames
    # are those of the local file.
    monkeypatch.setattr(containers, "MARGIN", 0.01)
    video = streamed["dash.mp4"]
    cdn.add("dash.mp4", video, require_range=True)
    asked: list[list[tuple[int, int]]] = []
    with _reader(cdn.fresh_url("dash.mp4")) as reader:
        prefetch = reader.prefetch
        reader.prefetch = lambda ranges: asked.append(list(ranges)) or prefetch(asked[-1])  # type: ignore[method-assign]
        meta = frames.probe(reader)
        streamed_stills = frames.select_stills(reader, count=3, meta=meta, rng=random.Random(3))
    local = frames.select_stills(video, count=3, meta=frames.probe(video), rng=random.Random(3))

    assert [s.timestamp_ms for s in streamed_stills.stills] == [s.timestamp_ms for s in local.stills]
    assert [s.jpeg for s in streamed_stills.stills] == [s.jpeg for s in local.stills]
    tail, guessed, rest = asked[:3]
    assert len(tail) == 1 and len(guessed) >= 10
    # Each of the rest starts where a guess ended and ends where FFmpeg's packet does.
    ends = {end + 1 for _, end in guessed}
    with av.open(str(video)) as container:
        keyframes = {p.pos + p.size - 1 for p in container.demux(container.streams.video[0]) if p.is_keyframe}
    assert len(rest) >= 10 and all(start in ends and end in keyframes for start, end in rest)


def test_it_decodes_the_same_frames_when_the_index_misleads(
    cdn: StreamServer, streamed: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The prefetch is a hint: keyframes placed 50 kB off, as a wrong index would, cost reads,
    # never a frame.
    real = containers.key_index

    def misplaced(*args: object, **kwargs: object) -> containers.KeyIndex | None:
        index = real(*args, **kwargs)  # type: ignore[arg-type]
        assert index is not None
        off = [dataclasses.replace(k, start=k.start + 50_000, head=None, size=None) for k in index.keyframes]
        return dataclasses.replace(index, keyframes=off)

    monkeypatch.setattr(containers, "key_index", misplaced)
    for name in ("dash.mp4", "v.webm"):
        video = streamed[name]
        cdn.add(name, video, require_range=True)
        with _reader(cdn.fresh_url(name)) as reader:
            got = frames.select_stills(reader, count=3, meta=frames.probe(reader), rng=random.Random(3))
        local = frames.select_stills(video, count=3, meta=frames.probe(video), rng=random.Random(3))
        assert [s.timestamp_ms for s in got.stills] == [s.timestamp_ms for s in local.stills]
        assert [s.jpeg for s in got.stills] == [s.jpeg for s in local.stills]
