"""``migravity export`` and ``migravity plot``: GIS layers and figures from a run directory.

``migravity export RUN_DIR --format gpkg|parquet|geojson|flowmap --out PATH`` writes the layers
``zones`` (polygons with the zone values of one scenario, see :mod:`migravity.scenarios.rundir`),
``centroids`` (the same as points) and ``flows`` (the ``--top-k`` largest origin-destination
lines, ranked by the scenario's flows, with baseline and difference columns), ``net_flows`` (one
line per pair in the direction of the net flow, the ``--top-k`` largest net flows) or the
flowmap.blue CSV pair (see :mod:`migravity.outputs.export`). With ``--all-scenarios``, ``--out``
is a directory and every scenario gets its own output in it: ``NAME.gpkg``, or a directory
``NAME/`` for the other formats. ``--scenario all`` is the same, unless the run holds a scenario
named ``all``: then it is that scenario (scenario names are free; the meaning of ``all`` is the
command line's business). ``--region NAME`` (repeatable; a region name or code, case-insensitive,
:func:`migravity.geodata.zones.resolve_region`) keeps the zones of those regions and the flows
between them. A GeoPackage opens styled in QGIS (its ``layer_styles`` table) and every layer's
columns are described (see :mod:`migravity.outputs.export`).

``migravity plot RUN_DIR --kind choropleth|flows|regions|fit --out FILE [--per capita|percent|count]``
draws one figure (PNG, SVG or PDF by suffix; see :mod:`migravity.outputs.plots`).

Both read the zones stored in the run directory (:func:`migravity.scenarios.rundir.load_run_zones`):
no data directory is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from migravity.cli.console import AppState

if TYPE_CHECKING:
    from migravity.outputs.export import ExportFormat

__all__ = ["export_cmd", "plot_cmd", "register"]


def _state(ctx: typer.Context) -> AppState:
    return ctx.obj if isinstance(ctx.obj, AppState) else AppState()


RunDirArg = Annotated[Path, typer.Argument(help="Run directory written by `migravity run NAME... --out DIR`.")]
ScenarioOpt = Annotated[
    str | None, typer.Option("--scenario", help="Scenario of the run (default: the first that is not 'baseline').")
]
ExportScenarioOpt = Annotated[
    str | None,
    typer.Option("--scenario", help="Scenario of the run (default: the first that is not 'baseline'); 'all' is "
                                    "--all-scenarios unless the run holds a scenario named 'all'."),
]
AllScenariosOpt = Annotated[
    bool, typer.Option("--all-scenarios", help="One output per scenario of the run, in the --out directory.")
]
#: ``--scenario`` value that means every scenario (when no scenario of the run has this name).
ALL = "all"


def export_targets(scenarios: list[str], out: Path, format: str, scenario: str | None,
                   all_scenarios: bool) -> list[tuple[str | None, Path]]:
    """What ``export`` writes: ``(scenario, target)`` pairs (``None``: the run's default scenario).

    Parameters
    ----------
    scenarios : list of str
        The run's scenarios.
    out : pathlib.Path
        ``--out``.
    format : str
        ``--format`` (``gpkg`` writes one file per scenario, the others a directory).
    scenario : str or None
        ``--scenario``.
    all_scenarios : bool
        ``--all-scenarios``.

    Returns
    -------
    list of (str or None, pathlib.Path)

    Raises
    ------
    ConfigError
        ``--scenario`` and ``--all-scenarios`` together, or every scenario asked for with ``--out``
        an existing file.
    """
    from migravity.errors import ConfigError

    if all_scenarios and scenario is not None:
        raise ConfigError("--scenario", scenario, "give --scenario NAME or --all-scenarios, not both")
    every = all_scenarios or (scenario == ALL and ALL not in scenarios)
    if not every:
        return [(scenario, out)]
    if out.is_file():
        raise ConfigError("--out", str(out), "with --all-scenarios give a directory: each scenario gets its own output")
    return [(name, out / (f"{name}.gpkg" if format == "gpkg" else name)) for name in scenarios]


def refuse_run_files(run_dir: Path, targets: list[Path]) -> None:
    """Refuse an output that is the run directory itself or one of its files (``export --out RUN/summary.csv``).

    Writing there would overwrite what the run's manifest vouches for, or mix exports into it.

    Raises
    ------
    ConfigError
        Naming ``--out`` and the run file it would overwrite.
    """
    from migravity.errors import ConfigError
    from migravity.scenarios.rundir import WRITTEN_FILES

    run = run_dir.resolve()
    own = {run / name for name in WRITTEN_FILES}
    for target in targets:
        t = target.resolve()
        if t == run or t in own:
            raise ConfigError("--out", str(target), f"it is {'the run directory' if t == run else 'a file of the run'} "
                                                    f"{run_dir}: write the export elsewhere")


def export_cmd(
    ctx: typer.Context,
    run_dir: RunDirArg,
    format: Annotated[str, typer.Option("--format", help="Output format: gpkg, parquet, geojson or flowmap.")],
    out: Annotated[Path, typer.Option("--out", help="GeoPackage file, or directory for parquet/geojson/flowmap.")],
    scenario: ExportScenarioOpt = None,
    all_scenarios: AllScenariosOpt = False,
    top_k: Annotated[
        int, typer.Option("--top-k", help="Keep the largest K flows (0: every pair above --threshold).")
    ] = 1000,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Keep flows at least this large (scenario flows).")
    ] = None,
    geodesic: Annotated[bool, typer.Option("--geodesic", help="Great-circle flow lines (EPSG:4326).")] = False,
    region: Annotated[
        list[str] | None,
        typer.Option("--region", help="Only the zones of this region (name or code, e.g. London, 'South East', "
                                      "E12000007), and flows within them; repeatable."),
    ] = None,
    aggregate_to: Annotated[
        str | None, typer.Option("--aggregate", help="MSOA runs: 'lad' sums the zones and flows to their parent "
                                                     "LADs (2021 codes).")
    ] = None,
) -> None:
    """Export a run's zones, zone centroids, largest flows and net flows for GIS tools or flowmap.blue."""
    from migravity.errors import ConfigError, check_choice
    from migravity.geodata.zones import resolve_region, zones_in_regions
    from migravity.outputs._paths import refuse_file_parent
    from migravity.outputs.export import FORMATS, export
    from migravity.scenarios.rundir import open_run

    state = _state(ctx)
    check_choice("--format", format, FORMATS)
    fmt = cast("ExportFormat", format)
    if top_k < 0:
        raise ConfigError("--top-k", top_k, "give 0 (no limit) or a positive number of flows")
    for r in region or ():
        resolve_region(r, "--region")  # an unknown region fails before any work
    refuse_file_parent(out)  # under a file: fails now (ExportError, exit 1), not after loading the run
    refuse_run_files(run_dir, [out])
    if aggregate_to is not None:
        check_choice("--aggregate", aggregate_to, ("lad",))
    run = open_run(run_dir)
    if aggregate_to is not None and run.level != "msoa":
        raise ConfigError("--aggregate", aggregate_to, "use --aggregate with an MSOA run (run --level msoa)")
    targets = [(run.scenario(name), target)
               for name, target in export_targets(run.scenarios, out, format, scenario, all_scenarios)]
    refuse_run_files(run_dir, [t for _, t in targets])
    with state.progress("exporting", total=len(targets) + 1) as bar:
        zones = run.zones(state.data_dir)
        if aggregate_to == "lad":
            from migravity.scenarios import msoa

            parents = tuple(zones.parents)
            zones = msoa.lad_zones_of(zones)
        if region:
            zones = zones_in_regions(zones, region)
        bar.advance(1)
        for name, target in targets:
            if aggregate_to == "lad":
                values = msoa.lad_zone_values(run, name)
                flows = msoa.aggregate_flow_matrices(run.flow_matrices(name), parents)
            else:
                values, flows = run.zone_values(name), run.flow_matrices(name)
            files = export(target, format=fmt, zones=zones, values=values,
                           flows=flows or None, top_k=top_k or None, threshold=threshold,
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
    per: Annotated[
        str, typer.Option("--per", help="choropleth and regions: capita (change per 1,000 workers), percent "
                          "(of the baseline) or count (regions on a symmetric-log axis).")
    ] = "capita",
) -> None:
    """Draw a map or chart of a run: choropleth, flow map, results by region, or model fit."""
    from migravity.errors import check_choice
    from migravity.outputs.plots import PER_CHOICES, PLOT_KINDS, check_image_path, plot
    from migravity.scenarios.rundir import open_run

    state = _state(ctx)
    check_choice("--kind", kind, PLOT_KINDS)
    check_choice("--per", per, PER_CHOICES)
    run = open_run(run_dir)
    check_image_path(out)  # before the work: a bad suffix or an unwritable place fails at once
    with state.progress(f"drawing {kind}"):
        path = plot(run, kind, out, scenario=scenario, variable=variable, top_k=top_k,
                    data_dir=state.data_dir, per=per)
    state.info(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Attach ``export``, ``plot`` and ``report-page`` to the root app."""
    from migravity.cli.report_page import register as register_report_page

    app.command("export")(export_cmd)
    app.command("plot")(plot_cmd)
    register_report_page(app)
