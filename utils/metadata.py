"""Units and descriptions of every variable migravity returns or writes: the one registry (CF-style attributes).

Every labelled result (the run's ``results.nc``, :func:`migravity.engine.evaluate_flows`, the fitted
and observed flows of a calibration) is annotated from here with :func:`annotate`: each data variable
gets ``units``, ``long_name`` and ``description``, each coordinate a ``long_name`` (and ``units``
where it has one), and a Dataset the global attributes of the CF conventions (``Conventions``,
``title``, ``source``, ``institution``, ``references``, ``history``).

Units follow the CF habit: ``"1"`` for shares and indices (dimensionless), ``"persons"`` for head
counts, ``"persons per year"`` for flows over a year. No timestamp is written into ``history`` so
that a run written twice gives identical files.

The registry lives in :mod:`migravity.utils` so every layer can use it (utils is imported by all).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, TypeVar

import xarray as xr

__all__ = [
    "BASELINE_COORDS", "BASELINE_VARIABLES", "CONVENTIONS", "COORDS", "REFERENCES", "VARIABLES", "VarMeta",
    "annotate", "global_attrs", "variable_attrs",
]

#: The CF version the attributes follow.
CONVENTIONS: Final = "CF-1.10"
#: Where the model and its data are documented.
REFERENCES: Final = ("migravity README (model, data sources and licences); Office for National Statistics "
                     "(Census 2011 and 2021, internal migration estimates), Open Government Licence v3.0")
INSTITUTION: Final = "migravity (open-source spatial-interaction model of UK internal migration)"


@dataclass(frozen=True)
class VarMeta:
    """The attributes of one variable or coordinate.

    Attributes
    ----------
    long_name : str
        A short human-readable name (may hold ``{vintage}``, filled by :func:`annotate`).
    units : str
        CF-style units (``"1"`` dimensionless, ``"persons"``...); ``""`` for labels (codes, names).
    description : str
        One or two sentences: what the values are and how they were computed.
    """

    long_name: str
    units: str = ""
    description: str = ""

    def attrs(self, vintage: str = "") -> dict[str, str]:
        """The non-empty attributes as a dict (``{vintage}`` filled)."""
        out = {"long_name": self.long_name.format(vintage=vintage or "see the zone_vintage attribute"),
               "units": self.units, "description": self.description.format(vintage=vintage)}
        return {k: v for k, v in out.items() if v}


_FINAL = "in the final year of the run"
_MEAN = "mean over the Monte Carlo draws"
_Q = "quantile over the Monte Carlo draws (see the quantile coordinate)"
_SEG = "by segment (skill x working-from-home class)"
_SCEN = "under the scenario"
_BASE = "under the paired baseline (same draws, no perturbation)"


def _pair(name: str, long_name: str, units: str, description: str) -> dict[str, VarMeta]:
    """``name`` (scenario) and ``baseline_name`` (the paired baseline) entries."""
    return {name: VarMeta(long_name, units, f"{description}, {_SCEN}."),
            f"baseline_{name}": VarMeta(f"{long_name} (baseline)", units, f"{description}, {_BASE}.")}


#: Data variables, by name.
VARIABLES: dict[str, VarMeta] = {
    **_pair("stock_mean", "workers (mean over draws)", "persons",
            f"Workers resident in each LAD {_SEG} and year, {_MEAN}"),
    **_pair("stock", "workers (quantiles over draws)", "persons",
            f"Workers resident in each LAD {_SEG} and year, {_Q}"),
    "hs_change": VarMeta("change in high-skilled workers", "persons",
                         f"High-skilled workers resident in each LAD {_FINAL}, scenario minus paired baseline, "
                         f"{_Q} (the quantile of the per-draw difference)."),
    **_pair("hs_stock_draws", "high-skilled workers (every draw)", "persons",
            f"High-skilled workers resident in each LAD {_FINAL}, one value per Monte Carlo draw (float32); "
            "sums over groups of LADs and their intervals are computed from these"),
    **_pair("hs_flows", "high-skilled movers between LADs", "persons per year",
            f"High-skilled workers moving from the origin LAD to the destination LAD {_FINAL}, {_MEAN}"),
    **_pair("gse_share", "high-skilled share in the Greater South East", "1",
            f"Share of the study area's high-skilled workers resident in the Greater South East (London, South "
            f"East, East of England) in each year, {_Q}"),
    **_pair("theil", "Theil index of high-skilled workers across LADs", "1",
            f"Theil index of the LADs' high-skilled workers relative to all workers in each year (0 = spread "
            f"like all workers), {_Q}"),
    **_pair("gini", "Gini coefficient of high-skilled workers across LADs", "1",
            f"Gini coefficient of the LADs' high-skilled workers relative to all workers in each year, {_Q}"),
    **_pair("london_leavers_gse_share", "London leavers staying in the Greater South East", "1",
            f"Of London's high-skilled leavers {_FINAL} (movers from London LADs to LADs outside London), the "
            f"share whose destination is in the Greater South East, {_Q}"),
    **_pair("london_leavers_gse_share_mean", "London leavers staying in the Greater South East (mean)", "1",
            f"Of London's high-skilled leavers {_FINAL}, the share whose destination is in the Greater South "
            f"East, {_MEAN}"),
    "spec_headline": VarMeta("headline figures by specification", "1",
                             "The headline figures (see the headline coordinate: GSE high-skilled share change, "
                             "Theil change, London leavers' GSE share under the scenario and the baseline; all "
                             "dimensionless shares or indices) under each parameter specification at its point "
                             "values; the first specification is the main one (its Monte Carlo draw 0)."),
    **_pair("net_internal", "cumulative net internal migration", "persons",
            f"Net internal migration into each LAD by skill group, cumulated since year 0 (the simulation's own "
            f"moves), {_MEAN}"),
    **_pair("other_change", "cumulative change from other components", "persons",
            f"Change of each LAD's workers by skill group since year 0 other than net internal migration "
            f"(the baseline path: natural change, international migration, skill composition), {_MEAN}"),
    # engine
    "flow": VarMeta("modelled flow", "as the origin/destination totals (persons per year for migration flows)",
                    "Flows implied by the coefficients: exp of the linear predictor, balanced to the margins of "
                    "the constraint (see the constraint, iterations, converged and max_error attributes)."),
    "fitted": VarMeta("fitted flow", "as the observed flows (persons per year for migration flows)",
                      "Flows fitted by the PPML spatial-interaction model; 0 for pairs dropped from the fit, NaN "
                      "for pairs not observed."),
    "observed": VarMeta("observed flow", "as given to the calibration (persons per year for migration flows)",
                        "The flows the model was calibrated on; NaN for pairs not observed."),
    "ssi": VarMeta("Sørensen similarity index", "1",
                   "Per pair 2 min(observed, fitted) / (observed + fitted); 1 when both are 0, NaN if absent."),
}

_LAD = "local authority district (GSS code, {vintage})"

#: Coordinates, by name.
COORDS: dict[str, VarMeta] = {
    "scenario": VarMeta("scenario name", "", "The scenario (see the run's manifest.json for its definition)."),
    "quantile": VarMeta("quantile over the Monte Carlo draws", "1"),
    "year": VarMeta("year of the run", "", "Years after the start (year 0 = the base year, 2021)."),
    "draw": VarMeta("Monte Carlo draw", "", "Index of the parameter draw."),
    "segment": VarMeta("worker segment", "", "Skill (high/other) x working-from-home class."),
    "skill_group": VarMeta("skill group", "", "High-skilled or other workers."),
    "lad": VarMeta(_LAD, "", "Zone of the study area."),
    "origin": VarMeta(f"origin {_LAD}", "", "Where the flow leaves from."),
    "destination": VarMeta(f"destination {_LAD}", "", "Where the flow arrives."),
    "lad_name": VarMeta("local authority district name", ""),
    "region": VarMeta("region or nation (GSS code)", ""),
    "region_name": VarMeta("region or nation name", ""),
    "gse": VarMeta("in the Greater South East (1) or not (0)", "1",
                   "Greater South East: London, South East, East of England."),
    "imd_quintile": VarMeta("deprivation quintile (1 = most deprived)", "1",
                            "Quintile of the LAD's Index of Multiple Deprivation rank (national indices)."),
    "skill": VarMeta("skill of the segment", ""),
    "wfh_class": VarMeta("working-from-home class of the segment", ""),
    "commute_days": VarMeta("commuting days per week of the segment", "days per week"),
    "specification": VarMeta("parameter specification", "",
                             "The main specification first, then the alternatives of the evidence."),
    "headline": VarMeta("headline figure", ""),
}

#: The demographic baseline (:func:`migravity.scenarios.demography.baseline_components`): its own meanings of
#: ``year`` (calendar) and ``net_internal`` (annual, all persons), so passed to :func:`annotate` explicitly.
BASELINE_VARIABLES: dict[str, VarMeta] = {
    "population": VarMeta("population (mid-year)", "persons",
                          "Usual residents of each LAD at mid-year: the observed mid-year estimate in the start "
                          "year, then the components path (projected growth, pre-COVID rates)."),
    "births": VarMeta("births", "persons per year", "Births in the year starting at the step (pre-COVID crude "
                                                    "birth rate times the population)."),
    "deaths": VarMeta("deaths", "persons per year", "Deaths in the year starting at the step (pre-COVID crude "
                                                    "death rate times the population)."),
    "net_internal": VarMeta("net internal migration", "persons per year",
                            "Net moves into the LAD from the rest of the UK in the year starting at the step "
                            "(the supplied model, by default the pre-COVID mean)."),
    "net_international": VarMeta("net international migration (balancing item)", "persons per year",
                                 "What balances the projected growth after births, deaths and net internal "
                                 "migration (international migration and other changes)."),
    "other": VarMeta("other changes", "persons per year", "Changes not in the other components (zero unless "
                                                          "the path is capped)."),
}
BASELINE_COORDS: dict[str, VarMeta] = {
    "year": VarMeta("calendar year (mid-year)", "", "The mid-year of the population."),
    "step": VarMeta("calendar year the step starts in", "", "A component covers mid-year step to step + 1."),
    "growth_source": VarMeta("source of the projected growth", "",
                             "Which projection gives the LAD's growth (see migravity.geodata.demography)."),
}

_T = TypeVar("_T", xr.Dataset, xr.DataArray)


def variable_attrs(name: str, vintage: str = "") -> dict[str, str]:
    """The registry's attributes of one data variable (empty when it is not registered).

    Parameters
    ----------
    name : str
        The variable's name.
    vintage : str, optional
        Zone vintage filled into the coordinate names.

    Returns
    -------
    dict of str to str
    """
    meta = VARIABLES.get(name)
    return meta.attrs(vintage) if meta is not None else {}


def global_attrs(title: str, source: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The CF global attributes of a Dataset migravity writes.

    Parameters
    ----------
    title : str
        What the file holds.
    source : str
        How it was made (the model and the data).
    extra : mapping, optional
        Further attributes (kept after the CF ones).

    Returns
    -------
    dict of str to str
        ``Conventions``, ``title``, ``source``, ``institution``, ``references``, ``history``.
    """
    from migravity.utils.version import __version__

    return {"Conventions": CONVENTIONS, "title": title, "source": source, "institution": INSTITUTION,
            "references": REFERENCES, "history": f"written by migravity {__version__}", **(extra or {})}


