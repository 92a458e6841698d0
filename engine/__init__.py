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
CalibrationResult
    What the calibration returns.
synthetic_od_table
    A synthetic OD table for examples and tests.
"""

from __future__ import annotations

from migravity.engine.calibration import calibrate, calibrate_arrays
from migravity.engine.dask_flows import distance_blocks
from migravity.engine.evaluate import evaluate_flows
from migravity.engine.result import CalibrationResult
from migravity.engine.synthetic import synthetic_od_table

__all__ = [
    "CalibrationResult",
    "calibrate",
    "calibrate_arrays",
    "distance_blocks",
    "evaluate_flows",
    "synthetic_od_table",
]
