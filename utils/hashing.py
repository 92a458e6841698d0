"""File checksums: the SHA-256 used by the data registry and by run-directory manifests."""

from __future__ import annotations

import hashlib
import os

_CHUNK = 1 << 20


def file_digest(path: str | os.PathLike[str]) -> tuple[str, int]:
    """The hex SHA-256 digest and the size in bytes of a file, read in chunks.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    tuple of (str, int)
        64 lower-case hex digits and the number of bytes.
    """
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex SHA-256 digest of a file (64 lower-case hex digits)."""
    return file_digest(path)[0]
