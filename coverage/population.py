"""Demand: where people live, as weighted points.

Coverage is measured on *demand points*, each with a ``population``, the
``community`` and ``subdistrict`` it belongs to. Sources, best first:

``points``
    A population layer of points (e.g. residential buildings) with ``population``.
``polygons``
    A population layer of polygons: each polygon's people are placed on the
    street nodes inside it (its representative point if it has none).
``street_nodes``
    Fallback: each community's total is spread evenly over the street nodes
    inside it. The crudest model — people end up on arterials and in parks —
    and every output says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .io import Skipped
from .network import WalkNetwork

__all__ = ["Demand", "build_demand", "demand_from_points", "demand_from_street_nodes", "assign_areas",
           "first_containing",
           "POPULATION_MODELS"]

POPULATION_MODELS = ("auto", "points", "polygons", "buildings", "compounds", "raster", "street_nodes")

MODEL_NOTES = {
    "points": ("人口按用户提供的人口点计算。", "Population from the user's population points."),
    "polygons": ("人口按用户提供的人口面分配到其内部的路网节点。",
                 "Population polygons spread over the street nodes inside them."),
    "street_nodes": ("未提供人口点：各社区人口平均分配到社区内的路网节点（最粗略的模型）。",
                     "No population layer: each community's population is spread evenly over its street nodes "
                     "(the crudest model)."),
}


@dataclass
class Demand:
    """Demand points and how they were made.

    Attributes
    ----------
    points : GeoDataFrame
        ``population``, ``community``, ``subdistrict``, Point geometry (metric CRS).
    model : str
        ``points``, ``polygons``, ``street_nodes`` (or a model added by :mod:`coverage.popmodels`).
    note_zh, note_en : str
        One sentence for reports.
    skipped : list of Skipped
    details : dict
        Model-specific figures (totals before/after by community, ...).
    """

    points: gpd.GeoDataFrame
    model: str
    note_zh: str = ""
    note_en: str = ""
    skipped: list[Skipped] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    @property
    def total(self) -> float:
        """Total population."""
        return float(self.points["population"].sum())


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


def demand_from_street_nodes(network: WalkNetwork, communities: gpd.GeoDataFrame) -> Demand:
    """Spread each community's population evenly over the street nodes inside it.

    Parameters
    ----------
    network : WalkNetwork
    communities : GeoDataFrame
        With ``population`` (NaN = unknown: skipped and counted).

    Returns
    -------
    Demand
        One point per (community, node); communities without a node get one
        point at their representative point (counted in ``skipped``).
    """
    skipped: list[Skipped] = []
    nodes = shapely.points(network.node_x, network.node_y)
    tree = shapely.STRtree(nodes)
    comm_idx, node_idx = tree.query(communities.geometry.values, predicate="intersects")
    # a node on a shared boundary belongs to the first community only
    first = ~pd.Series(node_idx).duplicated().to_numpy()
    comm_idx, node_idx = comm_idx[first], node_idx[first]
    counts = np.bincount(comm_idx, minlength=len(communities))
    pop = communities["population"].to_numpy(dtype=float)
    unknown = np.isnan(pop)
    if unknown.any():
        skipped.append(Skipped("communities", "population_missing", int(unknown.sum()), action="dropped",
                               items=communities["name"][unknown].tolist(),
                               message="communities without a population value contribute no demand"))
    rows = []
    share = np.where(counts > 0, pop / np.maximum(counts, 1), 0.0)
    keep = ~unknown[comm_idx]
    rows.append(gpd.GeoDataFrame({
        "population": share[comm_idx[keep]],
        "community": communities["name"].to_numpy()[comm_idx[keep]],
        "subdistrict": communities["subdistrict"].to_numpy()[comm_idx[keep]],
    }, geometry=nodes[node_idx[keep]], crs=communities.crs))
    empty = (counts == 0) & ~unknown
    if empty.any():
        c = communities.loc[empty]
        rows.append(gpd.GeoDataFrame({"population": c["population"].to_numpy(dtype=float),
                                      "community": c["name"].to_numpy(), "subdistrict": c["subdistrict"].to_numpy()},
                                     geometry=shapely.point_on_surface(c.geometry.values), crs=communities.crs))
        skipped.append(Skipped("communities", "no_street_node_inside", int(empty.sum()), action="kept",
                               population=float(c["population"].sum()), items=c["name"].tolist(),
                               message="community has no street node inside: its population is placed at one "
                                       "interior point"))
    pts = gpd.GeoDataFrame(pd.concat(rows, ignore_index=True), geometry="geometry", crs=communities.crs)
    pts = pts[pts["population"] > 0].reset_index(drop=True)
    zh, en = MODEL_NOTES["street_nodes"]
    return Demand(pts, "street_nodes", zh, en, skipped)


def build_demand(study, model: str = "auto", **options) -> Demand:
    """Choose and build the population model for a study area.

    Parameters
    ----------
    study : StudyArea
    model : str
        ``auto`` (the best source the study holds), ``points``/``polygons``
        (the population layer), ``street_nodes``, or a model registered in
        :mod:`coverage.popmodels` (``buildings``, ``compounds``, ``raster``).
    **options
        Passed to the model (e.g. ``household_size``, ``raster``).

    Returns
    -------
    Demand
    """
    from .errors import ValueInputError

    try:
        from . import popmodels
    except ImportError:  # pragma: no cover - optional richer models
        popmodels = None
    if model == "auto":
        if study.population is not None:
            model = "points"
        elif popmodels is not None:
            model = popmodels.auto_model(study, **options) or "street_nodes"
        else:
            model = "street_nodes"
    if model in ("points", "polygons"):
        if study.population is None:
            raise ValueInputError(f"population model {model!r} needs a population layer (population.geojson)")
        demand = demand_from_points(study.population, study.communities, study.network)
    elif model == "street_nodes":
        demand = demand_from_street_nodes(study.network, study.communities)
    elif popmodels is not None and model in popmodels.MODELS:
        demand = popmodels.MODELS[model](study, **options)
    else:
        demand = None
    if demand is not None:
        if not demand.total > 0:
            where = study.sources.get("population") or study.sources.get("communities") or "communities"
            raise ValueInputError("no population: every community's population is empty or zero; add a "
                                  "population (人口) column to the communities layer or a population layer",
                                  path=where)
        return demand
    raise ValueInputError(f"unknown population model {model!r}; choose one of "
                          f"{', '.join(POPULATION_MODELS + tuple(getattr(popmodels, 'MODELS', {}) or ()))}")
