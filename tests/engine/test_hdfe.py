"""``fepois`` (PPML with G fixed-effect sets concentrated out) three ways.

* established implementations: pyfixest's ``fepois`` (coefficients, HC1 and one-/two-way
  clustered standard errors, dropped observations) and statsmodels' Poisson GLM with dummies;
* a slow, obviously-correct reference: dense dummies and Newton's method in NumPy, with the
  sandwich built from the full dummy design;
* hypothesis properties: row order, a constant added to the offset, scaling of ``y``.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migravity.engine import PanelResult, fepois
from migravity.errors import ConfigError, ConvergenceError, InputError

FE = ["op", "dp", "pair"]
X = ["pol", "ldist_t"]


def panel(nz: int = 25, periods: int = 2, seed: int = 0) -> pd.DataFrame:
    """Synthetic OD panel: off-diagonal pairs x periods, origin x period, destination x period
    and pair effects, a log-exposure offset and two time-varying regressors; some zero flows."""
    rng = np.random.default_rng(seed)
    o, d, t = (a.ravel() for a in np.meshgrid(np.arange(nz), np.arange(nz), np.arange(periods), indexing="ij"))
    off = o != d
    o, d, t = o[off], d[off], t[off]
    xy = rng.uniform(0, 10, (nz, 2))
    dist = np.hypot(*(xy[o] - xy[d]).T) + 0.5
    pol = (rng.uniform(size=o.size) < 0.3).astype(float) * t
    expo = rng.uniform(0.5, 2.0, o.size)
    a, b = rng.normal(0, 0.5, (nz, periods)), rng.normal(0, 0.5, (nz, periods))
    pair_fe = rng.normal(0, 0.3, (nz, nz))
    eta = 1.0 + a[o, t] + b[d, t] + pair_fe[o, d] - 0.3 * pol + 0.2 * np.log(dist) * t + np.log(expo)
    df = pd.DataFrame({
        "origin": o, "destination": d, "period": t, "y": rng.poisson(np.exp(eta)).astype(float),
        "pol": pol, "ldist_t": np.log(dist) * t, "lexp": np.log(expo),
    })
    df["op"] = df["origin"].astype(str) + "_" + df["period"].astype(str)
    df["dp"] = df["destination"].astype(str) + "_" + df["period"].astype(str)
    df["pair"] = df["origin"] * 1000 + df["destination"]
    df.loc[df["pair"] == 1002, "y"] = 0.0  # an all-zero pair: separated
    return df


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return panel()


def _pyfixest(df: pd.DataFrame, vcov: str | dict[str, str]):
    pf = pytest.importorskip("pyfixest")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.fepois("y ~ pol + ldist_t | op + dp + pair", data=df, offset="lexp", vcov=vcov,
                         iwls_tol=1e-12, fixef_tol=1e-13)


@pytest.mark.parametrize(
    ("vcov", "kw"),
    [
        ({"CRV1": "origin"}, {"cluster": ["origin"]}),
        ({"CRV1": "origin+destination"}, {"cluster": ["origin", "destination"]}),
        ("hetero", {"se": "hc1"}),
    ],
    ids=["cluster-origin", "cluster-origin+destination", "hc1"],
)
def test_matches_pyfixest(df: pd.DataFrame, vcov: str | dict[str, str], kw: dict) -> None:
    ref = _pyfixest(df, vcov)
    ours = fepois(df, "y", X, FE, offset="lexp", **kw)
    assert ours.converged
    np.testing.assert_allclose(ours.coef[X].to_numpy(), ref.coef()[X].to_numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.se[X].to_numpy(), ref.se()[X].to_numpy(), rtol=1e-4)
    np.testing.assert_allclose(ours.vcov.loc[X, X].to_numpy(), np.asarray(ref._vcov), rtol=1e-4, atol=1e-12)
    assert ours.n_obs == ref._N
    assert ours.pseudo_r2 == pytest.approx(float(ref._pseudo_r2), rel=1e-6)


def test_separation_dropped_and_counted(df: pd.DataFrame) -> None:
    ref = _pyfixest(df, {"CRV1": "origin"})
    ours = fepois(df, "y", X, FE, offset="lexp", cluster=["origin"])
    n_zero_groups = int(sum(
        len(df) - (df.groupby(f)["y"].transform("sum") > 0).sum() for f in FE[2:]
    ))
    assert n_zero_groups >= 2  # pair 1002 and any other all-zero pair
    assert ours.n_obs == ref._N == len(df) - ours.n_dropped
    assert ours.drop_reasons["separation"] == ours.n_dropped
    dropped = np.isnan(ours.fitted)
    assert dropped.sum() == ours.n_dropped
    assert (df.loc[dropped, "y"] == 0).all()
    assert dropped[(df["pair"] == 1002).to_numpy()].all()
    assert any("separated" in m for m in ours.messages)


def test_origin_period_all_zero_dropped() -> None:
    """An all-zero origin x period group goes, and the pairs it leaves alone go as singletons."""
    d = panel(8, seed=4)
    d.loc[d["op"] == "3_1", "y"] = 0.0
    r = fepois(d, "y", X, FE, offset="lexp", cluster=["origin"])
    assert r.drop_reasons["separation"] >= 7
    assert r.drop_reasons["singleton"] >= 7  # the (3, d) pairs in period 0 are now alone
    assert np.isnan(r.fitted[(d["origin"] == 3).to_numpy()]).all()


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.SingularMatrixWarning")
def test_matches_statsmodels_dummies() -> None:
    sm = pytest.importorskip("statsmodels.api")
    d = panel(8, seed=1)
    ours = fepois(d, "y", X, FE, offset="lexp", se="hc1")
    d = d[~np.isnan(ours.fitted)]
    dummies = pd.get_dummies(d[FE].astype(str), drop_first=True, dtype=float)
    design = pd.concat([d[X], dummies], axis=1).assign(const=1.0)
    fit = sm.GLM(d["y"], design, family=sm.families.Poisson(), offset=d["lexp"]).fit(tol=1e-13, maxiter=200)
    np.testing.assert_allclose(ours.coef[X].to_numpy(), fit.params[X].to_numpy(), rtol=1e-6, atol=1e-8)
    # statsmodels stops on its deviance change with a rank-deficient dummy design: fitted to 1e-4
    np.testing.assert_allclose(ours.fitted[~np.isnan(ours.fitted)], fit.fittedvalues.to_numpy(), rtol=1e-4)


def _dense_reference(d: pd.DataFrame, cluster: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Newton's method on the full dummy design, then the CGM sandwich from its slope block."""
    dummies = pd.get_dummies(d[FE].astype(str), dtype=float).to_numpy()
    full = np.column_stack([d[X].to_numpy(), dummies])
    # drop dummy columns that are linear combinations of the earlier ones
    keep: list[int] = []
    for j in range(full.shape[1]):
        if np.linalg.matrix_rank(full[:, [*keep, j]]) == len(keep) + 1:
            keep.append(j)
    a = full[:, keep]
    y, off = d["y"].to_numpy(), d["lexp"].to_numpy()
    b = np.zeros(a.shape[1])
    b[len(X):] = np.linalg.lstsq(a[:, len(X):], np.log(y + 1.0) - off, rcond=None)[0]
    for _ in range(100):
        mu = np.exp(a @ b + off)
        step = np.linalg.solve(a.T @ (a * mu[:, None]), a.T @ (y - mu))
        b += step
        if np.max(np.abs(step)) < 1e-13:
            break
    mu = np.exp(a @ b + off)
    hinv = np.linalg.inv(a.T @ (a * mu[:, None]))
    scores = a * (y - mu)[:, None]
    n, k = len(y), len(X)

    def meat(codes: np.ndarray) -> np.ndarray:
        s = np.zeros((codes.max() + 1, a.shape[1]))
        np.add.at(s, codes, scores)
        return s.T @ s

    codes = [pd.factorize(d[c])[0] for c in cluster]
    if len(cluster) == 2:
        codes.append(pd.factorize(d[cluster[0]].astype(str) + "-" + d[cluster[1]].astype(str))[0])
    g = min(int(c.max()) + 1 for c in codes[:2])
    v = sum(sign * hinv @ meat(c) @ hinv for sign, c in zip((1, 1, -1), codes, strict=False))
    # every FE dimension is nested in origin or destination: df_k = k + 1 (pyfixest's "nonnested")
    v = v * (n - 1) / (n - (k + 1)) * g / (g - 1)
    return b[:k], np.sqrt(np.diag(v)[:k])


