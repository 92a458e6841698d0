"""``migravity data facts`` end to end: in this process on the real data, through the console script without."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cli_helpers

MIGRAVITY = Path(sys.executable).with_name("migravity")


def _run(args: list[str], data: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MIGRAVITY_DATA"}
    if data is not None:
        env["MIGRAVITY_DATA"] = str(data)
    return subprocess.run([str(MIGRAVITY), *args], capture_output=True, text=True, env=env, timeout=120)


def test_facts_json(data_dir: Path) -> None:
    """``data facts --json -`` prints both facts as JSON on stdout."""
    res = cli_helpers.run(["data", "facts", "--json", "-"], env={"MIGRAVITY_DATA": str(data_dir)})
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out) == {"deprivation_flows", "wfh_by_region"}
    dep = out["deprivation_flows"]["flows"]
    assert out["deprivation_flows"]["keys"] == ["origin_quintile", "destination_quintile"]
    assert sorted(dep) == ["1", "2", "3", "4", "5"] and all(len(row) == 5 for row in dep.values())
    assert 3.5 < dep["1"]["1"] / dep["1"]["5"] < 5  # keyed origin -> destination: 1->1 over 1->5
    wfh = out["wfh_by_region"]["regions"]
    assert wfh["England and Wales"]["workers"] == 27_773_528
    assert wfh["London"]["share"] > wfh["Rest of England and Wales"]["share"]


def test_facts_missing_data(tmp_path: Path) -> None:
    """An empty data directory: exit code 2 and a one-line error naming the missing dataset (a real process)."""
    res = _run(["--data-dir", str(tmp_path), "data", "facts"], None)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("migravity: error: dataset '")
    assert "not found at " + str(tmp_path) in lines[0] and "data fetch" in lines[0]
    assert "Traceback" not in res.stderr
