"""CLI polish (issue 15, item 5): pure JSON on stdout, global flags anywhere, quiet, help, tables, labels.

The commands run in this process with their heavy work replaced by small stand-ins (no data needed).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cli_helpers
import pandas as pd
import pytest
import typer

import migravity
import migravity.cli as cli
from migravity.cli.console import print_table
from migravity.cli.data import facts_payload
from migravity.cli.options import finish
from migravity.cli.scenarios import REFERENCE, headline_rows

WIDE = {"COLUMNS": "200"}


def _facts(mp: pytest.MonkeyPatch) -> None:
    from migravity.analysis import facts

    q = pd.Index([1, 2, 3, 4, 5], name="origin_quintile")
    mat = pd.DataFrame([[10.0 * (i + 1) + j for j in range(5)] for i in range(5)], index=q,
                       columns=pd.Index([1, 2, 3, 4, 5], name="destination_quintile"))
    wfh = pd.DataFrame({"workers": [100.0, 50.0], "wfh": [40.0, 10.0], "share": [0.4, 0.2]},
                       index=pd.Index(["London", "Wales"], name="region"))
    mp.setattr(facts, "deprivation_flow_matrix", lambda data_dir=None: mat)
    mp.setattr(facts, "wfh_share_by_region", lambda data_dir=None: wfh)


def _ladder(mp: pytest.MonkeyPatch) -> None:
    from migravity.analysis import ladder, ladder_data

    fit = SimpleNamespace(n_pairs=12, paper_layout=lambda: "PAPER LAYOUT", comparison_text=lambda: "COMPARISON",
                          table=lambda: "ALL TERMS", receiving=None, to_dict=lambda: {"models": {"M1": 1.0}})
    oos = SimpleNamespace(scores=pd.DataFrame({"cpc": [0.8], "srmse": [0.5]}, index=["gravity"]),
                          coefficients_2011={"distance": -1.0}, coefficients_2021={"distance": -1.1})
    mp.setattr(ladder_data, "ladder_table", lambda *a, **k: None)
    mp.setattr(ladder, "fit_ladder", lambda *a, **k: fit)
    mp.setattr(ladder, "out_of_sample", lambda *a, **k: oos)


def _report_like(module: str, name: str) -> Any:
    def stub(mp: pytest.MonkeyPatch) -> None:
        import importlib

        from migravity import geodata

        mp.setattr(geodata, "load_zones", lambda *a, **k: None)
        fake = SimpleNamespace(summary=lambda: "SCORECARD TEXT", to_dict=lambda: {"score": 1.0})
        mp.setattr(importlib.import_module(module), name, lambda *a, **k: fake)

    return stub


def _nothing(mp: pytest.MonkeyPatch) -> None:
    return None


# (arguments, stand-ins, a text the command prints besides the JSON, on stderr)
JSON_COMMANDS = {
    "data status": (["data", "status"], _nothing, None),  # these print the JSON alone
    "data facts": (["data", "facts"], _facts, None),
    "ladder": (["ladder"], _ladder, "PAPER LAYOUT"),
    "report": (["report"], lambda mp: (_facts(mp), _ladder(mp)), "migravity datasets"),
    "validate": (["validate"], _report_like("migravity.scenarios.validate", "validate"), "SCORECARD TEXT"),
    "calibrate-scenario": (["calibrate-scenario"], _report_like("migravity.analysis.identification", "identify"),
                           "SCORECARD TEXT"),
}


@pytest.mark.parametrize("name", sorted(JSON_COMMANDS))
def test_json_dash_gives_pure_json_on_stdout(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``CMD --json -``: stdout parses as JSON; the tables and reports go to stderr, and nowhere with --quiet."""
    args, stub, text = JSON_COMMANDS[name]
    stub(monkeypatch)
    res = cli_helpers.run(["--data-dir", str(tmp_path), *args, "--json", "-"], env=WIDE)
    assert res.returncode == 0, res.stderr
    json.loads(res.stdout)
    assert text is None or text in res.stderr
    quiet = cli_helpers.run(["--data-dir", str(tmp_path), *args, "--json", "-", "--quiet"], env=WIDE)
    assert quiet.returncode == 0, quiet.stderr
    assert type(json.loads(quiet.stdout)) is type(json.loads(res.stdout))
    assert quiet.stderr == ""


def _commands(command: Any, path: str = "") -> list[tuple[str, Any]]:
    subs = getattr(command, "commands", {})
    out = [(path, command)] if not subs else []
    for name, sub in subs.items():
        out += _commands(sub, f"{path} {name}".strip())
    return out


def test_every_json_option_keeps_stdout_for_the_json() -> None:
    """Every command with ``--json`` (those run above and the heavy ones: run, calibrate, place, places) routes
    its printed output to stderr when the JSON goes to stdout."""
    root = finish(typer.main.get_command(cli.app))
    with_json = [(p, c) for p, c in _commands(root) if any("--json" in o.opts for o in c.params)]
    assert {"run", "calibrate", "place", "places", "report", "ladder", "data facts"} <= {p for p, _ in with_json}
    for _, command in with_json:
        (option,) = [o for o in command.params if "--json" in o.opts]
        assert option.callback is not None and "_json_callback" in option.callback.__qualname__


