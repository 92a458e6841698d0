"""migravity: where people, and high-skilled workers above all, move between UK local authorities.

Sub-packages
------------
geodata
    Real ONS geography and statistics in (zones, attributes, observed flows), GIS-ready results out.
engine
    Numba-accelerated spatial-interaction kernels and Poisson (PPML) calibration.
scenarios
    Working-from-home and housing-cost what-ifs for high-skilled labour.
"""

from __future__ import annotations

from typing import Any

from migravity.errors import (
    ConfigError,
    ConvergenceError,
    DataError,
    DataMissingError,
    FetchError,
    HarmonisationError,
    InputError,
    MalformedDataError,
    MigravityError,
)

__all__ = [
    "ConfigError",
    "ConvergenceError",
    "DataError",
    "DataMissingError",
    "FetchError",
    "HarmonisationError",
    "InputError",
    "MalformedDataError",
    "MigravityError",
    "__version__",
    "calibrate",
]


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
