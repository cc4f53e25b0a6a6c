"""WSGI entry point for gunicorn: `gunicorn inspire.wsgi`."""

import os
import threading

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inspire.settings")

application = get_wsgi_application()

# The first link a web worker checks (jobs.ytdlp.quick_match) would otherwise wait 0.8 s for
# yt-dlp's 1,800 URL patterns to compile; a worker compiles them once, here, in the background.
from jobs.ytdlp import warm_up  # noqa: E402  (after Django is set up)

threading.Thread(target=warm_up, name="yt-dlp warm-up", daemon=True).start()
