"""Census skills/WFH readers, their harmonisation to 2023 codes, load_skills and the dated covariates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from migravity.errors import ConfigError, MalformedDataError
from migravity.geodata.covariates import load_dated_covariates
from migravity.geodata.harmonise import code_map
from migravity.geodata.readers import CENSUS_COLUMNS, load, read_ts061, read_ts062
from migravity.geodata.registry import REGISTRY
from migravity.geodata.skills import TELEWORKABILITY_SOC, load_skills, teleworkability

CENSUS = {"census2021_ts061": "read_ts061", "census2021_ts062": "read_ts062", "census2021_ts063": "read_ts063",
          "census2021_ts067": "read_ts067", "census2011_qs606": "read_qs606", "census2011_qs607": "read_qs607",
          "census2011_qs501": "read_qs501"}


def _ts061_text(rows: list[list[object]], drop: str | None = None) -> str:
    cols = ["lad21cd", "lad21nm", *CENSUS_COLUMNS["read_ts061"]]
    df = pd.DataFrame(rows, columns=cols)
    return df.drop(columns=[drop] if drop else []).to_csv(index=False)


def _row(code: str, total: int = 100, home: int = 30) -> list[object]:
    return [code, "A", total, home, *([0] * 9), total - home]


# ---- readers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dataset", sorted(CENSUS))
def test_census_readers_give_stable_columns(dataset: str, data_dir: Path) -> None:
    assert REGISTRY[dataset].reader == CENSUS[dataset] and REGISTRY[dataset].vintage == "2021"
    df = load(dataset, data_dir)
    assert list(df.columns) == ["code", "name", *CENSUS_COLUMNS[CENSUS[dataset]].values()]
    assert len(df) == 331 and df.code.is_unique
    counts = df.iloc[:, 2:].to_numpy()
    np.testing.assert_array_equal(counts[:, 1:].sum(axis=1), counts[:, 0])


def test_census_reader_missing_column_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "ts061.csv"
    path.write_text(_ts061_text([_row("E06000001")], drop="ts0610002_work_mainly_at_or_from_home"))
    with pytest.raises(MalformedDataError, match="ts0610002_work_mainly_at_or_from_home") as e:
        read_ts061(path)
    assert e.value.path == path and "\n" not in str(e.value)


def test_census_reader_rejects_non_numeric_negative_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "ts061.csv"
    bad = _row("E06000002")
    bad[3] = "x"
    path.write_text(_ts061_text([_row("E06000001"), bad]))
    with pytest.raises(MalformedDataError, match=r"line 3: column 'ts0610002_work_mainly_at_or_from_home'"):
        read_ts061(path)
    neg = _row("E06000002")
    neg[4] = -1
    neg[13] = 71
    path.write_text(_ts061_text([_row("E06000001"), neg]))
    with pytest.raises(MalformedDataError, match="negative"):
        read_ts061(path)
    path.write_text(_ts061_text([_row("E06000001"), _row("E06000001")]))
    with pytest.raises(MalformedDataError, match="duplicate key"):
        read_ts061(path)


def test_census_reader_rejects_categories_not_summing_to_total(tmp_path: Path) -> None:
    path = tmp_path / "ts062.csv"
    cols = list(CENSUS_COLUMNS["read_ts062"])
    row = ["E06000001", "A", 1000, *([100] * (len(cols) - 1))]  # 9 x 100 = 900
    path.write_text(pd.DataFrame([row], columns=["lad21cd", "lad21nm", *cols]).to_csv(index=False))
    with pytest.raises(MalformedDataError, match=r"line 2: categories of column 'ts0620001_total_16plus' sum to 900"):
        read_ts062(path)


# ---- harmonisation and load_skills --------------------------------------------------------------

COUNTS = ("workers_2021", "wfh_2021", "workers_2011", "level4_2011", "level4_2021", "level4_base_2021")


@pytest.fixture(scope="module")
def skills23(zones23):
    return load_skills(zones23)


def test_counts_are_conserved_from_lad21_to_2023(skills23, data_dir: Path) -> None:
    src = {"workers_2021": ("census2021_ts061", "workers"), "wfh_2021": ("census2021_ts061", "wfh"),
           "workers_2011": ("census2011_qs606", "workers"), "level4_2011": ("census2011_qs501", "level4plus"),
           "level4_2021": ("census2021_ts067", "level4plus"), "level4_base_2021": ("census2021_ts067",
                                                                                   "residents_16plus")}
    for var, (dataset, column) in src.items():
        assert float(skills23[var].sum()) == pytest.approx(float(load(dataset, data_dir)[column].sum()), rel=1e-12)
    reports = {r["dataset"]: r for r in json.loads(skills23.attrs["harmonisation"])}
    merged = reports["census_skills_lad21"]["merged"]
    assert sorted(merged) == ["E06000063", "E06000064", "E06000065", "E06000066"]  # Cumbria, N Yorks, Somerset
    assert not reports["census_skills_lad21"]["unmatched"] and not reports["census_skills_lad21"]["outside"]


def test_counts_are_unchanged_on_2021_zones(zones21, data_dir: Path) -> None:
    ds = load_skills(zones21, data_dir)
    t61 = load("census2021_ts061", data_dir).set_index("code").reindex(list(zones21.codes))
    np.testing.assert_array_equal(ds["workers_2021"].to_numpy(), t61["workers"].to_numpy(float))


def test_2011_commute_jobs_keep_every_ew_job(skills23, data_dir: Path) -> None:
    c = load("commute2011", data_dir)
    ew = r"[EW]\d{8}"
    expected = c[c.destination.str.fullmatch(ew)]["count"].sum() + \
        c[(c.destination == "WFH") & c.origin.str.fullmatch(ew)]["count"].sum()
    assert float(skills23["jobs_2011"].sum()) == pytest.approx(expected, rel=1e-12)
    cmap = code_map("2011cm", "2023", data_dir)
    assert set(cmap.splits["E41000324"]) == {"E09000001", "E09000033"}


def test_load_skills_sanity_on_real_data(skills23, zones23) -> None:
    ds = skills23
    assert list(ds.lad.values) == list(zones23.codes) and ds.attrs["hsl_base"] == "nssec"
    nat = {v: float(ds[v].sum()) for v in ds.data_vars}
    assert 0.312 < nat["wfh_2021"] / nat["workers_2021"] < 0.313  # ONS headline 31.2%
    for year in ("2011", "2021"):
        assert 0.35 < nat[f"hsl_{year}_nssec"] / nat[f"workers_{year}"] < 0.42
        assert 0.39 < nat[f"hsl_{year}_occupation"] / nat[f"workers_{year}"] < 0.48
        np.testing.assert_array_equal(ds[f"hsl_{year}"], ds[f"hsl_{year}_nssec"])
        assert (ds[f"hsl_{year}"] < ds[f"workers_{year}"]).all() and (ds[f"hsl_{year}"] > 0).all()
    assert nat["level4_2021"] / nat["level4_base_2021"] == pytest.approx(0.338, abs=5e-4)
    assert nat["level4_2011"] / nat["level4_base_2011"] == pytest.approx(0.2722, abs=5e-4)
    share = (ds.hsl_2021 / ds.workers_2021).to_numpy()
    assert share.max() == share[list(zones23.codes).index("E09000001")]  # City of London
    t = ds.teleworkability_2011.to_numpy()
    assert min(TELEWORKABILITY_SOC.values()) < t.min() and t.max() < max(TELEWORKABILITY_SOC.values())
    assert np.corrcoef(t, ds.wfh_share_2021)[0, 1] > 0.9
    assert np.isfinite(ds.jobs_2011).all() and (ds.jobs_2021 > 0).all()


def test_occupation_base_and_bad_base(zones23, data_dir: Path, skills23) -> None:
    ds = load_skills(zones23, data_dir, hsl_base="occupation")
    np.testing.assert_array_equal(ds["hsl_2021"], skills23["hsl_2021_occupation"])
    with pytest.raises(ConfigError, match="hsl_base"):
        load_skills(zones23, data_dir, hsl_base="pay")  # type: ignore[arg-type]


def test_teleworkability_is_the_share_weighted_score() -> None:
    counts = np.zeros((2, 9))
    counts[0, 1] = 10  # all professionals
    counts[1, [0, 8]] = 5
    np.testing.assert_allclose(teleworkability(counts),
                               [TELEWORKABILITY_SOC[2], (TELEWORKABILITY_SOC[1] + TELEWORKABILITY_SOC[9]) / 2])


# ---- dated covariates -------------------------------------------------------------------------

def test_dated_covariates_are_the_flow_year_values(zones23, data_dir: Path) -> None:
    hp = load("house_prices", data_dir).set_index(["code", "date"])["value"]
    for year, date, pay_year in ((2011, "Mar 2011", 2010), (2021, "Mar 2021", 2020)):
        ds = load_dated_covariates(zones23, year, data_dir)  # type: ignore[arg-type]
        code = "E08000025"  # Birmingham: no merge
        assert float(ds.house_price.sel(lad=code)) == hp[(code, date)]
        assert ds.weekly_pay.attrs["period"] == f"April {pay_year}"
        assert np.isfinite(ds.house_price).all() and np.isfinite(ds.weekly_pay).all()
        filled = json.loads(ds.weekly_pay.attrs["filled"])
        assert "E09000001" in filled or year == 2021  # City of London suppressed: filled and recorded
    with pytest.raises(ConfigError, match="census_year"):
        load_dated_covariates(zones23, 2016, data_dir)  # type: ignore[arg-type]
