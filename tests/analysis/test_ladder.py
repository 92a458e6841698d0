"""The research's model ladder as a rate model: options, the pair table, pyfixest agreement with the
same offset, the receiving-area model and the ``migravity ladder`` command."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from migravity.analysis.ladder import (
    PAPER_TABLE1,
    LadderOptions,
    fit_ladder,
    flow_matrix,
    ladder_models,
    receiving_areas,
)
from migravity.analysis.ladder_data import AREA_DUMMIES, ladder_table, periods_of
from migravity.errors import ConfigError

N_PAIRS = 318 * 317  # England and Wales LADs on 2023 codes, inter-LAD pairs


# ---- options (no data needed) ------------------------------------------------------------------

@pytest.mark.parametrize("field,kwargs", [
    ("period", {"period": "2015"}),
    ("typology", {"typology": "rural"}),
    ("se", {"se": "hc3"}),
    ("receiving", {"receiving": "yes"}),
])
def test_bad_options_name_their_field(field: str, kwargs: dict) -> None:
    with pytest.raises(ConfigError, match=rf"^{field}=") as exc:
        LadderOptions(**kwargs)
    assert exc.value.field == field


def test_bad_period_and_typology_everywhere() -> None:
    """The table builder and the model list refuse bad values before reading any file."""
    with pytest.raises(ConfigError, match=r"^period="):
        ladder_table("2016", "imd", data_dir="/nonexistent")
    with pytest.raises(ConfigError, match=r"^typology="):
        ladder_table("pooled", "oac", data_dir="/nonexistent")
    with pytest.raises(ConfigError, match=r"^period="):
        periods_of("both")
    with pytest.raises(ConfigError, match=r"^typology="):
        ladder_models("oac")
    with pytest.raises(ConfigError, match=r"^period="):
        fit_ladder("/nonexistent", period="1991")


def test_models_build_up() -> None:
    """Each model adds to the one before; the period effect only when pooled; the paper's table matches."""
    models = ladder_models("imd", pooled=True)
    terms = [set(m["terms"]) for m in models.values()]
    assert all(a < b for a, b in itertools.pairwise(terms))
    assert "period_2021" in terms[0] and "period_2021" not in set(ladder_models("imd", pooled=False)["M4"]["terms"])
    assert models["M1"]["cost"] is None and models["M2"]["cost"] == "distance_km"
    assert set(PAPER_TABLE1) == set(models) and all(set(v) == set(AREA_DUMMIES["imd"]) for v in PAPER_TABLE1.values())


def test_flow_matrix_and_receiving_model_on_synthetic_table() -> None:
    """The raw matrix sums to the table's flows; the reference receiving column of the relative rates is 1."""
    rng = np.random.default_rng(5)
    n = 25
    codes = [f"Z{i:02d}" for i in range(n)]
    quint = np.repeat(["1", "2", "3", "4", "5"], 5)
    oi, di = np.nonzero(~np.eye(n, dtype=bool))
    pop = rng.lognormal(11, 0.5, n)
    xy = rng.uniform(0, 300, (n, 2))
    dist = np.sqrt(((xy[oi] - xy[di]) ** 2).sum(1)) + 1.0
    mu = pop[oi] * 1e-2 * dist ** -1.0 * np.where(quint[oi] == quint[di], 1.5, 1.0)
    t = pd.DataFrame({"period": "2021", "origin": np.array(codes)[oi], "destination": np.array(codes)[di],
                      "flow": rng.poisson(mu).astype(float), "distance_km": dist,
                      "border": (dist < 40).astype(float), "log_pop_o": np.log(pop[oi]),
                      "o_area_imd": quint[oi], "d_area_imd": quint[di]})
    t["origin_key"] = "2021:" + t["origin"]
    mat = flow_matrix(t, "imd")
    assert mat.shape == (5, 5)
    assert mat.to_numpy().sum() == pytest.approx(t["flow"].sum(), rel=1e-12)
    rec = receiving_areas(t, "imd")
    np.testing.assert_allclose(rec.relative_rates["1"], 1.0)
    np.testing.assert_allclose(rec.raw_relative["1"], 1.0)
    assert rec.result.converged
    ltl = rec.like_to_like()
    assert ltl is not None and ltl["raw"] > 0 and ltl["model"] > 0


# ---- real data ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pooled(data_dir: Path) -> pd.DataFrame:
    return ladder_table("pooled", "imd", data_dir)


@pytest.fixture(scope="module")
def ladder_hc1(pooled: pd.DataFrame):
    """The pooled ladder with HC1 SEs (pyfixest's ``hetero``), no receiving model."""
    return fit_ladder(table=pooled, options=LadderOptions(se="hc1", receiving=False))


