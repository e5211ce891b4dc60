"""Certifications and programme participation of reps (Learning & growth)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from scorecard.integrity import foreign_org_errors


class CertificationCategory(models.TextChoices):
    PRODUCT = "product", "Product"
    INDUSTRY = "industry", "Industry"
    CUSTOMER_INDUSTRY = "customer_industry", "Customer industry"


class CertificationType(models.Model):
    org = models.ForeignKey(
        "scorecard.Organization", on_delete=models.CASCADE, related_name="certification_types"
    )
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=CertificationCategory.choices)
    issuer = models.CharField(max_length=200, blank=True)
    validity_months = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: does not expire.")

    class Meta:
        ordering = ["category", "name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="certtype_unique_name_per_org"),
            models.CheckConstraint(
                condition=Q(category__in=[c.value for c in CertificationCategory]),
                name="certtype_category_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Certification(models.Model):
    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="+")
    rep = models.ForeignKey("territories.Rep", on_delete=models.CASCADE, related_name="certifications")
    type = models.ForeignKey(CertificationType, on_delete=models.PROTECT, related_name="certifications")
    earned = models.DateField()
    expires = models.DateField(null=True, blank=True)
    note = models.CharField(
        max_length=500, blank=True, help_text="Evidence: certificate number, a link to the credential, …"
    )

    class Meta:
        ordering = ["rep_id", "earned"]
        indexes = [models.Index(fields=["org", "earned"])]
        constraints = [
            models.UniqueConstraint(fields=["rep", "type", "earned"], name="certification_unique"),
            models.CheckConstraint(
                condition=Q(expires__isnull=True) | Q(expires__gte=F("earned")),
                name="certification_expires_after_earned",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rep}: {self.type} ({self.earned})"

    def clean(self) -> None:
        """On the fields, so a form shows them there (``certification_unique`` and
        ``certification_expires_after_earned`` are the backstop)."""
        errors: dict[str, str] = {}
        if self.expires is not None and self.earned is not None and self.expires < self.earned:
            errors["expires"] = "A certification cannot expire before it was earned."
        errors.update(foreign_org_errors(self, "rep", "type"))
        if self.rep_id and self.type_id and self.earned:
            same = Certification.objects.filter(rep_id=self.rep_id, type_id=self.type_id, earned=self.earned)
            if same.exclude(pk=self.pk).exists():
                errors["earned"] = f"{self.rep} already holds {self.type} earned on {self.earned:%d %b %Y}."
        if errors:
            raise ValidationError(errors)


class ProgramKind(models.TextChoices):
    DIVERSITY = "diversity", "Diversity"
    CAREER_MOVEMENT = "career_movement", "Career movement"
    HIGH_POTENTIAL = "high_potential", "High potential"
    EDUCATION = "education", "Education"
    TRAINING = "training", "Training"


class Program(models.Model):
    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="programs")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=ProgramKind.choices)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="program_unique_name_per_org"),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in ProgramKind]), name="program_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ProgramParticipation(models.Model):
    org = models.ForeignKey("scorecard.Organization", on_delete=models.CASCADE, related_name="+")
    rep = models.ForeignKey(
        "territories.Rep", on_delete=models.CASCADE, related_name="program_participations"
    )
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="participations")
    start = models.DateField()
    end = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["rep_id", "start"]
        constraints = [
            models.UniqueConstraint(fields=["rep", "program", "start"], name="participation_unique"),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=F("start")), name="participation_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rep} in {self.program}"

    def clean(self) -> None:
        """On the fields, so a form shows them there (``participation_unique`` and
        ``participation_end_after_start`` are the backstop)."""
        errors: dict[str, str] = {}
        if self.end is not None and self.start is not None and self.end < self.start:
            errors["end"] = "A participation cannot end before it starts."
        errors.update(foreign_org_errors(self, "rep", "program"))
        if self.rep_id and self.program_id and self.start:
            same = ProgramParticipation.objects.filter(
                rep_id=self.rep_id, program_id=self.program_id, start=self.start
            )
            if same.exclude(pk=self.pk).exists():
                errors["start"] = f"{self.rep} already joined {self.program} on {self.start:%d %b %Y}."
        if errors:
            raise ValidationError(errors)
