from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from kpis import selectors
from kpis.services import rollups_recompute
from scorecard.commands import organization_get, rows_write
from scorecard.periods import PeriodError


class Command(BaseCommand):
    help = (
        "Print the rolled-up scores of one scope (the root when none is given) for a period: a row per "
        "objective, per perspective and one for the whole scorecard (JSON list or CSV)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--period", required=True)
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--territory", help='full path of names from the root, e.g. "Acme/East/Boston"')
        scope.add_argument("--rep", help="rep name")
        parser.add_argument("--format", choices=["json", "csv"], default="json")

    def handle(self, *args, **o):
        org = organization_get(o["org"])
        try:
            period = org.parse_period(o["period"])
            if o["territory"] or o["rep"]:
                (scope,) = selectors.report_scopes(org, territory_path=o["territory"], rep_name=o["rep"])
            else:
                scope = org.root_territory()
        except (PeriodError, selectors.ReportError) as exc:
            raise CommandError(str(exc)) from None
        if scope is None:
            raise CommandError(f"{org.slug} has no territories")
        if not selectors.has_rollups(org, period.key):
            rollups_recompute(org=org, period_keys=[period.key])
        rows_write(
            self.stdout, selectors.score_rows(org, period.key, scope), selectors.SCORE_FIELDS, o["format"]
        )
