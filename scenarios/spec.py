"""Scenario files: TOML, validated on load into frozen dataclasses.

A scenario file (all keys optional except where noted)::

    name = "wfh_uptake"                  # default: the file's stem
    description = "..."
    years = 10                            # run settings; the CLI overrides them
    draws = 200
    seed = 2021
    mode = "production"                   # or "unconstrained"
    housing_feedback = 0.0                # d log(price) / (net inflow / workers); 0 = off
    segment_table = "my_segments.csv"     # lad, segment, share (replaces the derived shares)
    migration_pattern = "census2021"      # destination choice and move rates of the migration step:
                                          # "precovid" or "census2021" (default: the baseline's)

    [[wfh]]                               # change a WFH class share, within a skill group
    class = "never"                       # never, monthly, 1day, 2day, 3day, 4day, always, variable
    skill = "high"                        # high, other, all
    factor = 0.5                          # or: share = 0.2 (the new share, 0..1)
    to = ["1day", "2day", "3day", "4day"] # classes that give or take the difference (default: all others)
    regions = ["North West"]              # optional: only these regions (names or codes) ...
    lads = ["E08000003"]                  # ... or LADs (default: everywhere)

    [[house_prices]]                      # percent change; exactly one selector
    pct = -15
    area = "outside_gse"                  # all, gse, outside_gse
    # regions = [...] / lads = [...] / table = "prices.csv" (columns lad, pct)

    [[earnings]]                          # same form as house_prices
    pct = 5
    area = "all"

    [parameters]                          # any model parameter: a number fixes, [low, high] a range
    theta_pay = [0.25, 0.75]

Relative paths (``segment_table``, ``table``) are resolved against the scenario file's folder.
Unknown keys, wrong types, out-of-range values and unknown LAD or region codes raise
:class:`~migravity.errors.ConfigError` naming the key, the value and what is allowed.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np

from migravity.errors import ConfigError, InputError, MalformedDataError, check_choice
from migravity.scenarios.params import OVERRIDABLE, check_range
from migravity.scenarios.segments import WFH_CLASSES

Mode = Literal["production", "unconstrained"]
MODES: tuple[str, ...] = ("production", "unconstrained")
SkillChoice = Literal["high", "other", "all"]
SKILL_CHOICES: tuple[str, ...] = ("high", "other", "all")
AreaChoice = Literal["all", "gse", "outside_gse"]
AREAS: tuple[str, ...] = ("all", "gse", "outside_gse")
MigrationPattern = Literal["precovid", "census2021"]
#: Migration patterns a scenario can run with: ``precovid`` (Census 2011 origin-destination choice balanced
#: to the mid-2014 -> mid-2019 mid-year-estimate internal totals, the default baseline's) and ``census2021``
#: (the Census 2020-21 flows and move rates: the first COVID year).
MIGRATION_PATTERNS: tuple[str, ...] = ("precovid", "census2021")

TOP_KEYS: tuple[str, ...] = ("name", "description", "years", "draws", "seed", "mode", "housing_feedback",
                             "segment_table", "wfh", "house_prices", "earnings", "parameters", "migration_pattern")
WFH_KEYS: tuple[str, ...] = ("class", "skill", "factor", "share", "to", "regions", "lads")
CHANGE_KEYS: tuple[str, ...] = ("pct", "area", "regions", "lads", "table")
MAX_YEARS, MAX_DRAWS = 100, 100_000
#: Largest seed: ``results.nc`` (netCDF3) stores it as a 32-bit signed integer attribute.
MAX_SEED = 2**31 - 1


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and bool(np.isfinite(v))


def _unknown(where: str, table: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}{key}", table[key], "unknown key; allowed keys: " + ", ".join(allowed))


def _codes(key: str, value: Any) -> tuple[str, ...]:
    if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        raise ConfigError(key, value, "give a non-empty list of code strings, e.g. [\"E12000007\"]")
    return tuple(value)


_GSS = re.compile(r"[A-Z]\d{8}")


def _regions(key: str, value: Any) -> tuple[str, ...]:
    """Region codes or names (case-insensitive, :func:`migravity.geodata.zones.resolve_region`) as codes.

    A string shaped like a GSS code (``E12000099``) is kept as written: :meth:`Scenario.check_zones`
    checks it against the study area's regions.
    """
    from migravity.geodata.zones import resolve_region

    return tuple(v if _GSS.fullmatch(v) else resolve_region(v, key) for v in _codes(key, value))


@dataclass(frozen=True)
class WfhChange:
    """A change of one WFH class's share within a skill group (validated on construction)."""

    wfh_class: str
    skill: SkillChoice = "high"
    factor: float | None = None
    share: float | None = None
    to: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    lads: tuple[str, ...] = ()
    key: str = "wfh[0]"

    def __post_init__(self) -> None:
        check_choice(f"{self.key}.class", self.wfh_class, WFH_CLASSES)
        check_choice(f"{self.key}.skill", self.skill, SKILL_CHOICES)
        if (self.factor is None) == (self.share is None):
            raise ConfigError(f"{self.key}.factor", self.factor, "give exactly one of factor or share")
        if self.factor is not None and not (_is_num(self.factor) and 0 <= self.factor <= 100):
            raise ConfigError(f"{self.key}.factor", self.factor, "give a number between 0 and 100")
        if self.share is not None and not (_is_num(self.share) and 0 <= self.share <= 1):
            raise ConfigError(f"{self.key}.share", self.share, "give a share between 0 and 1")
        for c in self.to:
            check_choice(f"{self.key}.to", c, [x for x in WFH_CLASSES if x != self.wfh_class])
        if self.regions and self.lads:
            raise ConfigError(f"{self.key}.lads", list(self.lads), "give regions or lads, not both")

    @property
    def receivers(self) -> tuple[str, ...]:
        """Classes that give or take the change (default: all other classes)."""
        return self.to or tuple(c for c in WFH_CLASSES if c != self.wfh_class)


