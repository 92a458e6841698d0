r"""The open-population baseline: an exogenous path that follows the country, and the pre-COVID migration pattern.

**Baseline path** ``B(t)`` (16 segments x n LADs, ``t = 0 ... T``, year 0 = Census 2021):

- workers ``W_i(t) = W_i(0) P_i(t) / P_i(0)``: each LAD's employment rate (workers / population)
  is held at its Census 2021 value (an assumption: ageing would lower it where the population
  ages fastest; the data hold no projection by age of the employed). ``P_i(t)`` is the observed
  mid-year estimate where it exists (mid-2021 ... mid-2023, :func:`~migravity.geodata.demography.load_population`)
  and then the ONS 2018-based SNPP **growth** applied to the latest estimate
  (:func:`~migravity.geodata.demography.projection_growth`; Welsh LADs: their observed mid-2011 ->
  mid-2021 annual growth carried forward, the ``"lad_trend"`` rule). Beyond 2043 (the end of the
  projection) each LAD keeps its 2038 -> 2043 mean annual growth.
- the HSL share ``h_i(t) = expit(logit h_i(0) + damping * t * b_i)``, with
  ``b_i = (logit h_i^{2021} - logit h_i^{2011}) / 10`` the observed Census 2011 -> 2021 trend of
  the NS-SEC 1-2 share of workers (:func:`~migravity.geodata.skills.load_skills`, the same base at both
  censuses) carried forward on the logit scale (so shares stay in (0, 1)). ``damping`` (default 1,
  no damping) scales the trend; on the real data the undamped trend already passes the checks of
  issue 12 (the GSE share of HSL falls 0.8 points in 10 years, the Theil index falls by less than
  its observed 2011 -> 2021 fall), so it is not damped.
- skill groups: HSL stock ``W_i(t) h_i(t)`` and other workers ``W_i(t) (1 - h_i(t))``
  (:func:`group_path`; :func:`baseline_path` splits them over the WFH classes at their year-0
  shares). In the simulation these group totals are exogenous; the split over WFH classes is the
  year-0 mix moved by the no-policy migration (see :mod:`migravity.scenarios`: the non-migration
  components of a group act as a rate on each of its classes). *Deviation from holding the class
  mix at year 0* (documented reason): a fixed mix needs a yearly per-class correction that undoes
  migration's sorting of WFH classes (five-day commuters move towards their workplaces); in
  persons it drove the high-skilled never-WFH stock of Kensington and Chelsea negative within 10
  years of ``wfh_uptake`` (real data, seed 2021), and as per-class rates it cancelled most of the
  scenario's own migration effect. Each LAD's HSL and other-worker totals follow the path exactly.

**Pre-COVID migration pattern** (:func:`precovid_pattern`): the Census 2011 origin-destination
flows (harmonised to the zones) balanced by IPF to each LAD's mean annual internal out- and
in-migration of the mid-year-estimate components over mid-2014 -> mid-2019
(:func:`~migravity.geodata.demography.precovid_internal`); the in-totals are scaled by
``sum(out) / sum(in)`` (0.3%: the components count moves to and from Scotland and Northern
Ireland) so the margins agree. Move rate of LAD ``i``: its pre-COVID mean internal out-migration
over its mean start-of-year population. Caveat: for LADs merged since 2019 the component gross
flows include moves between the old districts (their net is exact).

**Population accounts** (:func:`population_accounts`): the baseline population path with births and
deaths at the pre-COVID crude rates, net internal migration from a migration pattern's rates and
choice applied to the start-of-year population, and net international migration as the balancing
item (:func:`migravity.scenarios.demography.components_path`), so
``P(t+1) - P(t) = births - deaths + net internal + net international`` to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from migravity.errors import ConfigError, ConvergenceError, InputError
from migravity.scenarios import demography as sd
from migravity.scenarios.segments import N_CLASSES

if TYPE_CHECKING:
    import xarray as xr

    from migravity.geodata.datadir import DataDir
    from migravity.geodata.zones import ZoneSet

__all__ = [
    "BASE_YEAR",
    "OpenBaseline",
    "balance_flows",
    "baseline_path",
    "load_open_baseline",
    "net_internal_persons",
    "population_accounts",
    "population_path",
    "precovid_pattern",
]

#: Calendar year of year 0 (Census 2021, taken as mid-2021 for the mid-year estimates).
BASE_YEAR = 2021
#: Latest mid-year estimate used before the projection's growth takes over.
LATEST_ESTIMATE = 2023
#: Default horizon of the stored paths (years after year 0): the scenarios' maximum.
HORIZON = 100


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1.0 - p))


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True, eq=False)
class OpenBaseline:
    """What the exogenous baseline path needs (arrays are not copied).

    Attributes
    ----------
    population : ndarray, shape (H + 1, n)
        ``P_i(t)``, ``t = 0`` the mid-2021 estimate (see the module docs).
    hsl_slope : ndarray, shape (n,)
        ``b_i``: annual change of the logit of the HSL share, Census 2011 -> 2021.
    births_rate, deaths_rate : ndarray, shape (n,)
        Pre-COVID crude rates (mid-2014 -> mid-2019) of the population accounts.
    precovid_net : ndarray, shape (n,)
        Mean annual net internal migration over the pre-COVID window (persons).
    damping : float
        Factor of the HSL trend (1 = the observed trend carried forward).
    """

    population: np.ndarray
    hsl_slope: np.ndarray
    births_rate: np.ndarray
    deaths_rate: np.ndarray
    precovid_net: np.ndarray
    damping: float = 1.0

    def __post_init__(self) -> None:
        pop = np.asarray(self.population, float)
        n = pop.shape[1] if pop.ndim == 2 else -1
        if pop.ndim != 2 or pop.shape[0] < 2 or not (np.isfinite(pop).all() and (pop > 0).all()):
            raise ConfigError("population", np.shape(pop), "give positive populations of shape (H + 1, n), H >= 1")
        for name in ("hsl_slope", "births_rate", "deaths_rate", "precovid_net"):
            a = np.asarray(getattr(self, name), float)
            if a.shape != (n,) or not np.isfinite(a).all():
                raise ConfigError(name, a.shape, f"give {n} finite values")
        if not (np.isfinite(self.damping) and 0.0 <= self.damping <= 1.0):
            raise ConfigError("damping", self.damping, "give a factor between 0 and 1")

    @property
    def horizon(self) -> int:
        """The longest run the path covers (years after year 0)."""
        return int(self.population.shape[0] - 1)

    def growth(self, years: int) -> np.ndarray:
        """``P_i(t) / P_i(0)``, shape (years + 1, n); row 0 exactly ones."""
        self._check(years)
        g = self.population[:years + 1] / self.population[0]
        g[0] = 1.0
        return g

    def hsl_share(self, h0: np.ndarray, years: int) -> np.ndarray:
        """``h_i(t)`` from year-0 shares ``h0``, shape (years + 1, n); row 0 is ``h0``."""
        self._check(years)
        t = np.arange(years + 1, dtype=float)[:, None]
        h = _expit(_logit(np.asarray(h0, float))[None, :] + self.damping * t * self.hsl_slope[None, :])
        h[0] = h0
        return h

    def _check(self, years: int) -> None:
        if not 0 <= years <= self.horizon:
            raise ConfigError("years", years, f"use at most {self.horizon} years (the baseline path's horizon)")


def population_path(zones: ZoneSet, horizon: int = HORIZON, data_dir: DataDir = None, *,
                    projection: xr.Dataset | None = None) -> np.ndarray:
    """Mid-year populations ``P_i(t)``, ``t = 0 ... horizon`` from mid-2021 (shape (horizon + 1, n)).

    Observed estimates for mid-2021 ... mid-2023, then the SNPP 2018-based growth from mid-2023
    applied to the mid-2023 estimate (Wales: the ``"lad_trend"`` rule), then, after 2043, each LAD's
    2038 -> 2043 mean annual growth.
    """
    from migravity.geodata import demography as geo

    if horizon < 1:
        raise ConfigError("horizon", horizon, "give at least 1 year")
    last = geo.PROJECTION_YEARS[1]
    obs = [geo.load_population(zones, y, data_dir).to_numpy() for y in range(BASE_YEAR, LATEST_ESTIMATE + 1)]
    proj_years = list(range(LATEST_ESTIMATE, last + 1))
    g = geo.projection_growth(zones, LATEST_ESTIMATE, proj_years, data_dir, projection=projection).to_numpy().T
    rows = [*obs, *(obs[-1] * g[k] for k in range(1, len(proj_years)))]
    tail_rate = (g[-1] / g[-6]) ** 0.2
    while len(rows) < horizon + 1:
        rows.append(rows[-1] * tail_rate)
    return np.array(rows[:horizon + 1])


def load_open_baseline(zones: ZoneSet, data_dir: DataDir = None, *, skills: xr.Dataset | None = None,
                       horizon: int = HORIZON, damping: float = 1.0) -> OpenBaseline:
    """The real data of the open-population baseline for ``zones`` (see the module docs)."""
    from migravity.geodata import demography as geo
    from migravity.geodata.skills import load_skills

    sk = load_skills(zones, data_dir) if skills is None else skills
    h11 = sk["hsl_2011"].to_numpy() / sk["workers_2011"].to_numpy()
    h21 = sk["hsl_2021"].to_numpy() / sk["workers_2021"].to_numpy()
    comp = geo.load_components(zones, data_dir)
    rates = geo.precovid_rates(zones, components=comp)
    internal = geo.precovid_internal(zones, components=comp)
    return OpenBaseline(population=population_path(zones, horizon, data_dir),
                        hsl_slope=(_logit(h21) - _logit(h11)) / 10.0,
                        births_rate=rates.births_rate.to_numpy(), deaths_rate=rates.deaths_rate.to_numpy(),
                        precovid_net=internal.internal_net.to_numpy(), damping=damping)


def baseline_path(open_baseline: OpenBaseline, stock0: np.ndarray, years: int) -> np.ndarray:
    """The exogenous baseline ``B`` (years + 1, 16, n) from the year-0 stock (16, n); ``B[0]`` is ``stock0``.

    High-skilled segments (the first :data:`~migravity.scenarios.segments.N_CLASSES`) scale with
    ``W_i(t) h_i(t) / (W_i(0) h_i(0))``, the others with ``W_i(t) (1 - h_i(t)) / (W_i(0) (1 - h_i(0)))``.
    """
    s0 = np.asarray(stock0, float)
    hs0 = s0[:N_CLASSES].sum(axis=0)
    tot0 = s0.sum(axis=0)
    if np.any(tot0 <= 0) or np.any(hs0 <= 0) or np.any(hs0 >= tot0):
        raise InputError("stock0: every LAD needs high-skilled and other workers for the baseline path")
    h0 = hs0 / tot0
    g = open_baseline.growth(years)
    h = open_baseline.hsl_share(h0, years)
    f_high = g * h / h0
    f_other = g * (1.0 - h) / (1.0 - h0)
    out = np.empty((years + 1, *s0.shape))
    out[:, :N_CLASSES] = s0[None, :N_CLASSES] * f_high[:, None, :]
    out[:, N_CLASSES:] = s0[None, N_CLASSES:] * f_other[:, None, :]
    out[0] = s0
    return np.ascontiguousarray(out)


def group_path(open_baseline: OpenBaseline, stock0: np.ndarray, years: int) -> np.ndarray:
    """The exogenous totals ``(years + 1, 2, n)`` of the high-skilled and the other workers (:func:`baseline_path`)."""
    b = baseline_path(open_baseline, stock0, years)
    return np.ascontiguousarray(np.stack([b[:, :N_CLASSES].sum(axis=1), b[:, N_CLASSES:].sum(axis=1)], axis=1))


def balance_flows(flows: np.ndarray, out_total: np.ndarray, in_total: np.ndarray, *, tol: float = 1e-10,
                  max_iter: int = 10_000) -> np.ndarray:
    """IPF: ``flows`` (zeros kept, diagonal zeroed) rescaled to row sums ``out_total`` and column sums ``in_total``.

    ``in_total`` is first scaled to the sum of ``out_total``. Raises
    :class:`~migravity.errors.ConvergenceError` when the margins are not met to ``tol`` (relative).
    """
    f = np.array(flows, float)
    np.fill_diagonal(f, 0.0)
    o = np.asarray(out_total, float)
    d = np.asarray(in_total, float)
    if f.shape != (o.size, o.size) or d.shape != o.shape or np.any(o <= 0) or np.any(d <= 0) or np.any(f < 0):
        raise InputError("balance_flows: give non-negative (n, n) flows and positive out and in totals of size n")
    if np.any(f.sum(axis=1) <= 0) or np.any(f.sum(axis=0) <= 0):
        raise InputError("balance_flows: every zone needs an observed out-flow and in-flow to be balanced")
    from migravity.engine.balancing import balance_factors

    d = d * (o.sum() / d.sum())
    res = balance_factors(f, o, d, constraint="doubly", tol=tol, max_iter=max_iter, strict=False)
    if not res.converged:
        raise ConvergenceError(f"balance_flows: margins not met after {res.iterations} IPF sweeps "
                               f"(relative error {res.max_error:.3g})")
    return res.row_factors[:, None] * f * res.col_factors[None, :]


def precovid_pattern(zones: ZoneSet, data_dir: DataDir = None) -> tuple[np.ndarray, np.ndarray]:
    """The pre-COVID flows (n, n, persons a year) and move rates (n,) of the baseline (see the module docs)."""
    from migravity.geodata import demography as geo
    from migravity.geodata import load_flows

    comp = geo.load_components(zones, data_dir)
    internal = geo.precovid_internal(zones, components=comp)
    years = list(range(geo.PRECOVID_WINDOW[0], geo.PRECOVID_WINDOW[1] + 1))
    pop = comp.population.sel(year=years).mean("year").to_numpy()
    f2011 = load_flows("migration2011", zones, data_dir).to_numpy().astype(float)
    out = internal.internal_out.to_numpy()
    flows = balance_flows(f2011, out, internal.internal_in.to_numpy())
    return flows, np.clip(out / pop, 0.0, 1.0)


def net_internal_persons(population: np.ndarray, move_rate: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """Net internal migration (persons, (..., n)) of ``population`` (..., n) moving at ``move_rate`` with ``choice``.

    ``net_i = sum_j P_j m_j p_ji - P_i m_i`` (``choice`` rows sum to 1, diagonal 0).
    """
    movers = np.asarray(population, float) * np.asarray(move_rate, float)
    out: np.ndarray = movers @ np.asarray(choice, float) - movers
    return out


def population_accounts(open_baseline: OpenBaseline, move_rate: np.ndarray, choice: np.ndarray,
                        years: int) -> dict[str, np.ndarray]:
    """Components of the baseline population path (see :func:`~migravity.scenarios.demography.components_path`).

    Returns ``population`` (years + 1, n) and ``births``, ``deaths``, ``net_internal``,
    ``net_international`` (balancing), ``other`` (zeros), each (years, n).
    """
    pop = open_baseline.population[:years + 1]
    g = open_baseline.growth(years)
    return sd.components_path(pop[0], g, open_baseline.births_rate, open_baseline.deaths_rate,
                              lambda t, p: net_internal_persons(p, move_rate, choice))
