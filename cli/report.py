"""``migravity ladder`` and ``migravity report`` (the main job) on the real data."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from migravity.cli.console import AppState
from migravity.utils.jsonio import write_json


def _ladder(state: AppState, json_out: str | None) -> dict[str, Any]:
    from migravity.analysis.ladder import fit_ladder, out_of_sample

    t0 = time.perf_counter()
    with state.progress("fitting the model ladder M1-M4 (England, Census 2021)"):
        ladder = fit_ladder(state.data_dir)
    t1 = time.perf_counter()
    state.out.print(f"\nModel ladder: PPML, Census 2021 inter-LAD migration, England ({ladder.n_pairs:,} pairs); "
                    "area type = IMD quintile of the sending LAD (reference: most deprived)\n")
    state.out.print(ladder.table(), markup=False, highlight=False)
    with state.progress("out of sample: calibrate on Census 2011, predict Census 2021"):
        oos = out_of_sample(state.data_dir)
    t2 = time.perf_counter()
    state.table("Out of sample: doubly-constrained gravity (log distance + border), E&W, 2023 codes",
                ["model", "CPC", "SRMSE"], [(i, r.cpc, r.srmse) for i, r in oos.scores.iterrows()])
    state.out.print("2011 coefficients: " + ", ".join(f"{k} {v:.4f}" for k, v in oos.coefficients_2011.items())
                    + "; 2021: " + ", ".join(f"{k} {v:.4f}" for k, v in oos.coefficients_2021.items()))
    payload = {
        "ladder": {name: r.to_dict() for name, r in ladder.results.items()},
        "out_of_sample": {"scores": oos.scores.to_dict(orient="index"),
                          "coefficients_2011": oos.coefficients_2011,
                          "coefficients_2021": oos.coefficients_2021},
        "seconds": {"ladder": t1 - t0, "out_of_sample": t2 - t1},
    }
    if json_out:
        write_json(json_out, payload)
    return payload


def register(app: typer.Typer) -> None:
    """Attach ``ladder`` and ``report`` to the root app."""

    @app.command("ladder")
    def ladder_cmd(
        ctx: typer.Context,
        json_out: Annotated[str | None, typer.Option("--json", help="Write results as JSON (- = stdout).")] = None,
    ) -> None:
        """The research's model ladder (M1-M4) and the 2011 -> 2021 out-of-sample test, on the real data."""
        _ladder(ctx.obj, json_out)

    @app.command("report")
    def report_cmd(
        ctx: typer.Context,
        json_out: Annotated[str | None, typer.Option("--json", help="Write results as JSON (- = stdout).")] = None,
    ) -> None:
        """The main job: data status, stylised facts, model ladder and out-of-sample test on the real data."""
        from migravity.cli.data import facts_cmd, status_cmd

        state: AppState = ctx.obj
        status_cmd(ctx, json_out=None)
        facts_cmd(ctx, json_out=None)
        payload = _ladder(state, None)
        if json_out:
            write_json(json_out, payload)
