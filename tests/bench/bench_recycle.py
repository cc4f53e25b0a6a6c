"""Worker recycling under load: gunicorn's max_requests restarts, before and after the tuning
in docker/gunicorn.conf.py, against a server that never restarts, in one run.

    .venv/bin/python -m tests.bench.bench_recycle [--seconds 30] [--users 20] [--slices 3]

Three gunicorn servers with the production config (docker/gunicorn.conf.py), one at a time on
127.0.0.1, each with the environment of one setting:

- never:  GUNICORN_MAX_REQUESTS=0 (the yardstick: no restart at all);
- before: the config this replaced (max_requests 1000, jitter 100, keep-alive 5 s, graceful 30 s);
- tuned:  the config file's own defaults;
- every100: max_requests 100, a magnifier: it restarts often enough on any machine (a loaded
  one may serve too few requests in the run for `before` to restart at all) to measure what a
  restart costs, in requests of the trivial view; from that cost the loss of throughput at
  max_requests M is cost / (M + cost), printed for the old and the tuned values.

Two loads on each, `--users` signed-in users each: the trivial view (tests/bench/wsgi_bench.py,
GET, a browser's retry of a closed kept connection allowed, as in bench_site), and saving and
removing favourites (POST, sent again only as a browser does, when a kept connection closed
before any answer: tests/bench/load.py favourites_load), whose result
is checked against the database afterwards ("lost" = a favourite the user was told about that
the database does not hold, or the reverse). The time of each is cut in `--slices` taken by
turns (never before tuned, tuned before never, ...), so the machine's drifting load weighs on
all three alike. Prints throughput, p50, p99, restarts, unanswered requests and lost writes, and
the ratios against `never`. Nothing is asserted: tests/reliability/test_load.py does that.

Needs Postgres (DATABASE_URL's server, else postgres://postgres@127.0.0.1:5432): a database of
its own, made anew each run and dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bench import load, site_data  # noqa: E402

SECRET_KEY = "bench-only-secret-key"
FRAMES_EACH = 6
WARMUP_S = 3.0
CONFIGS = {
    "never": {"GUNICORN_MAX_REQUESTS": "0"},
    "before": {
        "GUNICORN_MAX_REQUESTS": "1000",
        "GUNICORN_MAX_REQUESTS_JITTER": "100",
        "GUNICORN_KEEPALIVE": "5",
        "GUNICORN_GRACEFUL_TIMEOUT": "30",
    },
    "tuned": {},
    # A magnifier: restarts often enough on any machine to measure what one costs.
    "every100": {"GUNICORN_MAX_REQUESTS": "100", "GUNICORN_MAX_REQUESTS_JITTER": "10"},
}


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    return urlunsplit(urlsplit(url)._replace(path="/inspire_bench_recycle"))


def _env(workdir: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "inspire.settings",
            "DATABASE_URL": url,
            "DEBUG": "0",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "MEDIA_ROOT": str(workdir / "media"),
            "CACHE_DIR": str(workdir / "cache"),
            "INSPIRE_TEMP_DIR": str(workdir / "tmp"),
            "GUNICORN_LOG_LEVEL": "info",
        }
    )
    return env


def _seed(users: int) -> list[dict]:
    """Users with frames in their library, signed in (Django is set up on the bench database)."""
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from tests import factories

    call_command("migrate", verbosity=0)
    seeded = []
    for i in range(users):
        user = factories.UserFactory(username=f"recycle{i}")
        video = factories.video_in_library(user, n_frames=FRAMES_EACH)
        client = Client()
        client.force_login(user)
        seeded.append(
            {
                "id": user.pk,
                "session": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "csrf": secrets.token_hex(16),
                "frames": list(video.frames.values_list("pk", flat=True)),
            }
        )
    return seeded


def _lost(result: load.WriteResult) -> int:
    from gallery.models import Favourite

    lost = 0
    for user_id, told in result.saved.items():
        held = set(Favourite.objects.filter(user_id=user_id).values_list("frame_id", flat=True))
        lost += len(told ^ held)
    return lost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="of each load on each server (30)")
    parser.add_argument("--users", type=int, default=20, help="concurrent signed-in users (20)")
    parser.add_argument("--slices", type=int, default=3, help="turns the servers take (3)")
    args = parser.parse_args(argv)
    url = _database_url()
    with tempfile.TemporaryDirectory(prefix="inspire-recycle-") as tmp:
        workdir = Path(tmp)
        env = _env(workdir, url)
        os.environ.update(
            {k: env[k] for k in ("DATABASE_URL", "DEBUG", "SECRET_KEY", "CACHE_DIR", "MEDIA_ROOT")}
        )
        os.environ["DJANGO_SETTINGS_MODULE"] = "inspire.settings"
        site_data.recreate(url)
        try:
            import django

            django.setup()
            from django.db import connection

            from gallery.models import Favourite

            users = _seed(args.users)
            jars = [{"sessionid": u["session"], "csrftoken": u["csrf"]} for u in users]
            print(
                f"Worker recycling: {args.users} signed-in users, {args.seconds:.0f} s of each load per "
                f"server ({args.slices} slices by turns), {os.cpu_count()} CPUs",
                flush=True,
            )
            trivial = {name: load.Result() for name in CONFIGS}
            writes = {name: load.WriteResult() for name in CONFIGS}
            lost = dict.fromkeys(CONFIGS, 0)
            slice_s = args.seconds / args.slices
            for turn in range(args.slices):
                for name in list(CONFIGS)[:: -1 if turn % 2 else 1]:
                    log = workdir / f"gunicorn-{name}.log"
                    with load.gunicorn({**env, **CONFIGS[name]}, log) as server:
                        load.load(server, "/bench/trivial-signed-in", jars, WARMUP_S)
                        trivial[name].add(load.load(server, "/bench/trivial-signed-in", jars, slice_s))
                        Favourite.objects.all().delete()
                        connection.close()
                        result = load.favourites_load(server, users, slice_s)
                    lost[name] += _lost(result)
                    _add(writes[name], result)
            _report(trivial, writes, lost)
        finally:
            from django.db import connections

            connections.close_all()
            site_data.drop(url)
    return 0


def _add(total: load.WriteResult, one: load.WriteResult) -> None:
    total.seconds += one.seconds
    total.latencies += one.latencies
    total.saves += one.saves
    total.removes += one.removes
    total.resets.update(one.resets)
    total.retried += one.retried
    total.statuses.update(one.statuses)
    total.recycles += one.recycles


def _max_requests(name: str) -> int:
    """max_requests (plus half the jitter) of a server: its env, else the config file's."""
    import runpy

    config = runpy.run_path(str(ROOT / "docker" / "gunicorn.conf.py"))
    env = CONFIGS[name]
    every = int(env.get("GUNICORN_MAX_REQUESTS", config["max_requests"]))
    return every + int(env.get("GUNICORN_MAX_REQUESTS_JITTER", config["max_requests_jitter"])) // 2


