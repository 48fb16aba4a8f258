"""OSM XML streets (``.osm``) read with osmnx, walk-filtered before simplifying."""

from __future__ import annotations

from pathlib import Path

import pyproj

from coverage.errors import LayerReadError, NetworkError
from coverage.network.filter import filter_graph, osmnx_with_walk_tags
from coverage.network.graph import WalkNetwork, network_from_osmnx
from coverage.read.safety import check_xml_safe

__all__ = ["read_osm_xml"]


def read_osm_xml(path: str | Path, crs: pyproj.CRS | None = None) -> WalkNetwork:
    """Read an OSM XML file into a walkable network.

    Parameters
    ----------
    path : str or Path
        ``.osm`` / ``.osm.xml`` file.
    crs : pyproj.CRS, optional
        Metric CRS; by default chosen from the data.

    Returns
    -------
    WalkNetwork

    Notes
    -----
    :func:`osmnx.graph_from_xml` keeps every way with a ``highway`` tag, so the
    walk filter is applied here, on the unsimplified graph, before simplifying.
    Every component is kept (``retain_all``) so that islands can be reported.
    """
    path = Path(path)
    check_xml_safe(path)
    ox = osmnx_with_walk_tags()
    try:
        G = ox.graph_from_xml(path, simplify=False, retain_all=True, bidirectional=False)
    except Exception as exc:  # osmnx raises bare XML/Key errors on malformed files
        raise LayerReadError(f"cannot read as OSM XML ({type(exc).__name__}: {exc}); "
                             "export the streets from OSM/JOSM as .osm XML", path=path) from exc
    if G.number_of_edges() == 0:
        raise NetworkError("contains no way with a highway tag; is this a street extract?", path=path)
    G, excluded = filter_graph(G, inplace=True)
    if G.number_of_edges() == 0:
        raise NetworkError(f"no walkable way left after the walk filter (excluded: {excluded})", path=path)
    G = ox.simplify_graph(G)
    net = network_from_osmnx(G, crs=crs, source=str(path.name), apply_walk_filter=False)
    net.excluded = excluded
    return net
