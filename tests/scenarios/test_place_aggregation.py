"""A run aggregated to places: totals equal sums of their LADs, intervals come from the per-draw sums."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from migravity.errors import ConfigError, RunDirError
from migravity.geodata.places import Grouping
from migravity.scenarios.places import OTHER, aggregate, group_flows, place_profile
from migravity.scenarios.rundir import RunDir, open_run

LADS = ["A", "B", "C", "D", "E"]
SEGMENTS = ["high_never", "high_always", "other_never", "other_always"]


def synthetic_run(draws: int = 40, seed: int = 3) -> RunDir:
    """A hand-made run directory in memory: two scenarios, 5 LADs, 4 segments, 2 years."""
    rng = np.random.default_rng(seed)
    n, sc = len(LADS), ["baseline", "wfh"]
    base = rng.uniform(100, 1000, size=(draws, n))
    scen = base + rng.normal(0, 50, size=(draws, n))
    stock_mean = rng.uniform(10, 100, size=(2, 3, 4, n))
    flows = rng.uniform(0, 10, size=(2, n, n))
    for k in range(2):
        np.fill_diagonal(flows[k], 0.0)
    ds = xr.Dataset({
        "hs_stock_draws": (("scenario", "draw", "lad"), np.stack([base, scen]).astype(np.float32)),
        "baseline_hs_stock_draws": (("scenario", "draw", "lad"), np.stack([base, base]).astype(np.float32)),
        "stock_mean": (("scenario", "year", "segment", "lad"), stock_mean),
        "baseline_stock_mean": (("scenario", "year", "segment", "lad"), stock_mean * 0.9),
        "hs_flows": (("scenario", "origin", "destination"), flows),
        "baseline_hs_flows": (("scenario", "origin", "destination"), flows[[0, 0]]),
    }, coords={"scenario": sc, "draw": np.arange(draws), "year": [0, 1, 2], "segment": SEGMENTS, "lad": LADS,
               "origin": LADS, "destination": LADS, "lad_name": ("lad", [f"LAD {c}" for c in LADS]),
               "wfh_class": ("segment", ["never", "always"] * 2), "commute_days": ("segment", [5.0, 0.0] * 2)})
    return RunDir(Path("synthetic"), {"years": 2, "draws": draws}, ds)


GROUPS = Grouping("user", {"North": ("A", "C"), "South": ("B", "D")}, {"North": "N", "South": "S"})


def test_aggregates_are_sums_of_lads_and_intervals_from_draws() -> None:
    run = synthetic_run()
    t = aggregate(run, GROUPS, "wfh")
    lad = aggregate(run, Grouping("user", {c: (c,) for c in LADS}), "wfh")
    ds = run.results
    sc = ds.hs_stock_draws.sel(scenario="wfh").to_numpy().astype(float)
    bs = ds.baseline_hs_stock_draws.sel(scenario="wfh").to_numpy().astype(float)
    for g, members in GROUPS.members.items():
        for col in ("initial", "baseline_mean", "scenario_mean", "change_mean"):
            assert t.loc[g, col] == pytest.approx(lad.loc[list(members), col].sum(), rel=1e-12)
        idx = [LADS.index(c) for c in members]
        per_draw = (sc[:, idx] - bs[:, idx]).sum(axis=1)
        lo, hi = np.quantile(per_draw, [0.05, 0.95])
        assert t.loc[g, "change_q05"] == pytest.approx(lo) and t.loc[g, "change_q95"] == pytest.approx(hi)
        # not the sum of the LADs' quantiles: the draws are independent across LADs here
        assert t.loc[g, "change_q95"] < lad.loc[list(members), "change_q95"].sum()
    assert t.loc["North", "code"] == "N" and list(t.n_lads) == [2, 2]
    year0 = ds.stock_mean.sel(scenario="wfh").isel(year=0).sel(segment=["high_never", "high_always"]).sum("segment")
    assert t.loc["South", "initial"] == pytest.approx(float(year0.sel(lad=["B", "D"]).sum()))


def test_group_flows_net_and_rest() -> None:
    run = synthetic_run()
    f = group_flows(run, GROUPS, "wfh")
    assert set(f.place) == {"North", "South", OTHER}
    flows = run.results.hs_flows.sel(scenario="wfh").to_numpy()
    row = f[(f.place == "North") & (f.partner == "South")].iloc[0]
    into = flows[np.ix_([1, 3], [0, 2])].sum()
    out = flows[np.ix_([0, 2], [1, 3])].sum()
    assert row.scenario_in == pytest.approx(into) and row.scenario_out == pytest.approx(out)
    assert row.scenario_net == pytest.approx(into - out)
    rev = f[(f.place == "South") & (f.partner == "North")].iloc[0]
    assert rev.scenario_net == pytest.approx(-row.scenario_net)
    assert f.scenario_net.sum() == pytest.approx(0.0, abs=1e-9)  # closed system: nets cancel
    base = run.results.baseline_hs_flows.sel(scenario="wfh").to_numpy()
    assert row.baseline_in == pytest.approx(base[np.ix_([1, 3], [0, 2])].sum())
    assert row.change_net == pytest.approx(row.scenario_net - row.baseline_net)


def test_profile() -> None:
    run = synthetic_run()
    p = place_profile(run, GROUPS, "north", "wfh", top=2)
    assert p["place"]["name"] == "North" and [m["code"] for m in p["members"]] == ["A", "C"]
    assert [r["code"] for r in p["top_origins"]] and all(r["code"] not in ("A", "C") for r in p["top_origins"])
    flows = run.results.hs_flows.sel(scenario="wfh").to_numpy()
    into = flows[:, [0, 2]].sum(axis=1)
    into[[0, 2]] = -1
    assert p["top_origins"][0]["code"] == LADS[int(np.argmax(into))]
    assert len(p["top_destinations"]) == 2
    assert sum(p["wfh_mix"]["share_year0"]) == pytest.approx(1.0)
    assert p["wfh_mix"]["classes"] == ["never", "always"]
    change = sum(m["change"]["mean"] for m in p["members"])
    assert p["high_skilled"]["change"]["mean"] == pytest.approx(change)
    with pytest.raises(ConfigError, match="North, South"):
        place_profile(run, GROUPS, "Glasgow", "wfh")


def test_old_run_without_draws() -> None:
    run = synthetic_run()
    old = RunDir(run.path, run.manifest, run.results.drop_vars(["hs_stock_draws", "baseline_hs_stock_draws"]))
    with pytest.raises(RunDirError, match="run the scenarios again"):
        aggregate(old, GROUPS, "wfh")
    with pytest.raises(RunDirError, match="not a zone of the run"):
        aggregate(run, Grouping("user", {"X": ("Z",)}), "wfh")


def test_real_run_single_lads_match_stored_quantiles(sample_run_dir: Path) -> None:
    run = open_run(sample_run_dir)
    codes = [str(c) for c in run.results.lad.to_numpy()]
    t = aggregate(run, Grouping("user", {c: (c,) for c in codes}), "wfh_uptake")
    stored = run.results.hs_change.sel(scenario="wfh_uptake")
    for q in (0.05, 0.5, 0.95):
        np.testing.assert_allclose(t[f"change_q{round(q * 100):02d}"], stored.sel(quantile=q), rtol=1e-4, atol=0.05)
    means = run.results.stock_mean.sel(scenario="wfh_uptake").isel(year=-1)
    high = [s for s in map(str, means.segment.to_numpy()) if s.startswith("high_")]
    np.testing.assert_allclose(t.scenario_mean, means.sel(segment=high).sum("segment"), rtol=1e-5)
    assert "hs_stock_draws_0" not in run.zone_values("wfh_uptake").columns  # draws stay out of zone values
