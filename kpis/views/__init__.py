"""The scorecard pages, one module per page: ``scorecard`` (everyone's home: a territory's or a rep's
scorecard, a rep's own), ``home`` (the definitions), ``detail`` (a KPI), ``compare``, ``strategy_map``,
and ``notes`` (the notes panel the scorecard and KPI detail pages include)."""
