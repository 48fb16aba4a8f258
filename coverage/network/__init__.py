"""The walking network: which ways a pedestrian may use, as an undirected sparse graph.

One module per concern:

- :mod:`~coverage.network.filter`: the walk filter (osmnx's ``walk`` rules on way tags);
- :mod:`~coverage.network.graph`: :class:`WalkNetwork` (edges, a symmetric sparse length matrix,
  cached edge tables and segments);
- :mod:`~coverage.network.snap`: snapping points onto the nearest point of the nearest edge;
- readers: :mod:`~coverage.network.osmread` (every OSM file: ``.osm``, ``.osm.bz2``, ``.osm.gz``,
  ``.osm.pbf``, via pyosmium, simplified as osmnx does), :mod:`~coverage.network.osmxml` (the osmnx
  XML path it reproduces, kept as its peer), :mod:`~coverage.network.osmpbf` (pyrosm, unsimplified
  segments, kept as a peer), :mod:`~coverage.network.lines` (centre-line layers, noded);
- :mod:`~coverage.network.offset`: facilities that sit off the streets as a coordinate offset would.

:func:`walk_graph` is the one dispatcher over every street source.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import pyproj

from coverage.errors import LayerReadError
from coverage.network.filter import OSM_WAY_TAGS, WALK_EXCLUDE, walk_mask
from coverage.network.graph import (
    SegmentTable,
    WalkNetwork,
    edge_names,
    edge_segments,
    network_from_edges,
    network_from_osmnx,
    segment_foot,
)
from coverage.network.lines import network_from_lines
from coverage.network.osmpbf import read_osm_pbf
from coverage.network.osmread import OSM_FORMATS, osm_format, read_osm
from coverage.network.osmxml import read_osm_xml
from coverage.network.snap import Snap, snap_points
from coverage.read.layers import read_layer
from coverage.read.osmareas import clip_polygon
from coverage.read.safety import check_xml_safe

__all__ = [
    "OSM_FORMATS",
    "OSM_WAY_TAGS",
    "WALK_EXCLUDE",
    "SegmentTable",
    "Snap",
    "WalkNetwork",
    "edge_names",
    "edge_segments",
    "network_from_edges",
    "network_from_lines",
    "network_from_osmnx",
    "read_osm",
    "read_osm_pbf",
    "read_osm_xml",
    "segment_foot",
    "snap_points",
    "walk_graph",
    "walk_mask",
]


def walk_graph(streets: str | Path | gpd.GeoDataFrame | nx.MultiDiGraph, crs: pyproj.CRS | None = None,
               snap_tolerance: float = 2.0, clip: object | None = None) -> WalkNetwork:
    """Build the walking network from any supported street source.

    Parameters
    ----------
    streets : path, GeoDataFrame or networkx graph
        An OSM file (``.osm``, ``.osm.xml``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``), an osmnx GraphML file
        (``.graphml``), a line layer file (GeoPackage, GeoJSON, Shapefile), a
        line GeoDataFrame, or an osmnx graph.
    crs : pyproj.CRS, optional
        Metric CRS; by default the UTM zone of the streets.
    snap_tolerance : float
        For line layers: ends closer than this (metres) are joined.
    clip : GeoDataFrame or shapely geometry, optional
        For OSM files: keep only the way segments within this area (plus 1 km),
        so a provincial extract can be used directly; the same for every OSM format.

    Returns
    -------
    WalkNetwork
    """
    if isinstance(streets, nx.Graph):
        return network_from_osmnx(streets, crs=crs, source="osmnx graph")
    if isinstance(streets, gpd.GeoDataFrame):
        return network_from_lines(streets, crs=crs, snap_tolerance=snap_tolerance, source="line layer")
    path = Path(streets)
    if not path.exists():
        raise LayerReadError("file not found", path=path)
    if osm_format(path) is not None:
        # one reader for every OSM format, so the network never depends on the file format
        area = clip_polygon(clip, 1000.0) if clip is not None else None
        return read_osm(path, crs=crs, clip=area)
    if path.name.lower().endswith(".graphml"):
        import osmnx as ox  # slow to import (~1 s): only for GraphML

        check_xml_safe(path)
        try:
            G = ox.load_graphml(path)
        except Exception as exc:
            raise LayerReadError(f"cannot read as osmnx GraphML ({exc})", path=path) from exc
        return network_from_osmnx(G, crs=crs, source=path.name)
    lines = read_layer(path, kind="streets")
    return network_from_lines(lines, crs=crs, snap_tolerance=snap_tolerance, source=str(path))
