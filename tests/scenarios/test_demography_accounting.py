"""Ageing-free demographic accounting: the identity under hypothesis inputs, references, helpers, real baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from migravity.errors import ConfigError, InputError
from migravity.geodata.zones import ZoneSet
from migravity.scenarios import demography as sd

EPS = np.finfo(float).eps


def _zones(regions: tuple[str, ...]) -> ZoneSet:
    n = len(regions)
    return ZoneSet(vintage="2023", area="EW", codes=tuple(f"E0600{i:04d}" for i in range(n)),
                   names=tuple(f"Zone {i}" for i in range(n)), region_codes=regions,
                   region_names=regions, nations=("England",) * n, geometry=None)  # type: ignore[arg-type]


@st.composite
def demographic_inputs(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    """Start populations, growth paths (row 0 ones), rates and net internal migration of matching shapes."""
    n = draw(st.integers(1, 6))
    steps = draw(st.integers(1, 8))
    start = draw(hnp.arrays(float, n, elements=st.floats(1.0, 1e7)))
    later = draw(hnp.arrays(float, (steps, n), elements=st.floats(0.5, 2.0)))
    growth = np.vstack([np.ones(n), later])
    births = draw(hnp.arrays(float, (steps, n), elements=st.floats(0.0, 0.05)))
    deaths = draw(hnp.arrays(float, n, elements=st.floats(0.0, 0.05)))
    internal = draw(hnp.arrays(float, (steps, n), elements=st.floats(-1e5, 1e5)))
    return start, growth, births, deaths, internal


@given(demographic_inputs())
def test_identity_exact_under_hypothesis(args: tuple[np.ndarray, ...]) -> None:
    """pop[t+1] - pop[t] = births - deaths + net internal + net international, to a few ulps."""
    start, growth, births, deaths, internal = args
    path = sd.components_path(start, growth, births, deaths, internal)
    pop = path["population"]
    scale = np.abs(np.stack([pop[1:], pop[:-1], path["births"], path["deaths"], path["net_internal"],
                             path["net_international"]])).max(axis=0)
    assert (np.abs(sd.accounting_residual(path)) <= 16 * EPS * scale).all()
    assert np.array_equal(pop[0], start)
    assert np.allclose(pop, start * growth, rtol=1e-15, atol=0)
    assert np.array_equal(path["other"], np.zeros_like(path["other"]))
    assert np.array_equal(path["net_internal"], internal)


@given(demographic_inputs(), st.integers(0, 2**32 - 1))
def test_identity_with_projection_international(args: tuple[np.ndarray, ...], seed: int) -> None:
    """With a supplied net international migration, ``other`` balances and the identity still holds."""
    start, growth, births, deaths, internal = args
    intl = np.random.default_rng(seed).normal(0, 1e3, internal.shape)
    path = sd.components_path(start, growth, births, deaths, internal, net_international=intl)
    assert np.array_equal(path["net_international"], intl)
    pop = path["population"]
    scale = np.abs(np.stack([pop[1:], pop[:-1], path["births"], path["deaths"], internal, intl,
                             path["other"]])).max(axis=0)
    assert (np.abs(sd.accounting_residual(path)) <= 16 * EPS * scale).all()


def test_against_slow_reference() -> None:
    """A loop over years and LADs gives the same components."""
    rng = np.random.default_rng(3)
    n, steps = 4, 5
    start = rng.uniform(1e4, 1e6, n)
    growth = np.vstack([np.ones(n), np.cumprod(rng.uniform(0.98, 1.03, (steps, n)), axis=0)])
    br, dr = rng.uniform(0.008, 0.014, n), rng.uniform(0.006, 0.012, n)
    internal = rng.normal(0, 500, (steps, n))
    path = sd.components_path(start, growth, br, dr, internal)
    for t in range(steps):
        for i in range(n):
            p0, p1 = start[i] * growth[t, i], start[i] * growth[t + 1, i]
            b, d = br[i] * p0, dr[i] * p0
            assert path["births"][t, i] == pytest.approx(b, rel=1e-14)
            assert path["deaths"][t, i] == pytest.approx(d, rel=1e-14)
            assert path["net_international"][t, i] == pytest.approx(p1 - p0 - b + d - internal[t, i],
                                                                    rel=1e-12, abs=1e-6)


def test_callable_model_sees_the_path() -> None:
    """A net internal model is called once per year with that year's start population."""
    start = np.array([100.0, 200.0])
    growth = np.array([[1.0, 1.0], [1.1, 0.9], [1.2, 0.8]])
    seen: list[np.ndarray] = []

    def model(t: int, pop: np.ndarray) -> np.ndarray:
        seen.append(pop)
        return 0.01 * pop * np.array([1.0, -1.0])

    path = sd.components_path(start, growth, 0.01, 0.01, model)
    assert len(seen) == 2
    assert np.allclose(seen[1], start * growth[1])
    assert np.allclose(path["net_internal"][1], 0.01 * start * growth[1] * np.array([1, -1]))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"growth": np.array([[1.1, 1.0], [1.2, 1.0]])}, "row 0"),
    ({"growth": np.ones((2, 3))}, "growth"),
    ({"births_rate": -0.01}, "births_rate"),
    ({"deaths_rate": np.ones(5)}, "deaths_rate"),
    ({"net_internal": lambda t, p: np.ones(3)}, "net_internal"),
    ({"start_pop": np.array([0.0, 1.0])}, "start_pop"),
])
def test_bad_inputs_refused(kwargs: dict[str, object], match: str) -> None:
    """Bad shapes and values raise InputError naming the argument."""
    args: dict[str, object] = {"start_pop": np.array([10.0, 20.0]), "growth": np.array([[1.0, 1.0], [1.1, 1.0]]),
                               "births_rate": 0.01, "deaths_rate": 0.01, "net_internal": np.zeros(2)}
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        sd.components_path(**args)  # type: ignore[arg-type]


