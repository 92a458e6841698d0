"""User tables (``calibrate --table``) and scenario files: every parse failure one InputError naming file and line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from migravity.cli import main
from migravity.errors import ConfigError, InputError, MalformedDataError
from migravity.scenarios.spec import load_scenario, percent_vector, validate_inputs
from migravity.utils.tables import read_user_table

HEADER = "origin,destination,flow,distance_km\n"
ROWS = "A,B,5,10\nA,C,3,20\nB,A,4,10\nB,C,0,15\nC,A,2,20\nC,B,6,15\n"


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as e:
        main(args)
    return int(e.value.code), capsys.readouterr().err


def _calibrate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    return _cli(["calibrate", "--table", str(path), "--cost", "distance_km", "--constraint", "none"], capsys)


@pytest.mark.parametrize(("content", "problem", "line"), [
    (HEADER + "A,B,5,10\nA,C,3,20,EXTRA\n", "cannot parse CSV", 3),               # ragged
    (b"", "empty", None),                                                       # empty
    (HEADER, "no data rows", 1),                                                # header only
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary", None),                   # binary
    ((HEADER + "A,B,5,10\nZ\xfcrich,B,3,20\n").encode("latin-1"), "not UTF-8", 3),  # latin-1
    (HEADER + "A,B,five,10\n" + ROWS, "non-numeric value 'five'", 2),           # text in the flow column
    (HEADER + ROWS + "C,D,3,far\n", "non-numeric value 'far'", 8),              # text in the cost column
    (HEADER + ROWS + ",D,3,10\n", "column 'origin' is empty", 8),               # empty area code
    (HEADER + ROWS + "A,B,7,10\n", "duplicate key", 8),                         # a pair given twice
    (HEADER + ROWS + "A,D,inf,10\n", "infinite", 8),                            # inf flow
])
def test_calibrate_table_faults(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes,
                                problem: str, line: int | None) -> None:
    """Before: tracebacks (exit 1) or silent acceptance. After: exit 2, one line naming the file (and line)."""
    path = tmp_path / "od.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    rc, err = _calibrate(path, capsys)
    assert rc == 2, err
    assert err.startswith("migravity: error:") and err.count("\n") == 1 and "Traceback" not in err
    assert str(path) in err and problem in err
    if line is not None:
        assert f"line {line}" in err


def test_corrupt_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: ArrowInvalid traceback. After: exit 2 naming the file."""
    path = tmp_path / "od.parquet"
    pd.read_csv(__import__("io").StringIO(HEADER + ROWS)).to_parquet(path)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    rc, err = _calibrate(path, capsys)
    assert rc == 2 and "not a readable Parquet file" in err and str(path) in err


def test_text_in_a_term_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A ``--term log(col)`` whose column holds text: the column and line are named."""
    path = tmp_path / "od.csv"
    path.write_text("origin,destination,flow,distance_km,pop\nA,B,5,10,3\nA,C,3,20,x\nB,A,4,10,2\n")
    rc, err = _cli(["calibrate", "--table", str(path), "--cost", "distance_km", "--term", "log(pop)",
                    "--constraint", "none"], capsys)
    assert rc == 2 and "column 'pop' holds non-numeric value 'x'" in err and "line 3" in err


def test_sparse_table_too_big_for_memory(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: a sparse 50,000 x 50,000 table asked for dense 18.6 GiB grids. After: refused with the numbers."""
    n = 50_000
    df = pd.DataFrame({"origin": [f"o{i}" for i in range(n)], "destination": [f"d{i}" for i in range(n)],
                       "flow": 1.0, "distance_km": 5.0})
    path = tmp_path / "sparse.parquet"
    df.to_parquet(path)
    monkeypatch.setenv("MIGRAVITY_MEMORY_LIMIT", "64G")
    rc, err = _calibrate(path, capsys)
    assert rc == 2 and "18.6 GiB each" in err and "more than the 64.0 GiB available" in err


