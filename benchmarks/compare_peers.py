"""Compare migravity's PPML calibration with peer packages on identical inputs, in one process.

Standalone: ``python benchmarks/compare_peers.py [lad] [n_zones ...] [hN ...] [--out FILE] [--skip PEER]
[--models A] [--repeats R] [--rss]``. ``lad`` is the real Census 2021 LAD table (331 zones, 109,230
pairs, read from ``$MIGRAVITY_DATA``); a number is a seeded synthetic table of that many zones
(off-diagonal pairs, :func:`migravity.engine.synthetic_od_table`: uniform zones, log-normal masses,
power deterrence); ``hN`` is ``N`` zones from an independent generator of another structure
(:func:`heavy_table`: clustered zones, Pareto masses, exponential-and-power deterrence, mostly
zero flows). All cases run side by side in one process and print one table. Three models, each
fitted by migravity (:func:`migravity.engine.calibrate`) and by the peers that can fit it:

A. doubly constrained, ``flow ~ log(distance) + border | origin + destination``: pyfixest ``fepois``,
   and statsmodels ``GLM`` (Poisson, dense dummy fixed effects) where its dense design needs less than
   ``STATSMODELS_MAX_GIB`` (its traced peak is 13-16 times the design: 5.8 GiB at 300 synthetic zones,
   8.9 GiB on the LAD table);
B. doubly constrained, ``flow ~ log(distance) | origin + destination``: spint ``Doubly``
   (``cost_func="pow"``; spint has no further pair term, so both packages fit log distance only);
C. production constrained, ``flow ~ log(distance) + log(destination population) | origin``: spint
   ``Production`` (``cost_func="pow"``, the population as its destination variable).

Timing: each package is imported and called once per model on a small synthetic table before
anything is timed (Numba compilation or cache loading for migravity and pyfixest); those import and
warm-up times are reported in their own lines. Each fit is then timed without instrumentation,
``REPEATS`` times interleaved with the other packages' fits up to 1,000 zones (the median is
reported: single calls of a few tenths of a second vary by 2x on a shared 2-core machine), once on
larger grids and once for a package whose first timed call takes longer than ``SLOW_S``. Peak memory
is tracemalloc's peak of Python-visible allocations (NumPy and SciPy buffers included; allocations
made inside Numba-compiled code are not traced) during one further, untimed call. With ``--rss``,
each fit is also run once in a fresh subprocess (imported and warmed up there first) which reports
its peak extra resident set size: the kernel's peak RSS (``VmHWM``, reset through
``/proc/self/clear_refs`` before the call) less the RSS before the call, which counts everything,
Numba's and BLAS's allocations included. Ratios are
peer / migravity for the same model and size, and ``max|db|`` is the largest absolute difference
between the peer's coefficients and migravity's. Only coefficients are compared: spint's and
statsmodels' standard errors are the non-robust GLM ones, migravity's and pyfixest's are robust.
spint's IRLS stops once the smallest change of any coefficient is below 1e-6, so its coefficients
agree to about that.

spint builds a sparse dummy design but inverts the dense ``(k, k)`` cross-product matrix
(``k`` = its number of columns, ``2 n`` for ``Doubly``, ``n + 2`` for ``Production``) in every IRLS
iteration; a fit estimated (:func:`spint_cost`) to need more than ``SPINT_MAX_GIB`` or
``SPINT_MAX_MINUTES`` is skipped with the estimate printed.

The peers are optional (``pip install '.[peers]'``); a missing one is reported and skipped.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

#: Timed calls per package up to ``MAX_REPEAT_ZONES`` zones (the median is reported).
REPEATS = 5
#: Largest grid whose fits are timed ``REPEATS`` times; larger grids are timed once.
MAX_REPEAT_ZONES = 1000
#: A package whose first timed call takes longer than this (seconds) is timed once.
SLOW_S = 20.0
#: statsmodels runs only where its dense design matrix needs less than this (GiB).
STATSMODELS_MAX_GIB = 2.0
#: spint is skipped where one fit is estimated to need more memory (GiB) or time (minutes) than this.
SPINT_MAX_GIB = 8.0
SPINT_MAX_MINUTES = 10.0
#: Zones of the synthetic table the packages are warmed up on.
WARM_ZONES = 30
#: The peers and the module each is imported from.
PEERS: dict[str, str] = {"pyfixest": "pyfixest", "spint": "spint.gravity", "statsmodels": "statsmodels.api"}
#: How to get the optional peers.
INSTALL_HINT = "pip install '.[peers]'"

#: Coefficient names in the table (migravity's names), in column order, with their headers.
COEFS: dict[str, str] = {"log(distance_km)": "b_logdist", "border": "b_border", "log(dest_pop)": "b_logpop_d"}
#: Width of a coefficient column.
COEF_WIDTH = 12


@dataclass(frozen=True)
class Model:
    """One specification fitted by migravity and its peers.

    Attributes
    ----------
    key : str
        Short label in the table (``"A"``, ...).
    constraint : str
        migravity's ``constraint``.
    terms : tuple of str
        migravity's ``terms`` besides ``log(distance_km)``.
    peers : tuple of str
        The peers (names as in :data:`PEERS`) that fit it.
    text : str
        Description for the legend.
    """

    key: str
    constraint: str
    terms: tuple[str, ...]
    peers: tuple[str, ...]
    text: str


MODELS: tuple[Model, ...] = (
    Model("A", "doubly", ("border",), ("pyfixest", "statsmodels"),
          "doubly constrained, flow ~ log(distance) + border | origin + destination"),
    Model("B", "doubly", (), ("spint",),
          "doubly constrained, flow ~ log(distance) | origin + destination "
          "(log distance only for both packages: spint has no further pair term)"),
    Model("C", "production", ("log(dest_pop)",), ("spint",),
          "production constrained, flow ~ log(distance) + log(destination population) | origin"),
)


@dataclass
class Fit:
    """One package's fit of one model on one table.

    Attributes
    ----------
    package : str
        Package name as printed.
    model : Model
        The specification.
    run : callable
        Fits the model and returns the package's result object.
    coefs : callable
        Maps that result object to ``{coefficient name: value}`` (names as in :data:`COEFS`).
    times : list of float
        Seconds of the timed calls.
    """

    package: str
    model: Model
    run: Callable[[], Any]
    coefs: Callable[[Any], dict[str, float]]
    times: list[float] = field(default_factory=list)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``fn`` once without instrumentation.

    Parameters
    ----------
    fn : callable
        The call to time.

    Returns
    -------
    tuple
        ``fn``'s result and the wall-clock seconds it took.
    """
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _peak_mib(fn: Callable[[], Any]) -> float:
    """Peak traced allocation during one more call of ``fn`` (tracemalloc slows calls: not timed).

    Parameters
    ----------
    fn : callable
        The call to measure.

    Returns
    -------
    float
        tracemalloc's peak, in MiB.
    """
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak / 2**20


