from imports.services_catalog import programmes_export

from ._base import ExportCommand


class Command(ExportCommand):
    help = "Export programme participations in the columns import_programmes reads (CSV, or XLSX by the file's suffix; - = stdout)."
    export = staticmethod(programmes_export)
