"""Results out: GIS export (GeoPackage, GeoParquet, GeoJSON, flow maps), maps and charts of run directories."""

from __future__ import annotations

from importlib import import_module
from typing import Any

# The public API, imported lazily (PEP 562): name -> module of migravity.outputs. The run's GIS export itself,
# ``migravity.outputs.export.export``, keeps its module's name (``export``) and is documented there.
_EXPORTS = {
    "write_layers": "export", "write_flowmap": "export", "zones_layer": "export", "centroids_layer": "export",
    "flows_layer": "export", "net_flows_layer": "export",
    "export_calibration": "export_calibration",
    "plot": "plots", "choropleth_figure": "plots", "flows_figure": "plots",
    "regions_figure": "plots_charts", "fit_figure": "plots_charts", "scorecard_figure": "plots_validate",
    "build_report_page": "report_page", "write_report_page": "report_page",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access."""
    if name in _EXPORTS:
        return getattr(import_module(f"migravity.outputs.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'migravity.outputs' has no attribute {name!r}")
