"""Descriptions and units of the GIS layer columns: the one home every export format reads.

:data:`COLUMN_DOCS` documents the base columns (zone descriptors, flow-line descriptors, the run's
variables, the calibration's observed / fitted / residual flows, zone attributes).
:func:`column_doc` documents any column of a layer, also the derived names the layers build:

* ``baseline_X``: X in the paired baseline;
* ``change_X``: scenario minus baseline of X (same units as X);
* ``pct_change_X``: ``100 * change_X / baseline_X`` (percent);
* ``net_X``: net (one-way) flow of X from the line's origin to its destination;
* ``X_qNN`` (``q05``, ``q50``, ``q97p5``...): the NN % quantile over the draws of X;
* ``X_mean``: the mean over the draws of X.

A column no rule recognises gets a generic description (never an error), so a layer can always be
written; :func:`undocumented` lists such columns for tests.

Written as the GeoPackage ``gpkg_data_columns`` table (:mod:`migravity.outputs.gpkg_meta`), as field
metadata in GeoParquet files, and as a ``<layer>.columns.json`` sidecar beside GeoJSON files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

__all__ = ["COLUMN_DOCS", "ColumnDoc", "column_doc", "columns_json", "undocumented"]


class ColumnDoc(NamedTuple):
    """One column's documentation: a short title, a description and its units (``""``: none)."""

    title: str
    description: str
    units: str


_HS = "high-skilled workers"
#: Base column name -> (title, description, units).
COLUMN_DOCS: dict[str, ColumnDoc] = {
    "code": ColumnDoc("Zone code", "ONS code of the local authority district (LAD)", ""),
    "name": ColumnDoc("Zone name", "name of the local authority district", ""),
    "region_code": ColumnDoc("Region code", "ONS code of the ITL1 region (English region, or the nation)", ""),
    "region_name": ColumnDoc("Region", "name of the ITL1 region (English region, or the nation)", ""),
    "nation": ColumnDoc("Nation", "England, Wales, Scotland or Northern Ireland", ""),
    "gse": ColumnDoc("Greater South East", "true for London, the South East and the East of England", ""),
    "imd_quintile": ColumnDoc("IMD quintile", "deprivation quintile of the zone (1 = most deprived, within nation)",
                              "quintile"),
    "origin": ColumnDoc("Origin code", "ONS code of the zone the flow leaves", ""),
    "destination": ColumnDoc("Destination code", "ONS code of the zone the flow enters", ""),
    "origin_name": ColumnDoc("Origin", "name of the zone the flow leaves", ""),
    "destination_name": ColumnDoc("Destination", "name of the zone the flow enters", ""),
    "distance_km": ColumnDoc("Distance", "straight-line distance between the zone centroids (British National "
                             "Grid) that the model uses", "km"),
    "stock": ColumnDoc("Workers", "workers living in the zone in the final simulated year", "workers"),
    "hs_stock": ColumnDoc("High-skilled workers", f"{_HS} living in the zone in the final simulated year", "workers"),
    "hs_change": ColumnDoc("Change in high-skilled workers", f"final-year {_HS} in the zone, scenario minus "
                           "baseline (per draw)", "workers"),
    "hs_flows": ColumnDoc("High-skilled movers", f"{_HS} moving from origin to destination in the final "
                          "simulated year (mean over the draws)", "workers per year"),
    "net_internal_high": ColumnDoc("Net internal migration, high-skilled", f"{_HS}' net internal migration "
                                   "into the zone, cumulative since year 0 (mean over the draws)", "workers"),
    "net_internal_other": ColumnDoc("Net internal migration, other", "other workers' net internal migration into "
                                    "the zone, cumulative since year 0 (mean over the draws)", "workers"),
    "other_change_high": ColumnDoc("Other change, high-skilled", f"change of {_HS} in the zone from components "
                                   "other than internal migration, cumulative since year 0 (mean over the draws)",
                                   "workers"),
    "other_change_other": ColumnDoc("Other change, other", "change of other workers in the zone from components "
                                    "other than internal migration, cumulative since year 0 (mean over the draws)",
                                    "workers"),
    "flow": ColumnDoc("Flow", "origin-destination flow", "persons"),
    "observed": ColumnDoc("Observed flow", "observed origin-destination flow the model was calibrated on",
                          "persons"),
    "fitted": ColumnDoc("Fitted flow", "flow predicted by the calibrated spatial-interaction model", "persons"),
    "residual_pearson": ColumnDoc("Pearson residual", "(observed - fitted) / sqrt(fitted), the Poisson Pearson "
                                  "residual", "standard units"),
    "observed_out": ColumnDoc("Observed outflow", "observed flows leaving the zone (sum over destinations)",
                              "persons"),
    "observed_in": ColumnDoc("Observed inflow", "observed flows entering the zone (sum over origins)", "persons"),
    "fitted_out": ColumnDoc("Fitted outflow", "fitted flows leaving the zone (sum over destinations)", "persons"),
    "fitted_in": ColumnDoc("Fitted inflow", "fitted flows entering the zone (sum over origins)", "persons"),
    "population": ColumnDoc("Population", "usual residents of the zone", "persons"),
    "pop_census2021": ColumnDoc("Population, Census 2021", "usual residents, Census 2021", "persons"),
    "share_20_34": ColumnDoc("Share aged 20-34", "share of the population aged 20 to 34", "share of population"),
    "share_65plus": ColumnDoc("Share aged 65+", "share of the population aged 65 and over", "share of population"),
    "house_price": ColumnDoc("House price", "median house price", "GBP"),
    "weekly_pay": ColumnDoc("Weekly pay", "median gross weekly pay (residence based)", "GBP per week"),
    "affordability": ColumnDoc("Affordability", "median house price to median earnings ratio", "ratio"),
    "jobs": ColumnDoc("Jobs", "jobs located in the zone", "jobs"),
    "wfh_share": ColumnDoc("WFH share", "share of workers working mainly at or from home, Census 2021",
                           "share of workers"),
    "qual_l3plus": ColumnDoc("Level 3+ share", "share of residents with level 3 or higher qualifications",
                             "share of population"),
    "imd_score": ColumnDoc("IMD score", "index of multiple deprivation, average score", "average score"),
}

