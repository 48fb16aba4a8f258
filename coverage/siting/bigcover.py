"""Large-scale set covering: Lagrangian bound, spatial decomposition and window search with HiGHS.

The engine works on the reduced matrix of :func:`coverage.siting.solvers.reduce_problem`
(rows = demand, columns = candidate sites) for the set-covering model: the
fewest sites covering every row (``full``) or a required weight (partial cover).

* **Decomposition.** The reach matrix is local: rows and columns fall apart into
  connected components of its bipartite graph (districts cut off by rivers, rail,
  distance), each solved alone; counts and bounds add up.
* **Bound.** Lagrangian relaxation of the cover rows, ascended by subgradient
  steps. For partial cover the single coverage constraint stays in the
  relaxed problem (a fractional knapsack over the rows): this is the relaxation
  of the coverage constraint with its multiplier chosen exactly for each row
  price vector. Every value reached is a proven lower bound.
* **Reduced-cost fixing.** With bound ``L(u)`` and incumbent ``UB``, a column of
  Lagrangian reduced cost above ``UB - 1 - L(u)`` is in no cover with fewer
  than ``UB`` sites, so the whole-model MIP is built without it and its HiGHS
  dual bound stays a bound of the full problem (below ``UB``).
* **Core MIP.** HiGHS on the fixed model (full covers: rows containing another
  row dropped, as they are implied) for a share of the time, warm started
  with the incumbent (``setSolution``); improving solutions are taken from the
  MIP callback and re-checked here.
* **Window search.** A large-neighbourhood search: a window of neighbouring
  sites of the incumbent (breadth-first through shared rows) is freed, the
  demand only they cover is re-covered optimally by HiGHS from every column
  that reaches it, warm started with the freed sites; better windows replace
  the incumbent. Windows walk over the city until the time is up, two at a
  time in two threads (each answer re-checked against the cover as it lands).

The answer is never worse than the greedy start it is given.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from coverage.highs import new_highs
from coverage.ranges import concat_ranges
from coverage.siting.localsearch import rwls_cover
from coverage.siting.solvers import (
    SetCovering,
    SolveResult,
    _check_solve_args,
    _drop_superset_rows,
    _greedy,
    _group_rows,
    _packing_bound,
    _prune,
    _subset_pairs,
)

__all__ = ["CoverOutcome", "EngineResult", "Sweeps", "components", "cover_mip", "lagrangian_bound", "lp_dual_bound",
           "progress_text", "solve_big_cover", "solve_set_covering"]

#: Share of the time for the row-weighting local search, beside the bound (the rest: HiGHS, windows).
RWLS_SHARE = 0.6
#: Share of the time for the first window search of a partial cover, beside the bound.
WINDOW_SHARE = 0.75
#: Share of the time for the Lagrangian ascent.
LAGRANGE_SHARE = 0.2
#: Models up to this many entries get the LP bound (interior point) instead, within this share of the time.
LP_NNZ, LP_SHARE = 400_000, 0.5
#: Share of the time left for the whole-model HiGHS MIP, for models up to ``CORE_NNZ`` entries and above.
CORE_NNZ = 400_000
MIP_SHARE_SMALL, MIP_SHARE_BIG = 0.4, 0.6
#: Seconds without a better solution after which the whole-model MIP hands over to the window search.
MIP_STALL = 4.0
#: Sites freed per search window (grows when windows stop improving).
WINDOW_SITES = 6
WINDOW_SITES_AFTER_MIP = 10
#: A sweep in which fewer than this share of windows improved makes the next windows 1.5x larger.
GROW_BELOW = 0.15
MAX_WINDOW = 40
LIMIT_A, LIMIT_B = 0.3, 0.05
WARM_WINDOWS = False
#: Threads solving windows at once (the machines this runs on have two cores or more).
WINDOW_WORKERS = 2

Progress = Callable[[int, float], None]  # (best count so far, proven lower bound)


@dataclass
class CoverOutcome:
    """Result of :func:`solve_big_cover` on a reduced matrix.

    Attributes
    ----------
    chosen : list of int
        Reduced columns of the incumbent.
    bound : float
        Proven lower bound on the number of sites of any feasible choice.
    method : str
        Engine that produced the incumbent: ``greedy``, ``highs`` (whole-model MIP) or
        ``window`` (window search), joined with ``+`` over components.
    lagrangian : float
        Best Lagrangian value reached (a lower bound; NaN if not computed).
    history : list of (seconds, sites, bound)
        Each improvement of the incumbent or of the bound.
    """

    chosen: list[int]
    bound: float
    method: str
    lagrangian: float = math.nan
    history: list[tuple[float, int, float]] = field(default_factory=list)


# --------------------------------------------------------------------------
# decomposition
# --------------------------------------------------------------------------


def components(b: sp.csr_matrix) -> tuple[int, np.ndarray, np.ndarray]:
    """Connected components of the row-column graph of ``b``.

    Returns
    -------
    n, row_label, col_label
        Number of components, the component of each row and of each column (a
        column covering no row is a component of its own).
    """
    m = b.shape[0]
    g = sp.bmat([[None, b], [b.T, None]], format="csr")
    k, lab = connected_components(g, directed=False)
    return int(k), lab[:m], lab[m:]


# --------------------------------------------------------------------------
# Lagrangian bound
# --------------------------------------------------------------------------


def _knapsack(u: np.ndarray, w: np.ndarray, required: float) -> tuple[float, np.ndarray]:
    """``min u·y`` over ``0 <= y <= 1, w·y >= required`` (rows cheapest per weight first)."""
    y = np.zeros_like(u)
    if required <= 0:
        return 0.0, y
    ratio = np.where(w > 0, u / np.where(w > 0, w, 1.0), np.inf)
    order = np.argsort(ratio, kind="stable")
    cum = np.cumsum(w[order])
    k = int(np.searchsorted(cum, required))
    k = min(k, order.size - 1)
    y[order[:k]] = 1.0
    before = cum[k - 1] if k else 0.0
    y[order[k]] = min(1.0, max(0.0, (required - before) / w[order[k]])) if w[order[k]] > 0 else 0.0
    return float(u @ y), y


def _lagrange_value(b: sp.csr_matrix, bt: sp.csr_matrix, u: np.ndarray, w: np.ndarray, required: float | None
                    ) -> tuple[float, np.ndarray, np.ndarray]:
    """``L(u)``, the reduced costs and the relaxed row part (``y``; ones for a full cover)."""
    rc = 1.0 - bt @ u
    if required is None:
        base, y = float(u.sum()), np.ones_like(u)
    else:
        base, y = _knapsack(u, w, required)
    return base + float(rc[rc < 0].sum()), rc, y


def lagrangian_bound(b: sp.csr_matrix, w: np.ndarray, required: float | None, target: float, deadline: float,
                     max_iter: int = 3000) -> tuple[float, np.ndarray]:
    """Best Lagrangian lower bound on the fewest columns covering ``b`` (``required`` None: every row).

    ``L(u) = min_y u·y + sum_j min(0, 1 - (Bᵀu)_j)`` with ``y`` all ones (full
    cover) or the cheapest fractional choice of rows weighing ``required``
    (partial cover). Any ``u >= 0`` gives a lower bound. Start: the dual
    feasible ``u_i = min_j value_i / value_j`` over the row's columns; steps
    follow Polyak's rule towards ``target`` (an incumbent's count) with the step
    factor halved after 20 steps without a better value (Beasley 1990).

    Returns
    -------
    bound, u
        The best value reached and its row prices.
    """
    b = sp.csr_matrix(b, dtype=np.float64)
    b.data[:] = 1.0
    m = b.shape[0]
    if m == 0:
        return 0.0, np.zeros(0)
    bt = b.T.tocsr()
    val = np.ones(m) if required is None else np.asarray(w, dtype=np.float64)
    colval = np.maximum(bt @ val, 1e-300)
    u = val * np.minimum.reduceat((1.0 / colval)[b.indices], b.indptr[:-1])
    best, best_u = -1e300, u.copy()
    lam, stall = 2.0, 0
    for _ in range(max_iter):
        value, rc, y = _lagrange_value(b, bt, u, val, required)
        if value > best + 1e-9 * max(1.0, abs(best)):
            best, best_u, stall = value, u.copy(), 0
        else:
            stall += 1
            if stall >= 20:
                lam, stall = lam / 2, 0
        if math.ceil(best - 1e-6) >= target or time.perf_counter() > deadline or lam < 1e-4:
            break
        g = y - b @ (rc < 0).astype(np.float64)
        g[(u <= 0) & (g < 0)] = 0.0
        norm = float(g @ g)
        if norm == 0.0:
            break  # the relaxed choice is feasible and complementary: L(u) is the optimum of the relaxation
        u = np.maximum(u + lam * (target - value) / norm * g, 0.0)
    return best, best_u


# --------------------------------------------------------------------------
# HiGHS on a (sub)model, warm started
# --------------------------------------------------------------------------


def _covers(b: sp.csc_matrix, w: np.ndarray, required: float | None, cols: np.ndarray) -> bool:
    """Whether columns ``cols`` of ``b`` (CSC) cover every row / at least ``required`` weight."""
    hit = np.zeros(b.shape[0], dtype=bool)
    hit[b.indices[concat_ranges(b.indptr[cols], np.diff(b.indptr)[cols])]] = True
    if required is None:
        return bool(hit.all())
    return float(w[hit].sum()) >= required - 1e-9 * max(required, 1.0)


def _group_ok(groups: np.ndarray, need: Mapping[int, int], cols: np.ndarray) -> bool:
    return all(int(np.sum(groups[cols] == g)) >= k for g, k in need.items())


def _cover_model(b: sp.csr_matrix, w: np.ndarray, required: float | None, groups: np.ndarray,
                 need: Mapping[int, int], time_limit: float, integer: bool = True) -> object:
    """A silent HiGHS instance: binary columns, every row covered or (partial) ``y_i <= (Bx)_i, w·y >= required``.

    ``integer=False`` gives its LP relaxation.
    """
    import highspy

    m, n = b.shape
    partial = required is not None
    n_var = n + (m if partial else 0)
    blocks = [sp.csr_matrix(b, dtype=np.float64)]
    if partial:
        blocks = [sp.hstack([blocks[0], -sp.identity(m, format="csr")], format="csr")]
    gmat, gneed = _group_rows(groups, need, n_var)
    blocks.append(gmat)
    lower = [np.full(m, 0.0 if partial else 1.0), gneed]
    if partial:
        blocks.append(sp.csr_matrix(np.concatenate([np.zeros(n), w])[None, :]))
        lower.append(np.array([required]))
    a = sp.vstack(blocks, format="csc")
    a.sort_indices()
    h = new_highs()
    for key, value in (("output_flag", False), ("time_limit", float(max(time_limit, 0.05))),
                       ("random_seed", 12345), ("mip_rel_gap", 0.0)):
        h.setOptionValue(key, value)
    cost = np.concatenate([np.ones(n), np.zeros(n_var - n)])
    integ = (cost if integer else np.zeros(n_var)).astype(np.int32)
    row_lower = np.concatenate(lower)
    h.passModel(n_var, a.shape[0], int(a.nnz), int(highspy.MatrixFormat.kColwise), int(highspy.ObjSense.kMinimize),
                0.0, cost, np.zeros(n_var), np.ones(n_var), row_lower,
                np.full(row_lower.size, np.inf), a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data, integ)
    return h


def lp_dual_bound(b: sp.csr_matrix, w: np.ndarray, required: float | None, time_limit: float
                  ) -> tuple[float, np.ndarray] | None:
    """Lagrangian bound at the LP relaxation's row duals (HiGHS interior point, no crossover).

    Any prices ``u >= 0`` give a proven bound ``L(u)`` (:func:`lagrangian_bound`),
    so approximate duals are safe; at the LP optimum ``L(u)`` equals the LP
    value, which the subgradient ascent on grid-like cities stops short of
    (59.7 against 63.2 on the 3k-node grid of ``benchmarks/siting_instances.py``).

    Returns
    -------
    (bound, u) or None
        None when HiGHS stops before an optimal LP (time limit).
    """
    import highspy

    m = b.shape[0]
    if m == 0:
        return 0.0, np.zeros(0)
    h = _cover_model(b, w, required, np.full(b.shape[1], -1), {}, time_limit, integer=False)
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("run_crossover", "off")
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    u = np.maximum(np.asarray(h.getSolution().row_dual, dtype=np.float64)[:m], 0.0)
    bb = sp.csr_matrix(b, dtype=np.float64)
    bb.data[:] = 1.0
    val = np.ones(m) if required is None else np.asarray(w, dtype=np.float64)
    value, _, _ = _lagrange_value(bb, bb.T.tocsr(), u, val, required)
    return value, u


def cover_mip(b: sp.csr_matrix, w: np.ndarray, required: float | None, start: np.ndarray, time_limit: float,
              groups: np.ndarray | None = None, need: Mapping[int, int] | None = None,
              on_solution: Callable[[int], None] | None = None, warm: bool = True, stall: float = math.inf,
              cutoff: float | None = None) -> tuple[np.ndarray, float, bool]:
    """Fewest columns of ``b`` covering every row (``required`` None) or ``required`` weight, by HiGHS.

    ``start`` (feasible columns) is handed to HiGHS with ``setSolution`` (unless
    ``warm`` is False). ``cutoff`` prunes every node whose bound reaches it (HiGHS's
    ``objective_bound``): a window asks only for fewer sites than it has, and with it
    30 % more windows per second are tried on ``wuhai25k_layer95``. Once HiGHS has
    beaten the start, it is stopped after ``stall`` seconds without a better solution
    (the window search does better with that time).
    Every improving solution HiGHS reports through its MIP callback is
    re-checked against the rows here (HiGHS 1.16 can return a start vector next
    to another solution's objective), and the best checked one is returned.

    Returns
    -------
    chosen, bound, optimal
        Best verified columns (``start`` if none better), HiGHS's dual bound
        (a bound of this model only), and whether HiGHS proved it optimal.
    """
    import highspy

    m, n = b.shape
    groups = np.full(n, -1) if groups is None else groups
    need = need or {}
    partial = required is not None
    h = _cover_model(b, w, required, groups, need, time_limit)
    if cutoff is not None:
        h.setOptionValue("objective_bound", float(cutoff))
    n_var = n + (m if partial else 0)
    bc = sp.csc_matrix(b)
    best = np.asarray(start, dtype=np.int64)
    found: list[np.ndarray] = []
    last = [math.inf]  # when the last improving solution came
    kinds = highspy.cb.HighsCallbackType

    def callback(kind, message, data_out, data_in, user):  # noqa: ARG001 - HiGHS's signature
        if kind == kinds.kCallbackMipInterrupt:
            # once it has improved on the start, stop HiGHS after ``stall`` s without a better solution
            data_in.user_interrupt = time.perf_counter() - last[0] > stall
            return
        x = np.asarray(data_out.mip_solution, dtype=np.float64)[:n]
        cols = np.flatnonzero(x > 0.5)
        if cols.size < best.size and (not found or cols.size < found[-1].size):
            found.append(cols)
            last[0] = time.perf_counter()
            if on_solution is not None:
                on_solution(int(cols.size))

    h.setCallback(callback, None)
    h.startCallback(kinds.kCallbackMipImprovingSolution)
    if stall < math.inf:
        h.startCallback(kinds.kCallbackMipInterrupt)
    x0 = np.zeros(n_var)
    x0[best] = 1.0
    if partial:
        hit = np.zeros(m, dtype=bool)
        hit[bc.indices[concat_ranges(bc.indptr[best], np.diff(bc.indptr)[best])]] = True
        x0[n:] = hit
    if warm:
        h.setSolution(_solution(x0))
    h.run()
    if h.getInfo().primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible:
        found.append(np.flatnonzero(np.asarray(h.getSolution().col_value, dtype=np.float64)[:n] > 0.5))
    for cols in sorted(found, key=len):
        if cols.size < best.size and _covers(bc, w, required, cols) and _group_ok(groups, need, cols):
            best = cols
            break
    info = h.getInfo()
    bound = float(info.mip_dual_bound)
    bound = bound if np.isfinite(bound) and abs(bound) < 1e30 else 0.0
    optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return best, bound, bool(optimal and best.size <= math.ceil(bound - 1e-6))


def _solution(x: np.ndarray) -> object:
    import highspy

    sol = highspy.HighsSolution()
    sol.col_value = list(map(float, x))
    sol.value_valid = True
    return sol


# --------------------------------------------------------------------------
# window search
# --------------------------------------------------------------------------


class _Incumbent:
    """A feasible choice of columns with per-row cover counts, updated window by window."""

    def __init__(self, b: sp.csr_matrix, w: np.ndarray, required: float | None, chosen: np.ndarray):
        self.b, self.bc, self.w, self.required = b, sp.csc_matrix(b), w, required
        self.on = np.zeros(b.shape[1], dtype=bool)
        self.on[chosen] = True
        self.cnt = np.zeros(b.shape[0], dtype=np.int64)
        np.add.at(self.cnt, self._rows(np.asarray(chosen, dtype=np.int64)), 1)

    def _rows(self, cols: np.ndarray) -> np.ndarray:
        return self.bc.indices[concat_ranges(self.bc.indptr[cols], np.diff(self.bc.indptr)[cols])]

    def _cols(self, rows: np.ndarray) -> np.ndarray:
        return self.b.indices[concat_ranges(self.b.indptr[rows], np.diff(self.b.indptr)[rows])]

    @property
    def chosen(self) -> np.ndarray:
        return np.flatnonzero(self.on)

    def window(self, seed: int, k: int, avoid: np.ndarray) -> np.ndarray:
        """Up to ``k`` chosen columns near ``seed``, breadth first through shared rows and their columns.

        Chosen columns marked in ``avoid`` are passed through but not taken (a sweep's windows stay apart).
        """
        found = [np.array([seed])]
        seen = np.zeros(self.b.shape[1], dtype=bool)
        seen[seed] = True
        frontier, total = found[0], 1
        while total < k and frontier.size:
            near = np.unique(self._cols(np.unique(self._rows(frontier))))
            near = near[~seen[near]]
            seen[near] = True
            sites = near[self.on[near] & ~avoid[near]]
            found.append(sites)
            total += sites.size
            frontier = near
        return np.concatenate(found)[:k]

    def replace(self, out: np.ndarray, new: np.ndarray) -> None:
        np.add.at(self.cnt, self._rows(out), -1)
        self.on[out] = False
        self.on[new] = True
        np.add.at(self.cnt, self._rows(new), 1)


def _window_model(inc: _Incumbent, free: np.ndarray, groups: np.ndarray, need: Mapping[int, int]
                  ) -> tuple[np.ndarray, np.ndarray, float | None, dict[int, int]]:
    """Rows and columns of the sub-model that re-covers what the ``free`` sites alone cover.

    Returns rows, columns, the weight the sub-model must cover (None: all its
    rows) and the group minimums left for it.
    """
    rows_f = inc._rows(free)
    only = np.bincount(rows_f, minlength=inc.cnt.size)
    lone = np.flatnonzero((only > 0) & (only == inc.cnt))  # rows no site outside the window covers
    cols = np.union1d(inc._cols(lone), free)  # every freed site stays in the model: the start is feasible
    rest = np.setdiff1d(inc.chosen, free)
    left = {g: k - int(np.sum(groups[rest] == g)) for g, k in need.items()}
    left = {g: k for g, k in left.items() if k > 0}
    if inc.required is None:
        return lone, cols, None, left
    # partial cover: rows nobody covers yet, reached by the window's columns, can be traded in
    near = np.unique(inc._rows(cols)) if cols.size else cols
    rows = np.union1d(lone, near[inc.cnt[near] == 0])
    covered_w = float(inc.w[inc.cnt > 0].sum())
    need_w = inc.required - (covered_w - float(inc.w[lone].sum()))
    return rows, cols, need_w, left


class Sweeps:
    """Which chosen sites the next window frees: sweeps over the incumbent, windows apart.

    A sweep visits every chosen site once as the seed or member of a window;
    windows taken at the same time (or in one sweep) never free a common site.
    A sweep in which fewer than ``GROW_BELOW`` of the windows improved makes the
    next windows 1.5 times larger (up to ``MAX_WINDOW``); a sweep of the largest
    windows that improved nothing ends the search (a local optimum, or the whole
    choice re-solved when it is that small). Callers hold ``lock`` around
    :meth:`take`, :meth:`back` and every change to the incumbent.
    """

    def __init__(self, inc: _Incumbent, k: int, seed: int) -> None:
        self.inc, self.k = inc, k
        self.rng = np.random.default_rng(seed)
        self.visited = np.zeros(inc.on.size, dtype=bool)
        self.busy = np.zeros(inc.on.size, dtype=bool)  # sites of the windows being solved
        self.improved = self.tried = self.sweep_improved = 0
        self.done = False
        self.lock = threading.Lock()

    def take(self) -> np.ndarray | None:
        """The sites of the next window, marked busy (None: the search is over, or all is busy)."""
        inc = self.inc
        while not self.done:
            todo = np.flatnonzero(inc.on & ~self.visited & ~self.busy)
            if todo.size == 0 and not np.any(inc.on & ~self.busy):
                return None  # every site is in another worker's window: that worker carries on alone
            if todo.size == 0:
                if self.sweep_improved == 0 and self.k >= min(MAX_WINDOW, int(inc.on.sum())):
                    self.done = True
                    break
                if self.sweep_improved < GROW_BELOW * max(self.tried, 1):
                    self.k = min(math.ceil(self.k * 1.5), MAX_WINDOW)
                self.visited[:] = False
                self.tried = self.sweep_improved = 0
                continue
            free = inc.window(int(self.rng.choice(todo)), self.k, self.visited | self.busy)
            self.visited[free] = True
            self.busy[free] = True
            self.tried += 1
            return free
        return None

    def back(self, free: np.ndarray, improved: bool) -> None:
        """A window is answered: its sites are free again for other windows."""
        self.busy[free] = False
        if improved:
            self.improved += 1
            self.sweep_improved += 1


def _cover_window(inc: _Incumbent, free: np.ndarray, groups: np.ndarray, need: Mapping[int, int]
                  ) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix, float | None, dict[int, int]] | None:
    """Rows, columns, boolean sub-matrix, weight to cover and group minimums of a set-cover window."""
    rows, cols, need_w, left = _window_model(inc, free, groups, need)
    if rows.size == 0 or cols.size == 0:
        return None
    sub = sp.csr_matrix(inc.b[rows][:, cols])
    if need_w is None:
        sub = _drop_superset_rows(sub)
    return rows, cols, sp.csr_matrix(sub, dtype=bool), need_w, left


def _still_feasible(inc: _Incumbent, free: np.ndarray, groups: np.ndarray, need: Mapping[int, int]) -> bool:
    """After a window's answer: rows the freed sites reached still covered (or the weight kept), minimums kept."""
    if inc.required is None:
        ok = bool(np.all(inc.cnt[inc._rows(free)] > 0))
    else:
        ok = float(inc.w[inc.cnt > 0].sum()) >= inc.required - 1e-9 * max(inc.required, 1.0)
    return ok and _group_ok(groups, need, inc.chosen)


def window_search(b: sp.csr_matrix, w: np.ndarray, required: float | None, start: np.ndarray, deadline: float,
                  groups: np.ndarray, need: Mapping[int, int], report: Callable[[int], None],
                  k: int = WINDOW_SITES, seed: int = 0, stop_at: Callable[[], int] | None = None,
                  workers: int = WINDOW_WORKERS) -> tuple[np.ndarray, int]:
    """Improve a feasible cover window by window until ``deadline`` (or down to ``stop_at()`` columns).

    ``workers`` threads solve windows at once (HiGHS releases the GIL). An answer
    is checked against the cover as it is when it comes back (another window may
    have changed the rows around it) and undone if it breaks the cover, the
    required weight or a group minimum. Returns the cover and the windows that improved it.
    """
    inc = _Incumbent(b, w, required, start)
    sw = Sweeps(inc, k, seed)

    def work() -> None:
        while True:
            with sw.lock:
                if time.perf_counter() >= deadline - 0.05 or (stop_at is not None and inc.on.sum() <= stop_at()):
                    return
                free = sw.take()
                if free is None:
                    return
                job = _cover_window(inc, free, groups, need)
                start_local = None if job is None else np.flatnonzero(inc.on[job[1]])
            if job is None:
                with sw.lock:
                    sw.back(free, False)
                continue
            rows, cols, sub, need_w, left = job
            limit = min(deadline - time.perf_counter(), LIMIT_A + LIMIT_B * free.size)
            got, _, _ = cover_mip(sub, w[rows], need_w, start_local, limit, groups[cols], left,
                                  warm=WARM_WINDOWS, cutoff=free.size - 0.5)
            with sw.lock:
                new = cols[got]
                new = new[~inc.on[new] | np.isin(new, free)]  # a site another window just opened is there already
                better = got.size < free.size
                if better:
                    inc.replace(free, new)
                    if not _still_feasible(inc, free, groups, need):
                        inc.replace(new, free)
                        better = False
                sw.back(free, better)
                if better:
                    report(int(inc.on.sum()))

    threads = [threading.Thread(target=work, daemon=True) for _ in range(max(1, workers) - 1)]
    for t in threads:
        t.start()
    work()
    for t in threads:
        t.join()
    return inc.chosen, sw.improved


# --------------------------------------------------------------------------
# the engine
# --------------------------------------------------------------------------


def _bound_rows(b: sp.csr_matrix, full: bool) -> np.ndarray:
    """Rows kept for bounds and the whole-model MIP: a full cover's rows that contain no other row."""
    if not full or b.shape[0] < 2:
        return np.arange(b.shape[0])
    _, sup = _subset_pairs(sp.csr_matrix(b.T))
    keep = np.ones(b.shape[0], dtype=bool)
    keep[sup] = False
    return np.flatnonzero(keep)


def _piece_bound(bb: sp.csr_matrix, wb: np.ndarray, required: float | None, ub: int, t0: float, deadline: float
                 ) -> tuple[float, np.ndarray]:
    """Lagrangian bound and prices: from the LP duals on small models, by subgradient ascent on larger ones."""
    lp = lp_dual_bound(bb, wb, required, LP_SHARE * (deadline - t0)) if bb.nnz <= LP_NNZ else None
    if lp is None:
        now = time.perf_counter()
        lp = lagrangian_bound(bb, wb, required, ub, now + LAGRANGE_SHARE * (deadline - now))
    return lp


def _solve_piece(b: sp.csr_matrix, w: np.ndarray, required: float | None, groups: np.ndarray,
                 need: Mapping[int, int], start: np.ndarray, deadline: float,
                 report: Callable[[int, float], None]) -> tuple[np.ndarray, float, str, float]:
    """One connected model: bound beside a local search, then the core MIP and window search. See the module notes.

    Full covers: RWLS beside the bound, then HiGHS on the reduced-cost core, then windows.
    Partial covers without group minimums: windows from the start beside the bound (on the
    Wuhai cities they beat both the partial RWLS and HiGHS, see ``benchmarks/README.md``),
    then HiGHS (a proof on small models, its dual bound on larger ones), then windows again.
    With group minimums: the bound, HiGHS, then windows.
    """
    full = required is None
    t0 = time.perf_counter()
    keep = _bound_rows(b, full)
    bb, wb = b[keep], w[keep]
    ub = int(start.size)
    base = float(sum(need.values()))
    if full:
        base = max(base, float(_packing_bound(bb)))
    best, method = np.asarray(start, dtype=np.int64), "greedy"
    # the bound runs in a thread beside the search: HiGHS and numpy's kernels release the GIL,
    # so on two cores both get the whole share of the time (HiGHS instances in several threads at
    # once: 3,600 solves in three threads ran clean with highspy 1.16, as the app's sessions do)
    got: dict = {}
    worker = threading.Thread(target=lambda: got.update(lp=_piece_bound(bb, wb, required, ub, t0, deadline)),
                              daemon=True)
    worker.start()

    def bound_now() -> int:  # stop once the incumbent meets the bound, as soon as there is one
        return int(max(base, math.ceil(got["lp"][0] - 1e-6))) if "lp" in got else int(base)

    if not need and full:  # on the rows that contain no other row
        found = rwls_cover(bb, best, t0 + RWLS_SHARE * (deadline - t0), on_better=lambda k: report(k, bound_now()),
                           stop_at=bound_now)
        if found.size < best.size:
            best, method, ub = found, "rwls", int(found.size)
    elif not need:
        found, _ = window_search(b, w, required, best, t0 + WINDOW_SHARE * (deadline - t0), groups, need,
                                 lambda c: report(c, bound_now()), stop_at=bound_now)
        if found.size < best.size:
            best, method, ub = found, "window", int(found.size)
    worker.join()
    lag, u = got["lp"]
    bound = max(base, float(math.ceil(lag - 1e-6)))
    report(ub, bound)
    if ub <= bound or time.perf_counter() >= deadline - 0.1:
        return best, bound, method, lag
    best, bound, method = _core_mip(bb, wb, required, groups, need, best, bound, lag, u, method, deadline, report)
    if best.size > bound and time.perf_counter() < deadline - 0.1:
        k = WINDOW_SITES if method == "greedy" else WINDOW_SITES_AFTER_MIP
        found, _ = window_search(b, w, required, best, deadline, groups, need, lambda c: report(c, bound), k=k)
        if found.size < best.size:
            best, method = found, method if method.endswith("window") else (
                "window" if method == "greedy" else f"{method}+window")
    return best, bound, method, lag


def _core_mip(bb: sp.csr_matrix, wb: np.ndarray, required: float | None, groups: np.ndarray,
              need: Mapping[int, int], best: np.ndarray, bound: float, lag: float, u: np.ndarray, method: str,
              deadline: float, report: Callable[[int, float], None]) -> tuple[np.ndarray, float, str]:
    """HiGHS on the columns that reduced-cost fixing keeps, from ``best``; returns the best, bound and method."""
    ub = int(best.size)
    rc = 1.0 - sp.csr_matrix(bb, dtype=np.float64).T @ u
    core = np.union1d(np.flatnonzero(rc <= ub - 1 - lag + 1e-6), best)  # reduced-cost fixing
    pos = np.searchsorted(core, best)
    budget = (MIP_SHARE_SMALL if bb.nnz <= CORE_NNZ else MIP_SHARE_BIG) * (deadline - time.perf_counter())
    got, hb, _ = cover_mip(sp.csr_matrix(bb[:, core]), wb, required, pos, budget, groups[core], need,
                           on_solution=lambda k: report(k, bound), stall=MIP_STALL)
    bound = max(bound, min(float(ub), float(math.ceil(hb - 1e-6))))
    if got.size < best.size:
        best, method = core[got], "highs" if method == "greedy" else f"{method}+highs"
    report(int(best.size), bound)
    return best, bound, method


def solve_big_cover(b: sp.csr_matrix, w: np.ndarray, required: float | None, start: np.ndarray, deadline: float,
                    groups: np.ndarray | None = None, need: Mapping[int, int] | None = None,
                    progress: Progress | None = None, decompose: bool = True) -> CoverOutcome:
    """Fewest columns of ``b`` covering every row (``required`` None) or ``required`` weight.

    Parameters
    ----------
    b : scipy.sparse.csr_matrix
        Reduced boolean matrix (every row non-empty, see ``reduce_problem``).
    w : numpy.ndarray
        Row weights (used for partial cover).
    required : float or None
        Weight to cover; None for a full cover.
    start : numpy.ndarray
        A feasible cover (the greedy one); the answer is never larger.
    deadline : float
        ``time.perf_counter()`` value to stop at.
    groups, need
        Group of each column and minimum columns per group.
    progress : callable, optional
        ``progress(best_count, lower_bound)`` whenever either improves.
    decompose : bool
        Solve the connected components of a full cover separately (False: as one model).

    Returns
    -------
    CoverOutcome
    """
    t0 = time.perf_counter()
    n = b.shape[1]
    groups = np.full(n, -1, dtype=np.int64) if groups is None else np.asarray(groups)
    need = dict(need or {})
    start = np.asarray(start, dtype=np.int64)
    history: list[tuple[float, int, float]] = []
    # a full cover without group minimums falls apart into independent components
    k, row_lab, col_lab = components(b) if decompose and required is None and not need else (1, None, None)
    pieces = [np.arange(n)] if k == 1 else [np.flatnonzero(col_lab == c) for c in range(k)]
    best_k = np.array([np.sum(np.isin(start, p)) for p in pieces], dtype=np.int64)
    bound_k = np.zeros(len(pieces))

    def reporter(i: int) -> Callable[[int, float], None]:
        def report(count: int, bound: float) -> None:
            best_k[i], bound_k[i] = min(best_k[i], count), max(bound_k[i], bound)
            history.append((time.perf_counter() - t0, int(best_k.sum()), float(bound_k.sum())))
            if progress is not None:
                progress(int(best_k.sum()), float(bound_k.sum()))
        return report

    chosen, methods, lag_total = [], set(), 0.0
    order = sorted(range(len(pieces)), key=lambda i: -pieces[i].size)
    nnz = np.array([b[:, pieces[i]].nnz for i in range(len(pieces))], dtype=np.float64)
    left_nnz = float(nnz.sum())
    for i in order:
        cols = pieces[i]
        rows = np.arange(b.shape[0]) if k == 1 else np.flatnonzero(row_lab == col_lab[cols[0]])
        share = nnz[i] / max(left_nnz, 1.0)
        left_nnz -= nnz[i]
        piece_deadline = time.perf_counter() + share * (deadline - time.perf_counter())
        sub = sp.csr_matrix(b[rows][:, cols]) if k > 1 else b
        local = np.flatnonzero(np.isin(cols, start)) if k > 1 else start
        if rows.size == 0:
            continue  # columns covering nothing: never needed
        got, bnd, method, lag = _solve_piece(sub, w[rows], required, groups[cols], need, local, piece_deadline,
                                             reporter(i))
        reporter(i)(int(got.size), bnd)
        chosen.append(cols[got])
        methods.add(method)
        lag_total += lag
    sel = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
    method = "+".join(sorted(methods)) if methods else "greedy"
    return CoverOutcome(sorted(int(j) for j in sel), float(bound_k.sum()), method, lag_total, history)


# --------------------------------------------------------------------------
# behind the SetCovering API
# --------------------------------------------------------------------------


@dataclass
class EngineResult:
    """A :class:`coverage.siting.solvers.SolveResult` with the engine's own record.

    Attributes
    ----------
    result : SolveResult
        As ``SetCovering.solve`` returns it (bound and gap proven).
    method : str
        Engine that produced the incumbent (see :class:`CoverOutcome`).
    lagrangian : float
        Best Lagrangian bound on the reduced model (forced sites excluded).
    history : list of (seconds, sites, bound)
        Progress over the solve, in original counts (forced sites included).
    """

    result: SolveResult
    method: str
    lagrangian: float
    history: list[tuple[float, int, float]]

    def siting_fields(self) -> dict[str, object]:
        """``summary.json`` → ``siting`` keys: objective, bound, gap, method, seconds."""
        r = self.result
        return {"objective": r.objective, "bound": r.bound, "gap": r.gap, "method": self.method,
                "seconds": round(float(r.solve_seconds), 3)}


def progress_text(best: int, bound: float) -> str:
    """The planner's progress line, English and Chinese.

    >>> progress_text(431, 427.6)
    'best so far 431 stations, at most 0.8 % above optimal / 目前最好 431 个站点，最多比最优多 0.8 %'
    """
    if bound >= best:
        return f"best so far {best} stations, proven optimal / 目前最好 {best} 个站点，已证明最优"
    if bound <= 0:
        return f"best so far {best} stations, no bound yet / 目前最好 {best} 个站点，尚无下界"
    pct = 100.0 * (best - bound) / bound
    return (f"best so far {best} stations, at most {pct:.1f} % above optimal / "
            f"目前最好 {best} 个站点，最多比最优多 {pct:.1f} %")


def solve_set_covering(model: SetCovering, time_limit: float = 60.0,
                       progress: Callable[[int, float], None] | None = None) -> EngineResult:
    """Solve a :class:`coverage.siting.solvers.SetCovering` model with the large-scale engine.

    Same inputs, target handling, forced sites and group minimums as
    ``SetCovering.solve``; the answer is never worse than its greedy, and the
    bound is the best proven one (Lagrangian, packing, HiGHS dual bound).
    ``progress(best, bound)`` gets original counts (forced sites included).
    """
    _check_solve_args(time_limit, 0.0, "highs")
    t0 = time.perf_counter()
    pr = model.problem
    b, w, groups, need = pr.reach, pr.weights, pr.group_of_candidate, pr.group_need
    required, full, reachable = model._requirement()
    notes = [] if reachable else [
        f"target {model.target_share:.1%} cannot be met: {pr.unreachable_weight:g} people are out of reach "
        f"of every candidate; all reachable demand is covered instead"]
    n_forced = int(pr.forced.size)
    if (required <= 0 or b.shape[0] == 0) and not need:
        chosen, bound, method, lag, hist = [], 0.0, "greedy", 0.0, []
    else:
        raw, n_raw = _greedy(b, w, groups, need, max_sites=None, required=required, full_cover=full)
        greedy_sel = _prune(b, w, groups, need, raw, None if full else required)
        cheap = model._cheap_bound(required, full, n_raw)

        def report(k: int, bd: float) -> None:
            if progress is not None:
                progress(k + n_forced, max(bd, cheap) + n_forced)

        out = solve_big_cover(b, w, None if full else required, np.asarray(greedy_sel, dtype=np.int64),
                              t0 + time_limit, groups, need, report)
        chosen = _prune(b, w, groups, need, out.chosen, None if full else required)
        if len(chosen) > len(greedy_sel):  # cannot happen (the engine starts from it); kept as a guard
            chosen, out.method = greedy_sel, "greedy"
        bound, method, lag = max(cheap, out.bound), out.method, out.lagrangian
        hist = [(s, k + n_forced, max(bd, cheap) + n_forced) for s, k, bd in out.history]
    status = "optimal" if len(chosen) <= bound else ("greedy" if method == "greedy" else "time_limit")
    selected = model._to_original(chosen)
    covered = model._covered_weight(selected)
    target_met = covered >= model.target_share * pr.total_weight - 1e-6 * max(pr.total_weight, 1.0)
    res = model._finish(selected, float(selected.size), covered, status, bound + n_forced, 0.0, t0,
                        bool(target_met), notes)
    return EngineResult(res, method, lag, hist)