def test_matches_dense_reference() -> None:
    d = panel(7, seed=2)
    ours = fepois(d, "y", X, FE, offset="lexp", cluster=["origin", "destination"])
    d = d[~np.isnan(ours.fitted)]
    b, se = _dense_reference(d, ["origin", "destination"])
    np.testing.assert_allclose(ours.coef.to_numpy(), b, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.se.to_numpy(), se, rtol=1e-6)


def test_result_api(df: pd.DataFrame) -> None:
    r = fepois(df, "y", X, FE, offset="lexp", cluster=["origin", "destination"])
    assert isinstance(r, PanelResult)
    t = r.tidy()
    assert list(t.columns) == ["term", "estimate", "std_error", "z", "p_value", "ci_low", "ci_high"]
    assert list(t["term"]) == X
    ci = r.conf_int(0.9)
    assert ((ci["ci_low"] < r.coef) & (r.coef < ci["ci_high"])).all()
    np.testing.assert_allclose(t["z"], r.coef / r.se)
    assert r.n_clusters == {"origin": 25, "destination": 25}
    assert r.se_type == "cluster2"
    assert len(r.fitted) == len(df)
    json.dumps(r.to_dict())
    with pytest.raises(AttributeError):
        r.n_obs = 3  # type: ignore[misc]


