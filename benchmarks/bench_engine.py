"""asv benchmarks of the engine: flow evaluation (the flow kernel), balancing and calibration.

Synthetic zones are seeded and built in ``setup``; ``"lad"`` zones are the real 2023 England and
Wales LADs (318; distances, borders and Census 2021 migration margins) and the real-data
calibration uses the Census 2021 LAD pair table (331 zones, 109,230 pairs); both are skipped when
the data are absent. ``HeavyCalibration`` uses the independent generator of
``benchmarks/compare_peers.py``. ``Slow*`` classes (7,200-7,264 zones) can be left
out with ``asv run --bench "^(?!.*Slow)"``.
"""

from __future__ import annotations

import numpy as np

from ._data import lad_arrays, real_data_dir, synthetic_arrays

COEFFS = {"log(cost)": -1.5, "border": 0.5, "intercept": 0.0}
EXP_COEFFS = {"cost": -0.01, "border": 0.5, "intercept": 0.0}


def _evaluate(data: dict, constraint: str, deterrence: str) -> None:
    from migravity.engine import evaluate_flows

    coeffs = dict(COEFFS if deterrence == "power" else EXP_COEFFS)
    if constraint != "none":
        coeffs.pop("intercept")
    evaluate_flows(
        coeffs, data["cost"], pair_terms={"border": data["border"]}, constraint=constraint,
        origin_totals=data["origin_totals"] if constraint in ("production", "doubly") else None,
        destination_totals=data["destination_totals"] if constraint in ("attraction", "doubly") else None,
        tol=1e-9,
    )


def _arrays(zones: str) -> dict:
    """Real LAD arrays for ``"lad"``, else seeded synthetic zones."""
    return lad_arrays() if zones == "lad" else synthetic_arrays(int(zones), seed=int(zones))


class FlowEvaluation:
    """Flows given parameters, balanced to the constraint's margins (max relative error 1e-9)."""

    timeout = 600
    params = (["lad", "1000", "2000"], ["none", "production", "attraction", "doubly"], ["power", "exponential"])
    param_names = ["zones", "constraint", "deterrence"]

    def setup(self, n: str, constraint: str, deterrence: str) -> None:
        self.data = _arrays(n)
        _evaluate(synthetic_arrays(20, 1), constraint, deterrence)  # compile outside the timing

    def time_evaluate(self, n: str, constraint: str, deterrence: str) -> None:
        _evaluate(self.data, constraint, deterrence)

    def peakmem_evaluate(self, n: str, constraint: str, deterrence: str) -> None:
        _evaluate(self.data, constraint, deterrence)


class Balancing:
    """Balancing alone: Furness (doubly) or one pass (production/attraction) on a given kernel K."""

    timeout = 600
    params = (["lad", "1000", "2000"], ["production", "attraction", "doubly"])
    param_names = ["zones", "constraint"]

    def setup(self, n: str, constraint: str) -> None:
        from migravity.engine._kernels_flow import balance
        from migravity.engine.options import Margins
        from migravity.engine.ppml import n_threads

        data = _arrays(n)
        self.k = np.exp(-1.5 * np.log(data["cost"]) + 0.5 * data["border"])
        self.rows, self.cols = data["origin_totals"], data["destination_totals"]
        self.mode, self.nt, self.balance = int(Margins.of(constraint)), n_threads(), balance
        self.time_balance(n, constraint)  # compile outside the timing

    def time_balance(self, n: str, constraint: str) -> None:
        a, b = np.ones(self.k.shape[0]), np.ones(self.k.shape[1])
        self.balance(self.k, self.rows, self.cols, a, b, self.mode, 1e-9, 10_000, self.nt)


class SlowFlowEvaluation:
    """Doubly-constrained evaluation at GB MSOA scale (7,200 zones, 52M pairs); target < 0.6 s on 2 cores."""

    timeout = 900
    number = 1
    repeat = 3
    params = (["doubly", "production"],)
    param_names = ["constraint"]

    def setup(self, constraint: str) -> None:
        self.data = synthetic_arrays(7200, seed=7200)
        _evaluate(synthetic_arrays(20, 1), constraint, "power")

    def time_evaluate_7200(self, constraint: str) -> None:
        _evaluate(self.data, constraint, "power")


class Calibration:
    """One PPML calibration: log distance + border, by constraint form (synthetic zones)."""

    timeout = 900
    params = ([331, 1000, 2000], ["none", "production", "attraction", "doubly"])
    param_names = ["zones", "constraint"]

    def setup(self, n: int, constraint: str) -> None:
        from migravity.engine import calibrate, synthetic_od_table

        self.table = synthetic_od_table(n, np.random.default_rng(n))
        calibrate(synthetic_od_table(15, np.random.default_rng(1)), origin="origin", destination="destination",
                  flow="flow", cost="distance_km", terms=("border",), constraint=constraint)

    def time_calibrate(self, n: int, constraint: str) -> None:
        from migravity.engine import calibrate

        calibrate(self.table, origin="origin", destination="destination", flow="flow", cost="distance_km",
                  terms=("border",), constraint=constraint)

    def peakmem_calibrate(self, n: int, constraint: str) -> None:
        self.time_calibrate(n, constraint)


