from imports.services import reps_export

from ._base import ExportCommand


class Command(ExportCommand):
    help = "Export reps in the columns import_reps reads (CSV, or XLSX by the file's suffix; - = stdout)."
    export = staticmethod(reps_export)
