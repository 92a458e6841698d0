"""``migravity validate``: the backtest scorecard of the scenario model against naive benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from migravity.cli.console import AppState


def validate_cmd(
    ctx: typer.Context,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="Data directory (default: the global --data-dir, $MIGRAVITY_DATA or the cache).")] = None,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the scorecard as JSON (- = stdout).")] = None,
    chart: Annotated[Path | None, typer.Option(
        "--chart", help="Write the scorecard chart (.png, .svg or .pdf).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random held-out pairs.")] = 2021,
) -> None:
    """Backtest the scenario model: hindcast 2011 -> 2021, net internal migration 2012-2020, held-out
    origin-destination flows and the identification checks, each beside a naive benchmark."""
    from migravity.geodata import load_zones
    from migravity.scenarios.validate import validate
    from migravity.utils.jsonio import write_json

    state: AppState = ctx.obj
    where = data_dir if data_dir is not None else state.data_dir
    if chart is not None:
        from migravity.errors import ConfigError
        from migravity.outputs.plots import IMAGE_FORMATS, check_image_path

        try:
            check_image_path(chart)  # refuse a bad path before a minute of work
        except ConfigError:
            raise ConfigError("--chart", str(chart), "give a file name ending in " + ", ".join(IMAGE_FORMATS)) from None
    zones = load_zones("2023", "EW", where)
    card = validate(zones, where, seed=seed, reporter=state)
    if json_out:
        write_json(json_out, card.to_dict())
    if chart is not None:
        from migravity.outputs.plots import save_figure
        from migravity.outputs.plots_validate import scorecard_figure

        save_figure(scorecard_figure(card), chart)
    state.report(card.summary(), json_out)


def register(app: typer.Typer) -> None:
    """Attach ``validate`` to the root app."""
    app.command("validate")(validate_cmd)
