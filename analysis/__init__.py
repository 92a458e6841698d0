"""The research's analyses on the real data: stylised facts, the model ladder (with the out-of-sample test) and
the identification of the scenario parameters from change 2011 -> 2021 (:mod:`~migravity.analysis.identification`).

Reads the data (:mod:`migravity.geodata`) and fits with the engine (:mod:`migravity.engine`).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# The public API, imported lazily (PEP 562): name -> module of migravity.analysis.
_EXPORTS = {
    "deprivation_flow_matrix": "facts", "wfh_share_by_region": "facts",
    "LadderOptions": "ladder", "LadderResult": "ladder", "ReceivingAreas": "ladder", "OutOfSample": "ladder",
    "fit_ladder": "ladder", "receiving_areas": "ladder", "out_of_sample": "ladder", "ladder_table": "ladder_data",
    "IdentificationReport": "identification", "identify": "identification",
    "ScenarioEvidence": "evidence", "ParameterDecision": "evidence", "Specification": "evidence",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access."""
    if name in _EXPORTS:
        return getattr(import_module(f"migravity.analysis.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'migravity.analysis' has no attribute {name!r}")
