from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from kpis import bench


class Command(BaseCommand):
    help = (
        "Benchmark the full rollup recompute (1,000 reps, 200 territories on 4 levels, 3 years, N deals; "
        "every input filled, or --profile simple) against hand-written SQL GROUP BYs over the same rows; "
        "prints one JSON object."
    )

    def add_arguments(self, parser):
        parser.add_argument("--deals", type=int, default=100_000)
        parser.add_argument("--format", choices=["json", "text"], default="json")
        parser.add_argument(
            "--profile",
            choices=bench.PROFILES,
            default="realistic",
            help="realistic: every input of the engine filled; simple: the first benchmark's deals only",
        )
        parser.add_argument("--keep", action="store_true", help="keep the generated organisation")
        parser.add_argument(
            "--reuse",
            action="store_true",
            help="recompute the organisation a run with --keep left (its stored rollups dropped first), "
            "so the peak RSS is the recompute's, not the build's",
        )

    def handle(self, *args, deals: int, format: str, profile: str, keep: bool, reuse: bool, **options):
        result = bench.run(deals, keep=keep, profile=profile, reuse=reuse)
        if format == "json":
            self.stdout.write(json.dumps(result))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key:>22}: {value}")
