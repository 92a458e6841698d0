"""asv benchmark of the scenario simulation at MSOA scale (synthetic: 7,264 zones, like the MSOAs of E&W).

One scenario (a WFH reclassification), 10 annual steps, all 16 segments, the open-population
baseline (both steps simulated): one draw. Target of issue 16: under 5 s; 100 draws under 3 minutes.
The synthetic study area (:func:`synthetic_msoa_inputs`) has random zone positions, no pivot
constants and no workplace anchoring (their factors are ones: the kernels' work is the same), so it
needs no data. ``python -m benchmarks.bench_scenarios_msoa [n] [draws] [years]`` prints the timings.
"""

from __future__ import annotations

import sys
import time

import numpy as np

N_MSOA = 7264


def synthetic_msoa_inputs(n: int = N_MSOA, seed: int = 0, horizon: int = 10):
    """Synthetic MSOA-scale :class:`~migravity.scenarios.simulate.ModelInputs` (open population, 4 regions)."""
    from migravity.analysis.evidence import ParameterDecision, ScenarioEvidence
    from migravity.scenarios.baseline import OpenBaseline
    from migravity.scenarios.params import ModelParameters
    from migravity.scenarios.simulate import ModelInputs

    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 500, size=(n, 2))
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, 1.0)
    log_dist = np.log(d)
    del d
    border = np.zeros((n, n))
    names = ("beta_distance", "gamma_border", "delta_wfh_access", "delta_wfh_price", "theta_price")
    mean = dict(zip(names, (-1.6, 0.1, -0.6, -1.7, 0.07), strict=True))
    decisions = {p: ParameterDecision(p, "identified", v, 0.01, v - 0.02, v + 0.02, "synthetic")
                 for p, v in mean.items()}
    params = ModelParameters.from_evidence(ScenarioEvidence(decisions, np.diag(np.full(5, 1e-4)), names, ()),
                                           beta_commute=-2.5, beta_commute_se=0.02,
                                           job_access=rng.lognormal(7, 1, n), wfh_national=0.31)
    regions = tuple(("E12000007", "E12000008", "E12000004", "W92000004")[i % 4] for i in range(n))
    workers = rng.uniform(2000, 6000, n)
    pop = workers * 2.0 * (1.005 ** np.arange(horizon + 1))[:, None]
    ob = OpenBaseline(population=pop, hsl_slope=rng.uniform(-0.05, 0.05, n), births_rate=np.full(n, 0.011),
                      deaths_rate=np.full(n, 0.009), precovid_net=np.zeros(n))
    parents = tuple(f"E0600{i // 20:04d}" for i in range(n))
    return ModelInputs(
        codes=tuple(f"E0200{i:04d}" for i in range(n)), names=tuple(f"MSOA {i}" for i in range(n)),
        region_codes=regions, region_names=regions, gse=np.array([r in ("E12000007", "E12000008") for r in regions]),
        imd_quintile=np.arange(n) % 5 + 1.0, workers=workers, shares=rng.dirichlet(np.full(16, 30.0), size=n),
        move_rate=rng.uniform(0.05, 0.12, n), log_dist=log_dist, border=border, log_access=np.log(params.job_access),
        log_pop=np.log(pop[0]), log_price=rng.normal(12.4, 0.3, n), log_pay=rng.normal(6.4, 0.1, n),
        params=params, intensity_ratio=1.67, intensity_national=0.27, dest_constant=rng.normal(0.0, 0.5, n),
        open_baseline=ob, level="msoa", parents=parents)


class MsoaScenarioSimulation:
    """``simulate`` of ``wfh_uptake`` on 7,264 synthetic zones, 10 years, 16 segments, open population."""

    timeout = 900
    number = 1
    repeat = 1

    def setup_cache(self):
        return synthetic_msoa_inputs()

    def setup(self, inputs) -> None:
        from migravity.scenarios.simulate import simulate
        from migravity.scenarios.spec import load_scenario

        self.scenario = load_scenario("wfh_uptake")
        from migravity.scenarios.simulate import LARGE_ZONES

        # compile the float32 path (n >= LARGE_ZONES) and build the pair factors of the benchmark's inputs
        simulate(synthetic_msoa_inputs(LARGE_ZONES, horizon=1), self.scenario, draws=1, years=1)
        simulate(inputs, self.scenario, draws=1, years=1)

    def time_one_draw_10_years(self, inputs) -> None:
        from migravity.scenarios.simulate import simulate

        simulate(inputs, self.scenario, draws=1, seed=1, years=10)


def main(argv: list[str]) -> None:
    """Print the time of ``draws`` draws of ``years`` years on ``n`` synthetic zones."""
    from migravity.scenarios.simulate import simulate
    from migravity.scenarios.spec import load_scenario

    n = int(argv[0]) if argv else N_MSOA
    draws = int(argv[1]) if len(argv) > 1 else 1
    years = int(argv[2]) if len(argv) > 2 else 10
    sc = load_scenario("wfh_uptake")
    t = time.perf_counter()
    small = synthetic_msoa_inputs(2000, horizon=years)
    simulate(small, sc, draws=1, years=1)  # compile the float32 path
    print(f"compile + small: {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    inp = synthetic_msoa_inputs(n, horizon=years)
    print(f"inputs n={n}: {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    sim = simulate(inp, sc, draws=draws, seed=1, years=years)
    dt = time.perf_counter() - t
    print(f"simulate n={n} draws={draws} years={years}: {dt:.2f} s ({dt / draws:.2f} s/draw); "
          f"final workers {sim.stocks[:, -1].sum():,.0f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
