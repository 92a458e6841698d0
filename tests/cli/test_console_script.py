"""The ``migravity`` console script in a fresh process: it starts, and starting it stays cheap.

The other CLI tests run the commands in the test process (``tests/cli_helpers.py``); these spawn
real processes, as a user's shell does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

MIGRAVITY = Path(sys.executable).with_name("migravity")

# Loaded by the commands when they run, never by `import migravity.cli` or `--help`.
HEAVY = ("numpy", "pandas", "numba", "xarray", "geopandas", "shapely", "pyproj", "dask", "distributed",
         "scipy", "matplotlib", "pyarrow")

_PROBE = """
import json, sys
from migravity.cli import main
code = None
if sys.argv[1:]:
    try:
        main(sys.argv[1:])
    except SystemExit as e:
        code = e.code
print(json.dumps({"code": code, "modules": sorted(m for m in sys.modules if m.split(".")[0] in %r)}))
"""


def _probe(*args: str) -> tuple[int | None, list[str], str]:
    """Import the CLI (and run ``migravity ARGS`` if any) in a fresh interpreter: exit code, heavy modules."""
    proc = subprocess.run([sys.executable, "-c", _PROBE % (HEAVY,), *args], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    *text, last = proc.stdout.strip().splitlines()
    report = json.loads(last)
    return report["code"], report["modules"], "\n".join(text)


def test_import_loads_no_heavy_library() -> None:
    """``import migravity.cli`` (what every invocation pays) leaves NumPy, pandas, Numba, ... unloaded."""
    code, modules, _ = _probe()
    assert code is None
    assert modules == []


def test_help_loads_no_heavy_library() -> None:
    """``migravity --help`` and a subcommand's help list the commands without loading the libraries."""
    code, modules, out = _probe("--help")
    assert code == 0 and modules == []
    for command in ("data", "calibrate", "ladder", "report", "run", "export", "plot"):
        assert command in out
    code, modules, out = _probe("export", "--help")
    assert code == 0 and modules == []
    assert "--format" in out


def test_console_script_runs() -> None:
    """The installed entry point answers ``--version`` and rejects an unknown command with exit code 2."""
    proc = subprocess.run([str(MIGRAVITY), "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("migravity ")
    proc = subprocess.run([str(MIGRAVITY), "no-such-command"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 2
    assert "no-such-command" in proc.stderr
