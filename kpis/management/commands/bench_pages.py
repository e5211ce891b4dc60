from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from kpis import bench, bench_pages


class Command(BaseCommand):
    help = (
        "Benchmark the scorecard pages on the benchmark organisation (built when missing, reused otherwise): "
        "p50 / p95 server time per page at the root and at a team, beside one SELECT of the page's stored rows."
    )

    def add_arguments(self, parser):
        parser.add_argument("--deals", type=int, default=1_000_000)
        parser.add_argument("--requests", type=int, default=30)
        parser.add_argument("--format", choices=["json", "text"], default="text")
        parser.add_argument("--profile", choices=bench.PROFILES, default="realistic")

    def handle(self, *args, deals: int, requests: int, format: str, profile: str, **options):
        timings = bench_pages.run(deals, requests, profile)
        if format == "json":
            self.stdout.write(json.dumps([t.as_dict() for t in timings]))
            return
        self.stdout.write(
            f"{'page':<14}{'scope':<7}{'status':>7}{'queries':>9}{'p50 ms':>9}{'p95 ms':>9}{'SELECT p50 ms':>15}"
        )
        for t in timings:
            self.stdout.write(
                f"{t.page:<14}{t.scope:<7}{t.status:>7}{t.queries:>9}{t.p50_ms:>9.1f}{t.p95_ms:>9.1f}{t.select_p50_ms:>15.2f}"
            )
