"""django-q2 entry points only: take ids, call a service."""

from . import services


def run_job(job_id: int) -> None:
    services.job_run(job_id=job_id)


# Scheduled by name (jobs/migrations/0002, `manage.py ensure_schedules`); what they return is
# kept in django-q2's task rows, so it stays small.
def heartbeat() -> str:
    return services.cluster_heartbeat()


def refresh_curated() -> list[int]:
    return [job.pk for job in services.curated_refresh_start()]


def cleanup() -> dict[str, int]:
    return {
        "temp_dirs": len(services.temp_dirs_cleanup()),
        "task_rows": services.task_results_cleanup(),
    }
