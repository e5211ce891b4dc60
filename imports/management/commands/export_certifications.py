from imports.services_catalog import certifications_export

from ._base import ExportCommand


class Command(ExportCommand):
    help = "Export certifications in the columns import_certifications reads (CSV, or XLSX by the file's suffix; - = stdout)."
    export = staticmethod(certifications_export)
