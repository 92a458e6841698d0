"""asv benchmarks of the geodata layer on the real LAD data (skipped when the data are absent)."""

from __future__ import annotations

import subprocess
import sys

from ._data import real_data_dir


class ImportTime:
    """Import cost of the package and its CLI (fresh interpreter)."""

    timeout = 120

    def timeraw_import_migravity(self) -> str:
        return "import migravity"

    def timeraw_import_engine(self) -> str:
        return "import migravity.engine"

    def time_cli_help(self) -> None:
        subprocess.run([sys.executable, "-m", "migravity", "--help"], check=True, capture_output=True)


class Zones:
    """Loading zones, pair terms and attributes for the 2023 England and Wales LADs (318)."""

    timeout = 300

    def setup(self) -> None:
        from migravity.geodata import load_zones

        self.data_dir = real_data_dir()
        if self.data_dir is None:
            raise NotImplementedError("real data not available")
        self.zones = load_zones("2023", "EW", self.data_dir)

    def time_load_zones(self) -> None:
        from migravity.geodata import load_zones

        load_zones("2023", "EW", self.data_dir)

    def time_distance_matrix(self) -> None:
        from migravity.geodata import distance_matrix

        distance_matrix(self.zones)

    def time_contiguity_matrix(self) -> None:
        from migravity.geodata import contiguity_matrix

        contiguity_matrix(self.zones)

    def time_load_attributes(self) -> None:
        from migravity.geodata import load_attributes

        load_attributes(self.zones, self.data_dir)

    def time_load_flows_migration2021(self) -> None:
        from migravity.geodata import load_flows

        load_flows("migration2021", self.zones, self.data_dir)


class Export:
    """GIS export of the zones layer with attributes and the top 1,000 flows."""

    timeout = 300
    params = ["gpkg", "parquet", "geojson", "flowmap"]
    param_names = ["format"]

    def setup(self, fmt: str) -> None:
        import tempfile

        from migravity.geodata import load_attributes, load_flows, load_zones

        self.data_dir = real_data_dir()
        if self.data_dir is None:
            raise NotImplementedError("real data not available")
        self.zones = load_zones("2023", "EW", self.data_dir)
        self.values = load_attributes(self.zones, self.data_dir)
        self.flows = load_flows("migration2021", self.zones, self.data_dir)
        self.tmp = tempfile.TemporaryDirectory()

    def teardown(self, fmt: str) -> None:
        # asv calls teardown even when setup skipped the benchmark (no data, so no ``self.tmp``)
        if hasattr(self, "tmp"):
            self.tmp.cleanup()

    def time_export(self, fmt: str) -> None:
        from pathlib import Path

        from migravity.outputs.export import export

        suffix = {"gpkg": "out.gpkg", "parquet": "parquet", "geojson": "geojson", "flowmap": "flowmap"}[fmt]
        export(Path(self.tmp.name) / suffix, format=fmt, zones=self.zones, values=self.values,
               flows={"observed": self.flows}, top_k=1000)
