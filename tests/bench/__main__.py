"""`make bench`: run every tests/bench/bench_*.py module's main(), one after the other.

Each runs in a fresh interpreter: benchmarks set Django up with their own settings (the site
benchmark uses a scratch database), which cannot be undone within one process. A failing
benchmark is reported and the others still run; the exit code says whether all of them ran.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def main() -> int:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    failed = []
    for name in names:
        print(f"\n=== {name} " + "=" * max(0, 70 - len(name)), flush=True)
        started = time.monotonic()
        code = f"import sys; from tests.bench import {name} as m; sys.exit(m.main() or 0)"
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False)
        print(f"=== {name}: exit {result.returncode} after {time.monotonic() - started:.0f} s", flush=True)
        if result.returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nBenchmarks that did not finish: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
