"""Street centre-line layer -> noded street graph.

Planning offices often keep streets as a plain line layer (Shapefile,
GeoPackage, GeoJSON) that is not *noded*: streets cross without sharing a
vertex, and a side street stops a metre short of the street it meets. Walking
distances on such a layer are wrong (nothing is connected), so
:func:`graph_from_lines` repairs it into a graph:

1. explode multi-part features; skip (and count) empty, non-line, non-finite
   and zero-length geometries; drop Z;
2. with ``split_at_crossings``, cut self-crossing lines at their own crossings;
3. merge line ends lying within ``snap_tolerance`` of each other into one
   point (clusters from :class:`scipy.spatial.cKDTree`);
4. move each remaining dangling end lying within ``snap_tolerance`` of another
   line onto its nearest point on that line (T-junctions that stop short);
5. split lines wherever they cross or touch another line (candidate pairs from
   :class:`shapely.STRtree`, vectorised :func:`shapely.intersection`), or, with
   ``split_at_crossings=False``, only at vertices shared with another line and
   where an end lies on a line (bridges and tunnels stay unconnected);
6. give coincident piece ends (within :data:`NODE_TOLERANCE`) one node id,
   drop pieces that collapsed to a point and de-duplicate identical pieces
   (the same street drawn twice).

Everything skipped or repaired is counted in :attr:`LinesGraph.skipped` and
:attr:`LinesGraph.repairs`; the rows concerned are in
:attr:`LinesGraph.skipped_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from coverage.errors import CRSError, GeometryError, NetworkError, ValueInputError
from coverage.geo.crs import choose_metric_crs
from coverage.network.filter import walk_mask
from coverage.network.graph import WalkNetwork, network_from_edges

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

__all__ = ["DEDUPE_TOLERANCE", "NODE_TOLERANCE", "LinesGraph", "graph_from_lines"]

#: Piece ends closer than this (metres) are the same node. Absorbs floating
#: point noise between intersection points computed from different line pairs.
NODE_TOLERANCE = 1e-3

#: Two pieces joining the same nodes whose Hausdorff distance is at most this
#: (metres) are the same street drawn twice; only the first is kept.
DEDUPE_TOLERANCE = 1e-2

# Output columns computed here; input attributes with these names are renamed.
_RESERVED = ("u", "v", "length", "source_row", "geometry")

# shapely type ids
_POINT, _LINESTRING, _LINEARRING = 0, 1, 2
_MULTI_OR_COLLECTION = (4, 5, 6, 7)
_TYPE_NAMES = {
    -1: "empty or missing",
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}

_SKIP_KEYS = (
    "empty_geometry",
    "not_a_line",
    "invalid_coordinates",
    "zero_length",
    "collapsed_pieces",
)
_REPAIR_KEYS = (
    "multipart_exploded",
    "z_dropped",
    "self_crossings_split",
    "ends_merged",
    "ends_snapped",
    "crossings_split",
    "duplicates_removed",
)


@dataclass
class LinesGraph:
    """A noded street graph built from a centre-line layer.

    Attributes
    ----------
    nodes : geopandas.GeoDataFrame
        Indexed by node id ``0..n-1`` (index name ``node``); columns ``x``,
        ``y`` and Point ``geometry``, in the CRS of the input.
    edges : geopandas.GeoDataFrame
        One row per street piece: ``u``, ``v`` (node ids), ``length``
        (metres), every attribute column of the input feature the piece came
        from, ``source_row`` (index label of that feature) and a LineString
        ``geometry`` running from node ``u`` to node ``v``.
    skipped : dict of str to int
        What was left out and why: ``empty_geometry``, ``not_a_line``,
        ``invalid_coordinates`` (NaN/inf), ``zero_length`` (input parts) and
        ``collapsed_pieces`` (pieces whose two ends were snapped into one node).
    repairs : dict of str to int
        What was fixed: ``multipart_exploded`` (extra parts), ``z_dropped``
        (features), ``self_crossings_split`` (lines), ``ends_merged`` (line
        ends moved onto a shared point), ``ends_snapped`` (dangling end points
        moved onto another line), ``crossings_split`` (distinct points where a
        line was cut in its interior) and ``duplicates_removed`` (pieces).
    skipped_rows : dict of str to list
        For each ``skipped`` reason, the index labels of the input features
        concerned, so a planner can find and fix them.
    renamed_columns : dict of str to str
        Input attribute columns renamed because they clash with a computed
        column (e.g. an input ``length`` becomes ``length_input``).
    """

    nodes: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    skipped: dict[str, int]
    repairs: dict[str, int]
    skipped_rows: dict[str, list] = field(default_factory=dict)
    renamed_columns: dict[str, str] = field(default_factory=dict)

    def to_networkx(self) -> nx.MultiGraph:
        """Return an undirected ``networkx.MultiGraph`` of the street graph.

        Returns
        -------
        networkx.MultiGraph
            Nodes carry ``x`` and ``y``; edges are keyed by their row in
            :attr:`edges` and carry ``length``.
        """
        import networkx as nx

        graph = nx.MultiGraph(crs=self.nodes.crs)
        graph.add_nodes_from(
            (int(i), {"x": float(x), "y": float(y)})
            for i, x, y in zip(self.nodes.index, self.nodes["x"], self.nodes["y"])
        )
        graph.add_edges_from(
            (int(u), int(v), int(k), {"length": float(length)})
            for k, u, v, length in zip(
                range(len(self.edges)), self.edges["u"], self.edges["v"], self.edges["length"]
            )
        )
        return graph


def graph_from_lines(
    lines: gpd.GeoDataFrame,
    snap_tolerance: float = 2.0,
    split_at_crossings: bool = True,
    source: str | None = None,
) -> LinesGraph:
    """Build a noded street graph from a (possibly un-noded) centre-line layer.

    Parameters
    ----------
    lines : geopandas.GeoDataFrame
        Street centre lines (LineString / MultiLineString) in a projected CRS
        in metres. Other geometry types are skipped and counted.
    snap_tolerance : float, default 2.0
        Metres. Line ends closer than this to each other become one node; a
        dangling end closer than this to another line is moved onto it.
        ``0`` disables snapping (ends lying exactly on a line still connect).
    split_at_crossings : bool, default True
        Split lines wherever they cross or touch. ``False`` connects lines
        only at shared vertices and where an end lies on (or is snapped onto)
        another line, for layers that draw bridges and tunnels as plain
        crossings.
    source : str, optional
        File the layer was read from, named in error messages.

    Returns
    -------
    LinesGraph
        Nodes, edges (with the input attributes), and counts of what was
        skipped and repaired.

    Raises
    ------
    CRSError
        If the layer has no CRS, or a geographic / non-metre one.
    GeometryError
        If ``lines`` has no geometry column or no usable line remains.
    ValueInputError
        If ``snap_tolerance`` is negative or not finite.
    """
    tol = _check_input(lines, snap_tolerance, source)
    skipped = dict.fromkeys(_SKIP_KEYS, 0)
    repairs = dict.fromkeys(_REPAIR_KEYS, 0)
    skipped_pos: dict[str, list[np.ndarray]] = {k: [] for k in _SKIP_KEYS}

    # --- 1. explode and clean ------------------------------------------------
    geoms, pos = _explode(lines, source, skipped, repairs, skipped_pos)
    if split_at_crossings and len(geoms):
        geoms, pos = _self_node(geoms, pos, repairs)
    # Exact consecutive repeats would otherwise count as "shared vertices".
    geoms = shapely.remove_repeated_points(geoms, 0.0)
    # Exact copies (either direction) go first, so they are neither noded against
    # each other vertex by vertex nor snapped onto each other.
    copy = pd.Series(shapely.to_wkb(shapely.normalize(geoms))).duplicated().to_numpy()
    geoms, pos = geoms[~copy], pos[~copy]
    n_copies = int(copy.sum())

    # --- 2.-4. snap ends, split, number the nodes ----------------------------
    u, v, length, pieces, piece_part, node_xy = _noded_pieces(geoms, tol, split_at_crossings, repairs)

    # --- 5. drop collapsed pieces, de-duplicate ------------------------------
    collapsed = (length <= NODE_TOLERANCE) | ((u == v) & (length <= 2 * tol))
    if collapsed.any():
        skipped["collapsed_pieces"] = int(collapsed.sum())
        skipped_pos["collapsed_pieces"].append(pos[piece_part[collapsed]])
    keep = ~collapsed
    dup = _duplicates(u, v, length, pieces, keep)
    repairs["duplicates_removed"] = n_copies + int(dup.sum())
    keep &= ~dup
    if not keep.any():
        raise GeometryError(
            "no usable street remains after snapping: every line collapsed to a point "
            f"(snap_tolerance={tol} m); check the layer's units or lower snap_tolerance",
            path=source,
        )

    # --- 6. assemble ---------------------------------------------------------
    nodes, edges, renamed = _assemble(lines, u[keep], v[keep], length[keep], pieces[keep], pos[piece_part[keep]],
                                      node_xy)
    skipped_rows = {
        k: lines.index[np.unique(np.concatenate(p))].tolist() if p else []
        for k, p in skipped_pos.items()
    }
    return LinesGraph(nodes, edges, skipped, repairs, skipped_rows, renamed)


def _check_input(lines: gpd.GeoDataFrame, snap_tolerance: float, source: str | None) -> float:
    """Refuse a layer without geometry or metres, or a bad tolerance; return the tolerance as a float."""
    try:
        has_geometry = isinstance(lines, gpd.GeoDataFrame) and lines.geometry is not None
    except AttributeError:  # a GeoDataFrame without an active geometry column
        has_geometry = False
    if not has_geometry:
        raise GeometryError(
            "the street layer has no geometry column; supply a line layer "
            "(Shapefile, GeoPackage or GeoJSON of street centre lines)",
            path=source,
        )
    _check_crs(lines, source)
    try:
        tol = float(snap_tolerance)
    except (TypeError, ValueError):
        tol = float("nan")
    if not np.isfinite(tol) or tol < 0:
        raise ValueInputError(
            f"snap_tolerance must be a non-negative number of metres, got {snap_tolerance!r}; "
            "use e.g. 2.0 (or 0 to disable snapping)",
            path=source,
        )
    return tol


def _noded_pieces(
    geoms: np.ndarray, tol: float, split_at_crossings: bool, repairs: dict[str, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Snap the line ends, cut the lines at every split point and give the piece ends node ids.

    Returns ``u``, ``v`` (node of each piece's ends), ``length``, the pieces,
    the line each piece came from (position in ``geoms``) and the node
    coordinates; counts ``ends_merged``, ``ends_snapped`` and
    ``crossings_split`` in ``repairs``.
    """
    # --- 2. snap ends --------------------------------------------------------
    coords, cidx = shapely.get_coordinates(geoms, return_index=True)
    first, last = _first_last(cidx, len(geoms))
    if tol > 0:
        repairs["ends_merged"] = _merge_ends(coords, first, last, tol)
    req_part, req_xy, n_snapped = _snap_ends_to_lines(coords, cidx, first, last, tol)
    repairs["ends_snapped"] = n_snapped
    geoms = shapely.linestrings(coords, indices=cidx)

    # --- 3. split requests ---------------------------------------------------
    req_m = shapely.line_locate_point(geoms[req_part], shapely.points(req_xy))
    cum = _chainage(coords, first)
    if split_at_crossings:
        cp, cxy = _crossing_points(geoms)
        cm = shapely.line_locate_point(geoms[cp], shapely.points(cxy))
    else:
        cp, cxy, cm = _shared_vertices(coords, cidx, first, last, cum)
    req_part = np.concatenate([req_part, cp])
    req_xy = np.concatenate([req_xy, cxy])
    req_m = np.concatenate([req_m, cm])

    # --- 4. cut into pieces and number the nodes -----------------------------
    pc, pidx, piece_part, split_xy = _split(coords, cum, first, last, req_part, req_m, req_xy)
    pfirst, plast = _first_last(pidx, len(piece_part))
    node_of_end, node_xy = _cluster(np.concatenate([pc[pfirst], pc[plast]]), NODE_TOLERANCE)
    u = node_of_end[: len(pfirst)]
    v = node_of_end[len(pfirst):]
    pc[pfirst] = node_xy[u]  # pieces run exactly from node u to node v
    pc[plast] = node_xy[v]
    pieces = shapely.linestrings(pc, indices=pidx)
    length = shapely.length(pieces)
    if len(split_xy):
        tree = cKDTree(node_xy)
        _, hit = tree.query(split_xy)
        repairs["crossings_split"] = len(np.unique(hit))
    return u, v, length, pieces, piece_part, node_xy


