from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from kpis import bench, bench_load


class Command(BaseCommand):
    help = (
        "Prepare the load test: the benchmark organisation with N deals (built when missing, rollups "
        "stored) and load users with passwords — managers of regions and areas, reps with deals to edit — "
        "written as JSON for loadtest/locustfile.py (LOAD_USERS)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--deals", type=int, default=100_000)
        parser.add_argument("--profile", choices=bench.PROFILES, default="realistic")
        parser.add_argument("--managers", type=int, default=25)
        parser.add_argument("--reps", type=int, default=25)
        parser.add_argument("--users-file", required=True, type=Path)

    def handle(self, *args, deals, profile, managers, reps, users_file, **options):
        spec = bench_load.setup(deals, managers, reps, profile)
        bench_load.write(spec, users_file)
        self.stdout.write(
            f"{spec['org']}: {len(spec['managers'])} managers, {len(spec['reps'])} reps → {users_file}"
        )
