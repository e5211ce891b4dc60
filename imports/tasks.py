from __future__ import annotations

from celery import shared_task

from . import jobs


@shared_task(acks_late=True)
def import_job_run(job_id: int) -> None:
    """Import a checked file of the wizard (``jobs.job_run``); safe to run again."""
    jobs.job_run(job_id)


@shared_task
def import_jobs_expire() -> int:
    """Daily: drop the files of imports left unfinished past their keeping time (``jobs.jobs_expire``)."""
    return jobs.jobs_expire()
