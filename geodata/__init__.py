"""Data in: real ONS geography and statistics (sources, harmonisation, zones, geometry, attributes, flows, pair tables).

Main entry points (imported lazily so that ``migravity --help`` stays fast):

- :func:`load_zones` -> :class:`ZoneSet`: the study area (codes, names, region, nation, geometry).
- :func:`distance_matrix`, :func:`contiguity_matrix`: pair terms from the polygons.
- :func:`load_attributes`: zone attributes as an xarray Dataset (dimension ``lad``).
- :func:`load_skills`: Census 2011/2021 HSL, WFH, qualifications, teleworkability and jobs by zone.
- :func:`load_dated_covariates`: house price and pay dated to a census's flows.
- :func:`load_flows`: observed OD flows (Census 2021 migration and commuting, Census 2011 migration).
- :func:`od_table`: the long pair table the engine calibrates on.
- :func:`code_map`, :func:`harmonise_values`, :func:`harmonise_od`: explicit code harmonisation.
- :func:`cauth_grouping`, :func:`region_grouping`, :func:`read_user_groups` -> :class:`Grouping`:
  places (combined authorities, regions, user groups) as groups of LADs.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "ZoneSet": "zones", "load_zones": "zones",
    "distance_matrix": "spatial", "contiguity_matrix": "spatial", "centroids_m": "spatial",
    "load_attributes": "attributes", "load_skills": "skills", "load_dated_covariates": "covariates",
    "load_flows": "flows", "FLOW_KINDS": "flows",
    "od_table": "odtable",
    "code_map": "harmonise", "harmonise_values": "harmonise", "harmonise_od": "harmonise",
    "HarmonisationReport": "harmonise",
    "REGISTRY": "registry", "Dataset": "registry",
    "resolve_data_dir": "datadir", "DataDir": "datadir", "load": "readers",
    "Grouping": "places", "cauth_grouping": "places", "region_grouping": "places", "read_user_groups": "places",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"migravity.geodata.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'migravity.geodata' has no attribute {name!r}")
