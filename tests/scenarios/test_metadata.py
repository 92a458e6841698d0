"""CF-style attributes (units, long_name, description) on every variable of results.nc and of the engine's results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from migravity.scenarios import rundir
from migravity.scenarios.run import run_scenarios, write_run
from migravity.scenarios.spec import load_scenario
from migravity.utils.metadata import CONVENTIONS, COORDS, VARIABLES


def _check_annotated(ds: xr.Dataset) -> None:
    for name, var in ds.data_vars.items():
        for key in ("units", "long_name", "description"):
            assert str(var.attrs.get(key, "")).strip(), f"{name} has no {key}"
    for name in ds.coords:
        assert str(ds[name].attrs.get("long_name", "")).strip(), f"coordinate {name} has no long_name"
    assert ds.attrs["Conventions"] == CONVENTIONS
    for key in ("title", "source", "institution", "references", "history"):
        assert str(ds.attrs.get(key, "")).strip(), f"no global {key}"
    assert "migravity" in ds.attrs["history"]


def _open(path: Path) -> xr.Dataset:
    with xr.open_dataset(path / rundir.RESULTS_FILE, engine=rundir.NETCDF_ENGINE) as ds:
        return ds.load()


def test_synthetic_results_nc_is_annotated(inputs, tmp_path):
    run = run_scenarios(inputs, [load_scenario("baseline"), load_scenario("wfh_uptake")], draws=3, seed=1, years=2)
    assert set(run.dataset().data_vars) <= set(VARIABLES)  # every variable the run builds is registered
    ds = _open(write_run(run, tmp_path / "run"))
    _check_annotated(ds)
    assert ds["hs_flows"].attrs["units"] == "persons per year"
    assert ds["stock"].attrs["units"] == "persons" and ds["gse_share"].attrs["units"] == "1"
    assert ds["origin"].attrs["long_name"].startswith("origin local authority district (GSS code, ")
    assert ds["commute_days"].dtype.kind in "if"  # units "days per week" are not decoded as a timedelta
    # the reader keeps the attributes through its reductions
    red = rundir.reduce_variable(ds["stock_mean"], "wfh_uptake")
    assert red.attrs["units"] == "persons"


def test_registry_entries_are_complete():
    for name, meta in VARIABLES.items():
        assert meta.long_name and meta.units and meta.description, name
    assert all(meta.long_name for meta in COORDS.values())


def test_sample_run_dir_results_nc_is_annotated(sample_run_dir):
    ds = _open(sample_run_dir)
    _check_annotated(ds)
    assert ds["lad"].attrs["long_name"] == "local authority district (GSS code, 2023)"
    assert np.isfinite(ds["hs_change"]).all()


def test_demographic_baseline_is_annotated(data_dir):
    from migravity.geodata.zones import load_zones
    from migravity.scenarios.demography import baseline_components

    zones23 = load_zones("2023", "EW", data_dir)
    ds = baseline_components(zones23, 2023, 3, data_dir)
    for name, var in ds.data_vars.items():
        for key in ("units", "long_name", "description"):
            assert str(var.attrs.get(key, "")).strip(), f"{name} has no {key}"
    assert ds["population"].attrs["units"] == "persons" and ds["births"].attrs["units"] == "persons per year"
    assert ds["year"].attrs["long_name"].startswith("calendar year")
    assert ds["lad"].attrs["long_name"] == "local authority district (GSS code, 2023)"
