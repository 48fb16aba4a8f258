"""Which area contains a point: the one rule every count in the tool follows.

A point on a shared border, or in an overlap, belongs to the *first* area in layer order
(:func:`first_containing`); subdistricts, communities, facilities, candidates and modelled
homes are all assigned with it.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["assign_areas", "first_containing"]


def first_containing(points: np.ndarray, areas: np.ndarray) -> np.ndarray:
    """Position of the first area (in layer order) that contains or touches each point, -1 if none.

    A point on a shared border, or in an overlap, belongs to the first area, the
    rule every count in the tool follows (overlaps are listed to the user).

    Parameters
    ----------
    points, areas : array of shapely geometries
        In the same CRS.

    Returns
    -------
    ndarray of int
    """
    out = np.full(len(points), -1, dtype=np.int64)
    if len(points) == 0 or len(areas) == 0:
        return out
    pi, ai = shapely.STRtree(areas).query(points, predicate="intersects")
    order = np.lexsort((ai, pi))
    pi, ai = pi[order], ai[order]
    first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.zeros(0, dtype=bool)
    out[pi[first]] = ai[first]
    return out


def assign_areas(points: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Attach ``community`` and ``subdistrict`` to points from the community polygons containing them.

    Points in no community keep ``None`` in both columns and count only in the
    overall totals; a point in two overlapping communities goes to the first
    (:func:`first_containing`).
    """
    pts = points.drop(columns=["community", "subdistrict"], errors="ignore").copy()
    idx = first_containing(pts.geometry.values, communities.geometry.values)
    inside = idx >= 0
    for column, source in (("community", "name"), ("subdistrict", "subdistrict")):
        values = np.full(len(pts), None, dtype=object)
        if source in communities.columns:
            src = communities[source].to_numpy(dtype=object)[idx[inside]]
            values[inside] = [None if pd.isna(v) else v for v in src]
        pts[column] = pd.Series(values, index=pts.index, dtype=object)  # None stays None
    return pts
