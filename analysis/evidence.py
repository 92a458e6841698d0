"""Scenario parameters as the evidence gives them: identified (estimate + clustered covariance) or assumed (range)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from migravity.utils.reprs import decision_lines, short_repr

Status = Literal["identified", "assumed"]

@dataclass(frozen=True)
class ParameterDecision:
    """One scenario parameter: where its value comes from and how uncertain it is."""
    name: str
    status: Status
    value: float                 # point value used by the scenarios
    std_error: float             # two-way clustered SE when identified, NaN when assumed
    low: float                   # identified: value - 1.645 SE; assumed: lower end of the uniform range
    high: float
    source: str                  # e.g. "change design 2011->2021, origin+destination clustered" or "assumed: ..."
    reason: str = ""             # why identified / why not used (failed placebo, unstable, ...)

@dataclass(frozen=True)
class Specification:
    """One defensible specification: its point values of the scenario parameters."""
    name: str
    description: str
    values: dict[str, float]     # scenario parameter name -> value under this specification

@dataclass(frozen=True)
class ScenarioEvidence:
    """Everything the scenario model takes from the identification step."""
    decisions: dict[str, ParameterDecision]
    vcov: np.ndarray             # covariance of the identified parameters, order = identified_names
    identified_names: tuple[str, ...]
    specifications: tuple[Specification, ...]   # first one = the main specification
    notes: dict[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:
        n_id = sum(d.status == "identified" for d in self.decisions.values())
        return short_repr(f"<ScenarioEvidence: {len(self.decisions)} parameters ({n_id} identified), "
                          f"specifications: {', '.join(s.name for s in self.specifications) or 'none'}>",
                          decision_lines(self.decisions))
