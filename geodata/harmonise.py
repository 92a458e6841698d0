"""Explicit harmonisation of LAD codes between vintages.

A :class:`CodeMap` maps codes of one vintage onto another: many-to-one merges (2021 -> 2023:
Cumbria, North Yorkshire, Somerset), renames (2025 -> 2023: Barnsley E08000038 -> E08000016,
Sheffield E08000039 -> E08000019) and one-to-many splits with weights (2023 -> 2021, and the
Census-merged City of London/Westminster and Isles of Scilly/Cornwall of the 2011 tables).
Counts are summed (and apportioned by weight across a split); rates are re-weighted by
population across a merge and copied from the parent across a split. Every call returns a
:class:`HarmonisationReport` saying what was merged, renamed, split, and which codes matched
nothing. Nothing is dropped silently: unmatched codes stay in the frame with their original code,
and :func:`restrict_to_zones` reports (or refuses) codes outside the study area.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from migravity.errors import ConfigError, HarmonisationError
from migravity.geodata.codes import NON_AREA_CODES
from migravity.geodata.datadir import DataDir, dataset_path
from migravity.geodata.readers import check_unique, load

#: 2025 code changes (minor boundary changes): new code -> 2023 code.
RENAMES_2025 = {"E08000038": "E08000016", "E08000039": "E08000019"}

#: Census 2011 merged-district (``2011cm``) codes older than the 2016 codes: the 2013 boundary changes
#: (Northumberland/Gateshead, four Hertfordshire districts) renamed them; the code -> its 2016 code.
RENAMES_2011CM = {"E06000048": "E06000057", "E08000020": "E08000037", "E07000097": "E07000242",
                  "E07000100": "E07000240", "E07000101": "E07000243", "E07000104": "E07000241"}
#: The Census 2011 merged district Westminster + City of London.
WESTMINSTER_CITY_2011CM = "E41000324"

_SUPPORTED = {("2021", "2023"), ("2011cm", "2021"), ("2011cm", "2023"),
              ("2025", "2023"), ("2023", "2021"), ("2025", "2021"),
              ("2016m", "2021"), ("2016m", "2023"), ("2016", "2021"), ("2016", "2023"),
              ("2019", "2021"), ("2019", "2023"), ("2020", "2021"), ("2020", "2023")}
#: Column of the code chain lookup holding each older vintage's codes.
_CHAIN_COLUMN = {"2016m": "ltla16_code", "2016": "ltla16_code", "2019": "ltla19_code", "2020": "ltla20_code"}


@dataclass(frozen=True)
class CodeMap:
    """How codes of ``source`` vintage become codes of ``target`` vintage.

    ``mapping`` holds many-to-one and one-to-one changes (codes absent from it are kept as they
    are when they are valid in the target vintage); ``splits`` holds one-to-many changes with
    weights summing to one.
    """

    source: str
    target: str
    mapping: Mapping[str, str]
    splits: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    valid_target: frozenset[str] = frozenset()
    notes: tuple[str, ...] = ()


@dataclass
class HarmonisationReport:
    """What a harmonisation did, for the record (stored in xarray attrs as JSON)."""

    dataset: str
    source: str
    target: str
    merged: dict[str, list[str]] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)
    split: dict[str, dict[str, float]] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    outside: dict[str, float] = field(default_factory=dict)
    excluded: dict[str, float] = field(default_factory=dict)
    filled: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """The report as a strict JSON string (NaN as null; xarray/netCDF attributes hold strings)."""
        from migravity.utils.jsonio import to_jsonable

        return json.dumps(to_jsonable(asdict(self)), sort_keys=True, allow_nan=False)

    def summary(self) -> str:
        """One line for logs and tables."""
        parts = [f"{self.dataset}: {self.source} -> {self.target}"]
        if self.merged:
            parts.append(f"{sum(len(v) for v in self.merged.values())} codes merged into {len(self.merged)}")
        if self.renamed:
            parts.append(f"{len(self.renamed)} renamed")
        if self.split:
            parts.append(f"{len(self.split)} split")
        if self.outside:
            parts.append(f"{len(self.outside)} codes outside the study area ({sum(self.outside.values()):,.0f})")
        if self.excluded:
            parts.append("excluded " + ", ".join(f"{k}: {v:,.0f}" for k, v in self.excluded.items()))
        if self.filled:
            parts.append(f"{len(self.filled)} values filled")
        if self.unmatched:
            parts.append(f"unmatched: {self.unmatched}")
        return "; ".join(parts)


def census_population(year: Literal["2011", "2021"], data_dir: DataDir = None) -> pd.Series:
    """Census population by LAD (2021 codes), the weights of splits and of merged rates.

    Parameters
    ----------
    year : {"2011", "2021"}
        The census.
    data_dir : path-like, optional
        Data directory.

    Returns
    -------
    pandas.Series
        Persons, indexed by 2021 LAD code (dataset ``census2021_age``).
    """
    return load("census2021_age", data_dir).set_index("code")[f"pop{year}"]


def _split_weights(children: Mapping[str, list[str]], weights: pd.Series) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for parent, kids in children.items():
        w = np.array([weights.get(k, np.nan) for k in kids], dtype=float)
        if np.isnan(w).any() or w.sum() <= 0:
            raise HarmonisationError(f"no population weights to split {parent} into {kids}")
        out[parent] = {k: float(x / w.sum()) for k, x in zip(kids, w, strict=True)}
    return out


def code_map(source: str, target: str, data_dir: DataDir = None) -> CodeMap:
    """Build the :class:`CodeMap` from ``source`` to ``target`` vintage from the ONS lookups.

    Parameters
    ----------
    source, target : str
        Vintages, e.g. ``"2021"`` and ``"2023"`` (see :data:`migravity.geodata.registry.VINTAGES`).
    data_dir : path-like, optional
        Data directory holding the lookups.

    Raises
    ------
    ConfigError
        For a pair of vintages with no defined harmonisation.
    """
    lk = load("lookup_ltla22_ltla23", data_dir)
    check_unique(lk, ["ltla22_code"], dataset_path("lookup_ltla22_ltla23", data_dir))
    codes21 = frozenset(lk.ltla22_code)
    codes23 = frozenset(lk.ltla23_code)
    if source == target:
        return CodeMap(source, target, {}, {}, codes23 if target == "2023" else codes21)
    if (source, target) not in _SUPPORTED:
        raise ConfigError("vintage", f"{source}->{target}",
                          "supported: " + ", ".join(f"{a}->{b}" for a, b in sorted(_SUPPORTED)))
    to23 = {a: b for a, b in zip(lk.ltla22_code, lk.ltla23_code, strict=True) if a != b}
    if (source, target) == ("2021", "2023"):
        return CodeMap(source, target, to23, {}, codes23)
    if (source, target) == ("2025", "2023"):
        return CodeMap(source, target, dict(RENAMES_2025), {}, codes23,
                       ("2025 codes of Barnsley and Sheffield mapped back to their 2023 codes",))
    children: dict[str, list[str]] = defaultdict(list)
    for a, b in to23.items():
        children[b].append(a)
    if target == "2021" and source in ("2023", "2025"):
        splits = _split_weights(children, census_population("2021", data_dir))
        mapping = dict(RENAMES_2025) if source == "2025" else {}
        return CodeMap(source, target, mapping, splits, codes21,
                       ("2023 unitary authorities split into their 2021 districts by Census 2021 population",))
    if source == "2011cm":
        # the 2016m map, after the pre-2013 codes are renamed and the merged Westminster + City code
        # takes the Westminster split
        base = code_map("2016m", target, data_dir)
        mapping = dict(base.mapping)
        for old, new16 in RENAMES_2011CM.items():
            mapping[old] = base.mapping.get(new16, new16)
        splits11: dict[str, Mapping[str, float]] = {k: v for k, v in base.splits.items() if k != "E09000033"}
        splits11[WESTMINSTER_CITY_2011CM] = base.splits["E09000033"]
        return CodeMap(source, target, mapping, splits11, base.valid_target,
                       (*base.notes, "pre-2013 codes of Northumberland, Gateshead and four Hertfordshire districts "
                        "renamed to their 2013 codes (minor boundary changes)"))
    chain = load("lookup_ltla_chain", data_dir)
    col = _CHAIN_COLUMN[source]
    mapping21: dict[str, str] = {}
    notes = []
    pairs = chain.drop_duplicates([col, "ltla21_code"])
    several = pairs.groupby(col)["ltla21_code"].transform("size").to_numpy() > 1
    for src, tgt in zip(pairs[col][~several], pairs["ltla21_code"][~several], strict=True):
        if tgt != src:
            mapping21[src] = tgt
    for src, targets in pairs[several].groupby(col):
        # minor boundary changes (Fife/Perth and Kinross 2018): best fit by name
        same = targets[targets[col.replace("code", "name")] == targets.ltla21_name]
        if len(same) != 1:
            raise HarmonisationError(f"{src} maps to several {target} codes: {list(targets.ltla21_code)}")
        notes.append(f"{src} -> {same.ltla21_code.iloc[0]} by best fit (minor boundary change)")
        if same.ltla21_code.iloc[0] != src:
            mapping21[src] = same.ltla21_code.iloc[0]
    splits21: dict[str, dict[str, float]] = {}
    if source == "2016m":
        splits21 = _split_weights({"E09000033": ["E09000033", "E09000001"],
                                   "E06000052": ["E06000052", "E06000053"]}, census_population("2011", data_dir))
        notes.append("Census-merged Westminster+City of London and Cornwall+Isles of Scilly split by "
                     "Census 2011 population")
    if target == "2021":
        return CodeMap(source, target, mapping21, splits21, codes21, tuple(notes))
    mapping = {a: to23.get(b, b) for a, b in mapping21.items()}
    for a, b in to23.items():
        mapping.setdefault(a, b)
    splits = {p: {to23.get(k, k): w for k, w in ws.items()} for p, ws in splits21.items()}
    return CodeMap(source, target, mapping, splits, codes23, tuple(notes))


def _report(dataset: str, cmap: CodeMap, codes: Sequence[str]) -> HarmonisationReport:
    rep = HarmonisationReport(dataset, cmap.source, cmap.target, notes=list(cmap.notes))
    present = set(codes)
    for old in sorted(present):
        if old in cmap.splits:
            rep.split[old] = dict(cmap.splits[old])
        elif old in cmap.mapping:
            new = cmap.mapping[old]
            if sum(1 for v in cmap.mapping.values() if v == new) > 1 or new in present:
                rep.merged.setdefault(new, []).append(old)
            else:
                rep.renamed[old] = new
    return rep


def _unmatched(codes: Iterable[str], cmap: CodeMap) -> list[str]:
    """The codes that are not valid in the target vintage, leaving out the codes of no area."""
    return sorted(set(codes) - cmap.valid_target - NON_AREA_CODES)


def _map_codes(codes: pd.Series, cmap: CodeMap) -> pd.Series:
    # a dict lookup per distinct code, not a Python call per row
    inverse, uniques = pd.factorize(codes)
    new = np.array([cmap.mapping.get(c, c) for c in uniques], dtype=object)
    return pd.Series(new[inverse], index=codes.index, dtype=codes.dtype, name=codes.name)


def harmonise_values(
    df: pd.DataFrame,
    cmap: CodeMap,
    value_cols: Sequence[str],
    *,
    how: Literal["sum", "mean"],
    weights: pd.Series | None = None,
    dataset: str = "",
    code_col: str = "code",
) -> tuple[pd.DataFrame, HarmonisationReport]:
    """Harmonise a one-row-per-area frame to ``cmap.target`` codes.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per area code.
    cmap : CodeMap
        From :func:`code_map`.
    value_cols : sequence of str
        Columns to carry over.
    how : {"sum", "mean"}
        ``"sum"`` for counts (apportioned by weight across splits); ``"mean"`` for rates
        (population-weighted across merges using ``weights``, copied from the parent across splits).
    weights : pandas.Series, optional
        Population by source code, required for ``how="mean"`` when merges occur.
    dataset : str
        Name for the report.
    code_col : str
        Column holding the area codes.

    Returns
    -------
    pandas.DataFrame
        Columns ``code`` (target codes, sorted) and ``value_cols``.
    HarmonisationReport
        What was merged, renamed and split, and the codes left unmatched.

    Raises
    ------
    ConfigError
        For a ``how`` other than ``"sum"`` or ``"mean"``.
    HarmonisationError
        When rates must be merged without population weights.
    """
    if how not in ("sum", "mean"):
        raise ConfigError("how", how, "use 'sum' for counts or 'mean' for rates")
    rep = _report(dataset, cmap, df[code_col].tolist())
    rows = []
    for rec in df[[code_col, *value_cols]].itertuples(index=False):
        code = rec[0]
        if code in cmap.splits:
            for child, share in cmap.splits[code].items():
                vals = [v * share for v in rec[1:]] if how == "sum" else list(rec[1:])
                rows.append((child, code, *vals))
        else:
            rows.append((cmap.mapping.get(code, code), code, *rec[1:]))
    long = pd.DataFrame(rows, columns=["code", "source_code", *value_cols])
    if how == "sum":
        out = long.groupby("code", sort=True)[list(value_cols)].sum(min_count=1)
    else:
        if long.code.duplicated().any():
            if weights is None:
                raise HarmonisationError(f"{dataset}: merging rates needs population weights")
            w = long.source_code.map(weights)
            missing = long.source_code[w.isna() & long.code.duplicated(keep=False)]
            if len(missing):
                raise HarmonisationError(f"{dataset}: no population weight for {sorted(set(missing))}")
            long["_w"] = w.fillna(1.0)
            out = long.groupby("code", sort=True)[list(value_cols)].apply(
                lambda g: pd.Series({c: np.average(g[c], weights=long.loc[g.index, "_w"])
                                     for c in value_cols}))
        else:
            out = long.set_index("code")[list(value_cols)].sort_index()
    rep.unmatched = _unmatched(out.index, cmap)
    return out.reset_index(), rep


def harmonise_od(
    df: pd.DataFrame, cmap: CodeMap, value_col: str = "count", *, dataset: str = ""
) -> tuple[pd.DataFrame, HarmonisationReport]:
    """Harmonise an origin-destination frame (columns ``origin``, ``destination``, ``value_col``).

    Both ends are mapped; counts on split codes are apportioned by the split weights (at each end),
    then pairs are summed.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``origin``, ``destination`` and ``value_col``.
    cmap : CodeMap
        From :func:`code_map`.
    value_col : str
        The column of counts.
    dataset : str
        Name for the report.

    Returns
    -------
    pandas.DataFrame
        Columns ``origin``, ``destination``, ``value_col``, one row per pair of target codes.
    HarmonisationReport
        What was merged, renamed and split; ``unmatched`` lists codes valid in neither vintage
        (the special codes of :mod:`migravity.geodata.codes` left out).
    """
    rep = _report(dataset, cmap, sorted(set(df.origin.unique()) | set(df.destination.unique())))
    out = df[["origin", "destination", value_col]].copy()
    for end in ("origin", "destination"):
        split = out[end].isin(list(cmap.splits))
        if split.any():
            parts = [out[~split]]
            for parent, ws in cmap.splits.items():
                sub = out[out[end] == parent]
                for child, w in ws.items():
                    parts.append(sub.assign(**{end: child, value_col: sub[value_col] * w}))
            out = pd.concat(parts, ignore_index=True)
        out[end] = _map_codes(out[end], cmap)
    out = out.groupby(["origin", "destination"], sort=False, as_index=False)[value_col].sum()
    rep.unmatched = _unmatched(set(out.origin.unique()) | set(out.destination.unique()), cmap)
    return out, rep