def _import(name: str) -> tuple[ModuleType | None, float]:
    """Import an optional peer.

    Parameters
    ----------
    name : str
        Module to import.

    Returns
    -------
    tuple
        The module (``None`` if it is not installed) and the seconds the import took.
    """
    t0 = time.perf_counter()
    try:
        mod = importlib.import_module(name)
    except ImportError:
        return None, 0.0
    return mod, time.perf_counter() - t0


def load_table(size: str) -> pd.DataFrame:
    """The pair table of one size, with the columns every package needs.

    Parameters
    ----------
    size : str
        ``"lad"`` for the real Census 2021 LAD table, else a number of synthetic zones.

    Returns
    -------
    pandas.DataFrame
        Columns ``origin, destination, flow, distance_km, border``, ``log_dist`` (log distance, for
        the formula packages) and ``dest_pop`` (destination population).
    """
    if size == "lad":
        from migravity.geodata import od_table

        t = od_table(attribute_vars=("population",)).rename(columns={"d_population": "dest_pop"})
    elif size.startswith("h"):
        t = heavy_table(int(size[1:]), np.random.default_rng(1))
    else:
        from migravity.engine import synthetic_od_table

        t = synthetic_od_table(int(size), np.random.default_rng(0)).rename(columns={"pop_d": "dest_pop"})
    t["border"] = t["border"].astype(np.float64)
    t["log_dist"] = np.log(t["distance_km"])
    return t


