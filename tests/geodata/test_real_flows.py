"""Observed Census flows on the real data: totals, known cells and the harmonisation record."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from migravity.errors import ConfigError
from migravity.geodata.flows import load_flows
from migravity.geodata.harmonise import code_map
from migravity.geodata.readers import load
from migravity.geodata.zones import ZoneSet

EW = ("E", "W")
CUMBERLAND = ("E07000026", "E07000028", "E07000029")  # Allerdale, Carlisle, Copeland -> E06000063


def _inter(m: np.ndarray) -> float:
    return float(m.sum() - np.trace(m))


def test_migration2021_totals(mig21_on21: xr.DataArray, zones21: ZoneSet) -> None:
    """ODMG01EW on 2021 codes: 5,913,273 movers, 2,752,607 between LADs; Bristol -> S Glos 6,253."""
    m = mig21_on21.to_numpy()
    assert m.shape == (331, 331)
    assert list(mig21_on21.origin.values) == list(zones21.codes)
    assert (m >= 0).all() and np.isfinite(m).all()
    assert m.sum() == 5_913_273
    assert _inter(m) == 2_752_607
    assert mig21_on21.sel(origin="E06000023", destination="E06000025").item() == 6_253


def test_migration2021_report(mig21_on21: xr.DataArray) -> None:
    """The report counts the excluded non-movers and arrivals from abroad, and lists Scottish/NI origins."""
    rep = json.loads(mig21_on21.attrs["harmonisation"])
    assert rep["dataset"] == "odmg01ew" and (rep["source"], rep["target"]) == ("2021", "2021")
    assert set(rep["excluded"]) == {"non-movers (same address)", "from outside the UK"}
    assert all(v > 0 for v in rep["excluded"].values())
    raw = load("odmg01ew")
    assert rep["excluded"]["non-movers (same address)"] == raw.loc[raw.origin == "-8", "count"].sum()
    assert rep["excluded"]["from outside the UK"] == raw.loc[raw.origin == "999999999", "count"].sum()
    outside = rep["outside"]
    assert outside and all(k.startswith("origin:") for k in outside)
    assert {k.split(":")[1][0] for k in outside} == {"S", "N"}
    # everything in the file is accounted for: matrix + excluded + outside
    assert raw["count"].sum() == pytest.approx(5_913_273 + sum(rep["excluded"].values()) + sum(outside.values()))
    assert rep["unmatched"] == []
    assert mig21_on21.attrs["summary"].startswith("odmg01ew")


def test_migration2021_on_2023_codes(mig21_on23: xr.DataArray, mig21_on21: xr.DataArray) -> None:
    """Merging districts within E&W conserves the total; Cumberland's diagonal is its parts' 3x3 block."""
    m23, m21 = mig21_on23.to_numpy(), mig21_on21.to_numpy()
    assert m23.shape == (318, 318)
    assert m23.sum() == pytest.approx(m21.sum())
    block = mig21_on21.sel(origin=list(CUMBERLAND), destination=list(CUMBERLAND)).sum().item()
    assert mig21_on23.sel(origin="E06000063", destination="E06000063").item() == pytest.approx(block)
    row = mig21_on21.sel(origin=list(CUMBERLAND)).sum().item()
    assert mig21_on23.sel(origin="E06000063").sum().item() == pytest.approx(row)
    # an unaffected pair is unchanged
    assert mig21_on23.sel(origin="E06000023", destination="E06000025").item() == 6_253
    rep = json.loads(mig21_on23.attrs["harmonisation"])
    assert sorted(rep["merged"]["E06000063"]) == list(CUMBERLAND)
    assert len(rep["merged"]) == 4 and sum(len(v) for v in rep["merged"].values()) == 17


@pytest.mark.parametrize("vintage", ["2021", "2023"])
def test_migration2011_conserves_ew_total(vintage: str, zones21: ZoneSet, zones23: ZoneSet) -> None:
    """Census 2011 migration harmonised to 2021/2023 codes keeps the raw E&W-to-E&W total; City gets a share."""
    zones = zones21 if vintage == "2021" else zones23
    raw = load("migration2011")
    inside = raw.origin.str[0].isin(EW) & raw.destination.str[0].isin(EW)
    f = load_flows("migration2011", zones)
    assert f.to_numpy().sum() == pytest.approx(raw.loc[inside, "count"].sum(), rel=1e-12)
    city_out = f.sel(origin="E09000001").sum().item()
    city_in = f.sel(destination="E09000001").sum().item()
    westminster = f.sel(origin="E09000033").sum().item()
    assert 0 < city_out < 0.1 * westminster and 0 < city_in
    assert f.sel(origin="E06000053").sum().item() > 0  # Isles of Scilly split from Cornwall
    rep = json.loads(f.attrs["harmonisation"])
    assert set(rep["split"]) == {"E09000033", "E06000052"}
    for ws in rep["split"].values():
        assert sum(ws.values()) == pytest.approx(1.0)
    assert rep["unmatched"] == []
    assert {k.split(":")[1][0] for k in rep["outside"]} == {"S"}


def test_commute2021_total(zones21: ZoneSet) -> None:
    """ODWP01EW category 3 with both ends in E&W is exactly the harmonised commuting total."""
    raw = load("odwp01ew")
    sel = (raw.category == 3) & raw.origin.str[0].isin(EW) & raw.destination.str[0].isin(EW)
    f = load_flows("commute2021", zones21)
    assert f.to_numpy().sum() == raw.loc[sel, "count"].sum()
    rep = json.loads(f.attrs["harmonisation"])
    assert set(rep["excluded"]) == {"not in employment", "mainly at or from home", "offshore or outside UK"}
    assert rep["excluded"]["mainly at or from home"] == raw.loc[raw.category == 1, "count"].sum()
    assert all(k.startswith("destination:") for k in rep["outside"])


def test_unknown_flow_kind(zones21: ZoneSet) -> None:
    """An unknown kind raises ConfigError naming the field."""
    with pytest.raises(ConfigError, match="kind"):
        load_flows("migration1991", zones21)


def test_code_map_is_consistent_with_zones(zones21: ZoneSet, zones23: ZoneSet, data_dir: Path) -> None:
    """Mapping every 2021 zone with code_map('2021','2023') gives exactly the 2023 zones."""
    cm = code_map("2021", "2023", data_dir)
    assert {cm.mapping.get(c, c) for c in zones21.codes} == set(zones23.codes)
