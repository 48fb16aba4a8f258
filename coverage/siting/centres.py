"""Where a missing community health service centre goes: the candidate with the least population-weighted walk."""

from __future__ import annotations

import math

import numpy as np

from coverage.network.graph import WalkNetwork
from coverage.network.snap import Snap
from coverage.siting.candidates import CandidateSet, _as_snap
from coverage.siting.reach import _distances_from

__all__ = ["best_centre", "next_centres"]


def _landmarks(network: WalkNetwork, nodes: np.ndarray, k: int = 8) -> CandidateSet:
    """Up to ``k`` extreme nodes of ``nodes`` (in 8 compass directions), as node candidates."""
    x, y = network.node_x[nodes], network.node_y[nodes]
    dirs = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)][:k]
    pick = np.unique([nodes[int(np.argmax(dx * x + dy * y))] for dx, dy in dirs]).astype(np.int64)
    z = np.zeros(len(pick))
    return CandidateSet(x=network.node_x[pick], y=network.node_y[pick], sx=network.node_x[pick],
                        sy=network.node_y[pick], source=np.full(len(pick), "node", dtype=object), node=pick,
                        name=np.full(len(pick), None, dtype=object), edge=np.full(len(pick), -1, dtype=np.int64),
                        u=pick, v=pick.copy(), along=z, length=z.copy(), offset=z.copy())


