"""The segment fit (IPF to the skill, WFH and national margins): synthetic, a plain reference, properties, real data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migravity.errors import ConfigError, ConvergenceError
from migravity.scenarios.segments import (
    N_CLASSES,
    fit_segments,
    home_mask,
    national_shares,
    national_targets,
    segment_counts,
)

HOME = home_mask()


def _margins(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n3 = counts.reshape(len(counts), 2, N_CLASSES)
    return n3.sum(axis=2), n3[:, :, HOME].sum(axis=(1, 2)), n3.sum(axis=0)


def _synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    workers = rng.uniform(1e3, 1e6, n)
    hsl = workers * rng.uniform(0.2, 0.6, n)
    wfh = workers * rng.uniform(0.1, 0.6, n)
    return hsl, workers, wfh


def _reference_ipf(hsl, workers, wfh, targets, sweeps=2000):
    """Plain loops over LADs and cells: the obviously-correct IPF."""
    p = national_shares()
    n = len(workers)
    x = [[[(hsl[i] if k == 0 else workers[i] - hsl[i]) * p[k][c] for c in range(8)] for k in range(2)]
         for i in range(n)]
    for _ in range(sweeps):
        for i in range(n):
            for k in range(2):
                s = sum(x[i][k])
                want = hsl[i] if k == 0 else workers[i] - hsl[i]
                x[i][k] = [v * want / s for v in x[i][k]]
            home = sum(x[i][k][c] for k in range(2) for c in range(8) if HOME[c])
            away = sum(x[i][k][c] for k in range(2) for c in range(8) if not HOME[c])
            for k in range(2):
                x[i][k] = [v * (wfh[i] / home if HOME[c] else (workers[i] - wfh[i]) / away)
                           for c, v in enumerate(x[i][k])]
        for k in range(2):
            for c in range(8):
                s = sum(x[i][k][c] for i in range(n))
                for i in range(n):
                    x[i][k][c] *= targets[k][c] / s
    return np.array(x).reshape(n, 16)


def test_fit_matches_every_margin_on_synthetic_data() -> None:
    hsl, workers, wfh = _synthetic(40, 1)
    counts, status = fit_segments(hsl, workers, wfh)
    assert status.converged and status.max_rel_error <= 1e-10 and counts.shape == (40, 16)
    skill, home, nat = _margins(counts)
    np.testing.assert_allclose(skill, np.column_stack([hsl, workers - hsl]), rtol=1e-10)
    np.testing.assert_allclose(home, wfh, rtol=1e-10)
    np.testing.assert_allclose(nat, status.targets, rtol=1e-10)
    assert np.all(counts > 0)


def test_fit_agrees_with_plain_loop_reference() -> None:
    hsl, workers, wfh = _synthetic(6, 2)
    counts, status = fit_segments(hsl, workers, wfh, tol=1e-13)
    np.testing.assert_allclose(counts, _reference_ipf(hsl, workers, wfh, status.targets), rtol=1e-9)


def test_national_targets_reconcile_census_and_survey() -> None:
    p = national_shares()
    t = national_targets(400.0, 1000.0, 312.0)
    np.testing.assert_allclose(t.sum(axis=1), [400.0, 600.0])
    assert t[:, HOME].sum() == pytest.approx(312.0, rel=1e-12)
    m = t[:, HOME].sum(axis=1) / t.sum(axis=1)
    p_home = p[:, HOME].sum(axis=1)

    def odds(x: np.ndarray) -> np.ndarray:
        return x / (1 - x)

    assert odds(m)[0] / odds(m)[1] == pytest.approx(odds(p_home)[0] / odds(p_home)[1], rel=1e-10)
    for k in range(2):  # within-distributions of the home and the other classes are the survey's
        np.testing.assert_allclose(t[k, HOME] / t[k, HOME].sum(), p[k, HOME] / p_home[k], rtol=1e-12)
        np.testing.assert_allclose(t[k, ~HOME] / t[k, ~HOME].sum(), p[k, ~HOME] / (1 - p_home[k]), rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 30), seed=st.integers(0, 10_000),
       home=st.sampled_from([("3day", "4day", "always"), ("always",), ("2day", "3day", "4day", "always", "variable")]))
def test_margins_hold_for_random_consistent_inputs(n: int, seed: int, home: tuple[str, ...]) -> None:
    hsl, workers, wfh = _synthetic(n, seed)
    counts, status = fit_segments(hsl, workers, wfh, home_classes=home)
    mask = home_mask(home)
    n3 = counts.reshape(n, 2, N_CLASSES)
    np.testing.assert_allclose(n3.sum(axis=2), np.column_stack([hsl, workers - hsl]), rtol=1e-9)
    np.testing.assert_allclose(n3[:, :, mask].sum(axis=(1, 2)), wfh, rtol=1e-9)
    np.testing.assert_allclose(n3.sum(axis=0), status.targets, rtol=1e-9)
    np.testing.assert_allclose(counts.sum(axis=1), workers, rtol=1e-9)
    assert np.all(counts >= 0)


def test_bad_inputs_raise_naming_the_field() -> None:
    hsl, workers, wfh = _synthetic(3, 0)
    with pytest.raises(ConfigError, match=r"hsl\[1\]"):
        fit_segments(np.array([hsl[0], workers[1] * 2, hsl[2]]), workers, wfh)
    with pytest.raises(ConfigError, match="home_classes"):
        fit_segments(hsl, workers, wfh, home_classes=("weekends",))
    with pytest.raises(ConvergenceError, match="did not converge"):
        fit_segments(hsl, workers, wfh, max_iter=1)
    _, status = fit_segments(hsl, workers, wfh, max_iter=1, strict=False)
    assert not status.converged and status.iterations == 1


def test_real_segment_counts_match_the_census(data_dir) -> None:
    from migravity.geodata import load_zones
    from migravity.geodata.skills import load_skills

    zones23 = load_zones("2023", "EW", data_dir)
    sk = load_skills(zones23, data_dir)
    counts, status = segment_counts(zones23, data_dir)
    assert status.converged
    skill, home, nat = _margins(counts)
    np.testing.assert_allclose(skill[:, 0], sk.hsl_2021, rtol=1e-10)
    np.testing.assert_allclose(skill.sum(axis=1), sk.workers_2021, rtol=1e-10)
    np.testing.assert_allclose(home, sk.wfh_2021, rtol=1e-10)
    np.testing.assert_allclose(nat, status.targets, rtol=1e-10)


def test_year0_of_a_run_has_the_census_hsl_and_wfh_counts(real_model_inputs, data_dir) -> None:
    """Acceptance: prepare_inputs on the real data starts every LAD at its Census HSL and WFH counts."""
    from migravity.geodata import load_zones
    from migravity.geodata.skills import load_skills
    from migravity.scenarios.simulate import initial_state
    from migravity.scenarios.spec import load_scenario

    inputs = real_model_inputs
    sk = load_skills(load_zones("2023", "EW", data_dir), data_dir)
    stock, _, _ = initial_state(inputs, load_scenario("baseline"))  # (16, n)
    hsl = stock[:N_CLASSES].sum(axis=0)
    wfh = stock[np.concatenate([HOME, HOME])].sum(axis=0)
    np.testing.assert_allclose(inputs.workers, sk.workers_2021, rtol=1e-12)
    np.testing.assert_allclose(hsl, sk.hsl_2021, rtol=1e-6)
    np.testing.assert_allclose(wfh, sk.wfh_2021, rtol=1e-6)
    assert inputs.params.wfh_national == pytest.approx(float(sk.wfh_share_2021 @ sk.workers_2021
                                                             / sk.workers_2021.sum()), rel=1e-12)
