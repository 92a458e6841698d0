"""A small synthetic run directory for the report page's tests (no data files needed).

Four LADs (unit squares of 10 km in British National Grid) in two regions, the scenarios
``baseline``, ``alpha`` and ``beta`` with different changes, a summary table with an extra column and
results with an extra variable (the page must tolerate both).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from shapely.geometry import box

from migravity.geodata.zones import BNG, ZoneSet
from migravity.scenarios.rundir import MANIFEST_FILE, NETCDF_ENGINE, RESULTS_FILE, SUMMARY_CSV, RunDir, seal

CODES = ("E06000001", "E06000002", "E09000001", "E09000002")
NAMES = ("Alphaton", "Betaby", "Gammaford", "Deltaham")
REGIONS = ("E12000001", "E12000001", "E12000007", "E12000007")
REGION_NAMES = ("North East", "North East", "London", "London")
SCENARIOS = ("baseline", "alpha", "beta")
#: Change in high-skilled workers by LAD per scenario (mean); the interval is +-10% around it.
CHANGES = {"baseline": (0.0, 0.0, 0.0, 0.0), "alpha": (120.0, 30.0, -100.0, -50.0),
           "beta": (-40.0, 300.0, 60.0, -320.0)}
BASELINE = (1000.0, 2000.0, 5000.0, 4000.0)


def synthetic_zones() -> ZoneSet:
    """Four 10 km squares in the North East of England (British National Grid)."""
    geoms = [box(420000 + 10000 * i, 560000, 430000 + 10000 * i, 570000) for i in range(4)]
    geometry = gpd.GeoSeries(geoms, index=pd.Index(CODES, name="lad"), crs=BNG)
    return ZoneSet(vintage="2023", area="EW", codes=CODES, names=NAMES, region_codes=REGIONS,
                   region_names=REGION_NAMES, nations=("E",) * 4, geometry=geometry)


def _row(sc: str, metric: str, level: str, code: str, name: str, base: float, change: float,
         spec: tuple[float, float] | None = None, verdict: str | None = None) -> dict[str, object]:
    lo, hi = sorted((change * 0.9, change * 1.1))
    return {"scenario": sc, "metric": metric, "level": level, "code": code, "name": name, "initial": base,
            "baseline_mean": base, "baseline_q05": base * 0.99, "baseline_q50": base, "baseline_q95": base * 1.01,
            "scenario_mean": base + change, "scenario_q05": base + lo, "scenario_q50": base + change,
            "scenario_q95": base + hi, "change_mean": change, "change_q05": lo, "change_q50": change,
            "change_q95": hi, "spec_low": spec[0] if spec else np.nan, "spec_high": spec[1] if spec else np.nan,
            "verdict": verdict, "an_extra_column": 1.0}


def summary_table() -> pd.DataFrame:
    rows = []
    for sc in SCENARIOS:
        ch = np.array(CHANGES[sc])
        k = SCENARIOS.index(sc)
        rows.append(_row(sc, "gse_hs_share", "national", "EW", "study area", 0.47, -0.001 * k,
                         (-0.0015 * k, -0.0005 * k)))
        rows.append(_row(sc, "theil_lad", "national", "EW", "study area", 0.017, -0.0001 * k,
                         (-0.0002 * k, 0.0), "narrows" if k else "unclear"))
        rows.append(_row(sc, "london_leavers_gse_share", "national", "EW", "study area", 0.65, -0.01 * k,
                         (0.6, 0.66)))
        for reg, rname in (("E12000001", "North East"), ("E12000007", "London")):
            sel = [i for i, r in enumerate(REGIONS) if r == reg]
            rows.append(_row(sc, "hs_stock", "region", reg, rname, sum(BASELINE[i] for i in sel),
                             float(ch[sel].sum())))
        for q in range(1, 3):
            rows.append(_row(sc, "hs_stock", "imd_quintile", f"Q{q}", f"IMD quintile {q}", 6000.0,
                             float(ch[q - 1] + ch[q + 1])))
        for i in range(4):
            rows.append(_row(sc, "hs_stock", "lad", CODES[i], NAMES[i], BASELINE[i], float(ch[i])))
    return pd.DataFrame(rows)


def results() -> xr.Dataset:
    """Flows (origin x destination) per scenario, an extra variable, and ``lad``."""
    rng = np.random.default_rng(3)
    base = rng.uniform(10, 100, (4, 4))
    np.fill_diagonal(base, 0.0)
    flows = np.stack([base, base * 1.2, base * 0.7])
    coords = {"scenario": list(SCENARIOS), "origin": list(CODES), "destination": list(CODES), "lad": list(CODES)}
    return xr.Dataset({"hs_flows": (("scenario", "origin", "destination"), flows),
                       "baseline_hs_flows": (("scenario", "origin", "destination"), np.stack([base] * 3)),
                       "hs_change": (("scenario", "lad"), np.array([CHANGES[s] for s in SCENARIOS])),
                       "an_extra_variable": (("lad",), np.ones(4))}, coords=coords)


def manifest() -> dict[str, object]:
    return {
        "version": "0.0-test", "created": "2026-01-01T00:00:00+00:00", "zone_vintage": "2023", "area": "EW",
        "zones": 4, "years": 3, "draws": 5, "seed": 1,
        "scenarios": [{"name": s, "description": f"Scenario {s} <for tests>"} for s in SCENARIOS],
        "parameters": [
            {"parameter": "beta_distance", "value": -1.36, "std_error": 0.03, "low": -1.41, "high": -1.31,
             "status": "identified", "source": "Census 2021 cross-section", "reason": "p = 0",
             "description": "log distance"},
            {"parameter": "move_rate_high", "value": 1.3, "std_error": None, "low": 1.1, "high": 1.5,
             "status": "assumed", "source": "research report", "reason": "graduates move more"},
        ],
        "specifications": [{"name": "main", "description": "the main specification", "values": {}}],
        "files": [],
    }


def write_synthetic_run(path: Path) -> RunDir:
    """Write the synthetic run directory (sealed: ``open_run`` verifies it) and return it read."""
    path.mkdir(parents=True, exist_ok=True)
    summary_table().to_csv(path / SUMMARY_CSV, index=False)
    results().to_netcdf(path / RESULTS_FILE, engine=NETCDF_ENGINE)
    (path / MANIFEST_FILE).write_text(json.dumps(manifest()), encoding="utf-8")
    seal(path)
    from migravity.scenarios.rundir import open_run

    return open_run(path)
