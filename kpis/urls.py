from __future__ import annotations

from django.urls import path

from .views import (
    compare,
    designer,
    detail,
    home,
    measurements,
    notes,
    quality,
    scorecard,
    strategy_map,
    targets,
)

urlpatterns = [
    path("", scorecard.home, name="home"),
    path("definitions/", home.definitions, name="definitions"),
    path("strategy-map/", strategy_map.strategy_map, name="strategy_map"),
    path("strategy-map/evidence/", strategy_map.strategy_map_evidence, name="strategy_map_evidence"),
    path("compare/", compare.compare, name="compare"),
    path("notes/", notes.notes, name="notes"),
    path("notes/<int:pk>/done/", notes.note_done, name="note_done"),
    path("kpi/<slug:slug>/", detail.kpi_detail, name="kpi_detail"),
    path("manage/scorecard/", designer.designer, name="designer"),
    path("manage/scorecard/perspectives/<int:pk>/", designer.perspective_edit, name="designer_perspective"),
    path("manage/scorecard/objectives/new/", designer.objective_edit, name="designer_objective_new"),
    path("manage/scorecard/objectives/<int:pk>/", designer.objective_edit, name="designer_objective"),
    path("manage/scorecard/kpis/new/", designer.kpi_edit, name="designer_kpi_new"),
    path("manage/scorecard/kpis/<int:pk>/", designer.kpi_edit, name="designer_kpi"),
    path("manage/scorecard/formula-check/", designer.formula_check, name="designer_formula_check"),
    path("manage/data-quality/", quality.data_quality_page, name="data_quality"),
    path("manage/measurements/", measurements.measurements, name="measurement_grid"),
    path("manage/targets/", targets.targets, name="target_grid"),
]
