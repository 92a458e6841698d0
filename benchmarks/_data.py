"""Where benchmarks find the real data: ``$MIGRAVITY_DATA``, else ``../shared/data`` beside the repository."""

from __future__ import annotations

import os
from pathlib import Path


def real_data_dir() -> Path | None:
    """The real data directory, or ``None`` when it is not available (real-data benchmarks are skipped)."""
    env = os.environ.get("MIGRAVITY_DATA")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [p / "shared" / "data" for p in here.parents]
    for c in candidates:
        if (c / "lad" / "boundaries").is_dir():
            return c
    return None


def synthetic_arrays(n: int, seed: int = 0) -> dict:
    """Seeded synthetic zones: distance (km, positive diagonal), border, origin and destination totals."""
    import numpy as np

    rng = np.random.default_rng(seed)
    xy = rng.uniform(0.0, 500.0, size=(n, 2))
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    near = np.sort(d, axis=1)[:, 1]
    d[np.diag_indices(n)] = np.maximum(near / 5.0, 0.1)
    radius = float(np.quantile(np.sort(d, axis=1)[:, 6], 0.5))
    border = (d < radius).astype(np.float64)
    border[np.diag_indices(n)] = 0.0
    mass = rng.lognormal(10.0, 1.0, size=n)
    origin_totals = mass / mass.sum() * 1e6
    destination_totals = rng.permutation(origin_totals)
    return {"cost": d, "border": border, "origin_totals": origin_totals,
            "destination_totals": destination_totals, "mass": mass}


def lad_arrays() -> dict:
    """The real 2023 England and Wales LADs (318) in :func:`synthetic_arrays`' format.

    Centroid distances (km), shared borders and the Census 2021 inter-LAD migration margins
    (diagonal excluded). Raises ``NotImplementedError`` (asv: skipped) without the real data.
    """
    import numpy as np

    from migravity.geodata import contiguity_matrix, distance_matrix, load_flows, load_zones

    data = real_data_dir()
    if data is None:
        raise NotImplementedError("real data not available")
    zones = load_zones("2023", "EW", data)
    flows = load_flows("migration2021", zones, data).values.astype(np.float64)
    np.fill_diagonal(flows, 0.0)
    return {"cost": np.ascontiguousarray(distance_matrix(zones).values),
            "border": np.ascontiguousarray(contiguity_matrix(zones).values, dtype=np.float64),
            "origin_totals": flows.sum(axis=1), "destination_totals": flows.sum(axis=0),
            "mass": flows.sum(axis=1)}
