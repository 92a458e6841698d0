"""GeoPackage extras added with sqlite3 after the layers are written: styles and column docs.

* ``layer_styles``: the table QGIS reads (and writes, "Save as default" in a GeoPackage): one
  default style per layer (QML from :mod:`migravity.outputs.gis_styles`), registered in
  ``gpkg_contents`` as an ``attributes`` table so the file stays a valid GeoPackage.
* ``gpkg_data_columns`` (GeoPackage schema extension, with its companion
  ``gpkg_data_column_constraints``, both registered in ``gpkg_extensions`` as ``gpkg_schema``): a
  title and a description with units for every column of every layer
  (:func:`migravity.outputs.column_docs.column_doc`).

:func:`add_gpkg_metadata` runs on the temporary file before it is renamed into place, so a
failure here leaves no half-written GeoPackage.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping

from migravity.outputs.column_docs import column_doc

__all__ = ["STYLE_NAME", "add_gpkg_metadata"]

#: The name of the default style of every layer.
STYLE_NAME = "migravity default"
_SCHEMA_EXT = "http://www.geopackage.org/spec/#extension_schema"

_LAYER_STYLES = """CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
  f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT,
  useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
  update_time DATETIME DEFAULT CURRENT_TIMESTAMP)"""
_DATA_COLUMNS = """CREATE TABLE IF NOT EXISTS gpkg_data_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT, description TEXT,
  mime_type TEXT, constraint_name TEXT,
  CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), CONSTRAINT gdc_tn UNIQUE (table_name, name))"""
_CONSTRAINTS = """CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (
  constraint_name TEXT NOT NULL, constraint_type TEXT NOT NULL, value TEXT, min NUMERIC,
  min_is_inclusive BOOLEAN, max NUMERIC, max_is_inclusive BOOLEAN, description TEXT,
  CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))"""
_EXTENSIONS = """CREATE TABLE IF NOT EXISTS gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))"""
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"


def _register_attributes(con: sqlite3.Connection, table: str, description: str) -> None:
    con.execute("DELETE FROM gpkg_contents WHERE table_name = ?", (table,))
    con.execute(f"INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
                f"VALUES (?, 'attributes', ?, ?, {_NOW})", (table, table, description))


def _register_extension(con: sqlite3.Connection, table: str) -> None:
    con.execute("DELETE FROM gpkg_extensions WHERE table_name = ? AND extension_name = 'gpkg_schema'", (table,))
    con.execute("INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) "
                "VALUES (?, NULL, 'gpkg_schema', ?, 'read-write')", (table, _SCHEMA_EXT))


def _description(doc_description: str, units: str) -> str:
    return f"{doc_description} ({units})" if units else doc_description


def add_gpkg_metadata(path: str | os.PathLike[str], styles: Mapping[str, tuple[str, str]],
                      docs: bool = True) -> None:
    """Add the ``layer_styles`` and ``gpkg_data_columns`` tables to a GeoPackage (see the module docs).

    Parameters
    ----------
    path : path-like
        The GeoPackage, written by GDAL (pyogrio); its feature tables are documented.
    styles : Mapping of str to (str, str)
        Layer (table) name to ``(qml, description)``: the default style stored for it. Earlier rows of
        the same layer and style name are replaced.
    docs : bool
        Write the column docs of every feature table.
    """
    con = sqlite3.connect(os.fspath(path))
    try:
        with con:
            geom_cols = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
            if styles:
                con.execute(_LAYER_STYLES)
                _register_attributes(con, "layer_styles", "QGIS layer styles (default style of each layer)")
                for table, (qml, description) in styles.items():
                    con.execute("DELETE FROM layer_styles WHERE f_table_name = ? AND styleName = ?",
                                (table, STYLE_NAME))
                    con.execute(
                        "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column,"
                        " styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) "
                        f"VALUES ('', '', ?, ?, ?, ?, '', 1, ?, 'migravity', NULL, {_NOW})",
                        (table, geom_cols.get(table, "geom"), STYLE_NAME, qml, description))
            if docs:
                con.execute(_DATA_COLUMNS)
                con.execute(_CONSTRAINTS)
                con.execute(_EXTENSIONS)
                _register_extension(con, "gpkg_data_columns")
                _register_extension(con, "gpkg_data_column_constraints")
                for table, geom in geom_cols.items():
                    cols = [str(r[1]) for r in con.execute(f'PRAGMA table_info("{table}")')]
                    for col in cols:
                        if col == geom or col == "fid":
                            continue
                        doc = column_doc(col)
                        con.execute("INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, title,"
                                    " description, mime_type, constraint_name) VALUES (?, ?, ?, ?, ?, NULL, NULL)",
                                    (table, col, col, doc.title, _description(doc.description, doc.units)))
    finally:
        con.close()
