r"""Workplace anchoring: a mover keeps their workplace and weighs the commute from a candidate home.

Each origin's workers commute to workplaces ``k`` with shares ``pi_ik`` (the Census travel-to-work
flows on the zone set, rows normalised, the intra-zone flow included; the default is the pre-COVID
Census 2011 matrix, WU03UK, :func:`workplace_shares`). A mover of WFH class ``c`` (commuting
``days_c`` days a week) leaving ``i`` weighs a candidate home ``j`` by the expected commuting
utility to their (unchanged, unknown to the model beyond ``pi_ik``) workplace:

.. math::

    a_{cij} = \log \sum_k \pi_{ik} \exp\big(\lambda\, (\text{days}_c / 5)\, \beta_c \log d_{jk}\big)

with ``beta_c < 0`` the calibrated commuting deterrence, ``lambda`` the assumed ``anchor_strength``
and ``d_jj`` the intra-zone distance. A fully remote class (0 days) is free of it (``a = 0``); a
five-day class is bound by the whole deterrence. The term enters each segment's pair utility
(:func:`migravity.scenarios.simulate.segment_pair_factors`); the pivot constants are solved with it,
so it changes choices only when workers change WFH class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from migravity.errors import check_choice
from migravity.geodata.datadir import DataDir

if TYPE_CHECKING:
    from migravity.geodata.zones import ZoneSet

WorkplaceSource = Literal["commute2011", "commute2021"]
WORKPLACE_SOURCES: tuple[str, ...] = ("commute2011", "commute2021")
SOURCE_LABELS: dict[str, str] = {
    "commute2011": "Census 2011 WU03UK travel to work (pre-COVID), harmonised to the zones",
    "commute2021": "Census 2021 ODWP01EW travel to work",
}


def workplace_shares(zones: ZoneSet, source: WorkplaceSource = "commute2011", data_dir: DataDir = None
                     ) -> np.ndarray:
    """Each zone's workplace distribution ``pi_ik`` (n, n), rows summing to 1, the intra-zone flow included.

    Parameters
    ----------
    zones : migravity.geodata.ZoneSet
        The study area.
    source : {"commute2011", "commute2021"}
        Census 2011 WU03UK (default: pre-COVID commuting, :func:`migravity.geodata.flows.commute2011_matrix`)
        or Census 2021 ODWP01EW (in the first COVID year).
        Working mainly from home, offshore, abroad and no fixed place are left out.
    data_dir : path-like, optional
        Data directory.

    Returns
    -------
    ndarray
        ``pi``; a zone with no commuters gets its own zone (``pi_ii = 1``).
    """
    check_choice("source", source, WORKPLACE_SOURCES)
    if source == "commute2021":
        from migravity.geodata import load_flows

        flows = load_flows("commute2021", zones, data_dir).to_numpy().astype(float)
    else:
        from migravity.geodata.flows import commute2011_matrix

        flows = commute2011_matrix(zones, data_dir)
    rows = flows.sum(axis=1, keepdims=True)
    out = np.divide(flows, rows, out=np.zeros_like(flows), where=rows > 0)
    empty = rows[:, 0] <= 0
    for i in np.flatnonzero(empty):
        out[i, i] = 1.0
    return out


#: Origins per call of the row-wise kernels (the interval at which Ctrl-C is seen; results do not depend on it).
ORIGIN_BLOCK = 512


def anchor_terms(workplace: np.ndarray | None, log_dist: np.ndarray, beta_commute: float, strength: float,
                 days: np.ndarray, *, rowwise: bool = False, dtype: np.dtype[Any] | type = np.float64,
                 block: int = ORIGIN_BLOCK) -> np.ndarray:
    """The anchor term ``a_cij`` of each WFH class (C, n, n) (see the module docs).

    Parameters
    ----------
    workplace : ndarray, shape (n, n), optional
        ``pi_ik`` (rows summing to 1); None = no anchoring (zeros).
    log_dist : ndarray, shape (n, n)
        Log distance, the diagonal the intra-zone distance.
    beta_commute : float
        Commuting deterrence (negative).
    strength : float
        ``anchor_strength``.
    days : ndarray, shape (C,)
        Commuting days per week of each class.
    rowwise : bool
        Origin by origin in the numba kernel :func:`~migravity.scenarios._kernels_pivot.anchor_class`
        (one (n, n) temporary, zero workplace shares skipped: for MSOA scale) instead of a dense
        matrix product per class.
    dtype : dtype
        Of the result (float32 halves the memory at MSOA scale; sums are in float64 either way).
    block : int
        Origins per kernel call (row-wise; the result does not depend on it).

    Returns
    -------
    ndarray
        Zeros for a class commuting 0 days, and everywhere when ``workplace`` is None or
        ``strength`` is 0.
    """
    n = log_dist.shape[0]
    out = np.zeros((len(days), n, n), dtype=dtype)
    if workplace is None or strength == 0.0:
        return out
    if rowwise:
        from migravity.scenarios._kernels_pivot import anchor_exp, anchor_rows

        pi = np.ascontiguousarray(workplace, dtype=np.float64)
        ld = np.ascontiguousarray(log_dist, dtype=np.float64)
        e, shift = np.empty((n, n), dtype=dtype), np.empty(n)
    for c, dc in enumerate(days):
        b = strength * (float(dc) / 5.0) * beta_commute
        if b == 0.0:
            continue
        if rowwise:
            anchor_exp(ld, float(b), e, shift)
            for lo in range(0, n, block):
                anchor_rows(pi, e, shift, lo, out[c, lo:lo + block])
            continue
        # a_ij = log sum_k pi_ik exp(b L_jk), stabilised by the row maximum of b L_j.
        bl = b * log_dist  # (j, k)
        shift = bl.max(axis=1)  # per j
        e = np.exp(bl - shift[:, None])  # (j, k)
        with np.errstate(divide="ignore"):
            out[c] = np.log(workplace @ e.T) + shift[None, :]
    return out
