"""The option objects, the Margins flag, the shared inference helpers and the lazy engine package."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import numpy as np
import pytest

from migravity.engine import (
    CalibrationOptions,
    FlowOptions,
    Margins,
    calibrate,
    calibrate_arrays,
    evaluate_flows,
    p_value,
    stars,
)
from migravity.engine.fitstats import cpc, srmse
from migravity.errors import ConfigError

KW = {"origin": "origin", "destination": "destination", "flow": "flow", "cost": "distance_km"}


def test_margins_flag() -> None:
    assert Margins.of("doubly") == Margins.ORIGIN | Margins.DESTINATION == Margins.BOTH
    assert Margins.of("unconstrained") is Margins.NONE
    assert Margins.ORIGIN in Margins.of("production") and Margins.DESTINATION not in Margins.of("production")
    assert [int(Margins.of(c)) for c in ("none", "production", "attraction", "doubly")] == [0, 1, 2, 3]
    with pytest.raises(ConfigError, match="constraint='both'"):
        Margins.of("both")


def test_options_are_frozen_and_validated() -> None:
    opts = CalibrationOptions(constraint="unconstrained", se="hc1")
    assert opts.constraint == "none" and opts.margins is Margins.NONE
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.tol = 1e-3  # type: ignore[misc]
    for kw, field in (({"deterrence": "gauss"}, "deterrence"), ({"se": "hc3"}, "se"), ({"tol": 0.0}, "tol"),
                      ({"max_iter": 0}, "max_iter"), ({"strict": "yes"}, "strict")):
        with pytest.raises(ConfigError, match=field):
            CalibrationOptions(**kw)
    assert FlowOptions().use_dask is False
    assert FlowOptions(chunks=10).use_dask is True
    assert FlowOptions(backend="dask").keep_kernel is True
    for kw, field in (({"backend": "spark"}, "backend"), ({"backend": "numpy", "store": "x.zarr"}, "store"),
                      ({"chunks": (0, 5)}, "chunks"), ({"tol": 2.0}, "tol"), ({"constraint": "all"}, "constraint")):
        with pytest.raises(ConfigError, match=field):
            FlowOptions(**kw)


def test_calibrate_options_equal_keywords(small_table) -> None:
    by_kw = calibrate(small_table, **KW, terms=["border"], constraint="production", se="hc1", tol=1e-9)
    opts = CalibrationOptions(constraint="production", se="hc1", tol=1e-9)
    by_opts = calibrate(small_table, **KW, terms=["border"], options=opts)
    assert by_opts.coefficients == by_kw.coefficients
    assert by_opts.std_errors == by_kw.std_errors
    # a keyword given with options overrides that field only
    over = calibrate(small_table, **KW, terms=["border"], options=opts, se="robust")
    assert over.se == "robust" and over.constraint == "production"
    with pytest.raises(ConfigError, match="options"):
        calibrate(small_table, **KW, options=FlowOptions())  # type: ignore[arg-type]


def test_calibrate_arrays_options_and_mask_diagonal() -> None:
    rng = np.random.default_rng(4)
    y = rng.poisson(6.0, (12, 12)).astype(float)
    cost = rng.uniform(1.0, 50.0, (12, 12))
    off = ~np.eye(12, dtype=bool)
    masked = calibrate_arrays(y, cost=cost, mask=off, constraint="doubly")
    by_opts = calibrate_arrays(y, cost=cost, options=CalibrationOptions(mask_diagonal=True))
    assert by_opts.n_pairs == masked.n_pairs == 12 * 11
    np.testing.assert_allclose(by_opts.coefficients["log(cost)"], masked.coefficients["log(cost)"], rtol=1e-8)


def test_evaluate_options_equal_keywords() -> None:
    rng = np.random.default_rng(2)
    cost = rng.uniform(1.0, 100.0, (20, 15))
    rows = rng.uniform(1.0, 10.0, 20)
    cols = rng.uniform(1.0, 10.0, 15)
    cols *= rows.sum() / cols.sum()
    params = {"log(cost)": -1.2}
    by_kw = evaluate_flows(params, cost, constraint="doubly", origin_totals=rows, destination_totals=cols, tol=1e-12)
    opts = FlowOptions(constraint="doubly", tol=1e-12)
    by_opts = evaluate_flows(params, cost, origin_totals=rows, destination_totals=cols, options=opts)
    np.testing.assert_array_equal(by_opts.values, by_kw.values)
    assert by_opts.attrs == by_kw.attrs
    prod = evaluate_flows(params, cost, origin_totals=rows, options=opts, constraint="production")
    assert prod.attrs["constraint"] == "production"
    np.testing.assert_allclose(prod.sum("destination"), rows, rtol=1e-12)


def test_p_values_and_stars() -> None:
    assert p_value(0.0) == 1.0
    assert math.isclose(p_value(1.959963984540054), 0.05, rel_tol=1e-12)
    assert math.isclose(p_value(-2.5758293035489004), 0.01, rel_tol=1e-12)
    assert math.isnan(p_value(float("nan")))
    assert p_value(float("inf")) == 0.0
    assert [stars(p) for p in (0.001, 0.01, 0.049, 0.05, 0.099, 0.1, float("nan"))] == [
        "***", "**", "**", "*", "*", "", ""]


def test_cpc_and_srmse_match_their_definitions() -> None:
    rng = np.random.default_rng(0)
    y = rng.poisson(4.0, 200).astype(float)
    mu = rng.uniform(0.0, 8.0, 200)
    assert cpc(y, mu) == float(2.0 * np.minimum(y, mu).sum() / (y.sum() + mu.sum()))
    assert srmse(y, mu) == float(np.sqrt(np.mean((y - mu) ** 2)) / np.mean(y))


def test_engine_import_is_lazy() -> None:
    """``import migravity.engine`` loads neither the kernels nor Dask; the NumPy backend never loads the
    Dask backend (xarray itself may import ``dask`` to recognise arrays: not checked after the call)."""
    code = (
        "import sys, numpy as np\n"
        "import migravity.engine as e\n"
        "heavy = ('dask', 'distributed', 'zarr', 'scipy.stats', 'numba', 'migravity.engine.calibration')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "e.evaluate_flows({'log(cost)': -1.0}, np.ones((3, 3)) * 2.0, constraint='none')\n"
        "print(sorted(m for m in ('distributed', 'zarr', 'scipy.stats', 'migravity.engine.dask_flows')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["[]", "[]"]
