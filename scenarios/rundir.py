"""The run directory: the one home of its format (file names, manifest keys), its writer and its reader.

``migravity run ... --out RUN_DIR`` writes it (:func:`write_run`); export and plotting read it
(:func:`open_run`). Other modules use the names defined here, never their own copies.

Files
-----
- ``results.nc`` (:data:`RESULTS_FILE`; xarray, netCDF3 written and read by scipy
  (:data:`NETCDF_ENGINE`), strings as char arrays): dims ``scenario``, ``quantile``, ``year``,
  ``segment``, ``lad``, ``origin``, ``destination``. Variables: ``stock_mean`` /
  ``baseline_stock_mean`` (scenario, year, segment, lad; mean over draws), ``stock`` /
  ``baseline_stock`` (scenario, quantile, year, segment, lad), ``hs_change`` (scenario, quantile,
  lad: final-year high-skilled stock, scenario - baseline), ``gse_share``, ``theil``, ``gini``,
  ``baseline_gse_share``, ``baseline_theil``, ``baseline_gini`` (scenario, quantile, year),
  ``hs_flows`` / ``baseline_hs_flows`` (scenario, origin, destination: final-year high-skilled
  mover flows, mean over draws), ``hs_stock_draws`` / ``baseline_hs_stock_draws`` (scenario,
  draw, lad; final-year high-skilled stock of every draw, float32: sums over groups of LADs and
  their intervals are computed from these, see :mod:`migravity.scenarios.places`).
  ``london_leavers_gse_share`` / ``baseline_london_leavers_gse_share`` (scenario, quantile) and
  their ``*_mean`` (scenario): of London's high-skilled leavers in the final year (movers from
  London LADs to LADs outside London), the share who stay in the Greater South East.
  ``spec_headline`` (scenario, specification, headline): the headline figures
  (``gse_hs_share_change``, ``theil_lad_change``, ``london_leavers_gse_share``,
  ``baseline_london_leavers_gse_share``) under each specification at its point values (the
  first the main specification's draw 0).
  ``net_internal`` / ``other_change`` and their ``baseline_*`` (scenario, year, skill_group, lad;
  mean over draws, cumulative since year 0): the change of each skill group's stock split into the
  simulation's own net internal migration and the other components
  (:func:`migravity.scenarios.run.decomposition`). Attributes ``baseline_pattern`` and
  ``population`` (open or closed) say which baseline the run used.
  Built by :func:`migravity.scenarios.run.results_dataset`.
- ``summary.csv`` and ``summary.parquet`` (:data:`SUMMARY_CSV`, :data:`SUMMARY_PARQUET`): the tidy
  headline table (:func:`migravity.scenarios.run.summary_table`).
- ``zones.parquet`` (:data:`ZONES_FILE`): the run's zones, so that the directory needs no data
  directory to be drawn, exported or summarised (:func:`load_run_zones`): one row per zone in run
  order with ``code``, ``name``, ``region_code``, ``region_name``, ``nation``, ``workers`` (Census
  2021 residents in work, the year-0 stock of all segments: the denominator of per-capita maps) and
  ``geometry_wkb`` (the boundary in British National Grid, EPSG:27700, simplified by
  :data:`ZONE_SIMPLIFY_M` metres with topology preserved, as WKB).
- ``fit.nc`` (:data:`FIT_FILE`): the gravity fit the run's calibration made (the stage-1
  cross-section fit, :func:`migravity.scenarios.params.calibrate_parameters`): ``observed`` and
  ``fitted`` (origin, destination; float64, NaN on the diagonal) and attributes describing the model
  and its fit statistics (``pseudo_r2``, ``srmse``, ``cpc``...). Without a stored fit (parameters
  given by hand) it holds no variables and the attribute ``available = 0``. ``plot --kind fit``
  draws it (:meth:`RunDir.stored_fit`).
- ``manifest.json`` (:data:`MANIFEST_FILE`, strict JSON, written last): the keys
  :data:`MANIFEST_KEYS` (version, created, zone vintage and area, zones, scenarios (each with
  :data:`SCENARIO_KEYS`), years, draws, seed, quantiles, segments, commute days, the parameter
  table (every parameter with value, standard error, low, high, status identified/assumed, source,
  reason), the specifications (name, description, values; the first the main one), the workplace
  source of the anchoring, the data files used although they differ from the registry
  (``changed_data``: name to path and SHA-256, ``{}`` normally; see ``--accept-changed-data``), where
  each dataset came from (``data_sources``: its raw file, or ``bundle VERSION``), the files).
  ``files`` lists every other file of the directory (:data:`DATA_FILES`) as
  ``{"name", "bytes", "sha256"}`` (:func:`file_record`).

The directory is written as one unit (:func:`migravity.utils.atomic.atomic_dir`): every file goes
into a hidden temporary sibling (``.NAME.tmp-PID-RANDOM``), which then replaces ``RUN_DIR`` in one
rename (an earlier run there is renamed aside first and removed after, so for an instant between
two renames ``RUN_DIR`` is absent, never a mix of two runs). An interrupted write (an error,
Ctrl-C, SIGTERM) leaves the earlier run, or nothing, and no temporary; a second writer of the same
``RUN_DIR`` is refused while the first holds the lock ``.NAME.lock`` (a lock left by a dead process
is taken over). Reading needs :data:`RUN_FILES` (``manifest.json`` and ``results.nc``) and checks
the size and SHA-256 of every file the manifest lists, so a file changed or replaced after the run
is refused (re-run, or after deliberate edits call :func:`seal`). A manifest of the earlier format
(``files`` a list of names, no checksums) is read with a :class:`RuntimeWarning` saying the files
cannot be verified and the run should be re-made. The summary is read when asked for. The reader is
generic: it does not rely on particular variable names, only on dimensions.

Reductions (one scenario at a time)
-----------------------------------
Every variable of ``results.nc`` is reduced for one scenario as follows:

* ``scenario``: the scenario asked for is selected (variables without it are kept as they are);
* ``year``: the **final year** is kept;
* ``segment``: summed over the **high-skilled** segments (names starting ``high_``); the
  variable is then renamed ``hs_<name>`` (``baseline_<name>`` becomes ``baseline_hs_<name>``),
  so ``stock`` becomes ``hs_stock``. When no segment name starts with ``high_`` every segment
  is summed and the name is kept.

Zone values (:meth:`RunDir.zone_values`) are the reduced variables with a ``lad`` dimension (and
no ``draw`` dimension: per-draw values are summarised by the quantile variables);
any remaining dimension (``quantile``...) is flattened to ``<name>_<label>`` columns with the
rule of :func:`column_label` (``hs_change`` -> ``hs_change_q05``,
``hs_change_q50``, ``hs_change_q95``). For every pair ``X`` / ``baseline_X`` without a
``quantile`` dimension (means over the draws) the columns ``change_X = X - baseline_X`` and
``pct_change_X = 100 * change_X / baseline_X`` are added; differences of quantiles are not
quantiles of differences, so quantile pairs get none (the run's own ``hs_change`` holds the
per-draw change and its interval). Zone coordinates along ``lad`` other than names and regions
(``gse``, ``imd_quintile``) are added as columns.

Flow matrices (:meth:`RunDir.flow_matrices`) are the reduced variables with dims
``(origin, destination)``, with ``change_X = X - baseline_X`` for every pair (flows in the run are
means over the draws, so differences are exact).
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import numbers
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
import xarray as xr

from migravity.errors import ConfigError, MalformedDataError, RunDirError
from migravity.geodata.datadir import changed_data_used, data_sources_used
from migravity.scenarios.segments import COMMUTE_DAYS, SEGMENTS
from migravity.utils.hashing import file_digest
from migravity.utils.reprs import short_repr

if TYPE_CHECKING:
    from migravity.geodata.zones import ZoneSet
    from migravity.scenarios.run import RunResult

__all__ = [
    "DATA_FILES", "DERIVED_FILES", "FIT_FILE",
    "MANIFEST_FILE", "MANIFEST_KEYS", "NETCDF_ENGINE", "QUANTILES", "RESULTS_FILE", "RUN_FILES",
    "SCENARIO_KEYS", "SUMMARY_CSV", "SUMMARY_PARQUET", "WRITTEN_FILES", "ZONES_FILE", "ZONE_SIMPLIFY_M", "RunDir",
    "RunDirError", "file_record", "fit_dataset", "load_run_zones", "manifest", "open_run", "reduce_variable",
    "seal", "verify_files", "write_run", "zones_table",
]

RESULTS_FILE = "results.nc"
SUMMARY_CSV = "summary.csv"
SUMMARY_PARQUET = "summary.parquet"
MANIFEST_FILE = "manifest.json"
ZONES_FILE = "zones.parquet"
FIT_FILE = "fit.nc"
#: The files :func:`write_run` writes, in order (the manifest last).
WRITTEN_FILES: tuple[str, ...] = (RESULTS_FILE, SUMMARY_CSV, SUMMARY_PARQUET, ZONES_FILE, FIT_FILE, MANIFEST_FILE)
#: Simplification tolerance of the boundaries stored in the run directory (metres, British National Grid).
ZONE_SIMPLIFY_M = 50.0
#: Columns of ``zones.parquet``, in order.
ZONE_TABLE_COLUMNS: tuple[str, ...] = ("code", "name", "region_code", "region_name", "nation", "workers",
                                       "geometry_wkb")
#: The files the manifest lists with their size and SHA-256 (every written file but the manifest).
DATA_FILES: tuple[str, ...] = WRITTEN_FILES[:-1]
#: Keys of each entry of the manifest's ``files``.
FILE_KEYS: tuple[str, ...] = ("name", "bytes", "sha256")
#: Files derived from a run and written beside it after the run (``report.html``, see
#: :mod:`migravity.outputs.report_page`): not listed in the manifest (they can be rebuilt from the run at any
#: time), and replaced with the run directory, so an earlier run holding them may be overwritten.
DERIVED_FILES: tuple[str, ...] = ("report.html",)
#: The files a run directory must hold to be read.
RUN_FILES: tuple[str, ...] = (MANIFEST_FILE, RESULTS_FILE)
#: xarray engine of ``results.nc``: netCDF3 via scipy, no HDF5 library needed.
NETCDF_ENGINE: Final = "scipy"
#: Quantiles over the draws written by default.
QUANTILES: tuple[float, ...] = (0.05, 0.5, 0.95)
#: Keys of ``manifest.json``, in order.
MANIFEST_KEYS: tuple[str, ...] = ("version", "created", "zone_vintage", "area", "zones", "scenarios", "years",
                                  "draws", "seed", "quantiles", "segments", "commute_days", "parameters",
                                  "specifications", "workplace_source", "changed_data", "data_sources", "files")
#: Keys of each entry of the manifest's ``scenarios``.
SCENARIO_KEYS: tuple[str, ...] = ("name", "description", "source", "mode", "housing_feedback", "spec")
#: Run settings recorded in the manifest (and as ``results.nc`` attributes).
SETTING_KEYS: tuple[str, ...] = ("years", "draws", "seed")
HIGH_PREFIX = "high_"
#: Dimension of the per-draw variables (left out of zone values: they are summarised by quantiles).
DRAW_DIM: Final = "draw"
BASELINE_PREFIX = "baseline_"
#: Coordinates along ``lad`` already in every zone layer (as name, region_code, region_name).
_NAME_COORDS = frozenset({"lad", "lad_name", "region", "region_name", "name"})


def _hs_name(name: str) -> str:
    if name.startswith(BASELINE_PREFIX):
        return f"{BASELINE_PREFIX}hs_{name[len(BASELINE_PREFIX):]}"
    return f"hs_{name}"


def reduce_variable(var: xr.DataArray, scenario: str | None) -> xr.DataArray:
    """Reduce one variable of ``results.nc`` for one scenario (see the module docs).

    Parameters
    ----------
    var : xarray.DataArray
        A variable of the run's Dataset, with its name.
    scenario : str or None
        Scenario selected along ``scenario`` (ignored when the variable has no such dimension).

    Returns
    -------
    xarray.DataArray
        Without ``scenario``, ``year`` and ``segment`` dimensions, renamed ``hs_<name>`` when the
        high-skilled segments were summed.
    """
    name = str(var.name)
    if "scenario" in var.dims and scenario is not None:
        var = var.sel(scenario=scenario, drop=True)
    if "year" in var.dims:
        var = var.isel(year=-1, drop=True)
    if "segment" in var.dims:
        segs = [str(s) for s in var["segment"].to_numpy()]
        high = [s for s in segs if s.startswith(HIGH_PREFIX)]
        if high:
            var = var.sel(segment=high).sum("segment", keep_attrs=True)
            name = _hs_name(name)
        else:
            var = var.sum("segment", keep_attrs=True)
    return var.rename(name)


def column_label(dim: str, value: Any) -> str:
    """One coordinate value as a column-name label (``0.05`` on ``quantile`` -> ``q05``, ``-1.5`` -> ``m1p5``)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or isinstance(value, numbers.Integral):
        return str(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        if dim == "quantile" and 0.0 <= v <= 1.0:
            pct = round(v * 100.0, 10)
            text = f"{int(pct):02d}" if pct == int(pct) else format(pct, "g")
            return "q" + text.replace(".", "p")
        return format(v, "g").replace(".", "p").replace("-", "m").replace("+", "")
    return str(value)


def _labels(var: xr.DataArray, dim: str) -> list[str]:

    values = var[dim].to_numpy() if dim in var.coords else range(var.sizes[dim])
    return [column_label(dim, v) for v in values]


def _flatten(var: xr.DataArray, keep: tuple[str, ...]) -> dict[str, xr.DataArray]:
    """Split ``var`` along its dims other than ``keep`` into ``<name>_<label>...`` arrays."""
    extra = [d for d in var.dims if d not in keep]
    if not extra:
        return {str(var.name): var}
    labels = [_labels(var, str(d)) for d in extra]
    out = {}
    for idx in itertools.product(*(range(len(lab)) for lab in labels)):
        col = "_".join([str(var.name), *(labels[k][i] for k, i in enumerate(idx))])
        out[col] = var.isel({d: i for d, i in zip(extra, idx, strict=True)}, drop=True).rename(col)
    return out


def _pairs(names: list[str]) -> list[str]:
    """Names ``X`` for which ``baseline_X`` is also present."""
    present = set(names)
    return [n for n in names if not n.startswith(BASELINE_PREFIX) and f"{BASELINE_PREFIX}{n}" in present]


@dataclass(frozen=True, eq=False)
class RunDir:
    """A run directory, read: its manifest and its results (loaded into memory).

    Attributes
    ----------
    path : pathlib.Path
        The directory.
    manifest : dict
        ``manifest.json``.
    results : xarray.Dataset
        ``results.nc``. The zone dimension is ``lad`` at every level: an MSOA run's file names it
        ``msoa`` (with a ``parent_lad`` coordinate) and :func:`open_run` renames it, so that places,
        export and plots work unchanged; :attr:`level` tells the two apart.
    """

    path: Path
    manifest: dict[str, Any]
    results: xr.Dataset

    def __repr__(self) -> str:
        n = self.results.sizes.get("lad", 0)
        return short_repr(f"<RunDir {str(self.path)!r}: {', '.join(self.scenarios)}>",
                          [f"{n} {self.level.upper()}s ({self.area}, {self.zone_vintage} boundaries); "
                           f"{self.years} years, "
                           f"{self.draws} draws; migravity {self.manifest.get('version', '?')}",
                           f"variables: {', '.join(str(v) for v in self.results.data_vars)}"])

    @property
    def level(self) -> str:
        """The zones' level: ``lad`` or ``msoa`` (the results' ``level`` attribute)."""
        return str(self.results.attrs.get("level", "lad"))

    def lad_aggregate(self) -> xr.Dataset:
        """MSOA runs: the additive results summed to the parent LADs (2021 codes), dimension ``lad``.

        See :func:`migravity.scenarios.msoa.aggregate_to_lad` (quantiles are left out). A LAD run's
        results are returned as they are.
        """
        if self.level != "msoa":
            return self.results
        from migravity.scenarios.msoa import aggregate_to_lad

        out = aggregate_to_lad(self.results.rename({"lad": "msoa"}), dim="msoa")
        assert isinstance(out, xr.Dataset)
        return out

    @property
    def scenarios(self) -> list[str]:
        """Scenario names, in run order."""
        if "scenario" in self.results.coords:
            return [str(s) for s in self.results["scenario"].to_numpy()]
        return [str(s.get("name")) for s in self.manifest.get("scenarios", [])]

    @property
    def zone_vintage(self) -> str:
        """Zone code vintage of the run (manifest ``zone_vintage``, else the results' attribute)."""
        return str(self.manifest.get("zone_vintage", self.results.attrs.get("zone_vintage", "2023")))

    @property
    def area(self) -> str:
        """Study area of the run (manifest ``area``, else the results' attribute)."""
        return str(self.manifest.get("area", self.results.attrs.get("area", "EW")))

    @property
    def years(self) -> int | None:
        """Simulated years (the final year of ``year``), if known."""
        if "years" in self.manifest:
            return int(self.manifest["years"])
        return int(self.results["year"].to_numpy()[-1]) if "year" in self.results.coords else None

    @property
    def draws(self) -> int | None:
        """Monte Carlo draws, if known."""
        draws = self.manifest.get("draws", self.results.attrs.get("draws"))
        return None if draws is None else int(draws)

    @property
    def units(self) -> str:
        """Units of the stock variables (results attribute ``units``, default ``workers``)."""
        return str(self.results.attrs.get("units", "workers"))

    def scenario(self, name: str | None = None) -> str:
        """The scenario ``name`` (checked), or by default the first one not called ``baseline``.

        Parameters
        ----------
        name : str, optional
            A scenario of the run.

        Returns
        -------
        str

        Raises
        ------
        ConfigError
            ``name`` is not a scenario of the run (the run's scenarios are listed).
        """
        names = self.scenarios
        if not names:
            raise MalformedDataError(self.path / RESULTS_FILE, "no scenario in the run")
        if name is None:
            return next((n for n in names if n != "baseline"), names[0])
        if name not in names:
            raise ConfigError("--scenario", name, f"the run {self.path} holds " + ", ".join(names))
        return name

    def zones(self, data_dir: str | os.PathLike[str] | None = None) -> ZoneSet:
        """The run's zones: from the run directory (``zones.parquet``), see :func:`load_run_zones`.

        Parameters
        ----------
        data_dir : path-like, optional
            Data directory, read only for a run written before the directory held its zones.

        Returns
        -------
        ZoneSet
        """
        return load_run_zones(self, data_dir)

    def zone_workers(self) -> pd.Series | None:
        """Workers per zone (Census 2021 residents in work, the year-0 stock), indexed by code.

        From ``zones.parquet``; for a run without it, the baseline's year-0 stock of every segment
        in ``results.nc``; None when neither is there.

        Returns
        -------
        pandas.Series or None
        """
        table = _read_zone_table(self.path)
        if table is not None:
            return pd.Series(table["workers"].to_numpy(float), index=pd.Index(table["code"], name="lad"),
                             name="workers")
        ds = self.results
        if "baseline_stock_mean" in ds and {"year", "segment"} <= set(ds["baseline_stock_mean"].dims):
            var = ds["baseline_stock_mean"]
            if "scenario" in var.dims:
                var = var.isel(scenario=0, drop=True)
            w = var.isel(year=0, drop=True).sum("segment")
            return pd.Series(w.to_numpy().astype(float), index=pd.Index([str(c) for c in ds["lad"].to_numpy()],
                             name="lad"), name="workers")
        return None

    def stored_fit(self) -> xr.Dataset | None:
        """The calibration's gravity fit stored in the run (``fit.nc``), or None when the run has none.

        Returns
        -------
        xarray.Dataset or None
            Variables ``observed`` and ``fitted`` (origin, destination); the attributes describe the
            model and hold its fit statistics.
        """
        path = self.path / FIT_FILE
        if not path.is_file():
            return None
        try:
            with xr.open_dataset(path, engine=NETCDF_ENGINE) as ds:
                fit = ds.load()
        except Exception as exc:  # scipy/xarray raise assorted errors on a damaged file
            raise MalformedDataError(path, f"cannot be read as netCDF ({type(exc).__name__}: {exc})") from None
        return fit if {"observed", "fitted"} <= set(fit.data_vars) else None

    def summary(self) -> pd.DataFrame:
        """The run's tidy summary table (``summary.csv``, else ``summary.parquet``).

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        RunDirError
            Neither file is there.
        """
        csv, parquet = self.path / SUMMARY_CSV, self.path / SUMMARY_PARQUET
        if csv.is_file():
            # text columns typed up front: an MSOA summary is long enough for pandas' chunked type
            # inference to see an all-empty block of ``verdict`` (DtypeWarning: mixed types)
            text = ("scenario", "metric", "level", "code", "name", "verdict")
            return pd.read_csv(csv, dtype=dict.fromkeys(text, str))
        if parquet.is_file():
            return pd.read_parquet(parquet)
        raise RunDirError(csv, f"the run directory has no {SUMMARY_CSV} or {SUMMARY_PARQUET}")

    def zone_values(self, scenario: str | None = None) -> pd.DataFrame:
        """Zone values of one scenario as a table indexed by zone code (see the module docs).

        Parameters
        ----------
        scenario : str, optional
            Scenario (default: :meth:`scenario`).

        Returns
        -------
        pandas.DataFrame
            Index ``lad`` (zone codes, run order); one float column per flattened variable, the
            ``change_*`` / ``pct_change_*`` columns, and the zone coordinates (``gse``,
            ``imd_quintile``...).
        """
        scenario = self.scenario(scenario)
        ds = self.results
        cols: dict[str, np.ndarray] = {}
        single: list[str] = []  # variables along lad only (means): their differences are exact
        for name in ds.data_vars:
            var = ds[name]
            if "lad" not in var.dims or DRAW_DIM in var.dims:
                continue
            red = reduce_variable(var, scenario).transpose("lad", ...)
            if red.dims == ("lad",):
                single.append(str(red.name))
            for col, arr in _flatten(red, ("lad",)).items():
                cols[col] = np.asarray(arr.to_numpy())
        for x in _pairs(single):
            base = cols[f"{BASELINE_PREFIX}{x}"]
            change = cols[x] - base
            cols[f"change_{x}"] = change
            with np.errstate(divide="ignore", invalid="ignore"):
                cols[f"pct_change_{x}"] = np.where(base != 0, 100.0 * change / base, np.nan)
        for name, coord in ds.coords.items():
            if coord.dims == ("lad",) and name not in _NAME_COORDS and name not in cols:
                cols[str(name)] = coord.to_numpy()
        index = pd.Index([str(c) for c in ds["lad"].to_numpy()], name="lad")
        return pd.DataFrame(cols, index=index)

    def flow_matrices(self, scenario: str | None = None) -> dict[str, xr.DataArray]:
        """Origin-destination matrices of one scenario (see the module docs).

        Parameters
        ----------
        scenario : str, optional
            Scenario (default: :meth:`scenario`).

        Returns
        -------
        dict of str to xarray.DataArray
            Dims ``(origin, destination)``, in this order: the scenario's flows, the baseline's
            (``baseline_*``), then the differences (``change_*``). The first entry ranks the
            pairs when exporting. Empty when the run holds no flows.
        """
        scenario = self.scenario(scenario)
        flows: dict[str, xr.DataArray] = {}
        for name in self.results.data_vars:
            var = self.results[name]
            if "origin" in var.dims and "destination" in var.dims:
                red = reduce_variable(var, scenario).transpose("origin", "destination", ...)
                flows.update(_flatten(red, ("origin", "destination")))
        plain = [k for k in flows if not k.startswith(BASELINE_PREFIX)]
        base = [k for k in flows if k.startswith(BASELINE_PREFIX)]
        out = {k: flows[k] for k in (*plain, *base)}
        for x in _pairs(list(flows)):
            out[f"change_{x}"] = (flows[x] - flows[f"{BASELINE_PREFIX}{x}"]).rename(f"change_{x}")
        return out


def zones_table(zones: ZoneSet, workers: Sequence[float] | np.ndarray,
                tolerance_m: float = ZONE_SIMPLIFY_M) -> pd.DataFrame:
    """The run directory's ``zones.parquet`` table (:data:`ZONE_TABLE_COLUMNS`; see the module docs).

    Parameters
    ----------
    zones : ZoneSet
        The run's zones (British National Grid).
    workers : array-like
        Workers per zone, in zone order (the per-capita denominator).
    tolerance_m : float
        Simplification tolerance of the boundaries in metres (topology preserved).

    Returns
    -------
    pandas.DataFrame
    """
    import shapely

    w = np.asarray(workers, dtype=float)
    if w.shape != (len(zones),):
        raise ConfigError("workers", w.shape, f"give one value per zone ({len(zones)})")
    geom = zones.geometry.loc[list(zones.codes)]
    if tolerance_m > 0:
        geom = geom.simplify(tolerance_m, preserve_topology=True)
    table = pd.DataFrame(zones.columns())
    table["workers"] = w
    table["geometry_wkb"] = list(shapely.to_wkb(geom.to_numpy()))
    if zones.level == "msoa":  # MSOA runs: the parent LAD (2021 code) of each zone, for the aggregation
        table["parent_lad"] = list(zones.parents)
        return table[[*ZONE_TABLE_COLUMNS, "parent_lad"]]
    return table[list(ZONE_TABLE_COLUMNS)]


def _run_zone_table(run: RunResult) -> pd.DataFrame:
    """``zones.parquet`` of a run: from its inputs' zones; without them (inputs built by hand) the codes,
    names and regions of the inputs and no geometry (the zones are then read from the data directory)."""
    inp = run.inputs
    zones = inp.zones
    if zones is not None and tuple(zones.codes) == tuple(inp.codes):
        return zones_table(zones, inp.workers)
    from migravity.geodata.zones import NATIONS

    table = pd.DataFrame({"code": list(inp.codes), "name": list(inp.names), "region_code": list(inp.region_codes),
                          "region_name": list(inp.region_names),
                          "nation": [NATIONS.get(c[:1], "") for c in inp.codes],
                          "workers": np.asarray(inp.workers, dtype=float)})
    table["geometry_wkb"] = pd.Series([None] * len(table), dtype=object)
    return table[list(ZONE_TABLE_COLUMNS)]


def _read_zone_table(path: Path) -> pd.DataFrame | None:
    file = path / ZONES_FILE
    if not file.is_file():
        return None
    try:
        table = pd.read_parquet(file)
    except Exception as exc:  # pyarrow raises assorted errors on a damaged file
        raise MalformedDataError(file, f"cannot be read as parquet ({type(exc).__name__}: {exc})") from None
    missing = [c for c in ZONE_TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise MalformedDataError(file, "missing column(s) " + ", ".join(missing) + "; re-run `migravity run ... "
                                 "--out DIR`")
    return table


def load_run_zones(run: RunDir | str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None) -> ZoneSet:
    """The zones of a run, read from the run directory: the one loader of a run's zones.

    ``zones.parquet`` holds them (codes, names, regions, simplified boundaries; see the module
    docs), so drawing, exporting or summarising a run needs no data directory. A run written before
    the directory held its zones, or from inputs built without them (no boundaries stored), falls back
    on the data directory (the manifest's vintage and area).

    Parameters
    ----------
    run : RunDir or path-like
        The run, or its directory.
    data_dir : path-like, optional
        Data directory, for a run without ``zones.parquet`` only.

    Returns
    -------
    ZoneSet
        In run order, geometry in British National Grid (EPSG:27700).

    Raises
    ------
    MalformedDataError
        ``zones.parquet`` cannot be read or lacks a column.
    """
    import geopandas as gpd
    import shapely

    from migravity.geodata.zones import BNG, ZoneSet, load_zones

    path = run.path if isinstance(run, RunDir) else Path(run)
    table = _read_zone_table(path)
    if table is None or table["geometry_wkb"].isna().any():  # an earlier run, or inputs built without zones
        if isinstance(run, RunDir):
            vintage, area = run.zone_vintage, run.area
        else:
            man = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
            vintage, area = str(man.get("zone_vintage", "2023")), str(man.get("area", "EW"))
        return load_zones(vintage, area, data_dir)  # type: ignore[arg-type]
    codes = tuple(str(c) for c in table["code"])
    geometry = gpd.GeoSeries(shapely.from_wkb(table["geometry_wkb"].to_numpy()), index=pd.Index(codes, name="lad"),
                             crs=BNG)
    man_path = path / MANIFEST_FILE
    man = json.loads(man_path.read_text(encoding="utf-8")) if man_path.is_file() else {}
    col = {c: tuple(str(v) for v in table[c]) for c in ("name", "region_code", "region_name", "nation")}
    extra: dict[str, Any] = {}
    if "parent_lad" in table.columns:
        extra = {"level": "msoa", "parents": tuple(str(v) for v in table["parent_lad"])}
    return ZoneSet(vintage=str(man.get("zone_vintage", "2023")), area=str(man.get("area", "EW")), codes=codes,
                   names=col["name"], region_codes=col["region_code"], region_names=col["region_name"],
                   nations=col["nation"], geometry=geometry, **extra)


def fit_dataset(run: RunResult) -> xr.Dataset:
    """The run directory's ``fit.nc``: the calibration's observed and fitted flows (see the module docs).

    Parameters
    ----------
    run : migravity.scenarios.run.RunResult
        The run.

    Returns
    -------
    xarray.Dataset
        ``observed`` and ``fitted`` (origin, destination) with the fit statistics as attributes;
        empty, with ``available = 0``, when the parameters carry no fit.
    """
    inp = run.inputs
    params = inp.params
    attrs: dict[str, Any] = {"available": 0}
    if params.fit_flows is None:
        return xr.Dataset(attrs=attrs)
    obs, fitted = (np.asarray(a, dtype=float) for a in params.fit_flows)
    coords = {"origin": list(inp.codes), "destination": list(inp.codes)}
    attrs = {"available": 1,
             "model": "Census 2021 migration between the zones (year to March 2021), PPML, doubly constrained, "
                      "power distance deterrence, shared border and the WFH x access and WFH x price "
                      "interactions: the stage-1 fit of the run's calibration",
             "units": "people"}
    for key, v in params.fit.items():  # the stage-1 fit statistics and coefficients (stage1_coef_<term>)
        if key.startswith("stage1_") and isinstance(v, int | float) and np.isfinite(v):
            attrs[re.sub(r"[^A-Za-z0-9_]+", "_", key.removeprefix("stage1_")).strip("_")] = float(v)
    return xr.Dataset({"observed": (("origin", "destination"), obs), "fitted": (("origin", "destination"), fitted)},
                      coords=coords, attrs=attrs)


def open_run(path: str | os.PathLike[str]) -> RunDir:
    """Open a run directory written by ``migravity run NAME --out DIR``.

    Parameters
    ----------
    path : path-like
        The run directory.

    Returns
    -------
    RunDir
        With ``results.nc`` loaded into memory (the file is closed).

    Raises
    ------
    RunDirError
        The directory, ``manifest.json`` or ``results.nc`` is missing; the message names the path
        and says how to make a run directory.
        A file listed in the manifest is missing.
    MalformedDataError
        ``manifest.json`` is not a JSON object, a listed file's size or SHA-256 differs from the
        manifest's, or ``results.nc`` cannot be read.
    """
    path = Path(path)
    if not path.exists():
        raise RunDirError(path, "no such run directory")
    if not path.is_dir():
        raise RunDirError(path, f"is not a directory (a run directory holds {' and '.join(RUN_FILES)})")
    for name in RUN_FILES:
        if not (path / name).is_file():
            raise RunDirError(path / name, "missing from the run directory")
    try:
        manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedDataError(path / MANIFEST_FILE, f"not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise MalformedDataError(path / MANIFEST_FILE, "not a JSON object")
    verify_files(path, manifest)
    try:
        with xr.open_dataset(path / RESULTS_FILE, engine=NETCDF_ENGINE) as ds:
            results = ds.load()
    except Exception as exc:  # scipy/xarray raise assorted errors on a damaged file
        raise MalformedDataError(path / RESULTS_FILE, f"cannot be read as netCDF ({type(exc).__name__}: {exc})") \
            from None
    if "msoa" in results.dims:  # MSOA run: the zone dimension is called "lad" in memory (see RunDir)
        results = results.rename({"msoa": "lad"})
    if "lad" not in results.dims:
        raise MalformedDataError(path / RESULTS_FILE, f"no 'lad' or 'msoa' dimension (dims {tuple(results.dims)})")
    return RunDir(path=path, manifest=manifest, results=results)


def file_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest entry of one file: its name, size in bytes and SHA-256 (hex).

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    dict
        Keys :data:`FILE_KEYS`.
    """
    path = Path(path)
    digest, size = file_digest(path)
    return {"name": path.name, "bytes": size, "sha256": digest}


def verify_files(path: str | os.PathLike[str], manifest: dict[str, Any]) -> None:
    """Check every file the manifest lists against its recorded size and SHA-256.

    Parameters
    ----------
    path : path-like
        The run directory.
    manifest : dict
        Its ``manifest.json``.

    Raises
    ------
    RunDirError
        A listed file is missing.
    MalformedDataError
        ``files`` is not a list of entries, or a file's size or SHA-256 differs from its entry.

    Warns
    -----
    RuntimeWarning
        The manifest is of the earlier format (``files`` a list of names, or absent): the files
        cannot be verified.
    """
    path = Path(path)
    files = manifest.get("files")
    rerun = "re-run `migravity run ... --out DIR` to make a complete run directory"
    if files is None or (isinstance(files, list) and all(isinstance(f, str) for f in files)):
        warnings.warn(f"{path / MANIFEST_FILE}: written by an earlier migravity without checksums, so its files "
                      f"cannot be verified; {rerun}", RuntimeWarning, stacklevel=3)
        return
    if not isinstance(files, list) or not all(isinstance(f, dict) and set(FILE_KEYS) <= set(f) for f in files):
        raise MalformedDataError(path / MANIFEST_FILE, f"'files' must be a list of {{{', '.join(FILE_KEYS)}}} "
                                 f"entries; {rerun}")
    for entry in files:
        name = str(entry["name"])
        if Path(name).name != name or name in ("", ".", ".."):
            raise MalformedDataError(path / MANIFEST_FILE, f"'files' names {name!r}, not a file of the directory")
        file = path / name
        if not file.is_file():
            raise RunDirError(file, "listed in manifest.json but missing from the run directory (an incomplete "
                                    "or altered run)")
        got = file_record(file)
        if got["bytes"] != entry["bytes"] or got["sha256"] != entry["sha256"]:
            raise MalformedDataError(file, f"does not match manifest.json ({got['bytes']} bytes, SHA-256 "
                                     f"{got['sha256'][:12]}... against {entry['bytes']} bytes, "
                                     f"{str(entry['sha256'])[:12]}...): the file was changed after the run or "
                                     f"the directory mixes two runs; {rerun}")


def seal(path: str | os.PathLike[str]) -> Path:
    """Record the current size and SHA-256 of the run directory's files in its manifest.

    For a run directory whose files were changed on purpose (tests, hand-made runs): the manifest's
    ``files`` becomes the entries of the :data:`DATA_FILES` present. The manifest is rewritten
    atomically.

    Parameters
    ----------
    path : path-like
        The run directory.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from migravity.utils.jsonio import write_json

    path = Path(path)
    man = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    man["files"] = [file_record(path / name) for name in DATA_FILES if (path / name).is_file()]
    write_json(path / MANIFEST_FILE, man)
    return path


# --- writing ------------------------------------------------------------------------------------------


def manifest(run: RunResult, quantiles: Sequence[float] = QUANTILES) -> dict[str, Any]:
    """The run's ``manifest.json`` payload (keys :data:`MANIFEST_KEYS`, in order).

    Parameters
    ----------
    run : migravity.scenarios.run.RunResult
        The run.
    quantiles : sequence of float
        Quantiles over the draws written in ``results.nc`` and the summary.

    Returns
    -------
    dict
        JSON-ready (the parameter table's missing values are ``None``).
    """
    from migravity.utils.version import __version__

    inp = run.inputs
    scenarios = [dict(zip(SCENARIO_KEYS, (s.scenario.name, s.scenario.description, s.scenario.source,
                                          s.scenario.mode, s.scenario.housing_feedback, s.scenario.raw),
                          strict=True)) for s, _ in run.runs]
    out: dict[str, Any] = {
        "version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "zone_vintage": inp.zone_vintage, "area": inp.area, "zones": inp.n,
        "scenarios": scenarios,
        **{k: int(run.settings[k]) for k in SETTING_KEYS},
        "quantiles": list(quantiles),
        "segments": list(SEGMENTS),
        "commute_days": COMMUTE_DAYS,
        "parameters": inp.params.table().replace({np.nan: None}).to_dict(orient="records"),
        "specifications": [{"name": sp.name, "description": sp.description,
                            "values": {k: float(v) for k, v in sp.values.items()}}
                           for sp in inp.params.all_specifications()],
        "workplace_source": inp.workplace_source or None,
        # data files used although they differ from the registry (--accept-changed-data); {} when none
        "changed_data": changed_data_used(),
        # where each dataset came from: its raw file, or "bundle VERSION" (the shipped data bundle)
        "data_sources": data_sources_used(),
        "files": list(DATA_FILES),  # replaced by their records (file_record) once written
    }
    return {k: out[k] for k in MANIFEST_KEYS}


def _check_replaceable(out: Path) -> None:
    """Refuse to replace ``out`` unless it is absent, empty or holds only a run's files."""
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir() or out.is_symlink():
        raise ConfigError("--out", str(out), "exists and is not a directory; give a new or an earlier run directory")
    others = sorted(p.name for p in out.iterdir() if p.name not in WRITTEN_FILES + DERIVED_FILES)
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise ConfigError("--out", str(out), f"holds files that are not a run's ({shown}), which writing the run "
                          "would delete (the directory is replaced as a whole); give a new directory or an "
                          "earlier run directory")


def write_run(run: RunResult, out_dir: str | os.PathLike[str], quantiles: Sequence[float] = QUANTILES) -> Path:
    """Write the run directory as one unit (:data:`WRITTEN_FILES`; see the module docs).

    The zones (``zones.parquet``) come from the run's inputs (``ModelInputs.zones``; inputs built
    without them give the codes, names, regions and workers, no boundaries); the fit (``fit.nc``) from
    its parameters.

    The files are written into a temporary sibling directory, the manifest last with the size and
    SHA-256 of every other file, and the directory is then swapped into place
    (:func:`migravity.utils.atomic.atomic_dir`). If anything fails or the process is interrupted,
    ``out_dir`` keeps the earlier run (or stays absent) and the temporary is removed.

    Parameters
    ----------
    run : migravity.scenarios.run.RunResult
        From :func:`migravity.scenarios.run.run_scenarios`.
    out_dir : path-like
        The run directory (created if missing; an earlier run there is replaced as a whole, and a
        directory holding other files is refused).
    quantiles : sequence of float
        Quantiles over the draws to write.

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Raises
    ------
    ConfigError
        Another running process is writing ``out_dir`` (its pid is named), or ``out_dir`` exists and
        is not a run directory (a file, or a directory holding other files, which replacing it
        would delete).
    """
    from migravity.utils.atomic import atomic_dir
    from migravity.utils.jsonio import write_json

    out = Path(out_dir)
    ds = run.dataset(quantiles)
    table = run.summary(quantiles)
    zone_table = _run_zone_table(run)
    fit = fit_dataset(run)
    with atomic_dir(out) as tmp:
        _check_replaceable(out)  # under the lock: nobody else changes it now
        # MSOA runs: the file names the zone dimension "msoa" (open_run renames it back)
        (ds.rename({"lad": "msoa"}) if ds.attrs.get("level") == "msoa" else ds).to_netcdf(
            tmp / RESULTS_FILE, engine=NETCDF_ENGINE)
        table.to_csv(tmp / SUMMARY_CSV, index=False)
        table.to_parquet(tmp / SUMMARY_PARQUET, index=False)
        zone_table.to_parquet(tmp / ZONES_FILE, index=False)
        fit.to_netcdf(tmp / FIT_FILE, engine=NETCDF_ENGINE)
        payload = manifest(run, quantiles)
        payload["files"] = [file_record(tmp / name) for name in DATA_FILES]
        write_json(tmp / MANIFEST_FILE, payload)
    return out
