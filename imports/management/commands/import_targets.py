from imports.services_inputs import targets_import

from ._base import FileImportCommand


class Command(FileImportCommand):
    help = "Import targets (kpi, territory, rep, period, goal, red_flag, reason) from a CSV or XLSX file; all rows or none, re-importing changes nothing."
    importer = staticmethod(targets_import)
