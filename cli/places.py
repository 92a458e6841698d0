"""``migravity place NAME RUN_DIR`` and ``migravity places RUN_DIR``: a run's results for places.

``place`` profiles one place (combined authority, region or user group;
:func:`migravity.scenarios.places.place_profile`) as plain text on stdout; ``places`` tables every
place of a grouping (:func:`migravity.scenarios.places.aggregate`). ``--json FILE`` also writes
the result as JSON, ``--json -`` writes only the JSON on stdout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from migravity.cli.console import AppState
from migravity.cli.export import RunDirArg, ScenarioOpt

__all__ = ["format_profile", "place_cmd", "places_cmd", "register"]

KindOpt = Annotated[
    str | None, typer.Option("--kind", help="cauth (combined authorities, default), region or user (--groups).")
]
GroupsOpt = Annotated[
    Path | None, typer.Option("--groups", help="CSV of lad,group rows: your own places (implies --kind user).")
]


def _ci(d: dict[str, float], signed: bool = False) -> str:
    f = "{:+,.0f}" if signed else "{:,.0f}"
    return f"{f.format(d['mean'])} [{f.format(d['q05'])}, {f.format(d['q95'])}]"


def format_profile(p: dict[str, Any], top: int = 5) -> list[str]:
    """The profile as plain-text lines (what ``migravity place`` prints).

    Parameters
    ----------
    p : dict
        From :func:`migravity.scenarios.places.place_profile`.
    top : int
        Partner places listed.

    Returns
    -------
    list of str
    """
    pl, run, hs = p["place"], p["run"], p["high_skilled"]
    lines = [
        f"{pl['name']} ({pl['code']}, {pl['kind']} {pl['vintage']}): {pl['n_lads']} LADs: "
        + ", ".join(m["name"] for m in p["members"]),
        f"membership: {pl['source']}",
        f"run {run['path']}: scenario {run['scenario']} vs its paired baseline, {run['years']} years, "
        f"{run['draws']} draws; mean [5%, 95%] over the draws of the place's total",
        "",
        "High-skilled workers",
        f"  year 0                      {hs['initial']:,.0f}",
        f"  baseline, year {run['years']:<12} {_ci(hs['baseline_final'])}",
        f"  scenario, year {run['years']:<12} {_ci(hs['scenario_final'])}",
        f"  change vs baseline          {_ci(hs['change'], True)} ({hs['pct_change_mean']:+.2f}%)",
        "  by LAD (change vs baseline): " + "; ".join(f"{m['name']} {_ci(m['change'], True)}" for m in p["members"]),
        "",
    ]
    mv = p["movers_final_year"]
    lines.append(f"High-skilled movers across the place's boundary, final year (mean over draws): in "
                 f"{mv['in_scenario']:,.0f} (baseline {mv['in_baseline']:,.0f}), out {mv['out_scenario']:,.0f} "
                 f"(baseline {mv['out_baseline']:,.0f}), net {mv['net_scenario']:+,.0f} "
                 f"(baseline {mv['net_baseline']:+,.0f}, change {mv['net_scenario'] - mv['net_baseline']:+,.0f})")
    for key, title in (("top_origins", "  top origins (movers in)"), ("top_destinations", "  top destinations "
                                                                                            "(movers out)")):
        lines.append(f"{title}: " + "; ".join(f"{r['name']} {r['scenario']:,.0f} ({r['change']:+,.0f})"
                                              for r in p[key]))
    partners = sorted(p["partners"], key=lambda r: -abs(r["change_net"]))[:top]
    lines.append("  net migration by partner place, largest changes (scenario net, change vs baseline): "
                 + "; ".join(f"{r['partner']} {r['scenario_net']:+,.0f} ({r['change_net']:+,.0f})" for r in partners))
    lines.append("")
    wfh = p["wfh_mix"]
    lines.append(f"WFH mix of high-skilled workers (class, commute days a week: baseline year 0 -> baseline, "
                 f"scenario year {run['years']})")
    lines.append("  " + "; ".join(
        f"{c} ({'' if d is None else f'{d:g}d'}) {100 * a:.1f}% -> {100 * b:.1f}%, {100 * s:.1f}%"
        for c, d, a, b, s in zip(wfh["classes"], wfh["commute_days_per_week"], wfh["share_year0"],
                                 wfh["share_baseline_final"], wfh["share_scenario_final"], strict=True)))
    att = p.get("housing_and_wfh")
    if att:
        parts = []
        if "census2021_wfh_share" in att:
            parts.append(f"Census 2021 mainly-WFH share of residents in work {100 * att['census2021_wfh_share']:.1f}%")
        if "house_price" in att:
            h = att["house_price"]
            mean = h["workers_weighted_mean_of_lad_medians"]
            parts.append(f"median house price (LAD medians, workers-weighted mean) £{mean:,.0f}"
                         f" (LADs £{h['lad_min']:,.0f} to £{h['lad_max']:,.0f}; {h['period']})")
        if "affordability" in att:
            a = att["affordability"]
            parts.append(f"price/earnings ratio {a['workers_weighted_mean_of_lad_medians']:.2f} "
                         f"(LADs {a['lad_min']:.2f} to {a['lad_max']:.2f}; {a['period']})")
        lines.append("Housing and WFH: " + "; ".join(parts))
    return lines


def place_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Place name, case-insensitive (e.g. 'West Midlands').")],
    run_dir: RunDirArg,
    scenario: ScenarioOpt = None,
    kind: KindOpt = None,
    groups: GroupsOpt = None,
    year: Annotated[
        int | None, typer.Option("--year", help="Combined-authority membership year (default: latest year of the "
                                                "run's LAD codes).")
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Partner LADs and places listed.")] = 5,
    attributes: Annotated[
        bool, typer.Option("--attributes/--no-attributes", help="Add house prices and the Census WFH share.")
    ] = True,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Also write the profile as JSON here ('-' = stdout only).")
    ] = None,
) -> None:
    """Profile one place for a run: high-skilled workers, change with interval, movers' origins and destinations."""
    from migravity.errors import ConfigError
    from migravity.scenarios.places import place_profile
    from migravity.scenarios.rundir import open_run
    from migravity.utils.preflight import check_output_file

    state: AppState = ctx.obj if isinstance(ctx.obj, AppState) else AppState()
    check_output_file(json_out, "--json")  # before any work
    kind = _kind(kind, groups)
    if top < 1:
        raise ConfigError("--top", top, "give a positive number")
    run = open_run(run_dir)
    zones = run.zones(state.data_dir)
    grouping = run_grouping(run, kind, groups, year, state.data_dir)
    grouping.resolve(name)  # an unknown name fails before the attributes are loaded
    attrs = None
    if attributes:
        from migravity.geodata.attributes import load_attributes

        with state.progress("loading LAD attributes"):
            attrs = load_attributes(zones, state.data_dir)
    profile = place_profile(run, grouping, name, scenario, top=top, attributes=attrs)
    if json_out:
        from migravity.utils.jsonio import write_json

        write_json(json_out, profile)
        if json_out == "-":
            return
    state.text("\n".join(format_profile(profile, top)))


