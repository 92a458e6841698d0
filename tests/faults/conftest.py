"""Helpers of the fault-injection suite: small files written the way a user or a broken download would."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from migravity.geodata.registry import REGISTRY

ODMG_HEADER = ("Migrant LTLA one year ago code,Migrant LTLA one year ago label,"
               "Lower tier local authorities code,Lower tier local authorities label,Count\n")


def place(data_dir: Path, dataset: str, text: str | bytes | None = None, source: Path | None = None) -> Path:
    """Write ``text`` (gzipped when the registered name ends in .gz) or copy ``source`` under the registered name."""
    path = data_dir / REGISTRY[dataset].filename
    path.parent.mkdir(parents=True, exist_ok=True)
    if source is not None:
        shutil.copyfile(source, path)
        return path
    data = (text or "").encode("utf-8") if not isinstance(text, bytes) else text
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


@pytest.fixture
def odmg(tmp_path: Path) -> Path:
    """A data directory path (empty) for ODMG01EW files."""
    return tmp_path
