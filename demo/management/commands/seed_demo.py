"""``python manage.py seed_demo``: rebuild the deterministic demo organisation and its users."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.data import DEMO_SEED, SIZES
from demo.writer import DemoError, demo_create
from kpis.tasks import recompute_org


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--today must be an ISO date (YYYY-MM-DD), not {value!r}") from exc


class Command(BaseCommand):
    help = (
        "Delete and rebuild the synthetic demo organisation (slug 'demo') and the demo users "
        "admin / manager / rep / viewer (password 'demo'). Same seed and same day give the same data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=DEMO_SEED, help=f"random seed (default {DEMO_SEED})")
        parser.add_argument(
            "--today", type=_iso_date, default=None, help="the day the history runs up to (default: today)"
        )
        parser.add_argument(
            "--size", choices=sorted(SIZES), default="full", help="'small' is a quick variant for tests"
        )
        parser.add_argument(
            "--no-recompute", action="store_true", help="leave the stored rollups to the next recompute"
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="build the demo (users with the password 'demo') even with DEBUG off",
        )

    def handle(
        self,
        *args,
        seed: int,
        today: date | None,
        size: str,
        no_recompute: bool,
        allow_production: bool = False,
        **options,
    ):
        if not settings.SCORECARD_EMBEDDED and not allow_production:
            raise CommandError(
                "DEBUG is off, so this looks like production: the demo would create users whose password "
                "is 'demo'. Run it in the embedded mode (DEBUG=1, as make demo does) or, deliberately, "
                "with --allow-production."
            )
        try:
            result = demo_create(seed=seed, today=today, size=size)
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        org = result.org
        self.stdout.write(
            self.style.SUCCESS(f"Built {org.name} (org '{org.slug}') with history up to {result.today}:")
        )
        for name, count in result.counts.items():
            self.stdout.write(f"  {count:>6}  {name}")
        if not no_recompute:
            eager = settings.CELERY_TASK_ALWAYS_EAGER
            self.stdout.write(
                "Recomputing the rollups…" if eager else "Rollup recompute queued for the workers."
            )
            # As of the demo's day, so a demo built with --today is consistent with its rollups.
            recompute_org.delay(org.id, None, result.today.isoformat())
        self.stdout.write("")
        headers = ("username", "password", "role", "sees")
        rows = [headers, *result.logins]
        widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
        for n, row in enumerate(rows):
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
            if n == 0:
                self.stdout.write("  ".join("-" * width for width in widths))
