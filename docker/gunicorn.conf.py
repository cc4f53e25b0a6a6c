"""gunicorn settings for the web container (and the production topology test).

Every knob comes from the environment so an operator tunes the site in docker/.env without
rebuilding the image. gunicorn reads this file with ``--config docker/gunicorn.conf.py``.
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# Inside a container the port must be reachable from the other containers (nginx), hence all
# interfaces; compose publishes it on the host's loopback only.
bind = f"0.0.0.0:{_int('PORT', 8000)}"

# Pages are short; the long work runs in the qcluster. A few processes with a few threads each
# keep memory low on small servers; threads (gthread) also mean a slow upload does not hold a
# whole process hostage until it is killed by the timeout.
workers = _int("GUNICORN_WORKERS", min(4, multiprocessing.cpu_count() * 2))
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("GUNICORN_TIMEOUT", 60)
# A worker that stops (a restart after max_requests, a deploy) first finishes what it is
# answering, for this long at most: longer than any request the site serves (a file streamed
# to a slow client without nginx), so a restart cuts none. Its kept-alive connections it closes
# after 2 s (gunicorn's linger), answering a request that arrives meanwhile with
# "Connection: close", so none is dropped; compose's stop_grace_period for web must exceed it.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 90)
# Longer than nginx keeps idle upstream connections (keepalive_timeout, 60 s by default): the
# proxy closes them first. The other way round, gunicorn closing one just as nginx sends a
# request on it, nginx answers 502 to a POST (it retries only idempotent requests).
keepalive = _int("GUNICORN_KEEPALIVE", 75)
# Restart a worker after max_requests (+ up to the jitter) requests, so a slow leak (large frames
# in memory) cannot grow forever. A restart imports Django and the project afresh (~1.4 s of
# CPU), and the worker's threads serve nothing until it is done. `python -m
# tests.bench.bench_recycle` measured it by turns against a server that never restarts (4
# workers x 4 threads, 20 signed-in users, 2 shared CPUs): one restart cost ~1,000 requests of
# the trivial signed-in view (8 restarts at max_requests 100: 16 req/s against 205). At the old
# 1000 that is ~49% of that view's throughput (another load run, in the issue, lost about 2/3);
# at 20000 + half the jitter, 3.9%, and less on real pages, which cost 5-30x the trivial one. At
# the site's real traffic a worker then restarts every few hours. The jitter is half of it, so
# workers that started together restart far apart, never all at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 10000)

# Logs go to stdout/stderr: `docker compose logs web` is where an operator looks.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Which peers may set X-Forwarded-* for gunicorn itself; compose sets "*" because the web
# container is reachable only from nginx and the host's loopback.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The worker heartbeat file lives in memory: a container's overlay disk can stall it. gunicorn
# creates it with mkstemp and unlinks it at once, so the shared directory is no risk here.
_SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