def _kind(kind: str | None, groups: Path | None) -> str:
    from migravity.errors import ConfigError, check_choice
    from migravity.geodata.places import KINDS

    kind = kind or ("user" if groups is not None else "cauth")
    check_choice("--kind", kind, KINDS)
    if kind == "user" and groups is None:
        raise ConfigError("--groups", None, "--kind user needs --groups FILE (a CSV of lad,group rows)")
    if groups is not None and kind != "user":
        raise ConfigError("--kind", kind, "with --groups use --kind user (or leave --kind out)")
    return kind


def _grouping(zones: Any, kind: str, groups: Path | None, year: int | None, data_dir: Path | None) -> Any:
    from migravity.geodata.places import cauth_grouping, read_user_groups, region_grouping

    if kind == "cauth":
        return cauth_grouping(zones, year, data_dir)
    if kind == "region":
        return region_grouping(zones)
    assert groups is not None
    return read_user_groups(groups, zones)


def run_grouping(run: Any, kind: str, groups: Path | None, year: int | None, data_dir: Path | None,
                 aggregate_to: str | None = None) -> Any:
    """The grouping of ``places`` for a run: at MSOA level, LAD groupings expanded to the MSOAs."""
    from migravity.errors import ConfigError

    zones = run.zones(data_dir)
    if run.level != "msoa":
        if aggregate_to is not None:
            raise ConfigError("--aggregate", aggregate_to, "use --aggregate with an MSOA run (run --level msoa)")
        return _grouping(zones, kind, groups, year, data_dir)
    from migravity.scenarios.msoa import expand_grouping, lad_grouping

    if aggregate_to == "lad":
        return lad_grouping(zones.parents, zones.codes)
    if kind == "region":
        return _grouping(zones, kind, groups, year, data_dir)
    from migravity.geodata import load_zones

    lad_zones = load_zones("2021", run.area, data_dir)
    return expand_grouping(_grouping(lad_zones, kind, groups, year, data_dir), zones.parents, zones.codes)


