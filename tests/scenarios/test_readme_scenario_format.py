"""The user guide's scenario-file section (docs/guide/scenarios.md): its example parses with the real parser and it
names every accepted key."""

from __future__ import annotations

import re
from pathlib import Path

from migravity.scenarios import spec
from migravity.scenarios.params import ASSUMED_BOUNDS, OVERRIDABLE
from migravity.scenarios.segments import WFH_CLASSES

README = Path(__file__).resolve().parents[2] / "docs" / "guide" / "scenarios.md"
HEADING = "## Scenario files: the format"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(HEADING)
    end = re.search(r"^#{2,3} ", text[start + len(HEADING):], flags=re.M)
    return text[start:start + len(HEADING) + end.start()] if end else text[start:]


def _example() -> str:
    blocks = re.findall(r"```toml\n(.*?)```", _section(), flags=re.S)
    assert len(blocks) == 1, "the section holds one complete TOML example"
    return blocks[0]


def test_readme_example_parses_with_the_spec_parser(tmp_path):
    path = tmp_path / "north_remote.toml"
    path.write_text(_example(), encoding="utf-8")
    sc = spec.load_scenario(path)
    assert sc.name == "north_remote" and sc.description
    assert (sc.years, sc.draws, sc.seed, sc.mode, sc.housing_feedback) == (10, 200, 2021, "production", 0.0)
    assert sc.migration_pattern == "precovid"
    assert len(sc.wfh) == 1 and sc.wfh[0].factor == 0.5 and sc.wfh[0].regions == ("E12000002", "E12000003")
    assert [c.pct for c in sc.house_prices] == [-15.0, 10.0] and sc.earnings[0].lads == ("E08000025",)
    assert sc.parameter_overrides() == {"move_rate_high": (1.2, 1.4), "anchor_strength": 0.75}
    # the example's top-level keys (set or commented) are the parser's, every one of them
    raw = spec.parse_toml(_example(), "README")
    top = _example().split("\n[", 1)[0]  # the lines before the first table
    commented = set(re.findall(r"^# (\w+) =", top, flags=re.M))
    assert set(raw) | commented == set(spec.TOP_KEYS)


def test_readme_section_names_every_accepted_key_and_value():
    section = _section()
    names = [*spec.TOP_KEYS, *spec.WFH_KEYS, *spec.CHANGE_KEYS, *OVERRIDABLE, *WFH_CLASSES, *spec.AREAS,
             *spec.SKILL_CHOICES, *spec.MODES, *spec.MIGRATION_PATTERNS]
    forms = ("`{}`", "`{}.", ".{}`", "`[{}]`", "`[[{}]]`")  # a key, a sub-key (wfh.class), a table
    missing = [n for n in names if not any(f.format(n) in section for f in forms)]
    assert not missing, f"README section {HEADING!r} does not mention {missing}"
    for key in ASSUMED_BOUNDS:
        assert f"`{key}`" in section
    for limit in (str(spec.MAX_YEARS), f"{spec.MAX_DRAWS:,}", "−95 to 500"):
        assert limit in section, limit
