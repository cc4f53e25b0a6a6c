import sys

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        if sys.argv[1:2] == ["qcluster"]:
            # The cluster forks its workers from this process (django-q2 uses "fork"), after
            # this: compiled here once, yt-dlp's 1,800 extractor patterns are in every worker,
            # recycled ones too, instead of costing each worker's first job 0.8 s (issue 14).
            # The web processes do the same in inspire/wsgi.py, in a thread.
            from jobs.ytdlp import warm_up

            warm_up()