@settings(max_examples=12)
@given(seed=st.integers(0, 10_000), shift=st.floats(-5, 5), scale=st.floats(0.01, 100))
def test_properties(seed: int, shift: float, scale: float) -> None:
    d = panel(6, seed=seed % 7)
    base = fepois(d, "y", X, FE, offset="lexp", cluster=["origin"])
    perm = np.random.default_rng(seed).permutation(len(d))
    shuffled = fepois(d.iloc[perm], "y", X, FE, offset="lexp", cluster=["origin"])
    np.testing.assert_allclose(shuffled.coef, base.coef, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(shuffled.se, base.se, rtol=1e-5)
    np.testing.assert_allclose(shuffled.fitted, base.fitted[perm], rtol=1e-6)
    shifted = fepois(d.assign(lexp=d["lexp"] + shift), "y", X, FE, offset="lexp", cluster=["origin"])
    np.testing.assert_allclose(shifted.coef, base.coef, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(shifted.fitted, base.fitted, rtol=1e-6)
    scaled = fepois(d.assign(y=d["y"] * scale), "y", X, FE, offset="lexp", cluster=["origin"])
    np.testing.assert_allclose(scaled.coef, base.coef, rtol=1e-6, atol=1e-9)


def test_one_fixed_effect_is_exact() -> None:
    d = panel(6, seed=3)
    r = fepois(d, "y", X, ["pair"], offset="lexp", se="hc1")
    assert r.converged and np.isfinite(r.se).all()


@pytest.mark.parametrize(
    ("kwargs", "exc", "needle"),
    [
        ({"x": ["nope"]}, ConfigError, "nope"),
        ({"fe": ["op", "missing_fe"]}, ConfigError, "missing_fe"),
        ({"offset": "lexp_missing"}, ConfigError, "lexp_missing"),
        ({"cluster": None}, ConfigError, "cluster"),
        ({"cluster": ["a", "b", "c"]}, ConfigError, "cluster"),
        ({"se": "hc3"}, ConfigError, "se"),
        ({"x": ["pol", "period"]}, InputError, "period"),  # constant within op: collinear with FE
        ({"x": ["pol", "pol2"]}, InputError, "pol2"),  # collinear with another regressor
    ],
)
def test_config_errors(df: pd.DataFrame, kwargs: dict, exc: type, needle: str) -> None:
    args = {"y": "y", "x": X, "fe": FE, "offset": "lexp", "cluster": ["origin"], **kwargs}
    with pytest.raises(exc, match=needle):
        fepois(df.assign(pol2=2 * df["pol"]), **args)


def test_input_errors(df: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"'y'.*negative"):
        fepois(df.assign(y=df["y"] - 1), "y", X, FE, cluster=["origin"])
    with pytest.raises(InputError, match="'pol'"):
        fepois(df.assign(pol=np.where(df.index == 5, np.nan, df["pol"])), "y", X, FE, cluster=["origin"])
    with pytest.raises(InputError, match="'lexp'"):
        fepois(df.assign(lexp=np.inf), "y", X, FE, offset="lexp", cluster=["origin"])
    with pytest.raises(InputError, match="no rows"):
        fepois(df.iloc[:0], "y", X, FE, cluster=["origin"])
    with pytest.raises(InputError, match="no observation is left"):
        fepois(df.assign(y=0.0), "y", X, FE, cluster=["origin"])


def test_non_convergence_reported_or_raised(df: pd.DataFrame) -> None:
    r = fepois(df, "y", X, FE, offset="lexp", cluster=["origin"], max_iter=1)
    assert not r.converged and r.iterations == 1
    assert any("did not converge" in m for m in r.messages)
    with pytest.raises(ConvergenceError, match="max_iter"):
        fepois(df, "y", X, FE, offset="lexp", cluster=["origin"], max_iter=1, strict=True)
