"""The container health check: is this web container serving, with its database reachable?

GET /healthz on the local gunicorn with plain urllib, so the image needs no curl. Django checks
the Host header against ALLOWED_HOSTS before any view runs, so the request names the first
allowed host instead of 127.0.0.1, and says it came over https, so BEHIND_PROXY +
SECURE_SSL_REDIRECT do not answer with a redirect.

/healthz also answers 503 when no worker was seen lately. That is for an outside monitor to
report; it says nothing about this container, and restarting (or holding back nginx for) a web
container because the worker is down would only make things worse. So a 503 whose body says
the database is fine still counts as healthy here, with the body printed for `docker inspect`.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request


def host_header(allowed_hosts: str) -> str:
    for host in (h.strip() for h in allowed_hosts.split(",")):
        if host and host != "*":
            # ".example.com" allows example.com and its subdomains.
            return host.lstrip(".")
    return "localhost"


def verdict(status: int, body: bytes) -> tuple[bool, str]:
    """(healthy, what to print) for one /healthz answer."""
    text = body.decode("utf-8", "replace")[:500]
    if status == 200:
        return True, f"ok: {text}"
    try:
        db_ok = status == 503 and json.loads(body).get("db") == "ok"
    except (ValueError, AttributeError):
        db_ok = False
    if db_ok:
        return True, f"web ok, but /healthz reports a problem elsewhere: {text}"
    return False, f"unhealthy: HTTP {status}: {text}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer (and a wrong one): never follow it off this machine."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def main() -> int:
    port = os.environ.get("PORT", "8000").strip() or "8000"
    timeout = float(os.environ.get("HEALTHCHECK_TIMEOUT", "4"))
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/healthz",
        headers={
            "Host": host_header(os.environ.get("ALLOWED_HOSTS", "localhost")),
            "X-Forwarded-Proto": "https",
            "Accept": "application/json",
        },
    )
    try:
        opener = urllib.request.build_opener(_NoRedirect)
        with opener.open(request, timeout=timeout) as response:
            healthy, message = verdict(response.status, response.read())
    except urllib.error.HTTPError as exc:
        healthy, message = verdict(exc.code, exc.read())
    except (urllib.error.URLError, OSError) as exc:
        healthy, message = False, f"unhealthy: {exc}"
    print(message, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
