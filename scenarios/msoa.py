r"""Scenarios at MSOA level (7,264 middle layer super output areas, 2021 codes): inputs and aggregation to LAD.

:func:`prepare_msoa_inputs` (called by :func:`migravity.scenarios.simulate.prepare_inputs` for an
MSOA zone set) builds the same :class:`~migravity.scenarios.simulate.ModelInputs` as at LAD level:

- **Segments**: the Census 2021 OA tables summed to MSOA (TS061 workers and mainly-at-home,
  TS062 NS-SEC L1-L6 high-skilled; :mod:`migravity.geodata.msoa_attributes`), fitted to the 16
  segments by the same IPF (:func:`~migravity.scenarios.segments.fit_segments`).
- **Parameters** (:func:`calibrate_msoa_parameters`): the scenario elasticities (WFH x access, WFH x
  price, price and pay responses, move-rate terms...) are the LAD identification's (they are
  elasticities, so they carry over; the parameter table's source says so); the distance decay and
  the border effect are re-fitted on the MSOA migration flows (stage 1: Census 2021 ODMG01EW at MSOA,
  doubly-constrained PPML, log distance + shared border), and the destination constants ``c_j`` are
  the balancing factors of that fit with the LAD interactions. The fit runs once per
  :func:`prepare_inputs` and is held in ``ModelInputs.params``; pass ``params=`` to reuse it.
  Job accessibility uses the MSOA jobs of ODWP01EW (2021: no 2011 MSOA jobs) and the LAD
  commuting deterrence.
- **Workplace anchoring**: the Census 2021 ODWP01EW travel-to-work flows at MSOA. *Choice*: the
  Census 2011 commuting matrix (the LAD default, pre-COVID) exists only between LADs; the 2021 MSOA
  table is the only within-LAD commuting pattern, taken in the first COVID year.
- **Open-population baseline** (:func:`disaggregate_baseline`): each LAD's path (mid-year
  estimates, SNPP growth) is split over its MSOAs by each MSOA's share of the LAD's Census 2021
  usual residents (TS019): every MSOA grows at its LAD's rate; the HSL trend, birth and death rates
  are the LAD's; the pre-COVID net internal migration is the LAD's times the MSOA's share.
- **Pre-COVID migration pattern** (:func:`distribute_pattern`): the LAD pre-COVID flows
  ``F_AB`` (A != B) are distributed over the MSOA pairs of A x B by the Census 2021 MSOA flows'
  shares within the LAD pair, ``f_ij = F_AB M_ij / M_AB`` (a LAD pair with no 2021 MSOA flow: by
  the product of the MSOAs' population shares). The LAD pattern has no within-LAD moves, so the
  within-LAD MSOA pairs keep the Census 2021 flows scaled by the origin LAD's ratio of pre-COVID to
  Census 2021 inter-LAD out-migration (the 2021 within-LAD share of movers is kept). Every LAD
  pair's total is the LAD pattern's (preserved exactly).

**Aggregation** (:func:`aggregate_to_lad`, :func:`aggregation_matrix`): results at MSOA are summed
to their parent LAD (2021 codes); ``summary.csv`` of an MSOA run also holds ``lad``-level rows,
and ``migravity export --aggregate lad`` writes the LAD sums. Only additive quantities are summed:
stocks, means and per-draw values, not quantiles (a quantile of a sum is not the sum of the quantiles).

**Memory and time**: from :data:`~migravity.scenarios.simulate.LARGE_ZONES` zones the workplace
anchor terms, the model's choice and the pivot constants are computed origin by origin (the numba
kernels of :mod:`migravity.scenarios._kernels_pivot`): the anchor terms once per anchor strength,
(8, n, n) float32 kept on the inputs, and no (16, n, n) float64 array is held; the simulation holds
the 16 pair-factor layers in float32. England and Wales at MSOA (n = 7,264, 52.8 million pairs):
:func:`~migravity.scenarios.simulate.prepare_inputs` 283 s and 8.2 GiB peak RSS (anchor terms 44 s,
the two patterns' model choice 18 + 13 s and pivot constants 58 + 38 s; 2 cores shared with other
jobs). The full ``migravity run baseline wfh_uptake --level msoa --draws 10 --years 10`` (the main run,
then the three other specifications, each re-solving its pivot constants) takes 17 min 38 s and peaks at
14.4 GiB (the other specifications keep no ``(n, n)`` flows, and the main run's pair factors are freed
before them): the GSE high-skilled share falls by 0.14 points [0.10, 0.17] under ``wfh_uptake``
(specifications 0.10-0.14), against 0.21 [0.17, 0.26] on the 2021 LADs with the same settings. A region or
Wales (~400 MSOAs) runs in seconds.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from migravity.errors import ConfigError, InputError

if TYPE_CHECKING:
    from migravity.analysis.evidence import ScenarioEvidence
    from migravity.geodata.datadir import DataDir
    from migravity.geodata.places import Grouping
    from migravity.geodata.zones import ZoneSet
    from migravity.scenarios.baseline import OpenBaseline
    from migravity.scenarios.params import ModelParameters
    from migravity.scenarios.rundir import RunDir

__all__ = [
    "MSOA_STAGE1_SOURCE",
    "aggregate_flow_matrices",
    "aggregate_to_lad",
    "aggregation_matrix",
    "calibrate_msoa_parameters",
    "disaggregate_baseline",
    "distribute_pattern",
    "expand_grouping",
    "lad_grouping",
    "lad_shares",
    "lad_zone_values",
    "lad_zones_of",
    "msoa_skills",
    "zones_in_lads",
]

MSOA_STAGE1_SOURCE = ("calibrated at MSOA (stage 1: Census 2021 ODMG01EW between MSOAs, doubly-constrained PPML, "
                      "log distance + border, robust covariance)")
LAD_ELASTICITY_PREFIX = "LAD identification, used at MSOA as an elasticity: "
#: Parameters re-fitted at MSOA (the rest come from the LAD identification).
MSOA_REFITTED: tuple[str, ...] = ("beta_distance", "gamma_border")


def _parents(zones: ZoneSet) -> np.ndarray:
    if zones.level != "msoa" or len(zones.parents) != len(zones):
        raise ConfigError("zones", repr(zones), "give MSOA zones (load_zones('2021', area, level='msoa'))")
    return np.asarray(zones.parents)


def aggregation_matrix(parents: np.ndarray | tuple[str, ...], lads: tuple[str, ...] | None = None
                       ) -> tuple[np.ndarray, tuple[str, ...]]:
    """The 0/1 matrix ``A`` (L, n) with ``A[l, i] = 1`` when zone ``i`` lies in LAD ``l``, and the LAD codes.

    ``lads`` defaults to the sorted distinct parents; a parent missing from ``lads`` raises.
    """
    parents = np.asarray(parents, dtype=str)
    lads = tuple(sorted(set(parents.tolist()))) if lads is None else tuple(lads)
    pos = {c: k for k, c in enumerate(lads)}
    missing = sorted(set(parents.tolist()) - set(pos))
    if missing:
        raise ConfigError("lads", missing[0], "give every parent LAD of the zones")
    a = np.zeros((len(lads), parents.size))
    a[[pos[p] for p in parents], np.arange(parents.size)] = 1.0
    return a, lads


def lad_shares(values: np.ndarray, parents: np.ndarray | tuple[str, ...]) -> np.ndarray:
    """Each zone's share of its parent LAD's total of ``values`` (n,); shares sum to 1 within each LAD.

    A LAD whose zones all have 0 gets equal shares.
    """
    v = np.asarray(values, float)
    if np.any(v < 0) or not np.all(np.isfinite(v)):
        raise InputError("lad_shares: give non-negative finite values")
    a, _ = aggregation_matrix(parents)
    tot = a @ v
    count = a.sum(axis=1)
    own_tot = tot @ a
    return np.where(own_tot > 0, v / np.where(own_tot > 0, own_tot, 1.0), 1.0 / (count @ a))


def disaggregate_baseline(lad_baseline: OpenBaseline, lad_codes: tuple[str, ...], parents: np.ndarray | tuple[str, ...],
                          weights: np.ndarray) -> OpenBaseline:
    """An LAD open-population baseline split over the zones by their share of the LAD (see the module docs).

    Parameters
    ----------
    lad_baseline : OpenBaseline
        Over the LADs ``lad_codes``.
    lad_codes : tuple of str
        The LADs of ``lad_baseline``, in order.
    parents : sequence of str, shape (n,)
        Parent LAD of each zone.
    weights : ndarray, shape (n,)
        Each zone's weight within its LAD (e.g. Census 2021 usual residents).

    Returns
    -------
    OpenBaseline
        Populations and pre-COVID net internal migration: the LAD's times the share (they sum to the
        LAD's); HSL trend, birth and death rates: the LAD's.
    """
    from migravity.scenarios.baseline import OpenBaseline

    pos = {c: k for k, c in enumerate(lad_codes)}
    missing = sorted({p for p in np.asarray(parents, dtype=str).tolist()} - set(pos))
    if missing:
        raise ConfigError("parents", missing[0], "give zones whose parent LADs are in the LAD baseline")
    idx = np.array([pos[p] for p in np.asarray(parents, dtype=str)])
    share = lad_shares(weights, parents)
    return OpenBaseline(population=lad_baseline.population[:, idx] * share[None, :],
                        hsl_slope=lad_baseline.hsl_slope[idx], births_rate=lad_baseline.births_rate[idx],
                        deaths_rate=lad_baseline.deaths_rate[idx], precovid_net=lad_baseline.precovid_net[idx] * share,
                        damping=lad_baseline.damping)


def distribute_pattern(lad_flows: np.ndarray, lad_codes: tuple[str, ...], parents: np.ndarray | tuple[str, ...],
                       zone_flows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """LAD-pair flows distributed over the zone pairs (n, n) by the zone flows' shares (see the module docs).

    Parameters
    ----------
    lad_flows : ndarray, shape (L, L)
        The LAD pattern (diagonal ignored: it holds no within-LAD moves).
    lad_codes : tuple of str
        The LADs of ``lad_flows``.
    parents : sequence of str, shape (n,)
        Parent LAD of each zone.
    zone_flows : ndarray, shape (n, n)
        The zone flows whose shares within each LAD pair are used (Census 2021 at MSOA).
    weights : ndarray, shape (n,)
        Fallback for a LAD pair without zone flows: the product of the zones' shares of their LAD.

    Returns
    -------
    ndarray
        ``f`` with zero diagonal; between LADs ``A != B`` it sums over ``A x B`` to ``lad_flows[A, B]``;
        within LAD ``A`` it is ``zone_flows`` times ``out_A(lad) / out_A(zone flows between LADs)``.
    """
    parents = np.asarray(parents, dtype=str)
    a, _ = aggregation_matrix(parents, tuple(lad_codes))
    big = np.array(lad_flows, float)
    np.fill_diagonal(big, 0.0)
    m = np.array(zone_flows, float)
    np.fill_diagonal(m, 0.0)
    if big.shape != (a.shape[0],) * 2 or m.shape != (a.shape[1],) * 2 or np.any(big < 0) or np.any(m < 0):
        raise InputError("distribute_pattern: give non-negative LAD flows (L, L) and zone flows (n, n)")
    lad_of = a.argmax(axis=0)
    m_lad = a @ m @ a.T  # (L, L) zone flows summed to LAD pairs
    share = lad_shares(weights, parents)
    fallback = share[:, None] * share[None, :]
    fb_lad = a @ fallback @ a.T
    same = lad_of[:, None] == lad_of[None, :]
    num = np.where(m_lad[lad_of][:, lad_of] > 0, m, fallback)
    den = np.where(m_lad > 0, m_lad, fb_lad)[lad_of][:, lad_of]
    f = np.where(same, 0.0, big[lad_of][:, lad_of] * num / den)
    # within LAD: the 2021 zone flows scaled by the LAD's pre-COVID / 2021 inter-LAD out-migration
    out_big = big.sum(axis=1)
    out_m = m_lad.sum(axis=1) - np.diag(m_lad)
    ratio = np.divide(out_big, out_m, out=np.ones_like(out_big), where=out_m > 0)
    f = np.where(same, m * ratio[lad_of][:, None], f)
    np.fill_diagonal(f, 0.0)
    return f


def msoa_skills(attrs: xr.Dataset) -> xr.Dataset:
    """The variables :func:`~migravity.scenarios.segments.derive_segment_shares` needs, from MSOA attributes."""
    return xr.Dataset({"workers_2021": attrs["workers_2021"], "wfh_2021": attrs["wfh_2021"],
                       "hsl_2021": attrs["hsl_2021_nssec"], "wfh_share_2021": attrs["wfh_share_2021"]})


def calibrate_msoa_parameters(zones: ZoneSet, attributes: xr.Dataset | None = None, data_dir: DataDir = None, *,
                              lad_params: ModelParameters | None = None,
                              evidence: ScenarioEvidence | None = None) -> ModelParameters:
    """The scenario parameters at MSOA: LAD elasticities, MSOA distance decay, border and destination constants.

    Parameters
    ----------
    zones : ZoneSet
        MSOA zones.
    attributes : xarray.Dataset, optional
        Their attributes (:func:`migravity.geodata.load_attributes`).
    data_dir : path-like, optional
        Data directory.
    lad_params : ModelParameters, optional
        The LAD parameters to take the elasticities from (default: calibrated on the 2021 LADs of
        England and Wales whatever ``zones.area``: the identification's placebo and leave-one-region-out
        checks need every region; :func:`migravity.scenarios.params.calibrate_parameters`).
    evidence : ScenarioEvidence, optional
        Passed to the LAD calibration when ``lad_params`` is not given.

    Returns
    -------
    ModelParameters
        ``job_access``, ``gamma`` and ``fit_flows`` over the MSOAs.
    """
    from migravity.engine import calibrate_arrays
    from migravity.geodata import contiguity_matrix, distance_matrix, load_attributes, load_flows, load_zones
    from migravity.scenarios.params import ParameterDecision, balance_status, calibrate_parameters, job_accessibility

    _parents(zones)
    attrs = attributes if attributes is not None else load_attributes(zones, data_dir)
    if lad_params is None:
        lad_zones = load_zones("2021", "EW", data_dir)  # the identification needs every region
        lad_params = calibrate_parameters(lad_zones, data_dir=data_dir, evidence=evidence)
    dist = distance_matrix(zones).to_numpy().astype(float)
    border = contiguity_matrix(zones).to_numpy().astype(float)
    mig = load_flows("migration2021", zones, data_dir).to_numpy().astype(float)
    n = len(zones)
    off = ~np.eye(n, dtype=bool)
    r1 = calibrate_arrays(mig, cost=dist, pair_terms={"border": border}, mask=off, constraint="doubly",
                          se="robust", strict=True)
    names = ["log(cost)", "border"]
    beta = np.array([float(r1.coefficients[t]) for t in names])
    v1 = r1.vcov.loc[names, names].to_numpy(float)
    workers = attrs["workers_2021"].to_numpy().astype(float)
    wfh = attrs["wfh_share_2021"].to_numpy().astype(float)
    w_nat = float(np.average(wfh, weights=workers))
    access = job_accessibility(attrs["jobs"].to_numpy().astype(float), dist, lad_params.beta_commute)
    mean = lad_params.mean
    centred = (wfh - w_nat)[:, None]
    log_k = (beta[0] * np.log(dist) + beta[1] * border
             + mean["delta_wfh_access"] * centred * np.log(access)[None, :]
             + mean["delta_wfh_price"] * centred * np.log(attrs["house_price"].to_numpy().astype(float))[None, :])
    log_k = np.where(off, log_k, -np.inf)
    flows = np.where(off, mig, 0.0)
    _, gamma, sweeps, err = balance_status(log_k, flows.sum(axis=1), flows.sum(axis=0))
    gamma = gamma - np.average(gamma, weights=workers)
    decisions = {}
    for k in range(len(names)):
        p = MSOA_REFITTED[k]
        se = float(np.sqrt(v1[k, k]))
        decisions[p] = ParameterDecision(p, "identified", float(beta[k]), se, float(beta[k]) - 1.645 * se,
                                         float(beta[k]) + 1.645 * se, MSOA_STAGE1_SOURCE,
                                         "distance decay and border are scale-dependent: re-fitted at MSOA")
    for p, d in lad_params.decisions.items():
        if p not in decisions:
            decisions[p] = replace(d, source=LAD_ELASTICITY_PREFIX + d.source)
    # covariance: the LAD's for the elasticities, the MSOA fit's for the re-fitted block (no cross terms)
    ids = [p for p in lad_params.identified_names if p not in MSOA_REFITTED]
    keep = [lad_params.identified_names.index(p) for p in ids]
    vl = np.asarray(lad_params.vcov, float)[np.ix_(keep, keep)]
    vcov = np.zeros((len(ids) + 2, len(ids) + 2))
    vcov[:len(ids), :len(ids)] = vl
    vcov[len(ids):, len(ids):] = v1
    fit = {**lad_params.fit, "msoa_stage1_beta_distance": float(beta[0]), "msoa_stage1_border": float(beta[1]),
           "msoa_stage1_converged": float(r1.converged), "msoa_balance_iterations": float(sweeps),
           "msoa_balance_max_error": float(err)}
    specs = tuple(replace(s, values={k: v for k, v in s.values.items() if k not in MSOA_REFITTED})
                  for s in lad_params.specifications)
    return replace(lad_params, decisions=decisions, vcov=vcov, identified_names=(*ids, *MSOA_REFITTED),
                   job_access=access, wfh_national=w_nat, gamma=gamma, residual=None, specifications=specs,
                   fit=fit, fit_flows=(np.where(off, mig, np.nan),
                                       np.where(off, np.asarray(r1.fitted_values, float), np.nan)))


def aggregate_to_lad(data: xr.Dataset | xr.DataArray, parents: np.ndarray | tuple[str, ...] | None = None,
                     dim: str = "msoa") -> xr.Dataset | xr.DataArray:
    """Sum MSOA results to their parent LAD (2021 codes): dimension ``dim`` becomes ``lad``.

    Parameters
    ----------
    data : xarray.Dataset or DataArray
        With dimension ``dim`` (and, unless ``parents`` is given, a ``parent_lad`` coordinate on it).
    parents : sequence of str, optional
        Parent LAD of each zone along ``dim``.
    dim : str
        The zone dimension.

    Returns
    -------
    Dataset or DataArray
        Variables with ``dim`` summed within each LAD, dimension ``lad`` (sorted codes). For a
        Dataset, only additive variables are kept: those without a ``quantile`` dimension and not
        ``origin``/``destination`` matrices; variables without ``dim`` are dropped.
    """
    if dim not in data.dims:
        raise ConfigError("dim", dim, f"give the zone dimension of the data (dims {tuple(data.dims)})")
    if parents is None:
        if "parent_lad" not in data.coords:
            raise ConfigError("parents", None, "give the parent LAD of each zone or a 'parent_lad' coordinate")
        parents = tuple(str(c) for c in data["parent_lad"].to_numpy())
    a, lads = aggregation_matrix(parents)
    mat = xr.DataArray(a, dims=("lad", dim), coords={"lad": list(lads)})

    def one(var: xr.DataArray) -> xr.DataArray:
        keep = {k: v for k, v in var.coords.items() if dim not in v.dims}
        out = xr.dot(mat, var.drop_vars([c for c in var.coords if dim in var.coords[c].dims]), dim=dim)
        out = out.transpose(*["lad" if d == dim else d for d in var.dims])
        return out.assign_coords({k: v for k, v in keep.items() if k in out.dims or not v.dims}).assign_attrs(
            var.attrs)

    if isinstance(data, xr.DataArray):
        return one(data)
    out = xr.Dataset({name: one(v) for name, v in data.data_vars.items()
                      if dim in v.dims and "quantile" not in v.dims and v.dtype.kind in "fiu"})
    out.attrs.update(data.attrs)
    out.attrs["aggregated_from"] = dim
    return out


def lad_grouping(parents: tuple[str, ...] | list[str], codes: tuple[str, ...] | list[str]) -> Grouping:
    """Each parent LAD as a place whose members are its MSOAs (for :func:`migravity.scenarios.places.aggregate`).

    Parameters
    ----------
    parents : sequence of str
        Parent LAD of each zone.
    codes : sequence of str
        The zone codes, in the same order.
    """
    from migravity.geodata.places import Grouping

    members: dict[str, list[str]] = {}
    for code, lad in zip(codes, parents, strict=True):
        members.setdefault(str(lad), []).append(str(code))
    return Grouping("user", {k: tuple(v) for k, v in sorted(members.items())}, {k: k for k in sorted(members)},
                    source="MSOAs summed to their parent LAD (ONS MSOA 2021 -> LAD 2021 lookup)", vintage="2021")


def expand_grouping(grouping: Grouping, parents: tuple[str, ...] | list[str],
                    codes: tuple[str, ...] | list[str]) -> Grouping:
    """A grouping of LADs turned into one of their MSOAs (each LAD member replaced by its MSOAs)."""
    by_lad: dict[str, list[str]] = {}
    for code, lad in zip(codes, parents, strict=True):
        by_lad.setdefault(str(lad), []).append(str(code))
    members = {g: tuple(m for lad in lads for m in by_lad.get(lad, ())) for g, lads in grouping.members.items()}
    members = {g: m for g, m in members.items() if m}
    return replace(grouping, members=members, codes={g: c for g, c in grouping.codes.items() if g in members},
                   source=grouping.source + "; LADs expanded to their MSOAs")


def lad_zones_of(zones: ZoneSet) -> ZoneSet:
    """The parent LADs of MSOA ``zones`` as a LAD zone set: MSOA boundaries dissolved, named by code."""
    from migravity.geodata.zones import ZoneSet

    parents = _parents(zones)
    lads = sorted(set(parents.tolist()))
    first = {p: k for k, p in reversed(list(enumerate(parents.tolist())))}
    geom = zones.geometry.loc[list(zones.codes)]
    geom.index = pd.Index(parents, name="lad")
    dissolved = geom.groupby(level=0).agg(lambda g: g.union_all())
    import geopandas as gpd

    return ZoneSet(vintage="2021", area=zones.area, codes=tuple(lads), names=tuple(lads),
                   region_codes=tuple(zones.region_codes[first[c]] for c in lads),
                   region_names=tuple(zones.region_names[first[c]] for c in lads),
                   nations=tuple(zones.nations[first[c]] for c in lads),
                   geometry=gpd.GeoSeries(dissolved.loc[lads].to_numpy(), index=pd.Index(lads, name="lad"),
                                          crs=zones.geometry.crs))


def lad_zone_values(run: RunDir, scenario: str | None = None) -> pd.DataFrame:
    """An MSOA run's zone values summed to the parent LADs (``export --aggregate lad``).

    Additive columns (means of stocks and of their components) are summed; the quantile columns
    ``hs_change_qNN``, ``hs_stock_qNN``, ``baseline_hs_stock_qNN`` are recomputed from the per-draw
    LAD sums; ``pct_change_hs_stock_mean`` from the sums; ``gse`` kept (constant within a LAD).
    """
    import re

    from migravity.scenarios.places import _draws
    from migravity.scenarios.rundir import QUANTILES

    scenario = run.scenario(scenario)
    vals = run.zone_values(scenario)
    if run.level != "msoa" or "parent_lad" not in vals.columns:
        raise ConfigError("--aggregate", "lad", "aggregate an MSOA run (run --level msoa)")
    parents = vals["parent_lad"].astype(str)
    keep = [c for c in vals.columns if c not in ("parent_lad", "gse", "imd_quintile")
            and not re.search(r"_q\d\d$", c) and not c.startswith("pct_") and vals[c].dtype.kind in "fiu"]
    out = vals[keep].groupby(parents.to_numpy()).sum().rename_axis("lad")
    a, lads = aggregation_matrix(tuple(parents))
    sc, bs = _draws(run, scenario)
    sc, bs = sc @ a.T, bs @ a.T
    for q in QUANTILES:
        tag = f"q{round(q * 100):02d}"
        out[f"hs_change_{tag}"] = pd.Series(np.quantile(sc - bs, q, axis=0), index=list(lads))
        out[f"hs_stock_{tag}"] = pd.Series(np.quantile(sc, q, axis=0), index=list(lads))
        out[f"baseline_hs_stock_{tag}"] = pd.Series(np.quantile(bs, q, axis=0), index=list(lads))
    if {"change_hs_stock_mean", "baseline_hs_stock_mean"} <= set(out.columns):
        out["pct_change_hs_stock_mean"] = 100.0 * out["change_hs_stock_mean"] / out["baseline_hs_stock_mean"]
    if "gse" in vals.columns:
        out["gse"] = vals["gse"].groupby(parents.to_numpy()).max()
    return out


def aggregate_flow_matrices(mats: dict[str, xr.DataArray], parents: tuple[str, ...]) -> dict[str, xr.DataArray]:
    """Origin-destination matrices between MSOAs summed to LAD pairs (``A F A'``); within-LAD flows on the diagonal."""
    a, lads = aggregation_matrix(parents)
    out = {}
    for name, m in mats.items():
        m2 = m.transpose("origin", "destination")
        out[name] = xr.DataArray(a @ m2.to_numpy() @ a.T, dims=("origin", "destination"),
                                 coords={"origin": list(lads), "destination": list(lads)}, attrs=m.attrs, name=name)
    return out


def zones_in_lads(zones: ZoneSet, lads: tuple[str, ...] | list[str]) -> ZoneSet:
    """The zones of ``zones`` in the given LADs (LAD zones: by code; MSOA zones: by parent), in zone order."""
    from migravity.geodata.zones import select_zones

    wanted = set(lads)
    key = zones.parents if zones.level == "msoa" else zones.codes
    keep = np.array([k in wanted for k in key])
    absent = sorted(wanted - set(key))
    if absent:
        raise ConfigError("lads", absent[0], "give LAD codes of the study area")

    return select_zones(zones, keep)
