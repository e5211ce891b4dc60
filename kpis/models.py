"""KPI definitions, targets (with history), manual measurements, stored rollups and notes."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from scorecard.integrity import refuse_foreign_org

from . import catalog
from . import formula as formula_lang


class Unit(models.TextChoices):
    CURRENCY = "currency", "Currency"
    COUNT = "count", "Count"
    FRACTION = "fraction", "Percentage (stored as fraction)"
    PERCENT = "percent", "Percent change (points)"
    DAYS = "days", "Days"
    SCORE = "score", "Score / index"
    NUMBER = "number", "Number"


# Units whose values grow with the scope and the period: no default goal fits them all (DESIGN §4).
SCALED_UNITS = frozenset({Unit.COUNT, Unit.CURRENCY})


class Direction(models.TextChoices):
    HIGHER = "higher", "Higher is better"
    LOWER = "lower", "Lower is better"


class Source(models.TextChoices):
    METRIC = "metric", "Built-in metric"
    MANUAL = "manual", "Manual measurement"
    FORMULA = "formula", "Formula over other KPIs"


class TimeAggregation(models.TextChoices):
    SUM = "sum", "Sum"
    AVERAGE = "average", "Average"
    LAST = "last", "Last value"


class TreeAggregation(models.TextChoices):
    SUM = "sum", "Sum"
    AVERAGE = "average", "Average"
    WEIGHTED = "weighted", "Weighted average"
    NONE = "none", "None (entered per territory)"


class Transform(models.TextChoices):
    VALUE = "value", "Value"
    PCT_PREVIOUS = "pct_previous", "% change vs previous period"
    PCT_YOY = "pct_yoy", "% change vs same period last year"


class KPI(models.Model):
    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="kpis")
    objective = models.ForeignKey("perspectives.Objective", on_delete=models.CASCADE, related_name="kpis")
    slug = models.SlugField(max_length=80)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    unit = models.CharField(max_length=10, choices=Unit.choices)
    direction = models.CharField(max_length=6, choices=Direction.choices, default=Direction.HIGHER)
    source = models.CharField(max_length=8, choices=Source.choices)
    metric = models.CharField(max_length=60, blank=True, help_text="Catalog slug when source is metric.")
    metric_filter = models.JSONField(default=dict, blank=True)
    formula = models.CharField(max_length=500, blank=True)
    time_aggregation = models.CharField(
        max_length=8, choices=TimeAggregation.choices, default=TimeAggregation.SUM
    )
    tree_aggregation = models.CharField(
        max_length=8, choices=TreeAggregation.choices, default=TreeAggregation.SUM
    )
    transform = models.CharField(max_length=14, choices=Transform.choices, default=Transform.VALUE)
    weight = models.DecimalField(max_digits=6, decimal_places=2, default=1)
    default_goal = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    default_red_flag = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    tolerance = models.DecimalField(
        max_digits=6,
        decimal_places=4,
        default="0.10",
        help_text="Red flag = goal ∓ tolerance when only a goal is set.",
    )
    min_value = models.DecimalField(
        max_digits=20,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="Lowest value a manual entry may take; blank: the unit's (0 for fractions, percentages, "
        "counts, amounts and days; none for scores and numbers). Set it below 0 to allow negatives.",
    )
    max_value = models.DecimalField(
        max_digits=20,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="Highest value a manual entry may take; blank: the unit's (1 for fractions, 100 for "
        "percentages, none otherwise). NPS: −100 to 100.",
    )
    is_cumulative = models.BooleanField(
        default=False, help_text="Accumulates over the period (revenue, counts): projected by elapsed share."
    )
    is_forward_looking = models.BooleanField(default=False)
    order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "KPI"
        ordering = ["objective__perspective__order", "objective__order", "order"]
        constraints = [
            models.UniqueConstraint(fields=["org", "slug"], name="kpi_unique_slug_per_org"),
            models.CheckConstraint(condition=Q(weight__gte=0), name="kpi_weight_not_negative"),
            models.CheckConstraint(condition=Q(tolerance__gte=0), name="kpi_tolerance_not_negative"),
            models.CheckConstraint(
                condition=~Q(source="metric") | ~Q(metric=""), name="kpi_metric_source_has_metric"
            ),
            models.CheckConstraint(
                condition=~Q(source="formula") | ~Q(formula=""), name="kpi_formula_source_has_formula"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """A metric KPI names a catalog metric and only filters it accepts; a count or currency KPI has no
        default goal; no KPI takes a name formulas reserve. (A formula is validated against the
        organisation's other KPIs by ``services.kpi_create`` / ``kpi_update``.)"""
        if self.slug in formula_lang.RESERVED:
            raise ValidationError(
                {"slug": f"{self.slug!r} is reserved in formulas (the period's length in months)."}
            )
        if self.unit in SCALED_UNITS:
            # A count or a sum grows with the territory and the period, so one goal cannot fit every
            # scope and period (DESIGN §4): its target is explicit or the sum of its children's.
            message = (
                f"A {self.get_unit_display().lower()} KPI has no default {{}}: its target is set per "
                "territory or rep and period, or is the sum of its children's."
            )
            errors = {
                name: message.format(label)
                for name, label in (("default_goal", "goal"), ("default_red_flag", "red flag"))
                if getattr(self, name) is not None
            }
            if errors:
                raise ValidationError(errors)
        if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
            raise ValidationError({"max_value": "The highest value cannot be below the lowest."})
        if self.source == Source.METRIC:
            try:
                catalog.validate(self.metric, self.metric_filter)
            except catalog.CatalogError as exc:
                field = "metric" if self.metric not in catalog.CATALOG else "metric_filter"
                raise ValidationError({field: str(exc)}) from None


def _one_scope() -> Q:
    return (Q(territory__isnull=False) & Q(rep__isnull=True)) | (
        Q(territory__isnull=True) & Q(rep__isnull=False)
    )


class Target(models.Model):
    """A goal for a KPI, scope and period. Changing it adds a row and stamps the old one superseded."""

    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="+")
    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="targets")
    territory = models.ForeignKey("territories.Territory", null=True, blank=True, on_delete=models.CASCADE)
    rep = models.ForeignKey("territories.Rep", null=True, blank=True, on_delete=models.CASCADE)
    period = models.CharField(max_length=10)
    goal = models.DecimalField(max_digits=20, decimal_places=6)
    red_flag = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    set_at = models.DateTimeField(auto_now_add=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["org", "period"])]
        constraints = [
            models.CheckConstraint(condition=_one_scope(), name="target_one_scope"),
            models.UniqueConstraint(
                fields=["kpi", "territory", "period"],
                condition=Q(superseded_at__isnull=True, territory__isnull=False),
                name="target_current_unique_territory",
            ),
            models.UniqueConstraint(
                fields=["kpi", "rep", "period"],
                condition=Q(superseded_at__isnull=True, rep__isnull=False),
                name="target_current_unique_rep",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kpi} {self.territory or self.rep} {self.period}: {self.goal}"

    def clean(self) -> None:
        refuse_foreign_org(self, "kpi", "territory", "rep")


class Measurement(models.Model):
    """A manual input (NPS, CSAT, engagement, market size) for a KPI, scope and period."""

    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="+")
    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="measurements")
    territory = models.ForeignKey("territories.Territory", null=True, blank=True, on_delete=models.CASCADE)
    rep = models.ForeignKey("territories.Rep", null=True, blank=True, on_delete=models.CASCADE)
    period = models.CharField(max_length=10)
    value = models.DecimalField(max_digits=20, decimal_places=6)
    weight = models.DecimalField(
        max_digits=20,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="For weighted tree aggregation (e.g. responses).",
    )
    note = models.CharField(max_length=500, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    entered_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["org", "period"])]
        constraints = [
            models.CheckConstraint(condition=_one_scope(), name="measurement_one_scope"),
            models.UniqueConstraint(
                fields=["kpi", "territory", "period"],
                condition=Q(territory__isnull=False),
                name="measurement_unique_territory",
            ),
            models.UniqueConstraint(
                fields=["kpi", "rep", "period"], condition=Q(rep__isnull=False), name="measurement_unique_rep"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kpi} {self.territory or self.rep} {self.period} = {self.value}"

    def clean(self) -> None:
        refuse_foreign_org(self, "kpi", "territory", "rep")


class RollupRun(models.Model):
    """One recompute: the KPI order of the rows it stored, the day it computed as of, what it cost."""

    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="+")
    kpi_ids = models.JSONField(help_text="KPI ids in the order of the values in each row's data.")
    today = models.DateField()
    periods = models.JSONField(null=True, blank=True, help_text="Fiscal years recomputed; null = all.")
    started_at = models.DateTimeField()
    seconds = models.FloatField(default=0)
    rows = models.PositiveIntegerField(default=0)
    token = models.CharField(
        max_length=32,
        default="",
        help_text="Random; a worker's in-memory deal state is current only for the newest run's token.",
    )

    def __str__(self) -> str:
        return (
            f"{self.org_id} @ {self.started_at:%Y-%m-%d %H:%M:%S}: {self.rows} rows in {self.seconds:.2f} s"
        )


