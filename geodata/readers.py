"""Parsers for each registered dataset: read, validate, return a tidy frame.

Every reader takes the file path and returns a pandas (or geopandas) frame with stable column
names. Problems are raised as :class:`~migravity.errors.MalformedDataError` naming the file and,
where it applies, the line: unparsable rows, missing columns, NaN or negative counts, duplicate
keys, a geometry without CRS. Readers never drop rows; callers filter explicitly and report.

Strictness: an empty or header-only file is an error; counts must be finite (``inf`` is refused
like NaN); every area code must be a GSS code (:data:`~migravity.geodata.codes.GSS_CODE`, e.g.
``E06000001``: upper case, no spaces or quotes) or one of the non-area codes the dataset documents,
else the load fails naming the file, the line and the value; boundaries must be valid geometries
lying where their CRS says (:func:`~migravity.geodata.geomcheck.check_geometry`). :func:`load`
checks each file against the registry's SHA-256 after parsing it
(:func:`~migravity.geodata.datadir.verify_checksum`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from migravity.errors import MalformedDataError
from migravity.geodata.codes import (
    COMMUTE2011_SPECIAL,
    GSS_CODE,
    ITL_CODE,
    MSOA_WORKPLACE_CODES,
    NI_LGD_2011,
    NON_AREA_CODES,
    PLACE_OF_WORK,
)
from migravity.geodata.datadir import BUNDLE, DataDir, data_source, verify_checksum
from migravity.geodata.geomcheck import check_geometry
from migravity.geodata.registry import get
from migravity.utils.tables import parse_csv


def load(name: str, data_dir: DataDir = None) -> Any:
    """Load the registered dataset ``name`` with its reader, from the raw file or the shipped bundle.

    Where it comes from is :func:`~migravity.geodata.datadir.data_source`'s answer: the raw file of
    an explicit data directory (``data_dir``, ``--data-dir`` or ``$MIGRAVITY_DATA``); with none, the
    raw file in the per-user cache if there is one, else the frame the bundle carries
    (:mod:`migravity.geodata.bundle`), which equals the reader's output on the raw file.

    Parameters
    ----------
    name : str
        Registry name (:data:`migravity.geodata.registry.REGISTRY`).
    data_dir : path-like, optional
        The data directory (see :func:`~migravity.geodata.datadir.resolve_data_dir`).

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        What the dataset's reader returns (see the ``read_*`` functions).

    Raises
    ------
    DataMissingError
        If the file is not in the data directory (and, with no explicit data directory, not in the bundle).
    MalformedDataError
        If it cannot be parsed or fails validation.
    ChecksumError
        If it parses but differs from the registry's SHA-256 and changed data are not accepted
        (``--accept-changed-data`` / ``MIGRAVITY_ACCEPT_CHANGED_DATA=1``).
    """
    ds = get(name)
    source = data_source(ds, data_dir)
    if source == BUNDLE:
        from migravity.geodata.bundle import read_bundled

        return read_bundled(name)
    out = globals()[ds.reader](source)
    verify_checksum(ds, source)
    return out


def read_csv(path: Path, columns: Sequence[str], **kwargs: Any) -> pd.DataFrame:
    """Read a CSV (optionally gzipped) and check that ``columns`` are present.

    Parse errors become :class:`MalformedDataError` with the file and line number.
    """
    df = parse_csv(path, **kwargs)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MalformedDataError(
            path, f"missing column(s) {missing}; found {list(df.columns)[:12]}", 1
        )
    if len(df) == 0:
        raise MalformedDataError(path, "the file has a header but no data rows", 1)
    return df


def check_codes(df: pd.DataFrame, col: str, path: Path, *, also: Collection[str] = (),
                patterns: Sequence[re.Pattern[str]] = ()) -> pd.Series:
    """Return ``df[col]`` as strings; raise naming the first line whose value is not an area code.

    Parameters
    ----------
    df : pandas.DataFrame
        The file as read.
    col : str
        The column of area codes (the file's name for it).
    path : pathlib.Path
        The file, for the message.
    also : collection of str
        Further codes the dataset documents (e.g. :data:`~migravity.geodata.codes.NON_AREA_CODES`).
    patterns : sequence of re.Pattern
        Further code patterns the dataset documents (e.g. ITL codes).

    Raises
    ------
    MalformedDataError
        Naming the line, the value (with its quotes or spaces visible) and how many lines are bad.
    """
    s = df[col].astype("string").fillna("")
    ok = s.str.fullmatch(GSS_CODE.pattern).fillna(False).astype(bool) | s.isin(list(also))
    for pat in patterns:
        ok |= s.str.fullmatch(pat.pattern).fillna(False).astype(bool)
    if not ok.all():
        bad = np.flatnonzero(~ok.to_numpy())
        value = str(s.iloc[bad[0]])
        what = "is empty" if value == "" else f"holds {value!r}, not an area code"
        raise MalformedDataError(
            path, f"column {col!r} {what} ({len(bad)} line(s) in all); area codes are GSS codes: a letter "
                  "E, W, S, N or K and 8 digits (e.g. E06000001), upper case, without spaces or quotes",
            int(bad[0]) + 2)
    return s.astype(object)


def check_numeric(df: pd.DataFrame, col: str, path: Path, *, nonnegative: bool = True,
                  allow_nan: bool = False) -> pd.Series:
    """Return ``df[col]`` as float; raise naming the first bad line on text, NaN, infinite or negative values."""
    values = pd.to_numeric(df[col], errors="coerce")
    bad = values.isna() & df[col].notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise MalformedDataError(path, f"column {col!r} holds non-numeric value {df[col].iloc[i]!r}", i + 2)
    inf = np.isinf(values.to_numpy(dtype=float))
    if inf.any():
        i = int(np.flatnonzero(inf)[0])
        raise MalformedDataError(path, f"column {col!r} holds an infinite value ({df[col].iloc[i]!r})", i + 2)
    if not allow_nan and values.isna().any():
        i = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise MalformedDataError(path, f"column {col!r} is empty (NaN)", i + 2)
    if nonnegative and (values < 0).any():
        i = int(np.flatnonzero((values < 0).to_numpy())[0])
        raise MalformedDataError(path, f"column {col!r} holds negative value {values.iloc[i]}", i + 2)
    return values.astype(float)


def check_unique(df: pd.DataFrame, keys: Sequence[str], path: Path) -> None:
    """Raise naming the first duplicated key and its line."""
    dup = df.duplicated(list(keys), keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        key = tuple(df[k].iloc[i] for k in keys)
        raise MalformedDataError(path, f"duplicate key {dict(zip(keys, key, strict=True))}", i + 2)


# ---- boundaries --------------------------------------------------------------------------------

def read_boundaries(path: Path) -> Any:
    """LAD polygons: columns ``code``, ``name``, ``geometry`` (CRS kept as in the file)."""
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path)
    except Exception as e:  # pyogrio raises DataSourceError and friends
        raise MalformedDataError(path, f"cannot read vector file ({e})") from e
    if gdf.crs is None:
        raise MalformedDataError(path, "geometry has no CRS; expected EPSG:4326 or EPSG:27700")
    code = next((c for c in gdf.columns if re.fullmatch(r"LAD\d\dCD", c)), None)
    name = next((c for c in gdf.columns if re.fullmatch(r"LAD\d\dNM", c)), None)
    if code is None or name is None:
        raise MalformedDataError(path, f"no LADyyCD/LADyyNM columns in {list(gdf.columns)}")
    out = gdf[[code, name, "geometry"]].rename(columns={code: "code", name: "name"})
    if out.geometry.isna().any() or out.geometry.is_empty.any():
        i = int(np.flatnonzero((out.geometry.isna() | out.geometry.is_empty).to_numpy())[0])
        raise MalformedDataError(path, f"feature {out.code.iloc[i]} has no geometry")
    out["code"] = check_codes(out, "code", path)
    check_unique(out, ["code"], path)
    check_geometry(out, path)
    return out


def _topo_rings(arcs: list[np.ndarray], refs: list[list[int]]) -> list[np.ndarray]:
    rings = []
    for ring in refs:
        parts = []
        for k, ref in enumerate(ring):
            pts = arcs[ref] if ref >= 0 else arcs[~ref][::-1]
            parts.append(pts if k == 0 else pts[1:])
        rings.append(np.concatenate(parts))
    return rings


def decode_topojson(topo: dict[str, Any]) -> pd.DataFrame:
    """Decode a TopoJSON topology (quantized, delta-encoded arcs) into shapely geometries.

    Parameters
    ----------
    topo : dict
        The parsed topology: ``arcs``, optional ``transform`` (``scale``, ``translate``), ``objects``
        (each a GeometryCollection of Polygon / MultiPolygon geometries with ``properties``).

    Returns
    -------
    pandas.DataFrame
        One row per geometry: ``layer`` (object name), the geometry's properties as columns, and
        ``geometry`` (shapely Polygon or MultiPolygon, or None for a null geometry).
    """
    from shapely.geometry import MultiPolygon, Polygon

    tr = topo.get("transform")
    arcs: list[np.ndarray] = []
    for arc in topo["arcs"]:
        a = np.asarray(arc, dtype=np.float64)[:, :2]
        if tr is not None:
            a = np.cumsum(a, axis=0) * np.asarray(tr["scale"]) + np.asarray(tr["translate"])
        arcs.append(a)
    rows: list[dict[str, Any]] = []
    for layer, obj in topo["objects"].items():
        geoms = obj.get("geometries", [obj])
        for g in geoms:
            kind = g.get("type")
            if kind == "Polygon":
                rings = _topo_rings(arcs, g["arcs"])
                geom: Any = Polygon(rings[0], rings[1:])
            elif kind == "MultiPolygon":
                polys = [_topo_rings(arcs, p) for p in g["arcs"]]
                geom = MultiPolygon([(p[0], p[1:]) for p in polys])
            else:
                geom = None
            rows.append({"layer": layer, **g.get("properties", {}), "geometry": geom})
    return pd.DataFrame(rows)


def read_topojson(path: Path) -> Any:
    """ONS administrative areas from a TopoJSON file: ``layer``, ``code``, ``name``, ``start``, ``end``, ``geometry``.

    ``start`` / ``end`` are the first and last years an area exists (missing: open-ended, filled
    with 0 and 9999). CRS EPSG:4326 (longitude, latitude).
    """
    try:
        topo = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise MalformedDataError(path, f"cannot decode TopoJSON ({type(e).__name__}: {e})") from e
    return topology_frame(topo, path)


def topology_frame(topo: dict[str, Any], path: Path) -> Any:
    """The frame :func:`read_topojson` returns, from a parsed topology (``path`` names it in errors).

    Parameters
    ----------
    topo : dict
        The parsed TopoJSON.
    path : pathlib.Path
        Where it came from (the raw file, or the data bundle's member).

    Returns
    -------
    geopandas.GeoDataFrame
    """
    import geopandas as gpd

    try:
        df = decode_topojson(topo)
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise MalformedDataError(path, f"cannot decode TopoJSON ({type(e).__name__}: {e})") from e
    for col in ("areacd", "areanm"):
        if col not in df.columns:
            raise MalformedDataError(path, f"no '{col}' property on the geometries")
    df = df.rename(columns={"areacd": "code", "areanm": "name"})
    for col, fill in (("start", 0), ("end", 9999)):
        df[col] = (df[col] if col in df.columns else pd.Series(np.nan, index=df.index)).fillna(fill).astype(int)
    if df.geometry.isna().any():
        i = int(np.flatnonzero(df.geometry.isna().to_numpy())[0])
        raise MalformedDataError(path, f"area {df.code.iloc[i]} ({df.layer.iloc[i]}) has no geometry")
    df["code"] = check_codes(df, "code", path)
    out = gpd.GeoDataFrame(df[["layer", "code", "name", "start", "end"]], geometry=list(df.geometry), crs="EPSG:4326")
    # decoded quantised TopoJSON leaves some rings touching themselves (42 of the 707 areas of the
    # registered file): validity is not checked here, only the coordinates' range and order
    check_geometry(out, path, validity=False)
    return out


# ---- flows -----------------------------------------------------------------------------------

def read_odmg01ew(path: Path) -> pd.DataFrame:
    """Census 2021 ODMG01EW: ``origin`` (address a year ago), ``destination`` (usual residence), ``count``.

    Special origins are kept: ``-8`` (same address: non-movers) and ``999999999`` (abroad); see
    :mod:`migravity.geodata.codes`.
    """
    o, d = "Migrant LTLA one year ago code", "Lower tier local authorities code"
    df = read_csv(path, [o, d, "Count"], dtype={o: str, d: str})
    out = pd.DataFrame({"origin": check_codes(df, o, path, also=NON_AREA_CODES),
                        "destination": check_codes(df, d, path),
                        "count": check_numeric(df, "Count", path)})
    check_unique(out, ["origin", "destination"], path)
    return out


def read_odwp01ew(path: Path) -> pd.DataFrame:
    """Census 2021 ODWP01EW: ``origin`` (residence), ``destination`` (workplace), ``category``, ``count``.

    ``category``: -8 not in employment, 1 mainly at or from home, 2 offshore/outside UK, 3 working in
    the UK not at home (:data:`migravity.geodata.codes.PLACE_OF_WORK`). Special workplaces are
    kept: ``-8``, ``999999999`` (outside the UK) and ``888888888`` (offshore).
    """
    o, d = "Lower tier local authorities code", "LTLA of workplace code"
    cat = "Place of work indicator (4 categories) code"
    df = read_csv(path, [o, d, cat, "Count"], dtype={o: str, d: str})
    out = pd.DataFrame({
        "origin": check_codes(df, o, path), "destination": check_codes(df, d, path, also=NON_AREA_CODES),
        "category": check_numeric(df, cat, path, nonnegative=False).astype(int),
        "count": check_numeric(df, "Count", path),
    })
    bad = ~out.category.isin(list(PLACE_OF_WORK))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise MalformedDataError(path, f"unknown place-of-work category {out.category.iloc[i]}", i + 2)
    check_unique(out, ["origin", "destination", "category"], path)
    return out


def read_migration2011(path: Path) -> pd.DataFrame:
    """Census 2011 GB migration (simim): ``origin``, ``destination``, ``count``, ``distance_km``."""
    df = read_csv(path, ["MIGRATIONS", "O_GEOGRAPHY_CODE", "D_GEOGRAPHY_CODE", "DISTANCE"])
    out = pd.DataFrame({
        "origin": check_codes(df, "O_GEOGRAPHY_CODE", path),
        "destination": check_codes(df, "D_GEOGRAPHY_CODE", path),
        "count": check_numeric(df, "MIGRATIONS", path),
        "distance_km": check_numeric(df, "DISTANCE", path),
    })
    check_unique(out, ["origin", "destination"], path)
    return out


def read_commute2011_od(path: Path) -> pd.DataFrame:
    """Census 2011 WU03UK long form: ``origin`` (residence), ``destination`` (workplace or WFH...), ``count``."""
    df = read_csv(path, ["origin_code", "destination_code", "commuters"])
    ni = (NI_LGD_2011,)
    out = pd.DataFrame({"origin": check_codes(df, "origin_code", path, patterns=ni),
                        "destination": check_codes(df, "destination_code", path, also=COMMUTE2011_SPECIAL,
                                                   patterns=ni),
                        "count": check_numeric(df, "commuters", path)})
    check_unique(out, ["origin", "destination"], path)
    return out


def read_commute2011_matrix(path: Path) -> pd.DataFrame:
    """Census 2011 WU03UK wide matrix by name: long frame ``origin_name``, ``destination_name``, ``count``."""
    df = read_csv(path, [], index_col=0)
    long = df.stack(future_stack=True).rename("count").reset_index()
    long.columns = ["destination_name", "origin_name", "count"]
    long["count"] = check_numeric(long, "count", path)
    return long[["origin_name", "destination_name", "count"]]


# ---- statistics --------------------------------------------------------------------------------

def read_geo_date_value(path: Path) -> pd.DataFrame:
    """open-innovations standard layout: ``code``, ``name``, ``date``, ``value``."""
    df = read_csv(path, ["geography_code", "geography_name", "date", "value"], dtype={"date": str})
    out = pd.DataFrame({"code": check_codes(df, "geography_code", path), "name": df["geography_name"],
                        "date": df["date"].astype(str),
                        "value": check_numeric(df, "value", path, allow_nan=True)})
    check_unique(out, ["code", "date"], path)
    return out


def read_els(path: Path) -> pd.DataFrame:
    """ONS Explore Local Statistics layout: ``code``, ``name``, ``geography``, ``period``, ``value``, ``status``.

    ``value`` is NaN where ONS suppressed the estimate (``status`` ``x``); callers decide and report.
    """
    cols = ["areacd", "areanm", "geography", "period", "observation", "status"]
    df = read_csv(path, cols, dtype={"status": str, "period": str})
    out = pd.DataFrame({"code": check_codes(df, "areacd", path, patterns=(ITL_CODE,)), "name": df["areanm"],
                        "geography": df["geography"], "period": df["period"].str[:10],
                        "value": check_numeric(df, "observation", path, allow_nan=True),
                        "status": df["status"].fillna("")})
    if "indicator" in df.columns and df["indicator"].nunique() > 1:
        out["indicator"] = df["indicator"]
        check_unique(out, ["code", "period", "indicator"], path)
    else:
        check_unique(out, ["code", "period"], path)
    return out


def read_census2021_age(path: Path) -> pd.DataFrame:
    """Census 2021/2011 broad ages by LAD (2021 codes): counts and the 2021 five-year pyramid (% of total)."""
    counts = ["pop2011", "pop2021", "under20_2021", "age20_64_2021", "over65_2021"]
    df = read_csv(path, ["LAD21CD", "LAD21NM", *counts])
    for c in counts:
        df[c] = check_numeric(df, c, path)
    pct = [c for c in df.columns if c.startswith("pct2021_")]
    for c in pct:
        df[c] = check_numeric(df, c, path)
    df = df.rename(columns={"LAD21CD": "code", "LAD21NM": "name"})
    df["code"] = check_codes(df, "code", path)
    check_unique(df, ["code"], path)
    return df


def read_census2011_syoa(path: Path) -> pd.DataFrame:
    """Census 2011 QS103EW by LAD (2016 codes): ``code``, ``name`` and counts ``age_0`` ... ``age_100``
    (``age_100`` = 100 and over)."""
    df = read_csv(path, ["name", "mnemonic", "Age under 1", "Age 100 and over"])
    ages = {"Age under 1": "age_0", "Age 100 and over": "age_100", **{f"Age {a}": f"age_{a}" for a in range(1, 100)}}
    missing = [c for c in ages if c not in df.columns]
    if missing:
        raise MalformedDataError(path, f"missing age column(s) {missing[:5]}", 1)
    out = df[["mnemonic", "name", *ages]].rename(columns={"mnemonic": "code", **ages})
    out["code"] = check_codes(out, "code", path)
    for c in ages.values():
        out[c] = check_numeric(out, c, path)
    check_unique(out, ["code"], path)
    return out


def read_mye_syoa(path: Path) -> pd.DataFrame:
    """MYE2 population by sex and single year of age: ``code``, ``name``, ``geography``, ``sex``,
    ``age`` (int; 90 = 90 and over) and ``population``."""
    df = read_csv(path, ["code", "name", "geography", "sex", "age", "population"], dtype={"age": str})
    age = df["age"].str.replace("+", "", regex=False)
    whole = age.str.fullmatch(r"\d+").fillna(False).astype(bool)
    if not whole.all():
        bad = sorted(set(df["age"][~whole].astype(str)))[:5]
        raise MalformedDataError(path, f"ages that are not whole years: {bad}")
    out = pd.DataFrame({"code": check_codes(df, "code", path), "name": df["name"], "geography": df["geography"],
                        "sex": df["sex"], "age": age.astype(int),
                        "population": check_numeric(df, "population", path)})
    check_unique(out, ["code", "sex", "age"], path)
    return out


def read_mye_components(path: Path) -> pd.DataFrame:
    """MYEB3 components of change by LAD (2020 codes) and year: ``code``, ``name``, ``country``,
    ``year`` (the mid-year the year of change ends in), the components and the populations."""
    counts = ["births", "deaths", "internal_in", "internal_out", "international_in", "international_out",
              "population", "population_prev"]
    df = read_csv(path, ["ladcode20", "laname20", "country", "year", *counts])
    df = df.rename(columns={"ladcode20": "code", "laname20": "name"})
    df["code"] = check_codes(df, "code", path)
    for c in counts:
        df[c] = check_numeric(df, c, path)
    check_unique(df, ["code", "year"], path)
    return df


def read_mye3_components(path: Path) -> pd.DataFrame:
    """MYE3 / MYE3a components of change by area (LADs and aggregates, column ``geography``).

    Columns: ``code``, ``name``, ``geography``, ``population_start`` (mid-2019 or the Census 2021
    population), ``births``, ``deaths``, ``internal_in``, ``internal_out``, ``internal_net``,
    ``international_in``, ``international_out`` (NaN where the file gives only the net, MYE3a),
    ``international_net``, ``other`` and ``population_end``. Internal in/out are NaN where ONS
    writes "No data" (UK and GB rows); every other count must be numeric.
    """
    df = read_csv(path, ["code", "name", "geography", "births", "deaths", "internal_in", "internal_out",
                         "internal_net", "international_net", "other"])
    start = next((c for c in ("population_mid2019", "census2021_population") if c in df.columns), None)
    end = next((c for c in ("population_mid2020", "population_mid2021") if c in df.columns), None)
    if start is None or end is None:
        raise MalformedDataError(path, f"no start/end population columns in {list(df.columns)[:16]}", 1)
    out = pd.DataFrame({"code": check_codes(df, "code", path), "name": df["name"], "geography": df["geography"]})
    out["population_start"] = check_numeric(df, start, path)
    for col in ("births", "deaths"):
        out[col] = check_numeric(df, col, path)
    aggregate = ~df["code"].astype(str).str[:3].isin(("E06", "E07", "E08", "E09", "W06", "S12", "N09"))
    for col in ("internal_in", "internal_out"):
        raw = df[col].where(~(aggregate & (df[col].astype(str).str.strip() == "No data")))
        out[col] = check_numeric(pd.DataFrame({col: raw}), col, path, allow_nan=True)
    out["internal_net"] = check_numeric(df, "internal_net", path, nonnegative=False)
    for col in ("international_in", "international_out"):
        out[col] = (check_numeric(df, col, path) if col in df.columns
                    else pd.Series(np.nan, index=df.index, dtype=float))
    out["international_net"] = check_numeric(df, "international_net", path, nonnegative=False)
    out["other"] = check_numeric(df, "other", path, nonnegative=False)
    out["population_end"] = check_numeric(df, end, path)
    check_unique(out, ["code"], path)
    return out


def read_snpp_wide(path: Path) -> pd.DataFrame:
    """SNPP all ages, wide (``ltlaYY_code``, ``ltlaYY_name``, one column per year) turned long:
    ``code``, ``name``, ``year`` (int) and ``population`` (float, as published)."""
    df = read_csv(path, [])
    code = next((c for c in df.columns if re.fullmatch(r"ltla\d\d_code", c)), None)
    name = next((c for c in df.columns if re.fullmatch(r"ltla\d\d_name", c)), None)
    years = [c for c in df.columns if re.fullmatch(r"\d{4}", str(c))]
    if code is None or name is None or not years:
        raise MalformedDataError(path, f"expected ltlaYY_code, ltlaYY_name and year columns; found "
                                       f"{list(df.columns)[:8]}", 1)
    for y in years:
        df[y] = check_numeric(df, y, path)
    df = df.rename(columns={code: "code", name: "name"})
    df["code"] = check_codes(df, "code", path)
    check_unique(df, ["code"], path)
    long = df.melt(id_vars=["code", "name"], value_vars=years, var_name="year", value_name="population")
    long["year"] = long["year"].astype(int)
    return long


def read_imd(path: Path) -> pd.DataFrame:
    """Deprivation indices by LAD: first ``*_code`` column renamed ``code``; other columns kept."""
    df = read_csv(path, [])
    code = next((c for c in df.columns if c.endswith("_code")), None)
    if code is None:
        raise MalformedDataError(path, "no '*_code' column", 1)
    df = df.rename(columns={code: "code"})
    df["code"] = check_codes(df, "code", path)
    check_unique(df, ["code"], path)
    return df


def read_la_clusters(path: Path) -> pd.DataFrame:
    """ONS LA clusters: ``code``, ``name``, ``global``, ``economic``, ``demographic`` (``[x]`` = unassigned, None)."""
    df = read_csv(path, ["AREACD", "AREANM", "Global", "Economic", "Demographic"])
    df["AREACD"] = check_codes(df, "AREACD", path)
    out = df.rename(columns={"AREACD": "code", "AREANM": "name", "Global": "global",
                             "Economic": "economic", "Demographic": "demographic"})
    for c in ("global", "economic", "demographic"):
        out[c] = out[c].where(out[c] != "[x]", None)
    check_unique(out, ["code"], path)
    return out[["code", "name", "global", "economic", "demographic"]]


#: Columns of a lookup that hold area codes (``ltla21_code``, ``region23_code``, ...); others (e.g. a
#: rural-urban classification code) are left as they are.
_LOOKUP_AREA_COLUMN = re.compile(r"(ltla|utla|lad|region|rgn|cauth|ctry)\d\d_code", re.IGNORECASE)


def read_lookup(path: Path) -> pd.DataFrame:
    """A code lookup, read as strings; its area-code columns (``ltlaYY_code``, ``regionYY_code``...) are checked."""
    df = read_csv(path, [], dtype=str)
    for col in df.columns:
        if _LOOKUP_AREA_COLUMN.fullmatch(str(col)):
            df[col] = check_codes(df, col, path)
    return df


# ---- Census skills and working from home (one row per LAD) -------------------------------------

#: Census table columns: file column -> stable name, per reader. The first count is the table's total.
CENSUS_COLUMNS: dict[str, dict[str, str]] = {
    "read_ts061": {
        "ts0610001_total_16plus_in_employment": "workers",
        "ts0610002_work_mainly_at_or_from_home": "wfh",
        "ts0610003_underground_metro_light_rail_tram": "metro",
        "ts0610004_train": "train",
        "ts0610005_bus_minibus_or_coach": "bus",
        "ts0610006_taxi": "taxi",
        "ts0610007_motorcycle_scooter_or_moped": "motorcycle",
        "ts0610008_driving_a_car_or_van": "car_driver",
        "ts0610009_passenger_in_a_car_or_van": "car_passenger",
        "ts0610010_bicycle": "bicycle",
        "ts0610011_on_foot": "on_foot",
        "ts0610012_other_method_of_travel_to_work": "other",
    },
    "read_ts062": {
        "ts0620001_total_16plus": "residents_16plus",
        "ts0620002_l1_l2_and_l3_higher_managerial_administrative_and_profession": "l1_3",
        "ts0620003_l4_l5_and_l6_lower_managerial_administrative_and_professiona": "l4_6",
        "ts0620004_l7_intermediate_occupations": "l7",
        "ts0620005_l8_and_l9_small_employers_and_own_account_workers": "l8_9",
        "ts0620006_l10_and_l11_lower_supervisory_and_technical_occupations": "l10_11",
        "ts0620007_l12_semi_routine_occupations": "l12",
        "ts0620008_l13_routine_occupations": "l13",
        "ts0620009_l14_1_and_l14_2_never_worked_and_long_term_unemployed": "l14",
        "ts0620010_l15_full_time_students": "l15",
    },
    "read_ts063": {
        "ts0630001_total_16plus_in_employment": "workers",
        **{f"ts063{k + 1:04d}_{lab}": f"soc{k}" for k, lab in enumerate((
            "1_managers_directors_and_senior_officials", "2_professional_occupations",
            "3_associate_professional_and_technical_occupations", "4_administrative_and_secretarial_occupations",
            "5_skilled_trades_occupations", "6_caring_leisure_and_other_service_occupations",
            "7_sales_and_customer_service_occupations", "8_process_plant_and_machine_operatives",
            "9_elementary_occupations"), start=1)},
    },
    "read_ts067": {
        "ts0670001_total_16plus": "residents_16plus",
        "ts0670002_no_qualifications": "no_quals",
        "ts0670003_level_1_and_entry_level_qualifications": "level1",
        "ts0670004_level_2_qualifications": "level2",
        "ts0670005_apprenticeship": "apprenticeship",
        "ts0670006_level_3_qualifications": "level3",
        "ts0670007_level_4_qualifications_and_above": "level4plus",
        "ts0670008_other_qualifications": "other_quals",
    },
    "read_qs606": {
        "in_employment_16_74": "workers",
        "soc1_managers_directors": "soc1", "soc2_professional": "soc2", "soc3_assoc_prof_tech": "soc3",
        "soc4_admin_secretarial": "soc4", "soc5_skilled_trades": "soc5", "soc6_caring_leisure": "soc6",
        "soc7_sales_customer": "soc7", "soc8_process_plant": "soc8", "soc9_elementary": "soc9",
    },
    "read_qs607": {
        "residents_16_74": "residents_16_74",
        "nssec1_higher_man_prof": "nssec1", "nssec2_lower_man_prof": "nssec2", "nssec3_intermediate": "nssec3",
        "nssec4_small_employers_own_account": "nssec4", "nssec5_lower_supervisory_technical": "nssec5",
        "nssec6_semi_routine": "nssec6", "nssec7_routine": "nssec7", "nssec8_never_worked_ltu": "nssec8",
        "nssec_not_classified_students_etc": "not_classified",
    },
    "read_qs501": {
        "residents_16plus": "residents_16plus", "no_quals": "no_quals", "level1": "level1", "level2": "level2",
        "apprenticeship": "apprenticeship", "level3": "level3", "level4plus": "level4plus",
        "other_quals": "other_quals",
    },
}
#: Largest relative gap allowed between a table's total and the sum of its categories (the tables
#: here add up exactly; cell-key perturbation of other releases can leave small gaps).
CENSUS_SUM_RTOL = 0.005


def _census_table(path: Path, reader: str) -> pd.DataFrame:
    """Read a one-row-per-LAD Census table: ``code``, ``name`` and the counts renamed by :data:`CENSUS_COLUMNS`.

    Checks: the columns are present, counts are numeric, whole and non-negative, LAD codes are unique,
    and the categories sum to the total (first column) within :data:`CENSUS_SUM_RTOL`.
    """
    cols = CENSUS_COLUMNS[reader]
    df = read_csv(path, ["lad21cd", "lad21nm", *cols], dtype={"lad21cd": str})
    out = pd.DataFrame({"code": check_codes(df, "lad21cd", path), "name": df["lad21nm"]})
    for src, dst in cols.items():
        out[dst] = check_numeric(df, src, path)
    check_unique(out, ["code"], path)
    names = list(cols.values())
    total, parts = out[names[0]].to_numpy(), out[names[1:]].to_numpy().sum(axis=1)
    gap = np.abs(parts - total) > CENSUS_SUM_RTOL * np.maximum(total, 1.0)
    if gap.any():
        i = int(np.flatnonzero(gap)[0])
        raise MalformedDataError(path, f"categories of column {next(iter(cols))!r} sum to {parts[i]:,.0f}, not its "
                                       f"total {total[i]:,.0f} (LAD {out.code.iloc[i]})", i + 2)
    return out


def read_ts061(path: Path) -> pd.DataFrame:
    """Census 2021 TS061 travel to work: ``code``, ``name``, ``workers`` (residents 16+ in employment),
    ``wfh`` (work mainly at or from home) and the travel modes."""
    return _census_table(path, "read_ts061")


def read_ts062(path: Path) -> pd.DataFrame:
    """Census 2021 TS062 NS-SEC: ``code``, ``name``, ``residents_16plus`` and ``l1_3``, ``l4_6``, ``l7``,
    ``l8_9``, ``l10_11``, ``l12``, ``l13``, ``l14`` (never worked, long-term unemployed), ``l15`` (students)."""
    return _census_table(path, "read_ts062")


def read_ts063(path: Path) -> pd.DataFrame:
    """Census 2021 TS063 occupation: ``code``, ``name``, ``workers`` and ``soc1`` ... ``soc9`` (SOC 2020)."""
    return _census_table(path, "read_ts063")


def read_ts067(path: Path) -> pd.DataFrame:
    """Census 2021 TS067 qualifications: ``code``, ``name``, ``residents_16plus``, ``no_quals``, ``level1``,
    ``level2``, ``apprenticeship``, ``level3``, ``level4plus``, ``other_quals``."""
    return _census_table(path, "read_ts067")


def read_qs606(path: Path) -> pd.DataFrame:
    """Census 2011 QS606EW occupation: ``code``, ``name``, ``workers`` (16-74 in employment), ``soc1`` ...
    ``soc9`` (SOC 2010)."""
    return _census_table(path, "read_qs606")


def read_qs607(path: Path) -> pd.DataFrame:
    """Census 2011 QS607EW NS-SEC: ``code``, ``name``, ``residents_16_74``, ``nssec1`` ... ``nssec8``,
    ``not_classified`` (full-time students and not classifiable)."""
    return _census_table(path, "read_qs607")


def read_qs501(path: Path) -> pd.DataFrame:
    """Census 2011 QS501EW qualifications: the columns of :func:`read_ts067`."""
    return _census_table(path, "read_qs501")


# ---- MSOA and output-area files (Census 2021 geography) ----------------------------------------

#: Bounds of British National Grid coordinates in Great Britain (metres): a centroid outside is refused.
_BNG_BOUNDS = (0.0, 0.0, 700_000.0, 1_300_000.0)


def read_od_msoa(path: Path) -> pd.DataFrame:
    """Census 2021 ODMG01EW / ODWP01EW at MSOA level: ``origin``, ``destination``, ``count``.

    Origins and destinations are GSS codes (E02/W02 MSOAs, S02 Scottish intermediate zones, N09 NI
    districts); workplaces may also be :data:`~migravity.geodata.codes.MSOA_WORKPLACE_CODES`
    (``111111111`` at home or no fixed place, ``888888888`` offshore, ``999999999`` outside the UK).
    Only non-zero flows are published; counts must be positive whole numbers.
    """
    df = read_csv(path, ["origin", "destination", "count"], dtype={"origin": str, "destination": str})
    out = pd.DataFrame({"origin": check_codes(df, "origin", path),
                        "destination": check_codes(df, "destination", path, also=MSOA_WORKPLACE_CODES),
                        "count": check_numeric(df, "count", path)})
    frac = out["count"].to_numpy() % 1.0 != 0.0
    if frac.any():
        i = int(np.flatnonzero(frac)[0])
        raise MalformedDataError(path, f"column 'count' holds {out['count'].iloc[i]}, not a whole number", i + 2)
    check_unique(out, ["origin", "destination"], path)
    return out


def read_msoa_boundaries(path: Path) -> Any:
    """MSOA 2021 polygons: ``code``, ``name``, ``geometry`` (CRS as in the file, EPSG:4326 here).

    The ONS BSC file has 13 self-intersecting polygons as published; they are repaired with
    ``buffer(0)`` and their codes listed in ``attrs["repaired"]`` (then every polygon must be valid).
    """
    import geopandas as gpd

    where = f"/vsigzip/{path}" if str(path).endswith(".gz") else path
    try:
        gdf = gpd.read_file(where)
    except Exception as e:  # pyogrio raises DataSourceError and friends
        raise MalformedDataError(path, f"cannot read vector file ({e})") from e
    if gdf.crs is None:
        raise MalformedDataError(path, "geometry has no CRS; expected EPSG:4326 or EPSG:27700")
    for col in ("MSOA21CD", "MSOA21NM"):
        if col not in gdf.columns:
            raise MalformedDataError(path, f"no {col} column in {list(gdf.columns)}")
    out = gdf[["MSOA21CD", "MSOA21NM", "geometry"]].rename(columns={"MSOA21CD": "code", "MSOA21NM": "name"})
    if out.geometry.isna().any() or out.geometry.is_empty.any():
        i = int(np.flatnonzero((out.geometry.isna() | out.geometry.is_empty).to_numpy())[0])
        raise MalformedDataError(path, f"feature {out.code.iloc[i]} has no geometry")
    out["code"] = check_codes(out, "code", path)
    check_unique(out, ["code"], path)
    invalid = ~out.geometry.is_valid.to_numpy()
    repaired = sorted(out.code[invalid])
    if invalid.any():
        out.loc[invalid, "geometry"] = out.geometry[invalid].buffer(0)
    check_geometry(out, path)
    out.attrs["repaired"] = repaired
    return out


def read_msoa_lookup(path: Path) -> pd.DataFrame:
    """MSOA 2021 -> LAD 2021: ``code``, ``name``, ``lad21cd``, ``lad21nm``, ``area_km2_land``,
    ``area_km2_bsc`` (the BSC polygon's area)."""
    df = read_csv(path, ["msoa21cd", "msoa21nm", "lad21cd", "lad21nm", "area_km2_land", "shape_area_km2_bsc"],
                  dtype={"msoa21cd": str, "lad21cd": str})
    out = pd.DataFrame({"code": check_codes(df, "msoa21cd", path), "name": df["msoa21nm"].astype(str),
                        "lad21cd": check_codes(df, "lad21cd", path), "lad21nm": df["lad21nm"].astype(str),
                        "area_km2_land": check_numeric(df, "area_km2_land", path),
                        "area_km2_bsc": check_numeric(df, "shape_area_km2_bsc", path)})
    check_unique(out, ["code"], path)
    return out


#: TS019 MSOA counts: file column -> stable name. The first is the total; the others partition it.
TS019_COLUMNS: dict[str, str] = {
    "all_usual_residents": "residents_1plus",
    "address_one_year_ago_is_the_same": "same_address",
    "address_one_year_ago_is_student_or_boarding": "student_or_boarding",
    "migrant_from_within_uk": "migrant_within_uk",
    "migrant_from_outside_uk": "migrant_outside_uk",
}


def read_ts019_msoa(path: Path) -> pd.DataFrame:
    """Census 2021 TS019 by MSOA: ``code``, ``name`` and the counts of :data:`TS019_COLUMNS`, which
    must add up to the total (within :data:`CENSUS_SUM_RTOL`)."""
    df = read_csv(path, ["msoa21_code", "msoa21_name", *TS019_COLUMNS], dtype={"msoa21_code": str})
    out = pd.DataFrame({"code": check_codes(df, "msoa21_code", path), "name": df["msoa21_name"].astype(str)})
    for src, dst in TS019_COLUMNS.items():
        out[dst] = check_numeric(df, src, path)
    check_unique(out, ["code"], path)
    _check_parts(out, list(TS019_COLUMNS.values()), path)
    return out


def _check_parts(out: pd.DataFrame, names: list[str], path: Path) -> None:
    """Raise naming the first row whose categories (``names[1:]``) do not add up to its total (``names[0]``)."""
    total, parts = out[names[0]].to_numpy(), out[names[1:]].to_numpy().sum(axis=1)
    gap = np.abs(parts - total) > CENSUS_SUM_RTOL * np.maximum(total, 1.0)
    if gap.any():
        i = int(np.flatnonzero(gap)[0])
        raise MalformedDataError(path, f"categories of {names[0]!r} sum to {parts[i]:,.0f}, not its total "
                                       f"{total[i]:,.0f} (area {out.code.iloc[i]})", i + 2)


def read_oa_lookup(path: Path) -> pd.DataFrame:
    """Output areas 2021 (derived lookup): ``code``, ``easting``, ``northing`` (population-weighted
    centroid, British National Grid metres) and ``lad21cd``."""
    df = read_csv(path, ["oa21cd", "pwc_easting", "pwc_northing", "lad21cd"],
                  dtype={"oa21cd": str, "lad21cd": str})
    out = pd.DataFrame({"code": check_codes(df, "oa21cd", path),
                        "easting": check_numeric(df, "pwc_easting", path),
                        "northing": check_numeric(df, "pwc_northing", path),
                        "lad21cd": check_codes(df, "lad21cd", path)})
    x0, y0, x1, y1 = _BNG_BOUNDS
    off = ~(out.easting.between(x0, x1) & out.northing.between(y0, y1)).to_numpy()
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise MalformedDataError(path, f"centroid ({out.easting.iloc[i]}, {out.northing.iloc[i]}) of "
                                       f"{out.code.iloc[i]} lies outside British National Grid", i + 2)
    check_unique(out, ["code"], path)
    return out


def read_oa_table(path: Path) -> pd.DataFrame:
    """A Census 2021 topic-summary table at output-area level (Parquet): ``code`` and the counts, named
    as the LAD readers name them (:data:`CENSUS_COLUMNS`, e.g. ``workers``, ``wfh`` for TS061).

    Checks: the ``OA`` column and every ``tsNNN000k`` column of the table are present, counts are
    finite, non-negative whole numbers, codes are unique and the categories add up to the total.
    """
    try:
        df = pd.read_parquet(path)
    except ImportError as e:
        raise MalformedDataError(path, f"cannot read Parquet ({e}); install pyarrow") from e
    except Exception as e:  # pyarrow.ArrowInvalid and friends
        raise MalformedDataError(path, f"cannot read Parquet ({type(e).__name__}: {e})") from e
    table = re.fullmatch(r"(ts\d{3})\.parquet", path.name)
    reader = f"read_{table.group(1)}" if table else ""
    if reader not in CENSUS_COLUMNS:
        raise MalformedDataError(path, "expected a file named tsNNN.parquet of TS061, TS062, TS063 or TS067")
    cols = {src[:9]: dst for src, dst in CENSUS_COLUMNS[reader].items()}
    missing = [c for c in ("OA", *cols) if c not in df.columns]
    if missing:
        raise MalformedDataError(path, f"missing column(s) {missing}; found {list(df.columns)[:14]}", 1)
    if len(df) == 0:
        raise MalformedDataError(path, "the table has no rows", 1)
    out = pd.DataFrame({"code": check_codes(df.assign(OA=df["OA"].astype(str)), "OA", path)})
    for src, dst in cols.items():
        values = check_numeric(df, src, path)
        frac = values.to_numpy() % 1.0 != 0.0
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise MalformedDataError(path, f"column {src!r} holds {values.iloc[i]}, not a whole number", i + 2)
        out[dst] = values
    check_unique(out, ["code"], path)
    _check_parts(out, list(cols.values()), path)
    return out
