# Stored rollups become one row per (scope, fiscal year): the old per-period rows are dropped and every
# organisation gets a full recompute at the next sweep (a worker starting, or the nightly run).

from django.db import migrations, models
from django.db.models import Q


def drop_rows(apps, schema_editor):
    apps.get_model("kpis", "ScopeRollup").objects.all().delete()
    apps.get_model("kpis", "RollupRun").objects.all().delete()
    apps.get_model("kpis", "DealChange").objects.all().delete()


def request_full_recompute(apps, schema_editor):
    from django.utils import timezone

    Organization = apps.get_model("scorecard", "Organization")
    RecomputeRequest = apps.get_model("kpis", "RecomputeRequest")
    RecomputeRequest.objects.all().delete()
    now = timezone.now()
    RecomputeRequest.objects.bulk_create(
        RecomputeRequest(org_id=pk, period="*", requested_at=now)
        for pk in Organization.objects.values_list("pk", flat=True)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0008_deal_changes"),
        ("scorecard", "0002_initial"),
    ]

    operations = [
        migrations.RunPython(drop_rows, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="scoperollup", name="scope_rollup_unique_territory"),
        migrations.RemoveConstraint(model_name="scoperollup", name="scope_rollup_unique_rep"),
        migrations.RemoveIndex(model_name="scoperollup", name="kpis_scoper_org_id_91520e_idx"),
        migrations.RenameField(model_name="scoperollup", old_name="period", new_name="year"),
        migrations.AlterField(
            model_name="scoperollup",
            name="year",
            field=models.CharField(help_text="Fiscal year key (2017, FY2018).", max_length=10),
        ),
        migrations.AddIndex(
            model_name="scoperollup",
            index=models.Index(fields=["org", "year"], name="kpis_scoper_org_id_6fe6b2_idx"),
        ),
        migrations.AddConstraint(
            model_name="scoperollup",
            constraint=models.UniqueConstraint(
                condition=Q(territory__isnull=False),
                fields=("territory", "year"),
                name="scope_rollup_unique_territory",
            ),
        ),
        migrations.AddConstraint(
            model_name="scoperollup",
            constraint=models.UniqueConstraint(
                condition=Q(rep__isnull=False), fields=("rep", "year"), name="scope_rollup_unique_rep"
            ),
        ),
        migrations.AlterField(
            model_name="rolluprun",
            name="periods",
            field=models.JSONField(blank=True, help_text="Fiscal years recomputed; null = all.", null=True),
        ),
        migrations.RunPython(request_full_recompute, migrations.RunPython.noop),
    ]
