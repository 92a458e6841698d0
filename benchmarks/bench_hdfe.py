"""asv benchmarks of :func:`migravity.engine.fepois`: PPML with three fixed-effect sets on an OD panel.

Two periods of 318 zones (201,612 off-diagonal pair-periods) with origin x period,
destination x period and pair effects, two regressors, an offset and two-way clustered
(origin + destination) standard errors:

* ``SyntheticPanel``: seeded synthetic zones and Poisson flows (:func:`synthetic_panel`);
* ``RealPanel``: the real 2023 England and Wales LADs (318), Census 2011 (harmonised) and
  Census 2021 migration, regressors ``log(distance) x 2021`` and ``border x 2021``; skipped when
  the data are absent.
"""

from __future__ import annotations

from typing import Any

from ._data import real_data_dir, synthetic_arrays

FE = ("op", "dp", "pair")


def _long(flows: Any, cost: Any, border: Any, expo: Any = None) -> Any:
    """Long panel (off-diagonal pairs x periods) from (T, n, n) flows and (n, n) cost and border."""
    import numpy as np
    import pandas as pd

    periods, n, _ = flows.shape
    t, o, d = (a.ravel() for a in np.meshgrid(np.arange(periods), np.arange(n), np.arange(n), indexing="ij"))
    off = o != d
    t, o, d = t[off], o[off], d[off]
    df = pd.DataFrame({"origin": o, "destination": d, "period": t, "y": flows[t, o, d],
                       "ldist_t": np.log(cost[o, d]) * t, "border_t": border[o, d] * t})
    df["lexp"] = 0.0 if expo is None else expo[t, o, d]
    df["op"] = df["origin"] * periods + df["period"]
    df["dp"] = df["destination"] * periods + df["period"]
    df["pair"] = df["origin"] * n + df["destination"]
    return df


def synthetic_panel(n: int = 318, seed: int = 0) -> Any:
    """Seeded two-period panel on :func:`synthetic_arrays` zones with gravity-like Poisson flows."""
    import numpy as np

    a = synthetic_arrays(n, seed=seed)
    rng = np.random.default_rng(seed)
    cost, border = a["cost"], a["border"]
    m = np.log(a["mass"] / a["mass"].mean())
    base = m[:, None] + m[None, :] - 1.2 * np.log(cost) + 0.4 * border + 9.0
    eta = np.stack([base + k * (0.1 * np.log(cost) - 0.2 * border) for k in range(2)])
    expo = rng.normal(0.0, 0.1, eta.shape)
    flows = rng.poisson(np.exp(eta + expo)).astype(np.float64)
    return _long(flows, cost, border, expo)


def real_panel() -> Any:
    """Census 2011 and 2021 migration between the 318 LADs of 2023 (raises NotImplementedError without data)."""
    import numpy as np

    from migravity.geodata import contiguity_matrix, distance_matrix, load_flows, load_zones

    data = real_data_dir()
    if data is None:
        raise NotImplementedError("real data not available")
    zones = load_zones("2023", "EW", data)
    flows = np.stack([load_flows(kind, zones, data).values.astype(np.float64)
                      for kind in ("migration2011", "migration2021")])
    return _long(flows, distance_matrix(zones).values, contiguity_matrix(zones).values.astype(np.float64))


def _fit(df: Any) -> Any:
    from migravity.engine import fepois

    return fepois(df, "y", ["ldist_t", "border_t"], FE, offset="lexp", cluster=["origin", "destination"])


class SyntheticPanel:
    """``fepois`` on a seeded 318-zone two-period panel (201,612 rows, 3 FE sets, two-way clusters)."""

    timeout = 600

    def setup(self) -> None:
        self.df = synthetic_panel()
        _fit(synthetic_panel(20))  # compile / load the kernels outside the timing

    def time_fepois(self) -> None:
        _fit(self.df)

    def peakmem_fepois(self) -> None:
        _fit(self.df)


class RealPanel:
    """``fepois`` on the real 318-LAD Census 2011 + 2021 migration panel."""

    timeout = 600

    def setup(self) -> None:
        self.df = real_panel()
        _fit(synthetic_panel(20))

    def time_fepois(self) -> None:
        _fit(self.df)
