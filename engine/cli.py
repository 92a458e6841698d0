"""``migravity calibrate``: fit a spatial-interaction model by PPML (placeholder until the engine lands)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the engine's commands to the root app."""
