"""Security headers Django has no setting for: Permissions-Policy, and the bucket's origins for
the Content-Security-Policy (django-csp writes that header from settings)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

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


def bucket_origins(
    *,
    bucket: str,
    endpoint_url: str | None,
    region: str | None,
    addressing_style: str | None,
    custom_domain: str | None,
) -> list[str]:
    """The origins a browser would fetch the bucket's objects from, for img-src.

    A custom domain (a CDN in front of the bucket) is the only one. Else the bucket is reached
    by path (https://host/bucket/...) or by virtual host (https://bucket.host/...); when
    addressing_style is unset boto3 picks, so both are allowed."""
    if custom_domain:
        return [f"https://{custom_domain.strip('/')}"]
    if endpoint_url:
        parts = urlsplit(endpoint_url)
        scheme, host = parts.scheme or "https", parts.netloc
    else:
        scheme, host = "https", f"s3.{region}.amazonaws.com" if region else "s3.amazonaws.com"
    path_style, virtual = f"{scheme}://{host}", f"{scheme}://{bucket}.{host}"
    if addressing_style == "path":
        return [path_style]
    if addressing_style == "virtual":
        return [virtual]
    return [path_style, virtual]
