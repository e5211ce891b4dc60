from imports.services import opportunities_export

from ._base import ExportCommand


class Command(ExportCommand):
    help = "Export opportunities in the columns import_opportunities reads (CSV, or XLSX by the file's suffix; - = stdout)."
    export = staticmethod(opportunities_export)