def heavy_table(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """An OD table from a generator independent of :func:`~migravity.engine.synthetic_od_table`.

    Zones in 12 Gaussian clusters (towns) of different spreads in a 600 km square; masses Pareto
    (shape 1.1: a few zones hold most of the population); flows Poisson with mean
    ``m_i^0.9 m_j^0.8 exp(-d / 40) d^-0.5 e^(0.4 border)`` scaled to a mean flow of 0.6, so most
    pairs are zero; ``border`` is 1 for each zone's 5 nearest neighbours (symmetrised). Zones
    that end up without any outflow or inflow are left in (both packages drop them).

    Parameters
    ----------
    n : int
        Number of zones.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    pandas.DataFrame
        Columns ``origin, destination, flow, distance_km, border, dest_pop`` (off-diagonal pairs).
    """
    centres = rng.uniform(0.0, 600.0, (12, 2))
    spread = rng.uniform(5.0, 60.0, 12)
    town = rng.integers(0, 12, n)
    xy = centres[town] + rng.normal(size=(n, 2)) * spread[town, None]
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)) + 0.5
    near = np.argsort(d, axis=1)[:, 1:6]
    border = np.zeros((n, n))
    border[np.repeat(np.arange(n), 5), near.ravel()] = 1.0
    border = np.maximum(border, border.T)
    mass = (rng.pareto(1.1, n) + 1.0) * 1000.0
    lam = np.outer(mass ** 0.9, mass ** 0.8) * np.exp(-d / 40.0) * d ** -0.5 * np.exp(0.4 * border)
    np.fill_diagonal(lam, 0.0)
    lam *= 0.6 * n * (n - 1) / lam.sum()
    flow = rng.poisson(lam).astype(np.float64)
    o, dd = np.nonzero(~np.eye(n, dtype=bool))
    labels = np.array([f"H{i:05d}" for i in range(n)])
    return pd.DataFrame({"origin": labels[o], "destination": labels[dd], "flow": flow[o, dd],
                         "distance_km": d[o, dd], "border": border[o, dd], "dest_pop": mass[dd]})


def dense_design_gib(n_pairs: int, n_zones: int, n_terms: int) -> float:
    """Memory of a dense design with an intercept, ``n_terms`` regressors and dummy fixed effects.

    Parameters
    ----------
    n_pairs, n_zones, n_terms : int
        Rows, zones (``n_zones - 1`` dummies each for origin and destination) and regressors.

    Returns
    -------
    float
        GiB of the float64 matrix.
    """
    return n_pairs * (1 + n_terms + 2 * (n_zones - 1)) * 8 / 2**30


def spint_cost(n_pairs: int, n_cols: int) -> tuple[float, float]:
    """Rough memory and time of one spint fit on this kind of machine.

    spint keeps a sparse design (a few non-zeros per pair, plus a Python list of dummy codes per
    pair) and in each of its IRLS iterations forms and inverts the dense ``(n_cols, n_cols)``
    cross-product matrix and converts the inverse to a sparse matrix. The constants were measured
    on synthetic tables of 100 to 600 zones (2 cores, about 20 GFLOP/s in ``numpy.linalg.inv``); the
    time is budgeted at half that speed for a shared machine.

    Parameters
    ----------
    n_pairs : int
        Pairs in the table.
    n_cols : int
        Columns of spint's design (``2 n`` for ``Doubly``, ``n + 2`` for ``Production``).

    Returns
    -------
    tuple of float
        Estimated peak GiB and minutes of one fit.
    """
    gib = (500.0 * n_pairs + 40.0 * n_cols**2) / 2**30
    inversions = 10  # IRLS iterations (5-7 seen) plus the covariance
    seconds = 15e-6 * n_pairs + inversions * 2.0 * n_cols**3 / 1e10
    return gib, seconds / 60.0


