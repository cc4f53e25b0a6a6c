"""The container health check: GET /healthz on the local gunicorn, exit 0 when it answers 200.

Plain urllib, so the image needs no curl. Django checks the Host header against ALLOWED_HOSTS
before any view runs, so the request names the first allowed host instead of 127.0.0.1, and says
it came over https, so BEHIND_PROXY + SECURE_SSL_REDIRECT do not answer with a redirect.
"""

from __future__ import annotations

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


def main() -> int:
    port = os.environ.get("PORT", "8000").strip() or "8000"
    request = urllib.request.Request(  # noqa: S310 - a fixed http URL on the loopback
        f"http://127.0.0.1:{port}/healthz",
        headers={
            "Host": host_header(os.environ.get("ALLOWED_HOSTS", "localhost")),
            "X-Forwarded-Proto": "https",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=float(os.environ.get("HEALTHCHECK_TIMEOUT", "4"))) as response:  # noqa: S310
            ok = response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    if not ok:
        print(f"unhealthy: HTTP {response.status}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
