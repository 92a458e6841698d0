"""Ageing-free demographic accounting for an open-population baseline (standalone, not yet wired).

Each year ``t`` and LAD::

    pop[t + 1] - pop[t] = births[t] - deaths[t] + net_internal[t] + net_international[t] + other[t]

The population path follows an official projection's **growth** from an observed start
(:func:`project_population`: ``start_pop * growth``, so the baseline anchors on the projection's
growth, not its levels, which predate Census 2021). Births and deaths are crude rates applied to the
start-of-year population (e.g. the pre-COVID mid-year-estimate rates of
:func:`migravity.geodata.demography.precovid_rates`); net internal migration comes from a supplied
model (an array, or a callable of the year and the current population). Net international migration
is the **balancing item**: whatever reproduces the projected path given the other components. The
2018-based SNPP components are not in the data; when a projection's net international migration is
supplied instead, it is used as given and ``other`` becomes the balancing item.

The identity holds to floating-point rounding (a few ulps of the largest term), by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from migravity.errors import ConfigError, InputError
from migravity.geodata.zones import GSE_REGIONS, ZoneSet
from migravity.utils.metadata import BASELINE_COORDS, BASELINE_VARIABLES, annotate

if TYPE_CHECKING:
    from migravity.geodata.datadir import DataDir
    from migravity.geodata.demography import WalesGrowth

#: London's region code.
LONDON = "E12000007"

NetInternal = np.ndarray | Callable[[int, np.ndarray], np.ndarray]


def _as_1d(name: str, x: np.ndarray | float, n: int) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        a = np.full(n, float(a))
    if a.shape != (n,) or not np.isfinite(a).all():
        raise InputError(f"{name}: expected {n} finite values, got shape {a.shape}; pass one value per LAD")
    return a


def _as_path(name: str, x: np.ndarray | float, steps: int, n: int) -> np.ndarray:
    """A per-year, per-LAD array ``(steps, n)``; a scalar or an ``(n,)`` array is repeated each year."""
    a = np.asarray(x, dtype=float)
    if a.ndim <= 1:
        a = np.broadcast_to(_as_1d(name, a, n), (steps, n))
    if a.shape != (steps, n) or not np.isfinite(a).all():
        raise InputError(f"{name}: expected shape ({steps}, {n}) of finite values, got {a.shape}; "
                         "pass one value per year and LAD (or one per LAD)")
    return np.ascontiguousarray(a)


def project_population(start_pop: np.ndarray, growth: np.ndarray) -> np.ndarray:
    """Population path ``start_pop * growth``.

    Parameters
    ----------
    start_pop : numpy.ndarray
        ``(n,)`` observed population at the base year (positive).
    growth : numpy.ndarray
        ``(T + 1, n)`` growth factors relative to the base year; row 0 is the base year (all ones),
        e.g. :func:`migravity.geodata.demography.projection_growth` over ``base_year ... base_year + T``.

    Returns
    -------
    numpy.ndarray
        ``(T + 1, n)`` populations; row 0 equals ``start_pop``.

    Raises
    ------
    InputError
        On shapes that do not agree, non-finite or non-positive values, or a first row not all ones.
    """
    p0 = np.asarray(start_pop, dtype=float)
    g = np.asarray(growth, dtype=float)
    if p0.ndim != 1 or g.ndim != 2 or g.shape[1] != p0.shape[0] or g.shape[0] < 1:
        raise InputError(f"growth: expected shape (T + 1, {p0.shape[0] if p0.ndim == 1 else 'n'}) for "
                         f"start_pop of shape {p0.shape}, got {g.shape}; pass one row per year, base year first")
    if not (np.isfinite(p0).all() and (p0 > 0).all()):
        raise InputError("start_pop: holds non-finite or non-positive values; pass positive populations")
    if not (np.isfinite(g).all() and (g > 0).all()):
        raise InputError("growth: holds non-finite or non-positive factors; pass positive growth factors")
    if not np.allclose(g[0], 1.0, rtol=0.0, atol=1e-12):
        raise InputError(f"growth: row 0 must be the base year (all ones), got max |g0 - 1| = "
                         f"{np.abs(g[0] - 1).max():.3g}; divide by the base year's projection")
    path: np.ndarray = p0[None, :] * g
    path[0] = p0
    return path


def components_path(
    start_pop: np.ndarray,
    growth: np.ndarray,
    births_rate: np.ndarray | float,
    deaths_rate: np.ndarray | float,
    net_internal: NetInternal,
    *,
    net_international: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Annual components per LAD reproducing ``start_pop * growth`` exactly (to rounding).

    Parameters
    ----------
    start_pop : numpy.ndarray
        ``(n,)`` population at the base year.
    growth : numpy.ndarray
        ``(T + 1, n)`` growth factors, row 0 all ones (see :func:`project_population`).
    births_rate, deaths_rate : float or numpy.ndarray
        Crude rates per person per year, applied to the start-of-year population: a scalar, ``(n,)``
        or ``(T, n)``; non-negative.
    net_internal : numpy.ndarray or callable
        ``(T, n)`` or ``(n,)`` (the same each year) net internal migration, or a callable
        ``f(t, pop_t) -> (n,)`` for year ``t = 0 ... T - 1`` and the start-of-year population
        (a spatial-interaction model).
    net_international : numpy.ndarray, optional
        ``(T, n)`` net international migration from a projection's components. When given it is
        used as is and ``other`` balances; by default net international is the balancing item and
        ``other`` is zero.

    Returns
    -------
    dict of str to numpy.ndarray
        ``population`` ``(T + 1, n)``; ``births``, ``deaths``, ``net_internal``,
        ``net_international``, ``other`` ``(T, n)``, with
        ``population[t + 1] - population[t] == births - deaths + net_internal + net_international + other``.

    Raises
    ------
    InputError
        On shapes that do not agree, negative or non-finite rates, or a model returning a bad array.
    """
    pop = project_population(start_pop, growth)
    steps, n = pop.shape[0] - 1, pop.shape[1]
    br = _as_path("births_rate", births_rate, steps, n)
    dr = _as_path("deaths_rate", deaths_rate, steps, n)
    for name, r in (("births_rate", br), ("deaths_rate", dr)):
        if (r < 0).any():
            raise InputError(f"{name}: holds negative rates (min {r.min():.3g}); pass rates >= 0")
    start = pop[:-1]
    births = br * start
    deaths = dr * start
    if callable(net_internal):
        rows = []
        for t in range(steps):
            row = np.asarray(net_internal(t, pop[t].copy()), dtype=float)
            if row.shape != (n,) or not np.isfinite(row).all():
                raise InputError(f"net_internal: the model returned shape {row.shape} (or non-finite values) "
                                 f"for year {t}; it must return {n} finite values")
            rows.append(row)
        internal = np.array(rows).reshape(steps, n)
    else:
        internal = _as_path("net_internal", net_internal, steps, n).copy()
    change = np.diff(pop, axis=0)
    natural_and_internal = births - deaths + internal
    if net_international is None:
        international = change - natural_and_internal
        other = np.zeros_like(change)
    else:
        international = _as_path("net_international", net_international, steps, n).copy()
        other = change - natural_and_internal - international
    return {"population": pop, "births": births, "deaths": deaths, "net_internal": internal,
            "net_international": international, "other": other}


