"""Which frames each method picks from labelled photo videos, and what it costs: issue 13's table.

Run from the repository root (the videos are made once, niced, and cached under
test-output/bench-videos/; on a 2-core machine shared by many, the 10-minute ones took 1 and 5
minutes to make, the 60-minute upload-like one 27; a run on cached videos takes about ten
minutes, most of it PySceneDetect reading every frame of the 10-minute video three times):

    .venv/bin/python -m tests.bench.bench_scenes [--only 10min] [--long] [--no-scenedetect]

The videos come from tests/scenes.py: real photographs with pans, holds, cuts, cross-fades, fades
through black, a blurred stretch, a flat stretch and a scene shown twice, with the ground truth
of every frame; each preset as an upload-like H.264 file and, for 1, 10 and (with --long) 60
minutes, YouTube-like encodes at 360p: x264 with B-frames and scene-cut keyframes, the same in
fragmented MP4, and VP9 in WebM. For each video and N = 12 it prints, side by side:

- uniform: N evenly spaced frames, each decoded exactly with PyAV (seek, then decode on to it).
- pyscenedetect: ContentDetector over the whole video (PyAV backend), then the middle frame of
  each scene, the N longest scenes when there are more, decoded like uniform's.
- inspire: the pipeline's extractor, ``jobs.frames.select_stills(path, count=N).stills``, everything
  included (measuring the file, decoding its candidates, checks, JPEG, thumbnail, palette).
- floor: the same frames as that Inspire run at the least PyAV cost, and nothing else. Each
  keyframe Inspire judged as a candidate, a seek to it and that keyframe decoded alone (skip_frame
  NONKEY, slice threads, as Inspire); then the frames between keyframes it judged (short videos,
  where its points outnumber the keyframes) and its stills, decoded exactly in time order (a seek
  to the keyframe before each, or decoding on from the previous one when it is at most 2 s
  ahead). What Inspire does beyond that is its overhead: the frames it decodes to check a still
  is steady, judging, signatures, encoding. Inspire's time is printed as a ratio to it.
- floor+output: the floor, then each still written as Inspire writes it (its JPEG, thumbnail
  and palette, by Inspire's own encoder): the work any extractor of these frames must do.
  Inspire's time over it is what its judging and steadiness checks cost (for information: the
  target is against the floor).
- ffmpeg-keyframe: ``ffmpeg -noaccurate_seek -ss T -i FILE -frames:v 1`` at Inspire's still times,
  one process per frame (imageio-ffmpeg's binary, a bench-only dependency).

Columns: distinct scenes covered among good frames / min(N, scenes); frames from bad stretches
(fade, blur, cross-fade, black, flat); near-duplicate pairs (two frames of one photo, see
tests/scenes.py); frames delivered; frames whose pixels do not match the truth at their
timestamp (a check on the timestamps); the median wall time and the median CPU time (every
thread, and ffmpeg's processes) of RUNS interleaved runs, each with its ratio to the floor. On
a machine shared by many, wall time is mostly waiting for a core: the CPU ratio is the steadier
measure of the work. Inspire draws random candidates, so it runs with seeds 0, 1, 2: its row is
seed 0, with the range over the seeds. Nothing is asserted: targets print PASS or MISS, and this
never fails a build.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import av  # noqa: E402  (the path above must be set first when run as a script)
import cv2  # noqa: E402
import numpy as np  # noqa: E402

from tests import scenes  # noqa: E402

COUNT = 12
RUNS = 3
VIDEO_DIR = ROOT / "test-output" / "bench-videos"


def ffmpeg_binary() -> str:
    """imageio-ffmpeg's binary, from requirements/bench.txt (`make bench` installs it): never a
    system ffmpeg, which a fresh machine does not have."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


FFMPEG = ffmpeg_binary()
YOUTUBE_SIZE = (640, 360)  # the YouTube-like encodes: 360p, which also keeps making them cheap

TARGET_COVERAGE = 0.95
TARGET_SCENEDETECT_RATIO = 20.0
TARGET_FLOOR_RATIO = 1.3


@dataclass(frozen=True)
class Bench:
    label: str
    preset: str
    size: tuple[int, int] | None
    encoding: str


