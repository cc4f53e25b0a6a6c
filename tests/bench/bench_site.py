"""The site under load: signed-in users on the pages people use most, at two sizes of data.

Run from the repository root (`make bench` runs it after the other benchmarks):

    .venv/bin/python -m tests.bench.bench_site [--seconds 30] [--users 16] [--sizes 1k,1m]
        [--pages home,gallery] [--explain home] [--reseed] [--compare DIR] [--drop-stale]

About 7 minutes with the defaults, plus seeding the first time (the million frames take a few
minutes; the seeded databases are kept, see below). For each size (1,000 and 1,000,000 frames,
tests/bench/site_data.py says what else) it:

- makes sure the Postgres database inspire_bench_<size>_<hash> holds that world (on the server
  of DATABASE_URL when that is Postgres, else postgres://postgres@127.0.0.1:5432). Seeded data
  is kept and reused while the project's migrations and the seeding code are unchanged (the
  hash in the name); --reseed seeds it again anyway, --drop-stale drops the kept databases
  this run does not use;
- signs in one bench user from `--users` browsers (a session cookie and a CSRF cookie each);
- starts gunicorn with the production config (docker/gunicorn.conf.py: its workers, threads,
  keep-alive, max_requests and access log) and production-like settings (DEBUG=0, behind a
  TLS proxy, secure cookies, cached_db sessions on the file cache), bound to 127.0.0.1 on a
  free port, serving tests/bench/wsgi_bench.py: the project's URLs plus a trivial signed-in view.

Then, one page at a time, each size in turn, all browsers ask for the page back to back over
keep-alive connections for `--seconds` (after a few seconds of warm-up): the trivial view, the
library (home), "Inspire me", the random-frame JSON behind "Another one", the favourites gallery
and a deep page of it (keyset: ?before=<favourite> at 90% of the list), "Frames with this
colour" in everything and in the favourites, and "More like this" of the newest favourite
(each also against the gallery's first page of the same run). It prints throughput,
p50 and p99, the 1m/1k ratios and the targets: each page at 1m within 1.5x of itself at 1k,
p99 under 5x p50, the library within 2x of the gallery's throughput. Nothing is asserted: on a
shared machine the figures are noisy, so compare ratios from one run.

--compare DIR measures another checkout of the project (e.g. `git archive <commit> | tar -x -C
DIR`) in the same run, by turns with this one (one size after the other), each with its own app
code, gunicorn config and migrations (this checkout's bench code), and prints its table and the
ratios between the two: the way to compare code before and after a change on a machine whose
load drifts. About twice as long.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import runpy
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bench import load, site_data  # noqa: E402

SECRET_KEY = "bench-only-secret-key"
PAGES = [
    "trivial",
    "home",
    "inspire",
    "random",
    "gallery",
    "gallery-deep",
    "colour",
    "colour-saved",
    "similar",
]
# Measured against the gallery's first page in the same run (issue 16): colour search in
# everything the user sees and in their favourites, and "more like this".
AGAINST_GALLERY = ["colour", "colour-saved", "similar"]
WARMUP_S = 3.0
GROWTH_TARGET = 1.5  # a page at 1m against itself at 1k, p50 and throughput
TAIL_TARGET = 5.0  # p99 against p50
HOME_TARGET = 2.0  # the gallery's throughput against the library's


@dataclass(frozen=True)
class Checkout:
    """A tree of the project whose app code is measured: this one, or the one to compare with."""

    label: str
    root: Path
    n: int  # its place on the command line, for file names

    @classmethod
    def at(cls, root: Path, n: int) -> Checkout:
        found = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%h"], capture_output=True, text=True, check=False
        )
        commit = found.stdout.strip() if found.returncode == 0 else ""
        return cls(f"{root.name}@{commit}" if commit else root.name, root.resolve(), n)


def server_env(checkout: Checkout, size: str, workdir: Path) -> dict[str, str]:
    """The environment of gunicorn, and of the process that seeds and signs in (the same)."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "inspire.settings",
            "INSPIRE_BENCH_APP": str(checkout.root),
            "DATABASE_URL": site_data.database_url(size, checkout.root),
            "DEBUG": "0",
            "SECRET_KEY": SECRET_KEY,
            # As docker/.env.example: behind nginx, which terminates TLS; secure cookies.
            "ALLOWED_HOSTS": "127.0.0.1",
            "CSRF_TRUSTED_ORIGINS": "https://127.0.0.1",
            "BEHIND_PROXY": "1",
            "SECURE_SSL_REDIRECT": "1",
            "SECURE_HSTS_SECONDS": "31536000",
            "SESSION_COOKIE_SECURE": "1",
            "CSRF_COOKIE_SECURE": "1",
            "INSPIRE_ALLOW_PRIVATE_URLS": "0",
            "MEDIA_ROOT": str(workdir / "media"),
            "STATIC_ROOT": str(workdir / f"static-{checkout.n}"),
            # One cache per server: the worlds of two sizes number their users alike.
            "CACHE_DIR": str(workdir / f"cache-{checkout.n}-{size}"),
            "INSPIRE_TEMP_DIR": str(workdir / "tmp"),
        }
    )
    return env


