"""Dump ``kpi_report`` for every stored period of the three public data sets and the demo, one file per
period and scope kind, so two versions of the code can be compared byte for byte:

    DATABASE_URL=sqlite:////tmp/snap-before.sqlite3 .venv/bin/python scripts/report_snapshot.py /tmp/before
    DATABASE_URL=sqlite:////tmp/snap-after.sqlite3 .venv/bin/python scripts/report_snapshot.py /tmp/after
    diff -r /tmp/before /tmp/after && echo identical

Everything is computed as of one fixed day (``--today``), so the output does not depend on the clock.
The data sets are read from ``$SCORECARD_DATA_DIR`` (default ``../shared/data``).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scorecard.settings_dev")

DATASETS = {
    "maven": ("maven-crm", "maven-crm-sales-opportunities"),
    "superstore": ("superstore", "tableau-sample-superstore/Sample - Superstore.xls"),
    "classic": ("classicmodels", "mysqltutorial-classicmodels"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="directory to write the reports into")
    parser.add_argument("--today", default="2026-12-02", help="the day every recompute is computed as of")
    parser.add_argument("--demo-today", default="2026-11-23", help="the demo's day (seed_demo --today)")
    parser.add_argument("--only", nargs="*", help="organisation slugs to dump (default: all four)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    from kpis.models import ScopeRollup
    from kpis.services import rollups_recompute
    from scorecard import periods as P
    from scorecard.models import Organization

    call_command("migrate", verbosity=0)
    data_dir = Path(os.environ.get("SCORECARD_DATA_DIR", ROOT.parent / "shared" / "data"))
    today = date.fromisoformat(args.today)
    wanted = set(args.only or [*DATASETS, "demo"])
    for slug, (dataset, relative) in DATASETS.items():
        if slug in wanted:
            call_command("import_dataset", dataset, str(data_dir / relative), org=slug, verbosity=0)
            rollups_recompute(org=Organization.objects.get(slug=slug), today=today)
    if "demo" in wanted:
        call_command("seed_demo", today=date.fromisoformat(args.demo_today), stdout=io.StringIO())

    digest = hashlib.sha256()
    for slug in sorted(wanted):
        org = Organization.objects.get(slug=slug)
        fsm = org.fiscal_year_start_month
        years = sorted(set(ScopeRollup.objects.filter(org=org).values_list("year", flat=True)))
        keys = []
        for year_key in years:
            year = org.parse_period(year_key)
            keys += [p.key for p in year.months()]
            keys += [p.key for p in P.periods_between(year.start, year.end, P.QUARTER, fsm)]
            keys.append(year.key)
        folder = args.out / slug
        folder.mkdir(parents=True, exist_ok=True)
        for key in keys:
            for suffix, extra in (("territories", {}), ("reps", {"all_reps": True})):
                out = io.StringIO()
                call_command("kpi_report", org=slug, period=key, stdout=out, **extra)
                text = out.getvalue()
                (folder / f"{key}.{suffix}.json").write_text(text)
                digest.update(f"{slug}/{key}.{suffix}\n".encode() + text.encode())
        print(f"{slug}: {len(keys)} periods")
    print(f"sha256 of every report: {digest.hexdigest()}")


if __name__ == "__main__":
    main()
