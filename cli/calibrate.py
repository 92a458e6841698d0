"""``migravity calibrate``: fit a spatial-interaction model by PPML and print the regression table.

``--level msoa`` (no ``--table``) fits the default model, log distance + shared border, on the real
Census 2021 migration flows between the 7,264 MSOAs of England and Wales (52.8 million pairs off the
diagonal, zeros included) with the dense engine (:func:`migravity.engine.calibrate_arrays`).

``--export PATH`` also writes the fit as GIS layers (zones with observed and fitted in/outflows, the
``--export-top-k`` largest observed flows with fitted values and Pearson residuals, net flows;
:mod:`migravity.outputs.export_calibration`) as a GeoPackage (``--export-format gpkg``, default),
GeoParquet or GeoJSON.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from migravity.cli.console import AppState

if TYPE_CHECKING:
    import pandas as pd


_LOG = re.compile(r"log\((.+)\)")


def _column(term: str) -> str:
    """The table column a term reads: ``COL`` or ``log(COL)``."""
    m = _LOG.fullmatch(term.strip())
    return m.group(1).strip() if m else term.strip()


def _read_table(path: Path, origin: str, destination: str, flow: str, cost: str | None,
                terms: list[str]) -> pd.DataFrame:
    """Read ``--table`` strictly: parse failures, missing columns, text in a numeric column, empty
    labels and an origin-destination pair given twice are errors naming the file and line."""
    from migravity.utils.tables import read_user_table

    numeric = [flow, *([cost] if cost else []), *(_column(t) for t in terms)]
    return read_user_table(path, "--table", columns=[origin, destination, *numeric], numeric=numeric,
                           codes=[origin, destination], key=[origin, destination])


def check_grid_memory(n_origins: int, n_destinations: int, n_arrays: int) -> None:
    """Refuse a table whose dense origin x destination grids cannot fit in memory.

    The engine holds the flows, the mask, each regressor and the fitted values on the full
    ``n_origins x n_destinations`` grid (float64): ``n_arrays`` grids are counted.
    """
    from migravity.utils.preflight import check_memory, gib

    one = 8.0 * n_origins * n_destinations
    check_memory(one * n_arrays, f"{n_arrays} dense {n_origins:,} x {n_destinations:,} grids ({gib(one)} each)",
                 "--table", f"{n_origins:,} origins x {n_destinations:,} destinations",
                 "aggregate the zones, or fit a subset of origins and destinations")


def calibrate_cmd(
    ctx: typer.Context,
    table: Annotated[Path | None, typer.Option("--table", help="CSV/Parquet OD table (default: Census LADs).")] = None,
    level: Annotated[
        str, typer.Option("--level", help="Zones of the default table: lad (331 LADs) or msoa (7,264 MSOAs).")
    ] = "lad",
    origin: Annotated[str, typer.Option("--origin", help="Origin label column.")] = "origin",
    destination: Annotated[str, typer.Option("--destination", help="Destination label column.")] = "destination",
    flow: Annotated[str, typer.Option("--flow", help="Flow column.")] = "flow",
    cost: Annotated[str | None, typer.Option("--cost", help="Cost column (e.g. distance_km).")] = None,
    deterrence: Annotated[str, typer.Option("--deterrence", help="power|exponential|tanner")] = "power",
    constraint: Annotated[
        str, typer.Option("--constraint", help="none|production|attraction|doubly")
    ] = "doubly",
    term: Annotated[list[str] | None, typer.Option("--term", help="Term: COL or log(COL); repeatable.")] = None,
    se: Annotated[str, typer.Option("--se", help="robust | hc1 | cluster")] = "robust",
    json_out: Annotated[str | None, typer.Option("--json", help="Also write JSON here ('-' = stdout).")] = None,
    export: Annotated[
        Path | None,
        typer.Option("--export", help="Also write GIS layers of observed, fitted flows and Pearson residuals "
                                      "here (labels must be LAD codes): a .gpkg file, or a directory."),
    ] = None,
    export_format: Annotated[
        str, typer.Option("--export-format", help="gpkg, parquet or geojson (default: gpkg).")
    ] = "gpkg",
    export_top_k: Annotated[
        int, typer.Option("--export-top-k", help="Flows exported: the K largest observed (0: all).")
    ] = 1000,
) -> None:
    """Fit a spatial-interaction model by Poisson PPML and print the regression table."""
    from migravity.engine import calibrate
    from migravity.engine.options import check_deterrence, check_se, normalise_constraint
    from migravity.errors import ConfigError, check_choice
    from migravity.utils.jsonio import write_json
    from migravity.utils.preflight import check_output_file

    state: AppState = ctx.obj
    check_choice("--level", level, ("lad", "msoa"))
    if level == "msoa" and table is not None:
        raise ConfigError("--level", level, "--level chooses the zones of the default table: drop --table, "
                                            "or drop --level to fit your own table")
    if level == "msoa" and export is not None:
        raise ConfigError("--export", str(export), "exporting an MSOA fit is not supported yet: drop --export")
    normalise_constraint(constraint)
    check_deterrence(deterrence)
    check_se(se)
    check_output_file(json_out, "--json")  # before any work: not a directory, not under a file
    if export is not None:
        _check_export(export, export_format, export_top_k)
    if level == "msoa":
        result = _calibrate_msoa(state, cost=cost, deterrence=deterrence, constraint=constraint, terms=term,
                                 se=se)
    elif table is None:
        from migravity.geodata.odtable import od_table

        df = od_table(data_dir=state.data_dir)
        cost = cost or "distance_km"
        terms = term or ["border"]
    else:
        terms = term or []
        df = _read_table(table, origin, destination, flow, cost, terms)
        check_grid_memory(int(df[origin].nunique()), int(df[destination].nunique()), 4 + len(terms) + bool(cost))
    if level != "msoa":
        with state.progress("calibrating"):
            result = calibrate(df, origin=origin, destination=destination, flow=flow, cost=cost,
                               deterrence=deterrence, constraint=constraint,  # type: ignore[arg-type]
                               terms=terms, se=se)  # type: ignore[arg-type]
    if export is not None:
        files = export_fit(result, export, export_format, export_top_k, state.data_dir)
        state.info("wrote " + ", ".join(str(f) for f in files))
    if json_out:
        write_json(json_out, json_payload(result))
        if json_out == "-":
            return
    state.out.print(result.summary(), markup=False, highlight=False)


def _calibrate_msoa(state: AppState, *, cost: str | None, deterrence: str, constraint: str,
                    terms: list[str] | None, se: str) -> Any:
    """The default model on the 7,264 MSOAs: dense grids, the diagonal left out (as at LAD)."""
    import numpy as np

    from migravity.engine import calibrate_arrays
    from migravity.errors import ConfigError
    from migravity.geodata.odtable import od_grids
    from migravity.geodata.zones import load_zones

    if cost not in (None, "distance_km"):
        raise ConfigError("--cost", cost, "the MSOA grid has distance_km only: drop --cost")
    if terms not in (None, [], ["border"]):
        raise ConfigError("--term", terms, "the MSOA grid has the term border only: drop --term")
    with state.progress("loading MSOA zones and flows"):
        zones = load_zones("2021", "EW", state.data_dir, level="msoa")
        check_grid_memory(len(zones), len(zones), 8)
        flows, distance, border, _ = od_grids(zones, data_dir=state.data_dir)
    mask = ~np.eye(len(zones), dtype=bool)
    with state.progress("calibrating"):
        return calibrate_arrays(flows, cost=distance, pair_terms={"border": border}, mask=mask,
                                deterrence=deterrence, constraint=constraint,  # type: ignore[arg-type]
                                se=se, origin_labels=list(zones.codes),  # type: ignore[arg-type]
                                destination_labels=list(zones.codes))


def _check_export(path: Path, format: str, top_k: int) -> None:
    from migravity.errors import ConfigError, check_choice
    from migravity.outputs._paths import refuse_file_parent
    from migravity.outputs.export import LAYER_FORMATS

    check_choice("--export-format", format, LAYER_FORMATS)
    if top_k < 0:
        raise ConfigError("--export-top-k", top_k, "give 0 (no limit) or a positive number of flows")
    refuse_file_parent(path)


def export_fit(result: Any, path: Path, format: str, top_k: int, data_dir: Path | None) -> list[Path]:
    """``calibrate --export``: the fit's GIS layers on the LAD zones its labels belong to.

    The zones are England and Wales on 2021 codes (the default table's) or, failing that, on 2023
    codes; labels of neither are refused (:func:`migravity.outputs.export_calibration.export_calibration`).
    """
    from migravity.geodata.zones import load_zones
    from migravity.outputs.export_calibration import export_calibration

    labels = {str(c) for c in (*result.origin_labels, *result.destination_labels)}
    zones = load_zones("2021", "EW", data_dir)
    if not labels <= set(zones.codes):
        newer = load_zones("2023", "EW", data_dir)
        zones = newer if labels <= set(newer.codes) else zones
    return export_calibration(path, result, zones, format=format, top_k=top_k or None)


def json_payload(result: Any) -> dict[str, Any]:
    """``calibrate --json``: the result's :meth:`~migravity.engine.result.CalibrationResult.to_dict` with
    the data files used although they differ from the registry (``changed_data``, ``{}`` when none)."""
    from migravity.geodata.datadir import changed_data_used

    return {**result.to_dict(), "changed_data": changed_data_used()}


def register(app: typer.Typer) -> None:
    """Attach ``calibrate`` to the root app."""
    app.command("calibrate")(calibrate_cmd)
