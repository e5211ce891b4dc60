# The product decisions of DESIGN §4 reach organisations created from the earlier template, and their
# stored rollups are rewritten:
# - market share is pro-rated: the period's won revenue ÷ (the annual market size × months ÷ 12);
# - count and currency KPIs have no default goal (the template gave "Successful POCs not closed" one);
# - stored rows record which method produced each projection (format version 3).
# Only KPIs still as the old template made them change: an admin's own formula or goal is left alone.

from decimal import Decimal

from django.db import migrations

OLD_SHARE = "won_revenue / market_size"
NEW_SHARE = "won_revenue / (market_size * months / 12)"


def apply_decisions(apps, schema_editor):
    KPI = apps.get_model("kpis", "KPI")
    KPI.objects.filter(slug="market_share", source="formula", formula=OLD_SHARE).update(formula=NEW_SHARE)
    KPI.objects.filter(
        slug="poc_success_not_won", unit="count", default_goal=Decimal(2), default_red_flag=Decimal(5)
    ).update(default_goal=None, default_red_flag=None)


def request_full_recompute(apps, schema_editor):
    from django.utils import timezone

    Organization = apps.get_model("scorecard", "Organization")
    RecomputeRequest = apps.get_model("kpis", "RecomputeRequest")
    now = timezone.now()
    RecomputeRequest.objects.bulk_create(
        [
            RecomputeRequest(org_id=pk, period="*", requested_at=now)
            for pk in Organization.objects.values_list("pk", flat=True)
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0010_note_owner"),
        ("scorecard", "0002_initial"),
    ]

    operations = [
        migrations.RunPython(apply_decisions, migrations.RunPython.noop),
        migrations.RunPython(request_full_recompute, migrations.RunPython.noop),
    ]
