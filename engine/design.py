"""From an OD table (or dense arrays) to the dense arrays the kernels fit.

Rows of a table are the observations: absent pairs are left out of the fit (the ``mask``),
never taken as zero flows. Origin and destination labels are mapped separately to
``0..n_o-1`` and ``0..n_d-1`` (rectangular grids and differing label sets are fine).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from migravity.engine._kernels_design import fill_layer, kind_code
from migravity.errors import ConfigError, InputError

_LOG_RE = re.compile(r"^\s*log\(\s*(.+?)\s*\)\s*$")


@dataclass
class Design:
    """Dense arrays of one model (internal).

    Attributes
    ----------
    y : ndarray (n_o, n_d)
        Flows, zero outside ``mask``.
    x : ndarray (k, n_o, n_d)
        Regressor stack; ``names[q]`` names ``x[q]``.
    mask : ndarray of bool (n_o, n_d)
        Observed pairs.
    origin_labels, destination_labels : ndarray
        Labels of the rows and columns.
    row_codes, col_codes : ndarray of int or None
        Grid position of each table row (table input only).
    kinds : tuple of str
        ``"pair"``, ``"origin"`` or ``"destination"`` for each term (how it varies).
    offset : ndarray (n_o, n_d) or None
        Log exposure entering the linear predictor with coefficient 1; zero outside ``mask``.
    """

    y: np.ndarray
    x: np.ndarray
    mask: np.ndarray
    names: tuple[str, ...]
    origin_labels: np.ndarray
    destination_labels: np.ndarray
    row_codes: np.ndarray | None = None
    col_codes: np.ndarray | None = None
    kinds: tuple[str, ...] = field(default_factory=tuple)
    cost_names: tuple[str, ...] = ()
    offset: np.ndarray | None = None


def parse_term(expr: str) -> tuple[str, bool]:
    """Split a term expression into ``(column, take_log)``: ``"log(dist)"`` -> ``("dist", True)``."""
    if not isinstance(expr, str) or not expr.strip():
        raise ConfigError("terms", expr, "give column names or 'log(column)' strings")
    m = _LOG_RE.match(expr)
    return (m.group(1), True) if m else (expr.strip(), False)


def cost_terms(cost: str | None, deterrence: str) -> list[str]:
    """Term expressions of the cost under a deterrence: power ``log(c)``, exponential ``c``, both."""
    if cost is None:
        return []
    if deterrence == "power":
        return [f"log({cost})"]
    if deterrence == "exponential":
        return [cost]
    return [f"log({cost})", cost]


def _transform(values: np.ndarray, expr: str, column: str, take_log: bool, field_name: str,
               where: Callable[[np.ndarray], str] | None = None) -> np.ndarray:
    """``values`` checked finite (and logged if ``take_log``); ``where`` says where the bad ones are."""
    v = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(v)
    if bad.any():
        raise InputError(f"{field_name} {column!r} has {int(bad.sum())} NaN/inf value(s) among the observed pairs: "
                         + (where(bad) if where is not None else "fill or drop those rows"))
    if take_log:
        if (v <= 0).any():
            n_bad = int((v <= 0).sum())
            hint = (
                "use deterrence='exponential' (linear cost) or make the cost positive"
                if field_name == "cost"
                else "take the log of a positive column only"
            )
            raise ConfigError(
                "cost" if field_name == "cost" else "terms",
                expr,
                f"{n_bad} value(s) <= 0 cannot be logged: {hint}",
            )
        v = np.log(v)
    return v


def _first_rows(table: pd.DataFrame, bad: np.ndarray, origin: str, destination: str) -> str:
    """The first rows of ``table`` flagged in ``bad``, with their origin and destination."""
    idx = np.flatnonzero(bad)[:3]
    return ("rows " + ", ".join(f"{table.index[i]!r} ({table[origin].iloc[i]} -> {table[destination].iloc[i]})"
                                for i in idx) + (" ..." if bad.sum() > 3 else "") + "; fill or drop those rows")


def _bad_zones(bad: np.ndarray, labels: np.ndarray) -> str:
    """Which zones' values are bad: a missing attribute of those zones."""
    names = [str(labels[i]) for i in np.flatnonzero(bad)]
    return (f"zones {names[:10]}" + (" ..." if len(names) > 10 else "")
            + "; the attribute is probably missing (suppressed or absent) for them in its data file: fill it "
              "(e.g. from a neighbouring year) or leave those zones out")