def _report(trivial: dict, writes: dict, lost: dict) -> None:
    header = [
        ("", "server"),
        ("trivial:", "req/s"),
        ("", "p50 ms"),
        ("", "p99 ms"),
        ("", "restarts"),
        ("", "errors"),
        ("writes:", "req/s"),
        ("", "p50 ms"),
        ("", "p99 ms"),
        ("", "restarts"),
        ("", "sent again"),
        ("", "unanswered"),
        ("", "5xx"),
        ("", "lost"),
        ("x never:", "tput"),
        ("", "p99"),
        ("", "w tput"),
        ("", "w p99"),
    ]
    base_t, base_w = trivial["never"], writes["never"]
    rows = []
    for name in CONFIGS:
        t, w = trivial[name], writes[name]
        rows.append(
            [
                name,
                f"{t.rate:.1f}",
                f"{t.p50 * 1000:.1f}",
                f"{t.p99 * 1000:.1f}",
                str(t.worker_boots),
                str(t.errors),
                f"{w.rate:.1f}",
                f"{w.quantile(0.5) * 1000:.1f}",
                f"{w.quantile(0.99) * 1000:.1f}",
                str(w.recycles),
                str(w.retried),
                str(sum(w.resets.values())),
                str(w.server_errors),
                str(lost[name]),
                f"{t.rate / base_t.rate:.2f}x" if base_t.rate else "-",
                f"{t.p99 / base_t.p99:.2f}x",
                f"{w.rate / base_w.rate:.2f}x" if base_w.rate else "-",
                f"{w.quantile(0.99) / base_w.quantile(0.99):.2f}x",
            ]
        )
    from tests.bench.bench_site import table

    print("\n" + table(header, rows))
    magnified = trivial["every100"]
    if magnified.worker_boots and base_t.rate:
        # Requests the restarts cost: what the never-restarting server served in the same time.
        cost = max(0.0, (base_t.rate - magnified.rate) * magnified.seconds) / magnified.worker_boots
        print(
            f"\nOne restart cost ~{cost:.0f} requests of the trivial view "
            f"({magnified.worker_boots} restarts at max_requests 100)."
        )
        for name in ("before", "tuned"):
            every = _max_requests(name)
            if every:
                print(
                    f"At max_requests {every:,} ({name}, with half the jitter) that is "
                    f"{cost / (every + cost):.1%} of its throughput."
                )
    print(
        "\nrestarts: workers started again during the trivial load, workers that stopped after "
        "max_requests during the writes. errors/unanswered: requests with no answer (the trivial "
        "load retries a closed kept connection once, as browsers do; the writes too, only when the "
        "kept connection closed before any byte of answer, counted in 'sent again'). "
        "x never: against the server that never restarts, measured by turns in this run."
    )


if __name__ == "__main__":
    sys.exit(main())
