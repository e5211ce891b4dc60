"""The wizard's import task on a real Celery worker (the PostgreSQL + Redis pass of ``make test``): the
worker reads the file from the job row and leaves the outcome and the progress there."""

from __future__ import annotations

from decimal import Decimal

import pytest

from imports import jobs
from imports.models import ImportJob, JobStatus
from imports.tasks import import_job_run
from sales.models import Product
from scorecard.services import organization_create

pytestmark = pytest.mark.worker


class _Upload:
    """The least an uploaded file offers: a name, a size and its bytes."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self.size, self._data = name, len(data), data

    def read(self, size: int = -1) -> bytes:
        return self._data if size < 0 else self._data[:size]


def test_a_checked_job_is_imported_by_the_worker(celery_worker):
    org = organization_create(name="Worker Imports", slug="worker-imports")
    data = b"product,line,list_price\r\nWidget,Tools,100\r\nGadget,Gizmos,250.5\r\n"
    job = jobs.job_create(org=org, kind="products", upload=_Upload("catalog.csv", data))  # type: ignore[arg-type]
    jobs.job_map(job=job, mapping=job.mapping)
    assert (job.status, job.error_total, job.counts["created"]) == (JobStatus.CHECKED, 0, 2)
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)

    celery_worker.run(import_job_run, job.pk, timeout=60)

    job.refresh_from_db()
    assert (job.status, job.progress, job.rows_done) == (JobStatus.DONE, 100, 2)
    assert job.counts == {"created": 2, "updated": 0, "unchanged": 0}
    assert bytes(job.content) == b""
    assert job.started_at is not None and job.finished_at is not None
    stored = dict(Product.objects.filter(org=org).values_list("name", "list_price"))
    assert stored == {"Widget": Decimal("100"), "Gadget": Decimal("250.5")}
