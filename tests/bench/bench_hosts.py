"""Worker hosts: one, then two, on this machine (tests/deploy/multihost.py, as the multi-host
test starts them), each with Q_WORKERS=1, processing the same 12-video playlist.

Prints the wall time from submit to the playlist done with one and with two worker hosts and
their ratio, the time from submit to the first frame, and the broker's poll cost: transactions
a minute against Postgres (pg_stat_database.xact_commit + xact_rollback of the bench database)
with the cluster idle, with no, one and two worker hosts running. The ratio is against the one-
host run of the same bench, never a target: on 2 cores two hosts of one worker each at best
double the throughput, and the web host, the bucket and Postgres share those cores.

    .venv/bin/python -m tests.bench.bench_hosts      (or `make bench`, which runs every bench)
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

VIDEOS = 12
SOURCES = 4  # distinct videos, copied to 12 names (each name is a video of its own to the site)
FRAMES = 6
IDLE_WINDOW_S = 30
PASSWORD = "a-Long-pass-phrase-42"


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    return urlunsplit(urlsplit(url)._replace(path="/inspire_bench_hosts"))


def _fresh_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _scalar(url: str, query: str, params: tuple = ()) -> object:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def _transactions(url: str) -> int:
    """Transactions of the bench database so far (Postgres flushes these counters about every
    second, so a window of IDLE_WINDOW_S is accurate to a few percent)."""
    name = urlsplit(url).path.lstrip("/")
    return int(
        _scalar(url, "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", (name,))
    )


def _idle_rate(url: str) -> float:
    time.sleep(3)  # let what started settle, and the counters flush
    before = _transactions(url)
    time.sleep(IDLE_WINDOW_S)
    # Our own two reads are in the count; two of a few hundred.
    return (_transactions(url) - before - 1) * 60 / IDLE_WINDOW_S


def _run(topo, site, media, run: str, url: str) -> tuple[float, float]:
    """Submit the playlist of `run`; (seconds to the first frame, seconds to the playlist done)."""
    frames_before = int(_scalar(url, "SELECT count(*) FROM gallery_frame"))
    page = media.url(f"{run}/list.html")
    submitted = time.monotonic()
    status, _, body, where = site.post_form("/jobs/add/", {"url": page, "frames": str(FRAMES)})
    match = re.fullmatch(r"/jobs/(\d+)/", urllib.parse.urlsplit(where).path)
    assert status == 200 and match, (status, where, body[:500])
    job_id = int(match.group(1))
    first = None
    deadline = submitted + 900
    while True:
        now = time.monotonic()
        if first is None and int(_scalar(url, "SELECT count(*) FROM gallery_frame")) > frames_before:
            first = now - submitted
        state = _scalar(url, "SELECT status FROM jobs_job WHERE id = %s", (job_id,))
        if state in ("done", "failed"):
            break
        assert now < deadline, f"playlist not done after 900 s\n{topo.logs()}"
        time.sleep(0.1)
    total = time.monotonic() - submitted
    message = _scalar(url, "SELECT message FROM jobs_job WHERE id = %s", (job_id,))
    assert state == "done" and message.startswith(f"{VIDEOS} of {VIDEOS}"), (state, message)
    return first or total, total


def main(argv: list[str] | None = None) -> int:
    # Django is not set up here: the hosts are processes, the bench reads Postgres itself.
    from tests.deploy.helpers import Site
    from tests.deploy.multihost import MEDIA_ADDRESS, Topology
    from tests.httpserver import MediaServer, html_playlist
    from tests.videos import make_video

    url = _database_url()
    _fresh_database(url)
    root = Path(tempfile.mkdtemp(prefix="inspire-bench-hosts-"))
    topo = Topology(
        root / "hosts",
        database={"DATABASE_URL": url},
        # Production's defaults for the broker; both hosts may work for the one bench user.
        q_timeout_s=600,
        q_retry_s=1200,
        extra_env={"Q_POLL": "0.5", "INSPIRE_USER_RUNNING_JOBS": "2", "LOG_LEVEL": "WARNING"},
    )
    try:
        sources = [make_video(root / f"source-{i}.mp4", seconds=6 + i) for i in range(SOURCES)]
        served = root / "served"
        for run in ("one", "two"):
            (served / run).mkdir(parents=True)
            for i in range(VIDEOS):
                shutil.copyfile(sources[i % SOURCES], served / run / f"clip-{i}.mp4")
        topo.start_bucket()
        topo.prepare()
        topo.start_web()
        with MediaServer(served, host=MEDIA_ADDRESS) as media:
            for run in ("one", "two"):
                clips = [media.url(f"{run}/clip-{i}.mp4") for i in range(VIDEOS)]
                media.add_page(f"/{run}/list.html", html_playlist(f"Twelve clips ({run})", clips))
            site = Site(topo.web_url)
            status, _, _, _ = site.post_form(
                "/accounts/signup/",
                {"username": "bench", "email": "", "password1": PASSWORD, "password2": PASSWORD},
            )
            assert status == 200

            idle_none = _idle_rate(url)
            a = topo.start_worker(0)
            idle_one = _idle_rate(url)
            first_one, wall_one = _run(topo, site, media, "one", url)
            b = topo.start_worker(1)
            idle_two = _idle_rate(url)
            first_two, wall_two = _run(topo, site, media, "two", url)
            for host in (a, b):
                host.stop()

        print(f"{VIDEOS}-video playlist, {FRAMES} frames a video, Q_WORKERS=1 a host, {os.cpu_count()} cores")
        print(f"  one worker host : {wall_one:6.1f} s   first frame after {first_one:5.1f} s")
        print(f"  two worker hosts: {wall_two:6.1f} s   first frame after {first_two:5.1f} s")
        print(f"  speed-up        : {wall_one / wall_two:6.2f}x (2.00x would be perfect)")
        poll = topo.hosts["worker-a"].env["Q_POLL"]
        print(f"Broker poll cost, cluster idle (ORM broker, Q_POLL={poll} s), transactions a minute:")
        print(f"  no worker host  : {idle_none:7.0f}   (the web host and the bench itself)")
        print(f"  one worker host : {idle_one:7.0f}   (+{idle_one - idle_none:.0f})")
        print(f"  two worker hosts: {idle_two:7.0f}   (+{idle_two - idle_none:.0f})")
    finally:
        topo.close()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
