"""Engine faults: separation by a combination of terms, a singular Newton system, near-singular fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from migravity.engine import calibrate
from migravity.errors import ConfigError


def _combination_table(seed: int = 0, n: int = 12) -> tuple[pd.DataFrame, np.ndarray]:
    """Terms a and b, neither separating alone; a - b is 0 wherever flows are positive and 1 on some zero pairs."""
    rng = np.random.default_rng(seed)
    o, d = (g.ravel() for g in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    dist = rng.uniform(1, 100, o.size)
    a = rng.integers(0, 2, o.size).astype(float)
    b = a.copy()
    sep = rng.random(o.size) < 0.08
    b[sep] = a[sep] - 1.0
    y = rng.poisson(np.exp(3 - 0.8 * np.log(dist) + 0.3 * a)).astype(float)
    y[sep] = 0.0
    return pd.DataFrame({"origin": o, "destination": d, "flow": y, "dist": dist, "a": a, "b": b}), sep


@pytest.mark.parametrize("constraint", ["none", "doubly"])
def test_separation_by_a_combination(constraint: str) -> None:
    """Before: LinAlgError: Singular matrix. After: the pairs are dropped and reported like single-term separation,
    and the estimates equal a fit without those pairs and without the dropped term (ppmlhdfe's behaviour)."""
    df, sep = _combination_table()
    r = calibrate(df, origin="origin", destination="destination", flow="flow", cost="dist", terms=["a", "b"],
                  constraint=constraint)  # type: ignore[arg-type]
    assert r.converged and np.isnan(r.coefficients["b"])
    assert r.dropped["terms"] == ["b"] and len(r.dropped["pairs"]) == int(sep.sum())
    assert any("in combination" in w and "'a'" in w and "'b'" in w for w in r.warnings)
    ref = calibrate(df[~sep], origin="origin", destination="destination", flow="flow", cost="dist", terms=["a"],
                    constraint=constraint)  # type: ignore[arg-type]
    for k in ("log(dist)", "a"):
        assert r.coefficients[k] == pytest.approx(ref.coefficients[k], rel=1e-6)


def test_singular_system_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A singular system the pre-fit checks miss ends with a ConfigError naming the terms, not LinAlgError."""
    from migravity.engine import calibration

    def singular(*args: object, **kwargs: object) -> None:
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(calibration, "newton_ppml", singular)
    df, _ = _combination_table()
    with pytest.raises(ConfigError, match=r"terms=\['log\(dist\)', 'a'\].*singular") as e:
        calibrate(df, origin="origin", destination="destination", flow="flow", cost="dist", terms=["a"])
    assert "\n" not in str(e.value)


def test_near_singular_fit_warned() -> None:
    """Two almost identical terms: the fit runs and warns, naming them."""
    rng = np.random.default_rng(3)
    df, _ = _combination_table(seed=3)
    df = df[df.flow > 0].copy()
    df["c"] = df["a"] * 2.0 + 1e-4 * rng.standard_normal(len(df))  # just above the collinearity screen
    r = calibrate(df, origin="origin", destination="destination", flow="flow", cost="dist", terms=["a", "c"],
                  constraint="none")
    near = [w for w in r.warnings if w.startswith("near-singular")]
    assert near and "'a'" in near[0] and "'c'" in near[0]


def test_well_conditioned_fit_not_warned() -> None:
    """No warning on an ordinary fit."""
    df, sep = _combination_table()
    r = calibrate(df[~sep], origin="origin", destination="destination", flow="flow", cost="dist", terms=["a"])
    assert not any("near-singular" in w for w in r.warnings)


def test_missing_zone_attribute_names_the_zones() -> None:
    """Before: "pair term 'wfh_x_price' has 317 NaN/inf values" with no LAD named and the wrong advice ("drop those
    rows"). After: the zones whose every pair is NaN are named, with the likely cause."""
    from migravity.engine.design import design_from_arrays
    from migravity.errors import InputError

    n = 5
    labels = [f"E0600000{i}" for i in range(1, n + 1)]
    attr = np.arange(1.0, n + 1)
    attr[3] = np.nan  # one LAD's attribute missing
    term = attr[:, None] * attr[None, :]
    with pytest.raises(InputError) as e:
        design_from_arrays(np.ones((n, n)), cost=None, deterrence="power", pair_terms={"wfh_x_price": term},
                           origin_terms={}, destination_terms={}, mask=~np.eye(n, dtype=bool),
                           origin_labels=labels, destination_labels=labels)
    msg = str(e.value)
    assert "'wfh_x_price' has 8 NaN/inf" in msg and "['E06000004']" in msg and "drop those rows" not in msg


def test_nan_in_a_table_term_names_the_rows() -> None:
    """A NaN in a term column of a table: the first rows are named with their origin and destination."""
    from migravity.errors import InputError

    df, sep = _combination_table()
    df = df[~sep].reset_index(drop=True)
    df.loc[5, "a"] = np.nan
    with pytest.raises(InputError, match=r"rows 5 \(\d+ -> \d+\); fill or drop those rows"):
        calibrate(df, origin="origin", destination="destination", flow="flow", cost="dist", terms=["a"])