def places_cmd(
    ctx: typer.Context,
    run_dir: RunDirArg,
    scenario: ScenarioOpt = None,
    kind: KindOpt = None,
    groups: GroupsOpt = None,
    year: Annotated[int | None, typer.Option("--year", help="Combined-authority membership year.")] = None,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Also write the table as JSON here ('-' = stdout only).")
    ] = None,
    aggregate_to: Annotated[
        str | None, typer.Option("--aggregate", help="MSOA runs: 'lad' makes each parent LAD (2021) a place.")
    ] = None,
) -> None:
    """Every place of a grouping for a run: high-skilled workers and the change vs baseline with its interval."""
    from migravity.scenarios.places import aggregate
    from migravity.scenarios.rundir import open_run
    from migravity.utils.preflight import check_output_file

    state: AppState = ctx.obj if isinstance(ctx.obj, AppState) else AppState()
    check_output_file(json_out, "--json")  # before any work
    kind = _kind(kind, groups)
    if aggregate_to is not None:
        from migravity.errors import check_choice

        check_choice("--aggregate", aggregate_to, ("lad",))
    run = open_run(run_dir)
    grouping = run_grouping(run, kind, groups, year, state.data_dir, aggregate_to)
    name = run.scenario(scenario)
    table = aggregate(run, grouping, name)
    if json_out:
        from migravity.utils.jsonio import write_json

        write_json(json_out, {"run_dir": str(run_dir), "scenario": name, "kind": grouping.kind,
                              "source": grouping.source, "vintage": grouping.vintage,
                              "members": {g: list(m) for g, m in grouping.members.items()},
                              "places": table.reset_index().to_dict(orient="records")})
        if json_out == "-":
            return
    rows = [[g, r.code, int(r.n_lads), f"{r.initial:,.0f}", f"{r.baseline_mean:,.0f}",
             _ci({"mean": r.change_mean, "q05": r.change_q05, "q95": r.change_q95}, True),
             f"{r.pct_change_mean:+.2f}%"] for g, r in table.iterrows()]
    state.table(f"High-skilled workers by {grouping.kind} ({grouping.vintage}): {name} vs its paired baseline, "
                f"final year; change: mean [5%, 95%] of the per-draw sums",
                ["place", "code", "LADs", "year 0", "baseline", "change", "%"], rows)


def register(app: typer.Typer) -> None:
    """Attach ``place`` and ``places`` to the root app."""
    app.command("place")(place_cmd)
    app.command("places")(places_cmd)