class Peers:
    """The peer packages that are installed, imported and warmed up.

    Parameters
    ----------
    emit : callable
        Prints and records one line of output.
    skip : collection of str
        Peers not to run.
    """

    def __init__(self, emit: Callable[[str], None], skip: Collection[str] = ()) -> None:
        self.emit = emit
        self.imports: dict[str, float] = {}
        self.mods: dict[str, ModuleType] = {}
        t0 = time.perf_counter()
        import migravity.engine  # noqa: F401

        self.imports["migravity"] = time.perf_counter() - t0
        for package, module in PEERS.items():
            if package in skip:
                emit(f"{package}: skipped (--skip)")
                continue
            mod, seconds = _import(module)
            if mod is None:
                emit(f"{package}: skipped (not installed; install the peers with {INSTALL_HINT})")
                continue
            self.mods[package] = mod
            self.imports[package] = seconds

    def fits(self, t: pd.DataFrame, label: str, emit_skips: bool = True) -> list[list[Fit]]:
        """The fits to run on one table, grouped by model (migravity first in each group).

        Parameters
        ----------
        t : pandas.DataFrame
            Table from :func:`load_table`.
        label : str
            Size label for skip lines.
        emit_skips : bool
            Print a line for each peer skipped for its size.

        Returns
        -------
        list of list of Fit
            One group per model in :data:`MODELS`.
        """
        n = int(t["origin"].nunique())
        groups: list[list[Fit]] = []
        make: dict[str, Callable[[pd.DataFrame, Model, int], Fit | str]] = {
            "pyfixest": self._pyfixest, "statsmodels": self._statsmodels, "spint": self._spint}
        for m in MODELS:
            group = [self._ours(t, m)]
            for package in m.peers:
                if package not in self.mods:
                    continue
                fit = make[package](t, m, n)
                if isinstance(fit, str):
                    if emit_skips:
                        self.emit(f"{label:>6} {len(t):>9} {m.key:>1} {package:>11}   skipped ({fit})")
                    continue
                group.append(fit)
            groups.append(group)
        return groups

    @staticmethod
    def _ours(t: pd.DataFrame, m: Model) -> Fit:
        """migravity's :func:`~migravity.engine.calibrate` of ``m`` (log distance by ``cost=``)."""
        from migravity.engine import calibrate

        def run() -> Any:
            return calibrate(t, origin="origin", destination="destination", flow="flow", cost="distance_km",
                             constraint=m.constraint, terms=list(m.terms))

        return Fit("migravity", m, run, lambda r: dict(r.coefficients))

    def _pyfixest(self, t: pd.DataFrame, m: Model, n: int) -> Fit:
        """pyfixest ``fepois`` of model A, on the precomputed ``log_dist`` column."""
        pf = self.mods["pyfixest"]

        def run() -> Any:
            return pf.fepois("flow ~ log_dist + border | origin + destination", data=t)

        def coefs(r: Any) -> dict[str, float]:
            c = r.coef()
            return {"log(distance_km)": float(c["log_dist"]), "border": float(c["border"])}

        return Fit("pyfixest", m, run, coefs)

    def _statsmodels(self, t: pd.DataFrame, m: Model, n: int) -> Fit | str:
        """statsmodels Poisson ``GLM`` of model A with dense dummies built in the call, or why it is skipped."""
        sm = self.mods["statsmodels"]
        gib = dense_design_gib(len(t), n, 2)
        if gib >= STATSMODELS_MAX_GIB:
            return f"design would need {gib:.1f} GiB; the fit's peak is 13-16x the design"

        def run() -> Any:
            d = pd.get_dummies(t[["origin", "destination"]], drop_first=True, dtype=float)
            x = np.column_stack([t["log_dist"], t["border"], np.ones(len(t)), d])
            return sm.GLM(t["flow"].to_numpy(), x, family=sm.families.Poisson()).fit()

        def coefs(r: Any) -> dict[str, float]:
            return {"log(distance_km)": float(r.params[0]), "border": float(r.params[1])}

        return Fit("statsmodels", m, run, coefs)

    def _spint(self, t: pd.DataFrame, m: Model, n: int) -> Fit | str:
        """spint ``Doubly`` (model B) or ``Production`` (model C) on NumPy arrays, or why it is skipped.

        spint's coefficients come in design order: intercept, fixed-effect dummies, the destination
        variable (``Production``), then log cost.
        """
        gravity = self.mods["spint"]
        doubly = m.constraint == "doubly"
        gib, minutes = spint_cost(len(t), 2 * n if doubly else n + 2)
        if gib > SPINT_MAX_GIB or minutes > SPINT_MAX_MINUTES:
            return (f"estimated {gib:.1f} GiB and {minutes:.0f} min per fit, over the "
                    f"{SPINT_MAX_GIB:g} GiB / {SPINT_MAX_MINUTES:g} min limits: a dense inverse of "
                    f"{2 * n if doubly else n + 2} columns per IRLS iteration")
        flow = t["flow"].to_numpy()
        y = flow.astype(np.int64)  # spint accepts integer counts only
        if not np.array_equal(y, flow):
            return "flows are not whole numbers"
        o, d = t["origin"].to_numpy(), t["destination"].to_numpy()
        cost = t["distance_km"].to_numpy()
        if doubly:
            def run() -> Any:
                return gravity.Doubly(y, o, d, cost, "pow")

            def coefs(r: Any) -> dict[str, float]:
                return {"log(distance_km)": float(r.params[-1])}
        else:
            pop = t["dest_pop"].to_numpy()

            def run() -> Any:
                return gravity.Production(y, o, pop, cost, "pow")

            def coefs(r: Any) -> dict[str, float]:
                return {"log(dest_pop)": float(r.params[-2]), "log(distance_km)": float(r.params[-1])}

        return Fit("spint", m, run, coefs)


