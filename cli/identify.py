"""``migravity calibrate-scenario``: identify the scenario model's WFH and housing-cost effects from change."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from migravity.cli.console import AppState


def calibrate_scenario_cmd(
    ctx: typer.Context,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="Data directory (default: the global --data-dir, $MIGRAVITY_DATA or the cache).")] = None,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the report as JSON (- = stdout).")] = None,
) -> None:
    """Change-based (Census 2011 -> 2021) estimates of the scenario parameters with two-way clustered SEs,
    the cross-section placebo, the price-sorting control, the leave-one-region-out range and the decisions."""
    from migravity.analysis.identification import identify
    from migravity.geodata import load_zones
    from migravity.utils.jsonio import write_json
    from migravity.utils.preflight import check_output_file

    state: AppState = ctx.obj
    check_output_file(json_out, "--json")  # before any work
    where = data_dir if data_dir is not None else state.data_dir
    zones = load_zones("2023", "EW", where)
    report = identify(zones, where, reporter=state)
    if json_out:
        write_json(json_out, report.to_dict())
    state.report(report.summary(), json_out)


def register(app: typer.Typer) -> None:
    """Attach ``calibrate-scenario`` to the root app."""
    app.command("calibrate-scenario")(calibrate_scenario_cmd)
