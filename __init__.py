"""migravity: where people, and high-skilled workers above all, move between UK local authorities.

Sub-packages (each imports only from those below it; import-linter checks the layers)
-------------------------------------------------------------------------------------
cli
    The ``migravity`` command (typer).
outputs
    GIS layers and files (GeoPackage, GeoParquet, GeoJSON, flowmap.blue) and static figures.
scenarios, analysis
    Working-from-home and housing-cost what-ifs for high-skilled labour; the stylised facts and
    the model ladder.
engine, geodata
    Numba-accelerated spatial-interaction kernels and Poisson (PPML) calibration; real ONS
    geography and statistics in (zones, attributes, observed flows, pair tables).
utils
    Atomic writes, strict JSON, progress reporting.

Every exception migravity defines is in :mod:`migravity.errors` and exported here.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from migravity.errors import (
    ChecksumError,
    ConfigError,
    ConvergenceError,
    DataError,
    DataMissingError,
    ExportError,
    FetchError,
    FetchFailedError,
    HarmonisationError,
    InputError,
    MalformedDataError,
    MigravityError,
    RunDirError,
)

__all__ = [
    "ChecksumError",
    "ConfigError",
    "ConvergenceError",
    "DataError",
    "DataMissingError",
    "ExportError",
    "FetchError",
    "FetchFailedError",
    "HarmonisationError",
    "InputError",
    "MalformedDataError",
    "MigravityError",
    "RunDirError",
    "__version__",
    "calibrate",
]


def __dir__() -> list[str]:
    # the public API (with the lazy calibrate and __version__), the loaded sub-packages and the dunders; not the
    # helpers this module imports for itself (Any, annotations)
    loaded = {n for n, v in globals().items() if n.startswith("__") or isinstance(v, ModuleType)}
    return sorted({*loaded, *__all__})


def __getattr__(name: str) -> Any:
    # Lazy: `import migravity` stays cheap (no numba compile, no geopandas, no importlib.metadata, which
    # alone is most of `import migravity.cli`) until the engine or the version is used.
    if name == "__version__":
        from migravity.utils.version import __version__

        return __version__
    if name == "calibrate":
        from migravity.engine import calibrate

        return calibrate
    raise AttributeError(f"module 'migravity' has no attribute {name!r}")
