"""``migravity run``: run named or file scenarios on the real data and write a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from migravity.cli.console import AppState

if TYPE_CHECKING:
    import pandas as pd


def _fmt_ci(mean: float, lo: float, hi: float, pct: bool = False, points: bool = False) -> str:
    """``mean [lo, hi]``; ``pct``: a share as a percentage; ``points``: a change of a share in percentage points."""
    if points:
        return f"{100 * mean:+.2f} pts [{100 * lo:+.2f}, {100 * hi:+.2f}]"
    if pct:
        return f"{100 * mean:.2f}% [{100 * lo:.2f}, {100 * hi:.2f}]"
    return f"{mean:,.4g} [{lo:,.4g}, {hi:,.4g}]"


#: Columns of ``run``'s headline table.
HEADLINE_COLUMNS = ["scenario", "GSE share", "change", "Theil change", "Gini change", "inequality (Theil)",
                    "top gain", "top loss"]
#: What the change columns of a reference scenario (the baseline, changing nothing) say.
REFERENCE = "reference"


def headline_rows(heads: list[dict[str, Any]], reference: set[str]) -> list[list[str]]:
    """Rows of ``run``'s headline table; a change of the GSE share is in percentage points ("pts").

    Parameters
    ----------
    heads : list of dict
        From :func:`headline`.
    reference : set of str
        Scenarios that change nothing (the baseline): their change columns say "reference".

    Returns
    -------
    list of list of str
    """
    rows = []
    for h in heads:
        g, th, gi = h["gse_hs_share"], h["theil_lad"], h["gini_lad"]
        share = _fmt_ci(g["scenario_mean"], g["scenario_q05"], g["scenario_q95"], True)
        if h["scenario"] in reference:
            rows.append([h["scenario"], share, *[REFERENCE] * 6])
            continue
        rows.append([h["scenario"], share,
                     _fmt_ci(g["change_mean"], g["change_q05"], g["change_q95"], points=True),
                     _fmt_ci(th["change_mean"], th["change_q05"], th["change_q95"]),
                     _fmt_ci(gi["change_mean"], gi["change_q05"], gi["change_q95"]), th["verdict"],
                     f"{h['top_gain']['name']} {h['top_gain']['change_mean']:+,.0f}",
                     f"{h['top_loss']['name']} {h['top_loss']['change_mean']:+,.0f}"])
    return rows


def run_cmd(
    ctx: typer.Context,
    scenarios: Annotated[list[str], typer.Argument(help="Library scenario names or TOML files.")],
    out: Annotated[Path, typer.Option("--out", help="Run directory to write.")] = Path("run"),
    draws: Annotated[int | None, typer.Option("--draws", help="Monte Carlo draws (default: file, else 200).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the draws (default: file, else 2021).")] = None,
    years: Annotated[int | None, typer.Option("--years", help="Annual steps (default: file, else 10).")] = None,
    vintage: Annotated[str, typer.Option("--vintage", help="Zone vintage: 2023 or 2021.")] = "2023",
    area: Annotated[str, typer.Option("--area", help="Study area: EW, England or Wales.")] = "EW",
    level: Annotated[str, typer.Option("--level", help="Zones: lad, or msoa (2021 MSOAs; implies --vintage 2021; "
                                       "results aggregable to LAD).")] = "lad",
    json_out: Annotated[
        str | None, typer.Option("--json", help="Also write the headline figures as JSON here ('-' = stdout only).")
    ] = None,
) -> None:
    """Run scenarios (`baseline wfh_uptake`); write results.nc, summary.csv/.parquet, manifest.json, report.html."""
    from migravity.geodata import load_zones
    from migravity.outputs.report_page import write_report_page
    from migravity.scenarios.run import london_net_internal, run_scenarios
    from migravity.scenarios.rundir import WRITTEN_FILES, write_run
    from migravity.scenarios.simulate import prepare_inputs
    from migravity.scenarios.spec import load_scenario, validate_inputs

    state: AppState = ctx.obj if isinstance(ctx.obj, AppState) else AppState()
    # everything that can be checked without data, before any loading or computation
    from migravity.errors import check_choice

    check_choice("--level", level, ("lad", "msoa"))
    if level == "msoa":
        vintage = "2021"  # MSOAs exist in 2021 codes only
    preflight(out, json_out, draws, seed, years, vintage, area)
    specs = [load_scenario(s) for s in scenarios]
    names = [sp.name for sp in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        from migravity.errors import ConfigError

        raise ConfigError("scenario", dup[0], "give each scenario a distinct name")
    check_run_memory(specs, draws, years, vintage, area, level)
    zones = load_zones(vintage, area, state.data_dir, level=level)
    for spec in specs:  # codes and tables of every scenario, before calibration and before any scenario runs
        validate_inputs(spec, zones.codes, zones.region_codes)
    with state.progress("calibrating on Census 2021 flows"):
        inputs = prepare_inputs(zones, data_dir=state.data_dir)
    run = run_scenarios(inputs, specs, years=years, draws=draws, seed=seed, reporter=state)
    write_run(run, out)
    with state.progress("writing the report page"):
        page = write_report_page(out, zones=zones)
    table = run.summary()
    heads = headline(table)
    london = {e["scenario"]: e for e in london_net_internal(run)}
    for h in heads:
        h["london_net_internal"] = london.get(h["scenario"])
    if json_out:
        from migravity.geodata.datadir import changed_data_used, data_sources_used
        from migravity.utils.jsonio import write_json

        write_json(json_out, {"run_dir": str(out), "settings": dict(run.settings), "scenarios": heads,
                              "changed_data": changed_data_used(), "data_sources": data_sources_used()})
        if json_out == "-":
            return
    rows = headline_rows(heads, {sp.name for sp in specs if sp.is_zero})
    s = run.settings
    state.table(f"High-skilled workers after {s['years']} years ({s['draws']} draws, seed {s['seed']}; "
                "mean [5%, 95%], change vs baseline, GSE share change in percentage points)", HEADLINE_COLUMNS, rows)
    nat = table[table.level == "national"]
    g = nat[nat.metric == "gse_hs_share"].iloc[0]
    base = run.runs[0][1].stocks.sum(axis=2)  # baseline, all workers: (draws, years + 1, lad)
    all_share = base[..., run.inputs.gse].sum(-1) / base.sum(-1)
    closed = run.inputs.open_baseline is None
    state.info(f"baseline: GSE share of high-skilled workers {100 * g.initial:.2f}% at year 0, "
               f"{_fmt_ci(g.baseline_mean, g.baseline_q05, g.baseline_q95, True)} at year {s['years']}; "
               f"of all workers {100 * all_share[0, 0]:.2f}% and {100 * all_share[:, -1].mean():.2f}%. "
               + ("The baseline is a closed population replaying its migration pattern; its drift is that "
                  "pattern carried forward, not a forecast. Compare scenarios with it, not with year 0." if closed else
                  "The baseline follows the country: LAD workers grow with the mid-year estimates and then the "
                  "ONS 2018-based projection's growth, HSL shares follow their 2011 -> 2021 trend, and internal "
                  "migration follows the pre-COVID pattern. Each scenario is that baseline plus the change in "
                  "internal migration its policy causes."))
    base_london = london.get(heads[0]["scenario"]) if heads else None
    if base_london and "baseline_persons" in base_london:
        state.info(f"baseline: London's net internal migration in year 1, {base_london['baseline_persons'][0]:+,.0f} "
                   "persons "
                   f"(pre-COVID mid-year-estimate mean {base_london['precovid_mean']:+,.0f}); "
                   f"high-skilled workers {base_london['baseline_hsl'][0]:+,.0f}.")
    ll = nat[nat.metric == "london_leavers_gse_share"]
    if len(ll):
        r = ll.iloc[0]
        state.info(f"baseline: of London's high-skilled leavers in year {s['years']}, "
                   f"{_fmt_ci(r.baseline_mean, r.baseline_q05, r.baseline_q95, True)} stay in the Greater South East.")
    state.info(f"wrote {out}/" + ", ".join((*WRITTEN_FILES, page.name)) + f" (open {page} in a browser)")


#: LADs per (vintage, area), for the memory estimate made before the zones are loaded.
ZONE_COUNTS: dict[tuple[str, str], int] = {("2023", "EW"): 318, ("2023", "England"): 296, ("2023", "Wales"): 22,
                                           ("2021", "EW"): 331, ("2021", "England"): 309, ("2021", "Wales"): 22}
#: MSOAs (2021) per area.
MSOA_COUNTS: dict[str, int] = {"EW": 7264, "England": 6856, "Wales": 408}
#: Peak memory of an MSOA run per zone pair: England and Wales (7,264 MSOAs, 52.8M pairs), 10 draws, with
#: its specifications, peaked at 14.4 GiB, about 286 bytes per pair; with a margin.
MSOA_PAIR_BYTES = 300
#: Defaults of the run settings when neither the command line nor a scenario file gives them.
DEFAULT_DRAWS, DEFAULT_YEARS = 200, 10


def preflight(out: Path, json_out: str | None, draws: int | None, seed: int | None, years: int | None,
              vintage: str, area: str) -> None:
    """Check ``run``'s options before any work: output paths, seed, draws, years, vintage and area.

    Raises
    ------
    ConfigError
        Naming the option, its value and the fix.
    """
    from migravity.errors import ConfigError, check_choice
    from migravity.scenarios.spec import MAX_DRAWS, MAX_YEARS
    from migravity.utils.preflight import check_output_dir, check_output_file, check_seed

    check_choice("--vintage", vintage, ("2023", "2021"))
    check_choice("--area", area, ("EW", "England", "Wales"))
    check_seed(seed)
    if draws is not None and not 1 <= draws <= MAX_DRAWS:
        raise ConfigError("--draws", draws, f"give an integer between 1 and {MAX_DRAWS}")
    if years is not None and not 1 <= years <= MAX_YEARS:
        raise ConfigError("--years", years, f"give an integer between 1 and {MAX_YEARS}")
    check_output_dir(out, "--out")
    check_output_file(json_out, "--json")


def check_run_memory(specs: list[Any], draws: int | None, years: int | None, vintage: str, area: str,
                     level: str = "lad") -> None:
    """Refuse a run whose simulated stocks cannot fit in memory (the number is in the message).

    Each simulation holds ``draws x (years + 1) x 16 segments x LADs`` float64 stocks; the run keeps
    one per scenario that changes something and one for the baseline. ``--draws`` and ``--years`` win over the files'.
    """
    from migravity.scenarios.segments import N_SEGMENTS
    from migravity.utils.preflight import check_memory

    n = MSOA_COUNTS.get(area, 7264) if level == "msoa" else ZONE_COUNTS.get((vintage, area), 361)
    d = draws if draws is not None else max((s.draws or DEFAULT_DRAWS for s in specs), default=DEFAULT_DRAWS)
    y = years if years is not None else max((s.years or DEFAULT_YEARS for s in specs), default=DEFAULT_YEARS)
    sims = 1 + sum(not s.is_zero for s in specs)  # one baseline (at least), one per scenario that changes something
    need = 8.0 * d * (y + 1) * N_SEGMENTS * n * sims
    check_memory(need, f"the simulated stocks ({sims} simulation(s) x {d:,} draws x {y + 1} years x {N_SEGMENTS} "
                       f"segments x {n} zones, float64)", "--draws", d,
                 "lower --draws or --years, or run fewer scenarios at once")
    if level == "msoa":
        # the zone-pair arrays: inputs, anchor terms and pivot constants (solved origin by origin), the
        # float32 pair factors of the main run and of one specification at a time, the flow chunks
        check_memory(MSOA_PAIR_BYTES * n * n, f"the zone-pair arrays of {n:,} MSOAs (about {MSOA_PAIR_BYTES} bytes "
                     "per pair)", "--area", area, "run a smaller area at MSOA level (--area Wales), or --level lad")


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
