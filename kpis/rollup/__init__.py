"""Stored rollups computed column-wise: every KPI for every scope and period at once (DESIGN §4).

Modules, in the order a recompute uses them: ``load`` and ``deals`` (reads), ``attribute`` (the territory
a fact is credited to on its date), ``tally`` (additive counts per scope and month) and ``distinct``
(figures over sets), ``derive`` (KPI values from the catalog, manual entries and formulas), ``targets``
(targets up the tree, projections), ``result`` (cells laid out for storing), ``warm`` (deals a worker keeps
in memory between recomputes); ``compute.Rollup`` ties them together.
"""
