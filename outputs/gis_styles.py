"""Default QGIS layer styles (QML), generated deterministically in Python (QGIS is not needed).

One style per layer, chosen by the layer's geometry (:func:`default_style`):

* **polygons** (``zones``): a graduated fill on the scenario-minus-baseline change column
  (:func:`change_column`: ``hs_change_q50`` first, else the first ``change_*`` column) with the
  ColorBrewer RdBu diverging palette: blue for a gain, red for a loss, class breaks symmetric around
  zero (:func:`symmetric_breaks`). Without a change column: a plain light fill.
* **lines** (``flows``, ``net_flows``): a graduated size on the layer's first value column (the
  one the pairs were ranked by), in one neutral grey, the line width growing with the flow
  (:func:`size_breaks`).
* **points** (``centroids``): a simple small grey circle.

The QML is the ``<qgis>`` document QGIS itself saves (``renderer-v2`` with ``Option`` maps, QGIS
3.x), stored by :mod:`migravity.outputs.gpkg_meta` in the GeoPackage's ``layer_styles`` table so
the layers open styled.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["LINE_COLOUR", "RDBU", "change_column", "default_style", "line_qml", "point_qml", "polygon_qml",
           "size_breaks", "symmetric_breaks"]

#: ColorBrewer RdBu, 6 classes, from the largest loss (red) to the largest gain (blue).
RDBU: tuple[str, ...] = ("178,24,43", "239,138,98", "253,219,199", "209,229,240", "103,169,207", "33,102,172")
#: The neutral colour of flow lines (RGB).
LINE_COLOUR = "90,90,90"
#: Line widths (mm) of the flow classes, thinnest first.
LINE_WIDTHS: tuple[float, ...] = (0.2, 0.5, 0.9, 1.5, 2.4)
_QGIS_VERSION = "3.28.0-Firenze"
_FLOW_DESCRIPTORS = frozenset({"origin", "destination", "origin_name", "destination_name", "distance_km"})


def _nice(x: float, up: bool) -> float:
    """``x`` rounded to two significant figures (up or to nearest); 0 stays 0."""
    if x <= 0 or not math.isfinite(x):
        return 0.0
    scale = 10.0 ** (math.floor(math.log10(x)) - 1)
    return float((math.ceil if up else round)(x / scale) * scale)


def symmetric_breaks(values: Any, n_side: int = 3) -> np.ndarray:
    """Class edges symmetric around zero: ``[-e_k, ..., -e_1, 0, e_1, ..., e_k]``.

    The positive edges are the 1/k, 2/k, ... quantiles of ``|values|`` (non-zero, finite), rounded
    to two significant figures, the last the largest ``|value|`` rounded up so every value falls in
    a class; edges are made strictly increasing.

    Parameters
    ----------
    values : array-like
        The change values (NaN ignored).
    n_side : int
        Classes on each side of zero.

    Returns
    -------
    numpy.ndarray
        ``2 * n_side + 1`` increasing edges with ``edges == -edges[::-1]``.
    """
    a = np.abs(np.asarray(values, dtype=float))
    a = a[np.isfinite(a) & (a > 0)]
    top = _nice(float(a.max()), up=True) if a.size else 1.0
    pos = [_nice(float(np.quantile(a, k / n_side)), up=False) if a.size else top * k / n_side
           for k in range(1, n_side)] + [top]
    for k in range(n_side):  # strictly increasing, above zero
        floor = pos[k - 1] if k else 0.0
        if pos[k] <= floor:
            pos[k] = floor + top / (4 * n_side)
    pos[-1] = max(pos[-1], top)
    edges = np.array([-p for p in reversed(pos)] + [0.0] + pos)
    return edges


def size_breaks(values: Any, n: int = len(LINE_WIDTHS)) -> np.ndarray:
    """``n + 1`` increasing class edges for line widths: quantiles of the finite values, min to max."""
    a = np.asarray(values, dtype=float)
    a = a[np.isfinite(a)]
    if not a.size:
        return np.linspace(0.0, 1.0, n + 1)
    edges = np.quantile(a, np.linspace(0.0, 1.0, n + 1))
    for k in range(1, n + 1):
        if edges[k] <= edges[k - 1]:
            edges[k] = edges[k - 1] + max(1e-9, abs(edges[k - 1]) * 1e-9)
    return edges


def _fmt(x: float) -> str:
    return repr(float(x))


def _label(lo: float, hi: float) -> str:
    return f"{lo:,.6g} to {hi:,.6g}"


def _options(parent: ET.Element, props: Sequence[tuple[str, str]]) -> None:
    opt = ET.SubElement(parent, "Option", type="Map")
    for k, v in props:
        ET.SubElement(opt, "Option", name=k, type="QString", value=v)


def _symbol(parent: ET.Element, name: str, kind: str, layer_class: str, props: Sequence[tuple[str, str]]) -> None:
    sym = ET.SubElement(parent, "symbol", type=kind, name=name, alpha="1", clip_to_extent="1", force_rhr="0")
    layer = ET.SubElement(sym, "layer", {"class": layer_class, "enabled": "1", "pass": "0", "locked": "0"})
    _options(layer, props)


def _fill(colour: str) -> list[tuple[str, str]]:
    return [("color", f"{colour},255"), ("style", "solid"), ("outline_color", "255,255,255,255"),
            ("outline_style", "solid"), ("outline_width", "0.1"), ("outline_width_unit", "MM")]


def _line(width: float) -> list[tuple[str, str]]:
    return [("line_color", f"{LINE_COLOUR},200"), ("line_style", "solid"), ("line_width", _fmt(width)),
            ("line_width_unit", "MM"), ("capstyle", "round")]


def _document(renderer: ET.Element) -> str:
    root = ET.Element("qgis", version=_QGIS_VERSION, styleCategories="Symbology")
    root.append(renderer)
    ET.indent(root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode") + "\n"


def _graduated(column: str, edges: np.ndarray, method: str, kind: str, layer_class: str,
               props: Sequence[Sequence[tuple[str, str]]]) -> str:
    r = ET.Element("renderer-v2", type="graduatedSymbol", attr=column, graduatedMethod=method,
                   symbollevels="0", enableorderby="0", forceraster="0")
    ranges = ET.SubElement(r, "ranges")
    symbols = ET.SubElement(r, "symbols")
    for k in range(len(edges) - 1):
        lo, hi = float(edges[k]), float(edges[k + 1])
        ET.SubElement(ranges, "range", lower=_fmt(lo), upper=_fmt(hi), symbol=str(k), label=_label(lo, hi),
                      render="true")
        _symbol(symbols, str(k), kind, layer_class, props[k])
    ET.SubElement(r, "mode", name="quantile" if method == "GraduatedSize" else "manual")
    return _document(r)


def polygon_qml(column: str | None, values: Any = None) -> str:
    """Zones: RdBu graduated fill on ``column``, breaks symmetric around 0; a plain fill without a column."""
    if column is None:
        r = ET.Element("renderer-v2", type="singleSymbol", symbollevels="0", enableorderby="0", forceraster="0")
        _symbol(ET.SubElement(r, "symbols"), "0", "fill", "SimpleFill", _fill("225,225,225"))
        return _document(r)
    edges = symmetric_breaks(values)
    return _graduated(column, edges, "GraduatedColor", "fill", "SimpleFill", [_fill(c) for c in RDBU])


def line_qml(column: str, values: Any) -> str:
    """Flow lines: graduated line width on ``column`` (quantile classes), one neutral colour."""
    edges = size_breaks(values)
    return _graduated(column, edges, "GraduatedSize", "line", "SimpleLine", [_line(w) for w in LINE_WIDTHS])


def point_qml() -> str:
    """Zone points: one small grey circle."""
    r = ET.Element("renderer-v2", type="singleSymbol", symbollevels="0", enableorderby="0", forceraster="0")
    _symbol(ET.SubElement(r, "symbols"), "0", "marker", "SimpleMarker",
            [("name", "circle"), ("color", "60,60,60,255"), ("size", "1.6"), ("size_unit", "MM"),
             ("outline_color", "255,255,255,255"), ("outline_width", "0.2")])
    return _document(r)


def change_column(columns: Sequence[str]) -> str | None:
    """The zone column the diverging palette maps: ``hs_change_q50``, else the first ``change_*`` column."""
    if "hs_change_q50" in columns:
        return "hs_change_q50"
    return next((c for c in columns if c.startswith("change_")), None)


def default_style(layer: gpd.GeoDataFrame) -> tuple[str, str] | None:
    """The default style of a layer by its geometry: ``(qml, description)``, or None for no geometry type.

    Parameters
    ----------
    layer : geopandas.GeoDataFrame
        The layer as written.

    Returns
    -------
    tuple of (str, str) or None
    """
    types = set(layer.geom_type.dropna().unique())
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    numeric = [str(c) for c in layer.columns
               if c != layer.geometry.name and is_numeric_dtype(layer[c]) and not is_bool_dtype(layer[c])]
    if types and types <= {"Polygon", "MultiPolygon"}:
        col = change_column(numeric)
        if col is None:
            return polygon_qml(None), "plain fill (no change column)"
        return polygon_qml(col, layer[col].to_numpy()), f"{col}: RdBu diverging, symmetric around 0 (blue gain)"
    if types and types <= {"LineString", "MultiLineString"}:
        values = [c for c in numeric if c not in _FLOW_DESCRIPTORS]
        if not values:
            return None
        return line_qml(values[0], layer[values[0]].to_numpy()), f"{values[0]}: line width by flow"
    if types and types <= {"Point", "MultiPoint"}:
        return point_qml(), "zone points"
    return None