def test_global_flags_after_the_subcommand(tmp_path: Path) -> None:
    """``--quiet`` and ``--data-dir`` after the subcommand work as before it; ``--quiet`` hides the table."""
    res = cli_helpers.run(["data", "status", "--data-dir", str(tmp_path)], env=WIDE)
    assert res.returncode == 0, res.stderr
    assert str(tmp_path) in res.stdout and "missing" in res.stdout
    quiet = cli_helpers.run(["data", "status", "--data-dir", str(tmp_path), "--quiet"], env=WIDE)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    short = cli_helpers.run(["--data-dir", str(tmp_path), "data", "status", "-q"], env=WIDE)
    assert (short.returncode, short.stdout, short.stderr) == (0, "", "")


def test_quiet_keeps_errors(tmp_path: Path) -> None:
    """``--quiet`` silences everything but errors: a bad option still prints its one line and exits 2."""
    res = cli_helpers.run(["run", "baseline", "--quiet", "--area", "GB", "--out", str(tmp_path / "r")])
    assert res.returncode == 2
    assert res.stdout == "" and "--area" in res.stderr


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["data", "status", "--help"], ["export", "--help"]])
def test_help_shows_no_bool(args: list[str]) -> None:
    """Flags show no ``<bool>`` type in the help."""
    res = cli_helpers.run(args, env=WIDE)
    assert res.returncode == 0
    assert "--help" in res.stdout and "<bool>" not in res.stdout


def test_run_help_lists_the_library_scenarios() -> None:
    """``run --help`` names every library scenario, and shows --quiet among its options."""
    from migravity.scenarios.spec import library_names

    res = cli_helpers.run(["run", "--help"], env=WIDE)
    assert res.returncode == 0
    assert "Library scenarios" in res.stdout and "--quiet" in res.stdout
    for name in library_names():
        assert name in res.stdout


@pytest.mark.parametrize("terminal", [False, True])
def test_tables_wrap_instead_of_cutting(terminal: bool) -> None:
    """A narrow console (piped or a terminal): no cell is cut with "…"; piped, every value is on one line."""
    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, width=40, force_terminal=terminal, color_system=None)
    long = ["baseline_with_a_long_name", "Cornwall and the Isles +16,123 [+15,000, +17,000]"]
    print_table(console, "High-skilled workers", ["scenario", "top gain", "GSE share"],
                [[*long, "34.12% [34.00, 34.20]"]])
    text = buf.getvalue()
    assert "…" not in text
    if not terminal:
        for value in long:
            assert value in text


def _head(name: str, change: float) -> dict[str, Any]:
    ci = {"scenario_mean": 0.34, "scenario_q05": 0.33, "scenario_q95": 0.35, "change_mean": change,
          "change_q05": change - 0.001, "change_q95": change + 0.001, "verdict": "unchanged"}
    lad = {"name": "Cornwall", "change_mean": 1000.0 * change}
    return {"scenario": name, "gse_hs_share": ci, "theil_lad": ci, "gini_lad": ci, "top_gain": lad, "top_loss": lad}


def test_headline_points_and_reference_row() -> None:
    """The GSE-share change is in percentage points ("pts"); the baseline's change columns say "reference"."""
    base, wfh = headline_rows([_head("baseline", 0.0), _head("wfh_uptake", 0.0123)], {"baseline"})
    assert base[0] == "baseline" and base[1] == "34.00% [33.00, 35.00]"
    assert base[2:] == [REFERENCE] * 6 and not any("top gain" in c or "+0" in c for c in base)
    assert wfh[2] == "+1.23 pts [+1.13, +1.33]" and "%" not in wfh[2]


def test_facts_json_keyed_origin_to_destination() -> None:
    """``data facts --json``: flows keyed origin -> destination (as the table reads) and named."""
    mat = pd.DataFrame([[5.0, 1.0], [2.0, 7.0]], index=pd.Index([1, 2], name="origin_quintile"),
                       columns=pd.Index([1, 2], name="destination_quintile"))
    wfh = pd.DataFrame({"workers": [10.0], "wfh": [4.0], "share": [0.4]}, index=pd.Index(["London"], name="region"))
    out = json.loads(json.dumps(facts_payload(mat, wfh)))
    dep = out["deprivation_flows"]
    assert dep["keys"] == ["origin_quintile", "destination_quintile"] and dep["description"]
    assert dep["flows"] == {"1": {"1": 5, "2": 1}, "2": {"1": 2, "2": 7}}  # origin 1 sends 1 to destination 2
    assert out["wfh_by_region"]["regions"]["London"] == {"workers": 10, "wfh": 4, "share": 0.4}


@pytest.mark.parametrize("area", ["GB", "UK"])
def test_area_only_offers_what_runs(area: str, tmp_path: Path) -> None:
    """``run --area GB/UK`` (which cannot run: no Scottish/NI terms) is refused at once, naming the choices."""
    res = cli_helpers.run(["run", "baseline", "--area", area, "--out", str(tmp_path / "r")])
    assert res.returncode == 2
    line = res.stderr.strip()
    assert "--area" in line and "'EW', 'England', 'Wales'" in line and len(line.splitlines()) == 1
    help_text = cli_helpers.run(["run", "--help"], env=WIDE).stdout
    assert "EW, England or Wales" in help_text and "GB" not in help_text


def test_dir_lists_the_public_api() -> None:
    """``dir(migravity)`` shows the lazy ``calibrate`` and ``__version__`` and every error class."""
    names = dir(migravity)
    for name in migravity.__all__:
        assert name in names
    assert "calibrate" in names and "__version__" in names and "ConfigError" in names