class ScopeRollup(models.Model):
    """Stored results of every KPI for one scope (territory subtree or rep) in each period of one fiscal
    year; see kpis.store."""

    # Derived rows that a full recompute rewrites all at once, so few indexes ((org, period) and the two
    # unique (scope, period) ones serve every lookup, including cascades) and no database-level foreign
    # keys (PostgreSQL checks deferred ones row by row at commit: 240k checks for 60k rows). Deleting an
    # organisation, territory or rep still deletes its rows (Django's cascade), and a recompute only
    # writes ids it has just read.
    org = models.ForeignKey(
        "scorecard.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    run = models.ForeignKey(
        RollupRun, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    territory = models.ForeignKey(
        "territories.Territory",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        db_index=False,
        db_constraint=False,
    )
    rep = models.ForeignKey(
        "territories.Rep",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        db_index=False,
        db_constraint=False,
    )
    year = models.CharField(max_length=10, help_text="Fiscal year key (2017, FY2018).")
    data = models.BinaryField()

    class Meta:
        indexes = [models.Index(fields=["org", "year"])]
        constraints = [
            models.CheckConstraint(condition=_one_scope(), name="scope_rollup_one_scope"),
            models.UniqueConstraint(
                fields=["territory", "year"],
                condition=Q(territory__isnull=False),
                name="scope_rollup_unique_territory",
            ),
            models.UniqueConstraint(
                fields=["rep", "year"], condition=Q(rep__isnull=False), name="scope_rollup_unique_rep"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.territory or self.rep} {self.year}"


class NoteKind(models.TextChoices):
    COMMENT = "comment", "Review comment"
    COACHING = "coaching", "Coaching note"
    ACTION = "action", "Action item"


class Note(models.Model):
    """A comment, coaching note or action item on a KPI, objective or rep for a period."""

    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=NoteKind.choices, default=NoteKind.COMMENT)
    period = models.CharField(max_length=10)
    kpi = models.ForeignKey(KPI, null=True, blank=True, on_delete=models.CASCADE, related_name="notes")
    objective = models.ForeignKey("perspectives.Objective", null=True, blank=True, on_delete=models.CASCADE)
    rep = models.ForeignKey("territories.Rep", null=True, blank=True, on_delete=models.CASCADE)
    territory = models.ForeignKey("territories.Territory", null=True, blank=True, on_delete=models.CASCADE)
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who carries out an action item.",
    )
    due_date = models.DateField(null=True, blank=True)
    done = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kpi__isnull=False) | Q(objective__isnull=False) | Q(rep__isnull=False),
                name="note_has_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period}: {self.text[:40]}"

    def clean(self) -> None:
        refuse_foreign_org(self, "kpi", "objective", "rep", "territory")


