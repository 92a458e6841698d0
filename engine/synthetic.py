"""Synthetic origin-destination tables for tests, examples and benchmarks.

Randomness only through a passed-in :class:`numpy.random.Generator`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def synthetic_od_table(
    n_zones: int,
    rng: np.random.Generator,
    *,
    beta_distance: float = -1.5,
    beta_border: float = 0.5,
    mean_flow: float = 20.0,
    diagonal: bool = False,
) -> pd.DataFrame:
    """A gravity-model OD table drawn from a Poisson with origin and destination effects.

    Zones lie uniformly in a 500 km square; ``border`` is 1 for pairs closer than a
    distance that gives each zone about six neighbours. Flows are Poisson with mean
    ``exp(a_i + b_j + beta_distance*log(distance_km) + beta_border*border)``, the
    effects scaled so that the mean flow is about ``mean_flow``.

    Parameters
    ----------
    n_zones : int
        Number of zones (labels ``"Z0000"``, ...).
    rng : numpy.random.Generator
        Source of randomness.
    beta_distance, beta_border : float
        True coefficients of ``log(distance_km)`` and ``border``.
    mean_flow : float
        Target mean of the Poisson means over the pairs.
    diagonal : bool
        Include the intra-zonal pairs (with a distance of a fifth of the nearest neighbour).

    Returns
    -------
    pandas.DataFrame
        Columns ``origin, destination, flow, distance_km, border, pop_o, pop_d``.
    """
    xy = rng.uniform(0.0, 500.0, size=(n_zones, 2))
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    nearest = d.min(axis=1)
    radius = 500.0 * np.sqrt(6.0 / (np.pi * n_zones))
    border = (d < radius).astype(np.float64)
    np.fill_diagonal(d, np.maximum(nearest / 5.0, 1e-3))
    pop = rng.lognormal(11.0, 0.7, size=n_zones)
    a = 0.8 * np.log(pop) + rng.normal(0.0, 0.3, n_zones)
    b = 0.8 * np.log(pop) + rng.normal(0.0, 0.3, n_zones)
    eta = a[:, None] + b[None, :] + beta_distance * np.log(d) + beta_border * border
    off = ~np.eye(n_zones, dtype=bool)
    keep = np.ones_like(off) if diagonal else off
    eta += np.log(mean_flow) - np.log(np.exp(eta[keep]).mean())
    mu = np.exp(eta)
    flow = rng.poisson(mu).astype(np.float64)
    labels = np.array([f"Z{i:04d}" for i in range(n_zones)])
    oi, dj = np.nonzero(keep)
    return pd.DataFrame(
        {
            "origin": labels[oi],
            "destination": labels[dj],
            "flow": flow[oi, dj],
            "distance_km": d[oi, dj],
            "border": border[oi, dj],
            "pop_o": pop[oi],
            "pop_d": pop[dj],
        }
    )
