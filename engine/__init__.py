"""Numba-accelerated spatial-interaction engine: flows, balancing and PPML calibration.

Public API
----------
calibrate
    Fit a model to a table of OD pairs by Poisson PPML.
calibrate_arrays
    The same for dense (n_o, n_d) arrays.
evaluate_flows
    Flows implied by given coefficients, balanced to the constraint's margins (in memory, or in
    blocks on Dask with ``backend="dask"``).
distance_blocks
    Centroid distances as a lazy, block-by-block Dask array (for the Dask backend).
CalibrationOptions, FlowOptions
    The options of :func:`calibrate` and :func:`evaluate_flows` as one frozen, validated object
    (``options=``).
Margins
    The margins a constraint keeps (``NONE``, ``ORIGIN``, ``DESTINATION``, ``BOTH``).
CalibrationResult
    What the calibration returns.
fepois, PanelResult
    Poisson PPML on a long panel with G sets of fixed effects concentrated out, offset and
    one- or two-way clustered standard errors (:mod:`migravity.engine.hdfe`), and its result.
p_value, stars
    Two-sided normal p-value of a z statistic, and its significance stars.
synthetic_od_table
    A synthetic OD table for examples and tests.

Names are imported on first use (PEP 562): ``import migravity.engine`` loads no Numba kernels,
and Dask, distributed and Zarr only when the Dask backend is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migravity.engine.calibration import calibrate, calibrate_arrays
    from migravity.engine.dask_flows import distance_blocks
    from migravity.engine.evaluate import evaluate_flows
    from migravity.engine.hdfe import PanelResult, fepois
    from migravity.engine.inference import p_value, stars
    from migravity.engine.options import CalibrationOptions, FlowOptions, Margins
    from migravity.engine.result import CalibrationResult
    from migravity.engine.synthetic import synthetic_od_table

#: Public name -> the module that defines it.
_WHERE: dict[str, str] = {
    "CalibrationOptions": "options",
    "CalibrationResult": "result",
    "FlowOptions": "options",
    "Margins": "options",
    "PanelResult": "hdfe",
    "calibrate": "calibration",
    "calibrate_arrays": "calibration",
    "distance_blocks": "dask_flows",
    "evaluate_flows": "evaluate",
    "fepois": "hdfe",
    "p_value": "inference",
    "stars": "inference",
    "synthetic_od_table": "synthetic",
}

__all__ = [
    "CalibrationOptions",
    "CalibrationResult",
    "FlowOptions",
    "Margins",
    "PanelResult",
    "calibrate",
    "calibrate_arrays",
    "distance_blocks",
    "evaluate_flows",
    "fepois",
    "p_value",
    "stars",
    "synthetic_od_table",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access (PEP 562)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names with the module's own attributes."""
    return sorted(set(globals()) | set(__all__))
