"""``migravity ladder`` and ``migravity report`` (the main job) on the real data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from migravity.cli.console import AppState
from migravity.utils.jsonio import write_json


def _data_sources() -> dict[str, str]:
    from migravity.geodata.datadir import data_sources_used

    return data_sources_used()


def _ladder(state: AppState, json_out: str | None, period: str = "pooled", typology: str = "imd") -> dict[str, Any]:
    from migravity.analysis.ladder import LadderOptions, describe, fit_ladder, out_of_sample
    from migravity.analysis.ladder_data import ladder_table
    from migravity.utils.preflight import check_output_file

    check_output_file(json_out, "--json")  # before any work
    opts = LadderOptions(period=period, typology=typology)  # type: ignore[arg-type]
    # with --json - stdout carries the JSON alone: state.out is then stderr (nowhere when --quiet)
    if json_out == "-":
        state.json_on_stdout()
    show = state.text

    t0 = time.perf_counter()
    with state.progress(f"fitting the model ladder M1-M4 ({period}, {typology})"):
        table = ladder_table(opts.period, opts.typology, state.data_dir)
        ladder = fit_ladder(state.data_dir, table, options=opts)
    t1 = time.perf_counter()
    show(f"\nModel ladder ({ladder.n_pairs:,} LA pairs): {describe(opts)}\n")
    show("Sending-area coefficients, laid out as the paper's Table 1:")
    show(ladder.paper_layout())
    show("\nSide by side with the published Table 1:")
    show(ladder.comparison_text())
    show("\nAll terms:")
    show(ladder.table())
    if ladder.receiving is not None:
        show("\nReceiving areas:")
        show(ladder.receiving.text())
    with state.progress("out of sample: calibrate on Census 2011, predict Census 2021"):
        oos = out_of_sample(state.data_dir, table=table if opts.period == "pooled" else None)
    t2 = time.perf_counter()
    rows: list[tuple[Any, ...]] = [(i, r.cpc, r.srmse) for i, r in oos.scores.iterrows()]
    state.table("Out of sample: doubly-constrained gravity (log distance + border), E&W, 2023 codes",
                ["model", "CPC", "SRMSE"], rows)
    show("2011 coefficients: " + ", ".join(f"{k} {v:.4f}" for k, v in oos.coefficients_2011.items())
         + "; 2021: " + ", ".join(f"{k} {v:.4f}" for k, v in oos.coefficients_2021.items()))
    payload = {
        **ladder.to_dict(),
        "out_of_sample": {"scores": oos.scores.to_dict(orient="index"),
                          "coefficients_2011": oos.coefficients_2011,
                          "coefficients_2021": oos.coefficients_2021},
        "seconds": {"ladder": t1 - t0, "out_of_sample": t2 - t1},
        "data_sources": _data_sources(),
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
        period: Annotated[str, typer.Option(
            "--period", help="Census flows: 2011, 2021, or pooled (both, with a period effect).")] = "pooled",
        typology: Annotated[str, typer.Option(
            "--typology", help="Sending-area type: imd (deprivation quintile) or cluster (ONS LA clusters).")] = "imd",
    ) -> None:
        """The research's model ladder (M1-M4, a rate model) beside its published table, the receiving-area
        model and the 2011 -> 2021 out-of-sample test, on the real data."""
        _ladder(ctx.obj, json_out, period, typology)

    @app.command("report")
    def report_cmd(
        ctx: typer.Context,
        json_out: Annotated[str | None, typer.Option("--json", help="Write results as JSON (- = stdout).")] = None,
        html_out: Annotated[Path | None, typer.Option(
            "--html", help="Also write a self-contained report page (one HTML file, works offline) here.")] = None,
    ) -> None:
        """The main job: data status, stylised facts, model ladder and out-of-sample test on the real data."""
        from migravity.cli.data import facts_cmd, status_cmd
        from migravity.utils.preflight import check_output_file

        state: AppState = ctx.obj
        check_output_file(json_out, "--json")  # before the data status, facts and ladder
        if html_out is not None:
            _check_html(html_out)
        status_cmd(ctx, json_out=None)
        facts = facts_cmd(ctx, json_out=None)
        payload = _ladder(state, None)
        if json_out:
            write_json(json_out, payload)
        if html_out is not None:
            from migravity.outputs.report_main import write_main_report_page
            from migravity.utils.version import __version__

            mat, wfh = facts if isinstance(facts, tuple) else (None, None)
            with state.progress("writing the report page"):
                page = write_main_report_page(html_out, payload, mat, wfh,
                                              title_note=f"migravity {__version__} · Census 2011 and 2021, "
                                                         "LADs on 2023 codes")
            state.info(f"wrote {page} ({page.stat().st_size / 1e6:.1f} MB; open it in a browser, it works offline)")


def _check_html(path: Path) -> None:
    """``--html`` names an HTML file whose folder exists (checked before any work)."""
    from migravity.errors import ConfigError
    from migravity.outputs._paths import refuse_file_parent

    if path.is_dir() or path.suffix.lower() not in (".html", ".htm"):
        raise ConfigError("--html", str(path), "give an HTML file name ending in .html")
    refuse_file_parent(path)
