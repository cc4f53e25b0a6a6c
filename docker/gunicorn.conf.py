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
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then so a slow leak (large frames in memory) cannot grow forever.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100)

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
