"""Street fragments: small disconnected pieces of the walk network, and snapping past them.

Real OSM data has many tiny components (tunnel pieces, building passages,
footways cut off by tagging). A home whose nearest street is such a fragment
would count as unreachable although the main network is a few metres away.
:func:`resnap_to_components` moves such points to the nearest street of an
allowed component (one that reaches a facility) when it is within a tolerance.
Fragment size is metres of street, not nodes.

>>> import geopandas as gpd, numpy as np, shapely
>>> from coverage.network.graph import network_from_edges
>>> lines = [shapely.LineString([(0, 0), (100, 0)]), shapely.LineString([(0, 10), (20, 10)])]
>>> e = gpd.GeoDataFrame({"u": [0, 2], "v": [1, 3]}, geometry=lines, crs=32648)
>>> net = network_from_edges(e, np.array([(0, 0), (100, 0), (0, 10), (20, 10)]))
>>> component_length_m(net).round(1).tolist()
[100.0, 20.0]
"""

from __future__ import annotations

import numpy as np
import shapely

from coverage.network.graph import WalkNetwork
from coverage.network.snap import Snap

__all__ = ["component_length_m", "fragment_components", "resnap_to_components"]


def component_length_m(network: WalkNetwork) -> np.ndarray:
    """Metres of street in each connected component (indexed by :attr:`WalkNetwork.components`)."""
    comp = network.components
    u, _, length = network.edge_arrays
    n_comp = int(comp.max()) + 1 if len(comp) else 0
    return np.bincount(comp[u], weights=length, minlength=n_comp)


def fragment_components(network: WalkNetwork, fragment_m: float) -> np.ndarray:
    """Boolean mask per component: ``True`` where it has less than ``fragment_m`` metres of street."""
    return component_length_m(network) < fragment_m


def resnap_to_components(network: WalkNetwork, xy: np.ndarray, snap: Snap, move: np.ndarray,
                         allowed: np.ndarray, tolerance_m: float) -> tuple[Snap, np.ndarray]:
    """Snap the points ``move`` to the nearest edge of an ``allowed`` component within ``tolerance_m``.

    Parameters
    ----------
    network : WalkNetwork
    xy : ndarray, shape (k, 2)
        The points, in the network's CRS.
    snap : Snap
        Their nearest-edge snaps (row for row).
    move : ndarray of bool
        Points to try to move (e.g. those on a fragment that reaches no facility).
    allowed : ndarray of bool
        Per component: may a point be moved onto it.
    tolerance_m : float
        Largest distance from the point to the new street.

    Returns
    -------
    snap : Snap
        A copy with the moved points re-snapped.
    moved : ndarray of bool
        The points that were moved.
    """
    out = snap.subset(np.arange(len(snap)))
    moved = np.zeros(len(snap), dtype=bool)
    todo = np.flatnonzero(move)
    u, v, length = network.edge_arrays
    ok_edge = np.flatnonzero(allowed[network.components[u]])
    if len(todo) == 0 or len(ok_edge) == 0:
        return out, moved
    geoms = np.asarray(network.edges.geometry.values)[ok_edge]
    pts = shapely.points(np.asarray(xy, dtype=float)[todo])
    (src, hit), dist = shapely.STRtree(geoms).query_nearest(pts, max_distance=tolerance_m, return_distance=True,
                                                            all_matches=False)
    if len(src) == 0:
        return out, moved
    rows, edge = todo[src], ok_edge[hit]
    along = shapely.line_locate_point(geoms[hit], pts[src])
    foot = shapely.get_coordinates(shapely.line_interpolate_point(geoms[hit], along))
    out.edge[rows], out.u[rows], out.v[rows], out.length[rows] = edge, u[edge], v[edge], length[edge]
    out.along[rows], out.offset[rows], out.x[rows], out.y[rows] = along, dist, foot[:, 0], foot[:, 1]
    moved[rows] = True
    return out, moved
