"""Shared real-data fixtures of the geodata tests (session-scoped: zones, attributes and flows load once)."""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr

from migravity.geodata.attributes import load_attributes
from migravity.geodata.flows import load_flows
from migravity.geodata.zones import ZoneSet, load_zones


@pytest.fixture(scope="session")
def zones23(data_dir: Path) -> ZoneSet:
    """England and Wales on 2023 codes (318 zones)."""
    return load_zones("2023", "EW", data_dir)


@pytest.fixture(scope="session")
def zones21(data_dir: Path) -> ZoneSet:
    """England and Wales on 2021 codes (331 zones, the Census 2021 geography)."""
    return load_zones("2021", "EW", data_dir)


@pytest.fixture(scope="session")
def attrs23(zones23: ZoneSet, data_dir: Path) -> xr.Dataset:
    """Attributes on the 2023 zones."""
    return load_attributes(zones23, data_dir)


@pytest.fixture(scope="session")
def attrs21(zones21: ZoneSet, data_dir: Path) -> xr.Dataset:
    """Attributes on the 2021 zones."""
    return load_attributes(zones21, data_dir)


@pytest.fixture(scope="session")
def mig21_on21(zones21: ZoneSet, data_dir: Path) -> xr.DataArray:
    """Census 2021 migration on 2021 codes."""
    return load_flows("migration2021", zones21, data_dir)


@pytest.fixture(scope="session")
def mig21_on23(zones23: ZoneSet, data_dir: Path) -> xr.DataArray:
    """Census 2021 migration on 2023 codes."""
    return load_flows("migration2021", zones23, data_dir)


@pytest.fixture(scope="session")
def msoa_zones(data_dir: Path) -> ZoneSet:
    """The 7,264 MSOAs of England and Wales (2021 codes), loaded once per session."""
    return load_zones("2021", "EW", data_dir, level="msoa")


@pytest.fixture(scope="session")
def msoa_migration(msoa_zones: ZoneSet, data_dir: Path) -> xr.DataArray:
    """Census 2021 migration between MSOAs (7,264 x 7,264)."""
    return load_flows("migration2021", msoa_zones, data_dir)