def _weighted_abs_sums(a: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sum_i w_i |a_i - b_j|`` for every ``b_j``, in O((n + m) log n)."""
    o = np.argsort(a, kind="stable")
    a, w = a[o], w[o]
    cw = np.concatenate([[0.0], np.cumsum(w)])
    cwa = np.concatenate([[0.0], np.cumsum(w * a)])
    k = np.searchsorted(a, b)
    return b * cw[k] - cwa[k] + (cwa[-1] - cwa[k]) - b * (cw[-1] - cw[k])


def best_centre(network: WalkNetwork, targets: Snap, weights: np.ndarray, candidates: CandidateSet,
                chunk: int | None = None) -> tuple[int, float, float]:
    """The candidate minimising the population-weighted walking distance to ``targets``.

    Parameters
    ----------
    network : WalkNetwork
    targets : Snap
        Snapped (on-network) residents of the subdistrict.
    weights : ndarray
        Their population.
    candidates : CandidateSet
        Sites allowed (those in the subdistrict).
    chunk : int, optional
        Candidates per exact evaluation (default from the network size).

    Returns
    -------
    index : int
        Position in ``candidates`` (-1 if there is none).
    mean_distance_m : float
        Population-weighted mean walk of the residents it reaches.
    unreachable : float
        Population on network pieces the site is not connected to.

    Notes
    -----
    The objective is lexicographic: least population on other network pieces
    (from connected components, no search), then least ``S(j) = sum_i w_i d(i, j)``
    (the population-weighted 1-median). Exact values need one unbounded
    Dijkstra per candidate, so candidates are evaluated in batches in increasing
    order of a lower bound, stopping when the next bound is no better than the
    best exact value: exact, and usually a small fraction of the candidates.
    The bound sums, per resident, the larger of two bounds on ``d(i, j)``:

    * landmarks (ALT): ``|d(L, i) - d(L, j)|`` for up to 8 extreme nodes ``L``
      of the subdistrict (8 Dijkstras; the walking distance is a metric) — on a
      street grid, corner landmarks make it the exact Manhattan distance;
    * straight line: ``(|p_i p_j| - 2 delta) / ratio`` plus both off-street legs
      (see :attr:`coverage.network.graph.WalkNetwork.geometry_slack`).
    """
    k = len(candidates)
    w = np.asarray(weights, dtype=float)
    if k == 0:
        return -1, math.nan, float(w.sum())
    comp = network.components
    t_comp = comp[targets.u]
    c_comp = comp[candidates.u]
    w_comp = np.bincount(t_comp, weights=w, minlength=int(comp.max()) + 1)
    unreach = float(w.sum()) - w_comp[c_comp]
    marks = _landmarks(network, np.unique(np.concatenate([targets.u, candidates.u])))
    a = _distances_from(network, marks, targets)  # (landmarks, residents)
    b = _distances_from(network, marks, _as_snap(candidates))  # (landmarks, candidates)
    # a landmark on another network piece than a (same-piece) pair sees both at inf: make that |0 - 0|
    a[~np.isfinite(a)] = 0.0
    b[~np.isfinite(b)] = 0.0

    lb = _landmark_bound(a, b, w, t_comp, c_comp)

    def pair_bound(idx: np.ndarray) -> np.ndarray:
        return _pair_bound(network, targets, candidates, idx, a, b, w, t_comp, c_comp)

    chunk = chunk or max(4, min(128, int(4_000_000 // max(network.n_nodes, 1))))
    best = (k, math.inf, math.inf)  # (index, unreachable, weighted sum); index k = none yet
    done = np.zeros(k, dtype=bool)
    refined = False
    while True:
        order = np.lexsort((np.arange(k), lb, unreach))
        order = order[~done[order]]
        if order.size == 0:
            break
        head = order[0]
        if best[0] < k and (unreach[head], lb[head]) >= (best[1], best[2]):
            if refined:
                break
            # the cheap bound stops here; sharpen it where it could not decide, then go on
            refined = True
            left = order[(unreach[order] < best[1]) | ((unreach[order] == best[1]) & (lb[order] < best[2]))]
            if left.size == 0:
                break
            lb[left] = np.maximum(lb[left], pair_bound(left))
            continue
        batch = order[:chunk]
        done[batch] = True
        d = _distances_from(network, candidates.subset(batch), targets)
        total = np.where(np.isfinite(d), d, 0.0) @ w
        for j, tot in zip(batch, total):
            if (unreach[j], tot, j) < (best[1], best[2], best[0]):
                best = (int(j), float(unreach[j]), float(tot))
        if not refined:  # one exact batch gives the bar the sharper bound must clear
            refined = True
            left = np.flatnonzero(~done & ((unreach < best[1]) | ((unreach == best[1]) & (lb < best[2]))))
            if left.size:
                lb[left] = np.maximum(lb[left], pair_bound(left))
    j = best[0]
    reached = float(w.sum()) - unreach[j]
    mean = best[2] / reached if reached > 0 else math.nan
    return j, mean, float(unreach[j])


def next_centres(network: WalkNetwork, targets: Snap, weights: np.ndarray, candidates: CandidateSet,
                 chosen: list[int], k: int, chunk: int = 64) -> list[int]:
    """``k`` more centres after ``chosen``, each the candidate lowering the residents' walk to their nearest most.

    Greedy (one exact pass of Dijkstras over the candidates per centre added), not an exact
    p-median: a subdistrict rarely needs more than one or two centres, and the first is exact
    (:func:`best_centre`). Residents reached by no centre count first (least population left
    unreached), then the population-weighted walk to the nearest centre.

    Returns
    -------
    list of int
        Positions in ``candidates`` (fewer than ``k`` when the candidates run out).
    """
    if k <= 0:
        return []
    w = np.asarray(weights, dtype=float)
    picked = list(chosen)
    near = np.full(len(targets), np.inf)
    if picked:
        near = _distances_from(network, candidates.subset(np.array(picked)), targets).min(axis=0)
    for _ in range(k):
        free = np.setdiff1d(np.arange(len(candidates)), picked)
        if free.size == 0:
            break
        best = (math.inf, math.inf, -1)
        for s in range(0, free.size, chunk):
            idx = free[s:s + chunk]
            d = np.minimum(_distances_from(network, candidates.subset(idx), targets), near[None, :])
            ok = np.isfinite(d)
            lost, total = (~ok).astype(float) @ w, np.where(ok, d, 0.0) @ w
            for j, a, b in zip(idx, lost, total):
                best = min(best, (float(a), float(b), int(j)))
        j = best[2]
        picked.append(j)
        near = np.minimum(near, _distances_from(network, candidates.subset(np.array([j])), targets)[0])
    return picked[len(chosen):]


def _landmark_bound(a: np.ndarray, b: np.ndarray, w: np.ndarray, t_comp: np.ndarray, c_comp: np.ndarray
                    ) -> np.ndarray:
    """Cheap lower bound on every candidate's weighted walk: max over landmarks of ``sum_i w_i |a_i - b_j|``.

    ``a`` (landmarks × residents) and ``b`` (landmarks × candidates) are landmark distances; sums use
    sorting and prefix sums, per network piece.
    """
    lb = np.zeros(b.shape[1])
    for c in np.unique(c_comp):
        ti, cj = t_comp == c, np.flatnonzero(c_comp == c)
        if not ti.any():
            continue
        for m in range(len(a)):
            lb[cj] = np.maximum(lb[cj], _weighted_abs_sums(a[m][ti], w[ti], b[m, cj]))
    return lb - 1e-9 * (np.abs(lb) + 1.0)  # rounding in the sums must never lift a bound above the exact value


def _pair_bound(network: WalkNetwork, targets: Snap, candidates: CandidateSet, idx: np.ndarray, a: np.ndarray,
                b: np.ndarray, w: np.ndarray, t_comp: np.ndarray, c_comp: np.ndarray) -> np.ndarray:
    """``sum_i w_i max(landmark bounds, straight-line bound)`` for candidates ``idx`` (resident by resident)."""
    ratio, delta = network.geometry_slack
    out = np.zeros(len(idx))
    step = max(1, int(500_000 // max(len(targets), 1)))
    for s in range(0, len(idx), step):
        sl = idx[s:s + step]
        bound = np.hypot(candidates.sx[sl, None] - targets.x[None, :], candidates.sy[sl, None] - targets.y[None, :])
        bound -= 2 * delta
        np.maximum(bound, 0.0, out=bound)
        bound /= ratio
        bound += targets.offset[None, :] + candidates.offset[sl, None]
        tmp = np.empty_like(bound)
        for m in range(len(a)):
            np.subtract(a[m][None, :], b[m, sl][:, None], out=tmp)
            np.abs(tmp, out=tmp)
            np.maximum(bound, tmp, out=bound)
        bound *= c_comp[sl, None] == t_comp[None, :]
        out[s:s + len(sl)] = bound @ w
    return out - 1e-9 * (np.abs(out) + 1.0)
