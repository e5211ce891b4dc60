from imports.services_inputs import measurements_export

from ._base import ExportCommand


class Command(ExportCommand):
    help = "Export manual KPI measurements in the columns import_measurements reads (CSV, or XLSX by the file's suffix; - = stdout)."
    export = staticmethod(measurements_export)
