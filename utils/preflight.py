"""Checks run before any data loading or computation: output paths, seeds and memory needs.

The CLI calls these first, so a command that cannot finish fails in well under a second with one
line instead of a traceback after minutes of work.

Memory
------
:func:`available_memory` is what the operating system reports as available to a new allocation:
``psutil.virtual_memory().available`` when psutil is installed, else ``MemAvailable`` of
``/proc/meminfo`` (Linux), else free physical pages from ``os.sysconf`` (``SC_AVPHYS_PAGES`` x
``SC_PAGE_SIZE``). The environment variable ``MIGRAVITY_MEMORY_LIMIT`` (bytes, or with a ``K``,
``M``, ``G`` or ``T`` suffix, binary units) replaces it, e.g. under a container limit the OS does not show.
:func:`check_memory` refuses an estimate above it, giving both numbers.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from migravity.errors import ConfigError

#: Largest seed accepted. NumPy takes seeds up to 2**32 - 1, but ``results.nc`` is netCDF3 (scipy engine),
#: whose integer attributes are 32-bit *signed*: a seed of 2**31 ran the whole simulation and then failed
#: to be written. So the limit is 2**31 - 1.
MAX_SEED = 2**31 - 1
#: Environment variable that overrides :func:`available_memory` (bytes, or with a K/M/G/T suffix).
MEMORY_LIMIT_ENV = "MIGRAVITY_MEMORY_LIMIT"
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def gib(n_bytes: float) -> str:
    """``n_bytes`` in GiB with one decimal, e.g. ``"18.6 GiB"``."""
    return f"{n_bytes / 2**30:,.1f} GiB"


def available_memory() -> int | None:
    """Bytes of memory available to this process (see the module docs); ``None`` when unknown."""
    limit = os.environ.get(MEMORY_LIMIT_ENV, "").strip().upper().removesuffix("B").removesuffix("I")
    if limit:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)", limit)
        if m is None:
            raise ConfigError(MEMORY_LIMIT_ENV, os.environ[MEMORY_LIMIT_ENV], "give bytes, e.g. 8G or 8589934592")
        return int(float(m.group(1)) * _UNITS[m.group(2)])
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(need: float, what: str, field: str, value: object, fix: str) -> None:
    """Raise :class:`ConfigError` when ``need`` bytes exceed :func:`available_memory`.

    Parameters
    ----------
    need : float
        Estimated bytes.
    what : str
        What needs them, e.g. ``"the simulated stocks (100,000 draws x 101 years x 16 segments x 318 LADs)"``.
    field, value : str, object
        The option at fault and its value, for the error.
    fix : str
        How to ask for less.
    """
    avail = available_memory()
    if avail is not None and need > avail:
        raise ConfigError(field, value, f"{what} need about {gib(need)} of memory, more than the {gib(avail)} "
                                        f"available: {fix}")


def check_seed(seed: int | None, field: str = "--seed") -> None:
    """Refuse a seed outside ``0 .. 2**31 - 1`` (:data:`MAX_SEED`)."""
    if seed is not None and not (0 <= seed <= MAX_SEED):
        raise ConfigError(field, seed, f"give an integer between 0 and {MAX_SEED} (2**31 - 1: the netCDF3 "
                                       "results file stores it as a 32-bit signed integer)")


def check_output_file(path: str | os.PathLike[str] | None, field: str) -> None:
    """Refuse an output file that cannot be written: a directory, or under a file. ``-`` (stdout) passes.

    Parameters
    ----------
    path : path-like or None
        The file about to be written (``None``: none asked for).
    field : str
        The option, e.g. ``--json``.
    """
    if path is None or str(path) == "-":
        return
    if str(path).strip() == "":
        raise ConfigError(field, str(path), "give a file name (or '-' for stdout)")
    p = Path(path)
    if p.is_dir():
        raise ConfigError(field, str(p), "is a directory: give a file name")
    _refuse_file_parent(p, field)


def check_output_dir(path: str | os.PathLike[str], field: str) -> None:
    """Refuse an output directory that cannot be made: an existing file, or under a file."""
    if str(path).strip() == "":
        raise ConfigError(field, str(path), "give a directory name")
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ConfigError(field, str(p), "is a file: give a directory")
    _refuse_file_parent(p, field)


def _refuse_file_parent(p: Path, field: str) -> None:
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(field, str(p), f"{parent} is a file, not a directory")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise ConfigError(field, str(p), f"cannot write in {parent} (permission denied)")
            return
