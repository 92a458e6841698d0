"""Checks on output paths shared by the GIS writers and the figures."""

from __future__ import annotations

import os
from pathlib import Path

from migravity.errors import ExportError


def refuse_file_parent(path: str | os.PathLike[str]) -> None:
    """Refuse a path whose nearest existing parent is a file rather than a directory.

    Writing there would fail with an obscure ``FileExistsError`` or ``NotADirectoryError`` once
    the work is done; this says so plainly before any.

    Parameters
    ----------
    path : path-like
        The file or directory about to be written.

    Raises
    ------
    ExportError
        Naming ``path`` and the parent that is a file.
    """
    path = Path(path)
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ExportError(path, f"{parent} is a file, not a directory")
            break
