"""``migravity report-page RUN_DIR [--out FILE]``: (re)build a run's self-contained HTML report page.

``migravity run`` writes ``report.html`` into every run directory; this command rebuilds it for an
existing run (for instance one written before the page existed), or writes it elsewhere with
``--out``. The run is opened and verified against its manifest first; the page is written
atomically. See :mod:`migravity.outputs.report_page` for what the page shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from migravity.cli.console import AppState
from migravity.cli.export import RunDirArg

__all__ = ["register", "report_page_cmd"]


def report_page_cmd(
    ctx: typer.Context,
    run_dir: RunDirArg,
    out: Annotated[
        Path | None, typer.Option("--out", help="HTML file to write (default: RUN_DIR/report.html).")
    ] = None,
) -> None:
    """Build a run's interactive report page: one HTML file that works offline (map, charts, tables)."""
    from migravity.errors import ConfigError
    from migravity.outputs.report_page import write_report_page
    from migravity.scenarios.rundir import open_run

    state = ctx.obj if isinstance(ctx.obj, AppState) else AppState()
    if out is not None and (out.is_dir() or out.suffix.lower() not in (".html", ".htm")):
        raise ConfigError("--out", str(out), "give an HTML file name ending in .html")
    run = open_run(run_dir)
    with state.progress("writing the report page"):
        path = write_report_page(run, out, data_dir=state.data_dir)
    state.info(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB; open it in a browser, it works offline)")


def register(app: typer.Typer) -> None:
    """Attach ``report-page`` to the root app."""
    app.command("report-page")(report_page_cmd)
