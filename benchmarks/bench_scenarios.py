"""asv benchmarks of the scenario simulation on the real study area (England and Wales, 318 LADs).

One scenario, 10 annual steps, all 16 segments: one draw (target < 1 s after compile) and 1,000
Monte Carlo draws (target < 60 s on a 2-core machine). Inputs (data loading and calibration) are
built once in ``setup_cache``; the numba kernel is compiled in ``setup``. Skipped without the data.
"""

from __future__ import annotations

from ._data import real_data_dir


def _inputs():
    """The prepared inputs, or ``{}`` without the data: ``setup`` then skips. (asv counts any
    exception in ``setup_cache`` as a failure, even ``NotImplementedError``, and a ``None`` cache is
    not passed to the benchmark at all.)"""
    from migravity.geodata import load_zones
    from migravity.scenarios.simulate import prepare_inputs

    data = real_data_dir()
    if data is None:
        return {}
    return prepare_inputs(load_zones("2023", "EW", data), data_dir=data)


class ScenarioSimulation:
    """``simulate`` of the ``combined`` scenario on 318 LADs, 10 years, 16 segments."""

    timeout = 600
    number = 1
    repeat = 3

    def setup_cache(self):
        return _inputs()

    def setup(self, inputs) -> None:
        from migravity.scenarios.simulate import simulate
        from migravity.scenarios.spec import load_scenario

        if isinstance(inputs, dict) and not inputs:
            raise NotImplementedError("real data not available")
        self.inputs = inputs
        self.scenario = load_scenario("combined")
        simulate(inputs, self.scenario, draws=1, years=1)  # compile

    def time_one_draw_10_years(self, inputs) -> None:
        from migravity.scenarios.simulate import simulate

        simulate(inputs, self.scenario, draws=1, seed=1, years=10)

    def time_1000_draws_10_years(self, inputs) -> None:
        from migravity.scenarios.simulate import simulate

        simulate(inputs, self.scenario, draws=1000, seed=1, years=10)