def accounting_residual(path: dict[str, np.ndarray]) -> np.ndarray:
    """``pop[t+1] - pop[t] - (births - deaths + net_internal + net_international + other)``, ``(T, n)``."""
    return np.diff(path["population"], axis=0) - (path["births"] - path["deaths"] + path["net_internal"]
                                                   + path["net_international"] + path["other"])


def region_mask(zones: ZoneSet, regions: str | frozenset[str] | set[str]) -> np.ndarray:
    """Boolean ``(n,)``: the zone is in ``regions`` (a region code or a set of them)."""
    wanted = {regions} if isinstance(regions, str) else set(regions)
    known = set(zones.region_codes)
    if not wanted & known:
        raise ConfigError("regions", sorted(wanted),
                          "use region codes of the zones, e.g. " + ", ".join(sorted(known)[:3]))
    return np.array([r in wanted for r in zones.region_codes])


def region_total(values: np.ndarray, zones: ZoneSet, region: str = LONDON) -> np.ndarray:
    """Sum over the LADs of ``region`` along the last axis (``(..., n)`` -> ``(...)``); London by default."""
    v = np.asarray(values, dtype=float)
    if v.shape[-1] != len(zones):
        raise InputError(f"values: last axis has {v.shape[-1]} entries, the zones {len(zones)}; pass one per zone")
    out: np.ndarray = v[..., region_mask(zones, region)].sum(axis=-1)
    return out


