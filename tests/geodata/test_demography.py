"""Demographic inputs on the real data: components of change, pre-COVID internal migration, SNPP growth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from migravity.errors import ConfigError
from migravity.geodata import demography as dem
from migravity.geodata.readers import load
from migravity.geodata.zones import ZoneSet

LONDON = "E12000007"
EW = ("E", "W")


@pytest.fixture(scope="module")
def comp23(zones23: ZoneSet, data_dir: Path) -> xr.Dataset:
    """Components of change on the 2023 England and Wales zones."""
    return dem.load_components(zones23, data_dir)


@pytest.fixture(scope="module")
def proj23(zones23: ZoneSet, data_dir: Path) -> xr.Dataset:
    """The SNPP 2018-based projection on the 2023 zones."""
    return dem.load_projection(zones23, data_dir)


def _london(zones: ZoneSet) -> np.ndarray:
    return np.array([r == LONDON for r in zones.region_codes])


def test_components_shape_and_years(comp23: xr.Dataset) -> None:
    """318 LADs, years of change ending mid-2002 ... mid-2020 and the Census -> mid-2021 period."""
    assert comp23.sizes == {"lad": 318, "year": 20}
    assert comp23.year.values.tolist() == list(range(2002, 2022))
    assert comp23.months.sel(year=2021) == pytest.approx(3.3)
    assert np.isnan(comp23.international_in.sel(year=2021)).all()
    for v in ("population", "births", "deaths", "internal_net", "international_net", "other"):
        assert not comp23[v].isnull().any(), v


def test_components_accounting_identity(comp23: xr.Dataset) -> None:
    """pop(t+1) - pop(t) = births - deaths + net internal + net international + other, to rounding."""
    worst = abs(comp23.residual).max("lad")
    print("max |residual| per year:", dict(zip(comp23.year.values.tolist(), worst.values.tolist(), strict=True)))
    assert float(worst.max()) <= 10.0
    gross = comp23.internal_in - comp23.internal_out - comp23.internal_net
    assert float(abs(gross).max()) <= 10.0
    intl = (comp23.international_in - comp23.international_out - comp23.international_net).sel(year=slice(2002, 2020))
    assert float(abs(intl).max()) <= 10.0


def test_components_chain_and_level_break(comp23: xr.Dataset) -> None:
    """Within a series each start equals the previous end; Census 2021 breaks the chain (rebasing)."""
    assert float(abs(comp23.chain_gap.sel(year=slice(2003, 2020))).max()) == 0.0
    ew_gap = float(comp23.chain_gap.sel(year=2021).sum())
    # Census 2021 (59,597,415) minus pre-rebasing mid-2020 (59,719,724), over E&W
    assert ew_gap == pytest.approx(59_597_415 - 59_719_724, abs=20)


def _raw_ew_totals(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    lad = df.code.str[:3].isin(["E06", "E07", "E08", "E09", "W06"])
    return df.loc[lad, cols].sum()


def test_harmonisation_conserves_totals(comp23: xr.Dataset, data_dir: Path) -> None:
    """Summed over E&W, every component of every year equals the raw file's E&W LAD total."""
    cols = ["births", "deaths", "internal_in", "internal_out", "internal_net", "international_net", "other"]
    raw = load("mye_components_2002_2019", data_dir).rename(columns={"other_change": "other"})
    for year, grp in raw.groupby("year"):
        want = _raw_ew_totals(grp, [*cols, "population"])
        got = comp23.sel(year=int(year)).sum("lad")
        for c in cols:
            assert float(got[c]) == pytest.approx(want[c], abs=1e-6), (year, c)
        assert float(got.population_end) == pytest.approx(want["population"], abs=1e-6)
    for name, year in (("mye_components_2019_2020", 2020), ("mye_components_census2021_mid2021", 2021)):
        want = _raw_ew_totals(load(name, data_dir), [*cols, "population_end"])
        got = comp23.sel(year=year).sum("lad")
        for c in [*cols, "population_end"]:
            assert float(got[c]) == pytest.approx(want[c], abs=1e-6), (name, c)
    reports = {r["dataset"]: r for r in json.loads(comp23.attrs["harmonisation"])}
    assert set(reports["mye_components_2002_2019"]["merged"]) >= {"E06000061", "E06000065"}
    assert all(not r["unmatched"] for r in reports.values())
    # Scotland's and Northern Ireland's LADs are recorded as outside the study area, not dropped silently
    assert len(reports["mye_components_2002_2019"]["outside"]) == 43
    assert len(reports["mye_components_census2021_mid2021"]["outside"]) == 11


def test_precovid_london_net_internal(zones23: ZoneSet, comp23: xr.Dataset, data_dir: Path) -> None:
    """London's mean annual net internal migration 2015-2019 against a sum over its boroughs in the raw file."""
    pre = dem.precovid_internal(zones23, components=comp23)
    london = float(pre.internal_net[_london(zones23)].sum())
    raw = load("mye_components_2002_2019", data_dir)
    boroughs = raw[raw.code.str.startswith("E09") & raw.year.between(2015, 2019)]
    reference = boroughs.groupby("year").internal_net.sum().mean()
    by_year = comp23.internal_net[_london(zones23)].sum("lad")
    print(f"London pre-COVID net internal (2015-2019 mean): {london:,.0f}; by year:",
          {int(y): round(float(v)) for y, v in zip(by_year.year.values, by_year.values, strict=True)})
    assert london == pytest.approx(reference)
    assert -110_000 < london < -80_000
    assert float(pre.internal_in.sum() - pre.internal_out.sum()) == pytest.approx(float(pre.internal_net.sum()))


