"""``migravity validate``: exit 0, the table on stdout, strict JSON and a PNG (the real scorecard computed once)."""

from __future__ import annotations

import json

import pytest
from matplotlib.image import imread

from migravity.cli import main


def _run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as e:
        main(args)
    return int(e.value.code)


@pytest.fixture
def patched(monkeypatch, validation_scorecard):
    """The command as it runs, with ``validate`` returning the session's real-data scorecard."""
    from migravity.scenarios import validate

    calls = []

    def fake(zones, data_dir=None, *, seed=2021, reporter=None, **kwargs):
        calls.append((len(zones), data_dir, seed))
        return validation_scorecard

    monkeypatch.setattr(validate, "validate", fake)
    return calls


def test_validate_writes_json_and_png(patched, data_dir, tmp_path, capsys):
    out, png = tmp_path / "card.json", tmp_path / "sub" / "card.png"
    rc = _run(["validate", "--data-dir", str(data_dir), "--json", str(out), "--chart", str(png)])
    assert rc == 0
    assert patched == [(318, data_dir, 2021)]
    text = capsys.readouterr().out
    assert "Backtest scorecard" in text and "beats?" in text and "does NOT" in text
    payload = json.loads(out.read_text())
    assert {"lines", "n_beaten", "details"} <= set(payload)
    assert any(r["beats_benchmark"] is False for r in payload["lines"])
    img = imread(png)
    assert img.ndim == 3 and img.shape[0] > 500 and img.shape[1] > 500
    assert not list(tmp_path.glob("**/.*tmp*"))  # written atomically, nothing left behind


def test_validate_json_stdout_is_pure(patched, data_dir, capsys):
    rc = _run(["--data-dir", str(data_dir), "validate", "--json", "-", "--seed", "5"])
    assert rc == 0
    assert patched[0][2] == 5
    cap = capsys.readouterr()
    payload = json.loads(cap.out)
    assert payload["n_lines"] == len(payload["lines"])
    assert "Backtest scorecard" in cap.err


def test_validate_refuses_a_bad_chart_suffix(patched, data_dir, tmp_path, capsys):
    rc = _run(["validate", "--data-dir", str(data_dir), "--chart", str(tmp_path / "card.txt")])
    assert rc == 2
    assert patched == []
    err = capsys.readouterr().err
    assert "--chart" in err and ".png" in err
