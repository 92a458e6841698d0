"""Download registered datasets into the data directory, checksum-verified and atomically.

:func:`fetch` backs ``migravity data fetch``. Each file comes from one of

* the dataset's registered ``download_url`` (an address serving exactly the registered bytes);
* a *mirror* given as ``source``: a base URL (``http://`` or ``https://``; the file's URL is the
  base followed by the dataset's registry ``filename``) or a local directory laid out like the
  data directory (a path or a ``file://`` URL).

Bytes are streamed into a temporary file beside the target and hashed on the way; the temporary
file is renamed onto the final name only once its SHA-256 equals the registry's, so an interrupted
or corrupted download never leaves a file under the final name (nor a temporary one behind).

A dataset with no address serving its exact bytes (its file was converted from the publisher's
release) and no ``source`` is not an error: its result is ``"manual"``, with the official page and
whether the shipped data bundle covers it (:mod:`migravity.geodata.bundle`), and the CLI lists all
of them once, one short line each.

Failures do not stop the other datasets: every dataset that can be fetched is fetched, then one
:class:`~migravity.errors.FetchFailedError` (a :class:`~migravity.errors.FetchError`, importable
from here too) lists all the failures, one line each, and carries the other datasets' results.
"""

from __future__ import annotations

import hashlib
import http.client
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from migravity.errors import ConfigError, FetchError, FetchFailedError
from migravity.geodata.bundle import bundled
from migravity.geodata.datadir import DataDir, resolve_data_dir
from migravity.geodata.registry import DATASETS, REGISTRY, Dataset
from migravity.utils.atomic import atomic_path
from migravity.utils.hashing import sha256_file
from migravity.utils.progress import SILENT, Reporter

Result = Literal["present", "downloaded", "copied", "manual"]

