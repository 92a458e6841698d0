"""The real MSOA calibration (7,264 zones, 52.8M pairs): migravity against pyfixest ``fepois``.

Standalone: ``python benchmarks/compare_msoa.py [--timeout S] [--limit-gib G] [--out FILE]`` with
``$MIGRAVITY_DATA`` pointing at the raw data (the MSOA files are not in the shipped bundle).

Model: ``flow ~ log(distance) + border | origin + destination`` (doubly constrained PPML, the default
model of ``migravity calibrate``), on the Census 2021 migration flows between the 7,264 MSOAs of
England and Wales, every off-diagonal pair with its zeros: 52,758,432 pairs.

Each case runs in its own subprocess, so that peak memory is the process's own
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, the peak resident set size, which includes what
Numba and BLAS allocate):

``migravity``
    :func:`~migravity.engine.calibrate_arrays` on the dense grids, as ``migravity calibrate --level
    msoa`` runs it. Load time (zones, flows, distances, contiguity) and fit time are reported apart.
``pyfixest``
    ``pyfixest.fepois`` on the long table (one row per pair: integer origin and destination ids,
    ``flow``, ``log_dist``, ``border``), in a process whose address space is limited to
    ``--limit-gib`` GiB (``RLIMIT_AS``, default 20) and killed after ``--timeout`` seconds: a
    MemoryError, a kill or a timeout is recorded as the outcome.
``pyfixest_nonzero``
    Only when the full table fails: ``fepois`` on the pairs with a positive flow (1.45M rows). This
    is a different estimator (PPML without the zero pairs), so its coefficients differ.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))


def _grids() -> tuple[Any, Any, Any, Any, float]:
    from migravity.geodata.odtable import od_grids
    from migravity.geodata.zones import load_zones

    t0 = time.perf_counter()
    zones = load_zones("2021", "EW", level="msoa")
    flows, distance, border, _ = od_grids(zones)
    return zones, flows, distance, border, time.perf_counter() - t0


def _rss_gib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB on Linux


def case_migravity() -> dict[str, Any]:
    """Fit with the dense engine; times and peak RSS."""
    import numpy as np

    from migravity.engine import calibrate_arrays

    zones, flows, distance, border, load_s = _grids()
    rss_load = _rss_gib()
    mask = ~np.eye(len(zones), dtype=bool)
    t0 = time.perf_counter()
    res = calibrate_arrays(flows, cost=distance, pair_terms={"border": border}, mask=mask,
                           origin_labels=list(zones.codes), destination_labels=list(zones.codes))
    fit_s = time.perf_counter() - t0
    return {"case": "migravity", "load_s": load_s, "fit_s": fit_s, "peak_rss_gib_after_load": rss_load,
            "peak_rss_gib": _rss_gib(), "n_pairs": res.n_pairs, "iterations": res.iterations,
            "converged": res.converged, "coefficients": dict(res.coefficients),
            "std_errors": dict(res.std_errors)}


def case_pyfixest(nonzero: bool, limit_gib: float) -> dict[str, Any]:
    """pyfixest ``fepois`` on the long table under an address-space limit."""
    import resource

    import numpy as np
    import pandas as pd

    resource.setrlimit(resource.RLIMIT_AS, (int(limit_gib * 2**30), int(limit_gib * 2**30)))
    zones, flows, distance, border, _ = _grids()
    n = len(zones)
    oi, di = np.divmod(np.arange(n * n, dtype=np.int64), n)
    keep = oi != di
    if nonzero:
        keep &= flows.ravel() > 0
    table = pd.DataFrame({"o": oi[keep].astype(np.int32), "d": di[keep].astype(np.int32),
                          "flow": flows.ravel()[keep], "log_dist": np.log(distance.ravel()[keep]),
                          "border": border.ravel()[keep]})
    del flows, distance, border, oi, di, keep
    rss_table = _rss_gib()
    import pyfixest as pf

    t0 = time.perf_counter()
    try:
        fit = pf.fepois("flow ~ log_dist + border | o + d", data=table)
    except MemoryError as e:
        return {"case": "pyfixest_nonzero" if nonzero else "pyfixest", "rows": len(table),
                "outcome": f"MemoryError after {time.perf_counter() - t0:.1f} s ({e})",
                "peak_rss_gib": _rss_gib()}
    fit_s = time.perf_counter() - t0
    c = fit.coef()
    return {"case": "pyfixest_nonzero" if nonzero else "pyfixest", "rows": len(table), "outcome": "ok",
            "fit_s": fit_s, "peak_rss_gib_with_table": rss_table, "peak_rss_gib": _rss_gib(),
            "coefficients": {"log(cost)": float(c["log_dist"]), "border": float(c["border"])}}


def _run(case: str, timeout: float, limit_gib: float) -> dict[str, Any]:
    """Run one case in a subprocess; a crash, kill or timeout becomes the recorded outcome."""
    t0 = time.perf_counter()
    cmd = [sys.executable, os.path.abspath(__file__), "--case", case, "--limit-gib", str(limit_gib)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"case": case, "outcome": f"timed out after {timeout:.0f} s (killed)"}
    wall = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"case": case, "outcome": f"exit status {proc.returncode} after {wall:.0f} s: " + " | ".join(tail)}
    out: dict[str, Any] = json.loads(lines[-1])
    out["process_wall_s"] = wall
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the cases and print one JSON line each (and write them to ``--out``)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=("migravity", "pyfixest", "pyfixest_nonzero"))
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per pyfixest case (default 900)")
    ap.add_argument("--limit-gib", type=float, default=20.0, help="address-space limit of pyfixest (GiB)")
    ap.add_argument("--out", help="also write the results here (JSON list)")
    ap.add_argument("--skip-pyfixest", action="store_true")
    args = ap.parse_args(argv)
    if args.case == "migravity":
        print(json.dumps(case_migravity()))
        return 0
    if args.case is not None:
        print(json.dumps(case_pyfixest(args.case == "pyfixest_nonzero", args.limit_gib)))
        return 0
    results = [_run("migravity", 3600.0, args.limit_gib)]
    print(json.dumps(results[-1]), flush=True)
    if not args.skip_pyfixest:
        results.append(_run("pyfixest", args.timeout, args.limit_gib))
        print(json.dumps(results[-1]), flush=True)
        if results[-1].get("outcome") != "ok":
            results.append(_run("pyfixest_nonzero", args.timeout, args.limit_gib))
            print(json.dumps(results[-1]), flush=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
