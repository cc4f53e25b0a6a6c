"""django-q2 entry points only: take ids, call the pipeline or maintenance.

Their dotted paths (`jobs.tasks.run_job`, ...) are stored in queued tasks and schedules, so they
stay as they are.
"""

from . import maintenance, pipeline, services


def run_job(job_id: int) -> None:
    pipeline.job_run(job_id=job_id)


# Scheduled by name (jobs/migrations/0002, `manage.py ensure_schedules`); what they return is
# kept in django-q2's task rows, so it stays small.
def heartbeat() -> str:
    return maintenance.cluster_heartbeat()


def reap() -> int:
    return maintenance.jobs_reap()


def refresh_curated() -> list[int]:
    return [job.pk for job in services.curated_refresh_start()]


def cleanup() -> dict[str, int]:
    return {
        "temp_dirs": len(maintenance.temp_dirs_cleanup()),
        "task_rows": maintenance.task_results_cleanup(),
        "media_files": maintenance.media_orphans_cleanup(),
    }