@dataclass(frozen=True)
class PercentChange:
    """A percent change of a LAD attribute (house prices, earnings) over a selection of LADs."""

    pct: float = 0.0
    area: AreaChoice | None = None
    regions: tuple[str, ...] = ()
    lads: tuple[str, ...] = ()
    table: str | None = None
    key: str = "house_prices[0]"

    def __post_init__(self) -> None:
        chosen = [k for k, v in (("area", self.area), ("regions", self.regions), ("lads", self.lads),
                                 ("table", self.table)) if v]
        if len(chosen) != 1:
            raise ConfigError(f"{self.key}", chosen, "give exactly one of area, regions, lads, table")
        if self.area is not None:
            check_choice(f"{self.key}.area", self.area, AREAS)
        if self.table is None and not (_is_num(self.pct) and -95 <= self.pct <= 500):
            raise ConfigError(f"{self.key}.pct", self.pct, "give a percent change between -95 and 500")


@dataclass(frozen=True)
class Scenario:
    """A validated scenario (immutable). See the module docs for the file format."""

    name: str
    description: str = ""
    wfh: tuple[WfhChange, ...] = ()
    house_prices: tuple[PercentChange, ...] = ()
    earnings: tuple[PercentChange, ...] = ()
    years: int | None = None
    draws: int | None = None
    seed: int | None = None
    mode: Mode = "production"
    housing_feedback: float = 0.0
    parameters: tuple[tuple[str, float | tuple[float, float]], ...] = ()
    segment_table: str | None = None
    source: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    migration_pattern: MigrationPattern | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.name, str) and self.name and self.name.replace("_", "").replace("-", "").isalnum()):
            raise ConfigError("name", self.name, "use letters, digits, '_' and '-' only")
        if not isinstance(self.description, str):
            raise ConfigError("description", self.description, "give a string")
        if self.years is not None and not (_is_int(self.years) and 1 <= self.years <= MAX_YEARS):
            raise ConfigError("years", self.years, f"give an integer between 1 and {MAX_YEARS}")
        if self.draws is not None and not (_is_int(self.draws) and 1 <= self.draws <= MAX_DRAWS):
            raise ConfigError("draws", self.draws, f"give an integer between 1 and {MAX_DRAWS}")
        if self.seed is not None and not (_is_int(self.seed) and 0 <= self.seed <= MAX_SEED):
            raise ConfigError("seed", self.seed,
                              f"give an integer between 0 and {MAX_SEED} (2**31 - 1, the netCDF3 limit)")
        check_choice("mode", self.mode, MODES)
        if self.migration_pattern is not None:
            check_choice("migration_pattern", self.migration_pattern, MIGRATION_PATTERNS)
        if not (_is_num(self.housing_feedback) and 0 <= self.housing_feedback <= 10):
            raise ConfigError("housing_feedback", self.housing_feedback, "give a number between 0 and 10")
        for name, value in self.parameters:
            check_choice("parameters", name, OVERRIDABLE)
            lo, hi = value if isinstance(value, tuple) else (value, value)
            check_range(f"parameters.{name}", name, lo, hi)

    @property
    def is_zero(self) -> bool:
        """True when the scenario changes nothing (its result is the baseline's)."""
        return not (self.wfh or self.house_prices or self.earnings or self.migration_pattern is not None)

    def check_zones(self, codes: tuple[str, ...], region_codes: tuple[str, ...]) -> None:
        """Raise :class:`ConfigError` for LAD or region codes that are not in the study area."""
        lad_set, regions = set(codes), sorted(set(region_codes))
        changes: tuple[WfhChange | PercentChange, ...] = (*self.wfh, *self.house_prices, *self.earnings)
        for ch in changes:
            for r in ch.regions:
                if r not in regions:
                    raise ConfigError(f"{ch.key}.regions", r, "use one of " + ", ".join(regions))
            for c in ch.lads:
                if c not in lad_set:
                    raise ConfigError(f"{ch.key}.lads", c, f"use LAD codes of the study area ({len(codes)} "
                                      f"zones, e.g. {codes[0]}, {codes[-1]})")

    def parameter_overrides(self) -> dict[str, float | tuple[float, float]]:
        """The ``[parameters]`` table as a dict."""
        return dict(self.parameters)


