from imports.services_inputs import measurements_import

from ._base import FileImportCommand


class Command(FileImportCommand):
    help = "Import manual KPI measurements (kpi, territory, rep, period, value, note) from a CSV or XLSX file; all rows or none, re-importing changes nothing."
    importer = staticmethod(measurements_import)