def prepare(checkout: Checkout, size: str, env: dict[str, str], workdir: Path, reseed: bool, args) -> dict:
    """Seed (or reuse) the world of `size` and sign the browsers in, in a fresh interpreter
    running the checkout's app code."""
    out = workdir / f"data-{checkout.n}-{size}.json"
    command = [sys.executable, str(HERE / "site_data.py"), "--size", size, "--users", str(args.users)]
    command += ["--out", str(out), *(["--reseed"] if reseed else [])]
    for page in args.explain:
        command += ["--explain", page]
    subprocess.run(command, cwd=checkout.root, env=env, check=True)
    return json.loads(out.read_text())


def collectstatic(checkout: Checkout, env: dict[str, str]) -> None:
    """Production serves hashed static files from a manifest; pages cannot render without it."""
    command = [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"]
    subprocess.run(command, cwd=checkout.root, env=env, check=True)


def drop_stale(in_use: set[str]) -> None:
    """Drop the kept bench databases of other schemas or seedings than this run's."""
    any_url = site_data.database_url(next(iter(site_data.SIZES)))
    for name, size in site_data.kept_databases(any_url).items():
        if name not in in_use:
            print(f"Dropping the kept database {name} ({size / 1e6:.0f} MB)", flush=True)
            site_data.drop(any_url.rsplit("/", 1)[0] + "/" + name)


def describe(data: dict) -> str:
    world = data["world"]
    seeded = "reused the kept database" if data["reused"] else f"seeded in {data['seed_s']:.0f} s"
    return (
        f"{data['size']}: {data['frames']:,} frames in {world['videos']:,} videos, "
        f"{data['favourites']:,} favourites of the bench user (+{world['crowd_favourites']:,} of others), "
        f"{world['library_videos']:,} videos and {world['own_playlists']} playlists in their library, "
        f"{world['curated_playlists']} curated, {world['crowd_users']:,} other users with "
        f"{world['crowd_playlists']:,} playlists; {seeded}"
    )


def run(servers: dict, data: dict, pages: list[str], args: argparse.Namespace) -> dict:
    """{(checkout, page, size): Result}, page after page. A page's time on each server (size,
    and checkout) is cut in slices taken by turns (1k 1m, 1m 1k, ...): the machine's other
    load, which drifts over minutes, then weighs on all of them alike."""
    results = {}
    slice_s = args.seconds / args.slices
    for page in pages:
        for (checkout, size), server in servers.items():
            paths, jars = data[checkout, size]["paths"], data[checkout, size]["browsers"]
            load.load(server, paths[page], jars, min(WARMUP_S, slice_s))
            results[checkout, page, size] = load.Result()
        for turn in range(args.slices):
            for checkout, size in list(servers)[:: -1 if turn % 2 else 1]:
                path, jars = data[checkout, size]["paths"][page], data[checkout, size]["browsers"]
                results[checkout, page, size].add(load.load(servers[checkout, size], path, jars, slice_s))
        for checkout, size in servers:
            result = results[checkout, page, size]
            failed = f", errors {result.errors} {dict(result.statuses)}" if result.errors else ""
            label = f"{checkout.label} " if len({c for c, _ in servers}) > 1 else ""
            print(
                f"  {label}{page:13} {size}: {result.rate:7.1f} req/s  p50 {result.p50 * 1000:7.1f} ms  "
                f"p99 {result.p99 * 1000:7.1f} ms  ({len(result.latencies):,} answers, {result.retries} "
                f"retried on a new connection, {result.worker_boots} worker restarts{failed}; "
                f"machine load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    return results


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def table(header: list[tuple[str, str]], rows: list[list[str]]) -> str:
    """Columns as wide as their longest cell, headed by two lines (group, name); right-aligned
    but the first."""
    cells = [[top for top, _ in header], [name for _, name in header], *rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    lines.insert(2, "-" * len(lines[1]))
    return "\n".join(lines)


def report(results: dict, data: dict, pages: list[str], sizes: list[str]) -> None:
    small, big = sizes[0], sizes[-1]

    def group(title: str, names: list[str]) -> list[tuple[str, str]]:
        return [(title if i == 0 else "", name) for i, name in enumerate(names)]

    header = [("", "page")]
    for size in sizes:
        header += group(f"at {size}:", ["req/s", "p50 ms", "p99 ms"])
    header += group(f"{big}/{small}:", ["p50", "1/tput", f"<={GROWTH_TARGET}x"])
    header += group("p99/p50:", [*sizes, f"<{TAIL_TARGET:.0f}x"])
    header += group("p50 x trivial:", sizes) + group("queries:", sizes) + [("", "errors")]
    rows = []
    for page in pages:
        row = [results[page, s] for s in sizes]
        growth_p50 = row[-1].p50 / row[0].p50
        growth_rate = row[0].rate / row[-1].rate if row[-1].rate else float("inf")
        tails = [r.p99 / r.p50 for r in row]
        cells = [page]
        for r in row:
            cells += [f"{r.rate:.1f}", f"{r.p50 * 1000:.1f}", f"{r.p99 * 1000:.1f}"]
        if len(sizes) > 1:
            cells += [f"{growth_p50:.2f}x", f"{growth_rate:.2f}x"]
            cells.append(verdict(growth_p50 <= GROWTH_TARGET and growth_rate <= GROWTH_TARGET))
        else:
            cells += ["-", "-", "-"]
        cells += [f"{t:.1f}" for t in tails] + [verdict(all(t < TAIL_TARGET for t in tails))]
        cells += [f"{r.p50 / results['trivial', s].p50:.1f}x" for r, s in zip(row, sizes, strict=True)]
        cells += [str(data[s]["queries"].get(page, "-")) for s in sizes]
        cells.append(str(sum(r.errors for r in row)))
        rows.append(cells)
    print("\n" + table(header, rows))
    if "home" in pages and "gallery" in pages:
        print()
        for size in sizes:
            home, gallery = results["home", size], results["gallery", size]
            ratio = gallery.rate / home.rate if home.rate else float("inf")
            print(
                f"Library (home) against the gallery's first page at {size}: {home.rate:.1f} against "
                f"{gallery.rate:.1f} req/s, the gallery {ratio:.2f}x faster "
                f"(target within {HOME_TARGET:.0f}x: {verdict(ratio <= HOME_TARGET)})"
            )
    if "gallery" in pages:
        for page in (p for p in AGAINST_GALLERY if p in pages):
            for size in sizes:
                mine, gallery = results[page, size], results["gallery", size]
                print(
                    f"{page} against the gallery's first page at {size}: p50 {mine.p50 * 1000:.1f} against "
                    f"{gallery.p50 * 1000:.1f} ms ({mine.p50 / gallery.p50:.2f}x), {mine.rate:.1f} against "
                    f"{gallery.rate:.1f} req/s; {data[size]['queries'].get(page, '-')} queries against "
                    f"{data[size]['queries'].get('gallery', '-')}"
                )
    print(
        f"\nTargets: each page at {big} within {GROWTH_TARGET}x of itself at {small}, in p50 and in "
        f"throughput (1/tput: {small}'s req/s over {big}'s); p99 under {TAIL_TARGET:.0f}x p50 at every "
        f"size; the library within {HOME_TARGET:.0f}x of the gallery's throughput.\n'x trivial' "
        "(information only): p50 against the trivial signed-in view's at the same size. Queries: "
        "what one request of the page runs, counted in-process."
    )


def compare(results: dict, checkouts: list[Checkout], pages: list[str], sizes: list[str]) -> None:
    """The pages of the other checkout against this one's, measured by turns in this run."""
    this, other = checkouts
    header = [("", "page"), ("", "size"), ("A:", "req/s"), ("", "p50 ms"), ("B:", "req/s"), ("", "p50 ms")]
    header += [("A/B:", "req/s"), ("", "p50")]
    rows = []
    for page in pages:
        for size in sizes:
            a, b = results[this, page, size], results[other, page, size]
            cells = [
                page,
                size,
                f"{a.rate:.1f}",
                f"{a.p50 * 1000:.1f}",
                f"{b.rate:.1f}",
                f"{b.p50 * 1000:.1f}",
            ]
            cells += [f"{a.rate / b.rate:.2f}x" if b.rate else "-", f"{a.p50 / b.p50:.2f}x"]
            rows.append(cells)
    print(
        f"\nA = {this.label} against B = {other.label}, measured by turns in this run\n" + table(header, rows)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="of load per page and size (30)")
    parser.add_argument("--users", type=int, default=16, help="concurrent signed-in browsers (16)")
    parser.add_argument("--slices", type=int, default=3, help="turns the servers take on each page (3)")
    parser.add_argument("--sizes", default="1k,1m", help=f"of {', '.join(site_data.SIZES)} (1k,1m)")
    parser.add_argument("--pages", default=",".join(PAGES[1:]), help=f"of {', '.join(PAGES[1:])} (all)")
    parser.add_argument(
        "--explain", action="append", default=[], metavar="PAGE", help="EXPLAIN ANALYZE its queries"
    )
    parser.add_argument("--reseed", action="store_true", help="seed again even if a kept database matches")
    parser.add_argument("--compare", type=Path, metavar="DIR", help="another checkout to measure by turns")
    parser.add_argument("--drop-stale", action="store_true", help="drop kept databases this run does not use")
    args = parser.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    pages = ["trivial", *(p.strip() for p in args.pages.split(",") if p.strip() and p.strip() != "trivial")]
    unknown = [s for s in sizes if s not in site_data.SIZES] + [p for p in pages if p not in PAGES]
    if unknown or not sizes:
        parser.error(f"unknown size or page: {', '.join(unknown) or '(none given)'}")
    checkouts = [Checkout.at(ROOT, 0), *([Checkout.at(args.compare, 1)] if args.compare else [])]
    if args.compare and not (args.compare / "manage.py").exists():
        parser.error(f"--compare {args.compare}: no manage.py there")

    print(
        f"Site benchmark: {args.users} signed-in users, {args.seconds:.0f} s per page and size "
        f"({args.slices} slices by turns), {os.cpu_count()} CPUs",
        flush=True,
    )
    for checkout in checkouts:
        config = runpy.run_path(str(checkout.root / "docker" / "gunicorn.conf.py"))
        print(
            f"{checkout.label} ({checkout.root}): gunicorn docker/gunicorn.conf.py, {config['workers']} "
            f"workers x {config['threads']} threads, {config['worker_class']}, "
            f"max_requests {config['max_requests']}",
            flush=True,
        )
    servers_of = [(checkout, size) for checkout in checkouts for size in sizes]
    with tempfile.TemporaryDirectory(prefix="inspire-bench-") as tmp:
        workdir = Path(tmp)
        envs = {key: server_env(*key, workdir) for key in servers_of}
        urls = {key: env["DATABASE_URL"] for key, env in envs.items()}
        if args.drop_stale:
            drop_stale({url.rsplit("/", 1)[1] for url in urls.values()})
        for checkout in checkouts:
            collectstatic(checkout, envs[checkout, sizes[0]])
        data = {}
        for key in servers_of:
            started = time.monotonic()
            # Checkouts with one schema share a database: seeded again (--reseed) once only.
            reseed = args.reseed and urls[key] not in [urls[k] for k in data]
            data[key] = prepare(*key, envs[key], workdir, reseed, args)
            print(
                f"World {describe(data[key])} (ready in {time.monotonic() - started:.0f} s); "
                f"{urls[key].rsplit('/', 1)[1]} for {key[0].label}",
                flush=True,
            )
        print(
            "Deep gallery page: "
            + ", ".join(f"{s} {data[checkouts[0], s]['paths']['gallery-deep']}" for s in sizes)
        )
        # The servers measured by turns: both sizes of a checkout; with two checkouts, one size at
        # a time (each server's threads keep a database connection open: 16 each with the config).
        groups = [servers_of] if len(checkouts) == 1 else [[(c, s) for c in checkouts] for s in sizes]
        results = {}
        for group in groups:
            with contextlib.ExitStack() as stack:
                servers = {
                    key: stack.enter_context(
                        load.gunicorn(envs[key], workdir / f"gunicorn-{key[0].n}-{key[1]}.log", key[0].root)
                    )
                    for key in group
                }
                for key, server in servers.items():
                    for page in pages:
                        load.check(server, data[key]["paths"][page], data[key]["browsers"][0])
                results.update(run(servers, data, pages, args))
        for checkout in checkouts:
            if len(checkouts) > 1:
                print(f"\n=== {checkout.label} ===")
            mine = {(page, size): results[checkout, page, size] for page in pages for size in sizes}
            report(mine, {size: data[checkout, size] for size in sizes}, pages, sizes)
        if len(checkouts) > 1:
            compare(results, checkouts, pages, sizes)
            print(
                "With --compare the sizes run one after the other: the 1m/1k ratios above carry the "
                "machine's drift in between; the A/B ratios were measured by turns."
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
