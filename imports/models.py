"""The import wizard's state: one ``ImportJob`` per uploaded file, and the column mapping each
organisation last used for each kind of import."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

# The kinds of imports.kinds.KINDS (a test keeps the two lists equal; models import no services).
KIND_CHOICES = [
    ("reps", "Reps"),
    ("opportunities", "Opportunities"),
    ("products", "Products"),
    ("certifications", "Certifications"),
    ("programmes", "Programmes"),
    ("measurements", "Measurements"),
    ("targets", "Targets"),
]


class JobStatus(models.TextChoices):
    UPLOADED = "uploaded", "Columns to map"
    CHECKED = "checked", "Checked"
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """A file on its way in: uploaded, its columns mapped, checked (a dry run: the row errors and what
    would change), then imported by a Celery task that reports its progress here.

    The file is kept in the row (at most the import size limit) so that any worker can read it; it is
    dropped once the import is done.
    """

    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=KIND_CHOICES)
    file_name = models.CharField(max_length=255)
    file_size = models.PositiveIntegerField(default=0)
    content = models.BinaryField(default=b"", editable=False)
    headers = models.JSONField(default=list, blank=True, help_text="The file's column names.")
    mapping = models.JSONField(default=dict, blank=True, help_text="Import column → the file's column.")
    create_missing = models.BooleanField(
        default=False, help_text="Create the unknown reps and products the file names."
    )
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.UPLOADED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="created / updated / unchanged rows.")
    also = models.JSONField(default=dict, blank=True, help_text="What else was created or changed.")
    errors = models.JSONField(
        default=list, blank=True, help_text="The first row errors: row, column, message."
    )
    error_total = models.PositiveIntegerField(default=0)
    unknown = models.JSONField(default=dict, blank=True, help_text="Unknown reps and products named.")
    sample = models.JSONField(default=list, blank=True, help_text="The first rows as mapped.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["org", "-created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="importjob_progress_percent")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.file_name} ({self.get_status_display()})"

    @property
    def in_progress(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)

    @property
    def seconds(self) -> float | None:
        """How long the import ran (None until it finished)."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ImportMapping(models.Model):
    """The column mapping an organisation last confirmed for a kind of import, offered next time."""

    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=KIND_CHOICES)
    mapping = models.JSONField(default=dict)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "kind"], name="importmapping_one_per_kind")]

    def __str__(self) -> str:
        return f"{self.org_id} {self.kind}: {self.mapping}"
