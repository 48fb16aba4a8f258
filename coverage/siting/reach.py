"""The reach matrix: which candidate site reaches which resident within the radius or the walk, as a sparse matrix."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from coverage.errors import ValueInputError
from coverage.network.graph import WalkNetwork
from coverage.network.snap import Snap, same_edge_walks
from coverage.siting.candidates import CandidateSet

__all__ = ["reach_matrix"]

#: Reach is decided with this much slack *inside* the threshold (metres, plus 1e-6
#: relative), so that the independent re-check — which snaps the proposed point
#: again and gives virtual source edges a 1e-6 m floor — never finds a "reached"
#: resident just beyond the limit.
_TOL_ABS = 1e-5

_TOL_REL = 1e-6

#: Dense Dijkstra output per batch (float64 entries): 8e6 = 64 MB.
_MAX_BLOCK = 8_000_000


def _segments(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(owner, position)`` expanding each ``arange(start, start + count)``, vectorised."""
    owner = np.repeat(np.arange(len(counts)), counts)
    if owner.size == 0:
        return owner, owner.copy()
    offs = np.cumsum(counts) - counts
    pos = np.arange(owner.size) - offs[owner] + starts[owner]
    return owner, pos


def _by_node(nodes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(order, ptr)``: a CSR index of entries by node (entries of node ``x`` are ``order[ptr[x]:ptr[x+1]]``)."""
    order = np.argsort(nodes, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(nodes, minlength=n), out=ptr[1:])
    return order, ptr


def reach_matrix(
    network: WalkNetwork,
    targets: Snap,
    candidates: CandidateSet,
    threshold: float,
    active: np.ndarray | None = None,
    *,
    max_block: int = _MAX_BLOCK,
) -> sparse.csr_matrix:
    """Which candidates reach which demand points within ``threshold`` metres of walking.

    Parameters
    ----------
    network : WalkNetwork
    targets : Snap
        Snapped demand points.
    candidates : CandidateSet
    threshold : float
        Metres (the radius or the walk distance).
    active : ndarray of bool, optional
        Demand rows to compute (others stay empty): leave out points already
        covered, off the network (beyond ``max_snap_m``) or without residents.
    max_block : int
        Largest dense Dijkstra output per batch, in entries.

    Returns
    -------
    scipy.sparse.csr_matrix
        Boolean ``(len(targets), len(candidates))``.

    Notes
    -----
    Distances are those of :func:`coverage.access.network_distance`: from a site,
    walk to an end node of its edge (leg ``offset + along`` or ``offset + length
    - along``; 0 for a node), through the network, and along the target's edge
    to the target; or directly along a shared edge.

    Candidates are grouped in square tiles of side ``threshold``; one bounded
    Dijkstra per tile starts from the tile's end nodes, on the sub-network of
    nodes within ``ratio × threshold`` of the tile's bounding box — a path of
    length ``D`` never leaves the disc of radius ``ratio × D`` around its start
    (``ratio`` = largest chord/length of an edge, 1 for ordinary data), so the
    search is exact, and its cost is ``tile nodes × sub-network nodes`` instead of
    ``tile nodes × all nodes``. Reached nodes are joined to the demand points on
    their edges and to the candidates they belong to with sorted-array
    expansions; memory holds only the reached pairs.
    """
    n = network.n_nodes
    n_t, n_c = len(targets), len(candidates)
    out_shape = (n_t, n_c)
    lim = float(threshold) - (_TOL_ABS + _TOL_REL * abs(float(threshold)))
    act = np.ones(n_t, dtype=bool) if active is None else np.asarray(active, dtype=bool)
    if act.shape != (n_t,):
        raise ValueInputError(f"active must have one flag per demand point ({n_t}), got shape {act.shape}")
    ti = np.flatnonzero(act)
    if n_c == 0 or ti.size == 0 or lim < 0:
        return sparse.csr_matrix(out_shape, dtype=bool)

    d_ptr, d_cnt, d_row, d_cost = _demand_anchors(targets, ti, lim, n)
    c_j, c_node, c_cost = candidates.anchors()
    keep = c_cost <= lim
    c_j, c_node, c_cost = c_j[keep], c_node[keep], c_cost[keep]
    ratio, _ = network.geometry_slack
    A = network.matrix
    nx_, ny_ = network.node_x, network.node_y
    tiles = _candidate_tiles(network, candidates, threshold)
    anc_order, anc_ptr = _by_node(c_j, n_c)  # anchors of candidate j: anc_order[anc_ptr[j]:anc_ptr[j+1]]

    rows_out: list[np.ndarray] = []
    cols_out: list[np.ndarray] = []
    for members in tiles:
        sel = anc_order[_segments(anc_ptr[members], np.diff(anc_ptr)[members])[1]]
        if sel.size == 0:
            continue
        src_all = np.unique(c_node[sel])
        margin = ratio * (lim - float(c_cost[sel].min()))
        x0, x1 = nx_[src_all].min() - margin, nx_[src_all].max() + margin
        y0, y1 = ny_[src_all].min() - margin, ny_[src_all].max() + margin
        sub = np.flatnonzero((nx_ >= x0) & (nx_ <= x1) & (ny_ >= y0) & (ny_ <= y1))
        A_sub = A[sub][:, sub]
        per = max(1, int(max_block // max(len(sub), 1)))
        for start in range(0, len(members), per):
            chunk = members[start:start + per]
            r, c = _reach_chunk(chunk, anc_order, anc_ptr, c_j, c_node, c_cost, sub, A_sub, lim,
                                d_ptr, d_cnt, d_row, d_cost, n_t)
            rows_out.append(r)
            cols_out.append(c)

    # direct walks along a shared edge (layer candidates only: a node is an edge end, covered above)
    lay = np.flatnonzero(candidates.is_layer)
    if lay.size:
        ja, ib, d = same_edge_walks(candidates.edge[lay], candidates.along[lay], candidates.offset[lay],
                                    targets.edge[ti], targets.along[ti], targets.offset[ti])
        ok = d <= lim
        rows_out.append(ti[ib[ok]].astype(np.int64))
        cols_out.append(lay[ja[ok]].astype(np.int64))

    return _boolean_matrix(rows_out, cols_out, out_shape)


def _demand_anchors(targets: Snap, ti: np.ndarray, lim: float, n: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each active demand point's two edge ends with the walk from them, sorted by node.

    Returns ``(ptr, count, row, cost)``: the anchors at node ``k`` are ``ptr[k]:ptr[k] + count[k]``.
    """
    a_u = targets.offset[ti] + targets.along[ti]
    a_v = targets.offset[ti] + targets.length[ti] - targets.along[ti]
    d_node = np.concatenate([targets.u[ti], targets.v[ti]]).astype(np.int64)
    d_row = np.concatenate([ti, ti]).astype(np.int64)
    d_cost = np.concatenate([a_u, a_v])
    keep = d_cost <= lim
    d_node, d_row, d_cost = d_node[keep], d_row[keep], d_cost[keep]
    order, d_ptr = _by_node(d_node, n)
    return d_ptr, np.diff(d_ptr), d_row[order], d_cost[order]


def _candidate_tiles(network: WalkNetwork, candidates: CandidateSet, threshold: float) -> list[np.ndarray]:
    """Candidates grouped in square tiles of side ``threshold``, by their first anchor node."""
    nx_, ny_ = network.node_x, network.node_y
    first_node = candidates.u
    tile_w = max(float(threshold), 1.0)
    tx = np.floor((nx_[first_node] - nx_.min()) / tile_w).astype(np.int64)
    ty = np.floor((ny_[first_node] - ny_.min()) / tile_w).astype(np.int64)
    tile = ty * (int(tx.max()) + 1) + tx
    cand_order = np.argsort(tile, kind="stable")
    return np.split(cand_order, np.flatnonzero(np.diff(tile[cand_order])) + 1)


def _boolean_matrix(rows_out: list[np.ndarray], cols_out: list[np.ndarray], shape: tuple[int, int]
                    ) -> sparse.csr_matrix:
    """The reached (row, column) pairs as one boolean CSR matrix (int32 indices where they fit)."""
    rows = np.concatenate(rows_out) if rows_out else np.zeros(0, dtype=np.int64)
    cols = np.concatenate(cols_out) if cols_out else np.zeros(0, dtype=np.int64)
    idx_dtype = np.int32 if max(shape) < 2**31 - 1 else np.int64
    mat = sparse.csr_matrix((np.ones(rows.size, dtype=bool), (rows.astype(idx_dtype), cols.astype(idx_dtype))),
                            shape=shape)
    mat.sum_duplicates()
    return mat


def _reach_chunk(chunk: np.ndarray, anc_order: np.ndarray, anc_ptr: np.ndarray, c_j: np.ndarray,
                 c_node: np.ndarray, c_cost: np.ndarray, sub: np.ndarray, A_sub: sparse.csr_matrix, lim: float,
                 d_ptr: np.ndarray, d_cnt: np.ndarray, d_row: np.ndarray, d_cost: np.ndarray, n_t: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(demand row, candidate) pairs within ``lim`` for one batch of candidates."""
    _, pos = _segments(anc_ptr[chunk], np.diff(anc_ptr)[chunk])
    a = anc_order[pos]
    if a.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    aj, anode, acost = c_j[a], c_node[a], c_cost[a]
    src, src_of = np.unique(anode, return_inverse=True)
    local = np.searchsorted(sub, src)
    search = lim - float(acost.min())
    dist = csgraph.dijkstra(A_sub, directed=True, indices=local, limit=search)
    r, c = np.nonzero(dist <= search)
    dd = dist[r, c]
    x = sub[c]
    cnt = d_cnt[x]
    has = cnt > 0
    r, x, dd, cnt = r[has], x[has], dd[has], cnt[has]
    # join reached nodes with the demand points on their edges
    owner, pos = _segments(d_ptr[x], cnt)
    tot = dd[owner] + d_cost[pos]
    ok = tot <= search
    owner, pos, tot = owner[ok], pos[ok], tot[ok]
    src_row = r[owner]
    rows = d_row[pos]
    # join sources with the candidates anchored there (most often exactly one, at cost 0)
    s_order, s_ptr = _by_node(src_of, len(src))
    owner2, pos2 = _segments(s_ptr[src_row], np.diff(s_ptr)[src_row])
    anc = s_order[pos2]
    ok = tot[owner2] + acost[anc] <= lim
    rows = rows[owner2[ok]]
    cols = aj[anc[ok]]
    key = np.unique(cols.astype(np.int64) * n_t + rows)
    return key % n_t, key // n_t


def _distances_from(network: WalkNetwork, cands: CandidateSet, targets: Snap) -> np.ndarray:
    """Exact network distances ``(len(cands), len(targets))`` (``inf`` across components)."""
    n = network.n_nodes
    c_j, c_node, c_cost = cands.anchors()
    src, src_of = np.unique(c_node, return_inverse=True)
    D = csgraph.dijkstra(network.matrix, directed=True, indices=src)
    node_d = np.full((len(cands), n), np.inf)
    for k in range(len(c_j)):  # at most two anchors per candidate
        np.minimum(node_d[c_j[k]], c_cost[k] + D[src_of[k]], out=node_d[c_j[k]])
    via_u = node_d[:, targets.u] + targets.along
    via_v = node_d[:, targets.v] + (targets.length - targets.along)
    d = targets.offset + np.minimum(via_u, via_v)
    lay = np.flatnonzero(cands.is_layer)
    if lay.size:
        jj, ii, direct = same_edge_walks(cands.edge[lay], cands.along[lay], cands.offset[lay], targets.edge,
                                         targets.along, targets.offset)
        np.minimum.at(d, (lay[jj], ii), direct)
    return d