#: Bytes read per chunk while downloading or copying.
CHUNK_SIZE = 1 << 16


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch` did for one dataset.

    Attributes
    ----------
    name : str
        Registry name of the dataset.
    result : {"present", "downloaded", "copied", "manual"}
        ``"present"``: the file was already there with the registered checksum and was left
        alone; ``"downloaded"``: fetched over HTTP(S); ``"copied"``: copied from a directory
        mirror; ``"manual"``: not fetched, because no address serves the exact registered bytes
        (get the file from ``page``, or use a mirror with ``source``).
    size : int
        Size of the file in bytes (0 when not fetched).
    path : pathlib.Path
        The file in the data directory.
    page : str
        The publisher's official page (``"manual"`` results).
    bundled : bool
        The shipped data bundle carries the dataset (``"manual"`` results).
    """

    name: str
    result: Result
    size: int
    path: Path
    page: str = ""
    bundled: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-serialisable dictionary (``path`` as a string).

        Returns
        -------
        dict
            Keys ``name``, ``result``, ``size`` and ``path``; for ``"manual"`` results also ``page``
            and ``bundled``.
        """
        d: dict[str, Any] = {"name": self.name, "result": self.result, "size": self.size, "path": str(self.path)}
        if self.result == "manual":
            d.update(page=self.page, bundled=self.bundled)
        return d


def fetch(
    names: Sequence[str] | None = None,
    *,
    data_dir: DataDir = None,
    source: str | None = None,
    force: bool = False,
    reporter: Reporter = SILENT,
    timeout: float = 60,
) -> list[FetchResult]:
    """Fetch dataset files into the data directory.

    A dataset whose file is present with the registered SHA-256 is left alone (result
    ``"present"``) unless ``force``; a file present with other bytes is fetched again and
    replaced once the new copy verifies.

    Parameters
    ----------
    names : sequence of str, optional
        Registry names to fetch. ``None`` or empty: every registered dataset (those already
        present are reported as ``"present"``).
    data_dir : path-like, optional
        The data directory (see :func:`~migravity.geodata.datadir.resolve_data_dir`).
    source : str, optional
        A mirror to fetch from instead of the registered ``download_url``: an ``http://`` or
        ``https://`` base URL, a ``file://`` URL or a local directory, laid out like the data
        directory.
    force : bool, default False
        Fetch even files that are present and verify.
    reporter : Reporter, optional
        Receives status lines and progress (see :mod:`migravity.utils.progress`); silent by default.
    timeout : float, default 60
        Seconds to wait for a connection or for each read before giving up.

    Returns
    -------
    list of FetchResult
        One per dataset, in the order asked (registry order by default).

    Raises
    ------
    ConfigError
        For an unknown dataset name, a ``source`` that is neither an HTTP(S) URL nor an
        existing directory, or a non-positive ``timeout`` (before anything is fetched).
    migravity.errors.FetchFailedError
        After trying every dataset, if any could not be fetched: an HTTP error, a timeout, a
        refused connection, an interrupted transfer or a checksum mismatch (a dataset without
        download address is a ``"manual"`` result, not a failure). Its ``results`` hold the others.
    """
    datasets = _select(names)
    mirror = _parse_source(source)
    if not timeout > 0:
        raise ConfigError("timeout", timeout, "give a positive number of seconds")
    root = resolve_data_dir(data_dir)
    results: list[FetchResult] = []
    failures: dict[str, str] = {}
    unreachable: dict[str, list[str]] = {}  # network reason -> datasets
    for ds in datasets:
        path = root / ds.filename
        if not force and path.is_file() and sha256_file(path) == ds.sha256:
            results.append(FetchResult(ds.name, "present", path.stat().st_size, path))
            continue
        if mirror is None and ds.download_url is None:
            results.append(FetchResult(ds.name, "manual", 0, path, ds.landing_page, bundled(ds.name)))
            continue
        try:
            results.append(_fetch_one(ds, path, mirror, reporter, timeout))
        except FetchError as e:
            failures[ds.name] = str(e)
            if e.network is not None:
                unreachable.setdefault(e.network, []).append(ds.name)
    if failures:
        raise FetchFailedError(failures, results, _summary(failures, unreachable, len(results)))
    return results


def _summary(failures: dict[str, str], unreachable: dict[str, list[str]], n_ok: int) -> str:
    """The failures, one line each, except that datasets failing on the same unreachable host share one line."""
    grouped = {name for names in unreachable.values() if len(names) > 1 for name in names}
    lines = [f"{reason} ({len(names)} datasets: {', '.join(names)})"
             for reason, names in unreachable.items() if len(names) > 1]
    lines += [msg for name, msg in failures.items() if name not in grouped]
    return FetchFailedError.summarise(len(failures), n_ok, lines)


def _no_address(ds: Dataset, path: Path) -> str:
    """Why ``ds`` cannot be fetched without a mirror, and how to get it by hand."""
    return f"{ds.name}: no exact-bytes download; get it from {ds.landing_page} as {path}, or use --source"


def _select(names: Sequence[str] | None) -> list[Dataset]:
    if not names:
        return list(DATASETS)
    if isinstance(names, str):
        names = [names]
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise ConfigError(
            "dataset", unknown[0] if len(unknown) == 1 else unknown,
            "use one of " + ", ".join(sorted(REGISTRY)),
        )
    return [REGISTRY[n] for n in dict.fromkeys(names)]


def _parse_source(source: str | None) -> str | Path | None:
    """Return the base URL (``str``) or directory (``Path``) of a mirror, or ``None``."""
    if source is None:
        return None
    text = str(source).strip()
    scheme = urllib.parse.urlsplit(text).scheme.lower()
    if scheme in ("http", "https"):
        return text
    if scheme == "file":
        parts = urllib.parse.urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise ConfigError("source", source, "give a file:// URL of a local directory")
        directory = Path(urllib.request.url2pathname(parts.path))
    else:
        directory = Path(text).expanduser()
    if not directory.is_dir():
        raise ConfigError(
            "source", source,
            "give an http:// or https:// base URL, or an existing directory laid out like the "
            "data directory",
        )
    return directory


def _fetch_one(
    ds: Dataset, path: Path, mirror: str | Path | None, reporter: Reporter, timeout: float
) -> FetchResult:
    if isinstance(mirror, Path):
        size = _copy(ds, mirror / ds.filename, path, reporter)
        return FetchResult(ds.name, "copied", size, path)
    if mirror is not None:
        url = mirror.rstrip("/") + "/" + urllib.parse.quote(ds.filename)
    elif ds.download_url is not None:
        url = ds.download_url
    else:
        raise FetchError(_no_address(ds, path))
    size = _download(ds, url, path, reporter, timeout)
    return FetchResult(ds.name, "downloaded", size, path)


def _download(
    ds: Dataset, url: str, path: Path, reporter: Reporter, timeout: float
) -> int:
    """Stream ``url`` into ``path`` atomically; return the number of bytes."""
    from migravity.utils.version import __version__

    reporter.info(f"fetching {ds.name} from {url}")
    request = urllib.request.Request(url, headers={"User-Agent": f"migravity/{__version__}"})
    where = f"{ds.name}: downloading {url} failed"
    try:
        with atomic_path(path) as tmp, urllib.request.urlopen(request, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length", "").strip()
            total = int(length) if length.isdigit() else None
            size, digest = _stream(resp.read, tmp, reporter, ds.name, total)
            if total is not None and size != total:
                raise FetchError(f"{where}: connection closed after {size} of {total} bytes")
            _verify(ds, digest, url)
    except FetchError:
        raise
    except urllib.error.HTTPError as e:
        raise FetchError(f"{where}: HTTP {e.code} {e.reason}") from e
    except urllib.error.URLError as e:
        err = FetchError(f"{where}: {_reason(e.reason, timeout)}")
        err.network = f"cannot reach {urllib.parse.urlsplit(url).netloc}: {_reason(e.reason, timeout)}"
        raise err from e
    except http.client.IncompleteRead as e:
        got = len(e.partial)
        more = "" if e.expected is None else f" ({e.expected} more expected)"
        raise FetchError(f"{where}: connection closed mid-transfer{more}, {got} bytes read") from e
    except (http.client.HTTPException, OSError) as e:
        raise FetchError(f"{where}: {_reason(e, timeout)}") from e
    return size


def _copy(ds: Dataset, src: Path, path: Path, reporter: Reporter) -> int:
    """Copy ``src`` into ``path`` atomically with the checksum check; return the size."""
    if not src.is_file():
        raise FetchError(f"{ds.name}: {src} not found in the --source directory")
    reporter.info(f"copying {ds.name} from {src}")
    try:
        with atomic_path(path) as tmp, open(src, "rb") as f:
            size, digest = _stream(f.read, tmp, reporter, ds.name, src.stat().st_size)
            _verify(ds, digest, str(src))
    except FetchError:
        raise
    except OSError as e:
        raise FetchError(f"{ds.name}: copying {src} failed: {e}") from e
    return size


def _stream(
    read: Callable[[int], bytes], tmp: Path, reporter: Reporter, label: str,
    total: int | None,
) -> tuple[int, str]:
    """Copy ``read`` chunks into ``tmp``, hashing them; return the size and SHA-256."""
    h = hashlib.sha256()
    size = 0
    with reporter.progress(label, total=total) as bar, open(tmp, "wb") as out:
        while chunk := read(CHUNK_SIZE):
            out.write(chunk)
            h.update(chunk)
            size += len(chunk)
            bar.advance(len(chunk))
    return size, h.hexdigest()


def _verify(ds: Dataset, digest: str, origin: str) -> None:
    if digest != ds.sha256:
        raise FetchError(
            f"{ds.name}: checksum mismatch for {origin}: expected sha256 {ds.sha256}, "
            f"got {digest}; the file was not saved"
        )


def _reason(err: object, timeout: float) -> str:
    if isinstance(err, TimeoutError):
        return f"timed out after {timeout:g} s"
    return str(err) or type(err).__name__
