"""Flows implied by given coefficients: ``exp`` of the linear predictor, then balancing.

Unconstrained: ``exp(intercept + x'beta)``. Production: each row scaled to its origin total.
Attraction: each column to its destination total. Doubly: Furness balancing to both (the
totals must have the same sum). The balancing status (``iterations``, ``converged``,
``max_error`` = largest relative margin error) is returned in the result's ``attrs``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
from migravity.engine.design import check_flows, parse_term
from migravity.engine.options import BACKENDS, Backend, Constraint, constraint_code, normalise_constraint
from migravity.engine.ppml import n_threads
from migravity.engine.result import CalibrationResult
from migravity.errors import ConfigError, InputError, check_choice


def _totals(values: Any, labels: np.ndarray, field: str) -> np.ndarray:
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


@dataclass(frozen=True)
class FlowPlan:
    """Validated inputs of a flow evaluation, shared by the in-memory and the Dask backends.

    ``groups`` holds one entry per pair array: ``[array, code (1 linear, 2 log, 3 both),
    c_log, c_lin, field, key]``; ``u`` and ``v`` are the summed origin and destination terms
    (the intercept is in ``u`` when unconstrained); ``mode`` is the constraint's kernel code.
    """

    groups: list[list[Any]]
    u: np.ndarray
    v: np.ndarray
    mask: Any
    constraint: str
    mode: int
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
    tol: float = 1e-10,
    max_iter: int = 10_000,
    backend: Backend | None = None,
    chunks: int | tuple[int, int] | None = None,
    client: Any = None,
    store: str | os.PathLike[str] | None = None,
    persist: bool | None = None,
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
    tol, max_iter : float, int
        Balancing tolerance (max relative margin error) and sweep limit.
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

    Returns
    -------
    xarray.DataArray
        Dims ``(origin, destination)``; ``attrs`` hold ``iterations``, ``converged`` and
        ``max_error`` of the balancing.
    """
    if backend is None:
        backend = "dask" if any(x is not None for x in (chunks, client, store, persist)) else "numpy"
    check_choice("backend", backend, BACKENDS)
    if backend == "numpy":
        for field, value in (("chunks", chunks), ("client", client), ("store", store), ("persist", persist)):
            if value is not None:
                raise ConfigError(field, value, 'only the Dask backend takes it: pass backend="dask"')
    dask_pairs = backend == "dask"
    plan = make_plan(
        params, cost, pair_terms, origin_terms, destination_terms, constraint=constraint,
        origin_totals=origin_totals, destination_totals=destination_totals, mask=mask,
        origin_labels=origin_labels, destination_labels=destination_labels, lazy=dask_pairs,
    )
    if dask_pairs:
        from migravity.engine.dask_flows import evaluate_plan

        return evaluate_plan(plan, tol=tol, max_iter=max_iter, chunks=chunks, client=client, store=store,
                             persist=True if persist is None else bool(persist))
    return _evaluate_in_memory(plan, tol, max_iter)


