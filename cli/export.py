"""``migravity export`` and ``migravity plot``: GIS layers and figures from a run directory.

``migravity export RUN_DIR --format gpkg|parquet|geojson|flowmap --out PATH`` writes the layers
``zones`` (polygons with the zone values of one scenario, see :mod:`migravity.scenarios.rundir`),
``centroids`` (the same as points) and ``flows`` (the ``--top-k`` largest origin-destination
lines, ranked by the scenario's flows, with baseline and difference columns), or the
flowmap.blue CSV pair (see :mod:`migravity.outputs.export`). With ``--scenario all``, ``--out``
is a directory and every scenario gets its own output in it: ``NAME.gpkg``, or a directory
``NAME/`` for the other formats.

``migravity plot RUN_DIR --kind choropleth|flows|regions|fit --out FILE`` draws one figure
(PNG, SVG or PDF by suffix; see :mod:`migravity.outputs.plots`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from migravity.cli.console import AppState

__all__ = ["export_cmd", "plot_cmd", "register"]


def _state(ctx: typer.Context) -> AppState:
    return ctx.obj if isinstance(ctx.obj, AppState) else AppState()


RunDirArg = Annotated[Path, typer.Argument(help="Run directory written by `migravity run NAME... --out DIR`.")]
ScenarioOpt = Annotated[
    str | None, typer.Option("--scenario", help="Scenario of the run (default: the first that is not 'baseline').")
]
ExportScenarioOpt = Annotated[
    str | None,
    typer.Option("--scenario", help="Scenario of the run (default: the first that is not 'baseline'), or 'all': "
                                    "one output per scenario in the --out directory."),
]


def export_cmd(
    ctx: typer.Context,
    run_dir: RunDirArg,
    format: Annotated[str, typer.Option("--format", help="Output format: gpkg, parquet, geojson or flowmap.")],
    out: Annotated[Path, typer.Option("--out", help="GeoPackage file, or directory for parquet/geojson/flowmap.")],
    scenario: ExportScenarioOpt = None,
    top_k: Annotated[
        int, typer.Option("--top-k", help="Keep the largest K flows (0: every pair above --threshold).")
    ] = 1000,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Keep flows at least this large (scenario flows).")
    ] = None,
    geodesic: Annotated[bool, typer.Option("--geodesic", help="Great-circle flow lines (EPSG:4326).")] = False,
) -> None:
    """Export a run's zones, zone centroids and largest flows for GIS tools or flowmap.blue."""
    from migravity.errors import ConfigError, check_choice
    from migravity.outputs.export import FORMATS, export
    from migravity.scenarios.rundir import open_run

    state = _state(ctx)
    check_choice("--format", format, FORMATS)
    if top_k < 0:
        raise ConfigError("--top-k", top_k, "give 0 (no limit) or a positive number of flows")
    run = open_run(run_dir)
    names = run.scenarios if scenario == "all" else [run.scenario(scenario)]
    if scenario == "all" and out.is_file():
        raise ConfigError("--out", str(out), "with --scenario all give a directory: each scenario gets its own output")
    with state.progress("exporting", total=len(names) + 1) as bar:
        zones = run.zones(state.data_dir)
        bar.advance(1)
        for name in names:
            target = out if scenario != "all" else out / (f"{name}.gpkg" if format == "gpkg" else name)
            files = export(target, format=format, zones=zones, values=run.zone_values(name),
                           flows=run.flow_matrices(name) or None, top_k=top_k or None, threshold=threshold,
                           geodesic=geodesic)
            bar.advance(1)
            state.info(f"scenario {name}: wrote " + ", ".join(str(f) for f in files))


def plot_cmd(
    ctx: typer.Context,
    run_dir: RunDirArg,
    kind: Annotated[str, typer.Option("--kind", help="What to draw: choropleth, flows, regions or fit.")],
    out: Annotated[Path, typer.Option("--out", help="Image file: .png, .svg or .pdf.")],
    scenario: ScenarioOpt = None,
    variable: Annotated[
        str | None,
        typer.Option("--variable", help="choropleth: zone value (default hs_change_q50); flows: flow matrix "
                     "(default the scenario's); regions: summary metric (default hs_stock)."),
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="Flows drawn by --kind flows.")] = 200,
) -> None:
    """Draw a map or chart of a run: choropleth, flow map, results by region, or model fit."""
    from migravity.errors import check_choice
    from migravity.outputs.plots import PLOT_KINDS, check_image_path, plot
    from migravity.scenarios.rundir import open_run

    state = _state(ctx)
    check_choice("--kind", kind, PLOT_KINDS)
    run = open_run(run_dir)
    check_image_path(out)  # before the work: a bad suffix or an unwritable place fails at once
    with state.progress(f"drawing {kind}"):
        path = plot(run, kind, out, scenario=scenario, variable=variable, top_k=top_k,
                    data_dir=state.data_dir)
    state.info(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Attach ``export`` and ``plot`` to the root app."""
    app.command("export")(export_cmd)
    app.command("plot")(plot_cmd)