@pytest.mark.realdata
def test_pooled_table(pooled: pd.DataFrame) -> None:
    """Both periods on one zone set: 2 x 318 x 317 pairs, complete, with the fills recorded."""
    assert len(pooled) == 2 * N_PAIRS
    assert pooled.groupby("period").size().to_dict() == {"2011": N_PAIRS, "2021": N_PAIRS}
    used = ["flow", "distance_km", "border", "log_pop_o", "hp_ratio", "pay_ratio", "o_pct_0_4", "o_pct_20_34",
            "o_pct_65plus", "o_intl_in_pct", *AREA_DUMMIES["imd"]]
    assert np.isfinite(pooled[used].to_numpy(dtype=float)).all()
    assert pooled.loc[pooled["period"] == "2021", "flow"].sum() == pytest.approx(2_741_110, abs=1)
    zones = pooled.drop_duplicates(["period", "origin"])
    assert ((zones["o_pct_0_4"] > 1) & (zones["o_pct_0_4"] < 15)).all()
    reports = json.loads(pooled.attrs["harmonisation"])
    pay = [r for r in reports if r["dataset"] == "earnings"]
    assert len(pay) == 2 and all("E06000063" in r["filled"] for r in pay)  # Cumberland: no ASHE before 2022


@pytest.mark.realdata
@pytest.mark.parametrize("model", ["M1", "M2", "M3", "M4"])
def test_rate_ladder_matches_pyfixest(pooled: pd.DataFrame, ladder_hc1, model: str) -> None:
    """Each model equals ``pf.fepois(..., offset="log_pop_o")``: coefficients to 1e-6, HC1 SEs to 1e-4."""
    t = pooled.assign(log_dist=np.log(pooled["distance_km"]), log_hp_ratio=np.log(pooled["hp_ratio"]),
                      log_pay_ratio=np.log(pooled["pay_ratio"]))
    rename = {"log(distance_km)": "log_dist", "log(hp_ratio)": "log_hp_ratio", "log(pay_ratio)": "log_pay_ratio",
              "intercept": "Intercept"}
    ours = ladder_hc1.results[model]
    names = [n for n in ours.coefficients if n != "intercept"]
    ref = pf.fepois("flow ~ " + " + ".join(rename.get(n, n) for n in names), data=t, offset="log_pop_o",
                    vcov="hetero", iwls_tol=1e-12)
    coef, se = ref.coef(), ref.se()
    for n in [*names, "intercept"]:
        np.testing.assert_allclose(ours.coefficients[n], coef[rename.get(n, n)], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(ours.std_errors[n], se[rename.get(n, n)], rtol=1e-4)


@pytest.mark.realdata
def test_sign_pattern_of_models_2_and_3(ladder_hc1) -> None:
    """As the paper: given distance and border (M2) and demography (M3), every quintile sends at a rate at
    least that of the most deprived."""
    for model in ("M2", "M3"):
        r = ladder_hc1.results[model]
        assert all(r.coefficients[t] > 0 for t in AREA_DUMMIES["imd"]), model
    assert all(r.converged for r in ladder_hc1.results.values())


@pytest.mark.realdata
def test_receiving_areas_sum_to_the_flows(pooled: pd.DataFrame) -> None:
    """The raw matrix holds every inter-LAD migrant of both censuses; the model's reference column is 1."""
    rec = receiving_areas(pooled, "imd")
    assert rec.flows.to_numpy().sum() == pytest.approx(pooled["flow"].sum(), rel=1e-12)
    for p in ("2011", "2021"):
        sub = pooled[pooled["period"] == p]
        assert flow_matrix(sub).to_numpy().sum() == pytest.approx(sub["flow"].sum(), rel=1e-12)
    np.testing.assert_allclose(rec.relative_rates["1"], 1.0)
    ltl = rec.like_to_like()
    assert ltl is not None and 3.5 < ltl["raw"] < 4.5 and ltl["model"] > 1
    clusters = flow_matrix(pooled, "cluster")
    assert clusters.to_numpy().sum() == pytest.approx(pooled["flow"].sum(), rel=1e-12)


@pytest.mark.realdata
def test_single_period_and_cluster_ladders(data_dir: Path) -> None:
    """One census period (no period effect) and the cluster typology fit, with the paper comparison only for IMD."""
    lad = fit_ladder(data_dir, period="2021", typology="cluster")
    assert lad.n_pairs == N_PAIRS and "period_2021" not in lad.results["M1"].coefficients
    assert set(AREA_DUMMIES["cluster"]) <= set(lad.results["M4"].coefficients)
    assert lad.comparison().empty and "no published counterpart" in lad.comparison_text()
    with pytest.raises(ConfigError, match=r"^period="):
        fit_ladder(data_dir, table=ladder_table("2011", "imd", data_dir), period="2021")


@pytest.mark.realdata
def test_ladder_cli_pure_json(data_dir: Path) -> None:
    """``migravity ladder --json -`` writes JSON alone on stdout; the tables go to stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "migravity", "--data-dir", str(data_dir), "ladder", "--json", "-", "--period", "2011"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["options"] == {"period": "2011", "typology": "imd", "se": "robust"}
    assert payload["n_pairs"] == N_PAIRS and set(payload["ladder"]) == {"M1", "M2", "M3", "M4"}
    assert len(payload["paper_comparison"]) == 16
    assert "Side by side" in proc.stderr
    bad = subprocess.run([sys.executable, "-m", "migravity", "--data-dir", str(data_dir), "ladder", "--period", "x"],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "period='x'" in bad.stderr
