"""Time migravity's PPML calibration against pyfixest (and statsmodels where small).

Standalone: ``/work/venv/bin/python benchmarks/compare_peers_engine.py [n_zones ...]``.
Doubly-constrained ``flow ~ log(distance) + border | origin + destination`` on synthetic
off-diagonal data; compile/warm-up excluded for every package; peak memory is tracemalloc's
peak of Python-visible allocations (NumPy buffers included) during the timed call. Up to 1,000
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
REPEATS = 3


def _timed(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, dt, peak / 2**20


def main(sizes: list[int]) -> None:
    import pyfixest as pf

    warm = synthetic_od_table(30, np.random.default_rng(1))
    warm["log_dist"] = np.log(warm["distance_km"])
    calibrate(warm, origin="origin", destination="destination", flow="flow", cost="distance_km",
              terms=["border"])
    pf.fepois("flow ~ log_dist + border | origin + destination", data=warm)
    print(f"{'zones':>6} {'pairs':>9} {'package':>11} {'seconds':>9} {'peak MiB':>9} "
          f"{'b_logdist':>12} {'b_border':>10} {'time ratio':>10} {'mem ratio':>9}")
    for n in sizes:
        t = synthetic_od_table(n, np.random.default_rng(0))
        t["log_dist"] = np.log(t["distance_km"])
        runs_o, runs_p = [], []
        for _ in range(REPEATS if n <= 1000 else 1):
            runs_o.append(_timed(lambda t=t: calibrate(
                t, origin="origin", destination="destination", flow="flow", cost="distance_km",
                terms=["border"])))
            runs_p.append(_timed(lambda t=t: pf.fepois(
                "flow ~ log_dist + border | origin + destination", data=t)))
        ours, _, mem_o = runs_o[0]
        ref, _, mem_p = runs_p[0]
        dt_o = float(np.median([r[1] for r in runs_o]))
        dt_p = float(np.median([r[1] for r in runs_p]))
        c = ref.coef()
        print(f"{n:>6} {len(t):>9} {'migravity':>11} {dt_o:>9.3f} {mem_o:>9.1f} "
              f"{ours.coefficients['log(distance_km)']:>12.8f} {ours.coefficients['border']:>10.7f}")
        print(f"{n:>6} {len(t):>9} {'pyfixest':>11} {dt_p:>9.3f} {mem_p:>9.1f} "
              f"{c['log_dist']:>12.8f} {c['border']:>10.7f} {dt_p / dt_o:>10.1f} "
              f"{mem_p / mem_o:>9.1f}")
        if n <= 100:
            import statsmodels.api as sm

            def sm_fit(t=t):
                import pandas as pd

                d = pd.get_dummies(t[["origin", "destination"]], drop_first=True, dtype=float)
                x = np.column_stack([t["log_dist"], t["border"], np.ones(len(t)), d])
                return sm.GLM(t["flow"].to_numpy(), x, family=sm.families.Poisson()).fit()

            res, dt_s, mem_s = _timed(sm_fit)
            print(f"{n:>6} {len(t):>9} {'statsmodels':>11} {dt_s:>9.3f} {mem_s:>9.1f} "
                  f"{res.params[0]:>12.8f} {res.params[1]:>10.7f} {dt_s / dt_o:>10.1f} "
                  f"{mem_s / mem_o:>9.1f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 331, 1000, 2000])
