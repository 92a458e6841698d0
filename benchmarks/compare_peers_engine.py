"""Time migravity's PPML calibration against pyfixest (and statsmodels where small).

Standalone: ``python benchmarks/compare_peers_engine.py [lad] [n_zones ...] [--out FILE]``.
Doubly-constrained ``flow ~ log(distance) + border | origin + destination`` on the real Census
2021 LAD table (``lad``: 331 zones, 109,230 pairs, from ``$MIGRAVITY_DATA``) and on synthetic
off-diagonal data; compile/warm-up excluded for every package; times are taken without
instrumentation, and peak memory is tracemalloc's peak of Python-visible allocations (NumPy
buffers included) during one further, untimed call. Up to 1,000
zones each package's call is timed ``REPEATS`` times (interleaved) and the median reported, as
single calls of a few tenths of a second vary by 2x on a shared 2-core machine; larger grids
are timed once.
"""

from __future__ import annotations

import sys
import time
import tracemalloc

import numpy as np

from migravity.engine import calibrate, synthetic_od_table

#: Timed calls per package up to 1,000 zones (the median is reported).
REPEATS = 5


def _timed(fn):
    """Run ``fn`` once without instrumentation: (result, seconds)."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _peak_mib(fn) -> float:
    """Peak traced allocation of one more call of ``fn`` (tracemalloc slows calls, so it is not timed)."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def _table(size: str):
    """The real LAD table for ``"lad"``, else a seeded synthetic table of ``int(size)`` zones."""
    if size == "lad":
        from migravity.geodata import od_table

        return od_table(attribute_vars=())
    return synthetic_od_table(int(size), np.random.default_rng(0))


def main(sizes: list[str], out: str | None = None) -> None:
    import pyfixest as pf

    warm = synthetic_od_table(30, np.random.default_rng(1))
    warm["log_dist"] = np.log(warm["distance_km"])
    calibrate(warm, origin="origin", destination="destination", flow="flow", cost="distance_km",
              terms=["border"])
    pf.fepois("flow ~ log_dist + border | origin + destination", data=warm)
    lines: list[str] = []

    def emit(line: str) -> None:
        print(line)
        sys.stdout.flush()
        lines.append(line)

    emit(f"{'zones':>6} {'pairs':>9} {'package':>11} {'seconds':>9} {'peak MiB':>9} "
         f"{'b_logdist':>12} {'b_border':>10} {'time ratio':>10} {'mem ratio':>9}")
    for size in sizes:
        t = _table(size)
        n = t["origin"].nunique()
        label = f"{n}{'*' if size == 'lad' else ''}"
        t["log_dist"] = np.log(t["distance_km"])
        def fit_ours(t=t):
            return calibrate(t, origin="origin", destination="destination", flow="flow", cost="distance_km",
                             terms=["border"])

        def fit_peer(t=t):
            return pf.fepois("flow ~ log_dist + border | origin + destination", data=t)

        runs_o, runs_p = [], []
        for _ in range(REPEATS if n <= 1000 else 1):
            runs_o.append(_timed(fit_ours))
            runs_p.append(_timed(fit_peer))
        ours, ref = runs_o[0][0], runs_p[0][0]
        mem_o, mem_p = _peak_mib(fit_ours), _peak_mib(fit_peer)
        dt_o = float(np.median([r[1] for r in runs_o]))
        dt_p = float(np.median([r[1] for r in runs_p]))
        c = ref.coef()
        emit(f"{label:>6} {len(t):>9} {'migravity':>11} {dt_o:>9.3f} {mem_o:>9.1f} "
              f"{ours.coefficients['log(distance_km)']:>12.8f} {ours.coefficients['border']:>10.7f}")
        emit(f"{label:>6} {len(t):>9} {'pyfixest':>11} {dt_p:>9.3f} {mem_p:>9.1f} "
              f"{c['log_dist']:>12.8f} {c['border']:>10.7f} {dt_p / dt_o:>10.1f} "
              f"{mem_p / mem_o:>9.1f}")
        if n <= 100:
            import statsmodels.api as sm

            def sm_fit(t=t):
                import pandas as pd

                d = pd.get_dummies(t[["origin", "destination"]], drop_first=True, dtype=float)
                x = np.column_stack([t["log_dist"], t["border"], np.ones(len(t)), d])
                return sm.GLM(t["flow"].to_numpy(), x, family=sm.families.Poisson()).fit()

            res, dt_s = _timed(sm_fit)
            mem_s = _peak_mib(sm_fit)
            emit(f"{label:>6} {len(t):>9} {'statsmodels':>11} {dt_s:>9.3f} {mem_s:>9.1f} "
                  f"{res.params[0]:>12.8f} {res.params[1]:>10.7f} {dt_s / dt_o:>10.1f} "
                  f"{mem_s / mem_o:>9.1f}")
    emit("* real Census 2021 LAD table. Ratios: pyfixest (or statsmodels) / migravity.")
    if out:
        from pathlib import Path

        from migravity.geodata.atomic import atomic_write_text

        atomic_write_text(Path(out), "\n".join(lines) + "\n")


if __name__ == "__main__":
    args = sys.argv[1:]
    out_file = None
    if "--out" in args:
        i = args.index("--out")
        out_file = args[i + 1]
        del args[i:i + 2]
    main(args or ["lad", "100", "331", "1000", "2000"], out_file)
