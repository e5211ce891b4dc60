"""Perspectives, strategic objectives and the cause→effect links of the strategy map."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords


class Perspective(models.Model):
    FINANCIAL, CUSTOMER, INTERNAL, LEARNING = "financial", "customer", "internal", "learning"

    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="perspectives")
    slug = models.SlugField(max_length=60)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    value_proposition = models.TextField(
        blank=True, help_text="Customer perspective: the value proposition in the customers' own words."
    )
    is_outcome = models.BooleanField(
        default=False, help_text="Outcome (lagging) rather than driver (leading)."
    )
    weight = models.DecimalField(max_digits=6, decimal_places=2, default=1)
    order = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["org_id", "order"]
        constraints = [
            models.UniqueConstraint(fields=["org", "slug"], name="perspective_unique_slug_per_org"),
            models.CheckConstraint(condition=Q(weight__gte=0), name="perspective_weight_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class Objective(models.Model):
    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="objectives")
    perspective = models.ForeignKey(Perspective, on_delete=models.CASCADE, related_name="objectives")
    slug = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    weight = models.DecimalField(max_digits=6, decimal_places=2, default=1)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    order = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["perspective__order", "order"]
        constraints = [
            models.UniqueConstraint(fields=["org", "slug"], name="objective_unique_slug_per_org"),
            models.CheckConstraint(condition=Q(weight__gte=0), name="objective_weight_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class ObjectiveLink(models.Model):
    """``cause`` drives ``effect`` on the strategy map (learning → internal → customer → financial)."""

    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="+")
    cause = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="effects")
    effect = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="causes")
    note = models.CharField(max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cause", "effect"], name="objective_link_unique"),
            models.CheckConstraint(condition=~Q(cause=F("effect")), name="objective_link_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.cause} → {self.effect}"
