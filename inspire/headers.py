"""A security header Django has no setting for: Permissions-Policy. (django-csp writes the
Content-Security-Policy from settings; the bucket's origin there is settings.INSPIRE_MEDIA_ORIGIN.)"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class PermissionsPolicyMiddleware:
    """Sends settings.PERMISSIONS_POLICY on every response that has none yet. A few lines
    instead of a package: the header is one fixed string."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.header = ", ".join(
            f"{feature}=({' '.join(allowed)})" for feature, allowed in settings.PERMISSIONS_POLICY.items()
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response
