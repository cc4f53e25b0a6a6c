"""`make bench`: run every tests/bench/bench_*.py module's main(), one after the other.

    .venv/bin/python -m tests.bench [bench_site options, e.g. --seconds 5 --sizes 1k] [--long]

Each runs in a fresh interpreter: benchmarks set Django up with their own settings (the site
benchmark uses its own databases), which cannot be undone within one process. Options go to the
site benchmark (bench_site.py --help), but --long, which adds bench_stream's 60-minute
videos. A failing benchmark is reported with the last line it
wrote to stderr and the others still run; the exit code
says whether all of them ran.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Options of bench_stream.py (--long adds the 60-minute videos); every other goes to bench_site.
STREAM_OPTIONS = ("--long", "--only-fast")
ROOT = HERE.parents[1]


def main(argv: list[str]) -> int:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    failed = []
    for name in names:
        print(f"\n=== {name} " + "=" * max(0, 70 - len(name)), flush=True)
        started = time.monotonic()
        own = [a for a in argv if a in STREAM_OPTIONS]
        args = [a for a in argv if a not in STREAM_OPTIONS] if name == "bench_site" else []
        if name == "bench_stream":
            args = own
        code = f"import sys; from tests.bench import {name} as m; sys.exit(m.main({args!r}) or 0)"
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, check=False, stderr=subprocess.PIPE, text=True
        )
        sys.stderr.write(result.stderr)
        print(f"=== {name}: exit {result.returncode} after {time.monotonic() - started:.0f} s", flush=True)
        if result.returncode != 0:
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            print(f"=== {name} did not finish: {lines[-1] if lines else 'no message'}", flush=True)
            failed.append(name)
    if failed:
        print(f"\nBenchmarks that did not finish: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