def _changes(raw: Any, key: str, base: Path | None) -> tuple[PercentChange, ...]:
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise ConfigError(key, raw, f"give a list of tables ([[{key}]] blocks)")
    out = []
    for k, t in enumerate(raw):
        where = f"{key}[{k}]"
        _unknown(f"{where}.", t, CHANGE_KEYS)
        if "pct" not in t and "table" not in t:
            raise ConfigError(f"{where}.pct", None, "give pct (a percent change) or table")
        if "pct" in t and "table" in t:
            raise ConfigError(f"{where}.pct", t["pct"], "give pct or table, not both: the table's pct column "
                                                        "holds the percent changes")
        pct = t.get("pct", 0.0)
        if not _is_num(pct):
            raise ConfigError(f"{where}.pct", pct, "give a number (percent change, e.g. -15)")
        area = t.get("area")
        if area is not None and not isinstance(area, str):
            raise ConfigError(f"{where}.area", area, "use one of " + ", ".join(AREAS))
        table = t.get("table")
        if table is not None:
            if not isinstance(table, str):
                raise ConfigError(f"{where}.table", table, "give a path to a CSV with columns lad, pct")
            table = str((base / table) if base is not None and not Path(table).is_absolute() else table)
        out.append(PercentChange(
            pct=float(pct), area=area,  # type: ignore[arg-type]  # validated by PercentChange
            regions=_regions(f"{where}.regions", t["regions"]) if "regions" in t else (),
            lads=_codes(f"{where}.lads", t["lads"]) if "lads" in t else (), table=table, key=where))
    return tuple(out)


