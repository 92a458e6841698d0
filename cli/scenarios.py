"""``migravity run``: run named or file scenarios on the real data and write a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from migravity.cli.console import AppState

if TYPE_CHECKING:
    import pandas as pd


def _fmt_ci(mean: float, lo: float, hi: float, pct: bool = False) -> str:
    if pct:
        return f"{100 * mean:.2f}% [{100 * lo:.2f}, {100 * hi:.2f}]"
    return f"{mean:,.4g} [{lo:,.4g}, {hi:,.4g}]"


def run_cmd(
    ctx: typer.Context,
    scenarios: Annotated[list[str], typer.Argument(help="Library scenario names or TOML files.")],
    out: Annotated[Path, typer.Option("--out", help="Run directory to write.")] = Path("run"),
    draws: Annotated[int | None, typer.Option("--draws", help="Monte Carlo draws (default: file, else 200).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the draws (default: file, else 2021).")] = None,
    years: Annotated[int | None, typer.Option("--years", help="Annual steps (default: file, else 10).")] = None,
    vintage: Annotated[str, typer.Option("--vintage", help="Zone vintage: 2023 or 2021.")] = "2023",
    area: Annotated[str, typer.Option("--area", help="Study area: EW, England or Wales.")] = "EW",
    json_out: Annotated[
        str | None, typer.Option("--json", help="Also write the headline figures as JSON here ('-' = stdout only).")
    ] = None,
) -> None:
    """Run scenarios (`baseline wfh_uptake`); write results.nc, summary.csv/.parquet, manifest.json, report.html."""
    from migravity.geodata import load_zones
    from migravity.outputs.report_page import write_report_page
    from migravity.scenarios.run import run_scenarios
    from migravity.scenarios.rundir import WRITTEN_FILES, write_run
    from migravity.scenarios.simulate import prepare_inputs
    from migravity.scenarios.spec import load_scenario

    state: AppState = ctx.obj if isinstance(ctx.obj, AppState) else AppState()
    specs = [load_scenario(s) for s in scenarios]
    zones = load_zones(vintage, area, state.data_dir)
    with state.progress("calibrating on Census 2021 flows"):
        inputs = prepare_inputs(zones, data_dir=state.data_dir)
    run = run_scenarios(inputs, specs, years=years, draws=draws, seed=seed, reporter=state)
    write_run(run, out)
    with state.progress("writing the report page"):
        page = write_report_page(out, zones=zones)
    table = run.summary()
    heads = headline(table)
    if json_out:
        from migravity.utils.jsonio import write_json

        write_json(json_out, {"run_dir": str(out), "settings": dict(run.settings), "scenarios": heads})
        if json_out == "-":
            return
    rows = []
    for h in heads:
        g, th, gi = h["gse_hs_share"], h["theil_lad"], h["gini_lad"]
        rows.append([h["scenario"], _fmt_ci(g["scenario_mean"], g["scenario_q05"], g["scenario_q95"], True),
                     _fmt_ci(g["change_mean"], g["change_q05"], g["change_q95"], True),
                     _fmt_ci(th["change_mean"], th["change_q05"], th["change_q95"]),
                     _fmt_ci(gi["change_mean"], gi["change_q05"], gi["change_q95"]), th["verdict"],
                     f"{h['top_gain']['name']} {h['top_gain']['change_mean']:+,.0f}",
                     f"{h['top_loss']['name']} {h['top_loss']['change_mean']:+,.0f}"])
    s = run.settings
    state.table(f"High-skilled workers after {s['years']} years ({s['draws']} draws, seed {s['seed']}; "
                "mean [5%, 95%], change vs baseline)",
                ["scenario", "GSE share", "change", "Theil change", "Gini change", "inequality (Theil)", "top gain",
                 "top loss"], rows)
    nat = table[table.level == "national"]
    g = nat[nat.metric == "gse_hs_share"].iloc[0]
    base = run.runs[0][1].stocks.sum(axis=2)  # baseline, all workers: (draws, years + 1, lad)
    all_share = base[..., run.inputs.gse].sum(-1) / base.sum(-1)
    state.info(f"baseline: GSE share of high-skilled workers {100 * g.initial:.2f}% at year 0, "
               f"{_fmt_ci(g.baseline_mean, g.baseline_q05, g.baseline_q95, True)} at year {s['years']}; "
               f"of all workers {100 * all_share[0, 0]:.2f}% and {100 * all_share[:, -1].mean():.2f}%. "
               "The baseline continues the observed Census 2021 inter-LAD migration (year to March 2021, the "
               "first COVID year, with a strong net outflow from London) and assumes it skill-neutral (the Census "
               "has no skill breakdown of flows): every skill group's movers from an origin choose destinations as "
               "all its 2021 movers did. Its drift is that year carried forward, not a forecast; the high-skilled, "
               "more concentrated in the GSE, lose more share points. Compare scenarios with it, not with year 0.")
    ll = nat[nat.metric == "london_leavers_gse_share"]
    if len(ll):
        r = ll.iloc[0]
        state.info(f"baseline: of London's high-skilled leavers in year {s['years']}, "
                   f"{_fmt_ci(r.baseline_mean, r.baseline_q05, r.baseline_q95, True)} stay in the Greater South East.")
    state.info(f"wrote {out}/" + ", ".join((*WRITTEN_FILES, page.name)) + f" (open {page} in a browser)")


_HEADLINE_METRICS = ("gse_hs_share", "theil_lad", "gini_lad", "london_leavers_gse_share")
_HEADLINE_FIELDS = ("initial", "baseline_mean", "baseline_q05", "baseline_q95", "scenario_mean", "scenario_q05",
                    "scenario_q95", "change_mean", "change_q05", "change_q95", "spec_low", "spec_high", "verdict")


def headline(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Per scenario: national GSE share, Theil, Gini and London-leavers figures, the LADs gaining and losing most.

    ``spec_low``/``spec_high``: the range over the specifications (of the change for the GSE share
    and Theil, of the scenario's value for the London-leavers GSE share; NaN for Gini).

    Parameters
    ----------
    table : pandas.DataFrame
        The run's summary table (:func:`migravity.scenarios.run.summary_table`).

    Returns
    -------
    list of dict
        One entry per scenario, JSON-ready (the ``run --json`` payload's ``scenarios``).
    """
    out = []
    for sc in table.scenario.unique():
        t = table[table.scenario == sc]
        nat = t[t.level == "national"].set_index("metric")
        lad = t[t.level == "lad"].sort_values("change_mean")
        entry: dict[str, Any] = {"scenario": str(sc)}
        for metric in _HEADLINE_METRICS:
            if metric not in nat.index:
                continue
            entry[metric] = {f: (nat.loc[metric, f] if f == "verdict" else float(nat.loc[metric, f]))
                             for f in _HEADLINE_FIELDS if f in nat.columns}
        for key, row in (("top_gain", lad.iloc[-1]), ("top_loss", lad.iloc[0])):
            entry[key] = {"code": str(row["code"]), "name": str(row["name"]), "change_mean": float(row.change_mean),
                          "change_q05": float(row.change_q05), "change_q95": float(row.change_q95)}
        out.append(entry)
    return out


def register(app: typer.Typer) -> None:
    """Attach ``run`` to the root app."""
    app.command("run")(run_cmd)
