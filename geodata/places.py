"""Place groupings of LADs: combined authorities, regions and user-defined groups, each with source and vintage.

A :class:`Grouping` maps group names to the zone codes of their member LADs. Three kinds:

- ``cauth``: English combined authorities and mayoral strategic authorities (ONS ``E47`` codes)
  from the ONS TopoJSON of administrative areas 2014-2025 (registry ``admin_boundaries_bsc``,
  objects ``cauth`` and ``ltla`` with start and end years). Membership is derived explicitly
  by overlay: a LAD of the zone set (its geometry in the zone vintage's year) belongs to the
  authority whose polygon, in the year asked for, contains its representative point. The BSC
  authority polygons are unions of the same LAD geometries, so the point test is exact. The
  default year is the latest year with the zone vintage's codes (2023 codes: 2024; 2021 codes:
  2022), so the codes are the zone set's without any lookup. Sheffield City Region (``E47000002``)
  is South Yorkshire since 2021: both names are accepted.
- ``region``: the ITL1 regions on the zones (English regions, Wales).
- ``user``: a CSV of ``lad,group`` rows (:func:`read_user_groups`).

Names are matched case-insensitively; unknown names are errors listing the allowed ones.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from migravity.errors import ConfigError, MalformedDataError

if TYPE_CHECKING:
    from migravity.geodata.datadir import DataDir
    from migravity.geodata.zones import ZoneSet

__all__ = ["DATASET", "KINDS", "GroupKind", "Grouping", "cauth_grouping", "default_year", "read_user_groups",
           "region_grouping"]

GroupKind = Literal["cauth", "region", "user"]
KINDS: tuple[str, ...] = ("cauth", "region", "user")
#: Registry name of the administrative areas file.
DATASET: Final = "admin_boundaries_bsc"
#: Other names of combined authorities (lower case -> the file's name).
ALIASES: Final = {"south yorkshire": "sheffield city region", "sheffield city region": "south yorkshire"}
#: Renamed authorities: code -> (first year of the new name, new name). The file keeps the old name.
RENAMED: Final = {"E47000002": (2021, "South Yorkshire")}
#: Latest year whose LAD codes are those of a zone vintage (PROVENANCE: 2021 = 2022, 2023 = 2024).
_LATEST_YEAR: Final = {"2021": 2022, "2023": 2024}
#: Years covered by the administrative areas file.
YEARS: Final = (2014, 2025)


@dataclass(frozen=True)
class Grouping:
    """Groups of LADs (zone codes), with where the membership comes from.

    Attributes
    ----------
    kind : {"cauth", "region", "user"}
        The kind of grouping.
    members : mapping of str to tuple of str
        Group name -> member zone codes (non-empty, disjoint across groups).
    codes : mapping of str to str
        Group name -> group code (ONS code, or the name for user groups).
    source : str
        Where the membership comes from.
    vintage : str
        The year (or code vintage) of the membership.
    """

    kind: str
    members: Mapping[str, tuple[str, ...]]
    codes: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    vintage: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError("kind", self.kind, "use one of " + ", ".join(KINDS))
        seen: dict[str, str] = {}
        for name, lads in self.members.items():
            if not lads:
                raise ConfigError("group", name, "a group needs at least one LAD")
            for lad in lads:
                if lad in seen and seen[lad] != name:
                    raise ConfigError("group", f"{lad} in {seen[lad]} and {name}", "put each LAD in one group only")
                seen[lad] = name
        lower = [n.lower() for n in self.members]
        if len(set(lower)) != len(lower):
            raise ConfigError("group", sorted(self.members), "group names must differ ignoring case")

    @property
    def names(self) -> list[str]:
        """Group names, in order."""
        return list(self.members)

    def resolve(self, name: str) -> str:
        """The group called ``name`` (case-insensitive; known aliases accepted; a region also by its code).

        Parameters
        ----------
        name : str
            A group name, e.g. ``"west midlands"``.

        Returns
        -------
        str
            The name as stored.

        Raises
        ------
        ConfigError
            No such group (the allowed names are listed).
        """
        want = name.strip().lower()
        wants = {want, ALIASES.get(want, want)} if self.kind == "cauth" else {want}
        if self.kind == "region":  # a region code or another accepted name (geodata.zones.resolve_region)
            from migravity.geodata.zones import REGION_ALIASES, REGIONS

            wants |= {n.lower() for n, c in self.codes.items() if c.lower() == want}
            if want in REGION_ALIASES:
                wants.add(REGIONS[REGION_ALIASES[want]].lower())
        for n in self.members:
            if n.lower() in wants:
                return n
        hint = (f" (English combined authorities in {self.vintage}; other places: --kind region or --groups FILE)"
                if self.kind == "cauth" else "")
        raise ConfigError("place", name, f"use one of the {self.kind} groups{hint}: " + ", ".join(sorted(self.members)))

    def group_of(self) -> dict[str, str]:
        """Zone code -> group name, for every LAD in a group."""
        return {lad: g for g, lads in self.members.items() for lad in lads}


def default_year(vintage: str) -> int:
    """The default membership year for a zone vintage: the latest year with its LAD codes."""
    if vintage in _LATEST_YEAR:
        return _LATEST_YEAR[vintage]
    try:
        return int(vintage)
    except ValueError:
        raise ConfigError("vintage", vintage, "use one of " + ", ".join(_LATEST_YEAR)) from None


def _in_year(frame: Any, year: int) -> Any:
    return frame[(frame.start <= year) & (frame.end >= year)]


def cauth_grouping(zones: ZoneSet, year: int | None = None, data_dir: DataDir = None) -> Grouping:
    """English combined authorities in ``year`` with their member LADs of ``zones``.

    Parameters
    ----------
    zones : ZoneSet
        The study area; members are its codes (LADs outside it are left out).
    year : int, optional
        Membership year, 2014-2025 (default :func:`default_year` of the zones' vintage).
    data_dir : path-like, optional
        The data directory.

    Returns
    -------
    Grouping
        Kind ``cauth``, groups ordered by code; authorities with no LAD in ``zones`` are left out.

    Raises
    ------
    ConfigError
        ``year`` outside the file's years.
    MalformedDataError
        A LAD of the zones is missing from the file, or lies in two authorities.
    """
    import geopandas as gpd
    import shapely

    from migravity.geodata.readers import load

    year = default_year(zones.vintage) if year is None else int(year)
    if not YEARS[0] <= year <= YEARS[1]:
        raise ConfigError("year", year, f"use a year from {YEARS[0]} to {YEARS[1]}")
    areas = load(DATASET, data_dir)
    lad_year = min(default_year(zones.vintage), YEARS[1])
    ltla = _in_year(areas[areas.layer == "ltla"], lad_year)
    ltla = ltla[ltla.code.isin(set(zones.codes))].drop_duplicates("code")
    missing = sorted(set(zones.codes) - set(ltla.code))
    if missing:
        from migravity.geodata.registry import get

        raise MalformedDataError(Path(get(DATASET).filename),
                                 f"no {lad_year} LAD geometry for {len(missing)} zone codes, e.g. {missing[0]}")
    ca = _in_year(areas[(areas.layer == "cauth") & areas.code.str.startswith("E47")], year)
    points = gpd.GeoDataFrame({"lad": ltla.code.to_numpy()},
                              geometry=shapely.make_valid(ltla.geometry.to_numpy()), crs=areas.crs)
    points = points.set_geometry(points.geometry.representative_point())
    polys = gpd.GeoDataFrame({"ca": ca.code.to_numpy(), "ca_name": ca.name.to_numpy()},
                             geometry=shapely.make_valid(ca.geometry.to_numpy()), crs=areas.crs)
    joined = gpd.sjoin(points, polys, predicate="within", how="inner")
    dup = joined[joined.lad.duplicated(keep=False)]
    if len(dup):
        raise MalformedDataError(Path("admin_boundaries_bsc"), f"LAD {dup.lad.iloc[0]} lies in two authorities")
    order = {c: i for i, c in enumerate(zones.codes)}
    members: dict[str, tuple[str, ...]] = {}
    codes: dict[str, str] = {}
    for (code, name), sub in sorted(joined.groupby(["ca", "ca_name"]), key=lambda kv: kv[0][0]):
        since, new = RENAMED.get(str(code), (9999, ""))
        label = new if year >= since else str(name)
        members[label] = tuple(sorted(map(str, sub.lad), key=order.__getitem__))
        codes[label] = str(code)
    return Grouping("cauth", members, codes,
                    source="ONS administrative areas 2014-2025 (ONSvisual uk-topojson, BSC); LADs by representative "
                           "point in the authority polygon", vintage=str(year))


def region_grouping(zones: ZoneSet) -> Grouping:
    """The ITL1 regions of ``zones`` (English regions and Wales), from the zone set."""
    members: dict[str, list[str]] = {}
    codes: dict[str, str] = {}
    for lad, rc, rn in zip(zones.codes, zones.region_codes, zones.region_names, strict=True):
        members.setdefault(rn, []).append(lad)
        codes[rn] = rc
    return Grouping("region", {k: tuple(v) for k, v in members.items()}, codes,
                    source="ONS LAD to region lookup (on the zones)", vintage=zones.vintage)


def read_user_groups(path: str | os.PathLike[str], zones: ZoneSet) -> Grouping:
    """User-defined groups from a CSV with columns ``lad`` and ``group``.

    Parameters
    ----------
    path : path-like
        The CSV (one row per LAD; a header ``lad,group``).
    zones : ZoneSet
        The LAD codes allowed.

    Returns
    -------
    Grouping
        Kind ``user``, groups in the file's order.

    Raises
    ------
    DataMissingError, MalformedDataError
        Missing file, missing columns or empty values.
    ConfigError
        A code that is not a zone of the run, or a LAD in two groups.
    """
    from migravity.geodata.readers import read_csv

    p = Path(path)
    if not p.is_file():
        raise ConfigError("--groups", str(p), "no such file; give a CSV with columns lad,group")
    df = read_csv(p, ["lad", "group"], dtype=str)
    df["lad"] = df["lad"].str.strip()
    df["group"] = df["group"].str.strip()
    if df[["lad", "group"]].isna().any().any() or (df[["lad", "group"]] == "").any().any():
        raise MalformedDataError(p, "empty lad or group value")
    unknown = sorted(set(df.lad) - set(zones.codes))
    if unknown:
        raise ConfigError("--groups", unknown[0], f"not a LAD of the run's {zones.vintage} zones ({len(zones)} codes,"
                                                  " e.g. " + ", ".join(zones.codes[:3]) + ")")
    df = df.drop_duplicates()
    two = df[df.lad.duplicated(keep=False)]
    if len(two):
        lad = two.lad.iloc[0]
        raise ConfigError("--groups", f"{lad} in " + " and ".join(sorted(two[two.lad == lad].group)),
                          "put each LAD in one group only")
    members = {str(g): tuple(map(str, sub.lad)) for g, sub in df.groupby("group", sort=False)}
    return Grouping("user", members, {g: g for g in members}, source=f"user file {p.name}", vintage=zones.vintage)
