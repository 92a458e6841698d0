"""Scenario files: validation errors name the key and the allowed values; the library loads."""

from __future__ import annotations

import numpy as np
import pytest

from migravity.errors import ConfigError, InputError
from migravity.scenarios.segments import HIGH_SHARE, NATIONAL_ALL, national_shares
from migravity.scenarios.spec import library_names, load_scenario, scenario_from_dict

NAMED = ("baseline", "wfh_uptake", "remote_surge", "northern_housing_relief", "london_squeeze", "combined")


def test_named_scenarios_load():
    assert set(NAMED) <= set(library_names())
    for name in NAMED:
        sc = load_scenario(name)
        assert sc.name == name and sc.source == f"library:{name}"
    assert load_scenario("baseline").is_zero
    assert not load_scenario("combined").is_zero


#: The regions of England (E12000001-9) and Wales.
REAL_REGIONS = (*(f"E1200000{k}" for k in range(1, 10)), "W92000004")


def test_named_scenarios_know_real_region_codes():
    scenarios = [load_scenario(name) for name in NAMED]
    used = {r for sc in scenarios for ch in (*sc.wfh, *sc.house_prices, *sc.earnings) for r in ch.regions}
    assert used, "the library selects some regions by code"
    assert used <= set(REAL_REGIONS), sorted(used - set(REAL_REGIONS))
    for sc in scenarios:
        sc.check_zones(("E06000001",), REAL_REGIONS)
    # and the check is not vacuous: without one of the regions they name, some scenario fails it
    missing = sorted(used)[0]
    failures = []
    for sc in scenarios:
        try:
            sc.check_zones(("E06000001",), tuple(r for r in REAL_REGIONS if r != missing))
        except ConfigError as exc:
            failures.append(exc.value)
    assert failures == [missing] * len(failures) and failures


def test_scenario_name_all_is_an_ordinary_name():
    """Names are free: ``export --scenario all`` is the command line's business, not the scenario file's."""
    assert scenario_from_dict({"name": "all"}).name == "all"


@pytest.mark.parametrize(("raw", "key", "allowed"), [
    ({"yeras": 5}, "yeras", "allowed keys: name, description, years"),
    ({"wfh": [{"class": "never", "factor": 0.5, "skil": "high"}]}, "wfh[0].skil", "allowed keys: class, skill"),
    ({"house_prices": [{"pct": -15, "area": "outside_gse", "extra": 1}]}, "house_prices[0].extra", "pct, area"),
    ({"years": "ten"}, "years", "integer"),
    ({"housing_feedback": "high"}, "housing_feedback", "number"),
    ({"wfh": [{"class": "never", "factor": "half"}]}, "wfh[0].factor", "number"),
    ({"wfh": [{"class": "sometimes", "factor": 0.5}]}, "wfh[0].class", "'never', 'monthly', '1day'"),
    ({"wfh": [{"class": "never", "skill": "medium", "factor": 0.5}]}, "wfh[0].skill", "'high', 'other', 'all'"),
    ({"wfh": [{"class": "never", "share": 1.5}]}, "wfh[0].share", "between 0 and 1"),
    ({"wfh": [{"class": "never", "share": -0.1}]}, "wfh[0].share", "between 0 and 1"),
    ({"house_prices": [{"pct": -150, "area": "all"}]}, "house_prices[0].pct", "between -95 and 500"),
    ({"house_prices": [{"pct": 5, "area": "north"}]}, "house_prices[0].area", "'all', 'gse', 'outside_gse'"),
    ({"mode": "doubly"}, "mode", "'production', 'unconstrained'"),
    ({"parameters": {"theta_access": 0.1}}, "parameters.theta_access", "'theta_price', 'theta_pay'"),
    ({"parameters": {"move_rate_scale": [1.2, 0.8]}}, "parameters.move_rate_scale", "low <= high"),
    ({"draws": 0}, "draws", "between 1 and"),
    ({"name": "no spaces"}, "name", "letters, digits"),
])
def test_validation_errors_name_key_and_allowed_values(raw, key, allowed):
    with pytest.raises(ConfigError) as exc:
        scenario_from_dict(raw, name="t")
    assert exc.value.field == key
    assert allowed in str(exc.value)


def test_unknown_lad_and_region_codes_name_key_and_allowed(inputs):
    sc = scenario_from_dict({"house_prices": [{"pct": 5, "regions": ["E12000099"]}]}, name="t")
    with pytest.raises(ConfigError) as exc:
        sc.check_zones(inputs.codes, inputs.region_codes)
    assert exc.value.field == "house_prices[0].regions" and "E12000002" in str(exc.value)
    sc = scenario_from_dict({"wfh": [{"class": "never", "factor": 0.5, "lads": ["E09999999"]}]}, name="t")
    with pytest.raises(ConfigError) as exc:
        sc.check_zones(inputs.codes, inputs.region_codes)
    assert exc.value.field == "wfh[0].lads" and inputs.codes[0] in str(exc.value)


def test_toml_file_and_syntax_errors(tmp_path):
    f = tmp_path / "my.toml"
    f.write_text('description = "x"\n[[house_prices]]\ntable = "prices.csv"\n')  # pct with table: an error
    sc = load_scenario(f)
    assert sc.name == "my" and sc.house_prices[0].table == str(tmp_path / "prices.csv")
    bad = tmp_path / "bad.toml"
    bad.write_text("years = = 3\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_scenario(bad)
    with pytest.raises(InputError, match="library scenarios: baseline"):
        load_scenario("no_such_scenario")


def test_national_shares_derivation():
    nat = national_shares()
    assert nat.shape == (2, 8) and np.all(nat >= 0)
    np.testing.assert_allclose(nat.sum(axis=1), 1.0)
    allw = np.asarray(NATIONAL_ALL) / np.sum(NATIONAL_ALL)
    np.testing.assert_allclose(HIGH_SHARE * nat[0] + (1 - HIGH_SHARE) * nat[1], allw, atol=1e-3)
