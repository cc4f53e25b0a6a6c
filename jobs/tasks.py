"""django-q2 entry points only: take ids, call a service."""

from . import services


def run_job(job_id: int) -> None:
    services.job_run(job_id=job_id)