def _bad_pairs(bad: np.ndarray, mask: np.ndarray, o_labels: np.ndarray, d_labels: np.ndarray) -> str:
    """Which pairs are bad, naming the zones all of whose observed pairs are (a missing zone attribute)."""
    bad = bad & mask
    n_row, n_col = bad.sum(axis=1), bad.sum(axis=0)
    rows = [str(o_labels[i]) for i in np.flatnonzero((n_row > 0) & (n_row == mask.sum(axis=1)))]
    cols = [str(d_labels[j]) for j in np.flatnonzero((n_col > 0) & (n_col == mask.sum(axis=0)))]
    zones = sorted(set(rows) | set(cols))
    if zones:
        return (f"every observed pair from or to zones {zones[:10]}" + (" ..." if len(zones) > 10 else "")
                + "; an attribute is probably missing (suppressed or absent) for them in its data file: fill it "
                  "(e.g. from a neighbouring year) or leave those zones out")
    i, j = np.argwhere(bad)[0]
    return (f"first at ({o_labels[i]}, {d_labels[j]}); fill the inputs of this term for those pairs "
            "or leave them out with the mask")


def check_flows(values: np.ndarray, field_name: str = "flow") -> np.ndarray:
    """Validate flows: finite and non-negative; returns them as float64."""
    y = np.asarray(values, dtype=np.float64)
    if not np.isfinite(y).all():
        raise InputError(
            f"{field_name} has {int((~np.isfinite(y)).sum())} NaN/inf value(s): "
            "fill them or drop those pairs (absent pairs are left out of the fit)"
        )
    if (y < 0).any():
        raise InputError(
            f"{field_name} has {int((y < 0).sum())} negative value(s) (min {y.min()!r}): "
            "flows must be counts >= 0"
        )
    return y


def design_from_table(
    table: pd.DataFrame,
    *,
    origin: str,
    destination: str,
    flow: str,
    cost: str | None,
    deterrence: str,
    terms: Sequence[str],
    offset: str | Sequence[float] | np.ndarray | pd.Series | None = None,
) -> Design:
    """Build the dense design of a table of OD pairs (one row per observed pair).

    ``offset`` is a column (``"log(column)"`` takes its log) or values aligned with the rows.
    """
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    for fld, col in (("origin", origin), ("destination", destination), ("flow", flow), ("cost", cost)):
        if col is not None and col not in table.columns:
            raise ConfigError(fld, col, f"no such column; the table has {list(table.columns)}")
    if len(table) == 0:
        raise InputError("table has no rows")
    for fld, col in (("origin", origin), ("destination", destination)):
        if table[col].isna().any():
            raise InputError(f"{fld} column {col!r} has missing labels: drop those rows")
    y_rows = check_flows(table[flow].to_numpy(), f"flow column {flow!r}")
    exprs = [*cost_terms(cost, deterrence), *terms]
    parsed = [parse_term(e) for e in exprs]
    n_cost = len(cost_terms(cost, deterrence))
    for q, (col, _) in enumerate(parsed):
        if col not in table.columns:
            raise ConfigError(
                "terms", exprs[q], f"no column {col!r} in the table; columns are {list(table.columns)}"
            )
    names = tuple(e.strip() if q >= n_cost else e for q, e in enumerate(exprs))
    if len(set(names)) != len(names):
        raise ConfigError("terms", list(names), "each term may appear once (the cost enters already)")
    oi, o_labels = _factorize_sorted(table[origin])
    dj, d_labels = _factorize_among(table[destination], o_labels)
    n_o, n_d = len(o_labels), len(d_labels)
    flat = oi.astype(np.int64) * n_d + dj
    # scatters through the flat index (several times faster than 2-D fancy indexing)
    mask = np.zeros((n_o, n_d), dtype=bool)
    mask.reshape(-1)[flat] = True
    if np.count_nonzero(mask) != len(flat):  # fewer pairs than rows: some pair is repeated
        dup = pd.Series(flat).duplicated(keep=False).to_numpy()
        first = table.loc[dup, [origin, destination]].iloc[0].tolist()
        raise InputError(
            f"table has {int(dup.sum())} rows with a duplicated ({origin}, {destination}) pair, "
            f"e.g. {tuple(first)}: aggregate them (sum the flows) so that each pair appears once"
        )
    y = np.zeros((n_o, n_d))
    y.reshape(-1)[flat] = y_rows
    x = np.zeros((len(exprs), n_o, n_d))
    for q, (col, take_log) in enumerate(parsed):
        fld = "cost" if q < n_cost else "term"
        x[q].reshape(-1)[flat] = _transform(table[col].to_numpy(), exprs[q], col, take_log, fld,
                                            where=lambda bad: _first_rows(table, bad, origin, destination))
    kinds = tuple(_kind(x[q], mask) for q in range(len(exprs)))
    off = None
    if offset is not None:
        off = np.zeros((n_o, n_d))
        off.reshape(-1)[flat] = offset_values(table, offset)
    return Design(
        y=y,
        x=x,
        mask=mask,
        names=names,
        origin_labels=np.asarray(o_labels),
        destination_labels=np.asarray(d_labels),
        row_codes=oi.astype(np.int64),
        col_codes=dj.astype(np.int64),
        kinds=kinds,
        cost_names=names[:n_cost],
        offset=off,
    )


