"""Test configuration: the real data directory defaults to ``../shared/data`` beside the checkout.

Markers: every test that needs the real ONS files carries ``realdata``: added here to each test whose
fixtures reach :func:`data_dir` (directly or through ``zones23``, ``sample_run_dir``, ...), and written
out on the few tests that read the default data directory another way. ``pytest -m "not realdata"``
runs the rest, which need no data files (an empty ``MIGRAVITY_DATA`` directory will do).

Fixtures used by tests of several sub-packages live here: the real data directory, the main job run
once (``main_job``), the real scenario inputs and a small real run (``sample_run_dir``), and a small
synthetic OD table (``small_table``). Those of one area stay in its own ``conftest.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cli_helpers
import pytest
from hypothesis import settings

if TYPE_CHECKING:
    import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()

# Property tests draw the same examples on every run (reproducible CI); HYPOTHESIS_PROFILE=explore randomises.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Tests read the real ONS files from ../shared/data unless the user points MIGRAVITY_DATA elsewhere. Where
# neither exists (a fresh machine), the real-data tests are skipped with that reason; an explicit
# MIGRAVITY_DATA that does not exist still fails them loudly (data_dir), never skips.
_USER_DATA = os.environ.get("MIGRAVITY_DATA", "").strip()
NO_REAL_DATA = "" if _USER_DATA or SHARED_DATA.is_dir() else (
    f"no real data: {SHARED_DATA} does not exist and MIGRAVITY_DATA is unset (the raw ONS files are needed; "
    "the data-free tests and the shipped bundle run anyway)")
if not _USER_DATA and SHARED_DATA.is_dir():
    os.environ["MIGRAVITY_DATA"] = str(SHARED_DATA)


REAL_DATA_FIXTURES = frozenset({"data_dir"})


@pytest.fixture(autouse=True)
def _no_changed_data_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no record of changed data files (``--accept-changed-data``) and without the switch."""
    from migravity.geodata import datadir

    monkeypatch.setattr(datadir, "_ACCEPTED", {})
    monkeypatch.delenv(datadir.ACCEPT_CHANGED_ENV, raising=False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``realdata`` every test whose fixture closure includes a real-data fixture."""
    for item in items:
        if REAL_DATA_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.realdata)
        if NO_REAL_DATA and item.get_closest_marker("realdata") is not None:
            item.add_marker(pytest.mark.skip(reason=NO_REAL_DATA))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data directory; fails loudly (never skips) when it is missing."""
    path = Path(os.environ["MIGRAVITY_DATA"])
    if not path.is_dir():
        pytest.fail(f"real data directory {path} is missing: put ../shared/data beside the checkout "
                    "or set MIGRAVITY_DATA")
    return path


@pytest.fixture(scope="session")
def main_job(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> cli_helpers.MainJob:
    """The main job on the real data, run in this process once for every test that checks it.

    The command runs unchanged through :func:`migravity.cli.main` (with ``--json`` and ``--html``);
    ``fit_ladder`` and ``out_of_sample`` are wrapped only to keep what they return, so the model-ladder
    tests check the very objects it printed.
    """
    from migravity.analysis import ladder

    returned: dict[str, Any] = {}

    def keep(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            returned[name] = out = func(*args, **kwargs)
            return out

        return wrapper

    out = tmp_path_factory.mktemp("main_job") / "report.json"
    with pytest.MonkeyPatch.context() as mp:
        for name in ("fit_ladder", "out_of_sample"):
            mp.setattr(ladder, name, keep(name, getattr(ladder, name)))
        res = cli_helpers.run(["--data-dir", str(data_dir), "report", "--json", str(out), "--html",
                               str(out.with_suffix(".html"))])
    payload = json.loads(out.read_text()) if out.is_file() else {}
    return cli_helpers.MainJob(res.returncode, res.stdout, res.stderr, payload, returned, out.with_suffix(".html"))


@pytest.fixture(scope="session")
def real_model_inputs(data_dir: Path) -> Any:
    """The scenario model's inputs on the real data (E&W, 2023 codes), loaded and calibrated once."""
    from migravity.geodata import load_zones
    from migravity.scenarios.simulate import prepare_inputs

    return prepare_inputs(load_zones("2023", "EW", data_dir), data_dir=data_dir)


@pytest.fixture(scope="session")
def sample_run_dir(tmp_path_factory: pytest.TempPathFactory, real_model_inputs: Any) -> Path:
    """A small real run (baseline + wfh_uptake, 10 draws, 3 years) written through the Python API.

    On the 2023 E&W zones, with the inputs shared by every test (``real_model_inputs`` in ``tests/conftest.py``).
    """
    from migravity.scenarios.run import run_scenarios, write_run
    from migravity.scenarios.spec import load_scenario

    run = run_scenarios(real_model_inputs, [load_scenario("baseline"), load_scenario("wfh_uptake")],
                        years=3, draws=10, seed=7)
    return write_run(run, tmp_path_factory.mktemp("sample") / "run")


@pytest.fixture(scope="session")
def small_table() -> pd.DataFrame:
    """18 zones, off-diagonal, with a few zeros; plus a pair variable and an origin attribute."""
    import numpy as np

    from migravity.engine import synthetic_od_table

    t = synthetic_od_table(18, np.random.default_rng(7), mean_flow=8.0)
    t["log_dist"] = np.log(t["distance_km"])
    t["contig"] = t["border"]
    t["pop_o_log"] = np.log(t["pop_o"])
    return t


@pytest.fixture(scope="session")
def identification_data(data_dir: Path) -> Any:
    """The identification analysis's 2011/2021 panel data (E&W, 2023 codes), loaded once."""
    from migravity.analysis.identification_data import load_identification_data
    from migravity.geodata import load_zones

    return load_identification_data(load_zones("2023", "EW", data_dir), data_dir)


@pytest.fixture(scope="session")
def identification_report(data_dir: Path, identification_data: Any) -> Any:
    """``identify`` on the real data, computed once for the analysis and CLI tests."""
    from migravity.analysis.identification import identify
    from migravity.geodata import load_zones

    return identify(load_zones("2023", "EW", data_dir), data_dir, data=identification_data)


@pytest.fixture(scope="session")
def validation_scorecard(data_dir: Path, identification_data: Any, identification_report: Any) -> Any:
    """``migravity validate``'s scorecard on the real data, computed once (reusing the identification fixtures)."""
    from migravity.geodata import load_zones
    from migravity.scenarios.validate import validate

    return validate(load_zones("2023", "EW", data_dir), data_dir, data=identification_data,
                    report=identification_report)
