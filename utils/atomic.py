"""Atomic writes: write to a temporary file (or directory) beside the target, then rename over it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    The writer may create a file or a directory (a Zarr store) there. On any exception the
    temporary file or directory is removed and ``target`` is left untouched, so no
    half-written file is ever visible under the final name.

    Parameters
    ----------
    target : path-like
        The final file name. Its directory must exist (it is created if missing).
    suffix : str, optional
        Suffix of the temporary file (defaults to the target's suffix, which some writers
        use to choose a format).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.part-", suffix=target.suffix if suffix is None else suffix,
        dir=target.parent,
    )
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # writers that refuse to overwrite (e.g. GDAL) get a free name
    try:
        yield tmp_path
        if tmp_path.is_dir() and target.is_dir():
            # a directory store (e.g. Zarr) cannot be renamed over a non-empty one: move the old aside
            old = tmp_path.with_name(tmp_path.name + ".old")
            os.replace(target, old)
            os.replace(tmp_path, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp_path, target)
    except BaseException:
        _remove(tmp_path)
        raise


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def atomic_write_text(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``target`` atomically (UTF-8)."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write(target: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` and rename the result onto ``target`` atomically."""
    with atomic_path(target) as tmp:
        writer(tmp)