def _assemble(
    lines: gpd.GeoDataFrame,
    u: np.ndarray,
    v: np.ndarray,
    length: np.ndarray,
    pieces: np.ndarray,
    rows: np.ndarray,
    node_xy: np.ndarray,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict[str, str]]:
    """Node and edge tables of the kept pieces (``rows``: input row position of each), and renamed columns."""
    # Renumber the nodes still in use 0..n-1 in order of first appearance.
    codes, old_id = pd.factorize(np.column_stack([u, v]).ravel())
    u, v = codes[0::2].astype(np.int64), codes[1::2].astype(np.int64)
    nxy = node_xy[old_id]

    crs = lines.crs
    nodes = gpd.GeoDataFrame(
        {"x": nxy[:, 0], "y": nxy[:, 1]},
        geometry=shapely.points(nxy),
        index=pd.RangeIndex(len(nxy), name="node"),
        crs=crs,
    )
    attrs = lines.drop(columns=lines.geometry.name)
    renamed = {c: _free_name(f"{c}_input", attrs.columns) for c in attrs.columns if c in _RESERVED}
    attrs = pd.DataFrame(attrs.rename(columns=renamed)).iloc[rows].reset_index(drop=True)
    edges = pd.concat(
        [
            pd.DataFrame({"u": u, "v": v, "length": length}),
            attrs,
            pd.DataFrame({"source_row": lines.index[rows]}),
        ],
        axis=1,
    )
    return nodes, gpd.GeoDataFrame(edges, geometry=pieces, crs=crs), renamed


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _check_crs(lines: gpd.GeoDataFrame, source: str | None) -> None:
    """Refuse layers whose coordinates are not metres on a projection."""
    crs = lines.crs
    if crs is None:
        raise CRSError(
            "the street line layer has no coordinate reference system; add the .prj file "
            "(or set the CRS) and reproject it to a metric CRS such as UTM zone 48N "
            "(EPSG:32648 for Wuhai) before building the graph",
            path=source,
        )
    if crs.is_geographic:
        raise CRSError(
            f"the street line layer is in geographic coordinates ({crs.name}, degrees); "
            "reproject it to a projected metric CRS such as UTM zone 48N (EPSG:32648 for "
            "Wuhai) before building the graph, so that the snap tolerance and lengths are metres",
            path=source,
        )
    units = {ax.unit_name.lower() for ax in crs.axis_info if ax.unit_name}
    if not crs.is_projected or (units and not units <= {"metre", "meter", "m"}):
        raise CRSError(
            f"the street line layer's CRS ({crs.name}) is not a projection in metres "
            f"(units: {', '.join(sorted(units)) or 'unknown'}); reproject it to a metric CRS "
            "such as UTM zone 48N (EPSG:32648)",
            path=source,
        )


