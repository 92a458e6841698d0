"""``migravity data ...``: the data directory's status, downloads, and the stylised facts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from migravity.cli.console import AppState

data_app = typer.Typer(help="Datasets: status, fetch, stylised facts.", no_args_is_help=True)


@data_app.command("status")
def status_cmd(
    ctx: typer.Context,
    json_out: Annotated[
        str | None,
        typer.Option("--json", help="Also write the table as JSON to this path ('-' = stdout)."),
    ] = None,
) -> None:
    """Table of registered datasets: present, in the bundle or missing; rows, vintage, path."""
    from migravity.geodata.status import dataset_status, source_summary
    from migravity.utils.jsonio import write_json
    from migravity.utils.preflight import check_output_file

    state: AppState = ctx.obj
    check_output_file(json_out, "--json")  # before any work
    rows = dataset_status(state.data_dir)
    if json_out:
        write_json(json_out, [r.as_dict() for r in rows])
        if json_out == "-":
            return
    state.text(source_summary(state.data_dir))
    state.table(
        "migravity datasets",
        ["dataset", "status", "rows", "vintage", "coverage", "path"],
        [(r.name, r.status, r.rows, r.vintage, r.coverage, str(r.path)) for r in rows],
    )


@data_app.command("fetch")
def fetch_cmd(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None, typer.Argument(help="Datasets to fetch (default: all missing).")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="A mirror: a base URL or a directory laid out like the data directory.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Download even if the file is present.")
    ] = False,
) -> None:
    """Download missing dataset files into the data directory (checksum-verified, atomic).

    Every dataset that can be fetched is; any failures are then reported together (exit code 1).
    """
    from migravity.errors import FetchFailedError
    from migravity.geodata.fetch import FetchResult, fetch

    state: AppState = ctx.obj

    def show(results: list[FetchResult]) -> None:
        got = [r for r in results if r.result != "manual"]
        manual = [r for r in results if r.result == "manual"]
        if got:
            state.table("migravity data fetch", ["dataset", "result", "bytes", "path"],
                        [(r.name, r.result, r.size, str(r.path)) for r in got])
        if manual:
            covered = sum(r.bundled for r in manual)
            state.table(
                f"not fetched: no address serves the exact bytes of these {len(manual)} files (converted from the "
                f"publishers' releases); the shipped bundle covers {covered}",
                ["dataset", "in bundle", "official page"],
                [(r.name, "yes" if r.bundled else "no", r.page) for r in manual],
            )

    try:
        results = fetch(names or None, data_dir=state.data_dir, source=source, force=force,
                        reporter=state)
    except FetchFailedError as e:
        if e.results:
            show(e.results)
        raise
    show(results)


@data_app.command("facts")
def facts_cmd(
    ctx: typer.Context,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Also write the facts as JSON to this path ('-' = stdout).")
    ] = None,
) -> Any:
    """The two stylised facts on the real data: migration between deprivation quintiles, WFH by region."""
    from migravity.analysis.facts import deprivation_flow_matrix, wfh_share_by_region
    from migravity.utils.jsonio import write_json
    from migravity.utils.preflight import check_output_file

    state: AppState = ctx.obj
    check_output_file(json_out, "--json")  # before any work
    with state.progress("loading Census 2021 flows and deprivation"):
        mat = deprivation_flow_matrix(data_dir=state.data_dir)
        wfh = wfh_share_by_region(data_dir=state.data_dir)
    if json_out:
        write_json(json_out, facts_payload(mat, wfh))
        if json_out == "-":
            return mat, wfh
    cols = [str(c) for c in mat.columns]
    state.table(
        "Inter-LAD migrants, England, Census 2021: origin IMD quintile (rows) x destination quintile "
        "(1 = most deprived)",
        ["origin quintile", *cols],
        [(str(i), *[int(v) for v in row]) for i, row in zip(mat.index, mat.to_numpy(), strict=True)],
    )
    q1 = mat.iloc[0]
    state.text(
        f"Most deprived quintile sends {q1.iloc[0] / q1.iloc[-1]:.1f}x more migrants to other most-deprived "
        f"LADs than to the least deprived."
    )
    state.table(
        "Working mainly at or from home, Census 2021 (share of workers, by region of residence)",
        ["region", "workers", "WFH", "WFH share %"],
        [(r.Index, int(r.workers), int(r.wfh), 100 * r.share) for r in wfh.itertuples()],
    )
    return mat, wfh  # for the main job's report page (``report --html``)


def facts_payload(mat: Any, wfh: Any) -> dict[str, Any]:
    """``data facts --json``: the flows keyed origin quintile -> destination quintile (as the printed table
    reads: rows are origins), each part named and described.

    Parameters
    ----------
    mat : pandas.DataFrame
        :func:`migravity.analysis.facts.deprivation_flow_matrix` (origin quintiles x destination quintiles).
    wfh : pandas.DataFrame
        :func:`migravity.analysis.facts.wfh_share_by_region`.

    Returns
    -------
    dict
    """
    return {
        "deprivation_flows": {
            "description": "Inter-LAD migrants, England, Census 2021, by IMD quintile of the origin and of the "
                           "destination LAD (1 = most deprived)",
            "keys": ["origin_quintile", "destination_quintile"],
            "unit": "persons",
            "flows": {str(o): {str(d): int(v) for d, v in row.items()} for o, row in mat.iterrows()},
        },
        "wfh_by_region": {
            "description": "Working mainly at or from home, Census 2021, by region of residence",
            "keys": ["region"],
            "units": {"workers": "persons", "wfh": "persons", "share": "fraction of workers (0-1)"},
            "regions": {str(r): {k: (float(v) if k == "share" else int(v)) for k, v in row.items()}
                        for r, row in wfh.iterrows()},
        },
    }


@data_app.command("bundle")
def bundle_cmd(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write the bundle (default: the package's geodata/bundle/lad_bundle.zip)."),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Rebuild in a temporary file and compare with the shipped bundle; exit 1 if "
                                     "any member differs."),
    ] = False,
) -> None:
    """Build the shipped data bundle from the raw files of the data directory (--data-dir or $MIGRAVITY_DATA).

    The bundle holds every LAD-level input of the main job and the library scenarios, exactly as the readers
    parse them from the raw files, with each source's provenance and attribution (see `migravity data status`).
    """
    import time

    from migravity.errors import ConfigError, DataError
    from migravity.geodata.bundle import BUNDLE_PATH, build_bundle, check_bundle
    from migravity.geodata.datadir import explicit_data_dir, resolve_data_dir

    state: AppState = ctx.obj
    if not explicit_data_dir(state.data_dir):
        raise ConfigError("--data-dir", None, "name the raw data directory to build from (--data-dir PATH or "
                                              "$MIGRAVITY_DATA), e.g. `migravity --data-dir ../shared/data "
                                              "data bundle`")
    if check and out is not None:
        raise ConfigError("--out", str(out), "--check compares with the shipped bundle; leave --out out")
    root = resolve_data_dir(state.data_dir)
    t0 = time.perf_counter()
    with state.progress("bundling") as task:
        def step(name: str) -> None:
            task.update(description=f"bundling {name}")

        if check:
            res = check_bundle(root, progress=step)
        else:
            manifest = build_bundle(root, out or BUNDLE_PATH, progress=step)
    seconds = time.perf_counter() - t0
    if check:
        if not res.identical:
            raise DataError(f"bundle: the rebuild from {root} differs from the shipped {BUNDLE_PATH} in "
                            f"{len(res.differing)} members ({', '.join(res.differing[:5])}); rebuild it with "
                            "`migravity data bundle` and commit it")
        state.text(f"bundle {BUNDLE_PATH} ({res.size / 1e6:.2f} MB) equals its rebuild from {root}, member for member"
                   f"{' and byte for byte' if res.same_zip_bytes else ''} ({seconds:.1f} s)")
        return
    target = out or BUNDLE_PATH
    state.text(f"wrote {target}: {len(manifest['datasets'])} datasets, {target.stat().st_size / 1e6:.2f} MB, "
               f"version {manifest['version']} ({seconds:.1f} s)")


def register(app: typer.Typer) -> None:
    """Attach the ``data`` group to the root app."""
    app.add_typer(data_app, name="data")
