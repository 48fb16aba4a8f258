"""Approximate community areas when only community points are available.

Chinese planning offices often hold communities (社区/村) as a list of points
(the 居委会 office or a label position) without boundaries, and OpenStreetMap
rarely maps them. :func:`communities_from_points` turns such points into
areas: the Voronoi cell (泰森多边形) of each point, built separately inside
each subdistrict so that no cell ever crosses a subdistrict border. The result
is marked ``approximate=True``; reports should say so.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from coverage.errors import CRSError, GeometryError, ValueInputError
from coverage.geo.areas import first_containing
from coverage.geo.crs import choose_metric_crs

__all__ = ["APPROXIMATE_NOTE", "APPROXIMATE_NOTE_ZH", "communities_from_points"]

#: ``attrs["note"]`` of the layers made here.
APPROXIMATE_NOTE = "approximate boundaries from points (Voronoi)"
#: Chinese version of :data:`APPROXIMATE_NOTE`.
APPROXIMATE_NOTE_ZH = "由社区点位生成的近似边界（泰森多边形），不是法定边界"


def _subdistrict_label(subdistricts: gpd.GeoDataFrame, i: int) -> object:
    for col in ("name", "code"):
        if col in subdistricts.columns:
            return subdistricts[col].iloc[i]
    return subdistricts.index[i]


def _point_label(points: gpd.GeoDataFrame, i: int) -> str:
    if "name" in points.columns:
        return f"{points['name'].iloc[i]!s} (row {i})"
    return f"row {i}"


def _assign(points: gpd.GeoDataFrame, subdistricts: gpd.GeoDataFrame) -> np.ndarray:
    """Position of the subdistrict containing each point; refuse points outside all of them."""
    owner = first_containing(points.geometry.values, subdistricts.geometry.values)  # a border point: the first
    outside = np.flatnonzero(owner < 0)
    if len(outside):
        labels = [_point_label(points, int(i)) for i in outside[:10]]
        raise GeometryError(
            f"{len(outside)} community point(s) lie outside every subdistrict: {labels}; move them inside their "
            "subdistrict (check the coordinate system: GCJ-02/BD-09 points are shifted by a few hundred metres) "
            "or add the missing subdistrict", row=int(outside[0]))
    return owner


def _cells(pts: np.ndarray, area: shapely.Geometry) -> np.ndarray:
    """Voronoi cells of ``pts`` (shapely Points) clipped to ``area``, in the order of ``pts``."""
    if len(pts) == 1:
        return np.array([area], dtype=object)
    # extend the diagram well beyond the area so every cell is closed over it
    minx, miny, maxx, maxy = area.bounds
    pad = max(maxx - minx, maxy - miny) + 1.0
    envelope = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    raw = shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(list(pts)), extend_to=envelope))
    # match each cell to the one input point it contains (robust to GEOS's output order)
    tree = shapely.STRtree(raw)
    p_idx, c_idx = tree.query(pts, predicate="intersects")
    cell_of = np.full(len(pts), -1, dtype=np.int64)
    cell_of[p_idx] = c_idx
    cells = raw[cell_of]
    return shapely.intersection(cells, area)


def communities_from_points(points: gpd.GeoDataFrame, subdistricts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Approximate community polygons as Voronoi cells of community points, per subdistrict.

    Parameters
    ----------
    points : GeoDataFrame
        One point per community (any attributes: ``name``, ``code``,
        ``population`` ...), with a CRS. Polygons or lines are refused.
    subdistricts : GeoDataFrame
        Subdistrict polygons (``name`` recommended), with a CRS.

    Returns
    -------
    GeoDataFrame
        One polygon per point, in the points' CRS, carrying the points'
        attributes plus ``subdistrict`` (the containing subdistrict's name,
        unless the points already had that column) and ``approximate=True``.
        Within each subdistrict the cells tile it exactly (no gaps, no
        overlaps); a subdistrict with a single point becomes that community's
        cell. ``attrs["note"]`` / ``attrs["note_zh"]`` say the boundaries are
        approximate, ``attrs["subdistricts_without_points"]`` lists
        subdistricts no point fell in (their area belongs to no community).

    Raises
    ------
    CRSError
        A layer has no CRS.
    GeometryError
        Non-point community features, or points outside every subdistrict.
    ValueInputError
        Two points at the same position inside one subdistrict (their cells
        would be identical).

    Notes
    -----
    Cells are computed in a metric CRS (the UTM zone of the data) so that
    "nearest community point" means nearest on the ground. A cell cut by a
    strongly concave subdistrict border may come out as a MultiPolygon.
    """
    for label, layer in (("community points", points), ("subdistricts", subdistricts)):
        if layer.crs is None:
            raise CRSError(f"the {label} layer has no coordinate reference system; set one before building "
                           "community areas")
        if len(layer) == 0:
            raise GeometryError(f"the {label} layer is empty")
    types = shapely.get_type_id(points.geometry.values)
    if (types != 0).any():
        row = int(np.flatnonzero(types != 0)[0])
        raise GeometryError("community points must be single points; this feature is a "
                            f"{points.geometry.iloc[row].geom_type}", row=row)
    sub_types = shapely.get_type_id(subdistricts.geometry.values)
    if (~np.isin(sub_types, (3, 6))).any():
        row = int(np.flatnonzero(~np.isin(sub_types, (3, 6)))[0])
        raise GeometryError("subdistricts must be polygons", row=row)

    metric = pyproj.CRS(points.crs) if pyproj.CRS(points.crs).is_projected else choose_metric_crs(points,
                                                                                                    subdistricts)
    pts_m = points.to_crs(metric)
    subs_m = subdistricts.to_crs(metric)
    sub_geoms = shapely.make_valid(subs_m.geometry.values)
    subs_m = subs_m.set_geometry(gpd.GeoSeries(sub_geoms, index=subs_m.index, crs=metric))
    owner = _assign(pts_m, subs_m)

    cells = np.empty(len(points), dtype=object)
    pts_geom = pts_m.geometry.values
    for s in np.unique(owner):
        members = np.flatnonzero(owner == s)
        xy = shapely.get_coordinates(pts_geom[members])
        _, counts = np.unique(xy, axis=0, return_counts=True)
        if (counts > 1).any():
            dup_xy = np.unique(xy, axis=0)[counts > 1][0]
            same = members[(xy == dup_xy).all(axis=1)]
            raise ValueInputError(
                f"community points {[_point_label(points, int(i)) for i in same]} share one position in "
                f"subdistrict {_subdistrict_label(subdistricts, int(s))!s}; give each community its own point",
                row=int(same[1]))
        cells[members] = _cells(pts_geom[members], sub_geoms[s])

    out = pd.DataFrame(points.drop(columns=points.geometry.name)).copy()
    if "subdistrict" not in out.columns:
        out["subdistrict"] = [_subdistrict_label(subdistricts, int(s)) for s in owner]
    out["approximate"] = True
    result = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(cells, index=points.index, crs=metric), crs=metric)
    if not pyproj.CRS(points.crs).equals(metric):
        result = result.to_crs(points.crs)
    result.attrs["note"] = APPROXIMATE_NOTE
    result.attrs["note_zh"] = APPROXIMATE_NOTE_ZH
    empty = sorted(set(range(len(subdistricts))) - set(owner.tolist()))
    result.attrs["subdistricts_without_points"] = [_subdistrict_label(subdistricts, i) for i in empty]
    return result
