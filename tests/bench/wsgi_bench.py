"""The project's WSGI application plus two trivial views, for the site benchmark only.

Gunicorn serves `tests.bench.wsgi_bench:application`; the production URLconf stays untouched:
this module is its own ROOT_URLCONF, made of the trivial routes and every project route.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inspire.settings")
application = get_wsgi_application()  # sets Django up; the imports below need it

from django.conf import settings  # noqa: E402
from django.contrib.auth.decorators import login_required  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from inspire.urls import urlpatterns as project_urlpatterns  # noqa: E402


def trivial(request: HttpRequest) -> HttpResponse:
    """The yardstick: the whole middleware stack, no database, no template."""
    return HttpResponse("ok", content_type="text/plain")


@login_required
def trivial_signed_in(request: HttpRequest) -> HttpResponse:
    """The yardstick plus what every signed-in page pays: the session and the user lookups."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/trivial", trivial),
    path("bench/trivial-signed-in", trivial_signed_in),
    *project_urlpatterns,
]
# Read on the first request, which comes after this module is imported.
settings.ROOT_URLCONF = __name__
