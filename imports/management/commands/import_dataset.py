from django.core.management.base import CommandParser

from imports.datasets import DATASET_NAMES, dataset_import

from ._base import ImportCommand


class Command(ImportCommand):
    help = "Import a public sample data set (see its SOURCE.md); re-running it changes nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset", choices=DATASET_NAMES)
        parser.add_argument("path", help="the data set's directory (superstore: or its .xls file)")
        parser.add_argument("--org", required=True, help="organisation slug; created when missing")

    def handle(self, *args, **options) -> None:
        self.run_import(
            lambda: dataset_import(name=options["dataset"], path=options["path"], org_slug=options["org"])
        )