def make_plan(
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
    lazy: bool = False,
) -> FlowPlan:
    """Validate the inputs of :func:`evaluate_flows` and gather them in a :class:`FlowPlan`.

    With ``lazy`` the pair arrays and the mask are left as they are (NumPy or Dask arrays, only
    their shapes checked); otherwise they become contiguous float64 (bool) NumPy arrays.
    """
    pair_terms = dict(pair_terms or {})
    origin_terms = dict(origin_terms or {})
    destination_terms = dict(destination_terms or {})
    if isinstance(params, CalibrationResult):
        coefs = dict(params.coefficients)
        cost_names = set(params.cost_names)
        cons = normalise_constraint(constraint or params.constraint)
    else:
        coefs = {str(k): float(v) for k, v in params.items()}
        cost_names = set()
        cons = normalise_constraint(constraint or "doubly")
    mode = constraint_code(cons)
    shape = _grid_shape(cost, pair_terms, origin_terms, destination_terms, mask)
    n_o, n_d = shape
    u = np.zeros(n_o)
    v = np.zeros(n_d)
    groups: dict[str, list[Any]] = {}
    for key, c in coefs.items():
        if not np.isfinite(c):
            continue
        if key == "intercept":
            if mode == 0:
                u += c
            continue
        name, take_log = parse_term(key)
        if cost is not None and (key in cost_names or name == "cost"):
            src, label, fld = cost, "cost", "cost"
        elif key in pair_terms:
            src, label, fld, take_log = pair_terms[key], key, "pair_terms", False
        elif name in pair_terms:
            src, label, fld = pair_terms[name], name, "pair_terms"
        elif key in origin_terms:
            u += c * _vec(origin_terms[key], n_o, key)
            continue
        elif key in destination_terms:
            v += c * _vec(destination_terms[key], n_d, key)
            continue
        else:
            raise ConfigError(
                "params", key,
                "no array for this term: pass it in pair_terms/origin_terms/destination_terms "
                "(or cost= for the cost term)",
            )
        g = groups.get(label)
        if g is None:
            arr = _check_shape(src, shape, label) if lazy else _pair(src, shape, label)
            g = groups[label] = [arr, 0, 0.0, 0.0, fld, key]
        if take_log:
            g[1] |= 2
            g[2] += c
            g[5] = key
        else:
            g[1] |= 1
            g[3] += c
    m = None
    if mask is not None:
        m = _check_shape(mask, shape, "mask") if lazy else np.ascontiguousarray(mask, dtype=bool)
        if m.shape != shape:
            raise InputError(f"mask has shape {m.shape}, expected {shape}")
    o_lab = np.arange(n_o) if origin_labels is None else np.asarray(origin_labels)
    d_lab = np.arange(n_d) if destination_labels is None else np.asarray(destination_labels)
    row_t = np.zeros(n_o)
    col_t = np.zeros(n_d)
    if mode in (1, 3):
        if origin_totals is None:
            raise ConfigError("origin_totals", None, f"a {cons}-constrained model needs them")
        row_t = _totals(origin_totals, o_lab, "origin_totals")
    if mode in (2, 3):
        if destination_totals is None:
            raise ConfigError("destination_totals", None, f"a {cons}-constrained model needs them")
        col_t = _totals(destination_totals, d_lab, "destination_totals")
    if mode == 3:
        so, sd = row_t.sum(), col_t.sum()
        if abs(so - sd) > 1e-9 * max(so, sd):
            raise ConfigError(
                "destination_totals", f"sum {sd:.12g}",
                f"doubly-constrained totals must have the same sum as origin_totals ({so:.12g})",
            )
    return FlowPlan(list(groups.values()), u, v, m, cons, mode, shape, o_lab, d_lab, row_t, col_t)


def _evaluate_in_memory(plan: FlowPlan, tol: float, max_iter: int) -> xr.DataArray:
    """The NumPy backend: the whole (n_o, n_d) grid in memory, threaded Numba kernels."""
    n_o, n_d = plan.shape
    has_mask = plan.mask is not None
    m = plan.mask if has_mask else np.ones((1, 1), dtype=bool)
    mode, row_t, col_t = plan.mode, plan.row_targets, plan.col_targets
    large = n_o * n_d >= _kf.F32_MIN_PAIRS
    nt = n_threads()
    if large:
        eta, k32 = _predictor_blocks(plan.groups, plan.u, plan.v, m, has_mask, plan.shape, mode == 3, nt)
    else:
        eta, k32 = kernel_matrix(plan.groups, plan.u, plan.v, m, has_mask, plan.shape), None
    status: tuple[int, bool, float] = (0, True, 0.0)
    if k32 is not None:
        status = _balance_mixed(eta, k32, row_t, col_t, tol, max_iter, nt)
    elif mode != 0:
        a = np.ones(n_o)
        b = np.ones(n_d)
        it, conv, err = balance(eta, row_t, col_t, a, b, mode, tol, max_iter, nt)
        scale_inplace(eta, a, b)
        status = (int(it), bool(conv), float(err))
    return flow_array(eta, plan, status)


def flow_array(values: Any, plan: FlowPlan, status: tuple[int, bool, float]) -> xr.DataArray:
    """Wrap flows (NumPy or Dask) as the labelled ``flow`` DataArray with the balancing status."""
    return xr.DataArray(
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
    )


_NO_PAIR = np.ones((1, 1))


