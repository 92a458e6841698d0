"""``migravity calibrate-scenario``: exit 0, the report on stdout, the JSON keys (the report computed once)."""

from __future__ import annotations

import json

import pytest

from migravity.cli import main


def _run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as e:
        main(args)
    return int(e.value.code)


@pytest.fixture
def patched(monkeypatch, identification_report):
    """The command as it runs, with ``identify`` returning the session's real-data report."""
    from migravity.analysis import identification

    calls = []

    def fake(zones, data_dir=None, *, reporter=None, data=None):
        calls.append((len(zones), data_dir))
        return identification_report

    monkeypatch.setattr(identification, "identify", fake)
    return calls


def test_calibrate_scenario_json_file(patched, data_dir, tmp_path, capsys):
    out = tmp_path / "ident.json"
    rc = _run(["calibrate-scenario", "--data-dir", str(data_dir), "--json", str(out)])
    assert rc == 0
    assert patched == [(318, data_dir)]
    text = capsys.readouterr().out
    assert "Change design" in text and "Placebo" in text and "Decisions" in text
    payload = json.loads(out.read_text())
    assert {"change", "placebo", "placebo_fails", "loro_range", "decisions", "specifications", "vcov"} <= set(payload)
    assert set(payload["decisions"]) >= {"delta_wfh_access", "delta_wfh_price", "theta_price", "theta_pay"}


def test_calibrate_scenario_json_stdout_is_pure(patched, data_dir, capsys):
    rc = _run(["--data-dir", str(data_dir), "calibrate-scenario", "--json", "-"])
    assert rc == 0
    cap = capsys.readouterr()
    payload = json.loads(cap.out)
    assert payload["cross_section_fails"] is True
    assert "Decisions" in cap.err
