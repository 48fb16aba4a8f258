"""Street fragments: small pieces of network cut off from the rest, and the points snapped onto them.

Real OSM data has tunnel pieces, building passages and footways cut off by tagging. A
resident whose nearest street is such a fragment reaches nothing, though the main network
may be a few metres away. The rule, one for homes and facilities alike:

- a **fragment** is a connected component with less than ``fragment_m`` metres of street
  (measured in street length, not in nodes) that holds no counted facility;
- the **main network** is every other component (the largest always belongs to it);
- a point snapped onto a fragment moves to the nearest street of the main network when that
  street is at most ``island_snap_m`` away (its off-network leg grows to that distance);
- a point that cannot move stays on its fragment and is reported as ``on_network_island``.

:func:`coverage.network.snap.snap_points` stays the plain nearest-street snap; this module
corrects its answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from coverage.network.graph import WalkNetwork
from coverage.network.snap import Snap, snap_points

__all__ = [
    "IslandSnap",
    "component_street_m",
    "main_components",
    "snap_facility_points",
    "snap_off_fragments",
]


def component_street_m(network: WalkNetwork) -> np.ndarray:
    """Metres of street in each connected component (indexed by :attr:`WalkNetwork.components`).

    Examples
    --------
    >>> from coverage.network.lines import network_from_lines
    >>> import geopandas as gpd, shapely
    >>> x, y = 655_000, 4_392_000                                   # Wuhai, UTM 48N
    >>> lines = gpd.GeoDataFrame(geometry=[shapely.LineString([(x, y), (x + 300, y)]),
    ...                                    shapely.LineString([(x, y + 50), (x + 20, y + 50)])], crs=32648)
    >>> component_street_m(network_from_lines(lines, crs=lines.crs)).round(1).tolist()
    [300.0, 20.0]
    """
    comp = network.components
    u, _, length = network.edge_arrays
    return np.bincount(comp[u], weights=length, minlength=int(comp.max()) + 1 if len(comp) else 0)


def main_components(network: WalkNetwork, fragment_m: float, with_facility: np.ndarray | None = None) -> np.ndarray:
    """Boolean per component: part of the main network (not a fragment).

    Parameters
    ----------
    network : WalkNetwork
    fragment_m : float
        Components with less street than this are fragments...
    with_facility : ndarray of int, optional
        ...unless they hold one of these components' labels (a counted facility's).
    """
    street = component_street_m(network)
    main = street >= fragment_m
    if len(main):
        main[0] = True  # the largest component is the main network, however small the study
    if with_facility is not None and len(with_facility):
        main[np.unique(with_facility)] = True
    return main


@dataclass
class IslandSnap:
    """Points snapped with the fragment rule.

    Attributes
    ----------
    snap : Snap
        The corrected snap (moved points sit on the main network).
    moved : ndarray of bool
        Points moved off a fragment onto the main network.
    stranded : ndarray of bool
        Points left on a fragment: nothing on the main network within the tolerance.
    """

    snap: Snap
    moved: np.ndarray
    stranded: np.ndarray


def _nearest_main_edge(network: WalkNetwork, pts: np.ndarray, main_edge: np.ndarray, tolerance_m: float
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Nearest main-network edge of each point within the tolerance (-1 where none), and its distance."""
    best = np.full(len(pts), -1, dtype=np.int64)
    dist = np.full(len(pts), np.inf)
    if not len(pts):
        return best, dist
    pi, ei = network.edge_tree.query(pts, predicate="dwithin", distance=tolerance_m)
    keep = main_edge[ei]
    pi, ei = pi[keep], ei[keep]
    d = shapely.distance(pts[pi], network.edges.geometry.values[ei])
    order = np.lexsort((ei, d, pi))  # per point, the nearest (ties: lowest edge row)
    pi, ei, d = pi[order], ei[order], d[order]
    first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.zeros(0, bool)
    best[pi[first]], dist[pi[first]] = ei[first], d[first]
    return best, dist


def snap_off_fragments(network: WalkNetwork, xy: np.ndarray, snap: Snap, main: np.ndarray,
                       tolerance_m: float) -> IslandSnap:
    """Move points snapped onto fragments to the main network, within a tolerance.

    Parameters
    ----------
    network : WalkNetwork
    xy : ndarray, shape (k, 2)
        The points (metric CRS), row for row with ``snap``.
    snap : Snap
        Their plain nearest-street snap (:func:`~coverage.network.snap.snap_points`).
    main : ndarray of bool
        Per component, part of the main network (:func:`main_components`).
    tolerance_m : float
        Farthest distance from the point to a main-network street it may move to.

    Returns
    -------
    IslandSnap
    """
    comp = network.components
    on_fragment = ~main[comp[snap.u]] if len(snap) else np.zeros(0, bool)
    idx = np.flatnonzero(on_fragment)
    out = snap.subset(np.arange(len(snap)))
    if not len(idx):
        return IslandSnap(out, np.zeros(len(snap), bool), np.zeros(len(snap), bool))
    eu, ev, length = network.edge_arrays
    pts = shapely.points(np.asarray(xy, dtype=float).reshape(-1, 2)[idx])
    edge, dist = _nearest_main_edge(network, pts, main[comp[eu]], tolerance_m)
    ok = edge >= 0
    rows, e = idx[ok], edge[ok]
    geoms = network.edges.geometry.values[e]
    along = shapely.line_locate_point(geoms, pts[ok])
    at = shapely.get_coordinates(shapely.line_interpolate_point(geoms, along))
    out.edge[rows], out.u[rows], out.v[rows], out.length[rows] = e, eu[e], ev[e], length[e]
    out.along[rows], out.offset[rows], out.x[rows], out.y[rows] = along, dist[ok], at[:, 0], at[:, 1]
    moved = np.zeros(len(snap), bool)
    moved[rows] = True
    stranded = on_fragment & ~moved
    return IslandSnap(out, moved, stranded)


def snap_facility_points(network: WalkNetwork, xy: np.ndarray, fragment_m: float, island_snap_m: float
                         ) -> IslandSnap:
    """Snap facilities (or sites) with the fragment rule: off fragments onto the main network where close.

    Every caller that walks from facilities (coverage, capacity, isochrones) snaps through
    here, so they all start from the same street.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    return snap_off_fragments(network, xy, snap_points(network, xy), main_components(network, fragment_m),
                              island_snap_m)
