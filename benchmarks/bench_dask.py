"""asv benchmarks of the Dask backend: block-wise flow evaluation on a two-worker LocalCluster.

2,000 synthetic zones (4M pairs) with distances built block by block from centroids; blocks of
full rows (one fused sweep per iteration) against 2-D blocks (a row and a column pass). The
cluster uses threads (the block kernels release the GIL), so setup stays cheap. The 20,000-zone
run (400M pairs, worker memory reported) is ``benchmarks/dask_scale.py``, outside asv.
"""

from __future__ import annotations

import numpy as np

N_ZONES = 2000
LAYOUTS = {"rows": 500, "2d": (1000, 1000)}


class DaskEvaluation:
    """Flows given parameters on Dask, balanced to 1e-9 (``backend="dask"``)."""

    timeout = 600
    number = 1
    repeat = 3
    params = (["production", "doubly"], list(LAYOUTS))
    param_names = ["constraint", "blocks"]

    def setup(self, constraint: str, blocks: str) -> None:
        import distributed

        from migravity.engine import distance_blocks

        rng = np.random.default_rng(N_ZONES)
        self.x, self.y = rng.uniform(0, 700, N_ZONES), rng.uniform(0, 500, N_ZONES)
        mass = rng.lognormal(8, 1, N_ZONES)
        self.totals = mass / mass.sum() * 1e6
        self.cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                                dashboard_address=None)
        self.client = distributed.Client(self.cluster)
        self.cost = distance_blocks(self.x, self.y, diagonal=np.full(N_ZONES, 1.0), chunks=LAYOUTS[blocks])
        self._run(constraint, blocks, n=200)  # compile outside the timing

    def teardown(self, constraint: str, blocks: str) -> None:
        self.client.close()
        self.cluster.close()

    def _run(self, constraint: str, blocks: str, n: int | None = None) -> None:
        from migravity.engine import distance_blocks, evaluate_flows

        cost = self.cost
        totals = self.totals
        if n is not None:
            cost = distance_blocks(self.x[:n], self.y[:n], diagonal=np.ones(n), chunks=LAYOUTS[blocks] if
                                   blocks == "rows" else (100, 100))
            totals = totals[:n]
        flows = evaluate_flows(
            {"log(cost)": -1.5}, cost, constraint=constraint, origin_totals=totals,
            destination_totals=totals[::-1].copy() if constraint == "doubly" else None, tol=1e-9,
            backend="dask", client=self.client,
        )
        flows.data.sum().compute()

    def time_evaluate(self, constraint: str, blocks: str) -> None:
        self._run(constraint, blocks)
