from imports.services_catalog import programmes_import

from ._base import FileImportCommand


class Command(FileImportCommand):
    help = "Import programme participations (rep, programme, kind, start, end) from a CSV or XLSX file; all rows or none, re-importing changes nothing."
    importer = staticmethod(programmes_import)