def kernel_matrix(
    groups: list[list[Any]], u: np.ndarray, v: np.ndarray, m: np.ndarray, has_mask: bool,
    shape: tuple[int, int], serial: bool = False, offset: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """``K = exp`` of the linear predictor (0 outside the mask), two pair arrays per fused pass.

    Used by both backends (the Dask one calls it on each block). ``serial`` takes the
    single-threaded, GIL-releasing kernel (for blocks evaluated on Dask worker threads);
    ``offset`` is the block's position in the whole grid, for error messages.
    """
    kernel = predictor_pass_block if serial else predictor_pass
    out = np.empty(shape)
    bad = np.zeros(shape[0], dtype=np.int64)
    n_pass = max(1, (len(groups) + 1) // 2)
    for p in range(n_pass):
        part = groups[2 * p: 2 * p + 2]
        args: list[Any] = []
        for q in range(2):
            if q < len(part):
                arr, code, c_log, c_lin = part[q][:4]
                args += [arr, code, c_log, c_lin]
            else:
                args += [_NO_PAIR, 0, 0.0, 0.0]
        prelog = p == 0 and bool(args[1] & 2)
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
    it2, conv, err = balance(eta, row_t, col_t, a, b, 3, tol, max(max_iter - it, 1) if ok else max_iter, nt)
    scale_inplace(eta, a, b)
    return it + int(it2), bool(conv), float(err)


def _predictor_blocks(
    groups: list[list[Any]], u: np.ndarray, v: np.ndarray, m: np.ndarray, has_mask: bool,
    shape: tuple[int, int], want32: bool, nt: int,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`kernel_matrix` for large grids: blocks of rows, each taken through every pass, ``exp`` and
    (``want32``) the float32 copy while in cache, on ``nt`` threads. Returns ``(K, float32 K or None)``;
    the copy is None where K does not fit float32's range.
    """
    n_o = shape[0]
    out = np.empty(shape)
    k32 = np.empty(shape, dtype=np.float32) if want32 else None
    n_pass = max(1, (len(groups) + 1) // 2)
    bad = np.zeros((n_pass, n_o), dtype=np.int64)
    pass_args: list[tuple[list[Any], bool]] = []
    for p in range(n_pass):
        args: list[Any] = []
        for q in range(2):
            if 2 * p + q < len(groups):
                args += list(groups[2 * p + q][:4])
            else:
                args += [_NO_PAIR, 0, 0.0, 0.0]
        pass_args.append((args, p == 0 and bool(args[1] & 2)))
    blk = 8
    mx = np.zeros(n_o)

    def work(lo: int, hi: int) -> None:
        for s in range(lo, hi, blk):
            e = min(s + blk, hi)
            o = out[s:e]
            for p, (args, prelog) in enumerate(pass_args):
                sub = [x[s:e] if isinstance(x, np.ndarray) and x.shape == shape else x for x in args]
                if prelog:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        np.log(sub[0], out=o)
                mb = m[s:e] if has_mask else m
                predictor_pass_block(o, *sub, u[s:e], v, mb, has_mask, p == 0, prelog, bad[p, s:e])
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
    for p in range(n_pass):
        rows = np.flatnonzero(bad[p])
        if rows.size:
            _raise_bad(groups[2 * p: 2 * p + 2], int(rows[0]), int(bad[p, rows[0]]) - 1, has_mask)
    if k32 is not None and not mx.max() <= float(np.finfo(np.float32).max):
        k32 = None
    return out, k32


def _raise_bad(
    part: list[list[Any]], i: int, j: int, has_mask: bool, offset: tuple[int, int] = (0, 0),
) -> None:
    for arr, code, _, _, fld, key in part:
        val = float(arr[i, j])
        if not np.isfinite(val):
            raise InputError(
                f"{fld} {key!r} has a NaN/inf value at ({i + offset[0]}, {j + offset[1]})"
                + (" inside the mask" if has_mask else "")
                + ": fill it or leave the pair out with mask="
            )
        if code & 2 and val <= 0:
            raise ConfigError(fld, key, "values <= 0 cannot be logged")


def _grid_shape(cost: Any, pair: dict, orig: dict, dest: dict, mask: Any) -> tuple[int, int]:
    for arr in [cost, mask, *pair.values()]:
        if arr is not None:
            shp = getattr(arr, "shape", None)  # Dask arrays: no np.asarray, which would compute them
            if shp is None:
                shp = np.asarray(arr).shape
            if len(shp) == 2:
                return int(shp[0]), int(shp[1])
    if orig and dest:
        return len(next(iter(orig.values()))), len(next(iter(dest.values())))
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
) -> pd.Series:
    """Predicted flows for the rows of ``new_table`` (see :meth:`CalibrationResult.predict`)."""
    spec = result.spec
    if spec is None:
        raise InputError("predict(new_table) needs a model fitted by calibrate() from a table")
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
    mode = constraint_code(result.constraint)
    if (mode in (1, 3) and origin_totals is None) or (mode in (2, 3) and destination_totals is None):
        if f_col not in new_table.columns:
            raise ConfigError("new_table", f_col,
                              "give the flow column or origin_totals/destination_totals")
        y = np.zeros(shape)
        y[oi, dj] = check_flows(new_table[f_col].to_numpy(), f"flow column {f_col!r}")
        origin_totals = y.sum(axis=1) if origin_totals is None else origin_totals
        destination_totals = y.sum(axis=0) if destination_totals is None else destination_totals
    flows = evaluate_flows(
        coefs if cost_arr is None else result,
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