class RealCalibration:
    """Doubly-constrained PPML on the real Census 2021 LAD table (331 zones, 109,230 pairs)."""

    timeout = 600

    def setup(self) -> None:
        from migravity.engine import calibrate
        from migravity.geodata import od_table

        data_dir = real_data_dir()
        if data_dir is None:
            raise NotImplementedError("real data not available")
        self.table = od_table(attribute_vars=(), data_dir=data_dir)
        calibrate(self.table, origin="origin", destination="destination", flow="flow", cost="distance_km",
                  terms=("border",))

    def time_calibrate_lad_doubly(self) -> None:
        from migravity.engine import calibrate

        calibrate(self.table, origin="origin", destination="destination", flow="flow", cost="distance_km",
                  terms=("border",))


class HeavyCalibration:
    """Doubly-constrained PPML on the independent generator of ``compare_peers.py`` (clustered zones,
    Pareto masses, exponential-and-power deterrence, mostly zero flows)."""

    timeout = 900
    params = ([331, 2000],)
    param_names = ["zones"]

    def setup(self, n: int) -> None:
        from migravity.engine import calibrate

        from .compare_peers import heavy_table

        self.table = heavy_table(n, np.random.default_rng(1))
        calibrate(heavy_table(20, np.random.default_rng(2)), origin="origin", destination="destination",
                  flow="flow", cost="distance_km", terms=("border",))

    def time_calibrate_heavy(self, n: int) -> None:
        from migravity.engine import calibrate

        calibrate(self.table, origin="origin", destination="destination", flow="flow", cost="distance_km",
                  terms=("border",))

    def peakmem_calibrate_heavy(self, n: int) -> None:
        self.time_calibrate_heavy(n)


class SlowCalibration:
    """Doubly-constrained PPML at MSOA scale: 7,264 synthetic zones (52.8M pairs) on dense grids, as
    ``migravity calibrate --level msoa`` fits them (target: under 30 s and 6 GiB on 2 cores)."""

    timeout = 1800
    number = 1
    repeat = 1

    def setup(self) -> None:
        from migravity.engine import calibrate_arrays

        n = 7264
        data = synthetic_arrays(n, seed=n)
        rng = np.random.default_rng(n)
        mass = data["mass"] / data["mass"].mean()
        lam = np.outer(mass, mass) * data["cost"] ** -1.7 * np.exp(0.3 * data["border"])
        np.fill_diagonal(lam, 0.0)
        lam *= 5.9e6 / lam.sum()  # the MSOA migration total
        self.flows = rng.poisson(lam).astype(np.float64)
        self.cost, self.border = data["cost"], data["border"]
        self.mask = ~np.eye(n, dtype=bool)
        # Warm the JIT on a small grid of its own: a corner of the big grid is a random scatter of
        # zones with no shared borders, so its border term is all zero (collinear) and refused.
        small = synthetic_arrays(200, seed=200)
        lam_s = np.outer(small["mass"], small["mass"]) * small["cost"] ** -1.7
        np.fill_diagonal(lam_s, 0.0)
        lam_s *= 2e5 / lam_s.sum()
        calibrate_arrays(rng.poisson(lam_s).astype(np.float64), cost=small["cost"],
                         pair_terms={"border": small["border"]}, mask=~np.eye(200, dtype=bool))

    def time_calibrate_7264(self) -> None:
        from migravity.engine import calibrate_arrays

        calibrate_arrays(self.flows, cost=self.cost, pair_terms={"border": self.border}, mask=self.mask)

    def peakmem_calibrate_7264(self) -> None:
        self.time_calibrate_7264()


class FirstCall:
    """Cost of the first engine call in a fresh interpreter (numba cache load, or compile if cold)."""

    timeout = 600

    def timeraw_first_evaluate(self) -> str:
        return """
import numpy as np
from migravity.engine import evaluate_flows
n = 50
d = np.abs(np.subtract.outer(np.arange(n), np.arange(n))) + 1.0
evaluate_flows({"log(cost)": -1.0}, d, constraint="doubly", origin_totals=np.ones(n), destination_totals=np.ones(n))
"""

    def timeraw_first_calibrate(self) -> str:
        return """
import numpy as np
from migravity.engine import calibrate, synthetic_od_table
t = synthetic_od_table(30, np.random.default_rng(0))
calibrate(t, origin="origin", destination="destination", flow="flow", cost="distance_km", terms=("border",))
"""
