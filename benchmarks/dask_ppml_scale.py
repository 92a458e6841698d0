"""A doubly-constrained PPML calibration too big for one process's arrays, on a Dask LocalCluster.

Standalone: ``python benchmarks/dask_ppml_scale.py [n_zones] [--workers W] [--memory-limit 4GiB]
[--chunk-rows R] [--out FILE]`` (default 20,000 zones: 400M pairs, 3.2 GB per (n, n) float64 array).
Seeded synthetic zones in a 700 x 500 km box with log-normal masses. Every (n, n) input is generated
lazily block by block: ``log(distance)`` from the centroids
(:func:`migravity.engine.dask_flows.distance_blocks`), ``border`` (neighbours within a radius that
gives each zone about six), and the flows, Poisson with mean
``exp(log m_i + log m_j - 1.5 log d_ij + 0.5 border_ij + c)`` drawn with one seeded Generator per
block (so every pass that reads a block reads the same flows). Nothing (n, n) exists whole on the
driver; the workers persist ``mu`` in blocks. Reported: wall time, Newton and CG iterations, block
passes, coefficients against the true ones, and each process's peak resident memory (``getrusage``).

Worker memory bound (measured 908 MiB at 5,000 zones, blocks of 1,000 rows, against 926 MiB from it):
``8 n^2 / W`` (its share of the persisted ``mu``) ``+ T * 10 * 8 R n`` (per task in flight, about ten
block-sized arrays: the flows, the ``k`` regressors, their stack, the mask, ``mu`` and the temporaries
of generating them, for blocks of ``R`` full rows; ``T`` threads per worker) ``+`` about 450 MiB of
interpreter, Numba and Dask. For 20,000 zones, ``W = 2``, ``T = 1``, ``R = 250``: 1.49 + 0.37 + 0.44
= 2.3 GiB; measured 2.89 GiB per worker (916 s, 6 Newton and 420 CG iterations, coefficients -1.50000
and 0.49993), inside the 4 GiB ``memory_limit``: at that size size workers at 1.3 times the formula.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

TRUE = {"log(cost)": -1.5, "border": 0.5}


def _peak_rss_mib() -> float:
    """Peak resident memory of the calling process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def zones(n: int, seed: int = 0) -> dict[str, Any]:
    """Seeded synthetic zones: centroids (km), intra-zonal distance, log masses, the border radius."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 700.0, n)
    y = rng.uniform(0.0, 500.0, n)
    tree = cKDTree(np.c_[x, y])
    near = tree.query(np.c_[x, y], k=7)[0]
    mass = rng.lognormal(8.0, 1.0, n)
    return {"x": x, "y": y, "diag": np.maximum(near[:, 1] / 3.0, 0.05), "lm": np.log(mass),
            "radius": float(np.median(near[:, 6])), "seed": seed}


def _border_block(dist: np.ndarray, radius: float) -> np.ndarray:
    """Neighbours (1) within ``radius``, the zone itself excluded."""
    b = (dist < radius).astype(np.float64)
    b[dist < 0.051] = 0.0  # the intra-zonal pairs (their distance is the small diagonal)
    return b


def _flow_block(dist: np.ndarray, lm_o: np.ndarray, lm_d: np.ndarray, radius: float, const: float, seed: int,
                block_info: dict[Any, Any] | None = None) -> np.ndarray:
    """Poisson flows of one block, drawn with a Generator seeded by the block's position."""
    loc = block_info[None]["array-location"] if block_info else [(0, 0), (0, 0)]
    rng = np.random.default_rng([seed, int(loc[0][0]), int(loc[1][0])])
    eta = lm_o[:, :1] + lm_d[:1, :] + TRUE["log(cost)"] * np.log(dist) + TRUE["border"] * _border_block(dist, radius)
    return rng.poisson(np.exp(eta + const)).astype(np.float64)


def problem(
    z: dict[str, Any], chunk_rows: int | tuple[int, int] | None, mean_flow: float = 2.0,
) -> tuple[Any, dict[str, Any]]:
    """The lazy flows and regressors of the zones ``z``."""
    import dask.array as da

    from migravity.engine.dask_flows import distance_blocks

    n = z["x"].size
    dist = distance_blocks(z["x"], z["y"], diagonal=z["diag"], chunks=chunk_rows)
    rc, cc = dist.chunksize
    # the constant that gives about ``mean_flow`` per pair (from a sample of pairs)
    rng = np.random.default_rng(z["seed"] + 1)
    i, j = rng.integers(0, n, 20_000), rng.integers(0, n, 20_000)
    d = np.where(i == j, z["diag"][i], np.hypot(z["x"][i] - z["x"][j], z["y"][i] - z["y"][j]))
    eta = z["lm"][i] + z["lm"][j] + TRUE["log(cost)"] * np.log(d)
    const = float(np.log(mean_flow) - np.log(np.mean(np.exp(eta))))
    lm_o = da.from_array(np.repeat(z["lm"][:, None], 1, axis=1), chunks=(rc, 1))
    lm_d = da.from_array(z["lm"][None, :], chunks=(1, cc))
    flows = da.map_blocks(_flow_block, dist, lm_o, lm_d, radius=z["radius"], const=const, seed=z["seed"],
                          dtype=np.float64)
    terms = {"log(cost)": da.log(dist), "border": dist.map_blocks(_border_block, z["radius"], dtype=np.float64)}
    return flows, terms


def main() -> None:
    """Run the calibration and print (and optionally write) the report."""
    import distributed

    from migravity.engine.dask_ppml import calibrate_dask

    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("n_zones", nargs="?", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="4GiB", help="per worker (Dask's memory_limit)")
    ap.add_argument("--chunk-rows", type=int, default=None, help="rows per block (default: ~8M pairs)")
    ap.add_argument("--out", default=None, help="also write the report to this file")
    args = ap.parse_args()
    n = args.n_zones
    z = zones(n)
    lines = []

    def emit(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    with distributed.LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, memory_limit=args.memory_limit,
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        # warm-up (Numba compile/cache load on every worker), not timed
        small = zones(300, seed=1)
        calibrate_dask(*problem(small, 100), client=client)
        t0 = time.perf_counter()
        flows, terms = problem(z, args.chunk_rows)
        res = calibrate_dask(flows, terms, client=client)
        wall = time.perf_counter() - t0
        peaks = client.run(_peak_rss_mib)
        emit(f"zones: {n:,}; pairs: {n * n:,}; (n, n) float64 array: {n * n * 8 / 2**30:.2f} GiB")
        emit(f"cluster: LocalCluster, {args.workers} worker processes x 1 thread, memory_limit {args.memory_limit} "
             f"each; blocks {flows.chunksize}")
        emit(f"calibration: {wall:.1f} s; {res.iterations} Newton iterations (converged {res.converged}), "
             f"{res.cg_iterations} CG iterations, {res.passes} block passes; {res.n_pairs:,} pairs, "
             f"loglik {res.fit['loglik']:.6g}")
        for name, true in TRUE.items():
            c, s = res.coefficients[name], res.std_errors[name]
            emit(f"{name}: {c:.5f} (se {s:.5f}; true {true}; z vs true {(c - true) / s:+.2f})")
        for addr, mib in sorted(peaks.items()):
            emit(f"worker {addr}: peak RSS {mib:,.0f} MiB")
        emit(f"driver: peak RSS {_peak_rss_mib():,.0f} MiB")
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
