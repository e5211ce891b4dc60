from django.core.management.base import CommandParser

from imports.services import opportunities_import

from ._base import ImportCommand


class Command(ImportCommand):
    help = "Import opportunities from a CSV (UTF-8, comma-separated) or XLSX file; all rows or none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--org", required=True, help="organisation slug; created when missing")

    def handle(self, *args, **options) -> None:
        self.run_import(lambda: opportunities_import(org_slug=options["org"], path=options["file"]))
