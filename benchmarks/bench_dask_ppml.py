"""asv benchmark of the Dask PPML calibration: 600 synthetic zones (360,000 pairs) on a two-worker
in-process LocalCluster, blocks of full rows against 2-D blocks. The large run (20,000 zones, worker
memory reported) is ``benchmarks/dask_ppml_scale.py``, outside asv.
"""

from __future__ import annotations

N_ZONES = 600
LAYOUTS: dict[str, int | tuple[int, int]] = {"rows": 150, "2d": (300, 300)}


class DaskCalibration:
    """Doubly-constrained PPML (log distance + border) on Dask (``calibrate_dask``)."""

    timeout = 600
    number = 1
    repeat = 3
    params = (list(LAYOUTS),)
    param_names = ["blocks"]

    def setup(self, blocks: str) -> None:
        import distributed

        from migravity.engine.dask_ppml import calibrate_dask

        from .dask_ppml_scale import problem, zones

        self.cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                                dashboard_address=None)
        self.client = distributed.Client(self.cluster)
        calibrate_dask(*problem(zones(100, seed=1), 50), client=self.client)  # compile outside the timing
        self.flows, self.terms = problem(zones(N_ZONES), LAYOUTS[blocks])

    def teardown(self, blocks: str) -> None:
        self.client.close()
        self.cluster.close()

    def time_calibrate(self, blocks: str) -> None:
        from migravity.engine.dask_ppml import calibrate_dask

        calibrate_dask(self.flows, self.terms, client=self.client)