def offset_values(table: pd.DataFrame, offset: str | Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """The offset of each table row: a column (``"log(column)"`` logged) or values in row order."""
    if isinstance(offset, str):
        col, take_log = parse_term(offset) if offset.strip() else ("", False)
        if col not in table.columns:
            raise ConfigError("offset", offset, f"no column {col!r} in the table; columns are {list(table.columns)}")
        values = table[col].to_numpy()
        if take_log:
            v = np.asarray(values, dtype=np.float64)
            if not (v > 0).all():
                raise ConfigError("offset", offset, f"{int((~(v > 0)).sum())} value(s) <= 0 or NaN cannot be logged")
        return _check_offset(values, offset, take_log)
    if isinstance(offset, pd.Series):
        if not offset.index.equals(table.index):
            raise ConfigError("offset", "<Series>", "give a Series on the table's own index (or a column name)")
        return _check_offset(offset.to_numpy(), "<Series>", False)
    values = np.asarray(offset, dtype=np.float64)
    if values.shape != (len(table),):
        raise ConfigError("offset", f"<array of shape {values.shape}>",
                          f"give one value per table row ({len(table)}) or a column name")
    return _check_offset(values, "<array>", False)


def _check_offset(values: np.ndarray | Sequence[float], label: str, take_log: bool) -> np.ndarray:
    """Offset values as float64 (logged if ``take_log``); raise on NaN/inf."""
    v = np.asarray(values, dtype=np.float64)
    if take_log:
        v = np.log(v)
    bad = ~np.isfinite(v)
    if bad.any():
        raise InputError(f"offset {label} has {int(bad.sum())} NaN/inf value(s) among the observed pairs: "
                         "fill or drop those rows")
    return v


def _factorize_sorted(labels: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(labels, sort=True)``, faster when equal labels come in single runs.

    OD tables are usually grouped by origin: then the run starts give the codes with one
    comparison of neighbours, and only the run labels are factorised (hashed and sorted).
    """
    n = len(labels)
    # string columns only (numbers hash fast; comparing Python objects costs more than hashing)
    if n < 256 or not isinstance(labels.dtype, pd.StringDtype):
        return pd.factorize(labels, sort=True)
    values = labels.array
    try:
        head = np.asarray(values[1:64] != values[:63], dtype=bool)
        if 4 * (int(head.sum()) + 1) > 64:  # short runs at the top: not grouped
            return pd.factorize(labels, sort=True)
        change = np.asarray(values[1:] != values[:-1], dtype=bool)
    except (TypeError, ValueError):
        return pd.factorize(labels, sort=True)
    starts = np.flatnonzero(change) + 1
    if 4 * (len(starts) + 1) > n:  # short runs: not grouped
        return pd.factorize(labels, sort=True)
    run_codes, uniques = pd.factorize(labels.iloc[np.concatenate(([0], starts))], sort=True)
    if len(uniques) != len(run_codes):  # a label in more than one run: hash them all
        return pd.factorize(labels, sort=True)
    run_id = np.zeros(n, dtype=np.int64)
    run_id[starts] = 1
    return run_codes.astype(np.int64)[np.cumsum(run_id)], uniques


def _factorize_among(labels: pd.Series, known: pd.Index) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(labels, sort=True)``, faster when every label is among ``known`` (sorted unique
    labels, e.g. the origins'): one hash lookup per row against ``known`` instead of hashing all rows
    into a new table, the codes then renumbered over the labels that occur.
    """
    if len(labels) < 256 or not isinstance(labels.dtype, pd.StringDtype) or not isinstance(known.dtype, pd.StringDtype):
        return pd.factorize(labels, sort=True)
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        idx = pc.index_in(pa.array(labels.array), value_set=pa.array(known.array))
    except (ImportError, TypeError, ValueError, NotImplementedError, AttributeError):
        return pd.factorize(labels, sort=True)
    if idx.null_count:  # a label not among the known ones
        return pd.factorize(labels, sort=True)
    codes = np.asarray(idx, dtype=np.int64)
    used = np.bincount(codes, minlength=len(known)) > 0
    if used.all():
        return codes, known
    renumber = np.cumsum(used) - 1
    return renumber[codes], known[used]


def _kind(xq: np.ndarray, mask: np.ndarray) -> str:
    """``"origin"`` if constant within each origin, ``"destination"`` within each destination."""
    code = kind_code(np.ascontiguousarray(xq), np.ascontiguousarray(mask))
    return ("pair", "origin", "destination")[code]


def _fill_pair(src: np.ndarray, m: np.ndarray, take_log: bool, on_bad: Callable[[np.ndarray], None],
               out: np.ndarray) -> None:
    """``out`` = the pair term ``src`` (logged if ``take_log``) on ``m``, 0 elsewhere, in one
    pass (:func:`~migravity.engine._kernels_design.fill_layer`); ``on_bad(src)`` raises if a
    masked value is not finite (or not positive, when logged)."""
    n_bad, n_neg = fill_layer(np.ascontiguousarray(src), np.ascontiguousarray(m), take_log, out)
    if n_bad or n_neg:
        on_bad(src)


def _fill_zone(full: np.ndarray, m: np.ndarray, out: np.ndarray) -> None:
    """``out`` = the broadcast zone term ``full`` on ``m``, 0 elsewhere (values checked already)."""
    np.multiply(full, m, out=out)


def _raise_cost(src: np.ndarray, *, m: np.ndarray, expr: str, col: str, take_log: bool) -> None:
    _transform(np.where(m, src, 1.0), expr, col, take_log, "cost")


def _raise_pair(src: np.ndarray, *, m: np.ndarray, name: str, o_names: np.ndarray, d_names: np.ndarray) -> None:
    _transform(np.where(m, src, 0.0), name, name, False, "pair term",
               where=lambda bad: _bad_pairs(bad, m, o_names, d_names))


def design_from_arrays(
    flows: np.ndarray,
    *,
    cost: np.ndarray | None,
    deterrence: str,
    pair_terms: Mapping[str, np.ndarray],
    origin_terms: Mapping[str, np.ndarray],
    destination_terms: Mapping[str, np.ndarray],
    mask: np.ndarray | None,
    origin_labels: Sequence[object] | None,
    destination_labels: Sequence[object] | None,
    offset: np.ndarray | None = None,
) -> Design:
    """Build the dense design of (n_o, n_d) arrays; the cost terms are named ``log(cost)``/``cost``.

    ``offset`` is an (n_o, n_d) log exposure (coefficient 1), read on the observed pairs only.
    """
    y = np.asarray(flows, dtype=np.float64)
    if y.ndim != 2:
        raise InputError(f"flows must be a 2-D (origin, destination) array, got shape {y.shape}")
    n_o, n_d = y.shape
    if mask is None:
        m = np.ones((n_o, n_d), dtype=bool)
    else:
        m = np.asarray(mask, dtype=bool)
        if m.shape != y.shape:
            raise InputError(f"mask has shape {m.shape}, flows {y.shape}: give one of the same shape")
    check_flows(y[m], "flows")
    y = np.where(m, y, 0.0)
    layers: list[Callable[[np.ndarray], None]] = []  # each fills its (n_o, n_d) layer of x in place
    names: list[str] = []
    kinds: list[str] = []
    cost_names: list[str] = []
    if cost is not None:
        c = np.asarray(cost, dtype=np.float64)
        if c.shape != y.shape:
            raise InputError(f"cost has shape {c.shape}, flows {y.shape}: give one of the same shape")
        for expr in cost_terms("cost", deterrence):
            col, take_log = parse_term(expr)
            layers.append(functools.partial(
                _fill_pair, c, m, take_log,
                functools.partial(_raise_cost, m=m, expr=expr, col=col, take_log=take_log)))
            names.append(expr)
            cost_names.append(expr)
            kinds.append("pair")
    o_names = np.arange(n_o) if origin_labels is None else np.asarray(origin_labels)
    d_names = np.arange(n_d) if destination_labels is None else np.asarray(destination_labels)
    for name, arr in pair_terms.items():
        a = np.asarray(arr, dtype=np.float64)
        if a.shape != y.shape:
            raise InputError(f"pair term {name!r} has shape {a.shape}, flows {y.shape}")
        layers.append(functools.partial(
            _fill_pair, a, m, False,
            functools.partial(_raise_pair, m=m, name=name, o_names=o_names, d_names=d_names)))
        names.append(name)
        kinds.append("pair")
    for name, arr, n, kind in [
        *[(k_, v_, n_o, "origin") for k_, v_ in origin_terms.items()],
        *[(k_, v_, n_d, "destination") for k_, v_ in destination_terms.items()],
    ]:
        a = np.asarray(arr, dtype=np.float64).ravel()
        if a.shape != (n,):
            raise InputError(f"{kind} term {name!r} has shape {a.shape}, expected ({n},)")
        labels = o_names if kind == "origin" else d_names
        a = _transform(a, name, name, False, f"{kind} term",
                       where=lambda bad, labels=labels: _bad_zones(bad, labels))  # type: ignore[misc]
        full = np.broadcast_to(a[:, None] if kind == "origin" else a[None, :], (n_o, n_d))
        layers.append(functools.partial(_fill_zone, full, m))
        names.append(name)
        kinds.append(kind)
    if len(set(names)) != len(names):
        raise ConfigError("terms", names, "give each term a distinct name")
    x = np.empty((len(layers), n_o, n_d))
    for q, fill in enumerate(layers):
        fill(x[q])
    o_lab = np.arange(n_o) if origin_labels is None else np.asarray(origin_labels)
    d_lab = np.arange(n_d) if destination_labels is None else np.asarray(destination_labels)
    if o_lab.shape != (n_o,) or d_lab.shape != (n_d,):
        raise InputError(
            f"origin_labels/destination_labels must have {n_o}/{n_d} entries, "
            f"got {o_lab.shape}/{d_lab.shape}"
        )
    off = None
    if offset is not None:
        o = np.asarray(offset, dtype=np.float64)
        if o.shape != y.shape:
            raise ConfigError("offset", f"<array of shape {o.shape}>", f"give an array of the flows' shape {y.shape}")
        off = np.zeros(y.shape)
        off[m] = _check_offset(o[m], "<array>", False)
    return Design(
        y=y,
        x=np.ascontiguousarray(x),
        mask=m,
        names=tuple(names),
        origin_labels=o_lab,
        destination_labels=d_lab,
        kinds=tuple(kinds),
        cost_names=tuple(cost_names),
        offset=off,
    )