@pytest.mark.parametrize("window", [(2019, 2015), (2015, 2021), (1999, 2003)])
def test_precovid_window_refused(zones23: ZoneSet, comp23: xr.Dataset, window: tuple[int, int]) -> None:
    """A window outside the annual series (or reversed) is refused, naming the field."""
    with pytest.raises(ConfigError, match="window"):
        dem.precovid_internal(zones23, window, components=comp23)


def test_precovid_rates_plausible(zones23: ZoneSet, comp23: xr.Dataset) -> None:
    """Crude birth and death rates about 1.1 % and 0.9 % a year over E&W."""
    r = dem.precovid_rates(zones23, components=comp23)
    assert (r.births_rate > 0).all() and (r.deaths_rate > 0).all()
    assert 0.005 < float(r.births_rate.median()) < 0.02
    assert 0.005 < float(r.deaths_rate.median()) < 0.02


def test_projection_levels(zones23: ZoneSet, proj23: xr.Dataset) -> None:
    """England's 296 LADs are projected (totals as published); Welsh LADs are NaN and flagged."""
    pop = proj23.population
    england = np.array([c.startswith("E") for c in zones23.codes])
    assert int(proj23.projected.sum()) == 296
    assert proj23.projected.values.tolist() == england.tolist()
    assert float(pop[england].sel(year=2018).sum()) == pytest.approx(55_977_178, abs=2)
    assert float(pop[england].sel(year=2028).sum()) == pytest.approx(58_751_651, abs=2)
    assert float(pop[_london(zones23)].sel(year=2043).sum()) == pytest.approx(9_814_027, abs=2)


def test_projection_growth(zones23: ZoneSet, proj23: xr.Dataset, data_dir: Path) -> None:
    """Growth is 1 at the base year; London's 2023 -> 2033 growth; Wales flagged with its option."""
    years = list(range(2023, 2034))
    g = dem.projection_growth(zones23, 2023, years, data_dir, projection=proj23)
    assert np.allclose(g.sel(year=2023), 1.0)
    lon = _london(zones23)
    london_snpp = proj23.population[lon].sum("lad")
    assert float(london_snpp.sel(year=2033) / london_snpp.sel(year=2023)) == pytest.approx(1.0333, abs=5e-4)
    wales = np.array([c.startswith("W") for c in zones23.codes])
    assert set(g.growth_source.values[wales]) == {"wales:lad_trend"}
    assert set(g.growth_source.values[~wales]) == {"snpp2018"}
    assert np.isfinite(g).all()
    eng = dem.projection_growth(zones23, 2023, years, data_dir, wales="england_projection", projection=proj23)
    e_tot = proj23.population[~wales].sum("lad")
    assert np.allclose(eng[wales].sel(year=2033), float(e_tot.sel(year=2033) / e_tot.sel(year=2023)))
    nat = dem.projection_growth(zones23, 2023, years, data_dir, wales="wales_trend", projection=proj23)
    assert np.ptp(nat[wales].sel(year=2033).values) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ConfigError, match="years"):
        dem.projection_growth(zones23, 2023, [2050], data_dir, projection=proj23)
    with pytest.raises(ConfigError, match="wales"):
        dem.projection_growth(zones23, 2023, years, data_dir, wales="scotland", projection=proj23)  # type: ignore[arg-type]


def test_population_london_and_gse_share(zones23: ZoneSet, data_dir: Path) -> None:
    """Mid-year estimates: London 8.20m (2011), 8.80m (2021), 8.95m (2023); GSE share 40.45 % -> 40.98 %."""
    got = {}
    for year in (2011, 2021, 2023):
        p = dem.load_population(zones23, year, data_dir).values
        got[year] = (p[_london(zones23)].sum(), p[zones23.gse].sum() / p.sum())
    print("London population and GSE share of E&W:", got)
    assert got[2011][0] == pytest.approx(8.20e6, rel=2e-3)
    assert got[2021][0] == pytest.approx(8.80e6, rel=2e-3)
    assert got[2023][0] == pytest.approx(8.95e6, rel=2e-3)
    assert got[2011][1] == pytest.approx(0.4045, abs=1e-4)
    assert got[2021][1] == pytest.approx(0.4098, abs=1e-4)
    with pytest.raises(ConfigError, match="year"):
        dem.load_population(zones23, 2030, data_dir)


def test_population_split_onto_2021_zones_conserves_total(zones21: ZoneSet, zones23: ZoneSet, data_dir: Path) -> None:
    """Onto 2021 codes the 2023 unitary authorities are split by Census population; the total is kept."""
    p21 = dem.load_population(zones21, 2023, data_dir)
    p23 = dem.load_population(zones23, 2023, data_dir)
    assert float(p21.sum()) == pytest.approx(float(p23.sum()))
    assert json.loads(p21.attrs["harmonisation"])["split"]