def benches(long: bool) -> list[Bench]:
    out = []
    for preset in ("1min", "3min", "10min", *(["60min"] if long else [])):
        out.append(Bench(f"{preset} h264", preset, None, "h264"))
        if preset in ("1min", "10min", "60min"):
            out += [Bench(f"{preset} {e}", preset, YOUTUBE_SIZE, e) for e in ("youtube", "fmp4", "vp9")]
    return out


def _video(bench: Bench) -> scenes.SceneVideo:
    """The bench's video, made first in a niced child process when it is not cached yet."""
    timeline = scenes.preset(bench.preset, size=bench.size)
    key = timeline.cache_key()
    suffix = scenes.encoding(bench.encoding, timeline).suffix
    path = VIDEO_DIR / f"{timeline.name}-{bench.encoding}-{key}{suffix}"
    if not path.exists():
        # The YouTube-like encodes share one drawing of the frames: make them together.
        group = ["youtube", "fmp4", "vp9"] if bench.size == YOUTUBE_SIZE else [bench.encoding]
        args = [sys.executable, "-m", "tests.scenes", bench.preset, "--out", str(VIDEO_DIR)]
        args += ["--encodings", ",".join(group)]
        if bench.size:
            args += ["--size", f"{bench.size[0]}x{bench.size[1]}"]
        print(f"  making {timeline.name} ({', '.join(group)}), once…", flush=True)
        started = time.monotonic()
        subprocess.run(["nice", "-n", "10", *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        print(f"  made in {time.monotonic() - started:.0f} s", flush=True)
    return scenes.make(timeline, VIDEO_DIR, [bench.encoding])[bench.encoding]


# ---------------------------------------------------------------------------------------------
# The methods: each returns (timestamps ms, decoded BGR images)

Picked = tuple[list[float], list[np.ndarray]]


def uniform(path: Path) -> Picked:
    with av.open(str(path)) as container:
        duration_ms = (container.duration or 0) / 1000.0
    times = [(i + 0.5) * duration_ms / COUNT for i in range(COUNT)]
    return times, scenes.decode_at(path, times)


def pyscenedetect(path: Path) -> Picked:
    from scenedetect import ContentDetector, SceneManager, open_video

    video = open_video(str(path), backend="pyav")
    manager = SceneManager()
    manager.add_detector(ContentDetector())
    manager.detect_scenes(video)
    found = manager.get_scene_list(start_in_scene=True)
    spans = [(start.seconds, end.seconds) for start, end in found]
    longest = sorted(sorted(spans, key=lambda s: s[1] - s[0], reverse=True)[:COUNT])
    times = [(a + b) / 2 * 1000.0 for a, b in longest]
    return times, scenes.decode_at(path, times)


def _extractor() -> Callable[..., object]:
    """The function the pipeline calls to pick stills from a file (imported late: the jobs
    split of issue 12 may move it, and the error should say where to look)."""
    try:
        from jobs.frames import select_stills
    except ImportError as exc:
        raise SystemExit(f"jobs.frames.select_stills moved ({exc}): point bench_scenes at it") from exc
    return select_stills


@dataclass
class Looked:
    """What one Inspire run decoded to judge: its candidates, keyframes and frames between them."""

    keyframes: list[float]
    between: list[float]


@contextmanager
def _tracing() -> Iterator[list[Looked]]:
    """Record the candidates each select_stills() call decodes, for the floor to decode the same
    (a wrapper around the private scan: a few microseconds a call, inside Inspire's timing)."""
    from jobs import frames

    runs: list[Looked] = []
    scan = frames._Decoder.candidates

    def traced(self: object, points: Sequence[float]) -> list:
        found = scan(self, points)  # type: ignore[arg-type]
        runs.append(
            Looked(
                [c.timestamp_ms for c in found if c.keyframe],
                [c.timestamp_ms for c in found if not c.keyframe],
            )
        )
        return found

    frames._Decoder.candidates = traced  # type: ignore[method-assign]
    try:
        yield runs
    finally:
        frames._Decoder.candidates = scan  # type: ignore[method-assign]


def inspire(path: Path, seed: int) -> list:
    select_stills = _extractor()
    return select_stills(path, count=COUNT, rng=random.Random(seed)).stills


def _inspire_picked(stills: Sequence) -> Picked:
    images = [cv2.imdecode(np.frombuffer(s.jpeg, np.uint8), cv2.IMREAD_COLOR) for s in stills]
    return [float(s.timestamp_ms) for s in stills], images


def floor(path: Path, looked: Looked, stills_ms: Sequence[float], *, output: bool = False) -> int:
    """The same frames as one Inspire run, at the least PyAV cost, and nothing else: a seek to
    each keyframe it judged and that keyframe decoded alone (``skip_frame = "NONKEY"``, as
    Inspire does); then the frames between keyframes it judged (short videos) and its stills,
    each decoded exactly (a seek to the keyframe before it, decoding on to it, or on from the
    previous one when that is closer). No steadiness frames, no judging, no encoding.

    With ``output``, each still is then written as Inspire writes it (its own _encode: the JPEG,
    the thumbnail, the palette, the still's measures): what any extractor of these frames must
    do, so Inspire's time over it is its judging and steadiness checks alone."""
    decoded = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"  # as Inspire's: frame threads only delay a lone keyframe
        context = stream.codec_context
        context.skip_frame = "NONKEY"
        start = scenes._stream_start(stream)
        for ms in looked.keyframes:
            container.seek(int((ms / 1000.0 + start) / stream.time_base), stream=stream, backward=True)
            context.flush_buffers()
            for packet in container.demux(stream):
                if packet.is_keyframe and (packet.decode() or context.decode(None)):
                    decoded += 1
                    break
    exact = sorted([*looked.between, *stills_ms])
    if not output:
        return decoded + len(scenes.decode_at(path, exact, thread_type="SLICE"))
    from jobs import frames

    # Inspire's own copies of a still, made by swscale from the decoded frame as it makes them.
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        context = stream.codec_context
        meta = frames.VideoMeta(0, context.width, context.height, float(stream.average_rate or 25))
        copies = frames._Decoder(container, stream, meta)  # its reformatters only
    wanted = {round(ms) for ms in stills_ms}
    found = scenes.decode_at(path, exact, thread_type="SLICE", decoded=True)
    for ms, frame in zip(exact, found, strict=True):
        if round(ms) not in wanted:
            frame.to_ndarray(format="bgr24")  # as the floor converts it
            continue
        small = copies._small(frame)
        image, thumb = copies._images(frame)
        frames._encode(frames._Kept(round(ms), image, small, frames._measure_frame(small), thumb))
    return decoded + len(found)


def ffmpeg_keyframes(path: Path, times_ms: Sequence[float], out_dir: Path) -> int:
    made = 0
    for i, ms in enumerate(times_ms):
        out = out_dir / f"ffmpeg_{i}.jpg"
        args = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-noaccurate_seek"]
        args += ["-ss", f"{ms / 1000:.3f}", "-i", str(path), "-frames:v", "1", "-q:v", "3", str(out)]
        subprocess.run(args, check=True, stdin=subprocess.DEVNULL)
        made += out.exists()
    return made


def _cpu() -> float:
    """CPU seconds of this process (every thread) and of its finished children (ffmpeg)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _timed(fn: Callable[[], object]) -> tuple[tuple[float, float], object]:
    """(wall seconds, CPU seconds) and the result. On a machine shared by many, the wall time
    is mostly waiting for a core; the CPU time is the work done, the steadier of the two."""
    started, cpu = time.perf_counter(), _cpu()
    result = fn()
    return (time.perf_counter() - started, _cpu() - cpu), result


# ---------------------------------------------------------------------------------------------
# One video


@dataclass
class Row:
    method: str
    score: scenes.Score | None
    seconds: float | None  # the median wall time of its runs
    cpu: float | None = None  # the median CPU time
    note: str = ""


def run_one(bench: Bench, *, scenedetect_runs: int) -> list[Row]:
    """Every method on one video, RUNS interleaved rounds (PySceneDetect in the first
    ``scenedetect_runs`` of them), so a burst of load from elsewhere hits every method."""
    video = _video(bench)
    timeline = video.timeline
    path = video.path
    inspire(path, seed=99)  # untimed: a long-lived worker has imported and warmed up already
    times: dict[str, list[tuple[float, float]]] = {
        m: [] for m in ("uniform", "pyscenedetect", "inspire", "floor", "output", "ffmpeg")
    }
    inspire_runs = []
    uniform_picked: Picked | None = None
    detect_picked: Picked | None = None
    floor_frames: list[int] = []
    with tempfile.TemporaryDirectory() as tmp, _tracing() as looked:
        for run in range(RUNS):
            elapsed, picked = _timed(lambda: uniform(path))
            times["uniform"].append(elapsed)
            uniform_picked = uniform_picked or picked  # type: ignore[assignment]
            if run < scenedetect_runs:
                elapsed, picked = _timed(lambda: pyscenedetect(path))
                times["pyscenedetect"].append(elapsed)
                detect_picked = detect_picked or picked  # type: ignore[assignment]
            elapsed, stills = _timed(lambda run=run: inspire(path, seed=run))
            times["inspire"].append(elapsed)
            inspire_runs.append(stills)
            at = [float(s.timestamp_ms) for s in stills]  # type: ignore[attr-defined]
            elapsed, decoded = _timed(lambda at=at: floor(path, looked[-1], at))
            times["floor"].append(elapsed)
            floor_frames.append(decoded)  # type: ignore[arg-type]
            times["output"].append(_timed(lambda at=at: floor(path, looked[-1], at, output=True))[0])
            times["ffmpeg"].append(_timed(lambda at=at: ffmpeg_keyframes(path, at, Path(tmp)))[0])
    assert uniform_picked is not None
    scores = [_score(timeline, _inspire_picked(s)) for s in inspire_runs]

    def wall(method: str) -> float:
        return statistics.median(t[0] for t in times[method])

    def cpu(method: str) -> float:
        return statistics.median(t[1] for t in times[method])

    rows = [Row("uniform", _score(timeline, uniform_picked), wall("uniform"), cpu("uniform"))]
    if detect_picked is not None:
        runs = len(times["pyscenedetect"])
        note = f"{runs} run{'s' if runs > 1 else ''}"
        rows.append(
            Row(
                "pyscenedetect",
                _score(timeline, detect_picked),
                wall("pyscenedetect"),
                cpu("pyscenedetect"),
                note,
            )
        )
    spread = (
        f"seeds 0-{RUNS - 1}: scenes {min(s.covered for s in scores)}-{max(s.covered for s in scores)}, "
        f"bad {min(s.bad for s in scores)}-{max(s.bad for s in scores)}, "
        f"dups {min(s.duplicate_pairs for s in scores)}-{max(s.duplicate_pairs for s in scores)}"
    )
    rows.append(Row("inspire", scores[0], wall("inspire"), cpu("inspire"), spread))
    first = looked[0]  # the warm-up ran before tracing began
    note = (
        f"PyAV, run 1: {len(first.keyframes)} keyframes alone + {len(first.between)} between + "
        f"{len(inspire_runs[0])} stills exactly ({floor_frames[0]} frames)"
    )
    rows.append(Row("floor", None, wall("floor"), cpu("floor"), note))
    note = "the floor, then each still written as Inspire writes it (JPEG, thumbnail, palette)"
    rows.append(Row("floor+output", None, wall("output"), cpu("output"), note))
    note = f"-noaccurate_seek at Inspire's {len(inspire_runs[0])} stills, a process each"
    rows.append(Row("ffmpeg-keyframe", None, wall("ffmpeg"), cpu("ffmpeg"), note))
    return rows


def _score(timeline: scenes.Timeline, picked: Picked) -> scenes.Score:
    return scenes.score(timeline, picked[0], asked=COUNT, images=picked[1])


def print_table(bench: Bench, timeline: scenes.Timeline, rows: list[Row]) -> dict[str, Row]:
    w, h = timeline.size
    print(
        f"\n{bench.label}: {w}x{h} {bench.encoding}, {timeline.fps} fps, {timeline.duration_s:.0f} s, "
        f"{len(timeline.scenes)} scenes, N = {COUNT}"
    )
    header = f"  {'method':<16}{'scenes':>9}{'bad':>6}{'dup pairs':>11}{'frames':>8}{'misplaced':>11}"
    print(header + f"{'time ms':>10}{'x floor':>9}{'cpu ms':>9}{'x floor':>9}  note")
    by = {r.method: r for r in rows}
    floor_s, floor_cpu = by["floor"].seconds, by["floor"].cpu
    for r in rows:
        if r.score is not None:
            s = r.score
            cells = (
                f"{s.covered:>5}/{s.target:<3}{s.bad:>6}{s.duplicate_pairs:>11}{s.delivered:>5}/{s.asked:<2}"
            )
            cells += f"{s.misplaced:>11}"
        else:
            cells = f"{'':>9}{'':>6}{'':>11}{'':>8}{'':>11}"
        ms = f"{r.seconds * 1000:>10.0f}" if r.seconds is not None else f"{'':>10}"
        ratio = f"{r.seconds / floor_s:>8.1f}x" if r.seconds and floor_s else f"{'':>9}"
        cpu = f"{r.cpu * 1000:>9.0f}" if r.cpu is not None else f"{'':>9}"
        cpu_ratio = f"{r.cpu / floor_cpu:>8.1f}x" if r.cpu and floor_cpu else f"{'':>9}"
        print(f"  {r.method:<16}{cells}{ms}{ratio}{cpu}{cpu_ratio}  {r.note}")
    if "pyscenedetect" in by and by["inspire"].seconds:
        print(f"  PySceneDetect / Inspire time: {by['pyscenedetect'].seconds / by['inspire'].seconds:.0f}x")
    return by


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_targets(results: list[tuple[Bench, dict[str, Row]]]) -> None:
    print("\nTargets (issue 13), for Inspire:")
    for bench, by in results:
        ins = by["inspire"].score
        assert ins is not None
        checks = [
            f"coverage {ins.coverage:.0%} {_verdict(ins.coverage >= TARGET_COVERAGE)}",
            f"bad {ins.bad} {_verdict(ins.bad == 0)}",
            f"dups {ins.duplicate_pairs} {_verdict(ins.duplicate_pairs == 0)}",
        ]
        floor_s, ins_s = by["floor"].seconds, by["inspire"].seconds
        if floor_s and ins_s:
            ratio = ins_s / floor_s
            checks.append(f"{ratio:.1f}x floor {_verdict(ratio <= TARGET_FLOOR_RATIO)}")
        floor_cpu, ins_cpu = by["floor"].cpu, by["inspire"].cpu
        if floor_cpu and ins_cpu:
            ratio = ins_cpu / floor_cpu
            checks.append(f"{ratio:.1f}x floor in CPU {_verdict(ratio <= TARGET_FLOOR_RATIO)}")
        det = by.get("pyscenedetect")
        if det is not None and det.score is not None and det.seconds and ins_s:
            checks.append(f"coverage vs PySceneDetect {_verdict(ins.covered >= det.score.covered)}")
            if bench.preset == "10min":
                speedup = det.seconds / ins_s
                checks.append(
                    f"{speedup:.0f}x faster than it {_verdict(speedup >= TARGET_SCENEDETECT_RATIO)}"
                )
        print(f"  {bench.label:<14} " + ", ".join(checks))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="a preset (1min, 3min, 10min) or a label; repeatable")
    parser.add_argument("--long", action="store_true", help="add the 60-minute video (slow to make)")
    parser.add_argument("--no-scenedetect", action="store_true", help="skip PySceneDetect (the slow one)")
    parser.add_argument(
        "--scenedetect-runs",
        type=int,
        default=RUNS,
        help=f"its runs on videos over 3 minutes (default {RUNS})",
    )
    args = parser.parse_args(argv if argv is not None else [])
    chosen = [b for b in benches(args.long) if not args.only or b.preset in args.only or b.label in args.only]
    results = []
    started = time.monotonic()
    for bench in chosen:
        timeline = scenes.preset(bench.preset, size=bench.size)
        # PySceneDetect decodes every frame: on every encoding of the short videos; of the long
        # ones on the upload-like file only, and never on the hour (six minutes a run).
        detect = not args.no_scenedetect and (bench.encoding == "h264" or timeline.duration_s <= 90)
        runs = (
            0
            if not detect or timeline.duration_s > 600
            else RUNS
            if timeline.duration_s <= 180
            else args.scenedetect_runs
        )
        print(f"\n{bench.label}…", flush=True)
        rows = run_one(bench, scenedetect_runs=runs)
        results.append((bench, print_table(bench, timeline, rows)))
    print_targets(results)
    print(f"\n(all in {time.monotonic() - started:.0f} s; {os.cpu_count()} CPUs, shared)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
