"""The walking network: which ways a pedestrian may use, as an undirected sparse graph.

A :class:`WalkNetwork` holds the walkable street edges of a study area in its
metric CRS, with their geometries (running from node ``u`` to node ``v``) and a
symmetric :class:`scipy.sparse.csr_matrix` of edge lengths in metres for
:mod:`scipy.sparse.csgraph` shortest paths. Walking ignores one-way rules, so
the graph is undirected.

Points (homes, facilities, candidate sites) are *snapped onto edges*, not to
the nearest node: a :class:`Snap` records the edge, the distance along it from
``u`` and the off-network leg, so that distances count the walk to the street,
along the street to a junction, and through the network.

The walk filter follows osmnx's ``network_type="walk"`` rules (no motorways,
no ``foot=no``, no ``access=private``, no private service ways, no cycleways,
no areas, no ways whose sidewalk is mapped separately), applied to the tags of
each way because :func:`osmnx.graph_from_xml` keeps every highway way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from coverage.errors import CRSError, NetworkError
from coverage.geo.crs import choose_metric_crs, describe_crs
from coverage.network.filter import _as_text, filter_graph
from coverage.ranges import concat_ranges, sample_pieces

__all__ = ["SegmentTable", "WalkNetwork", "edge_segments", "network_from_edges", "network_from_osmnx", "segment_foot"]

#: Lengths below this are stored as this, because csgraph treats explicit zero weights as no edge.
_MIN_LENGTH = 1e-6

#: Spacing of the samples along segments that index many-point snapping (metres).
SNAP_STEP_M = 20.0


@dataclass(frozen=True)
class SegmentTable:
    """Every straight segment of every edge, with its position along the edge.

    Attributes
    ----------
    edge : ndarray of int
        Edge row of each segment.
    x0, y0, x1, y1 : ndarray of float
        Segment ends (metric CRS), in the edge's u → v direction.
    s0, s1 : ndarray of float
        Distance along the edge from ``u`` to the segment's start and end.
    start : ndarray of int
        ``start[e]:start[e + 1]`` are the segments of edge ``e`` (segments are in edge order).
    """

    edge: np.ndarray
    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    s0: np.ndarray
    s1: np.ndarray
    start: np.ndarray

    def at(self, idx: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates at fraction ``t`` (0 = start, 1 = end) along segments ``idx``."""
        return self.x0[idx] + t * (self.x1[idx] - self.x0[idx]), self.y0[idx] + t * (self.y1[idx] - self.y0[idx])


