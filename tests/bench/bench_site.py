"""How fast the pages people use most answer, through gunicorn, on a realistic amount of data.

Run from the repository root (about a minute; `make bench` runs it with the others):

    .venv/bin/python tests/bench/bench_site.py [--rounds 300] [--explain]

It (re)creates a scratch Postgres database `inspire_bench` (on the server of DATABASE_URL when
that is a Postgres URL, else postgres://postgres@127.0.0.1:5432), migrates it and fills it with
100,000 frames (1,000 videos of 100 frames: 800 in the bench user's library, 5 in a curated
playlist everyone sees, 195 only another user's), 10,000 favourites of the bench user, and
20,000 playlists of 2,000 other people (the rest of the site, which no page of the bench user
should read); every file field points at one tiny shared JPEG. A "newcomer" with one 12-frame
video shows the other end: a user who sees half a per cent of the table (their video and the
curated playlist).

Then it starts gunicorn (one sync worker, persistent DB connections and prepared statements as in
production) on a free port, signs in with a session cookie made in-process, and times, side by
side in shuffled rounds: a trivial Django view, the same behind login, the favourites gallery
(plain, 200 pages deep, filtered), "Inspire me", and the random-frame JSON behind "Another one".
Medians and p95 are printed with their ratio to the trivial view, against the targets (Inspire
me and its JSON within 3x, gallery within 5x), and their ratio to the trivial view behind login
(what any signed-in page pays). Query counts of each page are printed at 10 and at 10,000
favourites; --explain prints EXPLAIN ANALYZE of every query those pages run.
Nothing is asserted: the figures are for reading.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DB = "inspire_bench"
SECRET_KEY = "bench-only-secret-key"
PASSWORD = "bench-Passw0rd"
N_VIDEOS = 1_000
FRAMES_PER_VIDEO = 100
N_FAVOURITES = 10_000
N_CROWD_PLAYLISTS = 20_000
TARGETS = {"inspire": 3.0, "random JSON": 3.0, "random JSON (newcomer)": 3.0}
GALLERY_TARGET = 5.0
TINY_JPEG_NAME = "bench/tiny.jpg"


# --- Database and Django ----------------------------------------------------------------------
def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return urlunsplit(urlsplit(url)._replace(path=f"/{BENCH_DB}"))
    return f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}"


def recreate_database(url: str) -> None:
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def setup_django(url: str, workdir: Path) -> None:
    """Configure this process exactly as the gunicorn process will be (same environment)."""
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DEBUG": "0",
            "SECRET_KEY": SECRET_KEY,
            "MEDIA_ROOT": str(workdir / "media"),
            "STATIC_ROOT": str(workdir / "static"),
            "INSPIRE_TEMP_DIR": str(workdir / "tmp"),
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "inspire.settings",
        }
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    # Production serves hashed static files from a manifest; templates need it to render.
    call_command("collectstatic", verbosity=0, interactive=False)
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from tests.factories import TINY_JPEG

    default_storage.save(TINY_JPEG_NAME, ContentFile(TINY_JPEG))


def populate() -> dict:
    """The bench data, bulk-inserted; returns the users and ids the measurements need."""
    from django.contrib.auth.models import User

    from gallery.models import Frame, LibraryItem, Playlist, PlaylistEntry, Video

    rng = random.Random(20260101)
    bench = User.objects.create_user("bench", password=PASSWORD)
    other = User.objects.create_user("other", password=PASSWORD)
    newcomer = User.objects.create_user("newcomer", password=PASSWORD)
    videos = Video.objects.bulk_create(
        Video(
            provider="generic",
            provider_id=f"bench{i:05d}",
            source_url=f"https://videos.example.com/bench{i:05d}.mp4",
            title=f"Bench tour {i}",
            status=Video.Status.READY,
            duration=600.0,
            width=854,
            height=480,
        )
        for i in range(N_VIDEOS + 1)
    )
    mine, others, curated_videos, lone = videos[:800], videos[800:995], videos[995:N_VIDEOS], videos[N_VIDEOS]
    LibraryItem.objects.bulk_create(
        [LibraryItem(user=bench, video=v) for v in mine]
        + [LibraryItem(user=other, video=v) for v in others]
        + [LibraryItem(user=newcomer, video=lone)]
    )
    curated = Playlist.objects.create(
        provider="generic",
        provider_id="curated",
        source_url="https://e.com/c",
        title="Editors' picks",
        is_curated=True,
    )
    own_playlist = Playlist.objects.create(
        provider="generic",
        provider_id="own",
        source_url="https://e.com/o",
        title="Bench playlist",
        owner=bench,
    )
    LibraryItem.objects.create(user=bench, playlist=own_playlist)
    PlaylistEntry.objects.bulk_create(
        [PlaylistEntry(playlist=curated, video=v, position=i) for i, v in enumerate(curated_videos)]
        + [PlaylistEntry(playlist=own_playlist, video=v, position=i) for i, v in enumerate(mine[:40])]
    )
    # The rest of the site: other people and their playlists (of any videos), which no page of
    # the bench user may read.
    crowd_users = User.objects.bulk_create(
        User(username=f"crowd{i}", password="!") for i in range(N_CROWD_PLAYLISTS // 10)
    )
    crowd = Playlist.objects.bulk_create(
        (
            Playlist(
                provider="generic", provider_id=f"crowd{i}", source_url=f"https://e.com/{i}", owner=owner
            )
            for i, owner in enumerate(crowd_users * 10)
        ),
        batch_size=5_000,
    )
    LibraryItem.objects.bulk_create((LibraryItem(user=p.owner, playlist=p) for p in crowd), batch_size=5_000)
    PlaylistEntry.objects.bulk_create(
        (PlaylistEntry(playlist=p, video=rng.choice(videos[:N_VIDEOS])) for p in crowd), batch_size=5_000
    )
    palette = ["#112233", "#445566", "#778899", "#aabbcc", "#ddeeff"]

    def frames_of(video: Video, count: int) -> Iterator[Frame]:
        for j in range(count):
            yield Frame(
                video=video,
                timestamp_ms=1000 * (j + 1),
                image=TINY_JPEG_NAME,
                thumbnail=TINY_JPEG_NAME,
                width=854,
                height=480,
                palette=palette,
                dhash=f"{rng.getrandbits(64):016x}",
                rand=rng.random(),
            )

    batch: list[Frame] = []
    for video in videos[:N_VIDEOS]:
        batch.extend(frames_of(video, FRAMES_PER_VIDEO))
        if len(batch) >= 10_000:
            Frame.objects.bulk_create(batch, batch_size=5_000)
            batch = []
    Frame.objects.bulk_create([*batch, *frames_of(lone, 12)], batch_size=5_000)

    visible_ids = list(Frame.objects.filter(video__in=[*mine, *curated_videos]).values_list("pk", flat=True))
    rng.shuffle(visible_ids)
    # The filters of the gallery need a favourite in their video and playlist from the first 10.
    first = Frame.objects.filter(video=mine[0]).order_by("pk").values_list("pk", flat=True).first()
    visible_ids.remove(first)
    visible_ids.insert(0, first)
    return {
        "bench": bench,
        "newcomer": newcomer,
        "favourite_frames": visible_ids[:N_FAVOURITES],
        "filter_video": mine[0].pk,
        "filter_playlist": own_playlist.pk,
    }


def add_favourites(user, frame_ids: list[int]) -> None:
    """Bulk favourites with distinct, spread-out creation times (newest first is the order)."""
    from django.db import connection

    from gallery.models import Favourite, Frame

    videos = dict(Frame.objects.filter(pk__in=frame_ids).values_list("pk", "video_id"))
    Favourite.objects.bulk_create(
        [Favourite(user=user, frame_id=pk, video_id=videos[pk]) for pk in frame_ids], batch_size=5_000
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE gallery_favourite SET created_at = now() - id * interval '1 minute' WHERE user_id = %s",
            [user.pk],
        )
        cursor.execute("VACUUM ANALYZE")  # what autovacuum does to a settled table


# --- Pages ------------------------------------------------------------------------------------
def pages(data: dict) -> dict[str, tuple[str, str]]:
    """name -> (user name, path), the trivial yardsticks first."""
    return {
        "trivial": ("bench", "/bench/trivial"),
        "trivial signed in": ("bench", "/bench/trivial-signed-in"),
        "gallery": ("bench", "/favourites/"),
        "gallery page 200": ("bench", f"/favourites/?before={deep_favourite(data['bench'])}"),
        "gallery by video": ("bench", f"/favourites/?video={data['filter_video']}"),
        "gallery by playlist": ("bench", f"/favourites/?playlist={data['filter_playlist']}"),
        "inspire": ("bench", "/inspire/"),
        "random JSON": ("bench", "/inspire/random.json"),
        "random JSON (newcomer)": ("newcomer", "/inspire/random.json"),
        "home": ("bench", "/"),
    }


def deep_favourite(user, page: int = 200) -> int:
    """The favourite that the "Older" link of page `page - 1` starts from (the oldest one while
    there are fewer): where page `page` of the gallery begins."""
    from gallery.models import Favourite
    from gallery.views import PAGE_SIZE

    newest_first = Favourite.objects.filter(user=user).order_by("-created_at", "-id")
    count = newest_first.count()
    return newest_first.values_list("pk", flat=True)[min((page - 1) * PAGE_SIZE, count) - 1]


def session_cookies(users: list) -> dict[str, str]:
    """The Cookie header of each user's browser: the session, and the CSRF cookie that the first
    page with a form hands out (a browser sends it back; without it every such page would make
    a new one)."""
    from django.test import Client

    cookies = {}
    for user in users:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        client.get("/inspire/")
        cookies[user.get_username()] = "; ".join(
            f"{name}={client.cookies[name].value}" for name in ("sessionid", "csrftoken")
        )
    return cookies


def page_queries(data: dict, users: dict) -> dict[str, list[tuple[str, tuple]]]:
    """The queries (SQL and parameters) each page runs in-process, the same code gunicorn runs,
    once signed in: the session and the user then come from the cache, as on every page after
    the first."""
    from django.db import connection
    from django.test import Client

    queries: dict[str, list[tuple[str, tuple]]] = {}
    for name, (username, url) in pages(data).items():
        if name.startswith("trivial"):
            continue
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(users[username])
        client.get(url)  # signing in dropped the user from the cache; this page loads it again
        ran: list[tuple[str, tuple]] = []

        def record(execute, sql, params, many, context, ran=ran):
            ran.append((sql, tuple(params or ())))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        queries[name] = ran
    return queries


def explain(queries: dict[str, list[tuple[str, tuple]]]) -> None:
    """EXPLAIN ANALYZE of every query the measured pages run, for reading plans."""
    from django.db import connection

    for name, ran in queries.items():
        for sql, params in ran:
            print(f"\n-- {name}: {sql[:160]}")
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN ANALYZE {sql}", params)
                print("\n".join(row[0] for row in cursor.fetchall()))


# --- Gunicorn ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port: int, path: str, cookie: str) -> float:
    """Seconds for one GET on a new connection (a sync worker closes it after each answer)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"{path} answered {response.status}: {body[:200]!r}")
    return elapsed