def _explode(
    lines: gpd.GeoDataFrame,
    source: str | None,
    skipped: dict[str, int],
    repairs: dict[str, int],
    skipped_pos: dict[str, list[np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Return single 2-D LineStrings and the row position each came from."""
    arr = np.asarray(lines.geometry.array, dtype=object)
    pos = np.arange(len(arr))

    def skip(reason: str, mask: np.ndarray, where: np.ndarray) -> None:
        if mask.any():
            skipped[reason] += int(mask.sum())
            skipped_pos[reason].append(where[mask])

    empty_in = shapely.is_missing(arr) | shapely.is_empty(arr)
    skip("empty_geometry", empty_in, pos)
    geoms, pos = _flatten(arr[~empty_in], pos[~empty_in])

    empty = shapely.is_empty(geoms)
    skip("empty_geometry", empty, pos)
    geoms, pos = geoms[~empty], pos[~empty]

    types = shapely.get_type_id(geoms)
    is_line = (types == _LINESTRING) | (types == _LINEARRING)
    skip("not_a_line", ~is_line, pos)
    geoms, pos = geoms[is_line], pos[is_line]
    if not len(geoms):
        raise GeometryError(
            f"the street layer contains no usable line geometry ({_found_types(arr, empty_in)}); supply a layer "
            "of street centre lines (LineString / MultiLineString)",
            path=source,
        )
    n_features_with_lines = len(np.unique(pos))
    repairs["multipart_exploded"] = int(len(pos) - n_features_with_lines)

    has_z = shapely.has_z(geoms)
    if has_z.any():
        repairs["z_dropped"] = len(np.unique(pos[has_z]))
    finite, geoms = _rebuild_2d(geoms)
    skip("invalid_coordinates", ~finite, pos)
    pos = pos[finite]

    zero = shapely.length(geoms) <= 0
    skip("zero_length", zero, pos)
    geoms, pos = geoms[~zero], pos[~zero]
    if not len(geoms):
        found = ", ".join(f"{k}: {n}" for k, n in skipped.items() if n)
        raise GeometryError(
            f"the street layer contains no usable line geometry ({found}); supply a layer of "
            "street centre lines with finite coordinates and non-zero length",
            path=source,
        )
    return geoms, pos


def _flatten(geoms: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parts of Multi* and GeometryCollections (possibly nested), kept in input row order."""
    while True:
        multi = np.isin(shapely.get_type_id(geoms), _MULTI_OR_COLLECTION)
        if not multi.any():
            break
        parts, idx = shapely.get_parts(geoms[multi], return_index=True)
        geoms = np.concatenate([geoms[~multi], parts])
        pos = np.concatenate([pos[~multi], pos[multi][idx]])
    order = np.argsort(pos, kind="stable")
    return geoms[order], pos[order]


def _found_types(arr: np.ndarray, empty_in: np.ndarray) -> str:
    """What the layer holds instead of lines, for the error message (``3 Polygon, 1 empty or missing``)."""
    if not len(arr):
        return "the layer is empty"
    type_id = np.where(empty_in, -1, shapely.get_type_id(arr))
    kinds = pd.Series(type_id).map(_TYPE_NAMES).value_counts()
    return ", ".join(f"{n} {kind}" for kind, n in kinds.items())


def _rebuild_2d(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which lines have only finite coordinates, and those lines rebuilt from their 2-D coordinates.

    Rebuilding drops Z and turns LinearRings into LineStrings.
    """
    coords, cidx = shapely.get_coordinates(geoms, return_index=True)
    finite = np.ones(len(geoms), dtype=bool)
    finite[np.unique(cidx[~np.isfinite(coords).all(axis=1)])] = False
    keep_coord = finite[cidx]
    coords, cidx = coords[keep_coord], cidx[keep_coord]
    geoms = geoms[finite]
    if len(geoms):
        _, cidx = np.unique(cidx, return_inverse=True)
        geoms = shapely.linestrings(coords, indices=cidx)
    return finite, geoms


def _self_node(geoms: np.ndarray, pos: np.ndarray, repairs: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Cut lines that cross or overlap themselves at their own crossings."""
    bad = ~shapely.is_simple(geoms)
    if not bad.any():
        return geoms, pos
    repairs["self_crossings_split"] = int(bad.sum())
    bad_idx = np.nonzero(bad)[0]
    parts, idx = shapely.get_parts(shapely.node(geoms[bad]), return_index=True)
    geoms = np.concatenate([geoms[~bad], parts])
    owner = np.concatenate([np.nonzero(~bad)[0], bad_idx[idx]])
    order = np.argsort(owner, kind="stable")
    return geoms[order], pos[owner[order]]


def _first_last(cidx: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Index of the first and last coordinate of each of ``n`` geometries."""
    counts = np.bincount(cidx, minlength=n)
    last = np.cumsum(counts) - 1
    return last - counts + 1, last


def _cluster(points: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Group points closer than ``radius`` (transitively).

    Returns the cluster id of each point and the coordinate of each cluster
    (its first member).
    """
    pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
    n = len(points)
    if len(pairs):
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        _, labels = connected_components(graph, directed=False)
    else:
        labels = np.arange(n)
    _, first_idx, labels = np.unique(labels, return_index=True, return_inverse=True)
    return labels, points[first_idx]


def _merge_ends(coords: np.ndarray, first: np.ndarray, last: np.ndarray, tol: float) -> int:
    """Move line ends within ``tol`` of each other onto one point, in place.

    The point is the location most ends already share (an existing junction
    stays where it is); if no two ends coincide exactly, their centroid.
    Returns the number of ends moved.
    """
    ends = np.concatenate([first, last])
    xy = coords[ends]
    pairs = cKDTree(xy).query_pairs(tol, output_type="ndarray")
    if not len(pairs):
        return 0
    n = len(xy)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    df = pd.DataFrame({"c": comp, "x": xy[:, 0], "y": xy[:, 1]})
    counts = df.groupby(["c", "x", "y"], sort=False).size().rename("k").reset_index()
    counts = counts.sort_values(["c", "k"], ascending=[True, False], kind="stable")
    mode = counts.drop_duplicates("c").set_index("c")
    mean = df.groupby("c")[["x", "y"]].mean()
    use_mode = mode["k"] > 1
    rep = np.where(
        use_mode.to_numpy()[:, None],
        mode[["x", "y"]].to_numpy(),
        mean.loc[mode.index, ["x", "y"]].to_numpy(),
    )
    rep_xy = np.empty((comp.max() + 1, 2))
    rep_xy[mode.index.to_numpy()] = rep
    new = rep_xy[comp]
    moved = (new != xy).any(axis=1)
    coords[ends] = new
    return int(moved.sum())


def _snap_ends_to_lines(
    coords: np.ndarray, cidx: np.ndarray, first: np.ndarray, last: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Connect line ends to the lines they touch or stop just short of.

    An end lying on another line (within :data:`NODE_TOLERANCE`) is left in
    place; otherwise an end within ``tol`` of another line is moved, in place,
    onto its nearest point on the nearest such line, and every line passing
    within :data:`NODE_TOLERANCE` of that point is cut there. Lines that end at
    the same point are not candidates (they are already connected there).

    Returns
    -------
    part, xy : numpy.ndarray
        Split requests: the line to cut and the point to cut it at.
    n_snapped : int
        Number of distinct end points moved.
    """
    n_parts = len(first)
    geoms = shapely.linestrings(coords, indices=cidx)
    ends = np.concatenate([first, last])
    owner = np.concatenate([np.arange(n_parts), np.arange(n_parts)])
    loc_xy, inv = np.unique(coords[ends], axis=0, return_inverse=True)
    inv = inv.ravel()
    pts = shapely.points(loc_xy)
    loc, part = shapely.STRtree(geoms).query(pts, predicate="dwithin", distance=max(tol, NODE_TOLERANCE))
    own = np.unique(inv.astype(np.int64) * n_parts + owner)
    cand = ~np.isin(loc.astype(np.int64) * n_parts + part, own)
    loc, part = loc[cand], part[cand]
    empty = (np.empty(0, dtype=np.int64), np.empty((0, 2)), 0)
    if not len(loc):
        return empty
    dist = shapely.distance(pts[loc], geoms[part])

    on_line = dist <= NODE_TOLERANCE
    req_part = [part[on_line]]
    req_xy = [loc_xy[loc[on_line]]]

    # Ends already on some line are connected; the rest go to the nearest line.
    free = ~np.isin(loc, loc[on_line]) & (dist <= tol)
    loc, part, dist = loc[free], part[free], dist[free]
    n_snapped = 0
    if len(loc):
        order = np.lexsort((part, dist, loc))
        loc, part = loc[order], part[order]
        nearest = np.ones(len(loc), dtype=bool)
        nearest[1:] = loc[1:] != loc[:-1]
        loc, part = loc[nearest], part[nearest]
        target = shapely.get_coordinates(shapely.shortest_line(pts[loc], geoms[part]))[1::2]
        new_loc_xy = loc_xy.copy()
        new_loc_xy[loc] = target
        coords[ends] = new_loc_xy[inv]
        # Cut every line through the new junction, not only the nearest one, so a
        # street drawn twice (or two lines meeting there) is cut at the same point.
        t_pts = shapely.points(target)
        hit, through = shapely.STRtree(geoms).query(t_pts, predicate="dwithin", distance=NODE_TOLERANCE)
        req_part += [part, through]
        req_xy += [target, target[hit]]
        n_snapped = len(loc)
    return np.concatenate(req_part).astype(np.int64), np.concatenate(req_xy), n_snapped


def _chainage(coords: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Distance along its line of every vertex (0 at each line's start)."""
    step = np.zeros(len(coords))
    step[1:] = np.hypot(*(coords[1:] - coords[:-1]).T)
    step[first] = 0.0
    total = np.cumsum(step)
    owner_start = np.repeat(total[first], np.diff(np.r_[first, len(coords)]))
    return total - owner_start


def _crossing_points(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points where pairs of lines cross, touch, or where their overlaps end.

    Returns split requests (line index, xy) for both lines of every pair.
    """
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if not len(a):
        return np.empty(0, dtype=np.int64), np.empty((0, 2))
    inter = shapely.intersection(geoms[a], geoms[b])
    parts, pair = shapely.get_parts(inter, return_index=True)
    types = shapely.get_type_id(parts)
    pt = types == _POINT
    xy = [shapely.get_coordinates(parts[pt])]
    which = [pair[pt]]
    ln = (types == _LINESTRING) | (types == _LINEARRING)
    if ln.any():
        # Overlapping stretches: merge each pair's overlap into whole lines so
        # the cut is only where the overlap starts and ends.
        lpair, compact = np.unique(pair[ln], return_inverse=True)
        merged = shapely.line_merge(shapely.multilinestrings(parts[ln], indices=compact))
        mparts, midx = shapely.get_parts(merged, return_index=True)
        for end in (0, -1):
            xy.append(shapely.get_coordinates(shapely.get_point(mparts, end)))
            which.append(lpair[midx])
    xy_all = np.concatenate(xy)
    pair_all = np.concatenate(which)
    part = np.concatenate([a[pair_all], b[pair_all]]).astype(np.int64)
    return part, np.concatenate([xy_all, xy_all])


def _shared_vertices(
    coords: np.ndarray, cidx: np.ndarray, first: np.ndarray, last: np.ndarray, cum: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interior vertices whose exact location is also a vertex elsewhere.

    Returns split requests (line index, xy, distance along the line); the
    distance comes from the vertex itself, so a line passing the same point
    twice is cut at both visits.
    """
    _, inv, counts = np.unique(coords, axis=0, return_inverse=True, return_counts=True)
    interior = np.ones(len(coords), dtype=bool)
    interior[first] = False
    interior[last] = False
    hit = interior & (counts[inv.ravel()] > 1)
    return cidx[hit].astype(np.int64), coords[hit], cum[hit]


def _split(
    coords: np.ndarray,
    cum: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    req_part: np.ndarray,
    req_m: np.ndarray,
    req_xy: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut every line at its split requests, vectorised.

    Each piece runs from one cut point (or the line's start) to the next cut
    point (or its end) through the original vertices in between. The cut
    point itself is the requested xy, so both lines at a crossing end on the
    same coordinate. Requests at a line's ends or within
    :data:`NODE_TOLERANCE` of another request on the same line are ignored.

    Returns
    -------
    piece_coords, piece_index : numpy.ndarray
        Coordinates of all pieces and the piece each belongs to.
    piece_part : numpy.ndarray
        The line each piece was cut from.
    split_xy : numpy.ndarray
        The cut points actually used.
    """
    eps = NODE_TOLERANCE
    n_parts = len(first)
    length = cum[last]
    inside = (req_m > eps) & (req_m < length[req_part] - eps)
    req_part, req_m, req_xy = req_part[inside], req_m[inside], req_xy[inside]
    order = np.lexsort((req_m, req_part))
    req_part, req_m, req_xy = req_part[order], req_m[order], req_xy[order]
    distinct = np.ones(len(req_part), dtype=bool)
    distinct[1:] = (req_part[1:] != req_part[:-1]) | (np.diff(req_m) > eps)
    req_part, req_m, req_xy = req_part[distinct], req_m[distinct], req_xy[distinct]

    # Boundaries: each line's start, its cuts, its end; sorted by line then chainage.
    b_part = np.concatenate([np.arange(n_parts), req_part, np.arange(n_parts)])
    b_m = np.concatenate([np.zeros(n_parts), req_m, length])
    b_kind = np.concatenate([np.zeros(n_parts), np.ones(len(req_part)), np.full(n_parts, 2)])
    b_xy = np.concatenate([coords[first], req_xy, coords[last]])
    order = np.lexsort((b_kind, b_m, b_part))
    b_part, b_m, b_kind, b_xy = b_part[order], b_m[order], b_kind[order], b_xy[order]
    start = np.nonzero(b_kind != 2)[0]  # each non-end boundary starts a piece
    stop = start + 1
    piece_part = b_part[start]

    # Global chainage increasing across lines, to find vertex ranges in one searchsorted.
    offset = np.r_[0.0, np.cumsum(length + 1.0)[:-1]]
    owner = np.repeat(np.arange(n_parts), last - first + 1)
    gcum = cum + offset[owner]
    lo = np.searchsorted(gcum, offset[piece_part] + b_m[start] + eps, side="right")
    hi = np.searchsorted(gcum, offset[piece_part] + b_m[stop] - eps, side="left")
    hi = np.maximum(hi, lo)
    n_out = hi - lo + 2
    piece_index = np.repeat(np.arange(len(start)), n_out)
    piece_first = np.r_[0, np.cumsum(n_out)[:-1]]
    k = np.arange(len(piece_index)) - piece_first[piece_index]
    src = lo[piece_index] + k - 1
    piece_coords = coords[np.clip(src, 0, len(coords) - 1)]
    is_first = k == 0
    is_last = k == n_out[piece_index] - 1
    piece_coords[is_first] = b_xy[start]
    piece_coords[is_last] = b_xy[stop]
    return piece_coords, piece_index, piece_part, req_xy


def _duplicates(
    u: np.ndarray, v: np.ndarray, length: np.ndarray, pieces: np.ndarray, keep: np.ndarray
) -> np.ndarray:
    """Mask of pieces that repeat an earlier piece (same nodes, same shape)."""
    idx = np.nonzero(keep)[0]
    key = pd.DataFrame({"i": idx, "a": np.minimum(u, v)[idx], "b": np.maximum(u, v)[idx]})
    multi = key[key.duplicated(["a", "b"], keep=False)]
    dup = np.zeros(len(u), dtype=bool)
    if multi.empty:
        return dup
    pairs = multi.merge(multi, on=["a", "b"], suffixes=("", "_later"))
    pairs = pairs[pairs["i"] < pairs["i_later"]]
    i = pairs["i"].to_numpy()
    j = pairs["i_later"].to_numpy()
    close = np.abs(length[i] - length[j]) <= 2 * DEDUPE_TOLERANCE
    i, j = i[close], j[close]
    same = shapely.hausdorff_distance(pieces[i], pieces[j]) <= DEDUPE_TOLERANCE
    dup[j[same]] = True
    return dup


def _free_name(name: str, taken: Any) -> str:
    """``name``, or ``name_2``, ``name_3``… if it is already a column."""
    taken = set(taken) | set(_RESERVED)
    candidate, k = name, 2
    while candidate in taken:
        candidate, k = f"{name}_{k}", k + 1
    return candidate


def network_from_lines(lines: gpd.GeoDataFrame, crs: pyproj.CRS | None = None, snap_tolerance: float = 2.0,
                       source: str = "line layer") -> WalkNetwork:
    """Build a walking network from a centre-line layer (split at crossings, ends snapped).

    Parameters
    ----------
    lines : GeoDataFrame
        LineStrings in any CRS, optional ``name``, ``highway``, ``foot``, ``access`` columns.
    crs : pyproj.CRS, optional
        Metric CRS; by default the UTM zone of the layer.
    snap_tolerance : float
        Ends closer than this many metres are joined.
    source : str
        Description used in messages.

    Returns
    -------
    WalkNetwork
    """

    if lines.crs is None:
        raise CRSError("the street layer has no coordinate reference system; add a .prj or set the CRS",
                       path=source)
    if crs is None:
        crs = choose_metric_crs(lines)
    keep, excluded = walk_mask(pd.DataFrame(lines.drop(columns=lines.geometry.name)))
    lines = lines.loc[keep].to_crs(crs)
    if len(lines) == 0:
        raise NetworkError(f"{source}: no walkable line left after the walk filter (excluded: {excluded})")
    g = graph_from_lines(lines, snap_tolerance=snap_tolerance, source=source)
    node_xy = np.column_stack([g.nodes["x"].to_numpy(), g.nodes["y"].to_numpy()])
    pos = pd.Series(np.arange(len(g.nodes)), index=g.nodes.index)
    edges = g.edges.assign(u=pos.loc[g.edges["u"]].to_numpy(), v=pos.loc[g.edges["v"]].to_numpy())
    net = network_from_edges(edges, node_xy, node_id=g.nodes.index.to_numpy(), source=source, excluded=excluded)
    net.excluded.update({f"line_layer:{k}": int(v) for k, v in g.skipped.items() if v})
    return net