def gse_share(values: np.ndarray, zones: ZoneSet) -> np.ndarray:
    """Share of the Greater South East (London, South East, East) in the zones' total, along the last axis."""
    v = np.asarray(values, dtype=float)
    if v.shape[-1] != len(zones):
        raise InputError(f"values: last axis has {v.shape[-1]} entries, the zones {len(zones)}; pass one per zone")
    out: np.ndarray = v[..., region_mask(zones, GSE_REGIONS)].sum(axis=-1) / v.sum(axis=-1)
    return out


def baseline_components(
    zones: ZoneSet,
    start_year: int = 2023,
    horizon: int = 10,
    data_dir: DataDir = None,
    *,
    net_internal: NetInternal | None = None,
    wales: WalesGrowth = "lad_trend",
    window: tuple[int, int] | None = None,
) -> xr.Dataset:
    """The demographic baseline on real data: observed start, projected growth, pre-COVID rates.

    ``start_pop`` is the mid-``start_year`` estimate; ``growth`` the SNPP 2018-based growth from
    ``start_year`` (Wales: see :func:`migravity.geodata.demography.projection_growth`); births and
    deaths the pre-COVID crude rates; net internal migration the supplied model or, by default, the
    pre-COVID mean (:func:`migravity.geodata.demography.precovid_internal`); net international balances.

    Returns
    -------
    xarray.Dataset
        ``population`` (``year`` = start_year ... start_year + horizon, ``lad``) and the components
        (``year`` = the year each step starts in), with ``growth_source`` on ``lad``.
    """
    from migravity.geodata import demography as geo

    if horizon < 1 or start_year + horizon > geo.PROJECTION_YEARS[1]:
        raise ConfigError("horizon", horizon, f"use 1 ... {geo.PROJECTION_YEARS[1] - start_year}")
    win = geo.PRECOVID_WINDOW if window is None else window
    comp = geo.load_components(zones, data_dir)
    rates = geo.precovid_rates(zones, win, components=comp)
    years = list(range(start_year, start_year + horizon + 1))
    growth = geo.projection_growth(zones, start_year, years, data_dir, wales=wales)
    start = geo.load_population(zones, start_year, data_dir).to_numpy()
    internal: NetInternal = (geo.precovid_internal(zones, win, components=comp).internal_net.to_numpy()
                             if net_internal is None else net_internal)
    path = components_path(start, growth.to_numpy().T, rates.births_rate.to_numpy(),
                           rates.deaths_rate.to_numpy(), internal)
    step_years = years[:-1]
    data = {"population": (("year", "lad"), path["population"])}
    ds = xr.Dataset(data, coords={"year": years, "lad": zones.index,
                                  "growth_source": ("lad", growth.growth_source.to_numpy())})
    for k in ("births", "deaths", "net_internal", "net_international", "other"):
        ds[k] = xr.DataArray(path[k], dims=("step", "lad"), coords={"step": step_years, "lad": zones.index})
    ds.attrs.update(start_year=start_year, wales=wales, window=list(win),
                    balancing_item="net_international")
    return annotate(ds, vintage=str(getattr(zones, "vintage", "")), variables=BASELINE_VARIABLES,
                    coords=BASELINE_COORDS)
