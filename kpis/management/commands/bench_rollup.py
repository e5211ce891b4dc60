from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from kpis import bench


class Command(BaseCommand):
    help = (
        "Benchmark the full rollup recompute (1,000 reps, 200 territories on 4 levels, 3 years, N deals) "
        "against one hand-written SQL GROUP BY over the same rows; prints one JSON object."
    )

    def add_arguments(self, parser):
        parser.add_argument("--deals", type=int, default=100_000)
        parser.add_argument("--format", choices=["json", "text"], default="json")
        parser.add_argument("--keep", action="store_true", help="keep the generated organisation")

    def handle(self, *args, deals: int, format: str, keep: bool, **options):
        result = bench.run(deals, keep=keep)
        if format == "json":
            self.stdout.write(json.dumps(result))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key:>22}: {value}")
