"""The walk filter: which OSM ways a pedestrian may use (osmnx's ``network_type="walk"`` rules on way tags).

One copy of the rule, for every reader (OSM XML, PBF, GraphML, centre-lines, downloads).
"""

from __future__ import annotations

import re
import threading
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

__all__ = ["WALK_EXCLUDE", "walk_mask"]

#: Tag patterns that make a way unwalkable, as regular expressions searched in
#: the tag value (osmnx's Overpass filter for ``network_type="walk"``).
WALK_EXCLUDE: dict[str, str] = {
    "highway": "abandoned|bus_guideway|construction|cycleway|motor|^no$|planned|platform|proposed|raceway|razed|rest_area|services",
    "area": "yes",
    "access": "private",
    "foot": "^no$",
    "service": "private",
    "sidewalk": "separate",
    "sidewalk:both": "separate",
    "sidewalk:left": "separate",
    "sidewalk:right": "separate",
}

#: Way tags read from OSM files (osmnx drops tags not listed in its settings).
OSM_WAY_TAGS = ["access", "area", "bridge", "foot", "highway", "junction", "name", "name:en",
                "oneway", "ref", "service", "sidewalk", "sidewalk:both", "sidewalk:left",
                "sidewalk:right", "tunnel", "width",
                "wheelchair", "incline"]  # walking profiles (issue 21): steps, wheelchair access, ramps


def _as_text(value: object) -> str:
    """Tag values may be lists after osmnx simplification; search them all."""
    if isinstance(value, (list, tuple, set)):
        return ";".join(str(v) for v in value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def walk_mask(edges: pd.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
    """Decide which edges a pedestrian may use.

    Parameters
    ----------
    edges : DataFrame
        One row per way or edge, with whichever OSM tag columns it has
        (``highway``, ``foot``, ``access``, ...). Missing columns exclude nothing.

    Returns
    -------
    keep : ndarray of bool
        True for walkable edges.
    excluded : dict
        Count of excluded edges per reason, e.g. ``{"highway=motorway": 4, "access=private": 2}``.

    Notes
    -----
    ``highway=no`` and ``foot=no`` are matched whole; other patterns as osmnx
    does (``motor`` matches ``motorway`` and ``motorway_link``).
    """
    keep = np.ones(len(edges), dtype=bool)
    excluded: dict[str, int] = {}
    for tag, pattern in WALK_EXCLUDE.items():
        if tag not in edges.columns:
            continue
        rx = re.compile(pattern)
        values = edges[tag].map(_as_text).to_numpy()
        hit = np.fromiter((bool(rx.search(v)) for v in values), dtype=bool, count=len(values))
        newly = hit & keep
        for value, count in pd.Series(values[newly]).value_counts().items():
            excluded[f"{tag}={value}"] = int(count)
        keep &= ~hit
    return keep, excluded


#: Reason counted for ways without a ``highway`` tag (buildings, railways): checked first.
NO_HIGHWAY = "no highway tag"


def filter_graph(G: nx.MultiDiGraph, inplace: bool = False) -> tuple[nx.MultiDiGraph, dict[str, int]]:
    """Remove unwalkable edges (and the nodes they leave isolated) from an osmnx graph.

    ``inplace`` avoids copying a graph the caller owns (copying is slow for large graphs).
    """
    keys = list(G.edges(keys=True))
    if not keys:
        return G, {}
    data = pd.DataFrame([d for _, _, d in G.edges(data=True)])
    if "highway" not in data.columns:
        data["highway"] = None
    # osmnx.graph_from_xml also loads ways without a highway tag (railways, ...): not streets
    data["highway"] = data["highway"].where(data["highway"].notna(), "(none)")
    no_highway = (data["highway"] == "(none)").to_numpy()
    keep, _ = walk_mask(data)
    keep &= ~no_highway
    # count OSM ways, not the one or two directed edges each way became, each once under its
    # first reason: no highway tag (not a street at all), then the walk filter's tags
    ways = data.loc[~data["osmid"].map(str).duplicated()] if "osmid" in data.columns else data
    none = (ways["highway"] == "(none)").to_numpy()
    _, excluded = walk_mask(ways.loc[~none])
    if none.any():
        excluded = {NO_HIGHWAY: int(none.sum()), **excluded}
    drop = [k for k, ok in zip(keys, keep) if not ok]
    if drop and not inplace:
        G = G.copy()
    G.remove_edges_from(drop)
    # isolated nodes (POIs, nodes of dropped ways) are no part of the street network
    G.remove_nodes_from([n for n, deg in dict(G.degree()).items() if deg == 0])
    return G, excluded


_OSMNX_LOCK = threading.Lock()


def osmnx_with_walk_tags() -> Any:
    """osmnx, set once per process to keep the way tags the walk filter reads (foot, access, sidewalk, ...).

    The setting is only ever widened, never restored, so concurrent sessions (two Streamlit users) always
    see the same value: no request changes it back under another's feet.
    """
    import osmnx as ox  # slow to import (~1 s): only where osmnx is used

    with _OSMNX_LOCK:
        wanted = set(OSM_WAY_TAGS)
        if not wanted <= set(ox.settings.useful_tags_way):
            ox.settings.useful_tags_way = sorted(set(ox.settings.useful_tags_way) | wanted)
    return ox