def annotate(obj: _T, *, vintage: str = "", title: str | None = None, source: str | None = None,
             variables: Mapping[str, VarMeta] | None = None, coords: Mapping[str, VarMeta] | None = None) -> _T:
    """Set the registry's attributes on a Dataset's (or DataArray's) variables and coordinates, in place.

    Registered names get ``units``, ``long_name`` and ``description``; existing attributes that the
    registry does not name are kept. A Dataset given a ``title`` also gets the CF global
    attributes (:func:`global_attrs`).

    Parameters
    ----------
    obj : xarray.Dataset or xarray.DataArray
        Annotated in place and returned.
    vintage : str, optional
        Zone vintage (``"2023"``) filled into the zone coordinates' names; default: the object's
        ``zone_vintage`` attribute, if any.
    title, source : str, optional
        The Dataset's CF ``title`` and ``source``.
    variables, coords : mapping of str to VarMeta, optional
        Entries used before :data:`VARIABLES` / :data:`COORDS` (names whose meaning differs there).

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        ``obj``.
    """
    vintage = vintage or str(obj.attrs.get("zone_vintage", ""))
    var_meta = {**VARIABLES, **(variables or {})}
    coord_meta = {**COORDS, **(coords or {})}
    named = [(str(n), v) for n, v in obj.data_vars.items()] if isinstance(obj, xr.Dataset) else \
        ([(str(obj.name), obj)] if obj.name is not None else [])
    for name, var in named:
        if name in var_meta:
            var.attrs.update(var_meta[name].attrs(vintage))
    for cname, coord in obj.coords.items():
        meta = coord_meta.get(str(cname))
        if meta is not None:
            coord.attrs.update(meta.attrs(vintage))
    if isinstance(obj, xr.Dataset) and title is not None:
        obj.attrs.update(global_attrs(title, source or "migravity"))
    return obj