_QUANTILE = re.compile(r"(?P<base>.+)_q(?P<pct>\d{2,})(?:p(?P<frac>\d+))?")
_GENERIC = "value of the run or the model (see results.nc or the calibration)"


def _lookup(name: str) -> ColumnDoc | None:
    """The doc of ``name`` by the base table and the derivation rules of the module docs."""
    if name in COLUMN_DOCS:
        return COLUMN_DOCS[name]
    m = _QUANTILE.fullmatch(name)
    if m:
        inner = _lookup(m["base"])
        if inner:
            pct = m["pct"].lstrip("0") or "0"
            pct += f".{m['frac']}" if m["frac"] else ""
            return ColumnDoc(f"{inner.title} ({pct}% quantile)",
                             f"{inner.description}; {pct}% quantile over the draws", inner.units)
    for suffix, what in (("_mean", "mean over the draws"),):
        if name.endswith(suffix):
            inner = _lookup(name[: -len(suffix)])
            if inner:
                return ColumnDoc(f"{inner.title} (mean)", f"{inner.description}; {what}", inner.units)
    rules = (
        ("pct_change_", lambda d: ColumnDoc(f"{d.title}, % change", f"{d.description}: scenario minus baseline, "
                                            "in percent of the baseline", "percent")),
        ("change_", lambda d: ColumnDoc(f"{d.title}, change", f"{d.description}: scenario minus baseline",
                                        d.units)),
        ("baseline_", lambda d: ColumnDoc(f"{d.title}, baseline", f"{d.description}, in the paired baseline",
                                          d.units)),
        ("net_", lambda d: ColumnDoc(f"Net {d.title.lower()}", f"net (one-way) flow from origin to destination "
                                     f"(origin to destination minus the reverse) of: {d.description}", d.units)),
    )
    for prefix, make in rules:
        if name.startswith(prefix):
            inner = _lookup(name[len(prefix):])
            if inner:
                return make(inner)
    return None


def column_doc(name: str) -> ColumnDoc:
    """The title, description and units of a layer column (see the module docs).

    Parameters
    ----------
    name : str
        Column name, e.g. ``"change_hs_stock_mean"`` or ``"hs_change_q05"``.

    Returns
    -------
    ColumnDoc
        A generic description with empty units when no rule applies.
    """
    return _lookup(name) or ColumnDoc(name, _GENERIC, "")


def undocumented(names: Iterable[str]) -> list[str]:
    """The columns of ``names`` that only get the generic description (``geometry`` excluded)."""
    return [n for n in names if n != "geometry" and _lookup(n) is None]


def columns_json(names: Iterable[str]) -> dict[str, dict[str, str]]:
    """``{column: {"title", "description", "units"}}`` for a layer's columns (``geometry`` excluded)."""
    return {n: column_doc(n)._asdict() for n in names if n != "geometry"}
