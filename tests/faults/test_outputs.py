"""Exports that would be empty are errors (exit 2), not empty files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from migravity.errors import ConfigError
from migravity.outputs.export_layers import refuse_empty


def test_refuse_empty_names_threshold_and_largest() -> None:
    """Before: a threshold above every flow wrote empty files with exit 0. After: ConfigError with the largest flow."""
    with pytest.raises(ConfigError, match=r"threshold=1000000\.0 .*the largest is 42"):
        refuse_empty(np.array([], dtype=int), np.array([[0.0, 42.0], [3.0, np.nan]]), 1e6)
    refuse_empty(np.array([1]), np.array([[0.0, 42.0], [3.0, 0.0]]), 10.0)


def test_export_threshold_filters_everything(tmp_path: Path, data_dir: Path) -> None:
    """Real zones and flows: a threshold above the largest flow writes nothing and raises, for each format."""
    from migravity.geodata import load_flows, load_zones
    from migravity.outputs.export import export

    zones = load_zones("2023", "Wales", data_dir)
    flows = load_flows("migration2021", zones, data_dir)
    for fmt, out in (("gpkg", tmp_path / "x.gpkg"), ("flowmap", tmp_path / "fm")):
        with pytest.raises(ConfigError, match="would be empty"):
            export(out, format=fmt, zones=zones, flows=flows, threshold=1e9)  # type: ignore[arg-type]
        assert not out.exists()
