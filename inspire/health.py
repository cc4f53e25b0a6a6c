"""`/healthz`: is the site working? The measure itself is `jobs.maintenance.health_measure`,
shared with `manage.py inspire_status` (see there how "cluster seen" is measured)."""

from __future__ import annotations

from dataclasses import asdict

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from jobs import maintenance


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers and the cluster was seen lately, else 503; no login."""
    health = maintenance.health_measure()
    return JsonResponse(asdict(health), status=200 if health.ok else 503)
