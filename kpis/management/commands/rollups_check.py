from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from kpis import bench_load
from scorecard.commands import organization_get


class Command(BaseCommand):
    help = (
        "Check that an organisation's stored rollups equal a fresh recompute of every period (computed "
        "in a transaction that is rolled back, so nothing changes); waits first until no recompute is "
        "pending or running. Fails listing the rows that differ."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--wait", type=float, default=300, help="seconds to wait for pending recomputes")

    def handle(self, *args, org: str, wait: float, **options):
        organization = organization_get(org)
        if not bench_load.wait_until_settled(organization, wait):
            raise CommandError(f"{org}: recomputes still pending or running after {wait:.0f} s")
        rows, differing = bench_load.rollups_differences(organization)
        if differing:
            shown = ", ".join(f"territory {t} rep {r} year {y}" for t, r, y in differing[:10])
            raise CommandError(f"{org}: {len(differing)} of {rows} stored rollup rows differ: {shown}")
        self.stdout.write(f"{org}: all {rows} stored rollup rows equal a fresh recompute")
