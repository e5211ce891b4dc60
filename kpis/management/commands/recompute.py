from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from kpis.services import rollups_recompute
from scorecard.commands import organization_get
from scorecard.periods import PeriodError


class Command(BaseCommand):
    help = "Recompute the stored KPI rollups of an organisation (all periods with data, or one period)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument(
            "--period", help="period key: 2017, 2017-Q2, 2017-05 (FY2018, FY2018-Q1 for fiscal years)"
        )

    def handle(self, *args, org: str, period: str | None, **options):
        organization = organization_get(org)
        keys = None
        if period:
            try:
                keys = [organization.parse_period(period).key]
            except PeriodError as exc:
                raise CommandError(str(exc)) from None
        started = time.perf_counter()
        stored = rollups_recompute(org=organization, period_keys=keys)
        self.stdout.write(
            f"{organization.slug}: {stored} rollups stored in {time.perf_counter() - started:.2f} s"
        )
