"""Code harmonisation between vintages, on small frames with the real ONS lookups."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from migravity.errors import ConfigError, HarmonisationError
from migravity.geodata.flows import restrict_to_zones
from migravity.geodata.harmonise import CodeMap, HarmonisationReport, code_map, harmonise_od, harmonise_values
from migravity.geodata.zones import ZoneSet

pytestmark = pytest.mark.realdata  # code_map reads the ONS lookups from the default data directory

CUMBERLAND = {"E07000026": 100.0, "E07000028": 300.0, "E07000029": 600.0}


@pytest.fixture(scope="module")
def to23() -> CodeMap:
    """2021 -> 2023 codes."""
    return code_map("2021", "2023")


@pytest.fixture(scope="module")
def from25() -> CodeMap:
    """2025 -> 2023 codes."""
    return code_map("2025", "2023")


@pytest.fixture(scope="module")
def to21() -> CodeMap:
    """2023 -> 2021 codes."""
    return code_map("2023", "2021")


@pytest.fixture(scope="module")
def from16() -> CodeMap:
    """2016 Census-merged codes -> 2021 codes."""
    return code_map("2016m", "2021")


def test_code_map_2021_2023(to23: CodeMap) -> None:
    """17 districts merge into 4 unitary authorities; no splits."""
    assert len(to23.mapping) == 17
    assert set(to23.mapping.values()) == {"E06000063", "E06000064", "E06000065", "E06000066"}
    assert not to23.splits
    assert "E06000063" in to23.valid_target and "E07000026" not in to23.valid_target


def test_sum_conserved_across_merge(to23: CodeMap) -> None:
    """Counts are summed across a merge and untouched elsewhere; the report lists the merge."""
    df = pd.DataFrame({"code": [*CUMBERLAND, "E06000023"], "n": [*CUMBERLAND.values(), 7.0]})
    out, rep = harmonise_values(df, to23, ["n"], how="sum", dataset="toy")
    assert out.n.sum() == df.n.sum()
    assert out.set_index("code").n.to_dict() == {"E06000023": 7.0, "E06000063": 1000.0}
    assert rep.merged == {"E06000063": sorted(CUMBERLAND)}
    assert rep.dataset == "toy" and rep.unmatched == [] and not rep.renamed
    assert "merged" in rep.summary()
    assert json.loads(rep.to_json())["merged"] == rep.merged


def test_rate_population_weighted_across_merge(to23: CodeMap) -> None:
    """A rate across a merge is the population-weighted mean of its parts."""
    df = pd.DataFrame({"code": list(CUMBERLAND), "rate": [10.0, 20.0, 40.0]})
    weights = pd.Series(CUMBERLAND)
    out, _ = harmonise_values(df, to23, ["rate"], how="mean", weights=weights)
    expected = (10 * 100 + 20 * 300 + 40 * 600) / 1000  # = 31.0
    assert out.set_index("code").rate["E06000063"] == pytest.approx(expected)
    with pytest.raises(HarmonisationError, match="weights"):
        harmonise_values(df, to23, ["rate"], how="mean")
    with pytest.raises(HarmonisationError, match="E07000029"):
        harmonise_values(df, to23, ["rate"], how="mean", weights=weights.drop("E07000029"))
    with pytest.raises(ConfigError, match="how"):
        harmonise_values(df, to23, ["rate"], how="median")  # type: ignore[arg-type]


def test_renames_2025(from25: CodeMap) -> None:
    """Barnsley and Sheffield's 2025 codes go back to their 2023 codes and are reported as renames."""
    df = pd.DataFrame({"code": ["E08000038", "E08000039", "E06000023"], "v": [1.0, 2.0, 3.0]})
    out, rep = harmonise_values(df, from25, ["v"], how="mean", dataset="toy")
    assert out.set_index("code").v.to_dict() == {"E06000023": 3.0, "E08000016": 1.0, "E08000019": 2.0}
    assert rep.renamed == {"E08000038": "E08000016", "E08000039": "E08000019"}
    assert not rep.merged and rep.unmatched == []
    assert "2 renamed" in rep.summary()


def test_splits_2023_to_2021(to21: CodeMap) -> None:
    """2023 unitaries split into their 2021 districts with weights summing to one; sums are apportioned."""
    assert set(to21.splits) == {"E06000063", "E06000064", "E06000065", "E06000066"}
    for ws in to21.splits.values():
        assert sum(ws.values()) == pytest.approx(1.0)
        assert all(w > 0 for w in ws.values())
    assert set(to21.splits["E06000063"]) == set(CUMBERLAND)
    df = pd.DataFrame({"code": ["E06000063", "E06000023"], "n": [1000.0, 5.0], "rate": [0.3, 0.5]})
    out, rep = harmonise_values(df, to21, ["n"], how="sum")
    out = out.set_index("code").n
    assert out.sum() == pytest.approx(1005.0)
    for kid, w in to21.splits["E06000063"].items():
        assert out[kid] == pytest.approx(1000.0 * w)
    assert rep.split == {"E06000063": dict(to21.splits["E06000063"])}
    rates, _ = harmonise_values(df, to21, ["rate"], how="mean")
    assert (rates.set_index("code").rate[list(CUMBERLAND)] == 0.3).all()


