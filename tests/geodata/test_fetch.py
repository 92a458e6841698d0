"""``migravity.geodata.fetch`` and ``migravity data fetch``, against a local HTTP mirror.

A :class:`http.server.ThreadingHTTPServer` on 127.0.0.1 serves the real data directory (or a
tampered copy, or a misbehaving handler); nothing leaves the machine.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cli_helpers
import pytest

from migravity.errors import ConfigError, FetchError
from migravity.geodata.fetch import FetchFailedError, FetchResult, fetch
from migravity.geodata.registry import DATASETS, REGISTRY
from migravity.geodata.status import dataset_status

#: Row counts of a few registered files (CSV data rows, GeoJSON features).
EXPECTED_ROWS = {"odmg01ew": 96_468, "lad_boundaries_2024": 361, "lad_boundaries_2021": 374}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output clean."""


@contextmanager
def _serve(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on an ephemeral 127.0.0.1 port; yield the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _serve_dir(directory: Path) -> Any:
    return _serve(functools.partial(_QuietHandler, directory=str(directory)))


@pytest.fixture(scope="module")
def mirror(data_dir: Path) -> Iterator[str]:
    """A base URL serving the real data directory."""
    with _serve_dir(data_dir) as url:
        yield url


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _tampered_copy(data_dir: Path, root: Path, name: str) -> Path:
    """Copy ``name``'s file into ``root`` (same layout) with one byte changed."""
    ds = REGISTRY[name]
    data = bytearray((data_dir / ds.filename).read_bytes())
    data[len(data) // 2] ^= 0xFF
    target = root / ds.filename
    target.parent.mkdir(parents=True)
    target.write_bytes(bytes(data))
    return target


# ---- success ----------------------------------------------------------------------------------


def test_fetch_some_over_http(mirror: str, data_dir: Path, tmp_path: Path) -> None:
    names = ["odmg01ew", "lad_boundaries_2024", "lad_boundaries_2021"]
    results = fetch(names, data_dir=tmp_path, source=mirror)
    assert [r.name for r in results] == names
    for r in results:
        ds = REGISTRY[r.name]
        assert r.result == "downloaded"
        assert r.path == tmp_path / ds.filename
        assert r.path.read_bytes() == (data_dir / ds.filename).read_bytes()
        assert r.size == r.path.stat().st_size
    assert len(_files(tmp_path)) == len(names)  # no temporary files left behind

    status = {s.name: s for s in dataset_status(tmp_path)}
    for name, rows in EXPECTED_ROWS.items():
        assert status[name].status == "present"
        assert status[name].rows == rows
    assert status["odwp01ew"].status == "missing"


def test_fetch_all_over_http_then_present(mirror: str, data_dir: Path, tmp_path: Path) -> None:
    results = fetch(None, data_dir=tmp_path, source=mirror.rstrip("/"))
    assert [r.name for r in results] == [d.name for d in DATASETS]
    assert {r.result for r in results} == {"downloaded"}
    for d in DATASETS:
        assert (tmp_path / d.filename).read_bytes() == (data_dir / d.filename).read_bytes()
    assert len(_files(tmp_path)) == len(DATASETS)
    assert {s.status for s in dataset_status(tmp_path)} == {"present"}

    again = fetch(None, data_dir=tmp_path, source=mirror)
    assert {r.result for r in again} == {"present"}
    assert [r.size for r in again] == [r.size for r in results]


def test_force_fetches_a_present_file_again(mirror: str, tmp_path: Path) -> None:
    fetch(["wimd2019"], data_dir=tmp_path, source=mirror)
    assert fetch(["wimd2019"], data_dir=tmp_path, source=mirror)[0].result == "present"
    assert fetch(["wimd2019"], data_dir=tmp_path, source=mirror, force=True)[0].result == (
        "downloaded"
    )
    assert len(_files(tmp_path)) == 1


def test_corrupt_file_in_data_dir_is_replaced(mirror: str, data_dir: Path, tmp_path: Path) -> None:
    path = _tampered_copy(data_dir, tmp_path, "simd2020")
    [result] = fetch(["simd2020"], data_dir=tmp_path, source=mirror)
    assert result.result == "downloaded"
    assert path.read_bytes() == (data_dir / REGISTRY["simd2020"].filename).read_bytes()


@pytest.mark.parametrize("as_url", [False, True], ids=["path", "file-url"])
def test_fetch_from_directory(data_dir: Path, tmp_path: Path, as_url: bool) -> None:
    source = data_dir.as_uri() if as_url else str(data_dir)
    names = ["la_clusters", "lookup_ltla_chain", "lad_boundaries_2021"]
    results = fetch(names, data_dir=tmp_path / "data", source=source)
    assert [(r.name, r.result) for r in results] == [(n, "copied") for n in names]
    for r in results:
        assert r.path.read_bytes() == (data_dir / REGISTRY[r.name].filename).read_bytes()
    assert len(_files(tmp_path)) == len(names)


def test_duplicate_names_fetched_once(data_dir: Path, tmp_path: Path) -> None:
    results = fetch(["wimd2019", "wimd2019"], data_dir=tmp_path, source=str(data_dir))
    assert [r.name for r in results] == ["wimd2019"]


def test_progress_and_info_reported_to_state(mirror: str, data_dir: Path, tmp_path: Path) -> None:
    class Bar:
        def __init__(self) -> None:
            self.done = 0

        def advance(self, amount: float = 1) -> None:
            self.done += int(amount)

        def update(self, **kwargs: Any) -> None:
            pass

    class State:
        def __init__(self) -> None:
            self.bars: list[tuple[str, float | None, Bar]] = []
            self.messages: list[str] = []

        @contextmanager
        def progress(self, description: str, total: float | None = None) -> Iterator[Bar]:
            bar = Bar()
            self.bars.append((description, total, bar))
            yield bar

        def info(self, message: str) -> None:
            self.messages.append(message)

    state = State()
    [result] = fetch(["odmg01ew"], data_dir=tmp_path, source=mirror, reporter=state)
    size = (data_dir / REGISTRY["odmg01ew"].filename).stat().st_size
    [(description, total, bar)] = state.bars
    assert "odmg01ew" in description
    assert total == size
    assert bar.done == size == result.size
    assert any(mirror in m for m in state.messages)


# ---- failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["http", "directory"])
def test_checksum_mismatch(data_dir: Path, tmp_path: Path, via: str) -> None:
    bad = tmp_path / "mirror"
    _tampered_copy(data_dir, bad, "odmg01ew")
    target = tmp_path / "data"
    ds = REGISTRY["odmg01ew"]
    if via == "http":
        with _serve_dir(bad) as url, pytest.raises(FetchError) as info:
            fetch(["odmg01ew"], data_dir=target, source=url)
    else:
        with pytest.raises(FetchError) as info:
            fetch(["odmg01ew"], data_dir=target, source=str(bad))
    message = str(info.value)
    assert "odmg01ew" in message and "checksum mismatch" in message
    assert ds.sha256 in message
    assert "\n" not in message
    assert not (target / ds.filename).exists()
    assert _files(target) == []  # no temporary file either


class _ShortBodyHandler(http.server.BaseHTTPRequestHandler):
    """Announces 100,000 bytes, sends 1,000, then closes the connection."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"x" * 1000)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silence."""


def test_interrupted_download_leaves_nothing(tmp_path: Path) -> None:
    with _serve(_ShortBodyHandler) as url, pytest.raises(FetchError) as info:
        fetch(["odmg01ew"], data_dir=tmp_path, source=url)
    message = str(info.value)
    assert "odmg01ew" in message and url in message
    assert _files(tmp_path) == []


def test_stalled_download_times_out(tmp_path: Path) -> None:
    release = threading.Event()

    class Stall(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"x" * 1000)
            self.wfile.flush()
            release.wait(5)

        def log_message(self, format: str, *args: Any) -> None:
            """Silence."""

    try:
        with _serve(Stall) as url, pytest.raises(FetchError, match="timed out"):
            fetch(["odmg01ew"], data_dir=tmp_path, source=url, timeout=0.3)
    finally:
        release.set()
    assert _files(tmp_path) == []


def test_http_404(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with _serve_dir(empty) as url, pytest.raises(FetchError, match="HTTP 404") as info:
        fetch(["odmg01ew"], data_dir=tmp_path / "data", source=url)
    assert url + "flows/ODMG01EW_LTLA.csv.gz" in str(info.value)
    assert _files(tmp_path) == []


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError, match=f"127.0.0.1:{port}"):
        fetch(["odmg01ew"], data_dir=tmp_path, source=f"http://127.0.0.1:{port}/", timeout=5)
    assert _files(tmp_path) == []


def test_no_download_url_without_source(tmp_path: Path) -> None:
    """A file no address serves is a "manual" result naming its official page and the bundle, not a failure."""
    ds = REGISTRY["commute2011"]
    assert ds.download_url is None
    [result] = fetch(["commute2011"], data_dir=tmp_path)
    assert result.result == "manual" and result.size == 0
    assert result.page == ds.landing_page and result.bundled
    assert result.as_dict()["page"] == ds.landing_page
    assert result.path == tmp_path / ds.filename
    assert _files(tmp_path) == []


def test_registered_download_url_is_used_without_source(
    mirror: str, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = REGISTRY["odmg01ew"]
    local = dataclasses.replace(ds, download_url=mirror + ds.filename)
    monkeypatch.setitem(REGISTRY, "odmg01ew", local)
    [result] = fetch(["odmg01ew"], data_dir=tmp_path)
    assert result.result == "downloaded"
    assert result.path.read_bytes() == (data_dir / ds.filename).read_bytes()


def test_datasets_without_address_listed_not_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only real failures fail; the files without address are listed (result "manual"); one line per failure."""
    empty = tmp_path / "empty"
    empty.mkdir()
    with _serve_dir(empty) as url:
        for name in ("odmg01ew", "odwp01ew"):
            ds = REGISTRY[name]
            monkeypatch.setitem(REGISTRY, name, dataclasses.replace(ds, download_url=url + name))
        with pytest.raises(FetchFailedError) as info:
            fetch(["odmg01ew", "commute2011", "odwp01ew", "wimd2019"], data_dir=tmp_path / "data")
    lines = str(info.value).splitlines()
    assert lines[0] == "could not fetch 2 of 4 datasets:"
    assert lines[1].startswith("  odmg01ew: downloading ") and "HTTP 404" in lines[1]
    assert lines[2].startswith("  odwp01ew: downloading ") and len(lines) == 3
    assert all(len(line) < 160 for line in lines)
    assert list(info.value.failures) == ["odmg01ew", "odwp01ew"]
    assert [(r.name, r.result, r.bundled) for r in info.value.results] == [
        ("commute2011", "manual", True), ("wimd2019", "manual", True)]
    assert _files(tmp_path / "data") == []


def test_failures_do_not_stop_other_datasets(data_dir: Path, tmp_path: Path) -> None:
    partial = tmp_path / "mirror"
    src = data_dir / REGISTRY["wimd2019"].filename
    (partial / src.parent.relative_to(data_dir)).mkdir(parents=True)
    (partial / REGISTRY["wimd2019"].filename).write_bytes(src.read_bytes())
    target = tmp_path / "data"
    with _serve_dir(partial) as url, pytest.raises(FetchFailedError) as info:
        fetch(["simd2020", "wimd2019", "ruc2021"], data_dir=target, source=url)
    err = info.value
    assert isinstance(err, FetchError)
    assert list(err.failures) == ["simd2020", "ruc2021"]
    fetched = target / src.relative_to(data_dir)
    assert err.results == [FetchResult("wimd2019", "downloaded", src.stat().st_size, fetched)]
    assert str(err).startswith("could not fetch 2 of 3 datasets:\n  simd2020: ")
    assert _files(target) == [target / REGISTRY["wimd2019"].filename]


def test_unknown_dataset_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="odmg01ew") as info:
        fetch(["odmg01ew", "no_such_dataset"], data_dir=tmp_path, source=str(tmp_path))
    assert "no_such_dataset" in str(info.value)
    assert _files(tmp_path) == []


@pytest.mark.parametrize("source", ["ftp://example.org/data", "does/not/exist"])
def test_bad_source_is_config_error(tmp_path: Path, source: str) -> None:
    with pytest.raises(ConfigError, match="source"):
        fetch(["odmg01ew"], data_dir=tmp_path, source=source)


# ---- command line -----------------------------------------------------------------------------


def _cli(*args: str) -> cli_helpers.CliResult:
    """``migravity ARGS`` in this process (see ``tests/cli_helpers.py``), ``MIGRAVITY_DATA`` unset."""
    return cli_helpers.run(args, env={"MIGRAVITY_DATA": None})


def test_cli_fetch_and_status(mirror: str, tmp_path: Path) -> None:
    names = ["odmg01ew", "lad_boundaries_2024", "lad_boundaries_2021"]
    run = _cli("--data-dir", str(tmp_path), "data", "fetch", *names, "--source", mirror)
    assert run.returncode == 0, run.stderr
    assert "odmg01ew" in run.stdout and "downloaded" in run.stdout

    run = _cli("--data-dir", str(tmp_path), "data", "status", "--json", "-")
    assert run.returncode == 0, run.stderr
    rows = {r["name"]: r for r in json.loads(run.stdout)}
    assert list(rows) == [d.name for d in DATASETS]
    for name, count in EXPECTED_ROWS.items():
        assert rows[name]["status"] == "present"
        assert rows[name]["rows"] == count
        assert rows[name]["path"] == str(tmp_path / REGISTRY[name].filename)
    assert rows["odwp01ew"] == {
        "name": "odwp01ew", "status": "missing", "rows": None, "vintage": "2021",
        "coverage": "EW", "path": str(tmp_path / REGISTRY["odwp01ew"].filename),
    }


def test_cli_checksum_failure_exit_code(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "mirror"
    _tampered_copy(data_dir, bad, "odmg01ew")
    target = tmp_path / "data"
    with _serve_dir(bad) as url:
        run = _cli("-q", "--data-dir", str(target), "data", "fetch", "odmg01ew", "--source", url)
    assert run.returncode == 1
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("migravity: error: odmg01ew: checksum mismatch")
    assert _files(target) == []


def test_cli_unknown_dataset_exit_code(tmp_path: Path) -> None:
    run = _cli("--data-dir", str(tmp_path), "data", "fetch", "nope", "--source", str(tmp_path))
    assert run.returncode == 2
    assert "nope" in run.stderr
