"""Zeros and separation: which zones and pairs cannot be fitted, found before the fit.

Rules (applied repeatedly until nothing changes, as ppmlhdfe does):

* In a model with origin effects (production- or doubly-constrained) an origin whose observed
  flows are all zero has a fixed effect of ``-inf``: its pairs are dropped from the fit (its
  fitted flows are 0). Likewise destinations in attraction- or doubly-constrained models.
* A term that is constant (value ``v``) over the pairs with positive flow, and lies on one side
  of ``v`` on some zero-flow pairs, separates those pairs (its coefficient would run to
  ``+-inf``): those pairs are dropped (fitted flow 0) and the term, now constant on the fit,
  is dropped too (coefficient reported as NaN). This catches, e.g., a binary term whose value 1
  occurs only on zero-flow pairs.
* The same for a *combination* of terms: a linear combination ``z = x @ w`` that is constant on
  the pairs with positive flow (a null direction of the centred terms there, found by SVD) and lies
  on one side of that constant on some zero-flow pairs separates them, as in ppmlhdfe's
  certificate of separation (its ReLU test with the fixed effects left out). Those pairs are
  dropped and the term with the largest weight in ``w`` is dropped (NaN), the message naming
  every term of the combination. Only the null directions of the SVD basis are tried: a
  separating mixture of several null directions, or a combination with the fixed effects, is not
  searched for; the fit then stops with one line naming the terms (singular Newton system) or
  warns that it is near-singular (:mod:`migravity.engine.calibration`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from migravity.engine._kernels_design import centred_gram, constant_on
from migravity.engine.options import Margins


@dataclass
class Drops:
    """What was left out of the fit and why (labels, not codes)."""

    origins: list[object] = field(default_factory=list)
    destinations: list[object] = field(default_factory=list)
    pairs: list[tuple[object, object]] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[object]]:
        """Plain-dict view (JSON-friendly apart from the label types)."""
        return {
            "origins": list(self.origins),
            "destinations": list(self.destinations),
            "pairs": [list(p) for p in self.pairs],
            "terms": list(self.terms),
        }


def _drop_all_zero(y: np.ndarray, mask: np.ndarray, axis: int, end: str, labels: np.ndarray, drops: Drops) -> bool:
    """Leave out the origins (``axis=1``) or destinations (``axis=0``) whose observed flows are all zero.

    Their fixed effect would be -inf. Updates ``mask`` in place and records them in ``drops``;
    returns whether any was dropped.
    """
    pos = mask & (y > 0)
    empty = mask.any(axis=axis) & ~pos.any(axis=axis)
    if not empty.any():
        return False
    idx = np.flatnonzero(empty)
    if axis == 1:
        mask[idx, :] = False
    else:
        mask[:, idx] = False
    labs = [labels[i].item() if hasattr(labels[i], "item") else labels[i] for i in idx]
    (drops.origins if axis == 1 else drops.destinations).extend(labs)
    drops.messages.append(
        f"{len(idx)} {end}(s) with all observed flows zero have a fixed effect of -inf: "
        f"their pairs were left out of the fit (fitted flows 0): {labs[:10]}" + (" ..." if len(labs) > 10 else "")
    )
    return True


def find_drops(
    y: np.ndarray,
    x: np.ndarray,
    mask: np.ndarray,
    names: tuple[str, ...],
    margins: Margins,
    origin_labels: np.ndarray,
    destination_labels: np.ndarray,
) -> tuple[np.ndarray, list[int], Drops]:
    """Find what cannot be fitted (see the module docstring).

    Parameters
    ----------
    y : ndarray, shape (n_o, n_d)
        Flows.
    x : ndarray, shape (k, n_o, n_d)
        Regressors.
    mask : ndarray of bool, shape (n_o, n_d)
        Observed pairs.
    names : tuple of str
        Term names.
    margins : Margins
        The model's fixed effects (all-zero origins matter with origin effects, destinations
        with destination effects).
    origin_labels, destination_labels : ndarray
        Labels, for the report.

    Returns
    -------
    mask : ndarray of bool
        Pairs to fit.
    kept : list of int
        Indices of the terms kept.
    drops : Drops
        The report.
    """
    mask = mask.copy()
    drops = Drops()
    kept = list(range(x.shape[0]))
    while True:
        changed = False
        for axis, end, labels, effects in ((1, "origin", origin_labels, Margins.ORIGIN),
                                           (0, "destination", destination_labels, Margins.DESTINATION)):
            if effects in margins and _drop_all_zero(y, mask, axis, end, labels, drops):
                changed = True
        pos = mask & (y > 0)
        zero = mask & (y == 0)
        for q in list(kept):
            if not pos.any():
                break
            if not constant_on(x[q], pos):
                continue
            v = x[q][pos][0]
            eps = 1e-12 * max(1.0, abs(v))
            diff = np.where(zero, x[q] - v, 0.0)
            up, down = diff > eps, diff < -eps
            if up.any() != down.any():
                sep = up | down
                oi, dj = np.nonzero(sep)
                mask[sep] = False
                zero = mask & (y == 0)
                kept.remove(q)
                drops.terms.append(names[q])
                drops.pairs.extend(
                    (_item(origin_labels[i]), _item(destination_labels[j]))
                    for i, j in zip(oi, dj, strict=True)
                )
                drops.messages.append(
                    f"term {names[q]!r} separates {len(oi)} zero-flow pair(s) (it is constant "
                    f"where flows are positive and {'above' if up.any() else 'below'} that value "
                    "only where they are zero): those pairs were dropped (fitted flows 0) and the "
                    "term, constant on the rest, was dropped (coefficient NaN)"
                )
                changed = True
        if not changed and len(kept) >= 2:
            changed = _combination_separation(y, x, mask, kept, names, origin_labels, destination_labels, drops)
        if not changed:
            return mask, kept, drops


def _combination_separation(
    y: np.ndarray, x: np.ndarray, mask: np.ndarray, kept: list[int], names: tuple[str, ...],
    origin_labels: np.ndarray, destination_labels: np.ndarray, drops: Drops,
) -> bool:
    """Drop the zero-flow pairs a combination of the ``kept`` terms separates (module docs); in place."""
    pos = mask & (y > 0)
    zero = mask & (y == 0)
    n_pos = int(pos.sum())
    if n_pos <= 1 or not zero.any():
        return False
    gram, finite = centred_gram(x, np.asarray(kept, dtype=np.int64), pos)
    if finite and _clearly_full_rank(gram):
        return False
    xp = np.stack([x[q][pos] for q in kept], axis=1)  # (n_pos, k)
    if not np.isfinite(xp).all():
        return False
    xc = xp - xp.mean(axis=0)
    scale = np.abs(xc).max(axis=0)
    scale[scale == 0] = 1.0
    r = np.linalg.qr(xc / scale, mode="r")  # (min(n_pos, k), k): the SVD below stays k x k
    _, sv, vt = np.linalg.svd(r, full_matrices=True)
    sv_full = np.zeros(vt.shape[0])
    sv_full[: len(sv)] = sv
    tol = max(sv_full.max(), 1.0) * 1e-9
    for v in vt[sv_full <= tol]:
        w = v / scale
        w = w / np.abs(w).max()
        z = np.tensordot(w, x[kept], axes=1)
        c = float(np.mean(z[pos]))
        eps = 1e-9 * max(1.0, float(np.abs(z[pos]).max()))
        with np.errstate(invalid="ignore"):
            diff = np.where(zero, z - c, 0.0)
        up, down = diff > eps, diff < -eps
        if up.any() == down.any():
            continue
        sep = up | down
        oi, dj = np.nonzero(sep)
        mask[sep] = False
        involved = [(names[q], float(wq)) for q, wq in zip(kept, w, strict=True) if abs(wq) > 1e-6]
        worst = kept[int(np.argmax(np.abs(w)))]
        kept.remove(worst)
        drops.terms.append(names[worst])
        drops.pairs.extend((_item(origin_labels[i]), _item(destination_labels[j])) for i, j in zip(oi, dj, strict=True))
        combo = " ".join(f"{'+' if wq >= 0 else '-'} {abs(wq):.3g}*{n}" for n, wq in involved).lstrip("+ ")
        drops.messages.append(
            f"terms {[n for n, _ in involved]} separate {len(oi)} zero-flow pair(s) in combination ({combo} is "
            f"constant where flows are positive and {'above' if up.any() else 'below'} that value only where "
            f"they are zero): those pairs were dropped (fitted flows 0) and term {names[worst]!r}, collinear "
            "with the others on the rest, was dropped (coefficient NaN)"
        )
        return True
    return False


#: ``_clearly_full_rank``: smallest eigenvalue of the scaled centred Gram matrix, relative to the
#: largest, above which no null direction can pass the SVD test (which needs a singular value below
#: 1e-9 of the largest, an eigenvalue below 1e-18; the Gram's rounding is about 1e-11 relative).
_FULL_RANK_EIG = 1e-6


def _clearly_full_rank(gram: np.ndarray) -> bool:
    """Whether the terms clearly have no null direction on the positive flows.

    ``gram`` is the ``k x k`` Gram matrix of the centred, scaled terms
    (:func:`~migravity.engine._kernels_design.centred_gram`), whose eigenvalues are the squares
    of the singular values that :func:`_combination_separation` tests: a cheap screen ahead of
    its QR and SVD, which the usual case (terms far from collinear) then skips.
    """
    w = np.linalg.eigvalsh(gram)
    return bool(w[0] > _FULL_RANK_EIG * max(float(w[-1]), 1.0))


def _item(v: object) -> object:
    return v.item() if hasattr(v, "item") else v