def segment_foot(px: np.ndarray, py: np.ndarray, ax: np.ndarray, ay: np.ndarray, dx: np.ndarray, dy: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Nearest point of segments ``(ax, ay) + t (dx, dy)``, ``t`` in [0, 1], to points ``(px, py)``.

    Arrays broadcast together. Returns ``t`` of the foot and the distance. Works in
    place on its own temporaries: callers pass grid- or city-sized arrays.
    """
    ex, ey = px - ax, py - ay
    t = ex * dx
    t += ey * dy
    t /= np.maximum(dx * dx + dy * dy, 1e-300)
    np.clip(t, 0.0, 1.0, out=t)
    ex -= t * dx
    ey -= t * dy
    return t, np.hypot(ex, ey, out=ex)


def edge_segments(edges: gpd.GeoDataFrame) -> SegmentTable:
    """Split edge geometries into straight segments (vectorised)."""
    geoms = np.asarray(edges.geometry.values)
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    same = idx[1:] == idx[:-1]  # consecutive coordinates of one edge form a segment
    a = np.flatnonzero(same)
    x0, y0, x1, y1 = xy[a, 0], xy[a, 1], xy[a + 1, 0], xy[a + 1, 1]
    seg_len = np.hypot(x1 - x0, y1 - y0)
    edge = idx[a]
    # cumulative length along each edge: global cumsum minus the cumsum at the edge's first segment
    csum = np.cumsum(seg_len)
    first = np.r_[True, edge[1:] != edge[:-1]]
    start_of_run = np.maximum.accumulate(np.where(first, np.arange(len(edge)), 0))
    before = csum[start_of_run] - seg_len[start_of_run]
    s1 = csum - before
    s0 = s1 - seg_len
    # geometry lengths and the edges' stored lengths agree (network_from_edges sets length from geometry)
    start = np.searchsorted(edge, np.arange(len(edges) + 1))
    return SegmentTable(edge, x0, y0, x1, y1, s0, s1, start)


@dataclass
class WalkNetwork:
    """Walkable streets of a study area, ready for shortest paths.

    Attributes
    ----------
    crs : pyproj.CRS
        Metric CRS of every coordinate and length.
    node_x, node_y : ndarray
        Node coordinates in metres.
    node_id : ndarray
        Original node ids (OSM ids, or 0..n-1 for line layers).
    edges : GeoDataFrame
        Walkable edges: ``u``, ``v`` (node positions), ``length`` (m), ``geometry``
        (LineString from ``u`` to ``v``), and tag columns such as ``name`` and ``highway``.
    source : str
        Where the streets came from.
    excluded : dict
        Edges removed by the walk filter, by reason.
    """

    crs: pyproj.CRS
    node_x: np.ndarray
    node_y: np.ndarray
    node_id: np.ndarray
    edges: gpd.GeoDataFrame
    source: str = ""
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_x)

    @cached_property
    def matrix(self) -> sparse.csr_matrix:
        """Symmetric n×n matrix of the shortest edge length between adjacent nodes."""
        return _length_matrix(self.edges["u"].to_numpy(), self.edges["v"].to_numpy(),
                              self.edges["length"].to_numpy(), self.n_nodes)

    @cached_property
    def components(self) -> np.ndarray:
        """Connected-component label of every node (0 = the largest component)."""
        _, labels = csgraph.connected_components(self.matrix, directed=False)
        # relabel so that 0 is the largest component, 1 the next, ...
        sizes = np.bincount(labels)
        order = np.argsort(-sizes, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        return rank[labels]

    @cached_property
    def geometry_slack(self) -> tuple[float, float]:
        """``(ratio, delta)`` bounding straight-line distance by network distance.

        ``ratio`` is the largest chord / length of an edge (1 for straight and curved
        streets; larger only where a line layer's node moved off its geometry), and
        ``delta`` the largest gap between a node and its edges' geometry ends. Then any
        path of length ``D`` between nodes ``a`` and ``b`` has ``|ab| <= ratio * D``,
        and points snapped onto edges obey ``|pq| <= ratio * d(p, q) + 2 delta``.
        Computed once per network (siting bounds every reach search with it).
        """
        e = self.edges
        u = e["u"].to_numpy()
        v = e["v"].to_numpy()
        chord = np.hypot(self.node_x[u] - self.node_x[v], self.node_y[u] - self.node_y[v])
        length = np.maximum(e["length"].to_numpy(dtype=float), 1e-6)
        ratio = float(max(1.0, np.max(chord / length))) if len(e) else 1.0
        geoms = np.asarray(e.geometry.values)  # plain array: shapely on the GeometryArray goes through pandas
        start = shapely.get_coordinates(shapely.get_point(geoms, 0))
        end = shapely.get_coordinates(shapely.get_point(geoms, -1))
        gap = np.maximum(np.hypot(start[:, 0] - self.node_x[u], start[:, 1] - self.node_y[u]),
                         np.hypot(end[:, 0] - self.node_x[v], end[:, 1] - self.node_y[v]))
        return ratio * (1 + 1e-9), float(gap.max()) if len(gap) else 0.0

    @cached_property
    def node_edges(self) -> sparse.csr_matrix:
        """Node × edge incidence (CSR): row ``i`` lists the edges that end at node ``i``."""
        u, v, _ = self.edge_arrays
        m = len(u)
        rows = np.concatenate([u, v])
        cols = np.tile(np.arange(m), 2)
        inc = sparse.csr_matrix((np.ones(2 * m, dtype=np.int8), (rows, cols)), shape=(self.n_nodes, m))
        inc.sum_duplicates()  # a self-loop is listed once
        return inc

    @cached_property
    def edge_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(u, v, length)`` of every edge as plain arrays (per-search loops skip pandas)."""
        e = self.edges
        return e["u"].to_numpy(), e["v"].to_numpy(), e["length"].to_numpy(dtype=float)

    def edges_at(self, nodes: np.ndarray) -> np.ndarray:
        """Rows of the edges that end at any of ``nodes`` (sorted, unique)."""
        inc = self.node_edges
        lo = inc.indptr[nodes]
        return np.unique(inc.indices[concat_ranges(lo, inc.indptr[np.asarray(nodes) + 1] - lo)])

    @cached_property
    def segments(self) -> SegmentTable:
        """Every straight segment of every edge (isochrone outlines, street images)."""
        return edge_segments(self.edges)

    @cached_property
    def segment_samples(self) -> tuple[cKDTree, np.ndarray]:
        """KD-tree of points every ``SNAP_STEP_M`` along every segment, and each point's segment.

        Snapping many points: the nearest samples name the candidate segments (see
        :func:`snap_points`); GEOS's nearest-edge query costs ~10 µs a point on a city.
        """
        seg = self.segments
        xy, which = sample_pieces(seg.x0, seg.y0, seg.x1, seg.y1, SNAP_STEP_M)
        return cKDTree(xy), which

    @cached_property
    def edge_tree(self) -> shapely.STRtree:
        """Spatial index over edge geometries."""
        return shapely.STRtree(self.edges.geometry.values)

    @property
    def nodes(self) -> gpd.GeoDataFrame:
        """Nodes as a point GeoDataFrame (``node_id``, ``component``)."""
        return gpd.GeoDataFrame(
            {"node_id": self.node_id, "component": self.components},
            geometry=shapely.points(self.node_x, self.node_y), crs=self.crs,
        )

    def summary(self) -> dict:
        """JSON-friendly description: sizes, total length, components, CRS."""
        comp = self.components
        return {
            "source": self.source,
            "nodes": int(self.n_nodes),
            "edges": len(self.edges),
            "length_km": round(float(self.edges["length"].sum()) / 1000, 3),
            "components": int(comp.max() + 1) if len(comp) else 0,
            "nodes_outside_largest_component": int((comp > 0).sum()),
            "excluded_ways": dict(sorted(self.excluded.items())),
            "crs": describe_crs(self.crs),
        }


def _length_matrix(u: np.ndarray, v: np.ndarray, length: np.ndarray, n: int) -> sparse.csr_matrix:
    """Symmetric sparse matrix keeping the shortest of parallel edges."""
    keep = u != v  # self-loops never shorten a path
    u, v, w = u[keep], v[keep], np.maximum(length[keep], _MIN_LENGTH)
    a = np.concatenate([u, v])
    b = np.concatenate([v, u])
    w = np.concatenate([w, w])
    # sort by length so the first of each (a, b) pair is the shortest, then drop the rest:
    # a CSR built from duplicates would *sum* them.
    order = np.lexsort((w, b, a))
    a, b, w = a[order], b[order], w[order]
    first = np.ones(len(a), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return sparse.csr_matrix((w[first], (a[first], b[first])), shape=(n, n))


def network_from_edges(
    edges: gpd.GeoDataFrame,
    node_xy: np.ndarray,
    node_id: np.ndarray | None = None,
    source: str = "",
    excluded: dict[str, int] | None = None,
) -> WalkNetwork:
    """Build a :class:`WalkNetwork` from edges whose ``u``/``v`` are node positions.

    Parameters
    ----------
    edges : GeoDataFrame
        Metric CRS; ``u``, ``v`` integer positions into ``node_xy``; LineString geometry.
        Geometries running from ``v`` to ``u`` are reversed; lengths are recomputed
        from the geometry so they agree with snapping offsets.
    node_xy : ndarray, shape (n, 2)
        Node coordinates in the same CRS.
    node_id : ndarray, optional
        Original ids; defaults to positions.
    source : str
        Description of the origin.
    excluded : dict, optional
        Walk-filter exclusions to carry along.

    Returns
    -------
    WalkNetwork
    """
    if edges.crs is None or not pyproj.CRS(edges.crs).is_projected:
        raise CRSError("street edges must be in a projected metric CRS; reproject them first")
    if len(edges) == 0:
        raise NetworkError(f"{source or 'the street network'} has no walkable street left after the walk filter "
                           f"(excluded: {excluded or {}}); check the highway/foot/access tags")
    edges = edges.reset_index(drop=True).copy()
    u = edges["u"].to_numpy(dtype=np.int64)
    v = edges["v"].to_numpy(dtype=np.int64)
    geoms = edges.geometry.values
    start = shapely.get_coordinates(shapely.get_point(geoms, 0))
    d_u = np.hypot(start[:, 0] - node_xy[u, 0], start[:, 1] - node_xy[u, 1])
    d_v = np.hypot(start[:, 0] - node_xy[v, 0], start[:, 1] - node_xy[v, 1])
    flip = d_v < d_u
    if flip.any():
        geoms = geoms.copy()
        geoms[flip] = shapely.reverse(geoms[flip])
        edges = edges.set_geometry(gpd.GeoSeries(geoms, crs=edges.crs, index=edges.index))
    edges["u"] = u
    edges["v"] = v
    edges["length"] = shapely.length(edges.geometry.values)
    return WalkNetwork(
        crs=pyproj.CRS(edges.crs),
        node_x=np.asarray(node_xy[:, 0], dtype=float),
        node_y=np.asarray(node_xy[:, 1], dtype=float),
        node_id=np.arange(len(node_xy)) if node_id is None else np.asarray(node_id),
        edges=edges,
        source=source,
        excluded=dict(excluded or {}),
    )


def network_from_osmnx(G: nx.MultiDiGraph, crs: pyproj.CRS | None = None, source: str = "",
                       apply_walk_filter: bool = True) -> WalkNetwork:
    """Convert an osmnx graph to a :class:`WalkNetwork`.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        An osmnx graph in any CRS (``G.graph["crs"]``).
    crs : pyproj.CRS, optional
        Metric CRS; by default the UTM zone of the graph's extent.
    source : str
        Description of the origin.
    apply_walk_filter : bool
        Drop ways a pedestrian may not use (see :func:`walk_mask`). Apply it
        before simplification when you can (:func:`read_osm_xml` does).

    Returns
    -------
    WalkNetwork
    """
    import osmnx as ox

    if G.number_of_edges() == 0:
        raise NetworkError(f"{source or 'the street graph'} has no edges")
    excluded: dict[str, int] = {}
    if apply_walk_filter:
        G, excluded = filter_graph(G)
    nodes, edges = ox.graph_to_gdfs(G)
    if crs is None:
        crs = choose_metric_crs(nodes)
    nodes = nodes.to_crs(crs)
    edges = edges.to_crs(crs).reset_index()
    # walking ignores direction: keep one edge per (u, v, geometry) whichever way it was stored
    a = np.minimum(edges["u"].to_numpy(), edges["v"].to_numpy())
    b = np.maximum(edges["u"].to_numpy(), edges["v"].to_numpy())
    wkb = shapely.to_wkb(shapely.normalize(edges.geometry.values))
    key = pd.DataFrame({"a": a, "b": b, "g": wkb})
    edges = edges.loc[~key.duplicated().to_numpy()]
    pos = pd.Series(np.arange(len(nodes)), index=nodes.index)
    edges = edges.assign(u=pos.loc[edges["u"]].to_numpy(), v=pos.loc[edges["v"]].to_numpy())
    edges = edges.drop(columns=[c for c in ("key", "osmid", "reversed") if c in edges.columns])
    node_xy = shapely.get_coordinates(nodes.geometry.values)
    return network_from_edges(gpd.GeoDataFrame(edges, geometry="geometry", crs=crs), node_xy,
                              node_id=nodes.index.to_numpy(), source=source, excluded=excluded)


def edge_names(network: WalkNetwork, edge_index: Iterable[int]) -> list[str | None]:
    """Street names of edges (``None`` where the data has none)."""
    if "name" not in network.edges.columns:
        return [None for _ in edge_index]
    names = network.edges["name"].to_numpy()
    out = []
    for i in edge_index:
        val = names[int(i)]
        text = _as_text(val)
        out.append(text or None)
    return out
