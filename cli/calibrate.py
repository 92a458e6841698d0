"""``migravity calibrate``: fit a spatial-interaction model by PPML and print the regression table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from migravity.cli.console import AppState
from migravity.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd


def _read_table(path: Path) -> pd.DataFrame:
    import pandas as pd

    suffix = path.suffix.lower()
    if not path.is_file():
        raise ConfigError("--table", str(path), "no such file")
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise ConfigError("--table", str(path), "give a .csv or .parquet file")


def calibrate_cmd(
    ctx: typer.Context,
    table: Annotated[Path | None, typer.Option("--table", help="CSV/Parquet OD table (default: Census LADs).")] = None,
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
) -> None:
    """Fit a spatial-interaction model by Poisson PPML and print the regression table."""
    from migravity.engine import calibrate
    from migravity.engine.options import check_deterrence, check_se, normalise_constraint
    from migravity.utils.jsonio import write_json

    state: AppState = ctx.obj
    normalise_constraint(constraint)
    check_deterrence(deterrence)
    check_se(se)
    if table is None:
        from migravity.geodata.odtable import od_table

        df = od_table(data_dir=state.data_dir)
        cost = cost or "distance_km"
        terms = term or ["border"]
    else:
        df = _read_table(table)
        terms = term or []
    with state.progress("calibrating"):
        result = calibrate(df, origin=origin, destination=destination, flow=flow, cost=cost,
                           deterrence=deterrence, constraint=constraint,  # type: ignore[arg-type]
                           terms=terms, se=se)  # type: ignore[arg-type]
    if json_out:
        write_json(json_out, result.to_dict())
        if json_out == "-":
            return
    state.out.print(result.summary(), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Attach ``calibrate`` to the root app."""
    app.command("calibrate")(calibrate_cmd)
