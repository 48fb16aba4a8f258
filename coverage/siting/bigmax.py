"""Large-scale maximal covering: Lagrangian upper bound, swap and window searches, HiGHS on a core.

The maximal-covering side of the engine of issue 17 (the set-covering side is
:mod:`coverage.siting.bigcover`). It works on the reduced matrix of
:func:`coverage.siting.solvers.reduce_problem` (rows = demand with its people,
columns = candidate sites): at most ``p`` new sites, most people covered.

* **Start.** The greedy of ``MaximalCovering.solve``; the answer is never worse.
* **Bound.** Lagrangian relaxation of the coverage rows ``y_i <= sum_j a_ij x_j``
  with prices ``u`` in ``[0, w]``: ``L(u) = sum_i (w_i - u_i)`` plus the best
  ``p`` column scores ``sum_i a_ij u_i`` (the group minimums kept: each short
  group's best columns first). Every ``u`` gives a proven upper bound;
  subgradient descent lowers it. On small models the LP duals of HiGHS's interior
  point are tried as ``u`` too (the smaller value is kept), still proven.
* **Swap search.** With the number of sites fixed, every pair (one chosen site
  out, one other in) is scored exactly from per-row cover counts and the rows
  only one chosen site covers; all improving swaps whose rows are apart are made
  in one step (their gains add up), then tabu moves past the local optimum.
  Group minimums are kept (a site a minimum needs leaves only for one of its group).
* **Window search.** A large-neighbourhood search: a window of neighbouring
  chosen sites is freed and HiGHS re-places as many among every column sharing
  a row with them, for the people the other sites leave uncovered; better
  windows replace the incumbent, sweep after sweep (as the set-cover side's).
  It runs beside the bound, HiGHS releasing the GIL.
* **Core MIP.** A column whose Lagrangian value when forced in is below the
  incumbent is in no better solution: HiGHS solves the model on the other
  columns (the best ones by that value if many), warm started with the
  incumbent; improving solutions come from its MIP callback and are re-checked.
  Its dual bound, with the forced-in values of the columns left out, bounds the
  whole model.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from coverage.highs import new_highs
from coverage.siting.bigcover import LIMIT_A, LIMIT_B, LP_NNZ, EngineResult, Sweeps, _Incumbent, _solution
from coverage.siting.localsearch import _Search
from coverage.siting.solvers import (
    MaximalCovering,
    _check_solve_args,
    _greedy,
    _group_rows,
    _prune,
    _weight_of,
)

__all__ = ["MaxOutcome", "core_mip", "lagrangian_max_bound", "lp_max_bound", "people_progress_text",
           "solve_big_max", "solve_maximal_covering", "swap_search", "window_search"]

#: Share of the time for the bound (a thread beside the swap search).
BOUND_SHARE = 0.12
#: Latest end of the swap search, as a share of the time (it mostly stops sooner, at its stall count).
SWAP_SHARE = 0.5
#: First core handed to HiGHS (columns), beyond the ones the bound already rules out (doubled each round);
#: up to ``CORE_ALL`` open columns all go in (HiGHS's dual bound is then the whole model's; all the time left).
CORE_MAX, CORE_ALL = 1500, 4000
#: Share of the time after the swap search for the window search (the rest: HiGHS on the core).
WINDOW_SHARE = 0.75
#: Sites freed per window of the window search (grows when windows stop improving).
WINDOW_SITES = 8
#: Seconds without a better HiGHS solution after which the core MIP stops.
MIP_STALL = 8.0

Progress = Callable[[float, float], None]  # (best people covered so far, proven upper bound)


@dataclass
class MaxOutcome:
    """Result of :func:`solve_big_max` on a reduced matrix.

    Attributes
    ----------
    chosen : list of int
        Reduced columns of the incumbent.
    value : float
        Reduced weight it covers.
    bound : float
        Proven upper bound on the reduced weight any feasible choice covers.
    method : str
        Engine that produced the incumbent: ``greedy``, ``swap`` and/or ``highs`` joined by ``+``.
    lagrangian : float
        Best Lagrangian (or LP-dual) value reached.
    history : list of (seconds, value, bound)
        Each improvement of the incumbent or of the bound.
    """

    chosen: list[int]
    value: float
    bound: float
    method: str
    lagrangian: float = math.nan
    history: list[tuple[float, float, float]] = field(default_factory=list)


# --------------------------------------------------------------------------
# Lagrangian bound
# --------------------------------------------------------------------------


def _group_index(groups: np.ndarray, need: Mapping[int, int]) -> list[tuple[np.ndarray, int]]:
    """Columns of each group with a minimum, and the minimum."""
    return [(np.flatnonzero(groups == g), int(k)) for g, k in need.items() if k > 0]


def _top(score: np.ndarray, p: int, gidx: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """Mask of ``p`` columns of largest score with at least ``k`` of each group's (the relaxed problem's optimum).

    With scores >= 0, some optimum takes each short group's ``k`` best and then
    the best of the rest: swapping a chosen column for a better one of the same
    group, or any better column outside the minimums, keeps it feasible.
    """
    take = np.zeros(score.size, dtype=bool)
    for cols, k in gidx:
        take[cols[np.argpartition(-score[cols], k - 1)[:k]] if k < cols.size else cols] = True
    rest = p - int(take.sum())
    free = np.flatnonzero(~take)
    if rest >= free.size:
        take[free] = True
    elif rest > 0:
        take[free[np.argpartition(-score[free], rest - 1)[:rest]]] = True
    return take


def _lagrange(b: sp.csr_matrix, bt: sp.csr_matrix, u: np.ndarray, w: np.ndarray, p: int,
              gidx: list[tuple[np.ndarray, int]]) -> tuple[float, np.ndarray, np.ndarray]:
    """``L(u)``, the column scores ``Bᵀu`` and the relaxed choice of columns (a mask)."""
    score = bt @ u
    take = _top(score, p, gidx)
    return float((w - u).sum() + score[take].sum()), score, take


def lagrangian_max_bound(b: sp.csr_matrix, w: np.ndarray, p: int, groups: np.ndarray, need: Mapping[int, int],
                         target: Callable[[], float], deadline: float, u0: np.ndarray | None = None,
                         max_iter: int = 5000, lam0: float = 2.0, patience: int = 60) -> tuple[float, np.ndarray]:
    """Smallest Lagrangian upper bound found on the weight ``p`` columns of ``b`` can cover.

    ``L(u) = sum_i (w_i - u_i) + max_x sum_j x_j (Bᵀu)_j`` over ``0 <= u <= w`` and
    ``p`` columns keeping the group minimums; every ``u`` in the box gives a
    proven bound. Projected subgradient descent from ``u0`` (default ``w``,
    whose value is the sum of the ``p`` largest column weights) with Polyak steps
    towards ``target()`` (the incumbent's weight, read again each step: a search
    running meanwhile may raise it); the step factor starts at ``lam0`` and halves
    after ``patience`` steps without a better value (2 and 60: 401,766 in 1 s on
    ``wuhai25k_layer95`` with p = 400, where 1 and 20 stopped at 402,230).

    Returns
    -------
    bound, u
        The best value and its row prices.
    """
    b = sp.csr_matrix(b, dtype=np.float64)
    b.data[:] = 1.0
    bt = b.T.tocsr()
    w = np.asarray(w, dtype=np.float64)
    gidx = _group_index(groups, need)
    u = w.copy() if u0 is None else np.clip(u0, 0.0, w)
    best, best_u = math.inf, u.copy()
    lam, stall = lam0, 0
    for _ in range(max_iter):
        value, _, take = _lagrange(b, bt, u, w, p, gidx)
        if value < best - 1e-9 * max(1.0, abs(value)):
            best, best_u, stall = value, u.copy(), 0
        else:
            stall += 1
            if stall >= patience:
                lam, stall = lam / 2, 0
        lo = target()
        if best <= lo + 1e-9 * max(1.0, lo) or time.perf_counter() > deadline or lam < 1e-4:
            break
        g = (b @ take.astype(np.float64)) - 1.0  # dL/du_i: rows covered by the chosen columns, minus one
        g[((u <= 0) & (g > 0)) | ((u >= w) & (g < 0))] = 0.0  # steps leaving the box do nothing
        norm = float(g @ g)
        if norm == 0.0:
            break  # no descent direction inside the box: u is optimal for the relaxation
        u = np.clip(u - lam * (value - lo) / norm * g, 0.0, w)
    return best, best_u


def _mclp_model(b: sp.csr_matrix, w: np.ndarray, p: int, groups: np.ndarray, need: Mapping[int, int],
                time_limit: float, integer: bool) -> object:
    """A silent HiGHS instance: max ``w·y``, ``y_i - (Bx)_i <= 0``, ``sum x <= p``, group minimums."""
    import highspy

    m, n = b.shape
    cover = sp.hstack([-sp.csr_matrix(b, dtype=np.float64), sp.identity(m, format="csr")], format="csr")
    gmat, gneed = _group_rows(groups, need, n + m)
    card = sp.csr_matrix(np.concatenate([np.ones(n), np.zeros(m)])[None, :])
    a = sp.vstack([cover, card, gmat], format="csc")
    a.sort_indices()
    lower = np.concatenate([np.full(m + 1, -np.inf), gneed])
    upper = np.concatenate([np.zeros(m), [float(p)], np.full(gneed.size, np.inf)])
    cost = np.concatenate([np.zeros(n), w])
    integ = np.concatenate([np.ones(n) if integer else np.zeros(n), np.zeros(m)]).astype(np.int32)
    h = new_highs()
    for key, value in (("output_flag", False), ("time_limit", float(max(time_limit, 0.05))),
                       ("mip_rel_gap", 0.0)):
        h.setOptionValue(key, value)
    h.passModel(n + m, a.shape[0], int(a.nnz), int(highspy.MatrixFormat.kColwise),
                int(highspy.ObjSense.kMaximize), 0.0, cost, np.zeros(n + m), np.ones(n + m), lower, upper,
                a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data, integ)
    return h


def lp_max_bound(b: sp.csr_matrix, w: np.ndarray, p: int, groups: np.ndarray, need: Mapping[int, int],
                 time_limit: float) -> tuple[float, np.ndarray] | None:
    """Lagrangian bound at the LP relaxation's coverage-row duals (HiGHS interior point, no crossover).

    Any prices in ``[0, w]`` give a proven bound, so approximate duals are safe;
    both signs of HiGHS's duals are tried (its sign convention for maximisation)
    and the smaller value kept. The relaxed problem is integral, so at the LP
    optimum ``L(u)`` is the LP value.

    Returns
    -------
    (bound, u) or None
        None when HiGHS stops before an optimal LP.
    """
    import highspy

    m = b.shape[0]
    w = np.asarray(w, dtype=np.float64)
    h = _mclp_model(b, w, p, groups, need, time_limit, integer=False)
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("run_crossover", "off")
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    dual = np.asarray(h.getSolution().row_dual, dtype=np.float64)[:m]
    bb = sp.csr_matrix(b, dtype=np.float64)
    bb.data[:] = 1.0
    bt, gidx = bb.T.tocsr(), _group_index(groups, need)
    best = None
    for u in (np.clip(dual, 0.0, w), np.clip(-dual, 0.0, w)):
        value = _lagrange(bb, bt, u, w, p, gidx)[0]
        if best is None or value < best[0]:
            best = (value, u)
    return best


# --------------------------------------------------------------------------
# swap search with a fixed number of sites
# --------------------------------------------------------------------------


class _Groups:
    """Sites chosen per group against the group minimums, for the swap search's drops."""

    def __init__(self, groups: np.ndarray, need: Mapping[int, int], chosen: np.ndarray):
        self.gid = np.asarray(groups, dtype=np.int64) + 1  # 0: no group
        size = int(self.gid.max(initial=0)) + 1
        self.need = np.full(size, -1, dtype=np.int64)  # -1: any count will do
        for g, k in need.items():
            self.need[g + 1] = k
        self.count = np.bincount(self.gid[chosen], minlength=size)

    def droppable_mask(self, cols: np.ndarray) -> np.ndarray:
        """Whether each chosen column may leave for a column of any group (its group has sites to spare)."""
        g = self.gid[cols]
        return self.count[g] > self.need[g]

    def same(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.gid[a] == self.gid[b]

    def move(self, added: int, dropped: int) -> None:
        self.count[self.gid[added]] += 1
        self.count[self.gid[dropped]] -= 1


def _swap_moves(s: _Search, w: np.ndarray, chosen: np.ndarray, pos: np.ndarray, grp: _Groups,
                tabu_add: np.ndarray, tabu_drop: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best swap for each chosen column of the cover state ``s``, tabu columns excluded.

    Exact for every pair: dropping ``j`` loses the people only it covers
    (``-score[j]``); adding ``k`` gains the people no site covers (``score[k]``)
    plus those of ``j``'s lone rows that ``k`` reaches, summed over the lone rows'
    entries in one sparse matrix. A ``k`` sharing no lone row with ``j`` gains
    ``score[k]`` alone, so the best such pair uses the best outside column.

    Returns
    -------
    delta, out, in
        One swap per chosen column that has one, best first.
    """
    n = s.sel.size
    lone = np.flatnonzero(s.cc == 1)
    cols, of = s._cols_of(lone)
    own = s.owner[of]  # the single chosen column of each lone row
    held = ~grp.droppable_mask(own)
    ok = ~s.sel[cols] & (tabu_add[cols] <= step) & (tabu_drop[own] <= step) & (~held | grp.same(own, cols))
    pairs = sp.csr_matrix((w[of[ok]], (pos[own[ok]], cols[ok])), shape=(chosen.size, n))
    pairs.sum_duplicates()
    loss = -s.score[chosen]
    best_d, best_k = np.full(chosen.size, -np.inf), np.full(chosen.size, -1, dtype=np.int64)
    if pairs.nnz:
        r = np.repeat(np.arange(chosen.size), np.diff(pairs.indptr))
        delta = pairs.data + s.score[pairs.indices] - loss[r]
        order = np.lexsort((-delta, r))
        first = order[np.unique(r[order], return_index=True)[1]]  # each chosen column's best pair
        best_d[r[first]], best_k[r[first]] = delta[first], pairs.indices[first]
    outside = np.where(s.sel | (tabu_add > step), -np.inf, s.score)
    k = int(np.argmax(outside))
    if np.isfinite(outside[k]):
        free = (tabu_drop[chosen] <= step) & (grp.droppable_mask(chosen) | grp.same(chosen, np.full(chosen.size, k)))
        alt = np.where(free, outside[k] - loss, -np.inf)
        better = alt > best_d
        best_d[better], best_k[better] = alt[better], k
    has = np.flatnonzero(best_k >= 0)
    has = has[np.argsort(-best_d[has], kind="stable")]
    return best_d[has], chosen[has], best_k[has]


def _swap(s: _Search, grp: _Groups, chosen: np.ndarray, pos: np.ndarray, j: int, k: int) -> None:
    """Swap chosen column ``j`` for ``k`` in the cover state, group counts and positions."""
    s.remove(j)
    s.add(k)
    grp.move(k, j)
    chosen[pos[j]] = k
    pos[k], pos[j] = pos[j], -1


def swap_search(b: sp.csr_matrix, w: np.ndarray, start: np.ndarray, deadline: float, groups: np.ndarray,
                need: Mapping[int, int], seed: int = 0, max_steps: int | None = None,
                on_better: Callable[[float], None] | None = None, stop_at: Callable[[], float] | None = None,
                stall: int | None = None, tabu: bool = True) -> tuple[np.ndarray, float]:
    """Most weight covered by ``start.size`` columns of ``b``, by best swaps from ``start`` (tabu search).

    Each step makes the best swap (one chosen column out, one other in) over
    every pair, scored exactly (see :func:`_swap_moves`); a group minimum's
    column leaves only for one of its group. Past a local optimum the best swap
    is made even when it loses (``tabu``): a column dropped stays out, and one
    added stays in, for a few random steps, so the search does not walk back.

    Parameters
    ----------
    b : scipy.sparse.csr_matrix
        Boolean rows × columns.
    w : numpy.ndarray
        People of each row.
    start : numpy.ndarray
        Chosen columns to start from (their count is kept).
    deadline : float
        ``time.perf_counter()`` value to stop at.
    groups, need
        Group of each column and the minimum of chosen columns per group (``start`` keeps them).
    seed, max_steps
        Seed of the tabu tenures; stop after this many steps.
    on_better : callable, optional
        ``on_better(weight)`` for each better choice.
    stop_at : callable, optional
        Stop once the weight reaches ``stop_at()`` (a proven bound, computed meanwhile).
    stall : int, optional
        Steps without a better choice after which to stop (default 200: past the first local optimum
        the window search does more with the time).
    tabu : bool
        Go on past local optima (False: stop at the first, plain best improvement).

    Returns
    -------
    chosen, weight
        Sorted columns of the best choice found (``start`` if none better) and the weight it covers.

    Examples
    --------
    Rows worth 5, 1, 1, 5 on a path; each column reaches two neighbouring rows.
    From the middle column, one site covers 6 at best (either end):

    >>> import numpy as np, scipy.sparse as sp, time
    >>> b = sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]]))
    >>> swap_search(b, np.array([5., 1., 1., 5.]), np.array([1]), time.perf_counter() + 1,
    ...             np.full(3, -1), {}, max_steps=50)
    (array([0]), 6.0)
    """
    w = np.asarray(w, dtype=np.float64)
    chosen = np.asarray(start, dtype=np.int64).copy()
    n = b.shape[1]
    s = _Search(b, w)
    for j in chosen:
        s.add(int(j))
    best, best_val = np.sort(chosen), s.covered_value
    if chosen.size == 0 or chosen.size >= n:
        return best, best_val
    grp = _Groups(groups, need, chosen)
    pos = np.full(n, -1, dtype=np.int64)
    pos[chosen] = np.arange(chosen.size)
    tabu_add, tabu_drop = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    eps = 1e-9 * max(1.0, float(w.sum()))
    stall = 200 if stall is None else stall
    step = last_better = 0
    while (time.perf_counter() < deadline and (max_steps is None or step < max_steps)
           and step - last_better < stall):
        step += 1
        deltas, outs, ins = _swap_moves(s, w, chosen, pos, grp, tabu_add, tabu_drop, step)
        if deltas.size == 0 or (deltas[0] <= eps and not tabu):
            break
        if deltas[0] > eps:
            # every improving swap whose rows no earlier swap of this step touched: their gains add up
            touched = np.zeros(s.cc.size, dtype=bool)
            for _, j, k in zip(deltas[deltas > eps].tolist(), outs.tolist(), ins.tolist()):
                rows = np.concatenate([s._rows(j), s._rows(k)])
                if touched[rows].any() or s.sel[k] or not (grp.droppable_mask(np.array([j]))[0]
                                                           or grp.same(np.array([j]), np.array([k]))[0]):
                    continue
                touched[rows] = True
                _swap(s, grp, chosen, pos, j, k)
        else:  # a losing or neutral swap: bar walking back for a few steps
            j, k = int(outs[0]), int(ins[0])
            _swap(s, grp, chosen, pos, j, k)
            tabu_add[j] = step + 3 + int(rng.integers(8))
            tabu_drop[k] = step + 3 + int(rng.integers(8))
        if s.covered_value > best_val + eps:
            best, best_val, last_better = np.sort(chosen), s.covered_value, step
            if on_better is not None:
                on_better(best_val)
            if stop_at is not None and best_val >= stop_at() - eps:
                break
    return best, float(best_val)


# --------------------------------------------------------------------------
# HiGHS on a core of columns, warm started
# --------------------------------------------------------------------------


def _feasible(groups: np.ndarray, need: Mapping[int, int], cols: np.ndarray, p: int) -> bool:
    return cols.size <= p and all(int(np.sum(groups[cols] == g)) >= k for g, k in need.items())


def core_mip(b: sp.csr_matrix, w: np.ndarray, p: int, groups: np.ndarray, need: Mapping[int, int],
             start: np.ndarray, core: np.ndarray, time_limit: float,
             on_solution: Callable[[float], None] | None = None, stall: float = math.inf
             ) -> tuple[np.ndarray, float, float]:
    """Most weight ``p`` columns of ``core`` can cover, by HiGHS warm started with ``start`` (within ``core``).

    Every solution HiGHS reports (MIP callback and final) is re-evaluated here
    (HiGHS 1.16 can hand back a start vector with another solution's objective).
    Once it has beaten the start HiGHS stops after ``stall`` seconds without a
    better solution.

    Returns
    -------
    chosen, weight, bound
        Best re-checked columns (original indices; ``start`` if none better), their
        weight, and HiGHS's dual bound on the core model (inf if none).
    """
    import highspy

    w = np.asarray(w, dtype=np.float64)
    bcore = sp.csr_matrix(b[:, core])
    rows = np.flatnonzero((np.diff(bcore.indptr) > 0) & (w > 0))  # rows that count
    sub = bcore[rows]
    ws = np.asarray(w, dtype=np.float64)[rows]
    m, n = sub.shape
    gs = np.asarray(groups)[core]
    h = _mclp_model(sub, ws, p, gs, need, time_limit, integer=True)
    pos = np.searchsorted(core, start)
    best, best_val = pos, _weight_of(sub, ws, pos)
    found: list[np.ndarray] = []
    last = [math.inf]
    kinds = highspy.cb.HighsCallbackType

    def callback(kind, message, data_out, data_in, user):  # noqa: ARG001 - HiGHS's signature
        if kind == kinds.kCallbackMipInterrupt:
            data_in.user_interrupt = time.perf_counter() - last[0] > stall
            return
        cols = np.flatnonzero(np.asarray(data_out.mip_solution, dtype=np.float64)[:n] > 0.5)
        found.append(cols)
        value = _weight_of(sub, ws, cols)
        if value > best_val and _feasible(gs, need, cols, p):
            last[0] = time.perf_counter()
            if on_solution is not None:
                on_solution(value)

    h.setCallback(callback, None)
    h.startCallback(kinds.kCallbackMipImprovingSolution)
    if stall < math.inf:
        h.startCallback(kinds.kCallbackMipInterrupt)
    x0 = np.zeros(n + m)
    x0[pos] = 1.0
    x0[n:] = np.asarray(sub[:, pos].sum(axis=1)).ravel() > 0
    h.setSolution(_solution(x0))
    h.run()
    if h.getInfo().primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible:
        found.append(np.flatnonzero(np.asarray(h.getSolution().col_value, dtype=np.float64)[:n] > 0.5))
    for cols in found:
        value = _weight_of(sub, ws, cols)
        if value > best_val and _feasible(gs, need, cols, p):
            best, best_val = cols, value
    bound = float(h.getInfo().mip_dual_bound)
    bound = bound if np.isfinite(bound) and abs(bound) < 1e30 else math.inf
    return np.sort(core[best]), float(best_val), bound


def window_search(b: sp.csr_matrix, w: np.ndarray, start: np.ndarray, deadline: float, groups: np.ndarray,
                  need: Mapping[int, int], report: Callable[[float], None], k: int = WINDOW_SITES,
                  seed: int = 0, stop_at: Callable[[], float] | None = None) -> tuple[np.ndarray, int]:
    """Improve a choice window by window until ``deadline``; return it and the windows improved.

    A window frees ``k`` neighbouring chosen sites (breadth first through shared
    rows); HiGHS re-places ``k`` sites among every column sharing a row with them,
    for the people the other sites leave uncovered, warm started with the freed
    sites (so a window never loses). Windows are taken as :class:`coverage.siting.bigcover.Sweeps`
    says. Stops at ``deadline``, once the weight reaches ``stop_at()`` (a bound), or after a
    sweep of the largest windows found nothing.
    """
    inc = _Incumbent(b, w, None, start)
    bc = inc.bc
    sw = Sweeps(inc, k, seed)  # one worker: windows of a fixed count trade people, checked in sequence
    while time.perf_counter() < deadline - 0.1:
        free = sw.take()
        if free is None:
            break
        rows_f = inc._rows(free)
        cols = np.union1d(inc._cols(np.unique(rows_f)), free)
        # people the other sites cover count for nothing here
        only = np.bincount(rows_f, minlength=inc.cnt.size)
        w_eff = np.where(inc.cnt - only > 0, 0.0, w)
        rest = np.setdiff1d(inc.chosen, free)
        left = {g: q - int(np.sum(groups[rest] == g)) for g, q in need.items()}
        left = {g: q for g, q in left.items() if q > 0}
        before = _weight_of(bc, w_eff, free)
        limit = min(deadline - time.perf_counter(), LIMIT_A + LIMIT_B * free.size)
        got, val, _ = core_mip(bc, w_eff, int(free.size), groups, left, np.sort(free), cols, limit)
        better = val > before + 1e-9 * max(1.0, before)
        if better:
            inc.replace(free, got)
        sw.back(free, better)
        if better:
            value = float(w[inc.cnt > 0].sum())
            report(value)
            if stop_at is not None and value >= stop_at() - 1e-9 * max(1.0, value):
                break
    return inc.chosen, sw.improved


def _forced_in_values(b: sp.csr_matrix, w: np.ndarray, u: np.ndarray, p: int) -> np.ndarray:
    """For each column, an upper bound on the weight of any choice of ``p`` columns containing it.

    ``L(u)`` with the column forced in and the group minimums dropped (a
    relaxation of a relaxation): the ``p`` best scores, the weakest of them
    swapped for the column when it is not among them.
    """
    score = sp.csr_matrix(b, dtype=np.float64).T @ u
    base = float((w - u).sum())
    if p >= score.size:
        return np.full(score.size, base + float(score.sum()))
    top = np.argpartition(-score, p - 1)[:p]
    total, weakest = float(score[top].sum()), float(score[top].min())
    out = base + total - weakest + score
    out[top] = base + total
    return out


# --------------------------------------------------------------------------
# the engine
# --------------------------------------------------------------------------


def _core(ub_in: np.ndarray, best: np.ndarray, value: float, keep: int) -> tuple[np.ndarray, float, int]:
    """Columns for the core MIP, the best bound of any choice using a column left out, and the open count.

    A column whose forced-in value is at most the incumbent's is in no better
    choice (reduced-cost fixing); of the rest, at most ``keep`` of largest
    forced-in value are kept, with the incumbent.
    """
    open_ = np.flatnonzero(ub_in > value + 1e-9 * max(1.0, value))
    open_ = open_[np.argsort(-ub_in[open_], kind="stable")]
    core = np.union1d(open_[:keep], best)
    rest = np.setdiff1d(open_[keep:], best)
    return core, float(ub_in[rest].max()) if rest.size else -math.inf, int(open_.size)


def _highs_phases(b: sp.csr_matrix, w: np.ndarray, p: int, groups: np.ndarray, need: Mapping[int, int],
                  u: np.ndarray, best: np.ndarray, deadline: float, report: Callable[..., None], swap: bool
                  ) -> tuple[np.ndarray, list[str]]:
    """Rounds of HiGHS on a core (stopped when it stalls) and the swap search again from what it found.

    With few open columns the last round gives HiGHS all of them for the rest of the time (its
    dual bound is then the whole model's); otherwise each round's core is twice the last one's.
    Returns the incumbent and the engines that improved it.
    """
    ub_in = _forced_in_values(b, w, u, p)
    val0, methods = _weight_of(b, w, best), []
    eps = 1e-9 * max(1.0, float(w.sum()))
    keep = CORE_ALL if _core(ub_in, best, val0, 0)[2] <= CORE_ALL else CORE_MAX
    while deadline - time.perf_counter() > 1.0:
        core, outside, n_open = _core(ub_in, best, val0, CORE_ALL if keep >= CORE_ALL else keep)
        last = not math.isfinite(outside)  # every open column is in: nothing left to enlarge
        left = deadline - time.perf_counter()
        # HiGHS overruns its limit by up to a few seconds on these models: ask for less
        limit = (0.9 * left if last else 0.5 * left) - 0.2
        cols, val, hb = core_mip(b, w, p, groups, need, best, core, limit, on_solution=lambda v: report(val=v),
                                 stall=math.inf if last else MIP_STALL)
        if val > val0 + eps:
            best, val0 = cols, val
            methods.append("highs")
        report(val=val, bound=max(hb, outside))
        if last or n_open == 0:
            break
        left = deadline - time.perf_counter()
        if swap and left > 1.0:
            found, val = swap_search(b, w, best, deadline - 0.5 * left, groups, need,
                                     on_better=lambda v: report(val=v))
            if val > val0 + eps:
                best, val0 = found, val
                methods.append("swap")
        keep *= 2
    return best, methods


def solve_big_max(b: sp.csr_matrix, w: np.ndarray, p: int, start: np.ndarray, deadline: float,
                  groups: np.ndarray | None = None, need: Mapping[int, int] | None = None,
                  progress: Progress | None = None, bound0: float = math.inf, swap: bool = True,
                  window: bool = True, mip: bool = True, lp: bool = True) -> MaxOutcome:
    """Most weight of ``b``'s rows covered by at most ``p`` columns (group minimums kept).

    Parameters
    ----------
    b : scipy.sparse.csr_matrix
        Reduced boolean matrix (see ``reduce_problem``).
    w : numpy.ndarray
        Row weights (people).
    p : int
        Sites to place (forced ones excluded).
    start : numpy.ndarray
        A feasible choice (the greedy's); the answer is never worse.
    deadline : float
        ``time.perf_counter()`` value to stop at.
    groups, need
        Group of each column and minimum columns per group.
    progress : callable, optional
        ``progress(best_weight, upper_bound)`` whenever either improves.
    bound0 : float
        An upper bound known already (the cheap one of ``MaximalCovering``).
    swap, window, mip, lp
        Run the swap search / the window search / the core MIP / the LP bound on small models
        (switches for measuring each).

    Returns
    -------
    MaxOutcome
    """
    t0 = time.perf_counter()
    groups = np.full(b.shape[1], -1, dtype=np.int64) if groups is None else np.asarray(groups)
    need = dict(need or {})
    w = np.asarray(w, dtype=np.float64)
    best = np.sort(np.asarray(start, dtype=np.int64))
    st = {"val": _weight_of(b, w, best), "bound": min(bound0, float(w.sum()))}
    history: list[tuple[float, float, float]] = []
    eps = 1e-9 * max(1.0, float(w.sum()))

    def report(val: float = -math.inf, bound: float = math.inf) -> None:
        st["val"], st["bound"] = max(st["val"], val), min(st["bound"], bound)
        history.append((time.perf_counter() - t0, st["val"], st["bound"]))
        if progress is not None:
            progress(st["val"], st["bound"])

    report()
    if st["val"] >= st["bound"] - eps or p <= 0 or b.shape[0] == 0:
        return MaxOutcome([int(j) for j in best], st["val"], st["bound"], "greedy", math.nan, history)
    got: dict = {}

    def bound_work() -> None:  # in a thread beside the swap search: HiGHS and numpy's kernels release the GIL
        out = lp_max_bound(b, w, p, groups, need, BOUND_SHARE * (deadline - t0)) if lp and b.nnz <= LP_NNZ else None
        if out is not None:
            report(bound=out[0])
        # the descent runs too: interior-point duals without crossover are approximate, and their L(u) can
        # stand above the LP value (401,700 against the descent's 401,344 on wuhai25k, p = 400; started from
        # those duals the descent found nothing lower)
        lag = lagrangian_max_bound(b, w, p, groups, need, lambda: st["val"], t0 + BOUND_SHARE * (deadline - t0))
        got["lag"] = lag if out is None or lag[0] < out[0] else out
        report(bound=got["lag"][0])

    worker = threading.Thread(target=bound_work, daemon=True)
    worker.start()
    method = "greedy"
    if swap:
        found, val = swap_search(b, w, best, t0 + SWAP_SHARE * (deadline - t0), groups, need,
                                 on_better=lambda v: report(val=v), stop_at=lambda: st["bound"])
        if val > _weight_of(b, w, best) + eps:
            best, method = found, "swap"
            report(val=val)
    steps = [] if method == "greedy" else [method]
    if window and st["val"] < st["bound"] - eps:  # beside the bound still running: HiGHS releases the GIL
        cut = time.perf_counter() + (WINDOW_SHARE if mip else 1.0) * (deadline - time.perf_counter())
        found, n_better = window_search(b, w, best, cut, groups, need, lambda v: report(val=v),
                                        stop_at=lambda: st["bound"])
        if n_better:
            best = found
            steps.append("window")
    worker.join()
    lag, u = got["lag"]
    if mip and st["val"] < st["bound"] - eps:
        best, more = _highs_phases(b, w, p, groups, need, u, best, deadline, report, swap)
        steps += more
    method = "+".join(dict.fromkeys(steps)) if steps else "greedy"
    return MaxOutcome([int(j) for j in best], _weight_of(b, w, best), st["bound"], method, lag, history)


# --------------------------------------------------------------------------
# behind the MaximalCovering API
# --------------------------------------------------------------------------


def people_progress_text(best: float, bound: float) -> str:
    """The planner's progress line for maximal covering, English and Chinese.

    "At most x % below optimal": the optimum is at most ``bound``, so the
    answer misses at most ``(bound - best) / bound`` of it.

    >>> people_progress_text(123456, 124452)
    'best so far 123,456 people covered, at most 0.8 % below optimal / 目前最好覆盖 123,456 人，最多比最优少 0.8 %'
    """
    people = f"{best:,.0f}"
    if bound <= best + 1e-9 * max(1.0, abs(best)):
        return f"best so far {people} people covered, proven optimal / 目前最好覆盖 {people} 人，已证明最优"
    if not math.isfinite(bound) or bound <= 0:
        return f"best so far {people} people covered, no bound yet / 目前最好覆盖 {people} 人，尚无上界"
    pct = 100.0 * (bound - best) / bound
    return (f"best so far {people} people covered, at most {pct:.1f} % below optimal / "
            f"目前最好覆盖 {people} 人，最多比最优少 {pct:.1f} %")


def solve_maximal_covering(model: MaximalCovering, time_limit: float = 60.0, progress: Progress | None = None,
                           **ingredients: bool) -> EngineResult:
    """Solve a :class:`coverage.siting.solvers.MaximalCovering` model with the large-scale engine.

    Same inputs, forced sites and group minimums as ``MaximalCovering.solve``;
    the answer is never worse than its greedy and the bound is a proven upper
    bound (cheap, Lagrangian or LP-dual, HiGHS's on the core with the fixed
    columns' values). ``progress(best, bound)`` gets people newly covered, forced
    sites' included, as ``SolveResult.objective`` counts them. ``ingredients``
    (``swap``, ``mip``, ``lp``) switch parts off, for benchmarks.

    Examples
    --------
    Two sites for five rows on a path (each site reaches two neighbours): both ends are best.

    >>> import numpy as np
    >>> reach = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1]], bool)
    >>> e = solve_maximal_covering(MaximalCovering(reach, [4, 4, 1, 4, 4], p=2), time_limit=5)
    >>> e.result.objective, e.result.bound, e.result.status
    (16.0, 16.0, 'optimal')
    """
    _check_solve_args(time_limit, 0.0, "highs")
    t0 = time.perf_counter()
    pr = model.problem
    b, w, groups, need = pr.reach, pr.weights, pr.group_of_candidate, pr.group_need
    p_new, fw = model.p - int(pr.forced.size), pr.forced_weight
    notes: list[str] = []
    if p_new >= b.shape[1]:
        # every remaining candidate fits: all reachable demand is covered
        chosen, bound, method, lag, hist = _prune(b, w, groups, need, list(range(b.shape[1])), None), \
            pr.reachable_weight, "greedy", math.nan, []
    else:
        raw, n_raw = _greedy(b, w, groups, need, max_sites=p_new, required=None, full_cover=False)
        greedy_sel = _prune(b, w, groups, need, raw, None)
        greedy_val = _weight_of(b, w, greedy_sel)
        cheap = model._cheap_bound(greedy_val, n_raw, p_new)

        def report(val: float, bd: float) -> None:
            if progress is not None:
                progress(val + fw, max(min(bd, cheap), val) + fw)

        start = np.asarray(greedy_sel, dtype=np.int64)
        if start.size < p_new:  # sites the pruning freed (they added nothing): give the searches every slot
            colw = np.asarray(sp.csc_matrix(b).T @ w).ravel()
            colw[start] = -np.inf
            start = np.concatenate([start, np.argsort(-colw, kind="stable")[:p_new - start.size]])
        out = solve_big_max(b, w, p_new, start, t0 + time_limit, groups, need, report, bound0=cheap, **ingredients)
        chosen = _prune(b, w, groups, need, out.chosen, None)
        if _weight_of(b, w, chosen) < greedy_val:  # cannot happen (the engine starts from it); kept as a guard
            chosen, out.method = greedy_sel, "greedy"
        bound, method, lag = min(cheap, out.bound), out.method, out.lagrangian
        hist = [(s, v + fw, min(bd, cheap) + fw) for s, v, bd in out.history]
    selected = model._to_original(chosen)
    covered = model._covered_weight(selected)
    objective = covered - pr.existing_weight
    bound += fw
    if objective > bound:  # only by rounding (the bounds are proven): the answer meets its bound
        bound = objective if objective - bound <= 1e-9 * max(1.0, bound) else bound
    done = objective >= bound - 1e-9 * max(1.0, bound)
    status = "optimal" if done else ("greedy" if method == "greedy" else "time_limit")
    res = model._finish(selected, objective, covered, status, bound, 0.0, t0, None, notes)
    return EngineResult(res, method, lag, hist)