def warm_up(peers: Peers, emit: Callable[[str], None]) -> None:
    """Import and first-call costs, reported and kept out of the timings.

    Every package fits each of its models twice on a small synthetic table: the first calls include
    Numba compilation or cache loading (migravity, pyfixest) and lazy imports, the second show the
    warm cost on that table.

    Parameters
    ----------
    peers : Peers
        The imported packages.
    emit : callable
        Prints and records one line.
    """
    t = load_table(str(WARM_ZONES))
    fits = [f for group in peers.fits(t, str(WARM_ZONES), emit_skips=False) for f in group]
    first: dict[str, float] = {}
    second: dict[str, float] = {}
    models: dict[str, str] = {}
    for f in fits:
        first[f.package] = first.get(f.package, 0.0) + _timed(f.run)[1]
        models[f.package] = models.get(f.package, "") + f.model.key
    for f in fits:
        second[f.package] = second.get(f.package, 0.0) + _timed(f.run)[1]
    emit(f"Warm-up, excluded from the timings below: import, then each model fitted twice on a {WARM_ZONES}-zone "
         "synthetic table. First calls include Numba compilation or cache loading and the imports of")
    emit("lazily importing packages (pyfixest imports almost nothing until its first call).")
    emit(f"{'package':>11} {'models':>6} {'import s':>9} {'first calls s':>13} {'second calls s':>14}")
    for package, seconds in first.items():
        emit(f"{package:>11} {models[package]:>6} {peers.imports[package]:>9.2f} {seconds:>13.2f} "
             f"{second[package]:>14.3f}")
    emit("")