def test_region_helpers() -> None:
    """London totals and the GSE share on a small zone set."""
    z = _zones(("E12000007", "E12000008", "E12000001", "E12000007"))
    v = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 2.0]])
    assert sd.region_total(v, z).tolist() == [5.0, 4.0]
    assert sd.region_total(v, z, "E12000001").tolist() == [3.0, 2.0]
    assert sd.gse_share(v, z).tolist() == pytest.approx([0.7, 0.75])
    with pytest.raises(ConfigError, match="regions"):
        sd.region_total(v, z, "E12000009")
    with pytest.raises(InputError, match="values"):
        sd.gse_share(np.ones(3), z)


def test_baseline_on_real_data(data_dir: Path) -> None:
    """10 years from mid-2023: London follows the SNPP growth; year 1 internal = pre-COVID mean; identity holds."""
    from migravity.geodata import demography as geo
    from migravity.geodata.zones import load_zones

    zones23 = load_zones("2023", "EW", data_dir)

    ds = sd.baseline_components(zones23, 2023, 10, data_dir)
    pop = ds.population.to_numpy()
    london = sd.region_total(pop, zones23)
    proj = geo.load_projection(zones23, data_dir).population
    lon = np.array([r == sd.LONDON for r in zones23.region_codes])
    snpp = proj[lon].sum("lad")
    target = london[0] * float(snpp.sel(year=2033) / snpp.sel(year=2023))
    assert london[-1] == pytest.approx(target, rel=0.015)
    pre = geo.precovid_internal(zones23, data_dir=data_dir).internal_net.to_numpy()
    assert sd.region_total(ds.net_internal.to_numpy()[0], zones23) == pytest.approx(pre[lon].sum())
    path = {k: ds[k].to_numpy() for k in ("births", "deaths", "net_internal", "net_international", "other")}
    path["population"] = pop
    assert np.abs(sd.accounting_residual(path)).max() <= 1e-6
    print(f"baseline London {london[0]:,.0f} -> {london[-1]:,.0f}; GSE share "
          f"{sd.gse_share(pop[0], zones23):.4f} -> {sd.gse_share(pop[-1], zones23):.4f}; "
          f"London net international y1 {sd.region_total(path['net_international'][0], zones23):,.0f}")
