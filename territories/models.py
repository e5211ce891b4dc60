"""Territory tree, reps and effective-dated territory assignments."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords
from treebeard.mp_tree import MP_Node

from scorecard.integrity import refuse_foreign_org

PATH_SEPARATOR = "/"


class Territory(MP_Node):
    """A node of an organisation's territory tree; the root is the whole organisation.

    ``full_name`` is the path of names from the root joined by "/", kept in step by the services
    so that lookups by path (imports, reports) are one indexed query.
    """

    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="territories")
    name = models.CharField(max_length=120)
    full_name = models.CharField(max_length=1000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_territories",
    )
    owner_name = models.CharField(
        max_length=200, blank=True, help_text="Responsible manager, when not a user."
    )
    retired_on = models.DateField(
        null=True,
        blank=True,
        help_text="From this day the territory takes no assignments; it stays in the tree, its history and "
        "the figures of the periods before.",
    )

    node_order_by = ["name"]

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "territories"
        constraints = [
            models.UniqueConstraint(fields=["org", "full_name"], name="territory_unique_path_per_org"),
            models.CheckConstraint(condition=~Q(name=""), name="territory_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def clean(self) -> None:
        if PATH_SEPARATOR in self.name:
            raise ValidationError({"name": f"A territory name cannot contain {PATH_SEPARATOR!r}."})

    def retired_by(self, day: date) -> bool:
        """True when the territory is retired on ``day`` (it takes no assignment running that day)."""
        return self.retired_on is not None and self.retired_on <= day


class Rep(models.Model):
    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="reps")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="rep"
    )
    external_id = models.CharField(max_length=100, blank=True)
    hire_date = models.DateField(null=True, blank=True)
    leave_date = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="rep_unique_name_per_org"),
            models.CheckConstraint(
                condition=Q(leave_date__isnull=True)
                | Q(hire_date__isnull=True)
                | Q(leave_date__gte=models.F("hire_date")),
                name="rep_leave_not_before_hire",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TerritoryAssignment(models.Model):
    """Rep ``rep`` belongs to ``territory`` from ``start`` to ``end`` inclusive (open-ended when null).

    One rep's assignments never overlap; the database enforces it (see migration 0002).
    """

    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="+")
    rep = models.ForeignKey(Rep, on_delete=models.CASCADE, related_name="assignments")
    territory = models.ForeignKey(Territory, on_delete=models.PROTECT, related_name="assignments")
    start = models.DateField()
    end = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["rep_id", "start"]
        indexes = [models.Index(fields=["org", "territory", "start"])]
        constraints = [
            models.UniqueConstraint(fields=["rep", "start"], name="assignment_unique_rep_start"),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")),
                name="assignment_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rep} in {self.territory} from {self.start} to {self.end or '…'}"

    def clean(self) -> None:
        refuse_foreign_org(self, "rep", "territory")
        overlapping = TerritoryAssignment.objects.filter(rep_id=self.rep_id).exclude(pk=self.pk)
        if self.end is not None:
            overlapping = overlapping.filter(start__lte=self.end)
        overlapping = overlapping.filter(Q(end__isnull=True) | Q(end__gte=self.start))
        if overlapping.exists():
            raise ValidationError(
                f"{self.rep} already has an assignment overlapping {self.start} – {self.end or '…'}."
            )
        retired_on = self.territory.retired_on if self.territory_id else None
        if retired_on is not None and (self.end is None or self.end >= retired_on):
            raise ValidationError(
                {
                    "territory": f"{self.territory} is retired from {retired_on:%Y-%m-%d}: it takes no "
                    "assignment running on or after that day."
                }
            )