class DealChange(models.Model):
    """An opportunity that changed (or, with no opportunity, "reload every deal") since a recompute read it.

    Written in the same transaction as the change (model signals; bulk writes call
    ``recompute.deals_changed``), so a worker that keeps an organisation's deals in memory between
    recomputes (``kpis.warm``) re-reads exactly these; the recompute that read them deletes them.
    """

    org = models.ForeignKey(
        "scorecard.Organization", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    opportunity_id = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.org_id}: {self.opportunity_id or 'every deal'}"


class InputChange(models.Model):
    """A manual measurement or a target of the organisation changed since a recompute read them.

    Written in the same transaction as the change (``kpis.signals.period_input_changed``), so a worker that
    keeps an organisation's measurements and targets in memory between recomputes (``kpis.rollup.warm``)
    reads them again; the recompute that read it deletes it.
    """

    org = models.ForeignKey(
        "scorecard.Organization", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )

    def __str__(self) -> str:
        return f"{self.org_id}: measurements or targets"


class RecomputeRequest(models.Model):
    """A period of an organisation whose stored rollups are stale ("*" = every period).

    Durable, so a request survives a worker crash; the recompute task deletes only the requests it saw
    before it started, so a change made while it runs is picked up by the next run.
    """

    ALL = "*"

    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=10)
    requested_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "period"], name="recompute_request_unique_period")
        ]

    def __str__(self) -> str:
        return f"{self.org_id} {self.period} @ {self.requested_at}"
