r"""Scenarios: where high-skilled workers end up when working from home and housing costs change.

Public API (imported lazily): :func:`load_scenario`, :func:`library_names`, :class:`Scenario`,
:func:`prepare_inputs`, :class:`SimulationOptions`, :func:`simulate`, :func:`run_scenarios`,
:func:`write_run` and :func:`open_run` (the run directory, :mod:`migravity.scenarios.rundir`),
:func:`aggregate_places` and :func:`place_profile` (a run by place, :mod:`migravity.scenarios.places`),
:func:`calibrate_parameters`, :func:`evidence_from_cross_section`, :class:`ModelParameters` (built from
a :class:`~migravity.analysis.evidence.ScenarioEvidence`), :func:`workplace_shares`,
:func:`derive_segment_shares`, :func:`wfh_intensity`.

Mechanism
---------
**Segments.** The workers of each LAD ``i`` (Census 2021 residents in work, ``W_i``) are split into
16 segments ``s = (k, c)``: skill ``k`` in {high (management and professional occupations), other}
times WFH class ``c`` in {never, 1-4 days a month, 1, 2, 3, 4 days a week, always, variable}, with
commuting days per week ``days_c`` = 5, 4.4, 4, 3, 2, 1, 0, 2.5 and WFH intensity
``g_c = 1 - days_c / 5``. National class shares are the survey's (high-skilled: 29.1 / 9.6 / 5.4 /
10 / 11 / 8.3 / 15.1 / 11.4 %; all workers 52.6 / 6.5 / 3.6 / 6.3 / 6.7 / 5.3 / 10.7 / 8.3 %; other
workers from ``all = h high + (1 - h) other``, ``h = 8264 / 18422``). Locally
(:mod:`migravity.scenarios.segments`) the (n, 2, 8) counts are fitted by IPF to each LAD's Census 2021
HSL count (NS-SEC 1-2), its count working mainly at home (TS061; classes 3, 4 days a week and always)
and the survey's national class totals reconciled with the lockdown Census total. A CSV
(``lad, segment, share``) can replace the derivation.

**Destination choice: two-stage structural gravity with a pivot to the observed flows.**

*Stage 1* (pair level): doubly-constrained PPML on the Census 2021 inter-LAD migration flows
(ODMG01EW, 318 zones on 2023 codes, off-diagonal pairs), robust covariance ``V1``:

.. math::

    E[F_{ij}] = \exp\big(\alpha_i + \gamma_j + \beta \log d_{ij} + \gamma_b b_{ij}
                + \delta_A (w_i - \bar w) \log A_j + \delta_H (w_i - \bar w) \log H_j\big)

with ``d`` distance (km), ``b`` shared border, ``w_i`` the origin's Census 2021 WFH share (``w_bar``
national, worker-weighted), ``H`` median house price and job accessibility
``A_j = sum_k jobs_k d_jk^beta_commute`` (``beta_commute`` from doubly-constrained PPML on the Census
2021 commuting flows, ODWP01EW). The origin and destination fixed effects absorb everything that
varies by origin or by destination alone, so the WFH interactions are identified from how origins
of different WFH shares choose among the *same* destinations. ``gamma_j`` is recovered by balancing
the pair part to the observed margins (the PPML first-order conditions).

*Stage 2* (destination level): weighted least squares of the destination effects on attributes,
weights = observed inflows ``D_j`` (destinations count by how many movers chose them),
heteroskedasticity-robust (HC1) covariance ``V2``:

.. math::

    \gamma_j = \theta_0 + \theta_H \log H_j + \theta_A \log A_j + \theta_P \log P_j
               + \theta_Y \log Y_j + u_j

(``P`` population, ``Y`` median weekly pay). The residual ``u_j`` (amenities, universities, coast,
... : what the attributes miss) is kept in the destination constant. On the real data
``theta_H`` is +0.07 (SE 0.14, not significant; -0.28, SE 0.10, without the pay control) and
``theta_Y`` is -1.5: a cross-section of the first COVID year in which high-pay, high-price areas
lost movers, not a credible causal response. So (i) pay *changes* use the assumed elasticity
``theta_pay``, and (ii) by default every segment's price-response elasticity is capped at 0 (the
``price_elasticity_cap`` parameter; 5 switches the restriction off).

*Segments.* A segment's WFH intensity on the scale of the centred Census share is
``x_s = (w_bar / g_bar)(g_s - g_bar)`` (``g_bar`` the national mean intensity; the mean of ``x_s`` over
an origin's workers tracks ``w_i - w_bar``: the IPF fit matches each LAD's mainly-at-home count, so its
mean intensity follows its Census WFH share, though not in exact proportion). Movers of segment
``s`` (skill group ``g``) leaving ``i`` choose ``j != i`` with probability

.. math::

    p_{sij} = \frac{K_{ij} e^{\kappa_{gij} + a_{cij}} W_{sj}}
                   {\sum_{j' \ne i} K_{ij'} e^{\kappa_{gij'} + a_{cij'}} W_{sj'}}, \quad
    K_{ij} = d_{ij}^{\beta} e^{\gamma_b b_{ij}},

    a_{cij} = \log \sum_k \pi_{ik} \exp\big(\lambda\, (\text{days}_c / 5)\, \beta_{commute} \log d_{jk}\big),

    \log W_{sj}(t) = \gamma_j + \min(\delta_A, 0)\, x_s \log A_j + \delta_H x_s \log H_j^0
                     + e_s \big(\log H_j(t) - \log H_j^0\big) + \theta_{pay} \log(Y_j / Y_j^0),

    e_s = \min\big(\theta_H + \delta_H x_s + \sigma [k = \text{high}],\ \text{cap}\big), \qquad
    \gamma_j = \hat\theta' X_j + u_j .

That is, the stage-1 pair part plus ``gamma_j`` (= fitted attributes part + ``u_j``), with the
origin's WFH interaction replaced by the segment's, plus a pivot constant ``kappa_gij`` and the
**workplace anchor** ``a_cij`` of the segment's WFH class ``c`` (:mod:`migravity.scenarios.anchoring`):
a mover keeps their workplace, distributed as the origin's commuters were (``pi_ik``, the
pre-COVID Census 2011 travel-to-work matrix WU03UK on the zone set, rows normalised, intra-zone
included; Census 2021 ODWP01EW as the alternative), and weighs the commute from candidate home
``j`` with the calibrated commuting deterrence ``beta_commute`` scaled by the commuting days and the
assumed ``anchor_strength`` ``lambda`` (``d_jj`` the intra-zone distance). A fully remote class (0
days) is free of it; a five-day class is bound by it.

*Skill-neutral baseline: the pivot (an assumption).* The Census has no skill breakdown of
migration flows. Absent skill-specific flow data, **baseline destination choice is skill-neutral
and equals the observed 2021 choice; segments differ only in how they respond to changes (their
elasticities)**. ``kappa_gij`` (one per skill group, origin and destination) is solved once, at
the point estimates, so that in year 1 of the baseline each skill group's movers from each origin
``i`` split over destinations exactly as all Census 2021 movers from ``i`` did:
``sum_{s in g} w_si p_sij = p_ij`` with ``w_si = M_si / M_gi`` the group's year-0 movers' mix at
``i`` (``M_si = m_si S_si``, segment move rates below; the anchor term included in ``p_sij``; a
per-origin BLP-type inversion, :func:`migravity.scenarios.simulate.pivot_constants`).
``p_ij = F_ij / O_i``; the 17% of pairs with no observed movers would need an infinite constant,
so they take 0.001 times the model's share (rows rescaled: 0.002% of movers; year-1 inflows stay
within 0.1% of the observed ones). Consequences: the year-1 all-worker inflows are the observed
inflows (each origin's migrants scaled to its workers), both skill groups follow the same
observed origin-destination choice, and a zero scenario reproduces the baseline exactly.

The pivot is per skill group, not per segment, on purpose: *within* a group the WFH classes still
differ by the calibrated interactions at their intensity (more-WFH classes weigh job access less
and prices more), and ``kappa_gij`` only fixes the group's mix-weighted choice. A scenario that
moves workers between WFH classes therefore changes the group's destination choice through the
classes' different utilities (a per-segment pivot would give every class the same choice and
kill that mechanism). Because the pivot is solved with the anchor term, ``kappa`` holds the
observed choice net of the group's mix-weighted commuting pull: within a group the five-day classes
choose homes nearer their workplaces and the fully remote ones farther than the group as a whole,
and a worker who becomes fully remote loses the pull of the workplace (the remote-rural gains of a
remote-working scenario rise with ``anchor_strength``, while hybrid classes stay near their work).
Scenarios change ``H``, ``Y`` and the segment mix; ``kappa``, ``gamma_j``
(hence ``u_j``) and the pair part stay fixed, so a segment's choice is the pivot-point
(incremental) logit ``p'_sij ∝ p_sij exp(Δu_sj)`` with ``Δu_sj = e_s Δlog H_j + theta_pay Δlog Y_j``,
and a reclassified worker takes the (pivoted) choice of the new class. Properties: more WFH never
raises a segment's weight on job access; with the default cap a price rise never makes a
destination more attractive to any segment. ``sigma`` (high-skilled price shift) is assumed.

Why not let the model split the flows between skill groups: the WFH x price interaction, applied
at each segment's WFH intensity (a range about 3x wider than the LAD WFH shares it was estimated
on), steers the more-WFH high-skilled movers strongly away from expensive places. With a pivot of
the destination totals only (one ``kappa_j``), the baseline GSE share of high-skilled workers fell
from 54.5% to 48.9% in 10 years (London 24.4% to 18.1%) while the other workers' rose: an
artefact of the extrapolation, not of any data on who moves where.

**Migration step** (annual steps ``t``): movers ``M_si = m_si S_si(t)`` with segment move
rates ``m_si = m_i r_s / sum_s' w_s'i r_s'``, ``r_s = exp(log(move_rate_high) [s high] +
move_rate_wfh g_s)``, ``w_si`` the baseline's year-0 segment shares and ``m_i`` the migration
pattern's out-migrants / population of ``i`` (times an assumed scale): each origin's
out-migration is the pattern's rate at year 0, the high-skilled move more (``move_rate_high`` 1.3
[1.1, 1.5]) and WFH workers less (``move_rate_wfh`` -0.3 [-0.6, 0]), so a scenario that moves
workers into WFH lowers out-migration. One step: ``M(S)_sj = S_sj - M_sj + sum_i M_si p_sij``. In the
``unconstrained`` mode the movers also respond to the origin's access to attractive destinations:
``M_si = min(1, m_i D_si(t) / D_si^0) S_si(t)`` with ``D_si = sum_j K_ij W_sj`` and ``D^0`` the
baseline's at year 0.

**Migration patterns** (``migration_pattern`` of a scenario; :mod:`migravity.scenarios.baseline`):
``precovid`` (the baseline's): the Census 2011 origin-destination flows balanced by IPF to each
LAD's mean annual internal out- and in-migration of the mid-year-estimate components over
mid-2014 -> mid-2019, move rate = pre-COVID out-migration / population; ``census2021``: the
Census 2020-21 flows and move rates (the first COVID year; library scenario ``covid_year``).
Each has its own pivot constants.

**Baseline: an open population that follows the country** (:mod:`migravity.scenarios.baseline`).
An exogenous path ``B(t)`` (16 x n): LAD workers grow with the mid-year estimates (mid-2021 ...
mid-2023) and then the ONS 2018-based SNPP growth applied to the latest estimate (Wales: each
LAD's 2011 -> 2021 trend), employment rates held; HSL shares follow their Census 2011 -> 2021
trend carried forward on the logit scale. With ``M`` the scenario's migration step and ``M0`` the
no-policy step of the same draw (baseline weights, pattern and move rates, production mode, no
feedback), the no-policy stocks and the scenario's evolve per segment ``s`` of skill group ``g``
and LAD ``i`` as

    ``B(t+1)_si = M0(B(t))_si G_gi(t)``, ``X(t+1)_si = M(X(t))_si G_gi(t)``,
    ``G_gi(t) = P_gi(t+1) / M0(B(t))_gi``,

``P`` the exogenous group totals (workers times the HSL share, or one minus it). ``G - 1`` holds
every non-migration component (natural change, international migration, entry to and exit from
work, moves into HSL) plus the baseline's internal-migration residual, as a rate of the group's
stock after migration. So the no-policy run follows ``P`` exactly (to rounding), a zero scenario
reproduces it bit for bit, and a scenario is a *variant*: the baseline plus the change in internal
migration its policy causes, the other components acting on it as rates (the cohort-component
practice of the GLA/ONS variants: components as rates of the variant's population, a second-order
term that the summary's ``hs_other_change`` shows). Stocks cannot turn negative. The WFH class mix
within a group is the year-0 mix moved by migration, not held at year 0 (reason in
:mod:`migravity.scenarios.baseline`). Optional housing feedback responds to the net
inflow rate beyond the baseline path's growth:
``log H_j(t+1) = log H_j(t) + epsilon ((X_j(t+1) - X_j(t)) / X_j(t) - (B_j(t+1) - B_j(t)) / B_j(t))``
(``B_j`` the no-policy stocks of the same draw).
With ``open_population=False`` (:func:`~migravity.scenarios.simulate.prepare_inputs`) the model is
the earlier closed population, ``X(t+1) = M(X(t))`` with feedback on ``(S_j(t+1) - S_j(t)) / S_j(t)``.
Read scenarios as differences from their paired baseline.

**Scenarios** reclassify workers between WFH classes at year 0 (within LAD and skill group), and
shift house prices and pay by percent. Each scenario is compared with its paired baseline under
the *same* parameter draws (:mod:`migravity.scenarios.params`): the parameters come from a
:class:`~migravity.analysis.evidence.ScenarioEvidence`; identified ones are drawn jointly from
``N(value, vcov)`` (by default the two-way clustered covariance of the identification from change,
:func:`migravity.analysis.identification.identify`; with ``evidence_from_cross_section`` the old
cross-section's robust ``V1``/``V2``), assumed ones uniformly over their ranges
(draw 0 = point values), seeded; ``anchor_strength`` is held at its point value. ``kappa_gij``
and ``gamma_j`` are held at their point values in every draw, so only draw 0 reproduces the
observed choice exactly. **Specification uncertainty**: every other specification of the evidence
(plus ``anchor_low``/``anchor_high``) runs each scenario and its baseline at its point values (one
draw, the same seed, pivot re-solved); the summary gives ``spec_low``/``spec_high`` (the range over
the specifications) beside the sampling interval for the GSE-share change, the Theil change and
the **London leavers' GSE share** (of London's high-skilled leavers in the final year, movers from
London LADs to LADs outside London, the share who stay in the Greater South East).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Scenario": "spec", "load_scenario": "spec", "library_names": "spec", "scenario_from_dict": "spec",
    "ModelInputs": "simulate", "prepare_inputs": "simulate", "simulate": "simulate", "Simulation": "simulate",
    "SimulationOptions": "simulate",
    "run_scenarios": "run", "summary_table": "run", "results_dataset": "run", "RunResult": "run", "theil": "run",
    "write_run": "rundir", "open_run": "rundir", "RunDir": "rundir", "load_run_zones": "rundir",
    "aggregate_places": "places", "group_flows": "places", "place_profile": "places",
    "ModelParameters": "params", "calibrate_parameters": "params", "evidence_from_cross_section": "params",
    "workplace_shares": "anchoring",
    "derive_segment_shares": "segments", "SEGMENTS": "segments", "WFH_CLASSES": "segments",
    "COMMUTE_DAYS": "segments", "wfh_intensity": "segments",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"migravity.scenarios.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'migravity.scenarios' has no attribute {name!r}")
