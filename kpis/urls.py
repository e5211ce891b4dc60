from __future__ import annotations

from django.urls import path

from .views import detail, home, strategy_map

urlpatterns = [
    path("", home.home, name="home"),
    path("strategy-map/", strategy_map.strategy_map, name="strategy_map"),
    path("kpi/<slug:slug>/", detail.kpi_detail, name="kpi_detail"),
]
