from imports.services_catalog import certifications_import

from ._base import FileImportCommand


class Command(FileImportCommand):
    help = "Import certifications (rep, certification, category, issuer, earned, expires) from a CSV or XLSX file; all rows or none, re-importing changes nothing."
    importer = staticmethod(certifications_import)
