from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from kpis import bench, bench_edit


class Command(BaseCommand):
    help = (
        "Time an edited deal's way to the page: a manager saves the deal form, a real Celery worker "
        "(started here on a private queue) recomputes through Redis, and the team's scorecard is fetched "
        "until its won revenue changes; p50 / p95 for cold (first edit after the worker starts) and warm "
        "edits. Needs PostgreSQL (DATABASE_URL) and Redis (CELERY_BROKER_URL, REDIS_URL)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--deals", type=int, default=1_000_000)
        parser.add_argument("--edits", type=int, default=20, help="warm edits")
        parser.add_argument("--cold", type=int, default=3, help="cold edits (a fresh worker for each)")
        parser.add_argument(
            "--settle",
            type=float,
            default=None,
            help="the worker's SCORECARD_RECOMPUTE_SETTLE_SECONDS (default: this process's setting)",
        )
        parser.add_argument("--profile", choices=bench.PROFILES, default="realistic")
        parser.add_argument("--format", choices=["json", "text"], default="text")

    def handle(self, *args, deals, edits, cold, settle, profile, format, **options):
        try:
            result = bench_edit.run(deals, edits, cold, settle, profile)
        except bench_edit.BenchError as exc:
            raise CommandError(str(exc)) from exc
        if format == "json":
            self.stdout.write(json.dumps(result))
            return
        for key, value in result.items():
            self.stdout.write(f"{key:>22}: {value}")