def _row(label: str, n_pairs: int, f: Fit, seconds: float, mib: float, rss: float, coefs: dict[str, float],
         ref: tuple[float, float, float, dict[str, float]] | None) -> str:
    """One line of the table; ``ref`` is migravity's (seconds, MiB, RSS MiB, coefficients) for a peer
    (``rss`` is NaN when not measured)."""
    cells = [f" {coefs[name]:>{COEF_WIDTH}.8f}" if name in coefs else " " * (COEF_WIDTH + 1) for name in COEFS]
    line = (f"{label:>6} {n_pairs:>9} {f.model.key:>1} {f.package:>11} {len(f.times):>5} {seconds:>9.3f} "
            f"{mib:>9.1f} {rss:>8.0f}{''.join(cells)}")
    if ref is not None:
        diff = max(abs(v - ref[3][k]) for k, v in coefs.items())
        line += f" {seconds / ref[0]:>7.1f} {mib / ref[1]:>7.1f} {rss / ref[2]:>7.1f} {diff:>8.1e}"
    return line.rstrip()


def _vm_kib(field_name: str) -> int:
    """A ``VmRSS``/``VmHWM`` line of ``/proc/self/status``, in KiB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field_name} in /proc/self/status")


def rss_case(size: str, model: str, package: str) -> dict[str, Any]:
    """Child side of ``--rss``: one fit's peak extra RSS in this fresh process (after a warm-up)."""
    peers = Peers(lambda line: None, [p for p in PEERS if p != package])
    m = next(x for x in MODELS if x.key == model)
    warm = load_table(str(WARM_ZONES))
    for group in peers.fits(warm, "warm", emit_skips=False):
        for f in group:
            if f.model.key == model and f.package == package:
                f.run()
    t = load_table(size)
    fit = next(f for group in peers.fits(t, size, emit_skips=False) for f in group
               if f.model.key == m.key and f.package == package)
    gc.collect()
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")  # reset the peak RSS (VmHWM) to the current RSS
    base = _vm_kib("VmRSS")
    fit.run()
    return {"extra_mib": (_vm_kib("VmHWM") - base) / 1024.0}


def _rss_subprocess(size: str, model: str, package: str) -> float:
    """Peak extra RSS (MiB) of one fit in a fresh subprocess; NaN if it fails."""
    cmd = [sys.executable, os.path.abspath(__file__), "--rss-case", size, model, package]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return float("nan")
    return float(json.loads(lines[-1])["extra_mib"])


def run_size(size: str, peers: Peers, emit: Callable[[str], None], models: Collection[str] = (),
             repeats: int | None = None, rss: bool = False) -> None:
    """Time, measure and compare every package's fits on one table.

    Parameters
    ----------
    size : str
        ``"lad"`` or a number of synthetic zones.
    peers : Peers
        The imported packages.
    emit : callable
        Prints and records one line.
    models : collection of str
        Model keys to run (default all).
    repeats : int, optional
        Timed calls per fit (default: ``REPEATS`` up to ``MAX_REPEAT_ZONES`` zones, else 1).
    rss : bool
        Also measure each fit's peak extra RSS in a subprocess.
    """
    t = load_table(size)
    n = int(t["origin"].nunique())
    label = f"{'h' if size.startswith('h') else ''}{n}{'*' if size == 'lad' else ''}"
    groups = [g for g in peers.fits(t, label) if not models or g[0].model.key in models]
    if repeats is None:
        repeats = REPEATS if n <= MAX_REPEAT_ZONES else 1
    for group in groups:
        coefs: dict[str, dict[str, float]] = {}  # from the first call; result objects are not kept
        for r in range(repeats):
            for f in group:
                if r > 0 and f.times[0] > SLOW_S:
                    continue
                out, seconds = _timed(f.run)
                f.times.append(seconds)
                if f.package not in coefs:
                    coefs[f.package] = f.coefs(out)
                del out
        ref: tuple[float, float, float, dict[str, float]] | None = None
        for f in group:
            mib = _peak_mib(f.run)
            extra = _rss_subprocess(size, f.model.key, f.package) if rss else float("nan")
            seconds = float(np.median(f.times))
            emit(_row(label, len(t), f, seconds, mib, extra, coefs[f.package], ref))
            if ref is None:
                ref = (seconds, mib, extra, coefs[f.package])


