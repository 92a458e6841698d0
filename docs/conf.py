"""Sphinx configuration of the migravity documentation.

Build (warnings are errors; every tutorial is executed on the shipped data bundle)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

``MIGRAVITY_DOCS_EXECUTE`` chooses how the tutorials run: ``force`` (default, as in CI: every notebook
executed on every build), ``cache`` (re-executed only when its code changed) or ``off`` (not executed;
for quick local edits of the prose, never in CI).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

# The tutorials run on the data bundle shipped in the package, so the site builds anywhere: an inherited
# MIGRAVITY_DATA would switch them to a raw data directory that other machines lack.
os.environ.pop("MIGRAVITY_DATA", None)
# Where executed pages write the files they produce (run directories, figures for the gallery).
os.environ["MIGRAVITY_DOCS_OUT"] = str(DOCS / "_generated")

import migravity  # noqa: E402

project = "migravity"
author = "the migravity authors"
copyright = "migravity authors; data © Crown copyright, Open Government Licence v3.0"
release = migravity.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",  # MyST Markdown pages and executed notebooks (includes myst_parser)
    "migravity_docs",  # docs/_ext: registry table, API completeness and example checks
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}  # .rst first: autosummary writes its stubs in it
exclude_patterns = ["_build", "_generated", "README_short.md", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
root_doc = "index"

# -- warnings are errors: every reference must resolve -------------------------------------------------
nitpicky = True
# Third-party types named in signatures and docstrings: the build is offline (no intersphinx inventories),
# so references to numpy, pandas, xarray, geopandas, dask, matplotlib, plotly, shapely and the standard
# library's typing helpers cannot resolve; they are shown as plain names. The package's own names must all
# resolve.
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|npt|pandas|pd|xarray|xr|geopandas|gpd|dask|distributed|matplotlib|plotly|shapely|"
               r"pyproj|scipy|zarr|pyarrow|typer|click|rich)(\..*)?"),
    (r"py:.*", r"(typing|collections\.abc|pathlib|os|datetime|enum|dataclasses|types|concurrent)\..*"),
    (r"py:.*", r"(Path|PathLike|Callable|Sequence|Mapping|Iterable|Iterator|Literal|Any|Final|Self|Generator|"
               r"ndarray|DataFrame|Series|Dataset|DataArray|GeoDataFrame|Figure|Axes|Client|Array|"
               r"NDArray|ArrayLike|Reporter)"),
    # generic builtins whose string form Sphinx splits at the comma ("dict[str")
    (r"py:class", r"(dict|tuple|list|set|type)\[.*"),
    # numpydoc parameter-type words ("array_like", "optional", "default ...") that are not types
    (r"py:.*", r"(array_like|array-like|optional|default|of|or|shape|callable|mapping|sequence|iterable)"),
]

# -- autodoc, autosummary, numpydoc ---------------------------------------------------------------------
autosummary_generate = True
templates_path = ["_templates"]
autosummary_imported_members = True
autodoc_default_options = {"members": False, "show-inheritance": True}
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# -- MyST and executed notebooks ------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = os.environ.get("MIGRAVITY_DOCS_EXECUTE", "force")
nb_execution_raise_on_error = True
nb_execution_timeout = 300  # seconds per cell
nb_execution_show_tb = True
nb_merge_streams = True

# -- HTML -----------------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"migravity {release}"
html_static_path: list[str] = []