def _wfh(raw: Any, base: Path | None) -> tuple[WfhChange, ...]:
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise ConfigError("wfh", raw, "give a list of tables ([[wfh]] blocks)")
    out = []
    for k, t in enumerate(raw):
        where = f"wfh[{k}]"
        _unknown(f"{where}.", t, WFH_KEYS)
        if "class" not in t:
            raise ConfigError(f"{where}.class", None, "give the WFH class: " + ", ".join(WFH_CLASSES))
        for num in ("factor", "share"):
            if num in t and not _is_num(t[num]):
                raise ConfigError(f"{where}.{num}", t[num], "give a number")
        to = t.get("to", [])
        if not (isinstance(to, list) and all(isinstance(c, str) for c in to)):
            raise ConfigError(f"{where}.to", to, "give a list of classes: " + ", ".join(WFH_CLASSES))
        out.append(WfhChange(
            wfh_class=t["class"], skill=t.get("skill", "high"),
            factor=float(t["factor"]) if "factor" in t else None,
            share=float(t["share"]) if "share" in t else None, to=tuple(to),
            regions=_regions(f"{where}.regions", t["regions"]) if "regions" in t else (),
            lads=_codes(f"{where}.lads", t["lads"]) if "lads" in t else (), key=where))
    return tuple(out)


def scenario_from_dict(raw: dict[str, Any], *, name: str | None = None, base: Path | None = None,
                       source: str = "") -> Scenario:
    """Validate a parsed TOML table into a :class:`Scenario`.

    Parameters
    ----------
    raw : dict
        The parsed file.
    name : str, optional
        Default name (the file's stem) when the table has none.
    base : Path, optional
        Folder against which relative paths are resolved.
    source : str
        Where the scenario came from (recorded in the manifest).
    """
    _unknown("", raw, TOP_KEYS)
    for key, kind, fix in (("name", str, "give a string"), ("description", str, "give a string"),
                           ("mode", str, "use one of " + ", ".join(MODES)),
                           ("migration_pattern", str, "use one of " + ", ".join(MIGRATION_PATTERNS)),
                           ("segment_table", str, "give a path to a CSV (lad, segment, share)")):
        if key in raw and not isinstance(raw[key], kind):
            raise ConfigError(key, raw[key], fix)
    for key in ("years", "draws", "seed"):
        if key in raw and not _is_int(raw[key]):
            raise ConfigError(key, raw[key], "give an integer")
    if "housing_feedback" in raw and not _is_num(raw["housing_feedback"]):
        raise ConfigError("housing_feedback", raw["housing_feedback"], "give a number between 0 and 10")
    params = raw.get("parameters", {})
    if not isinstance(params, dict):
        raise ConfigError("parameters", params, "give a table of model parameters: " + ", ".join(OVERRIDABLE))
    plist: list[tuple[str, float | tuple[float, float]]] = []
    for pname, v in params.items():
        check_choice(f"parameters.{pname}", pname, OVERRIDABLE)
        if isinstance(v, list) and len(v) == 2 and all(_is_num(x) for x in v):
            plist.append((pname, (float(v[0]), float(v[1]))))
        elif _is_num(v):
            plist.append((pname, float(v)))
        else:
            raise ConfigError(f"parameters.{pname}", v, "give a number or a [low, high] range")
    seg = raw.get("segment_table")
    if seg is not None and base is not None and not Path(seg).is_absolute():
        seg = str(base / seg)
    return Scenario(
        name=raw.get("name", name or "scenario"), description=raw.get("description", ""),
        wfh=_wfh(raw.get("wfh", []), base),
        house_prices=_changes(raw.get("house_prices", []), "house_prices", base),
        earnings=_changes(raw.get("earnings", []), "earnings", base),
        years=raw.get("years"), draws=raw.get("draws"), seed=raw.get("seed"), mode=raw.get("mode", "production"),
        housing_feedback=float(raw.get("housing_feedback", 0.0)), parameters=tuple(plist),
        segment_table=seg, source=source, raw=raw, migration_pattern=raw.get("migration_pattern"))


def library_names() -> tuple[str, ...]:
    """Names of the scenarios shipped with the package (``scenarios/library/*.toml``)."""
    lib = resources.files("migravity.scenarios") / "library"
    return tuple(sorted(p.name[:-5] for p in lib.iterdir() if p.name.endswith(".toml")))


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML text; syntax errors become :class:`MalformedDataError` naming the source."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MalformedDataError(source, f"not valid TOML: {exc}") from exc


