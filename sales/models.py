"""Accounts, products, partners and opportunities."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce

from scorecard.integrity import foreign_org_errors


class Account(models.Model):
    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="accounts")
    external_id = models.CharField(max_length=100, help_text="Key from the source system (or the name).")
    name = models.CharField(max_length=200)
    sector = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "external_id"], name="account_unique_key_per_org")
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="products")
    name = models.CharField(max_length=200)
    line = models.CharField(max_length=100, help_text="Product line or brand (cross-brand KPIs group by it).")
    list_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    description = models.CharField(max_length=300, blank=True)
    retired_on = models.DateField(
        null=True,
        blank=True,
        help_text="No longer sold from this day: not offered for new deals; the deals naming it keep it.",
    )

    class Meta:
        ordering = ["line", "name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="product_unique_name_per_org"),
            models.CheckConstraint(
                condition=Q(list_price__isnull=True) | Q(list_price__gte=0), name="product_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Partner(models.Model):
    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="partners")
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="partner_unique_name_per_org")]

    def __str__(self) -> str:
        return self.name


class StrategicPlay(models.Model):
    org = models.ForeignKey(
        "scorecard.Organization", on_delete=models.CASCADE, related_name="strategic_plays"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="play_unique_name_per_org")]

    def __str__(self) -> str:
        return self.name


class Deliverable(models.Model):
    """A kind of technical deliverable (architecture overview, project document, …)."""

    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="deliverables")
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="deliverable_unique_name_per_org")
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.TextChoices):
    PROSPECTING = "prospecting", "Prospecting"
    QUALIFYING = "qualifying", "Qualifying"
    ENGAGING = "engaging", "Engaging"
    PROPOSAL = "proposal", "Proposal"
    NEGOTIATION = "negotiation", "Negotiation"
    WON = "won", "Won"
    LOST = "lost", "Lost"


OPEN_STAGES = frozenset(s.value for s in Stage if s not in (Stage.WON, Stage.LOST))
CLOSED_STAGES = frozenset({Stage.WON.value, Stage.LOST.value})


class Channel(models.TextChoices):
    DIRECT = "direct", "Direct"
    PARTNER = "partner", "Partner"


class Poc(models.TextChoices):
    NONE = "none", "None"
    RUNNING = "running", "Running"
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"


class Opportunity(models.Model):
    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="opportunities")
    external_id = models.CharField(max_length=100)
    rep = models.ForeignKey(
        "territories.Rep",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="opportunities",
        help_text="Empty for house accounts.",
    )
    territory = models.ForeignKey(
        "territories.Territory",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credited_opportunities",
        help_text="Credited territory for house (rep-less) deals. A deal with a rep is credited to the "
        "rep's territory on its close date; this is only the fallback when no assignment covers it.",
    )
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.PROTECT, related_name="opportunities"
    )
    products = models.ManyToManyField(Product, blank=True, related_name="opportunities")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    created_date = models.DateField(null=True, blank=True)
    engage_date = models.DateField(null=True, blank=True)
    close_date = models.DateField(null=True, blank=True)
    amount = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    profit = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.DIRECT)
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="opportunities"
    )
    strategic_play = models.ForeignKey(
        StrategicPlay, null=True, blank=True, on_delete=models.PROTECT, related_name="opportunities"
    )
    poc = models.CharField(max_length=10, choices=Poc.choices, default=Poc.NONE)
    deliverables = models.ManyToManyField(Deliverable, blank=True, related_name="opportunities")
    identified_by = models.ForeignKey(
        "territories.Rep",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="identified_opportunities",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "opportunities"
        ordering = ["external_id"]
        indexes = [
            models.Index(fields=["org", "stage", "close_date"]),
            # The deals behind a figure (kpis.trace), newest first: closed ones of any stage by close
            # date; the others by the day they were engaged, else created (trace.OPENED_ON).
            models.Index(fields=["org", "close_date"]),
            models.Index(F("org"), Coalesce("engage_date", "created_date"), name="opportunity_org_opened_on"),
            models.Index(fields=["org", "engage_date"]),
            # A rep's deals by close date: a rep's or a team's deals behind a figure (kpis.trace).
            models.Index(fields=["org", "rep", "close_date"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["org", "external_id"], name="opportunity_unique_key_per_org"),
            models.CheckConstraint(
                condition=Q(stage__in=[s.value for s in Stage]), name="opportunity_stage_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=[c.value for c in Channel]), name="opportunity_channel_valid"
            ),
            models.CheckConstraint(condition=Q(poc__in=[p.value for p in Poc]), name="opportunity_poc_valid"),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="opportunity_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(close_date__isnull=True)
                | Q(engage_date__isnull=True)
                | Q(close_date__gte=models.F("engage_date")),
                name="opportunity_close_not_before_engage",
            ),
            models.CheckConstraint(
                condition=~Q(stage__in=[Stage.WON.value, Stage.LOST.value]) | Q(close_date__isnull=False),
                name="opportunity_closed_has_close_date",
            ),
            models.CheckConstraint(
                condition=Q(partner__isnull=True) | Q(channel=Channel.PARTNER),
                name="opportunity_partner_only_on_partner_channel",
            ),
        ]

    def __str__(self) -> str:
        return self.external_id

    def clean(self) -> None:
        """A won or lost deal needs a close date (DESIGN §4, decisions): it counts in the period of that
        date. Each rule is reported on its field, so a form shows it there (the database constraints
        ``opportunity_closed_has_close_date``, ``…_close_not_before_engage``, ``…_amount_not_negative``
        and ``…_partner_only_on_partner_channel`` are the backstop)."""
        errors: dict[str, str] = {}
        if self.stage in CLOSED_STAGES and self.close_date is None:
            errors["close_date"] = f"A {self.get_stage_display().lower()} deal needs a close date."
        elif self.close_date and self.engage_date and self.close_date < self.engage_date:
            errors["close_date"] = (
                f"The close date cannot be before the engage date ({self.engage_date.isoformat()})."
            )
        if self.amount is not None and self.amount < 0:
            errors["amount"] = "An amount cannot be negative."
        errors.update(
            foreign_org_errors(
                self, "rep", "identified_by", "account", "partner", "strategic_play", "territory"
            )
        )
        if self.partner_id is not None and self.channel != Channel.PARTNER and "partner" not in errors:
            errors["partner"] = (
                "A partner applies to the partner channel only: choose that channel or no partner."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def is_closed(self) -> bool:
        return self.stage in CLOSED_STAGES
