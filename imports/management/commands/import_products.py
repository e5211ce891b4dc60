from imports.services_catalog import products_import

from ._base import FileImportCommand


class Command(FileImportCommand):
    help = "Import products (product, line, list_price) from a CSV or XLSX file; all rows or none, re-importing changes nothing."
    importer = staticmethod(products_import)