def main(sizes: list[str], out: str | None = None, skip: Collection[str] = (), models: Collection[str] = (),
         repeats: int | None = None, rss: bool = False) -> None:
    """Run the comparison on each size and write the table.

    Parameters
    ----------
    sizes : list of str
        ``"lad"`` and/or numbers of synthetic zones.
    out : str, optional
        File to write the table to (it is printed as well).
    skip : collection of str
        Peers not to run (names as in :data:`PEERS`).
    models, repeats, rss
        As for :func:`run_size`.
    """
    lines: list[str] = []

    def emit(line: str) -> None:
        print(line)
        sys.stdout.flush()
        lines.append(line)

    peers = Peers(emit, skip)
    warm_up(peers, emit)
    coef_heads = "".join(f" {h:>{COEF_WIDTH}}" for h in COEFS.values())
    emit(f"{'zones':>6} {'pairs':>9} {'m':>1} {'package':>11} {'calls':>5} {'seconds':>9} {'peak MiB':>9}"
         f" {'RSS MiB':>8}{coef_heads} {'t ratio':>7} {'m ratio':>7} {'r ratio':>7} {'max|db|':>8}")
    for size in sizes:
        run_size(size, peers, emit, models, repeats, rss)
    emit("")
    emit("* real Census 2021 LAD table; h: the independent generator (heavy_table). m: model. calls: timed "
         "calls (seconds is their median). peak MiB: tracemalloc; RSS MiB: peak extra RSS in a fresh process.")
    for m in MODELS:
        emit(f"{m.key}: {m.text}")
    emit("Ratios: peer / migravity (same model and size); max|db|: largest |peer - migravity| coefficient. "
         "Only coefficients are compared (spint's and statsmodels' standard errors are non-robust).")
    if out:
        from migravity.utils.atomic import atomic_write_text

        atomic_write_text(Path(out), "\n".join(lines) + "\n")


def _parse(argv: list[str]) -> argparse.Namespace:
    """Command-line arguments.

    Parameters
    ----------
    argv : list of str
        Arguments after the script name.

    Returns
    -------
    argparse.Namespace
        ``sizes`` (list of str), ``out`` (str or None) and ``skip`` (list of str).
    """
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sizes", nargs="*", default=["lad", "100", "331", "1000", "2000"],
                   help="'lad' (real Census 2021 LAD table), numbers of synthetic zones, 'hN' (independent generator)")
    p.add_argument("--models", action="append", default=[], choices=[m.key for m in MODELS],
                   help="run only this model (repeatable)")
    p.add_argument("--repeats", type=int, default=None, help="timed calls per fit at every size")
    p.add_argument("--rss", action="store_true", help="also measure peak extra RSS per fit in subprocesses")
    p.add_argument("--rss-case", nargs=3, metavar=("SIZE", "MODEL", "PACKAGE"), help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help="also write the table to this file")
    p.add_argument("--skip", action="append", default=[], choices=sorted(PEERS), metavar="PEER",
                   help=f"do not run this peer (repeatable; one of {', '.join(sorted(PEERS))})")
    args = p.parse_args(argv)
    for s in args.sizes:
        if s != "lad" and not s.isdigit() and not (s.startswith("h") and s[1:].isdigit()):
            p.error(f"size {s!r}: give 'lad', a number of zones or 'h' and a number")
    return args


if __name__ == "__main__":
    ns = _parse(sys.argv[1:])
    if ns.rss_case:
        print(json.dumps(rss_case(*ns.rss_case)))
    else:
        main(ns.sizes, ns.out, ns.skip, ns.models, ns.repeats, ns.rss)
