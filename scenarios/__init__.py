r"""Scenarios: where high-skilled workers end up when working from home and housing costs change.

Public API (imported lazily): :func:`load_scenario`, :func:`library_names`, :class:`Scenario`,
:func:`prepare_inputs`, :func:`simulate`, :func:`run_scenarios`, :func:`write_run`,
:func:`calibrate_parameters`, :func:`derive_segment_shares`.

Mechanism
---------
**Segments.** The workers of each LAD ``i`` (Census 2021 residents in work, ``W_i``) are split into
16 segments ``s = (k, c)``: skill ``k`` in {high (management and professional occupations), other}
times WFH class ``c`` in {never, 1-4 days a month, 1, 2, 3, 4 days a week, always, variable}, with
commuting days per week ``days_c`` = 5, 4.4, 4, 3, 2, 1, 0, 2.5 and WFH intensity
``g_c = 1 - days_c / 5``. National class shares are the survey's (high-skilled: 29.1 / 9.6 / 5.4 /
10 / 11 / 8.3 / 15.1 / 11.4 %; all workers 52.6 / 6.5 / 3.6 / 6.3 / 6.7 / 5.3 / 10.7 / 8.3 %; other
workers from ``all = h high + (1 - h) other``, ``h = 8264 / 18422``). Locally
(:mod:`migravity.scenarios.segments`): ``logit h_i = a + 0.5 z(qual_l3plus_i) + 0.5 z(log pay_i)``
with ``a`` solved to reproduce ``h``; class shares ``pi_kci ∝ pi_kc exp(tau_i g_c)`` with ``tau_i``
solved so the LAD's mean intensity is the national mean times ``wfh_share_i / wfh_share_nat`` (Census
2021). A CSV (``lad, segment, share``) can replace the derivation.

**Destination choice** (production-constrained gravity, calibrated by PPML on the Census 2021
inter-LAD migration flows): movers of segment ``s`` leaving ``i`` choose ``j != i`` with probability

.. math::

    p_{sij} = \frac{K_{ij} W_{sj}}{\sum_{j' \ne i} K_{ij'} W_{sj'}}, \quad
    K_{ij} = d_{ij}^{\beta} e^{\gamma b_{ij}}, \quad
    \log W_{sj} = \theta_A^s \log A_j + \theta_H^s \log H_j + \theta_P \log P_j
                  + \theta_Y \log(Y_j / Y_j^0)

with ``d`` distance, ``b`` shared border, ``H`` median house price, ``P`` population, ``Y`` weekly
pay (only its *change* enters, with an assumed elasticity) and job accessibility
``A_j = sum_k jobs_k d_jk^beta_commute`` (``beta_commute`` calibrated on the Census 2021 commuting
flows). What WFH changes is explicit: the weights on job access and house prices depend on the
segment's WFH intensity,

.. math::

    \theta_A^s = \theta_A + \min(\delta_A, 0)\, x_s, \qquad
    \theta_H^s = \theta_H + \min(\delta_H, 0)\, x_s + \sigma [k = \text{high}], \qquad
    x_s = \frac{\bar w}{\bar g} (g_s - \bar g)

where ``delta_A`` and ``delta_H`` are the calibrated interactions of the origin's Census WFH share
(centred on the national ``w_bar``) with the destination's ``log A`` and ``log H``, and
``x_s`` puts a segment's intensity on that scale (``g_bar`` = national mean intensity; the same
proportionality spreads the classes). So more WFH never increases a segment's weight on job
access, and remote workers weigh housing costs more. ``sigma`` (high-skilled price shift) is assumed.

**Dynamics** (closed system; annual steps ``t``): movers ``M_si = m_i S_si(t)`` with ``m_i`` the
Census 2021 inter-LAD out-migrants / residents of ``i`` (times an assumed scale),
``S_sj(t+1) = S_sj(t) - M_sj + sum_i M_si p_sij``. Totals are conserved. In the
``unconstrained`` mode the movers also respond to the origin's access to attractive destinations:
``M_si = min(1, m_i D_si(t) / D_si^0) S_si(t)`` with ``D_si = sum_j K_ij W_sj`` and ``D^0`` the
baseline's at year 0. Optional housing feedback:
``log H_j(t+1) = log H_j(t) + epsilon (S_j(t+1) - S_j(t)) / S_j(t)``.

**Scenarios** reclassify workers between WFH classes at year 0 (within LAD and skill group), and
shift house prices and pay by percent. Each scenario is compared with its paired baseline under
the *same* parameter draws: calibrated parameters from a multivariate normal with their robust
covariance, assumed ones uniform over their ranges (draw 0 = point estimates), seeded.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Scenario": "spec", "load_scenario": "spec", "library_names": "spec", "scenario_from_dict": "spec",
    "ModelInputs": "simulate", "prepare_inputs": "simulate", "simulate": "simulate", "Simulation": "simulate",
    "run_scenarios": "run", "write_run": "run", "summary_table": "run", "results_dataset": "run",
    "RunResult": "run", "theil": "run",
    "ModelParameters": "params", "calibrate_parameters": "params",
    "derive_segment_shares": "segments", "SEGMENTS": "segments", "WFH_CLASSES": "segments",
    "COMMUTE_DAYS": "segments",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"migravity.scenarios.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'migravity.scenarios' has no attribute {name!r}")
