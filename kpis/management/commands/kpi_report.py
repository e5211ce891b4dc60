from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from kpis import selectors
from kpis.services import rollups_recompute
from scorecard.commands import organization_get, rows_write
from scorecard.periods import PeriodError


class Command(BaseCommand):
    help = "Print KPI rows (JSON list or CSV) for a period: every territory, one territory, one rep or every rep."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--period", required=True)
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--territory", help='full path of names from the root, e.g. "Acme/East/Boston"')
        scope.add_argument("--rep", help="rep name")
        scope.add_argument("--all-reps", action="store_true")
        parser.add_argument("--kpi", help="only this KPI slug")
        parser.add_argument("--format", choices=["json", "csv"], default="json")

    def handle(self, *args, **o):
        org = organization_get(o["org"])
        try:
            period = org.parse_period(o["period"])
            scopes = selectors.report_scopes(
                org, territory_path=o["territory"], rep_name=o["rep"], all_reps=o["all_reps"]
            )
            kpis = selectors.report_kpis(org, o["kpi"])
        except (PeriodError, selectors.ReportError) as exc:
            raise CommandError(str(exc)) from None
        if not selectors.has_rollups(org, period.key):
            rollups_recompute(org=org, period_keys=[period.key])
        rows = selectors.report_rows(org, period.key, scopes, kpis)
        rows_write(self.stdout, rows, selectors.REPORT_FIELDS, o["format"])