@contextlib.contextmanager
def gunicorn(port: int) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tests.bench.wsgi_bench:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=dict(os.environ),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                fetch(port, "/bench/trivial", "")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def measure(port: int, data: dict, cookies: dict[str, str], rounds: int) -> dict[str, list[float]]:
    targets = pages(data)
    timings: dict[str, list[float]] = {name: [] for name in targets}
    names = list(targets)
    for _ in range(10):  # warm up: imports, template loading, connection, plan caches
        for name in names:
            user, path = targets[name]
            fetch(port, path, cookies[user])
    rng = random.Random(7)
    for _ in range(rounds):
        rng.shuffle(names)  # side by side, in no fixed order
        for name in names:
            user, path = targets[name]
            timings[name].append(fetch(port, path, cookies[user]))
    return timings


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def report(timings: dict[str, list[float]], counts_small: dict[str, int], counts_big: dict[str, int]) -> None:
    base_median = statistics.median(timings["trivial"])
    base_p95 = p95(timings["trivial"])
    signed_in = statistics.median(timings["trivial signed in"])
    print(
        f"\n{'page':24} {'median':>9} {'p95':>9} {'x trivial':>10} {'(p95)':>7} {'target':>10} "
        f"{'x signed-in':>12}  {'queries @10 / @10k':>18}"
    )
    for name, values in timings.items():
        median, high = statistics.median(values), p95(values)
        ratio, ratio_p95 = median / base_median, high / base_p95
        target = TARGETS.get(name, GALLERY_TARGET if name.startswith("gallery") else None)
        verdict = f"{target:.0f}x {'PASS' if ratio <= target else 'MISS'}" if target else ""
        queries = ""
        if name in counts_big:
            same = "same" if counts_small[name] == counts_big[name] else "CHANGED"
            queries = f"{counts_small[name]:>3} / {counts_big[name]:<3} {same}"
        print(
            f"{name:24} {median * 1000:7.2f}ms {high * 1000:7.2f}ms {ratio:9.2f}x {ratio_p95:6.2f}x "
            f"{verdict:>10} {median / signed_in:11.2f}x  {queries}"
        )
    print(
        "\n'x signed-in' compares with the trivial view behind login: the session and user lookups "
        "(and the\nconnection health check) that every signed-in page pays before its own work."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300, help="timed requests per page (default 300)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE every query of the pages")
    args = parser.parse_args(argv)

    url = bench_database_url()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="inspire-bench-") as tmp:
        print(
            f"Database {urlsplit(url)._replace(netloc=urlsplit(url).hostname or '').geturl()}: "
            "recreating, migrating, filling…",
            flush=True,
        )
        recreate_database(url)
        setup_django(url, Path(tmp))
        data = populate()
        users = {"bench": data["bench"], "newcomer": data["newcomer"]}
        add_favourites(data["bench"], data["favourite_frames"][:10])
        counts_small = {name: len(ran) for name, ran in page_queries(data, users).items()}
        add_favourites(data["bench"], data["favourite_frames"][10:])
        queries = page_queries(data, users)
        counts_big = {name: len(ran) for name, ran in queries.items()}
        from gallery.models import Favourite, Frame

        print(
            f"{Frame.objects.count():,} frames, {Favourite.objects.count():,} favourites "
            f"(set up in {time.monotonic() - started:.0f} s)",
            flush=True,
        )
        if args.explain:
            explain(queries)
        cookies = session_cookies(list(users.values()))
        from django.db import connections

        connections.close_all()  # the server's connections only, while timing
        port = free_port()
        with gunicorn(port):
            timings = measure(port, data, cookies, args.rounds)
        report(timings, counts_small, counts_big)
    print(
        f"\nTargets: Inspire me (page and JSON) within {TARGETS['inspire']:.0f}x of the trivial view, "
        f"gallery within {GALLERY_TARGET:.0f}x; query counts the same at 10 and {N_FAVOURITES:,} favourites."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