def _read_text(path: Path) -> str:
    """The scenario file as text; a binary or non-UTF-8 file is a :class:`MalformedDataError` naming the line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MalformedDataError(path, f"cannot read the scenario file ({exc})") from exc
    if b"\x00" in data:
        raise MalformedDataError(path, "a binary file, not a TOML scenario file (NUL bytes)",
                                 data.count(b"\n", 0, data.index(b"\x00")) + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedDataError(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x}): save it as UTF-8",
                                 data.count(b"\n", 0, exc.start) + 1) from exc


def validate_inputs(scenario: Scenario, codes: tuple[str, ...], region_codes: tuple[str, ...]) -> None:
    """Check everything of ``scenario`` that depends on the zones: codes, price/earnings and segment tables.

    Run before any calibration or simulation, so a bad table fails at once (not after earlier
    scenarios have run).

    Parameters
    ----------
    scenario : Scenario
        A loaded scenario.
    codes, region_codes : tuple of str
        The study area's LAD codes and their regions.

    Raises
    ------
    ConfigError, MalformedDataError
        As :meth:`Scenario.check_zones`, :func:`percent_vector` and the segment-table reader do.
    """
    from migravity.scenarios.segments import read_segment_table

    scenario.check_zones(codes, region_codes)
    gse = np.zeros(len(codes), dtype=bool)
    percent_vector(scenario.house_prices, codes, region_codes, gse)
    percent_vector(scenario.earnings, codes, region_codes, gse)
    if scenario.segment_table is not None:
        read_segment_table(scenario.segment_table, codes)


def load_scenario(ref: str | os.PathLike[str]) -> Scenario:
    """Load a scenario by library name (e.g. ``"wfh_uptake"``) or from a TOML file path."""
    ref_s = str(ref)
    if ref_s in library_names():
        text = (resources.files("migravity.scenarios") / "library" / f"{ref_s}.toml").read_text(encoding="utf-8")
        return scenario_from_dict(parse_toml(text, f"library:{ref_s}"), name=ref_s, source=f"library:{ref_s}")
    path = Path(ref_s)
    if not path.is_file():
        raise InputError(f"scenario {ref_s!r} is neither a file nor a library scenario; library scenarios: "
                         + ", ".join(library_names()))
    raw = parse_toml(_read_text(path), str(path))
    return scenario_from_dict(raw, name=path.stem, base=path.parent.resolve(), source=str(path.resolve()))


def percent_vector(changes: tuple[PercentChange, ...], codes: tuple[str, ...], region_codes: tuple[str, ...],
                   gse: np.ndarray) -> np.ndarray:
    """Multiplicative factor per LAD from a list of percent changes (they compound)."""
    factor = np.ones(len(codes))
    pos = {c: i for i, c in enumerate(codes)}
    regions = np.asarray(region_codes)
    for ch in changes:
        pct = np.zeros(len(codes))
        if ch.area == "all":
            pct[:] = ch.pct
        elif ch.area == "gse":
            pct[gse] = ch.pct
        elif ch.area == "outside_gse":
            pct[~gse] = ch.pct
        elif ch.regions:
            pct[np.isin(regions, ch.regions)] = ch.pct
        elif ch.lads:
            pct[[pos[c] for c in ch.lads]] = ch.pct
        else:
            pct = _table_pct(ch, pos)
        factor *= 1.0 + pct / 100.0
    return factor


def _table_pct(ch: PercentChange, pos: dict[str, int]) -> np.ndarray:
    from migravity.utils.tables import read_user_table

    # parse failures, text in pct, an empty lad and a LAD given twice: errors naming the file and line
    df = read_user_table(str(ch.table), f"{ch.key}.table", columns=["lad", "pct"], numeric=["pct"], codes=["lad"],
                         key=["lad"], dtype={"lad": str})
    pct = np.zeros(len(pos))
    for lad, v in zip(df.lad, df.pct, strict=True):
        if lad not in pos:
            raise ConfigError(f"{ch.key}.table", lad, f"use LAD codes of the study area ({len(pos)} zones)")
        if not (_is_num(v) and -95 <= v <= 500):
            raise ConfigError(f"{ch.key}.table[{lad}]", v, "give a percent change between -95 and 500")
        pct[pos[lad]] = v
    return pct
