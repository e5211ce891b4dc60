"""The scorecard pages, one module per page: ``scorecard`` (home for managers, viewers and admins),
``home`` (the definitions; a rep's home), ``strategy_map``; KPI detail and the rest as they come."""
