"""Flows implied by given coefficients: ``exp`` of the linear predictor, then balancing.

Unconstrained: ``exp(intercept + x'beta)``. Production: each row scaled to its origin total.
Attraction: each column to its destination total. Doubly: Furness balancing to both (the
totals must have the same sum). The balancing status (``iterations``, ``converged``,
``max_error`` = largest relative margin error) is returned in the result's ``attrs``.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import IntFlag
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from migravity.engine import _kernels_flow as _kf
from migravity.engine._kernels_flow import (
    balance,
    balance_mixed,
    predictor_pass,
    predictor_pass_block,
    scale_inplace,
    scale_measure,
)
from migravity.engine.design import check_flows, offset_values, parse_term
from migravity.engine.options import Backend, Constraint, FlowOptions, Margins, normalise_constraint, resolve_options
from migravity.engine.ppml import n_threads
from migravity.engine.result import CalibrationResult
from migravity.errors import ConfigError, ConvergenceError, InputError
from migravity.utils.metadata import annotate


class TermForm(IntFlag):
    """How a pair array enters the linear predictor: its value, its log, or both (Tanner).

    The value is the code the predictor kernel takes (``int(form)``): 0 nothing, 1 linear,
    2 log, 3 both.
    """

    NONE = 0
    LINEAR = 1
    LOG = 2
    BOTH = 3


@dataclass(frozen=True)
class PairTerm:
    """One pair array's part of the linear predictor: ``c_log * log(array) + c_lin * array``.

    Attributes
    ----------
    array : ndarray or dask.array.Array, shape (n_o, n_d)
        The pair values (None in the per-block specification sent to Dask workers).
    form : TermForm
        Whether the array enters linearly, logged, or both.
    c_log, c_lin : float
        Coefficients of ``log(array)`` and of ``array``.
    option : str
        The argument the array came from (``"cost"`` or ``"pair_terms"``), for error messages.
    key : str
        The coefficient's name (the logged one where there is one), for error messages.
    """

    array: Any
    form: TermForm = TermForm.NONE
    c_log: float = 0.0
    c_lin: float = 0.0
    option: str = "pair_terms"
    key: str = ""

    def plus(self, coefficient: float, take_log: bool, key: str) -> PairTerm:
        """This term with one more coefficient on ``log(array)`` (``take_log``) or on ``array``.

        Parameters
        ----------
        coefficient : float
            The coefficient added.
        take_log : bool
            Whether it multiplies ``log(array)`` (else ``array``).
        key : str
            The coefficient's name (kept as :attr:`key` when logged).

        Returns
        -------
        PairTerm
        """
        if take_log:
            return dataclasses.replace(self, form=self.form | TermForm.LOG, c_log=self.c_log + coefficient, key=key)
        return dataclasses.replace(self, form=self.form | TermForm.LINEAR, c_lin=self.c_lin + coefficient)

    def kernel_args(self) -> tuple[Any, int, float, float]:
        """``(array, code, c_log, c_lin)`` as the predictor kernels take them."""
        return self.array, int(self.form), self.c_log, self.c_lin


#: The placeholder of an empty slot of a fused predictor pass.
_NO_TERM = PairTerm(np.ones((1, 1)))
_ONE_MASK = np.ones((1, 1), dtype=bool)


@dataclass(frozen=True)
class FlowInputs:
    """The arrays of a flow evaluation as given to :func:`evaluate_flows` (validated by :func:`make_plan`).

    See :func:`evaluate_flows` for the meaning of each field.
    """

    cost: Any = None
    pair_terms: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    origin_terms: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    destination_terms: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    origin_totals: Any = None
    destination_totals: Any = None
    mask: Any = None
    origin_labels: Any = None
    destination_labels: Any = None


@dataclass(frozen=True)
class FlowPlan:
    """Validated inputs of a flow evaluation, shared by the in-memory and the Dask backends.

    Attributes
    ----------
    terms : list of PairTerm
        One per pair array.
    u, v : ndarray
        Summed origin and destination terms (the intercept is in ``u`` when unconstrained).
    mask : array of bool or None
        Pairs that may carry flow (None: all).
    constraint : str
        Canonical constraint name.
    margins : Margins
        The margins the flows are balanced to.
    shape : (int, int)
        ``(n_o, n_d)``.
    origin_labels, destination_labels : ndarray
        Coordinates of the result.
    row_targets, col_targets : ndarray
        Target margins (zeros where not kept).
    """

    terms: list[PairTerm]
    u: np.ndarray
    v: np.ndarray
    mask: Any
    constraint: str
    margins: Margins
    shape: tuple[int, int]
    origin_labels: np.ndarray
    destination_labels: np.ndarray
    row_targets: np.ndarray
    col_targets: np.ndarray


def evaluate_flows(
    params: CalibrationResult | Mapping[str, float],
    cost: Any = None,
    pair_terms: Mapping[str, Any] | None = None,
    origin_terms: Mapping[str, np.ndarray] | None = None,
    destination_terms: Mapping[str, np.ndarray] | None = None,
    *,
    constraint: Constraint | None = None,
    origin_totals: Any = None,
    destination_totals: Any = None,
    mask: Any = None,
    origin_labels: Any = None,
    destination_labels: Any = None,
    tol: float | None = None,
    max_iter: int | None = None,
    backend: Backend | None = None,
    chunks: int | tuple[int, int] | None = None,
    client: Any = None,
    store: str | os.PathLike[str] | None = None,
    persist: bool | None = None,
    options: FlowOptions | None = None,
) -> xr.DataArray:
    """Flows between zones for given coefficients.

    Parameters
    ----------
    params : CalibrationResult or mapping of str to float
        Coefficients keyed by term. ``"intercept"`` is the constant (unconstrained only);
        ``"log(cost)"``/``"cost"`` (or the fitted result's cost terms, e.g.
        ``"log(distance_km)"``) take the ``cost`` array; other keys are looked up in
        ``pair_terms`` (``"log(name)"`` takes the log of ``pair_terms[name]``),
        ``origin_terms`` and ``destination_terms``. NaN coefficients (dropped terms) are skipped.
    cost : array (n_o, n_d), optional
        Travel cost (a NumPy array, or with ``backend="dask"`` also a Dask array).
    pair_terms, origin_terms, destination_terms : mapping of str to array, optional
        Pair (n_o, n_d; Dask arrays allowed with ``backend="dask"``), origin (n_o,) and
        destination (n_d,) variables.
    constraint : {"none", "production", "attraction", "doubly"}, optional
        Default: the result's constraint, else ``"doubly"``.
    origin_totals, destination_totals : array or mapping, optional
        Target margins (required by the constraint); arrays in row/column order, mappings and
        Series keyed by label.
    mask : array of bool (n_o, n_d), optional
        Pairs that may carry flow (default: all).
    origin_labels, destination_labels : sequence, optional
        Coordinates of the result (default ``0..n-1``).
    tol, max_iter : float, int, optional
        Balancing tolerance (max relative margin error; default 1e-10) and sweep limit
        (default 10,000).
    backend : {"numpy", "dask"}, optional
        ``"numpy"`` evaluates in memory. ``"dask"`` evaluates in origin x destination blocks on
        the active Dask scheduler (or ``client``), so that no (n_o, n_d) array is ever held by one
        process; see :mod:`migravity.engine.dask_flows`. Default: ``"dask"`` when ``client``,
        ``chunks``, ``store`` or ``persist`` is given, else ``"numpy"``.
    chunks : int or (int, int), optional
        Dask only: block shape (rows, columns); an int is the number of rows per block of full
        rows. Default: blocks of full rows of about 8M pairs (64 MB).
    client : dask.distributed.Client, optional
        Dask only: the cluster to run on (default: Dask's current scheduler).
    store : path, optional
        Dask only: write the flows to this Zarr store (atomically) and return them read lazily
        from it; without it the result is a lazy Dask-backed DataArray.
    persist : bool, optional
        Dask only: keep the kernel ``K`` in the workers' memory (default, ``8 n_o n_d`` bytes
        across the cluster), or, with ``False``, recompute its blocks in every sweep, so that a
        worker holds only the blocks it is working on (for grids larger than the cluster's
        memory; each balancing iteration then pays the ``exp``).
    options : FlowOptions, optional
        The options above (``constraint`` to ``persist``) as one validated object; keywords
        given as well override its fields.

    Returns
    -------
    xarray.DataArray
        Dims ``(origin, destination)``; ``attrs`` hold ``iterations``, ``converged`` and
        ``max_error`` of the balancing.
    """
    opts = resolve_options(
        FlowOptions, options, constraint=constraint, tol=tol, max_iter=max_iter, backend=backend,
        chunks=chunks, client=client, store=store, persist=persist,
    )
    inputs = FlowInputs(
        cost=cost, pair_terms=dict(pair_terms or {}), origin_terms=dict(origin_terms or {}),
        destination_terms=dict(destination_terms or {}), origin_totals=origin_totals,
        destination_totals=destination_totals, mask=mask, origin_labels=origin_labels,
        destination_labels=destination_labels,
    )
    plan = make_plan(params, inputs, opts)
    if opts.use_dask:
        from migravity.engine.dask_flows import evaluate_plan

        return evaluate_plan(plan, opts)
    return _evaluate_in_memory(plan, opts)


def make_plan(params: CalibrationResult | Mapping[str, float], inputs: FlowInputs, options: FlowOptions) -> FlowPlan:
    """Validate the inputs of :func:`evaluate_flows` and gather them in a :class:`FlowPlan`.

    On the Dask backend (``options.use_dask``) the pair arrays and the mask are left as they are
    (NumPy or Dask arrays, only their shapes checked); otherwise they become contiguous float64
    (bool) NumPy arrays.

    Parameters
    ----------
    params : CalibrationResult or mapping of str to float
        The coefficients.
    inputs : FlowInputs
        The arrays.
    options : FlowOptions
        The validated options.

    Returns
    -------
    FlowPlan
    """
    coefs, cost_names, constraint = _coefficients(params, options.constraint)
    margins = Margins.of(constraint)
    shape = _grid_shape(inputs)
    builder = _PredictorBuilder(inputs, cost_names, margins, shape, lazy=options.use_dask)
    for key, c in coefs.items():
        builder.add(key, c)
    mask = _plan_mask(inputs.mask, shape, options.use_dask)
    o_lab = _labels(inputs.origin_labels, shape[0])
    d_lab = _labels(inputs.destination_labels, shape[1])
    row_t, col_t = _targets(inputs, margins, constraint, o_lab, d_lab)
    _check_not_blocked(mask, margins, row_t, col_t, o_lab, d_lab)
    return FlowPlan(
        terms=list(builder.terms.values()), u=builder.u, v=builder.v, mask=mask, constraint=constraint, margins=margins,
        shape=shape, origin_labels=o_lab, destination_labels=d_lab, row_targets=row_t, col_targets=col_t,
    )


def _check_not_blocked(mask: Any, margins: Margins, row_t: np.ndarray, col_t: np.ndarray, o_lab: np.ndarray,
                       d_lab: np.ndarray) -> None:
    """Raise :class:`InputError` when a kept margin has a positive total but the mask blocks all its pairs.

    Such a row or column cannot carry its total: the balancing would leave it at zero (or never
    converge), so the flows would silently miss the margin. Only NumPy masks are checked here (a
    Dask mask is checked block by block by the Dask backend's balancing status).
    """
    if mask is None or not isinstance(mask, np.ndarray):
        return
    for flag, targets, open_, labels, what, axis_name in (
            (Margins.ORIGIN, row_t, mask.any(axis=1), o_lab, "origin", "row"),
            (Margins.DESTINATION, col_t, mask.any(axis=0), d_lab, "destination", "column")):
        if margins & flag:
            blocked = np.flatnonzero((targets > 0) & ~open_)
            if blocked.size:
                k = int(blocked[0])
                label = labels[k].item() if isinstance(labels[k], np.generic) else labels[k]
                raise InputError(
                    f"mask: {what} {label!r} has total {float(targets[k]):g} but its whole {axis_name} is "
                    f"masked ({blocked.size} such {what}s); unmask at least one of its pairs or set its total to 0")


def _check_finite_flows(values: np.ndarray) -> None:
    """Raise :class:`ConvergenceError` when the flows overflowed (a coefficient far too large for the data)."""
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise ConvergenceError(
            f"evaluate_flows: {int(bad.sum())} flows are not finite (first at origin {i}, destination {j}): "
            "the linear predictor overflows; check the coefficients' size and the terms' units")


def _coefficients(
    params: CalibrationResult | Mapping[str, float], constraint: str | None,
) -> tuple[dict[str, float], set[str], str]:
    """``(coefficients, cost term names, canonical constraint)`` of ``params``."""
    if isinstance(params, CalibrationResult):
        return dict(params.coefficients), set(params.cost_names), normalise_constraint(constraint or params.constraint)
    return {str(k): float(v) for k, v in params.items()}, set(), normalise_constraint(constraint or "doubly")


class _PredictorBuilder:
    """Gathers the coefficients into pair terms (one per pair array) and the summed origin (``u``)
    and destination (``v``) terms, in the order the coefficients come."""

    def __init__(self, inputs: FlowInputs, cost_names: set[str], margins: Margins, shape: tuple[int, int],
                 lazy: bool) -> None:
        self.inputs = inputs
        self.cost_names = cost_names
        self.margins = margins
        self.shape = shape
        self.lazy = lazy
        self.u = np.zeros(shape[0])
        self.v = np.zeros(shape[1])
        self.terms: dict[str, PairTerm] = {}

    def add(self, key: str, c: float) -> None:
        """Add the term of coefficient ``c`` named ``key`` (skipped when ``c`` is not finite)."""
        if not np.isfinite(c):
            return
        if key == "intercept":
            if self.margins == Margins.NONE:
                self.u += c
            return
        name, take_log = parse_term(key)
        source = self._pair_source(key, name, take_log)
        if source is None:
            self._add_zone_term(key, c)
            return
        label, array, option, take_log = source
        term = self.terms.get(label)
        if term is None:
            arr = _check_shape(array, self.shape, label) if self.lazy else _pair(array, self.shape, label)
            term = PairTerm(arr, option=option, key=key)
        self.terms[label] = term.plus(c, take_log, key)

    def _pair_source(self, key: str, name: str, take_log: bool) -> tuple[str, Any, str, bool] | None:
        """``(label, array, option, take_log)`` of a pair term, or None for a zone term."""
        inputs = self.inputs
        if inputs.cost is not None and (key in self.cost_names or name == "cost"):
            return "cost", inputs.cost, "cost", take_log
        if key in inputs.pair_terms:
            return key, inputs.pair_terms[key], "pair_terms", False
        if name in inputs.pair_terms:
            return name, inputs.pair_terms[name], "pair_terms", take_log
        return None

    def _add_zone_term(self, key: str, c: float) -> None:
        """Add an origin or a destination term (raise if ``key`` has no array at all)."""
        if key in self.inputs.origin_terms:
            self.u += c * _vec(self.inputs.origin_terms[key], self.shape[0], key)
        elif key in self.inputs.destination_terms:
            self.v += c * _vec(self.inputs.destination_terms[key], self.shape[1], key)
        else:
            raise ConfigError(
                "params", key,
                "no array for this term: pass it in pair_terms/origin_terms/destination_terms "
                "(or cost= for the cost term)",
            )


def _plan_mask(mask: Any, shape: tuple[int, int], lazy: bool) -> Any:
    """The validated mask (None: all pairs)."""
    if mask is None:
        return None
    m = _check_shape(mask, shape, "mask") if lazy else np.ascontiguousarray(mask, dtype=bool)
    if m.shape != shape:
        raise InputError(f"mask has shape {m.shape}, expected {shape}")
    return m


def _labels(labels: Any, n: int) -> np.ndarray:
    """Coordinates of one end (default ``0..n-1``)."""
    return np.arange(n) if labels is None else np.asarray(labels)


def _targets(
    inputs: FlowInputs, margins: Margins, constraint: str, o_lab: np.ndarray, d_lab: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Row and column targets of the margins kept (zeros for the others); doubly: equal sums."""
    row_t = np.zeros(o_lab.size)
    col_t = np.zeros(d_lab.size)
    if Margins.ORIGIN in margins:
        row_t = _totals(inputs.origin_totals, o_lab, "origin_totals", constraint)
    if Margins.DESTINATION in margins:
        col_t = _totals(inputs.destination_totals, d_lab, "destination_totals", constraint)
    if margins == Margins.BOTH:
        so, sd = row_t.sum(), col_t.sum()
        if abs(so - sd) > 1e-9 * max(so, sd):
            raise ConfigError(
                "destination_totals", f"sum {sd:.12g}",
                f"doubly-constrained totals must have the same sum as origin_totals ({so:.12g})",
            )
    return row_t, col_t


def _totals(values: Any, labels: np.ndarray, field: str, constraint: str) -> np.ndarray:
    """Validated target margins in label order (``values``: array, mapping or Series)."""
    if values is None:
        raise ConfigError(field, None, f"a {constraint}-constrained model needs them")
    if isinstance(values, Mapping | pd.Series):
        s = pd.Series(values)
        missing = [v for v in labels.tolist() if v not in s.index]
        if missing:
            raise ConfigError(field, f"<{len(s)} totals>", f"give a total for {missing[:5]} too")
        arr = s.reindex(labels).to_numpy(dtype=np.float64)
    else:
        arr = np.asarray(values, dtype=np.float64).ravel()
        if arr.shape != labels.shape:
            raise InputError(f"{field} has {arr.size} entries, expected {labels.size}")
    return check_flows(arr, field)


def _evaluate_in_memory(plan: FlowPlan, options: FlowOptions) -> xr.DataArray:
    """The NumPy backend: the whole (n_o, n_d) grid in memory, threaded Numba kernels."""
    n_o, n_d = plan.shape
    tol, max_iter = options.tol, options.max_iter
    nt = n_threads()
    if n_o * n_d >= _kf.F32_MIN_PAIRS:
        eta, k32 = _predictor_blocks(plan.terms, plan.u, plan.v, plan.mask, plan.margins == Margins.BOTH, nt)
    else:
        eta, k32 = kernel_matrix(plan.terms, plan.u, plan.v, plan.mask), None
    status: tuple[int, bool, float] = (0, True, 0.0)
    if k32 is not None:
        status = _balance_mixed(eta, k32, plan.row_targets, plan.col_targets, tol, max_iter, nt)
    elif plan.margins != Margins.NONE:
        a = np.ones(n_o)
        b = np.ones(n_d)
        it, conv, err = balance(eta, plan.row_targets, plan.col_targets, a, b, int(plan.margins), tol, max_iter, nt)
        scale_inplace(eta, a, b)
        status = (int(it), bool(conv), float(err))
    _check_finite_flows(eta)
    if not status[1]:
        warnings.warn(f"evaluate_flows: the balancing did not converge in {status[0]} sweeps (largest relative "
                      f"margin error {status[2]:.3g}, tol {tol:g}); raise max_iter or check the margins",
                      RuntimeWarning, stacklevel=3)
    return flow_array(eta, plan, status)


def flow_array(values: Any, plan: FlowPlan, status: tuple[int, bool, float]) -> xr.DataArray:
    """Wrap flows (NumPy or Dask) as the labelled ``flow`` DataArray with the balancing status.

    Parameters
    ----------
    values : ndarray or dask.array.Array
        The flows, (n_o, n_d).
    plan : FlowPlan
        Their plan (labels and constraint).
    status : (int, bool, float)
        ``(iterations, converged, max_error)`` of the balancing.

    Returns
    -------
    xarray.DataArray
    """
    return annotate(xr.DataArray(
        values,
        dims=("origin", "destination"),
        coords={"origin": plan.origin_labels, "destination": plan.destination_labels},
        name="flow",
        attrs={
            "constraint": plan.constraint,
            "iterations": int(status[0]),
            "converged": bool(status[1]),
            "max_error": float(status[2]),
        },
    ))


def _passes(terms: Sequence[PairTerm]) -> list[tuple[list[PairTerm], list[Any], bool]]:
    """The fused predictor passes: per pass its (up to two) terms, the kernel arguments of both
    slots (an empty slot gets a no-op term) and whether the pass reads a precomputed log.

    Only the first pass of a logged first term takes NumPy's SIMD ``log`` up front (``prelog``).
    """
    passes = []
    for p in range(max(1, (len(terms) + 1) // 2)):
        part = list(terms[2 * p: 2 * p + 2])
        slots = part + [_NO_TERM] * (2 - len(part))
        args = [x for t in slots for x in t.kernel_args()]
        passes.append((part, args, p == 0 and TermForm.LOG in slots[0].form))
    return passes


def kernel_matrix(
    terms: Sequence[PairTerm], u: np.ndarray, v: np.ndarray, mask: np.ndarray | None, *,
    serial: bool = False, offset: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """``K = exp`` of the linear predictor (0 outside the mask), two pair arrays per fused pass.

    Used by both backends (the Dask one calls it on each block).

    Parameters
    ----------
    terms : sequence of PairTerm
        The pair terms, their arrays NumPy float64 of shape ``(u.size, v.size)``.
    u, v : ndarray
        Summed origin and destination terms.
    mask : ndarray of bool or None
        Pairs that may carry flow (None: all).
    serial : bool
        Take the single-threaded, GIL-releasing kernel (for blocks evaluated on Dask worker
        threads).
    offset : (int, int)
        The block's position in the whole grid, for error messages.

    Returns
    -------
    ndarray
        ``K``, shape ``(u.size, v.size)``.
    """
    kernel: Any = predictor_pass_block if serial else predictor_pass  # a Numba dispatcher
    has_mask = mask is not None
    m: np.ndarray = mask if mask is not None else _ONE_MASK
    out = np.empty((u.size, v.size))
    bad = np.zeros(u.size, dtype=np.int64)
    for p, (part, args, prelog) in enumerate(_passes(terms)):
        if prelog:
            with np.errstate(divide="ignore", invalid="ignore"):
                np.log(args[0], out=out)
        kernel(out, *args, u, v, m, has_mask, p == 0, prelog, bad)
        rows = np.flatnonzero(bad)
        if rows.size:
            _raise_bad(part, int(rows[0]), int(bad[rows[0]]) - 1, has_mask, offset)
    np.exp(out, out=out)
    return out


def _balance_mixed(
    eta: np.ndarray, k32: np.ndarray, row_t: np.ndarray, col_t: np.ndarray, tol: float, max_iter: int, nt: int,
) -> tuple[int, bool, float]:
    """Doubly-constrained balancing of a large grid: float32 sweeps, then scale ``eta`` and measure on it.

    Falls back to float64 sweeps (on the scaled flows, or on ``eta`` itself when the float32 factors
    are unusable) if the measured error misses ``tol``.
    """
    n_o, n_d = eta.shape
    a = np.ones(n_o)
    b = np.ones(n_d)
    it, _, _, ok = balance_mixed(eta, k32, row_t, col_t, a, b, tol, max_iter, nt, _kf.F32_SWITCH_TOL)
    del k32
    it = int(it)
    if ok:
        err = float(scale_measure(eta, a, b, row_t, col_t, nt))
        if err <= tol or it >= max_iter:
            return it, bool(err <= tol), err
        a[:] = 1.0
        b[:] = 1.0
    it2, conv, err = balance(eta, row_t, col_t, a, b, int(Margins.BOTH), tol,
                             max(max_iter - it, 1) if ok else max_iter, nt)
    scale_inplace(eta, a, b)
    return it + int(it2), bool(conv), float(err)


def _predictor_blocks(
    terms: Sequence[PairTerm], u: np.ndarray, v: np.ndarray, mask: np.ndarray | None, want32: bool, nt: int,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`kernel_matrix` for large grids: blocks of rows, each taken through every pass, ``exp`` and
    (``want32``) the float32 copy while in cache, on ``nt`` threads. Returns ``(K, float32 K or None)``;
    the copy is None where K does not fit float32's range.
    """
    shape = (u.size, v.size)
    n_o = shape[0]
    has_mask = mask is not None
    m: np.ndarray = mask if mask is not None else _ONE_MASK
    out = np.empty(shape)
    k32 = np.empty(shape, dtype=np.float32) if want32 else None
    passes = _passes(terms)
    bad = np.zeros((len(passes), n_o), dtype=np.int64)
    blk = 8
    mx = np.zeros(n_o)
    kernel: Any = predictor_pass_block  # a Numba dispatcher

    def work(lo: int, hi: int) -> None:
        for s in range(lo, hi, blk):
            e = min(s + blk, hi)
            o = out[s:e]
            for p, (_, args, prelog) in enumerate(passes):
                sub = [x[s:e] if isinstance(x, np.ndarray) and x.shape == shape else x for x in args]
                if prelog:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        np.log(sub[0], out=o)
                mb = m[s:e] if has_mask else m
                kernel(o, *sub, u[s:e], v, mb, has_mask, p == 0, prelog, bad[p, s:e])
            np.exp(o, out=o)
            if k32 is not None:
                mx[s] = o.max()
                with np.errstate(over="ignore"):
                    np.copyto(k32[s:e], o, casting="same_kind")

    nt = max(1, min(nt, n_o))
    bounds = [(n_o * c) // nt // blk * blk for c in range(nt)] + [n_o]
    if nt == 1:
        work(0, n_o)
    else:
        with ThreadPoolExecutor(nt) as pool:
            for f in [pool.submit(work, bounds[c], bounds[c + 1]) for c in range(nt)]:
                f.result()
    for p, (part, _, _) in enumerate(passes):
        rows = np.flatnonzero(bad[p])
        if rows.size:
            _raise_bad(part, int(rows[0]), int(bad[p, rows[0]]) - 1, has_mask)
    if k32 is not None and not mx.max() <= float(np.finfo(np.float32).max):
        k32 = None
    return out, k32


def _raise_bad(
    part: Sequence[PairTerm], i: int, j: int, has_mask: bool, offset: tuple[int, int] = (0, 0),
) -> None:
    """Raise the error of the first unusable value at ``(i, j)`` among the terms of a pass."""
    for term in part:
        val = float(term.array[i, j])
        if not np.isfinite(val):
            raise InputError(
                f"{term.option} {term.key!r} has a NaN/inf value at ({i + offset[0]}, {j + offset[1]})"
                + (" inside the mask" if has_mask else "")
                + ": fill it or leave the pair out with mask="
            )
        if TermForm.LOG in term.form and val <= 0:
            raise ConfigError(term.option, term.key, "values <= 0 cannot be logged")


def _grid_shape(inputs: FlowInputs) -> tuple[int, int]:
    """``(n_o, n_d)`` from the first 2-D input (cost, mask, pair terms), else the zone terms."""
    for arr in [inputs.cost, inputs.mask, *inputs.pair_terms.values()]:
        if arr is not None:
            shp = getattr(arr, "shape", None)  # Dask arrays: no np.asarray, which would compute them
            if shp is None:
                shp = np.asarray(arr).shape
            if len(shp) == 2:
                return int(shp[0]), int(shp[1])
    if inputs.origin_terms and inputs.destination_terms:
        return len(next(iter(inputs.origin_terms.values()))), len(next(iter(inputs.destination_terms.values())))
    raise InputError("cannot tell the grid's shape: pass cost, mask or a pair term")


def _pair(arr: Any, shape: tuple[int, int], name: str) -> np.ndarray:
    a = np.ascontiguousarray(arr, dtype=np.float64)
    if a.shape != shape:
        raise InputError(f"{name} has shape {a.shape}, expected {shape}")
    return a


def _check_shape(arr: Any, shape: tuple[int, int], name: str) -> Any:
    """``arr`` unchanged (NumPy or Dask array) once its shape is checked."""
    if not hasattr(arr, "shape"):
        arr = np.asarray(arr)
    if tuple(arr.shape) != shape:
        raise InputError(f"{name} has shape {tuple(arr.shape)}, expected {shape}")
    return arr


def _vec(arr: Any, n: int, name: str) -> np.ndarray:
    a = np.asarray(arr, dtype=np.float64).ravel()
    if a.shape != (n,):
        raise InputError(f"{name} has {a.size} entries, expected {n}")
    return a


def predict_table(
    result: CalibrationResult,
    new_table: pd.DataFrame,
    origin_totals: Any = None,
    destination_totals: Any = None,
    offset: Any = None,
) -> pd.Series:
    """Predicted flows for the rows of ``new_table`` (see :meth:`CalibrationResult.predict`)."""
    spec = result.spec
    if spec is None:
        raise InputError("predict(new_table) needs a model fitted by calibrate() from a table")
    fitted_offset = spec.get("offset")
    if offset is None and fitted_offset is not None:
        if fitted_offset == "<array>":
            raise ConfigError("offset", None, "the model was fitted with an offset array: give new_table's offset")
        offset = fitted_offset
    o_col, d_col, f_col = spec["origin"], spec["destination"], spec["flow"]
    oi, o_lab = pd.factorize(new_table[o_col], sort=True)
    dj, d_lab = pd.factorize(new_table[d_col], sort=True)
    shape = (len(o_lab), len(d_lab))
    mask = np.zeros(shape, dtype=bool)
    mask[oi, dj] = True
    pair: dict[str, np.ndarray] = {}
    cost_arr = None
    for key, c in result.coefficients.items():
        if key == "intercept" or not np.isfinite(c):
            continue
        col, _ = parse_term(key)
        if col not in new_table.columns:
            raise ConfigError("new_table", col, "the table lacks this term's column")
        dense = np.ones(shape)
        dense[oi, dj] = new_table[col].to_numpy(dtype=np.float64)
        if key in result.cost_names:
            cost_arr = dense
        else:
            pair[col] = dense
    coefs = dict(result.coefficients)
    params: CalibrationResult | dict[str, float] = coefs if cost_arr is None else result
    if offset is not None:
        dense = np.zeros(shape)
        dense[oi, dj] = offset_values(new_table, offset)
        key = "\x00offset"  # a name no term can have
        pair[key] = dense
        coefs[key] = 1.0
        if cost_arr is not None:
            params = dataclasses.replace(result, coefficients=coefs, _arrays={})
    margins = Margins.of(result.constraint)
    if (Margins.ORIGIN in margins and origin_totals is None) or (
        Margins.DESTINATION in margins and destination_totals is None
    ):
        if f_col not in new_table.columns:
            raise ConfigError("new_table", f_col,
                              "give the flow column or origin_totals/destination_totals")
        y = np.zeros(shape)
        y[oi, dj] = check_flows(new_table[f_col].to_numpy(), f"flow column {f_col!r}")
        origin_totals = y.sum(axis=1) if origin_totals is None else origin_totals
        destination_totals = y.sum(axis=0) if destination_totals is None else destination_totals
    flows = evaluate_flows(
        params,
        cost=cost_arr,
        pair_terms=pair,
        constraint=result.constraint,  # type: ignore[arg-type]
        origin_totals=origin_totals,
        destination_totals=destination_totals,
        mask=mask,
        origin_labels=np.asarray(o_lab),
        destination_labels=np.asarray(d_lab),
    )
    return pd.Series(flows.to_numpy()[oi, dj], index=new_table.index, name="predicted")
