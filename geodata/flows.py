"""Observed origin-destination flows, harmonised to a zone set, as dense labelled matrices.

Kinds
-----
``migration2021``
    Census 2021 ODMG01EW: usual residence a year before the census (origin) to usual residence
    on census day (destination), persons aged 1+. Non-movers (origin ``-8``) and arrivals from
    outside the UK (``999999999``) are excluded and counted in the report
    (:mod:`migravity.geodata.codes`).
``commute2021``
    Census 2021 ODWP01EW, category 3 (working in the UK, not at or from home): residence (origin)
    to workplace (destination). Categories -8 (not in employment), 1 (mainly at or from home) and
    2 (offshore or abroad) are excluded and counted.
``migration2011``
    Census 2011 MM01CUK_ALL for Great Britain (2016/17 codes), harmonised to the zone vintage:
    merged districts summed, the Census-merged Westminster+City of London and Cornwall+Isles of
    Scilly split by Census 2011 population.

MSOA zone sets (``load_zones(level="msoa")``)
---------------------------------------------
``migration2021`` and ``commute2021`` read the MSOA-level Census 2021 tables (``odmg01ew_msoa``,
``odwp01ew_msoa``; 2021 codes, no harmonisation). The MSOA migration table holds movers within the
UK only: non-movers and arrivals from abroad are not in the file (noted in the report). Origins in
Scotland (S02 intermediate zones) and Northern Ireland (N09) are outside the study area and
reported by code. The MSOA commuting table has no place-of-work category; its special workplaces
``111111111`` (mainly at or from home, or no fixed place), ``888888888`` (offshore) and
``999999999`` (outside the UK) are excluded and their totals reported, as are workplaces in
Scotland and Northern Ireland. ``migration2011`` has no MSOA table.

The diagonal holds moves (or commutes) within a zone. Pairs with no published count are explicit
zeros (the Census tables omit zero cells). Flows from or to areas outside the study area are
excluded and reported by code in ``attrs["harmonisation"]``; a code of a nation inside the study
area that matches no zone is an error.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from migravity.errors import ConfigError, HarmonisationError, check_choice
from migravity.geodata.codes import (
    AT_HOME,
    DOES_NOT_APPLY,
    IN_UK,
    MSOA_WORKPLACE_CODES,
    NOT_IN_EMPLOYMENT,
    OFFSHORE_OR_ABROAD,
    OUTSIDE_UK,
    PLACE_OF_WORK,
)
from migravity.geodata.datadir import DataDir
from migravity.geodata.harmonise import HarmonisationReport, code_map, harmonise_od
from migravity.geodata.readers import load
from migravity.geodata.zones import ZoneSet

FlowKind = Literal["migration2021", "commute2021", "migration2011"]
FLOW_KINDS: tuple[str, ...] = ("migration2021", "commute2021", "migration2011")

#: Origins of ODMG01EW left out of the migration flows, with their label in the report.
_MIGRATION_EXCLUDED = {DOES_NOT_APPLY: "non-movers (same address)", OUTSIDE_UK: "from outside the UK"}
#: Place-of-work categories of ODWP01EW left out of the commuting flows (all but :data:`IN_UK`).
_COMMUTE_EXCLUDED = {c: PLACE_OF_WORK[c] for c in (NOT_IN_EMPLOYMENT, AT_HOME, OFFSHORE_OR_ABROAD)}


def _raw(kind: str, data_dir: DataDir) -> tuple[pd.DataFrame, str, str, dict[str, float]]:
    excluded: dict[str, float] = {}
    if kind == "migration2021":
        df = load("odmg01ew", data_dir)
        for code, label in _MIGRATION_EXCLUDED.items():
            excluded[label] = float(df.loc[df.origin == code, "count"].sum())
        return df[~df.origin.isin(list(_MIGRATION_EXCLUDED))], "odmg01ew", "2021", excluded
    if kind == "commute2021":
        df = load("odwp01ew", data_dir)
        for cat, label in _COMMUTE_EXCLUDED.items():
            excluded[label] = float(df.loc[df.category == cat, "count"].sum())
        return df[df.category == IN_UK].drop(columns="category"), "odwp01ew", "2021", excluded
    df = load("migration2011", data_dir)
    return df.drop(columns="distance_km"), "migration2011", "2016m", excluded


def restrict_to_zones(od: pd.DataFrame, zones: ZoneSet, report: HarmonisationReport,
                      value_col: str = "count") -> np.ndarray:
    """Scatter an OD frame onto the dense zone grid; report flows to or from outside the study area.

    Parameters
    ----------
    od : pandas.DataFrame
        Columns ``origin``, ``destination`` (codes of the zones' vintage) and ``value_col``.
    zones : ZoneSet
        The study area.
    report : HarmonisationReport
        Receives, in ``outside``, the total by code of the flows from or to areas outside the
        study area (``"origin:<code>"``, ``"destination:<code>"``).
    value_col : str
        The column of counts.

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` float matrix in zone order; pairs absent from ``od`` are zeros.

    Raises
    ------
    HarmonisationError
        If a code of a nation inside the study area matches no zone.
    """
    pos = {c: i for i, c in enumerate(zones.codes)}
    nations_in = {c[0] for c in zones.codes}
    for end in ("origin", "destination"):
        unknown = sorted({c for c in od[end].unique() if c not in pos and c[:1] in nations_in})
        if unknown:
            raise HarmonisationError(
                f"{report.dataset}: {end} codes {unknown[:10]} (vintage {report.source}) match no zone of {zones}"
            )
    inside = od.origin.isin(pos) & od.destination.isin(pos)
    outside = od[~inside]
    for end in ("origin", "destination"):
        out_end = outside[~outside[end].isin(pos)].groupby(end)[value_col].sum()
        for code, total in out_end.items():
            report.outside[f"{end}:{code}"] = float(total)
    sub = od[inside]
    n = len(zones)
    flat = sub.origin.map(pos).to_numpy(dtype=np.int64) * n + sub.destination.map(pos).to_numpy(dtype=np.int64)
    # bincount sums repeated pairs in row order, as np.add.at would, ~50x faster on the MSOA grid
    return np.bincount(flat, weights=sub[value_col].to_numpy(dtype=float), minlength=n * n).reshape(n, n)


def load_flows(kind: FlowKind, zones: ZoneSet, data_dir: DataDir = None) -> xr.DataArray:
    """Load observed flows of ``kind`` on ``zones`` as a DataArray (``origin``, ``destination``).

    Parameters
    ----------
    kind : {"migration2021", "commute2021", "migration2011"}
        See the module docs.
    zones : ZoneSet
        Study area; flows are harmonised to its code vintage.
    data_dir : path-like, optional
        Data directory.

    Returns
    -------
    xarray.DataArray
        Float counts, zeros completed; ``attrs["harmonisation"]`` is the JSON report.
    """
    check_choice("kind", kind, FLOW_KINDS)
    if zones.level == "msoa":
        mat, dataset, rep = _msoa_flows(kind, zones, data_dir)
    else:
        raw, dataset, vintage, excluded = _raw(kind, data_dir)
        od, rep = harmonise_od(raw, code_map(vintage, zones.vintage, data_dir), dataset=dataset)
        rep.excluded.update(excluded)
        mat = restrict_to_zones(od, zones, rep)
    return xr.DataArray(
        mat, dims=("origin", "destination"),
        coords={"origin": list(zones.codes), "destination": list(zones.codes)},
        name=kind, attrs={"dataset": dataset, "units": "persons", "harmonisation": rep.to_json(),
                          "summary": rep.summary()},
    )


def _msoa_flows(kind: str, zones: ZoneSet, data_dir: DataDir) -> tuple[np.ndarray, str, HarmonisationReport]:
    """The MSOA-level flows of ``kind`` on MSOA zones (see the module docs)."""
    if kind not in ("migration2021", "commute2021"):
        raise ConfigError("kind", kind, "MSOA zones have migration2021 and commute2021 flows only")
    dataset = "odmg01ew_msoa" if kind == "migration2021" else "odwp01ew_msoa"
    raw = load(dataset, data_dir)
    rep = HarmonisationReport(dataset, "2021", zones.vintage)
    if kind == "migration2021":
        rep.notes.append("the MSOA table holds movers within the UK only: non-movers and arrivals from outside "
                         "the UK are not in the file")
    else:
        special = raw.destination.isin(list(MSOA_WORKPLACE_CODES))
        for code, label in MSOA_WORKPLACE_CODES.items():
            rep.excluded[f"{label} ({code})"] = float(raw.loc[raw.destination == code, "count"].sum())
        raw = raw[~special]
        rep.notes.append("the MSOA table leaves out people not in employment (-8)")
    return restrict_to_zones(raw, zones, rep), dataset, rep


def commute2011_matrix(zones: ZoneSet, data_dir: DataDir = None) -> np.ndarray:
    """Census 2011 WU03UK commuting on ``zones``: the (n, n) residence x workplace matrix (persons).

    Harmonised from the 2011 census-merged districts (``2011cm``: the 2013 renames applied, the
    merged Westminster + City of London split by population) to the zones' vintage; flows to or
    from outside the zones, working at home, no fixed place, offshore and abroad are left out.

    Parameters
    ----------
    zones : ZoneSet
        Study area.
    data_dir : path-like, optional
        Data directory.

    Returns
    -------
    numpy.ndarray
        Float counts, rows = residence, columns = workplace, the intra-zone flow on the diagonal.
    """
    raw = load("commute2011", data_dir)
    keep = raw.origin.str.match(r"^[EWS]\d{8}$") & raw.destination.str.match(r"^[EWS]\d{8}$")
    od, rep = harmonise_od(raw[keep], code_map("2011cm", zones.vintage, data_dir), dataset="commute2011")
    return restrict_to_zones(od, zones, rep)
