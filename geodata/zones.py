"""The study area: a frozen set of zones (LADs, or MSOAs) with codes, names, region, nation and geometry.

``load_zones(level="lad")`` (default) gives local authority districts; ``level="msoa"`` the 7,264
middle layer super output areas of England and Wales (2021 codes), with their parent LAD, land area
and population-weighted centroids (:mod:`migravity.geodata.msoa`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from migravity.errors import ConfigError, HarmonisationError, MalformedDataError, check_choice
from migravity.geodata.datadir import DataDir, dataset_path
from migravity.geodata.readers import check_unique, load

if TYPE_CHECKING:
    import geopandas as gpd

ZoneVintage = Literal["2021", "2023"]
ZoneLevel = Literal["lad", "msoa"]
LEVELS: tuple[str, ...] = ("lad", "msoa")
Area = Literal["EW", "England", "Wales", "GB", "UK"]

BNG = "EPSG:27700"
AREAS: dict[str, tuple[str, ...]] = {
    "EW": ("E", "W"), "England": ("E",), "Wales": ("W",), "GB": ("E", "W", "S"), "UK": ("E", "W", "S", "N"),
}
NATIONS = {"E": "England", "W": "Wales", "S": "Scotland", "N": "Northern Ireland"}
#: Nations outside England are their own ITL1 region.
NATION_REGIONS = {"W": ("W92000004", "Wales"), "S": ("S92000003", "Scotland"),
                  "N": ("N92000002", "Northern Ireland")}
#: The ITL1 regions by code: the nine English regions (ONS names, stable since 2009) and the other nations.
REGIONS: dict[str, str] = {
    "E12000001": "North East", "E12000002": "North West", "E12000003": "Yorkshire and The Humber",
    "E12000004": "East Midlands", "E12000005": "West Midlands", "E12000006": "East of England",
    "E12000007": "London", "E12000008": "South East", "E12000009": "South West",
    **{code: name for code, name in NATION_REGIONS.values()},
}
#: Other names accepted for a region (lower case).
REGION_ALIASES: dict[str, str] = {"east": "E12000006", "eastern": "E12000006", "yorkshire": "E12000003",
                                  "greater london": "E12000007"}
#: The descriptive columns of a zone table, in order (:meth:`ZoneSet.columns`).
ZONE_COLUMNS: tuple[str, ...] = ("code", "name", "region_code", "region_name", "nation")
#: The Greater South East: London, South East, East of England.
GSE_REGIONS = frozenset({"E12000007", "E12000008", "E12000006"})

_BOUNDARIES = {"2021": "lad_boundaries_2021", "2023": "lad_boundaries_2024"}
_REGION_LOOKUP = {"2021": ("lookup_ltla21_region21", "ltla21"), "2023": ("lookup_ltla23_region23", "ltla23")}


@dataclass(frozen=True, eq=False)
class ZoneSet:
    """A study area of LAD zones (immutable).

    Attributes
    ----------
    vintage : str
        Code vintage, ``"2021"`` or ``"2023"``.
    area : str
        ``"EW"``, ``"England"``, ``"Wales"``, ``"GB"`` or ``"UK"``.
    codes, names, region_codes, region_names, nations : tuple of str
        One entry per zone, sorted by code.
    geometry : geopandas.GeoSeries
        Polygons in British National Grid (EPSG:27700), indexed by code.
    level : str
        ``"lad"`` or ``"msoa"``.
    parents : tuple of str
        MSOA zones: the parent LAD (2021 code) of each zone; ``()`` for LAD zones.
    centroids : numpy.ndarray or None
        ``(n, 2)`` BNG metres: the points distances are measured between where they are not the
        polygon centroids (MSOA: population-weighted, :mod:`migravity.geodata.msoa`).
    land_area_km2 : numpy.ndarray or None
        Land area (ONS Standard Area Measurements) per zone, where known (MSOA).
    """

    vintage: str
    area: str
    codes: tuple[str, ...]
    names: tuple[str, ...]
    region_codes: tuple[str, ...]
    region_names: tuple[str, ...]
    nations: tuple[str, ...]
    geometry: gpd.GeoSeries
    level: str = "lad"
    parents: tuple[str, ...] = ()
    centroids: np.ndarray | None = None
    land_area_km2: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def index(self) -> pd.Index:
        """The zone codes as a pandas Index named after the level (``lad`` or ``msoa``)."""
        return pd.Index(self.codes, name=self.level)

    @property
    def gse(self) -> np.ndarray:
        """Boolean array: zone is in the Greater South East (London, South East, East of England)."""
        return np.array([r in GSE_REGIONS for r in self.region_codes])

    def position(self, code: str) -> int:
        """Position of ``code`` in the zone set; raises KeyError naming the code."""
        try:
            return self.codes.index(code)
        except ValueError:
            raise KeyError(f"{code} is not a zone of {self}") from None

    def columns(self) -> dict[str, list[str]]:
        """The zones' descriptive columns, :data:`ZONE_COLUMNS`, one entry per zone.

        Returns
        -------
        dict of str to list of str
            ``code``, ``name``, ``region_code``, ``region_name`` and ``nation``, in zone order.
        """
        values = (self.codes, self.names, self.region_codes, self.region_names, self.nations)
        return {col: list(v) for col, v in zip(ZONE_COLUMNS, values, strict=True)}

    def frame(self) -> gpd.GeoDataFrame:
        """The zones as a GeoDataFrame (EPSG:27700) with the :meth:`columns` and the polygons."""
        import geopandas as gpd

        return gpd.GeoDataFrame(self.columns(), geometry=self.geometry.to_numpy(), crs=self.geometry.crs)

    def __repr__(self) -> str:
        level = "" if self.level == "lad" else f", level={self.level!r}"
        return f"ZoneSet(vintage={self.vintage!r}, area={self.area!r}{level}, n={len(self)})"


def resolve_region(value: str, field: str = "region") -> str:
    """The ITL1 region code of ``value``: a region code or name, case-insensitive (``"london"``, ``"South East"``).

    Parameters
    ----------
    value : str
        A code of :data:`REGIONS` (``"E12000007"``), a region name (``"London"``, ``"south east"``) or an
        alias of :data:`REGION_ALIASES` (``"East"``, ``"Yorkshire"``).
    field : str
        The option or key named in the error (``--region``, ``changes[0].regions``).

    Returns
    -------
    str
        The region code.

    Raises
    ------
    ConfigError
        Unknown region: one line listing the valid names.
    """
    want = " ".join(str(value).split()).lower()
    for code, name in REGIONS.items():
        if want in (code.lower(), name.lower()):
            return code
    if want in REGION_ALIASES:
        return REGION_ALIASES[want]
    raise ConfigError(field, value, "use a region name or code: " + ", ".join(REGIONS.values()))


def zones_in_regions(zones: ZoneSet, regions: Sequence[str], field: str = "--region") -> ZoneSet:
    """The zones of ``zones`` in the given regions (codes or names, :func:`resolve_region`), in zone order.

    Raises
    ------
    ConfigError
        An unknown region, or a region with no zone in ``zones`` (the study area's regions are listed).
    """
    wanted = {resolve_region(r, field) for r in regions}
    present = set(zones.region_codes)
    absent = sorted(wanted - present)
    if absent:
        raise ConfigError(field, ", ".join(REGIONS.get(c, c) for c in absent),
                          "the study area has none of its zones there; use one of "
                          + ", ".join(REGIONS.get(c, c) for c in sorted(present)))
    keep = np.array([r in wanted for r in zones.region_codes])

    return select_zones(zones, keep)


def load_zones(
    vintage: ZoneVintage = "2023", area: Area = "EW", data_dir: DataDir = None, level: ZoneLevel = "lad"
) -> ZoneSet:
    """Load the zones of a study area from the ONS boundaries: LADs (default) or MSOAs.

    Parameters
    ----------
    vintage : {"2023", "2021"}
        ``"2023"`` (default; 318 zones for England and Wales) or ``"2021"`` (331, the Census 2021
        geography).
    area : {"EW", "England", "Wales", "GB", "UK"}
        Nations included. ``"UK"`` gives 361 zones on 2023 codes.
    data_dir : path-like, optional
        Data directory (see :func:`migravity.geodata.datadir.resolve_data_dir`).
    level : {"lad", "msoa"}
        ``"msoa"``: the 7,264 MSOAs of England and Wales (``vintage="2021"``; area ``"EW"``,
        ``"England"`` or ``"Wales"``), see :func:`load_msoa_zones`.

    Returns
    -------
    ZoneSet
    """
    check_choice("level", level, LEVELS)
    check_choice("vintage", vintage, _BOUNDARIES)
    check_choice("area", area, AREAS)
    if level == "msoa":
        return load_msoa_zones(vintage, area, data_dir)
    gdf = load(_BOUNDARIES[vintage], data_dir)
    if gdf.crs is None:  # read_boundaries refuses this already; keep the invariant explicit
        raise MalformedDataError(_BOUNDARIES[vintage], "geometry has no CRS")
    gdf = gdf[gdf.code.str[0].isin(AREAS[area])].to_crs(BNG).sort_values("code")
    lookup_name, prefix = _REGION_LOOKUP[vintage]
    lk = load(lookup_name, data_dir)
    check_unique(lk, [f"{prefix}_code"], dataset_path(lookup_name, data_dir))  # .at below needs one row per code
    lk = lk.set_index(f"{prefix}_code")
    regions, region_names = [], []
    for code in gdf.code:
        if code[0] == "E":
            if code not in lk.index:
                raise HarmonisationError(f"English LAD {code} has no region in {lookup_name}")
            regions.append(lk.at[code, f"region{prefix[-2:]}_code"])
            region_names.append(lk.at[code, f"region{prefix[-2:]}_name"])
        else:
            r, n = NATION_REGIONS[code[0]]
            regions.append(r)
            region_names.append(n)
    geometry = gdf.set_index("code").geometry
    geometry.index.name = "lad"
    return ZoneSet(
        vintage=vintage, area=area, codes=tuple(gdf.code), names=tuple(gdf.name),
        region_codes=tuple(regions), region_names=tuple(region_names),
        nations=tuple(NATIONS[c[0]] for c in gdf.code), geometry=geometry,
    )


def load_msoa_zones(vintage: ZoneVintage = "2021", area: Area = "EW", data_dir: DataDir = None) -> ZoneSet:
    """The MSOA zones (2021) of England and Wales, or of one of the two nations.

    Codes and names from the ONS BSC boundaries (British National Grid; 13 self-intersecting
    polygons repaired with ``buffer(0)``), parent LAD and land area from the MSOA -> LAD lookup (every
    MSOA must have one and the two files must hold the same codes), region from the parent LAD,
    centroids population-weighted from the output areas (:mod:`migravity.geodata.msoa`).

    Raises
    ------
    ConfigError
        A vintage other than ``"2021"`` or an area beyond England and Wales.
    HarmonisationError
        The boundaries and the lookup disagree, or an English parent LAD has no region.
    """
    from migravity.geodata.msoa import CENTROID_WEIGHTS, msoa_polygons, oa_to_msoa, weighted_centroids

    if vintage != "2021":
        raise ConfigError("vintage", vintage, "MSOA zones exist on 2021 codes only: use vintage '2021'")
    if area not in ("EW", "England", "Wales"):
        raise ConfigError("area", area, "MSOAs cover England and Wales only: use EW, England or Wales")
    polys = msoa_polygons(data_dir)
    lk = load("lookup_msoa21_lad21", data_dir).set_index("code")
    if set(lk.index) != set(polys.code):
        diff = sorted(set(lk.index) ^ set(polys.code))
        raise HarmonisationError(f"msoa_boundaries_2021 and lookup_msoa21_lad21 disagree on {len(diff)} "
                                 f"MSOA codes, e.g. {diff[:5]}")
    oa = oa_to_msoa(data_dir, polys)
    weights = load(CENTROID_WEIGHTS, data_dir).set_index("code")["residents_16plus"]
    pos = pd.Series(np.arange(len(polys)), index=polys.code.to_numpy())
    xy, how = weighted_centroids(oa[["easting", "northing"]].to_numpy(), oa.code.map(weights).fillna(0.0).to_numpy(),
                                 oa.msoa.map(pos).to_numpy(), len(polys))
    if (how == 2).any():  # unreachable on the registered files (oa_to_msoa refuses empty MSOAs)
        c = polys.geometry.centroid
        xy[how == 2] = np.column_stack([c.x, c.y])[how == 2]
    keep = polys.code.str[0].isin(AREAS[area]).to_numpy()
    polys, xy = polys[keep], xy[keep]
    parents = lk.loc[polys.code, "lad21cd"].to_numpy()
    region_lk = load("lookup_ltla21_region21", data_dir)
    check_unique(region_lk, ["ltla21_code"], dataset_path("lookup_ltla21_region21", data_dir))
    region_lk = region_lk.set_index("ltla21_code")
    regions, region_names = [], []
    for lad in parents:
        if lad[0] == "E":
            if lad not in region_lk.index:
                raise HarmonisationError(f"English LAD {lad} (parent of MSOAs) has no region in lookup_ltla21_region21")
            regions.append(region_lk.at[lad, "region21_code"])
            region_names.append(region_lk.at[lad, "region21_name"])
        else:
            r, n = NATION_REGIONS[lad[0]]
            regions.append(r)
            region_names.append(n)
    geometry = polys.set_index("code").geometry
    geometry.index.name = "msoa"
    return ZoneSet(
        vintage="2021", area=area, codes=tuple(polys.code), names=tuple(polys.name),
        region_codes=tuple(regions), region_names=tuple(region_names),
        nations=tuple(NATIONS[c[0]] for c in polys.code), geometry=geometry, level="msoa",
        parents=tuple(parents), centroids=xy,
        land_area_km2=lk.loc[polys.code, "area_km2_land"].to_numpy(dtype=float),
    )


def select_zones(zones: ZoneSet, keep: np.ndarray) -> ZoneSet:
    """The zones of ``zones`` where the boolean mask ``keep`` is true, every per-zone field subset alike.

    Parameters
    ----------
    zones : ZoneSet
    keep : ndarray of bool (n,)

    Returns
    -------
    ZoneSet
    """
    import dataclasses

    def pick(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v for v, k in zip(values, keep, strict=True) if k)

    return dataclasses.replace(zones, codes=pick(zones.codes), names=pick(zones.names),
                               region_codes=pick(zones.region_codes), region_names=pick(zones.region_names),
                               nations=pick(zones.nations), geometry=zones.geometry[keep],
                               parents=pick(zones.parents) if zones.parents else (),
                               centroids=None if zones.centroids is None else zones.centroids[keep],
                               land_area_km2=None if zones.land_area_km2 is None else zones.land_area_km2[keep])
