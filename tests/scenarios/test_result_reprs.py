"""Short reprs of the result objects users meet: a few lines with the key figures, no array dumps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from migravity.analysis.evidence import ParameterDecision, ScenarioEvidence, Specification
from migravity.analysis.identification import IdentificationReport
from migravity.scenarios import rundir
from migravity.scenarios.run import run_scenarios, write_run
from migravity.scenarios.spec import load_scenario
from migravity.scenarios.validate import Scorecard
from migravity.utils.reprs import short_repr

LIMIT = 1000


def _short(obj: object, *names: str) -> str:
    text = repr(obj)
    assert len(text) < LIMIT, f"{type(obj).__name__} repr is {len(text)} characters"
    assert "array(" not in text and "\n\n" not in text
    for name in names:
        assert name in text, f"{name!r} not in {text}"
    return text


@pytest.fixture(scope="module")
def run(inputs):
    return run_scenarios(inputs, [load_scenario("baseline"), load_scenario("wfh_uptake")], draws=3, seed=1, years=2)


def test_run_result_and_inputs_reprs(run, tmp_path):
    _short(run, "RunResult", "wfh_uptake", "GSE high-skilled share", "pp", "3 draws")
    sim = run.runs[1][0]
    _short(sim, "Simulation", "wfh_uptake", "3 draws", "2 years")
    _short(run.inputs, "ModelInputs", "12 LADs", "ModelParameters")
    _short(run.inputs.params, "ModelParameters", "identified", "beta_distance")
    opened = rundir.open_run(write_run(run, tmp_path / "run"))
    _short(opened, "RunDir", "wfh_uptake", "12 LADs", "hs_change")


def test_evidence_and_identification_reprs():
    decisions = {"beta_distance": ParameterDecision("beta_distance", "identified", -1.42, 0.031, -1.47, -1.37,
                                                    "change design"),
                 "anchor_strength": ParameterDecision("anchor_strength", "assumed", 0.5, float("nan"), 0.2, 0.8,
                                                      "assumed: range")}
    specs = (Specification("main", "main", {"beta_distance": -1.42}),)
    ev = ScenarioEvidence(decisions, np.eye(1), ("beta_distance",), specs)
    _short(ev, "ScenarioEvidence", "-1.42 (0.031)", "assumed", "main")
    empty = pd.DataFrame()
    report = IdentificationReport(change=pd.DataFrame({"n_obs": [99_000]}), price=empty, placebo=empty,
                                  placebo_fails={"wfh:x": False}, loro=empty, first_stage=None,  # type: ignore[arg-type]
                                  decisions=decisions, specifications=specs, vcov=np.eye(1),
                                  identified_names=("beta_distance",))
    _short(report, "IdentificationReport", "99,000 pairs", "1 of 2", "-1.42 (0.031)", "passes")


def test_scorecard_repr():
    lines = pd.DataFrame({"line": [1, 1, 2], "section": ["hindcast", "hindcast", "net"],
                          "beats_benchmark": [True, False, True]})
    text = _short(Scorecard(lines), "Scorecard", "2 of 3", "1. hindcast")
    assert "1 of 2" in text


def test_short_repr_caps_lines():
    text = short_repr("<X>", [f"line {i}" for i in range(50)], max_lines=5)
    assert text.count("\n") == 5 and "(46 more)" in text
