from django.core.management.base import BaseCommand, CommandParser

from imports.services import reps_export

from ._base import organization_get


class Command(BaseCommand):
    help = "Export reps in the columns import_reps reads (CSV, or XLSX by the file's suffix; - = stdout)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--org", required=True, help="organisation slug")

    def handle(self, *args, **options) -> None:
        org = organization_get(options["org"])
        target = self.stdout if options["file"] == "-" else options["file"]
        count = reps_export(org=org, path=target)
        if options["file"] != "-":
            self.stdout.write(f"{count} row(s) written to {options['file']}")
