"""Population models ``points`` and ``polygons``: a population layer, assigned to communities by the one
point-in-area rule (:func:`coverage.geo.areas.first_containing`); polygons are spread over their street nodes.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.demand.base import MODEL_NOTES, Demand
from coverage.geo.areas import assign_areas
from coverage.network.graph import WalkNetwork
from coverage.skipped import Skipped

__all__ = ["demand_from_points"]


def demand_from_points(layer: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, network: WalkNetwork | None = None
                       ) -> Demand:
    """Demand from a user population layer (points, or polygons placed on their street nodes).

    Parameters
    ----------
    layer : GeoDataFrame
        Metric CRS, ``population`` column (validated non-negative).
    communities : GeoDataFrame
        For assigning each point to its community and subdistrict.
    network : WalkNetwork, optional
        Needed for polygons, whose people are put on the street nodes inside them.

    Returns
    -------
    Demand
    """
    skipped: list[Skipped] = []
    pop = layer.copy()
    nan = pop["population"].isna()
    if nan.any():
        skipped.append(Skipped("population", "population_missing", int(nan.sum()), action="dropped",
                               message="features without a population value were left out"))
        pop = pop.loc[~nan]
    types = shapely.get_type_id(pop.geometry.values)
    is_poly = np.isin(types, (3, 6))
    model = "polygons" if is_poly.any() else "points"
    parts = [pop.loc[~is_poly, ["population", "geometry"]]]
    if is_poly.any():
        parts.append(_polygons_to_nodes(pop.loc[is_poly], network))
    pts = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=layer.crs)
    pts = assign_areas(pts, communities)
    outside = pts["community"].isna()
    if outside.any():
        skipped.append(Skipped("population", "outside_all_communities", int(outside.sum()), action="kept",
                               population=float(pts.loc[outside, "population"].sum()),
                               message="population points in no community: counted in the totals only"))
    zh, en = MODEL_NOTES[model]
    return Demand(pts, model, zh, en, skipped)


def _polygons_to_nodes(polys: gpd.GeoDataFrame, network: WalkNetwork | None) -> gpd.GeoDataFrame:
    """Spread each polygon's population evenly over the street nodes inside it."""
    rows_geom, rows_pop = [], []
    nodes = shapely.points(network.node_x, network.node_y) if network is not None else None
    tree = shapely.STRtree(nodes) if nodes is not None else None
    for geom, p in zip(polys.geometry.values, polys["population"].to_numpy(dtype=float)):
        idx = tree.query(geom, predicate="contains") if tree is not None else np.array([], dtype=int)
        if len(idx) == 0:
            rows_geom.append(shapely.point_on_surface(geom))
            rows_pop.append(p)
        else:
            rows_geom.extend(nodes[idx])
            rows_pop.extend([p / len(idx)] * len(idx))
    return gpd.GeoDataFrame({"population": rows_pop}, geometry=rows_geom, crs=polys.crs)
