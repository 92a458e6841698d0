"""Sphinx extension of the migravity docs (filled in by the later steps)."""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the extension's hooks."""
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
