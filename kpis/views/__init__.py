"""The scorecard pages, one module per page (``home``; the scorecard, KPI detail and the rest as they come)."""
