"""Synthetic study areas for fast scenario tests (no data files needed)."""

from __future__ import annotations

import numpy as np
import pytest

from migravity.analysis.evidence import ParameterDecision, ScenarioEvidence, Specification
from migravity.scenarios.params import ModelParameters
from migravity.scenarios.simulate import ModelInputs

IDENTIFIED = ("beta_distance", "gamma_border", "delta_wfh_access", "delta_wfh_price", "theta_price")


def synthetic_evidence(vcov: np.ndarray | None = None) -> ScenarioEvidence:
    """Evidence with the five stage-1/2 parameters identified (diagonal covariance unless given)."""
    mean = {"beta_distance": -1.4, "gamma_border": 1.0, "delta_wfh_access": -0.6, "delta_wfh_price": -1.7,
            "theta_price": 0.07}
    vcov = np.diag([0.01, 0.02, 0.05, 0.2, 0.14]) ** 2 if vcov is None else vcov
    se = np.sqrt(np.diag(vcov))
    decisions = {p: ParameterDecision(p, "identified", mean[p], float(se[k]), mean[p] - 1.645 * se[k],
                                      mean[p] + 1.645 * se[k], "synthetic") for k, p in enumerate(IDENTIFIED)}
    specs = (Specification("main", "synthetic", dict(mean)),
             Specification("steep", "steeper distance decay", {**mean, "beta_distance": -1.6}))
    return ScenarioEvidence(decisions, vcov, IDENTIFIED, specs)


def synthetic_inputs(n: int = 12, seed: int = 0, workplace: bool = False) -> ModelInputs:
    """A seeded synthetic study area of ``n`` LADs in three regions (the first GSE).

    ``workplace``: commuting shares for workplace anchoring (mostly the own zone and its neighbours).
    """
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 300, size=(n, 2))
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    np.fill_diagonal(d, 5.0)
    border = (d < 80).astype(float)
    np.fill_diagonal(border, 0.0)
    params = ModelParameters.from_evidence(synthetic_evidence(), beta_commute=-2.7, beta_commute_se=0.02,
                                           job_access=rng.lognormal(7, 1, n), wfh_national=0.45)
    shares = rng.dirichlet(np.ones(16), size=n)
    pi = None
    if workplace:
        pi = np.exp(-d / 40.0) * rng.uniform(0.5, 1.5, (n, n))
        pi /= pi.sum(axis=1, keepdims=True)
    regions = tuple(("E12000007", "E12000002", "E12000003")[i % 3] for i in range(n))
    return ModelInputs(
        codes=tuple(f"E0600{i:04d}" for i in range(n)), names=tuple(f"Zone {i}" for i in range(n)),
        region_codes=regions, region_names=tuple(f"Region {r[-1]}" for r in regions),
        gse=np.array([r == "E12000007" for r in regions]), imd_quintile=np.arange(n) % 5 + 1.0,
        workers=rng.lognormal(11, 0.5, n), shares=shares, move_rate=rng.uniform(0.02, 0.1, n),
        log_dist=np.log(d), border=border, log_access=np.log(params.job_access),
        log_pop=rng.normal(12, 0.5, n), log_price=rng.normal(12.4, 0.3, n), log_pay=rng.normal(6.4, 0.1, n),
        params=params, intensity_ratio=1.67, intensity_national=0.27, dest_constant=rng.normal(0.0, 0.5, n),
        workplace=pi)


def open_inputs(n: int = 12, seed: int = 0, workplace: bool = False, horizon: int = 12) -> ModelInputs:
    """:func:`synthetic_inputs` with an open-population baseline and a second migration pattern.

    The baseline path: populations growing 0-1.5% a year by LAD, HSL shares trending by up to
    +-0.05 on the logit scale a year; the baseline pattern is ``precovid`` (a random target
    choice), the alternative ``census2021`` another random choice and other move rates.
    """
    from dataclasses import replace

    from migravity.scenarios.baseline import OpenBaseline
    from migravity.scenarios.simulate import PatternInputs, pivot_constants

    inp = synthetic_inputs(n, seed, workplace)
    rng = np.random.default_rng(seed + 100)
    # smoother segment shares (no near-empty class whose in-migration dwarfs its stock: the variant is additive)
    inp = replace(inp, shares=rng.dirichlet(np.full(16, 30.0), size=n))
    pop0 = inp.workers * rng.uniform(1.8, 2.4, n)
    rate = rng.uniform(0.0, 0.015, n)
    pop = pop0[None, :] * (1.0 + rate[None, :]) ** np.arange(horizon + 1)[:, None]
    ob = OpenBaseline(population=pop, hsl_slope=rng.uniform(-0.05, 0.05, n), births_rate=np.full(n, 0.011),
                      deaths_rate=np.full(n, 0.009), precovid_net=rng.normal(0.0, 500.0, n))

    def choice(k: int) -> np.ndarray:
        r = np.random.default_rng(seed + k)
        # destinations in proportion to their size, so that no LAD's net migration dwarfs its stock
        t = r.uniform(0.5, 1.0, (n, n)) * np.exp(-0.01 * np.exp(inp.log_dist)) * inp.workers[None, :]
        np.fill_diagonal(t, 0.0)
        return t / t.sum(axis=1, keepdims=True)

    main = replace(inp, pattern="precovid", pivot_choice=choice(1))
    main = replace(main, pair_constant=pivot_constants(main))
    alt = replace(main, move_rate=rng.uniform(0.03, 0.12, n), pivot_choice=choice(2))
    pattern = PatternInputs("census2021", alt.move_rate, alt.pivot_choice, pivot_constants(alt))
    return replace(main, patterns=(pattern,), open_baseline=ob)


@pytest.fixture(scope="session")
def open_population_inputs() -> ModelInputs:
    """A 12-LAD synthetic study area with an open-population baseline and two migration patterns."""
    return open_inputs()


@pytest.fixture(scope="session")
def inputs() -> ModelInputs:
    """A 12-LAD synthetic study area."""
    return synthetic_inputs()


@pytest.fixture(scope="session")
def make_inputs():
    """The factory of synthetic study areas, ``make_inputs(n, seed)``."""
    return synthetic_inputs


@pytest.fixture(scope="session")
def make_evidence():
    """The factory of synthetic evidence, ``make_evidence(vcov=None)``."""
    return synthetic_evidence
