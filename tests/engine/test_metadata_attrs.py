"""Units and descriptions on the engine's labelled results (evaluate_flows, a calibration's flows)."""

from __future__ import annotations

import numpy as np

from migravity.engine import calibrate, evaluate_flows


def _has_attrs(arr) -> None:
    for key in ("units", "long_name", "description"):
        assert str(arr.attrs.get(key, "")).strip(), f"{arr.name} has no {key}"
    for dim in ("origin", "destination"):
        assert arr[dim].attrs["long_name"].startswith(dim)


def test_evaluate_flows_is_annotated():
    rng = np.random.default_rng(3)
    n = 6
    dist = rng.uniform(1, 50, (n, n))
    flows = evaluate_flows({"log(cost)": -1.5}, cost=dist, constraint="doubly",
                           origin_totals=np.full(n, 10.0), destination_totals=np.full(n, 10.0))
    _has_attrs(flows)
    assert flows.attrs["converged"] and flows.attrs["constraint"] == "doubly"  # the status is kept


def test_calibration_flows_are_annotated(small_table):
    r = calibrate(small_table, origin="origin", destination="destination", flow="flow", cost="distance_km",
                  constraint="doubly")
    for arr in (r.fitted, r.observed, r.ssi()):
        _has_attrs(arr)
    assert r.ssi().attrs["units"] == "1"