def test_split_2016m(from16: CodeMap) -> None:
    """Census-merged Westminster+City and Cornwall+Scilly split by 2011 population; Dorset codes merge."""
    assert set(from16.splits) == {"E09000033", "E06000052"}
    city = from16.splits["E09000033"]["E09000001"]
    assert 0 < city < 0.1 and sum(from16.splits["E09000033"].values()) == pytest.approx(1.0)
    assert from16.mapping["E07000048"] == "E06000058"  # Christchurch -> BCP
    od = pd.DataFrame({"origin": ["E09000033", "E07000048", "E06000028"],
                       "destination": ["E06000052", "E06000029", "E09000033"], "count": [100.0, 10.0, 20.0]})
    out, rep = harmonise_od(od, from16, dataset="toy")
    assert out["count"].sum() == pytest.approx(130.0)
    cell = out.set_index(["origin", "destination"])["count"]
    assert cell["E06000058", "E06000058"] == pytest.approx(10.0)
    assert cell["E09000001", "E06000053"] == pytest.approx(
        100.0 * city * from16.splits["E06000052"]["E06000053"])
    assert cell[("E06000058", "E09000001")] == pytest.approx(20.0 * city)
    assert set(rep.split) == {"E09000033", "E06000052"}
    assert rep.merged == {"E06000058": ["E06000028", "E06000029", "E07000048"]}
    assert rep.unmatched == []


def test_od_merge_conserves_and_collapses(to23: CodeMap) -> None:
    """OD flows among merged districts become intra-zone flows; the total is conserved."""
    rows = [(o, d, 1.0) for o in CUMBERLAND for d in CUMBERLAND] + [("E07000026", "E06000023", 5.0)]
    od = pd.DataFrame(rows, columns=["origin", "destination", "count"])
    out, _ = harmonise_od(od, to23)
    cell = out.set_index(["origin", "destination"])["count"]
    assert cell["E06000063", "E06000063"] == 9.0
    assert cell["E06000063", "E06000023"] == 5.0
    assert out["count"].sum() == od["count"].sum()


def test_unknown_codes_reported_not_dropped(to23: CodeMap) -> None:
    """Codes valid in no vintage stay in the output and are listed as unmatched; special codes are not."""
    df = pd.DataFrame({"code": ["E06000023", "X99999999", "E07000026"], "n": [1.0, 2.0, 3.0]})
    out, rep = harmonise_values(df, to23, ["n"], how="sum")
    assert "X99999999" in set(out.code) and out.n.sum() == 6.0
    assert rep.unmatched == ["X99999999"]
    assert "unmatched" in rep.summary()
    od = pd.DataFrame({"origin": ["-8", "999999999", "E99999999"], "destination": ["E06000023"] * 3,
                       "count": [1.0, 2.0, 3.0]})
    out, rep = harmonise_od(od, to23)
    assert out["count"].sum() == 6.0
    assert rep.unmatched == ["E99999999"]


def test_unknown_vintage_pair() -> None:
    """An unsupported pair of vintages raises ConfigError listing the supported ones."""
    with pytest.raises(ConfigError, match="2021->2011cm") as e:
        code_map("2021", "2011cm")
    assert e.value.field == "vintage" and "2021->2023" in str(e.value)


def test_same_vintage_is_identity() -> None:
    """A map onto the same vintage changes nothing."""
    cm = code_map("2023", "2023")
    assert not cm.mapping and not cm.splits and len(cm.valid_target) > 300


def test_restrict_to_zones(zones23: ZoneSet) -> None:
    """Flows to foreign nations are reported as outside; an English code matching no zone is an error."""
    od = pd.DataFrame({"origin": ["E06000023", "S12000033", "E06000023"],
                       "destination": ["E06000025", "E06000023", "N09000001"], "count": [3.0, 4.0, 5.0]})
    rep = HarmonisationReport("toy", "2023", "2023")
    mat = restrict_to_zones(od, zones23, rep)
    assert mat.sum() == 3.0 and mat[zones23.position("E06000023"), zones23.position("E06000025")] == 3.0
    assert rep.outside == {"origin:S12000033": 4.0, "destination:N09000001": 5.0}
    bad = pd.DataFrame({"origin": ["E07000026"], "destination": ["E06000023"], "count": [1.0]})
    with pytest.raises(HarmonisationError, match="E07000026"):
        restrict_to_zones(bad, zones23, HarmonisationReport("toy", "2021", "2023"))
    assert np.isfinite(mat).all()
