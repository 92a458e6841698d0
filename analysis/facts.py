"""The two stylised facts of the research migravity serves, computed on the real data.

1. Internal migration runs between similar places: inter-LAD migrants in England (Census 2021)
   by IMD quintile of origin and of destination (quintiles within England, 1 = most deprived).
2. Working from home is concentrated in the Greater South East: the share of workers mainly
   working at or from home (Census 2021 ODWP01EW) by region of residence.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from migravity.geodata.attributes import load_attributes
from migravity.geodata.flows import load_flows
from migravity.geodata.zones import ZoneVintage, load_zones

DataDir = str | os.PathLike[str] | None


def deprivation_flow_matrix(data_dir: DataDir = None, vintage: ZoneVintage = "2023") -> pd.DataFrame:
    """Inter-LAD migrants within England, origin IMD quintile (rows) by destination quintile (columns)."""
    zones = load_zones(vintage, "England", data_dir)
    flows = load_flows("migration2021", zones, data_dir).to_numpy().copy()
    np.fill_diagonal(flows, 0.0)
    q = load_attributes(zones, data_dir)["imd_quintile"].to_numpy().astype(int)
    mat = np.zeros((5, 5))
    np.add.at(mat, (q[:, None].repeat(len(q), 1) - 1, q[None, :].repeat(len(q), 0) - 1), flows)
    labels = pd.Index([1, 2, 3, 4, 5], name="origin_quintile")
    return pd.DataFrame(mat, index=labels, columns=pd.Index([1, 2, 3, 4, 5], name="destination_quintile"))


def wfh_share_by_region(data_dir: DataDir = None, vintage: ZoneVintage = "2023") -> pd.DataFrame:
    """Workers and the share mainly working at or from home by region (England regions and Wales)."""
    zones = load_zones(vintage, "EW", data_dir)
    ds = load_attributes(zones, data_dir)
    df = pd.DataFrame({"region": ds["region_name"].to_numpy(), "workers": ds["workers"].to_numpy(),
                       "wfh": ds["wfh_workers"].to_numpy(), "gse": ds["gse"].to_numpy()})
    out = df.groupby("region")[["workers", "wfh"]].sum()
    out.loc["Greater South East"] = df[df.gse][["workers", "wfh"]].sum()
    out.loc["Rest of England and Wales"] = df[~df.gse][["workers", "wfh"]].sum()
    out.loc["England and Wales"] = df[["workers", "wfh"]].sum()
    out["share"] = out.wfh / out.workers
    return out
