"""A doubly-constrained evaluation too big for one process's arrays, on a Dask LocalCluster.

Standalone: ``python benchmarks/dask_scale.py [n_zones] [--workers W] [--memory-limit 4GiB]
[--chunk-rows R] [--store PATH] [--out FILE]`` (default 20,000 zones: 400M pairs, 3.2 GB of
float64 per (n, n) array). Seeded synthetic zones in a 700 x 500 km box with log-normal masses;
``flow ~ log(distance) + log(origin mass) + log(destination mass)``, doubly constrained, balanced
to 1e-10. Distances are computed block by block from the centroids
(:func:`migravity.engine.dask_flows.distance_blocks`), so no (n, n) array exists anywhere
whole: the kernel ``K`` is persisted in blocks over the workers and the flows are streamed to a
Zarr store. Reported: wall time of the kernel and balancing and of the Zarr write, iterations,
the margin error re-measured from the store, and each process's peak resident memory (workers measured
in-process with ``getrusage``) against the worker memory limit.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def _peak_rss_mib() -> float:
    """Peak resident memory of the calling process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _zones(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded synthetic zones: centroids (km), intra-zonal distance, masses and balanced totals."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 700.0, n)
    y = rng.uniform(0.0, 500.0, n)
    nearest = cKDTree(np.c_[x, y]).query(np.c_[x, y], k=2)[0][:, 1]
    mass = rng.lognormal(8.0, 1.0, n)
    row = mass / mass.sum() * 6e6
    col = rng.permutation(row)
    return {"x": x, "y": y, "diag": np.maximum(nearest / 3.0, 0.05), "o": np.log(mass),
            "d": np.log(rng.permutation(mass)), "row": row, "col": col}


def main() -> None:
    """Run the evaluation and print (and optionally write) the report."""
    import dask
    import distributed
    import xarray as xr

    from migravity.engine import evaluate_flows
    from migravity.engine.dask_flows import distance_blocks, write_zarr

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n_zones", nargs="?", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="4GiB", help="per worker (Dask's memory_limit)")
    ap.add_argument("--chunk-rows", type=int, default=None, help="rows per block (default: ~8M pairs)")
    ap.add_argument("--no-persist", action="store_true",
                    help="recompute the blocks of K in every sweep instead of keeping them in memory")
    ap.add_argument("--store", default=None, help="Zarr store (default: a temporary directory, removed)")
    ap.add_argument("--out", default=None, help="also write the report to this file")
    args = ap.parse_args()
    n = args.n_zones
    z = _zones(n)
    tmp = None
    store = Path(args.store) if args.store else Path(tmp := tempfile.mkdtemp(prefix="migravity-dask-")) / "f.zarr"
    lines = []

    def emit(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    try:
        with distributed.LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, memory_limit=args.memory_limit,
            dashboard_address=None,
        ) as cluster, distributed.Client(cluster) as client:
            cost = distance_blocks(z["x"], z["y"], diagonal=z["diag"], chunks=args.chunk_rows)
            params = {"log(cost)": -1.5, "o_mass": 1.0, "d_mass": 1.0}
            kw = {"origin_terms": {"o_mass": z["o"]}, "destination_terms": {"d_mass": z["d"]},
                  "constraint": "doubly", "origin_totals": z["row"], "destination_totals": z["col"],
                  "tol": 1e-10, "backend": "dask", "client": client, "persist": not args.no_persist}
            # warm-up (Numba compile/cache load on every worker), not timed
            small = 400
            evaluate_flows(params, cost=distance_blocks(z["x"][:small], z["y"][:small],
                                                        diagonal=z["diag"][:small], chunks=100),
                           **{**kw, "origin_terms": {"o_mass": z["o"][:small]},
                              "destination_terms": {"d_mass": z["d"][:small]},
                              "origin_totals": z["row"][:small],
                              "destination_totals": z["row"][:small]})
            client.run(lambda: None)
            t0 = time.perf_counter()
            lazy = evaluate_flows(params, cost=cost, **kw)  # K built and persisted, factors balanced
            t_eval = time.perf_counter() - t0
            flows = write_zarr(lazy, store, client)  # a_i K_ij b_j block by block into the store
            t_write = time.perf_counter() - t0 - t_eval
            del lazy
            peaks = client.run(_peak_rss_mib)
            t1 = time.perf_counter()
            back = xr.open_zarr(store, consolidated=False)["flow"]
            rows, cols = dask.compute(back.sum("destination").data, back.sum("origin").data)
            check = time.perf_counter() - t1
            err_r = float(np.max(np.abs(rows - z["row"]) / z["row"]))
            err_c = float(np.max(np.abs(cols - z["col"]) / z["col"]))
            emit(f"zones: {n:,}; pairs: {n * n:,}; (n, n) float64 array: {n * n * 8 / 2**30:.2f} GiB")
            emit(f"cluster: LocalCluster, {args.workers} worker processes x 1 thread, "
                 f"memory_limit {args.memory_limit} each; blocks {flows.data.chunksize}; "
                 f"K {'recomputed in every sweep' if args.no_persist else 'persisted'}")
            emit(f"kernel + balancing: {t_eval:.1f} s ({flows.attrs['iterations']} iterations, converged "
                 f"{flows.attrs['converged']}, max margin error {flows.attrs['max_error']:.2e}); "
                 f"Zarr write: {t_write:.1f} s; total {t_eval + t_write:.1f} s")
            emit(f"re-read from Zarr: row error {err_r:.2e}, column error {err_c:.2e} ({check:.1f} s)")
            size = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
            emit(f"store size on disk: {size / 2**30:.2f} GiB")
            for addr, mib in sorted(peaks.items()):
                emit(f"worker {addr}: peak RSS {mib:,.0f} MiB")
            emit(f"driver: peak RSS {_peak_rss_mib():,.0f} MiB")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
