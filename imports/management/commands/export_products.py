from imports.services_catalog import products_export

from ._base import ExportCommand


class Command(ExportCommand):
    help = "Export products in the columns import_products reads (CSV, or XLSX by the file's suffix; - = stdout)."
    export = staticmethod(products_export)
