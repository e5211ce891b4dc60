from imports.services_inputs import targets_export

from ._base import ExportCommand


class Command(ExportCommand):
    help = (
        "Export targets in the columns import_targets reads (CSV, or XLSX by the file's suffix; - = stdout)."
    )
    export = staticmethod(targets_export)
