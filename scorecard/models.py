"""Organisation core: tenants, memberships and period locks."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from . import periods
from .integrity import refuse_foreign_org


class Organization(models.Model):  # type: ignore[django-manager-missing]
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fiscal_year_start_month__gte=1, fiscal_year_start_month__lte=12),
                name="org_fiscal_start_month_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def parse_period(self, key: str) -> periods.Period:
        return periods.parse(key, self.fiscal_year_start_month)

    def root_territory(self):
        """The organisation's root territory (depth 1 of its tree)."""
        return self.territories.filter(depth=1).order_by("path").first()


class Role(models.TextChoices):
    ADMIN = "admin", "Admin (sales ops)"
    MANAGER = "manager", "Manager"
    REP = "rep", "Rep"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    territory = models.ForeignKey(
        "territories.Territory",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="A manager sees this territory and its whole subtree.",
    )
    rep = models.ForeignKey(
        "territories.Rep",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="A rep sees own records.",
    )
    active = models.BooleanField(
        default=True,
        help_text="A deactivated member no longer reaches the organisation; the membership and its history "
        "stay, and it can be reactivated.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "org"], name="membership_one_role_per_org"),
            models.CheckConstraint(
                condition=~models.Q(role="manager") | models.Q(territory__isnull=False),
                name="membership_manager_has_territory",
            ),
            models.CheckConstraint(
                condition=~models.Q(role="rep") | models.Q(rep__isnull=False),
                name="membership_rep_has_rep",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.org} · {self.role}"

    def clean(self) -> None:
        refuse_foreign_org(self, "territory", "rep")


class PeriodLock(models.Model):
    """A closed period whose inputs (deals, measurements, targets) may no longer change."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="period_locks")
    period = models.CharField(max_length=10)
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    locked_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "period"], name="period_lock_unique")]

    def __str__(self) -> str:
        return f"{self.org} {self.period} locked"
