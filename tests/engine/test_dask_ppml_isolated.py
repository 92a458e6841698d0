"""Run ``test_dask_ppml.py`` in a fresh interpreter (see its docstring), so its Dask clusters start clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MODULE = Path(__file__).with_name("test_dask_ppml.py")


def test_dask_ppml_module_in_a_fresh_interpreter() -> None:
    env = {**os.environ, "MIGRAVITY_DASK_PPML_ISOLATED": "1"}
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(MODULE)],
                         env=env, capture_output=True, text=True, timeout=1200, cwd=MODULE.parents[2])
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert " passed" in res.stdout and "skipped" not in res.stdout.splitlines()[-1], res.stdout[-500:]
