"""The run directory is written as one unit: interruptions, concurrent writers, checksums on reading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

from migravity.errors import ConfigError, MalformedDataError, RunDirError
from migravity.scenarios import rundir
from migravity.scenarios.run import RunResult, run_scenarios, write_run
from migravity.scenarios.spec import load_scenario
from migravity.utils import jsonio
from migravity.utils.atomic import lock_path


@pytest.fixture(scope="module")
def runs(inputs) -> tuple[RunResult, RunResult]:
    """Two different small runs (different seeds)."""
    spec = [load_scenario("baseline"), load_scenario("wfh_uptake")]
    return (run_scenarios(inputs, spec, draws=2, seed=1, years=1),
            run_scenarios(inputs, spec, draws=2, seed=2, years=1))


def _snapshot(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("old", [False, True], ids=["no-earlier-run", "earlier-run"])
@pytest.mark.parametrize("after", range(len(rundir.WRITTEN_FILES)))
def test_interrupted_write_leaves_the_old_run_or_nothing(runs, tmp_path, monkeypatch, after, old):
    """Ctrl-C (or SIGTERM, turned into KeyboardInterrupt) after ``after`` files: never a mix of two runs."""
    first, second = runs
    out = tmp_path / "run"
    before = _snapshot(write_run(first, out)) if old else None
    written = []

    def counting(original):
        def writer(self_or_path, *args, **kwargs):
            if len(written) == after:
                raise KeyboardInterrupt
            written.append(original)
            return original(self_or_path, *args, **kwargs)
        return writer

    monkeypatch.setattr(xr.Dataset, "to_netcdf", counting(xr.Dataset.to_netcdf))
    monkeypatch.setattr(pd.DataFrame, "to_csv", counting(pd.DataFrame.to_csv))
    monkeypatch.setattr(pd.DataFrame, "to_parquet", counting(pd.DataFrame.to_parquet))
    monkeypatch.setattr(jsonio, "write_json", counting(jsonio.write_json))
    with pytest.raises(KeyboardInterrupt):
        write_run(second, out)
    if old:
        assert _snapshot(out) == before
        rundir.open_run(out)
    else:
        assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["run"] if old else [])  # no temporary, no lock


def test_a_rewrite_replaces_the_whole_run(runs, tmp_path):
    out = write_run(runs[0], tmp_path / "run")
    (out / rundir.SUMMARY_PARQUET).unlink()
    write_run(runs[1], out)
    assert sorted(p.name for p in out.iterdir()) == sorted(rundir.WRITTEN_FILES)
    assert rundir.open_run(out).manifest["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_directory_with_other_files_is_not_replaced(runs, tmp_path):
    """Replacing the directory would delete them: refused, nothing touched."""
    out = write_run(runs[0], tmp_path / "run")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    before = _snapshot(out)
    with pytest.raises(ConfigError, match=r"notes\.txt.*would delete"):
        write_run(runs[1], out)
    assert _snapshot(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a directory"):
        write_run(runs[1], tmp_path / "file")


def test_a_second_writer_is_refused(runs, tmp_path):
    other = os.getppid()  # a live process other than this one
    out = tmp_path / "run"
    lock_path(out).write_text(f"{other}\n", encoding="ascii")
    with pytest.raises(ConfigError, match=rf"--out.*process {other} is writing it.*\.run\.lock"):
        write_run(runs[0], out)
    assert not out.exists() and lock_path(out).read_text(encoding="ascii").strip() == str(other)


def test_a_stale_lock_and_temporaries_of_a_dead_writer_are_cleared(runs, tmp_path):
    dead = _dead_pid()
    out = tmp_path / "run"
    lock_path(out).write_text(f"{dead}\n", encoding="ascii")
    stale = tmp_path / f".run.tmp-{dead}-0a1b2c3d"
    stale.mkdir()
    (stale / "results.nc").write_bytes(b"half a file")
    write_run(runs[0], out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    rundir.open_run(out)


def test_manifest_records_size_and_sha256(runs, tmp_path):
    out = write_run(runs[0], tmp_path / "run")
    files = json.loads((out / rundir.MANIFEST_FILE).read_text(encoding="utf-8"))["files"]
    assert [f["name"] for f in files] == list(rundir.DATA_FILES)
    assert all(tuple(f) == rundir.FILE_KEYS and f["bytes"] == (out / f["name"]).stat().st_size
               and len(f["sha256"]) == 64 for f in files)


@pytest.mark.parametrize("name", rundir.DATA_FILES)
def test_open_run_rejects_a_changed_file(runs, tmp_path, name):
    out = write_run(runs[0], tmp_path / "run")
    with (out / name).open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(MalformedDataError, match=rf"{name}: does not match manifest\.json.*re-run"):
        rundir.open_run(out)


def test_open_run_rejects_a_file_from_another_run(runs, tmp_path):
    """Same size, other content: a directory mixing two runs."""
    a, b = write_run(runs[0], tmp_path / "a"), write_run(runs[1], tmp_path / "b")
    (a / rundir.SUMMARY_CSV).write_bytes((b / rundir.SUMMARY_CSV).read_bytes())
    with pytest.raises(MalformedDataError, match="mixes two runs"):
        rundir.open_run(a)


def test_open_run_rejects_a_missing_listed_file(runs, tmp_path):
    out = write_run(runs[0], tmp_path / "run")
    (out / rundir.SUMMARY_PARQUET).unlink()
    with pytest.raises(RunDirError, match=r"summary\.parquet: listed in manifest\.json but missing"):
        rundir.open_run(out)


def test_a_manifest_without_checksums_is_read_with_a_warning(runs, tmp_path):
    """The earlier format (``files`` a list of names) is accepted, with a warning to re-run."""
    out = write_run(runs[0], tmp_path / "run")
    man = json.loads((out / rundir.MANIFEST_FILE).read_text(encoding="utf-8"))
    man["files"] = list(rundir.WRITTEN_FILES)
    (out / rundir.MANIFEST_FILE).write_text(json.dumps(man), encoding="utf-8")
    with pytest.warns(RuntimeWarning, match="without checksums.*re-run"):
        assert rundir.open_run(out).scenarios == ["baseline", "wfh_uptake"]


def test_seal_records_deliberate_changes(runs, tmp_path):
    out = write_run(runs[0], tmp_path / "run")
    (out / rundir.SUMMARY_CSV).write_text("metric\n", encoding="utf-8")
    rundir.open_run(rundir.seal(out))


def test_an_old_lock_without_a_pid_is_taken_over(runs, tmp_path):
    """A writer stopped between creating the lock and writing its pid: stale after a minute."""
    out = tmp_path / "run"
    lock = lock_path(out)
    lock.write_text("", encoding="ascii")
    with pytest.raises(ConfigError, match="another process is writing it"):
        write_run(runs[0], out)
    os.utime(lock, (lock.stat().st_atime - 120, lock.stat().st_mtime - 120))
    write_run(runs[0], out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