def test_read_user_table_parquet_rows(tmp_path: Path) -> None:
    """Parquet problems name the row (there are no lines)."""
    path = tmp_path / "t.parquet"
    pd.DataFrame({"lad": ["E06000001", "E06000001"], "pct": [1.0, 2.0]}).to_parquet(path)
    with pytest.raises(MalformedDataError, match=r"duplicate key \{'lad': 'E06000001'\} \(rows 1 and 2\)"):
        read_user_table(path, "t", columns=["lad", "pct"], numeric=["pct"], key=["lad"])


# ---- scenario files --------------------------------------------------------------------------------------

CODES = ("E06000001", "E06000002", "E06000003")
REGIONS = ("E12000001",) * 3


def _scenario(tmp_path: Path, prices: str, block: str = 'table = "prices.csv"') -> Path:
    (tmp_path / "prices.csv").write_text(prices)
    f = tmp_path / "sc.toml"
    f.write_text(f"[[house_prices]]\n{block}\n")
    return f


def test_duplicate_lad_in_price_table(tmp_path: Path) -> None:
    """Before: a LAD listed twice silently took the last value. After: an error naming both lines."""
    sc = load_scenario(_scenario(tmp_path, "lad,pct\nE06000001,-10\nE06000002,5\nE06000001,20\n"))
    with pytest.raises(MalformedDataError, match=r"duplicate key \{'lad': 'E06000001'\} \(lines 2 and 4\)") as e:
        percent_vector(sc.house_prices, CODES, REGIONS, __import__("numpy").zeros(3, bool))
    assert e.value.line == 4 and "prices.csv" in str(e.value)


def test_pct_with_table_conflict(tmp_path: Path) -> None:
    """Before: pct was silently ignored when table was given. After: ConfigError."""
    f = _scenario(tmp_path, "lad,pct\nE06000001,-10\n", 'pct = -15\ntable = "prices.csv"')
    with pytest.raises(ConfigError, match="not both"):
        load_scenario(f)


@pytest.mark.parametrize(("prices", "problem"), [
    ("lad,pct\nE06000001,lots\n", "non-numeric value 'lots'"),
    ("lad,pct\n,5\n", "column 'lad' is empty"),
    ("lad,pct\n", "no data rows"),
    ("", "empty"),
])
def test_price_table_parse_faults(tmp_path: Path, prices: str, problem: str) -> None:
    """Text, empty codes, header-only and empty price tables: InputError naming the file."""
    sc = load_scenario(_scenario(tmp_path, prices))
    with pytest.raises(InputError, match=problem) as e:
        validate_inputs(sc, CODES, REGIONS)
    assert "prices.csv" in str(e.value)


def test_binary_scenario_file(tmp_path: Path) -> None:
    """Before: UnicodeDecodeError traceback. After: MalformedDataError naming the file."""
    f = tmp_path / "sc.toml"
    f.write_bytes(b"\x00\x01\x02binary\xff")
    with pytest.raises(MalformedDataError, match="binary file") as e:
        load_scenario(f)
    assert e.value.path == f


def test_latin1_scenario_file(tmp_path: Path) -> None:
    """A scenario file saved as latin-1: the line of the first bad byte is named."""
    f = tmp_path / "sc.toml"
    f.write_bytes('description = "ok"\nname = "Z\xfcrich"\n'.encode("latin-1"))
    with pytest.raises(MalformedDataError, match="not UTF-8") as e:
        load_scenario(f)
    assert e.value.line == 2


def test_segment_table_duplicate(tmp_path: Path) -> None:
    """A (lad, segment) pair given twice in a segment table: an error naming the lines."""
    from migravity.scenarios.segments import SEGMENTS, read_segment_table

    rows = [f"E06000001,{s},{1 / len(SEGMENTS)}" for s in SEGMENTS]
    path = tmp_path / "seg.csv"
    path.write_text("lad,segment,share\n" + "\n".join([*rows, rows[0]]) + "\n")
    with pytest.raises(MalformedDataError, match="duplicate key"):
        read_segment_table(path, ("E06000001",))
