"""Exact siting solvers over a sparse coverage matrix.

The input is geography-free: a boolean matrix ``reach`` of shape
``(n_demand, n_candidates)`` with ``reach[i, j]`` true when candidate site ``j``
covers demand point ``i`` (within 500 m / 15 minutes), the population
``weights`` of the demand points, and ``covered_already`` for demand that an
existing facility already serves.

Two models, in the style of PySAL ``spopt`` (a class per model, ``solve`` returns
a result):

* :class:`SetCovering` (LSCP): fewest new sites reaching a population share.
* :class:`MaximalCovering` (MCLP): at most ``p`` new sites maximising coverage.

Both accept sites that must be opened (``forced``) and per-group minimums
(``group_of_candidate`` + ``group_min_new``, for the rule "each subdistrict needs
ceil(communities / 2) stations").  Problems are first shrunk by
:func:`reduce_problem` and then solved with HiGHS (``highspy``) as a MIP under a
time limit; a greedy solution is the fallback (it is not passed as a MIP start, see
:func:`_run_highs`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from coverage.errors import ValueInputError
from coverage.highs import new_highs
from coverage.ranges import concat_ranges

__all__ = [
    "MaximalCovering",
    "ReducedProblem",
    "SetCovering",
    "SolveResult",
    "rank_by_marginal_gain",
    "reduce_problem",
]

_SEED = 0x5EED_C0DE  # fixed: hashing and HiGHS runs are reproducible
#: Full covers with more matrix entries than this get a Lagrangian bound instead of HiGHS's LP
#: relaxation first (see ``SetCovering._mip``).
_LAGRANGE_NNZ = 2_000_000
_BLOOM_WORDS = 16  # 1024-bit column signatures for the subset pre-filter
_EXACT_CHUNK = 4_000_000  # membership queries per chunk in exact subset checks


# --------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------


def _as_reach(reach: object) -> sp.csr_matrix:
    """Canonical boolean CSR (sorted indices, no explicit zeros, no duplicates)."""
    if sp.issparse(reach):
        if reach.ndim != 2:
            raise ValueInputError("reach must be a 2-D (demand x candidates) matrix")
        mat = sp.csr_matrix(reach)
    else:
        arr = np.asarray(reach)
        if arr.ndim != 2:
            raise ValueInputError(f"reach must be a 2-D (demand x candidates) matrix, got {arr.ndim}-D")
        mat = sp.csr_matrix(arr)
    mat.sum_duplicates()
    mat.eliminate_zeros()
    out = sp.csr_matrix(
        (np.ones(mat.nnz, dtype=bool), mat.indices.astype(np.int32), mat.indptr.astype(np.int64)),
        shape=mat.shape,
    )
    out.has_sorted_indices = True
    return out


def _as_weights(weights: object, n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueInputError(f"weights must have one value per demand point ({n}), got shape {w.shape}")
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if bad.size:
        raise ValueInputError(
            f"population weight must be a finite number >= 0 (demand point {bad[0]} has "
            f"{w[bad[0]]}); fix or drop that point",
            row=int(bad[0]),
        )
    return w


def _as_mask(mask: object | None, n: int, name: str) -> np.ndarray:
    if mask is None:
        return np.zeros(n, dtype=bool)
    m = np.asarray(mask)
    if m.shape != (n,):
        raise ValueInputError(f"{name} must have one value per demand point ({n}), got shape {m.shape}")
    if m.dtype != bool:
        if not np.all(np.isin(m, (0, 1))):
            raise ValueInputError(f"{name} must be boolean (True/False or 1/0)")
        m = m.astype(bool)
    return m


def _as_forced(forced: Sequence[int] | np.ndarray | None, n_cand: int) -> np.ndarray:
    if forced is None:
        return np.zeros(0, dtype=np.int64)
    f = np.asarray(forced)
    if f.size == 0:
        return np.zeros(0, dtype=np.int64)
    if f.ndim != 1 or not np.issubdtype(f.dtype, np.integer):
        raise ValueInputError("forced must be a 1-D list of integer candidate indices")
    bad = f[(f < 0) | (f >= n_cand)]
    if bad.size:
        raise ValueInputError(f"forced candidate index {bad[0]} is out of range (there are {n_cand} candidates)")
    return np.unique(f).astype(np.int64)


def _as_groups(
    group_of_candidate: Sequence[int] | np.ndarray | None,
    group_min_new: Mapping[int, int] | None,
    n_cand: int,
    forced: np.ndarray,
) -> tuple[np.ndarray, dict[int, int]]:
    """Validate group arrays; return groups and the need left after ``forced``."""
    if group_of_candidate is None:
        if group_min_new:
            raise ValueInputError("group_min_new was given without group_of_candidate")
        return np.full(n_cand, -1, dtype=np.int64), {}
    g = np.asarray(group_of_candidate)
    if g.shape != (n_cand,):
        raise ValueInputError(f"group_of_candidate must have one value per candidate ({n_cand}), got shape {g.shape}")
    if (
        g.size
        and not np.issubdtype(g.dtype, np.integer)
        and (not np.all(np.isfinite(g)) or not np.all(g == np.round(g)))
    ):
        raise ValueInputError("group_of_candidate must hold integer group ids (-1 = no group)")
    g = g.astype(np.int64)
    if g.size and g.min() < -1:
        raise ValueInputError("group ids must be >= 0 (use -1 for a candidate in no group)")
    need: dict[int, int] = {}
    for key, k in (group_min_new or {}).items():
        if isinstance(k, bool) or not float(k).is_integer() or k < 0:
            raise ValueInputError(f"group {key}: minimum number of new sites must be an integer >= 0, got {k}")
        key_i, k = int(key), int(k)
        if key_i < 0:
            raise ValueInputError(f"group {key}: group ids must be >= 0")
        members = g == key_i
        n_members = int(members.sum())
        if n_members < k:
            raise ValueInputError(
                f"group {key} needs at least {k} new sites but has only {n_members} candidate "
                f"site(s); add candidates in that area or lower its minimum"
            )
        left = k - int(np.isin(np.flatnonzero(members), forced).sum())
        if left > 0:
            need[key_i] = left
    return g, need


# --------------------------------------------------------------------------
# reduction
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReducedProblem:
    """A covering problem shrunk to what matters for the choice of new sites.

    Attributes
    ----------
    reach : scipy.sparse.csr_matrix
        Boolean ``(n_demand_reduced, n_candidates_reduced)`` matrix.
    weights : numpy.ndarray
        Weight of each reduced demand row (sum of the merged original rows).
    candidates : numpy.ndarray
        Original candidate index of each reduced column.
    demand_row : numpy.ndarray
        For each original demand point, its reduced row, or -1 if dropped.
    forced : numpy.ndarray
        Original indices of sites that must be opened (not in ``reach``).
    group_of_candidate : numpy.ndarray
        Group id of each reduced column (-1 = none).
    group_need : dict
        New sites still required per group after the forced sites.
    unreachable : numpy.ndarray
        Boolean mask of original demand that is uncovered and that no candidate reaches.
    total_weight, existing_weight, forced_weight, unreachable_weight, reachable_weight : float
        Weight split: all demand; covered by existing facilities; newly covered by
        forced sites; out of reach of every candidate; left for the model.
        ``total = existing + forced + unreachable + reachable``.
    n_demand, n_candidates : int
        Sizes of the original problem.
    n_demand_active : int
        Demand rows left before merging identical rows.
    n_dominated : int
        Candidates dropped because another candidate covers a superset.
    """

    reach: sp.csr_matrix
    weights: np.ndarray
    candidates: np.ndarray
    demand_row: np.ndarray
    forced: np.ndarray
    group_of_candidate: np.ndarray
    group_need: dict[int, int]
    unreachable: np.ndarray
    total_weight: float
    existing_weight: float
    forced_weight: float
    unreachable_weight: float
    reachable_weight: float
    n_demand: int
    n_candidates: int
    n_demand_active: int
    n_dominated: int

    @property
    def n_demand_reduced(self) -> int:
        """Number of demand rows in the reduced model."""
        return int(self.reach.shape[0])

    @property
    def n_candidates_reduced(self) -> int:
        """Number of candidate columns in the reduced model."""
        return int(self.reach.shape[1])

    def summary(self) -> dict[str, float | int]:
        """Reduction sizes and weight split, for logs and reports."""
        return {
            "demand": self.n_demand,
            "demand_uncovered_reachable": self.n_demand_active,
            "demand_reduced": self.n_demand_reduced,
            "demand_unreachable": int(self.unreachable.sum()),
            "candidates": self.n_candidates,
            "candidates_forced": int(self.forced.size),
            "candidates_dominated": self.n_dominated,
            "candidates_reduced": self.n_candidates_reduced,
            "weight_total": self.total_weight,
            "weight_existing": self.existing_weight,
            "weight_forced": self.forced_weight,
            "weight_unreachable": self.unreachable_weight,
            "weight_reachable": self.reachable_weight,
        }


def _merge_identical_rows(b: sp.csr_matrix, w: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Merge rows with the same candidate set, summing their weights.

    Rows are keyed by two random 64-bit sums over their columns plus their length,
    then every merge is verified exactly (a hash collision just leaves rows unmerged).

    Returns
    -------
    merged, merged_weights, inverse
        ``inverse[r]`` is the merged row of input row ``r``.
    """
    m, n = b.shape
    if m == 0:
        return b, w, np.zeros(0, dtype=np.int64)
    lens = np.diff(b.indptr)
    assert lens.min() > 0, "rows must be non-empty before merging"
    rng = np.random.default_rng(_SEED)
    r1 = rng.integers(0, 2**64, size=n, dtype=np.uint64)
    r2 = rng.integers(0, 2**64, size=n, dtype=np.uint64)
    starts = b.indptr[:-1]
    keys = np.empty((m, 3), dtype=np.uint64)
    keys[:, 0] = np.add.reduceat(r1[b.indices], starts)  # wraps mod 2**64, on purpose
    keys[:, 1] = np.add.reduceat(r2[b.indices], starts)
    keys[:, 2] = lens
    order = np.lexsort(keys.T[::-1])
    sk = keys[order]
    new_group = np.ones(m, dtype=bool)
    new_group[1:] = np.any(sk[1:] != sk[:-1], axis=1)
    gid_sorted = np.cumsum(new_group) - 1
    rep_sorted = order[np.flatnonzero(new_group)][gid_sorted]  # first row in sort order
    rep = np.empty(m, dtype=np.int64)
    rep[order] = rep_sorted
    # exact check: every row equals its representative, entry by entry
    pos = concat_ranges(starts, lens)
    pos_rep = concat_ranges(b.indptr[rep], lens)
    mismatch = b.indices[pos] != b.indices[pos_rep]
    if mismatch.any():
        row_of_pos = np.repeat(np.arange(m), lens)
        rep[np.unique(row_of_pos[mismatch])] = np.unique(row_of_pos[mismatch])
    # number merged rows in order of first appearance
    reps, inverse = np.unique(rep, return_inverse=True)
    merged = b[reps]
    merged_w = np.bincount(inverse, weights=w, minlength=reps.size)
    return merged, merged_w, inverse.astype(np.int64)


def _subset_pairs(b: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """All pairs ``(j, k)`` of non-empty columns where ``k`` dominates ``j``.

    ``k`` dominates ``j`` when rows(j) is a strict subset of rows(k), or when the
    two sets are equal and ``k < j`` (so among identical columns the lowest index
    is never dominated; the relation is a strict partial order).

    Candidate pairs come from each column's shortest row (any superset of
    column ``j`` must appear there), are filtered by size and by 1024-bit Bloom
    signatures, and the survivors are checked exactly.
    """
    m, n = b.shape
    bc = b.tocsc()
    bc.sort_indices()
    colsize = np.diff(bc.indptr)
    rowsize = np.diff(b.indptr)
    nonempty = np.flatnonzero(colsize > 0)
    if nonempty.size < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    col_of_nz = np.repeat(np.arange(n), colsize)
    order = np.lexsort((rowsize[bc.indices], col_of_nz))
    pivot = bc.indices[order[bc.indptr[nonempty]]]
    lens = rowsize[pivot]
    j = np.repeat(nonempty, lens).astype(np.int64)
    k = b.indices[concat_ranges(b.indptr[pivot], lens)].astype(np.int64)
    keep = (k != j) & ((colsize[k] > colsize[j]) | ((colsize[k] == colsize[j]) & (k < j)))
    j, k = j[keep], k[keep]
    if j.size == 0:
        return j, k
    # Bloom signatures: a subset's bits are a subset of the superset's bits
    bits = np.random.default_rng(_SEED + 1).integers(0, 64 * _BLOOM_WORDS, size=m)
    word = (bits >> 6).astype(np.int64)
    val = np.left_shift(np.uint64(1), (bits & 63).astype(np.uint64))
    sig = np.zeros(n * _BLOOM_WORDS, dtype=np.uint64)
    np.bitwise_or.at(sig, col_of_nz * _BLOOM_WORDS + word[bc.indices], val[bc.indices])
    sig = sig.reshape(n, _BLOOM_WORDS)
    for wd in range(_BLOOM_WORDS):
        ok = (sig[j, wd] & ~sig[k, wd]) == 0
        j, k = j[ok], k[ok]
        if j.size == 0:
            return j, k
    # exact: every (row, k) for row in rows(j) is a nonzero of b
    keys = np.repeat(np.arange(m, dtype=np.int64), rowsize) * n + b.indices  # sorted (CSR)
    good = np.zeros(j.size, dtype=bool)
    qlen = colsize[j]
    bounds = np.searchsorted(np.cumsum(qlen), np.arange(0, int(qlen.sum()), _EXACT_CHUNK), side="right")
    bounds = np.unique(np.append(bounds, j.size))
    lo = 0
    for hi in bounds:
        if hi <= lo:
            continue
        jj, kk, ll = j[lo:hi], k[lo:hi], qlen[lo:hi]
        rows = bc.indices[concat_ranges(bc.indptr[jj], ll)].astype(np.int64)
        q = rows * n + np.repeat(kk, ll)
        at = np.searchsorted(keys, q)
        hit = keys[np.minimum(at, keys.size - 1)] == q
        good[lo:hi] = np.bincount(np.repeat(np.arange(hi - lo), ll), weights=hit, minlength=hi - lo) == ll
        lo = hi
    return j[good], k[good]


def _dominated_columns(b: sp.csr_matrix, groups: np.ndarray, need: Mapping[int, int]) -> np.ndarray:
    """Mask of columns that some optimal solution never needs.

    A column in a group with ``need`` new sites still required is dropped only when
    at least ``need`` columns *of the same group* dominate it; any other column is
    dropped when at least one column (of any group) dominates it.  Then in any
    solution a dropped column can be swapped for a dominator not yet chosen, or
    simply removed when all of them are chosen, without losing coverage, adding
    sites or breaking a group minimum; swaps climb the partial order, so they end
    on kept columns.
    """
    n = b.shape[1]
    eff = np.where(np.isin(groups, list(need.keys())), groups, -1) if need else np.full(n, -1)
    required = np.ones(n, dtype=np.int64)
    for g, k in need.items():
        required[eff == g] = k
    j, k = _subset_pairs(b)
    counted = (eff[j] < 0) | (eff[j] == eff[k])
    n_dom = np.bincount(j[counted], minlength=n)
    # empty columns are dominated by every non-empty column and by lower-index empty ones
    colsize = np.diff(b.tocsc().indptr)
    empty = np.flatnonzero(colsize == 0)
    if empty.size:
        n_dom[empty] = (n - empty.size) + np.arange(empty.size)
        for g in np.unique(eff[empty][eff[empty] >= 0]):
            in_g = empty[eff[empty] == g]
            n_dom[in_g] = int(np.sum((eff == g) & (colsize > 0))) + np.arange(in_g.size)
    return n_dom >= required


def reduce_problem(
    reach: object,
    weights: object,
    covered_already: object | None = None,
    *,
    forced: Sequence[int] | np.ndarray | None = None,
    group_of_candidate: Sequence[int] | np.ndarray | None = None,
    group_min_new: Mapping[int, int] | None = None,
) -> ReducedProblem:
    """Shrink a covering problem without changing its optimum.

    Steps: demand covered by existing facilities or by ``forced`` sites, and
    zero-weight demand, is dropped; uncovered demand no candidate reaches is set
    aside as ``unreachable`` (it can never make a model infeasible); demand rows
    with the same candidate set are merged (weights summed); candidates whose
    covered set is contained in another's are dropped (group-aware, see
    :func:`_dominated_columns`).  Forced sites leave the matrix.

    Parameters
    ----------
    reach : scipy.sparse matrix or array-like, shape (n_demand, n_candidates)
        ``reach[i, j]`` true when candidate ``j`` covers demand ``i``.
    weights : array-like, shape (n_demand,)
        Population of each demand point, finite and >= 0.
    covered_already : array-like of bool, shape (n_demand,), optional
        Demand already served by existing facilities.
    forced : array-like of int, optional
        Candidate indices that must be opened.
    group_of_candidate : array-like of int, shape (n_candidates,), optional
        Group (e.g. subdistrict) of each candidate, -1 for none.
    group_min_new : dict, optional
        ``{group: k}``: at least ``k`` new sites among that group's candidates.

    Returns
    -------
    ReducedProblem

    Raises
    ------
    coverage.errors.ValueInputError
        On malformed input, or a group with fewer candidates than its minimum.
    """
    a = _as_reach(reach)
    n_dem, n_cand = a.shape
    w = _as_weights(weights, n_dem)
    done = _as_mask(covered_already, n_dem, "covered_already")
    forced_idx = _as_forced(forced, n_cand)
    groups, need = _as_groups(group_of_candidate, group_min_new, n_cand, forced_idx)

    by_forced = (
        ~done & (np.asarray(a[:, forced_idx].sum(axis=1)).ravel() > 0) if forced_idx.size else np.zeros(n_dem, bool)
    )
    open_cols = np.ones(n_cand, dtype=bool)
    open_cols[forced_idx] = False
    left = ~done & ~by_forced & (w > 0)
    reachable = np.diff(a.indptr) > 0
    unreachable = left & ~reachable
    active = np.flatnonzero(left & reachable)

    cols = np.flatnonzero(open_cols)
    b = a[active][:, cols]  # active rows never touch forced columns: those rows were dropped
    merged, wm, inv = _merge_identical_rows(b, w[active])
    drop = _dominated_columns(merged, groups[cols], need)
    kept = np.flatnonzero(~drop)
    merged = merged[:, kept]
    # dropping columns can make rows identical: merge once more (rows stay non-empty)
    merged, wm, inv2 = _merge_identical_rows(merged, wm)
    demand_row = np.full(n_dem, -1, dtype=np.int64)
    demand_row[active] = inv2[inv] if inv.size else inv
    merged = sp.csr_matrix(merged)
    merged.sort_indices()
    return ReducedProblem(
        reach=merged,
        weights=wm,
        candidates=cols[kept],
        demand_row=demand_row,
        forced=forced_idx,
        group_of_candidate=groups[cols[kept]],
        group_need=need,
        unreachable=unreachable,
        total_weight=float(w.sum()),
        existing_weight=float(w[done].sum()),
        forced_weight=float(w[by_forced].sum()),
        unreachable_weight=float(w[unreachable].sum()),
        reachable_weight=float(w[active].sum()),
        n_demand=n_dem,
        n_candidates=n_cand,
        n_demand_active=int(active.size),
        n_dominated=int(drop.sum()),
    )


# --------------------------------------------------------------------------
# greedy heuristics (on the reduced problem)
# --------------------------------------------------------------------------


class _Greedy:
    """Incremental greedy state over a reduced matrix.

    ``value`` drives the choice (population for MCLP / partial cover, one per row
    for full cover, whose ln-guarantee is in rows); ``weights`` are tracked for
    the stopping rule.
    """

    def __init__(self, b: sp.csr_matrix, weights: np.ndarray, value: np.ndarray):
        self.b = b
        self.bc = b.tocsc()
        self.w = weights
        self.value = value
        self.covered = np.zeros(b.shape[0], dtype=bool)
        self.gain = np.asarray(self.bc.T @ value, dtype=np.float64).ravel()
        self.chosen: list[int] = []
        self.is_chosen = np.zeros(b.shape[1], dtype=bool)
        self.covered_weight = 0.0
        self.n_uncovered = b.shape[0]
        self.rowlen = np.diff(b.indptr)

    def add(self, j: int) -> None:
        rows = self.bc.indices[self.bc.indptr[j] : self.bc.indptr[j + 1]]
        new = rows[~self.covered[rows]]
        self.chosen.append(int(j))
        self.is_chosen[j] = True
        if new.size == 0:
            return
        self.covered[new] = True
        self.covered_weight += float(self.w[new].sum())
        self.n_uncovered -= new.size
        lens = self.rowlen[new]
        cols = self.b.indices[concat_ranges(self.b.indptr[new], lens)]
        self.gain -= np.bincount(cols, weights=np.repeat(self.value[new], lens), minlength=self.gain.size)

    def best(self, eligible: np.ndarray | None = None) -> tuple[int, float]:
        if self.gain.size == 0:
            return -1, -math.inf
        g = np.where(self.is_chosen, -np.inf, self.gain)
        if eligible is not None:
            g = np.where(eligible, g, -np.inf)
        j = int(np.argmax(g))
        return j, float(g[j])


def _greedy(
    b: sp.csr_matrix,
    weights: np.ndarray,
    groups: np.ndarray,
    need: Mapping[int, int],
    *,
    max_sites: int | None,
    required: float | None,
    full_cover: bool,
    initial: Sequence[int] = (),
) -> tuple[list[int], int]:
    """Greedy selection: fill group minimums first, then best gain until done.

    Returns the chosen reduced columns (selection order) and how many were chosen
    by the unconstrained greedy phase from scratch (for guarantee-based bounds).
    """
    value = np.ones_like(weights) if full_cover else weights
    st = _Greedy(b, weights, value)
    for j in initial:
        st.add(int(j))
    tol = 1e-9 * max(float(weights.sum()), 1.0)
    # group minimums first: best gain among groups still short
    left = {g: k - int(np.sum(st.is_chosen & (groups == g))) for g, k in need.items()}
    while any(v > 0 for v in left.values()):
        short = np.isin(groups, [g for g, v in left.items() if v > 0])
        j, _ = st.best(short)
        st.add(j)
        left[int(groups[j])] -= 1

    def unfinished() -> bool:
        if max_sites is not None and len(st.chosen) >= max_sites:
            return False
        if full_cover:
            return st.n_uncovered > 0
        if required is not None:
            return st.covered_weight < required - tol
        return True

    while unfinished():
        j, g = st.best()
        if not g > 1e-12:
            break
        st.add(j)
    return st.chosen, len(st.chosen)


def _prune(
    b: sp.csr_matrix,
    weights: np.ndarray,
    groups: np.ndarray,
    need: Mapping[int, int],
    chosen: Sequence[int],
    required: float | None,
) -> list[int]:
    """Drop chosen sites (latest first) that are not needed.

    With ``required`` None a site may go only if no demand loses coverage (MCLP:
    zero marginal gain); otherwise while the covered weight stays >= ``required``.
    Group minimums are kept.
    """
    chosen = [int(j) for j in chosen]
    if not chosen:
        return chosen
    bc = b.tocsc()
    cnt = np.asarray(bc[:, chosen].sum(axis=1)).ravel()
    covered_w = float(weights[cnt > 0].sum())
    tol = 1e-9 * max(float(weights.sum()), 1.0)
    in_group = {g: int(np.sum(groups[chosen] == g)) for g in need}
    dropped: set[int] = set()
    for j in reversed(chosen):
        g = int(groups[j])
        if g in need and in_group[g] <= need[g]:
            continue
        rows = bc.indices[bc.indptr[j] : bc.indptr[j + 1]]
        lost = rows[cnt[rows] == 1]
        loss = float(weights[lost].sum())
        ok = lost.size == 0 if required is None else covered_w - loss >= required - tol
        if ok:
            dropped.add(j)
            cnt[rows] -= 1
            covered_w -= loss
            if g in need:
                in_group[g] -= 1
    return [j for j in chosen if j not in dropped]


# --------------------------------------------------------------------------
# HiGHS
# --------------------------------------------------------------------------


@dataclass
class _MipOutcome:
    status: str
    x: np.ndarray | None  # reduced columns chosen (bool), None without a solution
    objective: float
    bound: float


_STATUS_NAMES = {
    "kOptimal": "optimal",
    "kTimeLimit": "time_limit",
    "kInterrupt": "interrupted",
    "kHighsInterrupt": "interrupted",
    "kIterationLimit": "iteration_limit",
    "kSolutionLimit": "solution_limit",
    "kMemoryLimit": "memory_limit",
    "kInfeasible": "infeasible",
    "kUnknown": "unknown",
}


def _cover_rows(b: sp.csr_matrix, with_y: bool) -> sp.csr_matrix:
    m = b.shape[0]
    if not with_y:
        return sp.csr_matrix(b, dtype=np.float64)
    return sp.hstack([sp.csr_matrix(b, dtype=np.float64), -sp.identity(m, format="csr")], format="csr")


def _group_rows(groups: np.ndarray, need: Mapping[int, int], n_cols_total: int) -> tuple[sp.csr_matrix, np.ndarray]:
    keys = sorted(need)
    if not keys:
        return sp.csr_matrix((0, n_cols_total)), np.zeros(0)
    row_of = {g: r for r, g in enumerate(keys)}
    cols = np.flatnonzero(np.isin(groups, keys))
    rows = np.array([row_of[int(g)] for g in groups[cols]], dtype=np.int64)
    mat = sp.csr_matrix((np.ones(cols.size), (rows, cols)), shape=(len(keys), n_cols_total))
    return mat, np.array([need[g] for g in keys], dtype=np.float64)


def _weight_of(b: sp.csr_matrix, w: np.ndarray, chosen: Sequence[int]) -> float:
    """Reduced weight covered by reduced columns ``chosen``."""
    if len(chosen) == 0:
        return 0.0
    hit = np.asarray(b[:, np.asarray(chosen, dtype=np.int64)].sum(axis=1)).ravel() > 0
    return float(w[hit].sum())


def _highs_model(a: sp.csc_matrix, sense_max: bool, cost: np.ndarray, upper: np.ndarray, integer: np.ndarray,
                 row_lower: np.ndarray, row_upper: np.ndarray, time_limit: float) -> object:
    """A silent HiGHS instance holding the column-wise model (``integer`` all zero: its LP relaxation)."""
    import highspy

    n_col, n_row = a.shape[1], a.shape[0]
    h = new_highs()  # silent, seeded with _SEED % 2**31 (coverage.highs.SEED)
    h.setOptionValue("time_limit", float(max(time_limit, 1e-3)))
    status = h.passModel(
        n_col,
        n_row,
        int(a.nnz),
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMaximize if sense_max else highspy.ObjSense.kMinimize),
        0.0,
        np.asarray(cost, dtype=np.float64),
        np.zeros(n_col),
        np.asarray(upper, dtype=np.float64),
        np.asarray(row_lower, dtype=np.float64),
        np.asarray(row_upper, dtype=np.float64),
        a.indptr.astype(np.int32),
        a.indices.astype(np.int32),
        a.data,
        np.asarray(integer).astype(np.int32),
    )
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS rejected the covering model")
    return h


def _finite_or_nan(v: float) -> float:
    return float(v) if np.isfinite(v) and abs(v) < 1e30 else math.nan


def _run_highs(
    *,
    sense_max: bool,
    cost: np.ndarray,
    upper: np.ndarray,
    integer: np.ndarray,
    rows: sp.csr_matrix,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    n_x: int,
    time_limit: float,
    mip_rel_gap: float,
    lp_first: bool = True,
) -> _MipOutcome:
    """Solve a covering model with HiGHS: its LP relaxation first, then the MIP if needed.

    The LP relaxation is solved by interior point with crossover (a vertex). Covering
    LPs are often integral (the maximal coverings of ``benchmarks/bench_siting.py``
    were); an integral LP optimum is the MIP optimum, proven, without presolve or
    branch and bound (measured: 0.2 s instead of 1.0 s on a 1,751 × 470 maximal
    covering). When it is fractional, its objective is a valid bound, kept if the
    MIP stops before its root. The LP may use at most a third of the time limit;
    ``lp_first=False`` skips it (set covers too large for it get a Lagrangian bound
    from the caller instead).

    No MIP start is passed: HiGHS 1.16 maps a user start into its presolved
    space and, when that mapped start is the best solution it ends with, returns
    the ORIGINAL start vector next to the objective of the better presolved one
    (seen on random geometric set covers: 179 sites returned, 171 reported). The
    greedy solution stays the caller's fallback instead. Every vector HiGHS
    returns is checked against its rows and its claimed objective, and dropped
    (``x`` None) if it fails.
    """
    import highspy

    deadline = time.perf_counter() + time_limit
    a = sp.csc_matrix(rows, dtype=np.float64)
    a.sort_indices()
    cost = np.asarray(cost, dtype=np.float64)

    lp_bound = math.nan
    lp = None
    if lp_first:
        lp = _highs_model(a, sense_max, cost, upper, np.zeros(a.shape[1]), row_lower, row_upper, time_limit / 3)
        lp.setOptionValue("solver", "ipm")
        lp.run()
    if lp is not None and lp.getModelStatus() == highspy.HighsModelStatus.kOptimal:
        lp_obj = float(lp.getInfo().objective_function_value)
        values = np.asarray(lp.getSolution().col_value, dtype=np.float64)
        if _consistent(values, a, cost, row_lower, row_upper, integer, lp_obj):  # integral, feasible
            return _MipOutcome("optimal", values[:n_x] > 0.5, lp_obj, lp_obj)
        lp_bound = lp_obj

    h = _highs_model(a, sense_max, cost, upper, integer, row_lower, row_upper, deadline - time.perf_counter())
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.run()
    ms = h.getModelStatus()
    name = _STATUS_NAMES.get(ms.name, ms.name.removeprefix("k").lower())
    if name == "infeasible":
        raise RuntimeError("HiGHS reports the covering model infeasible; input checks missed a case")
    info = h.getInfo()
    has_solution = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    x = None
    if has_solution:
        values = np.asarray(h.getSolution().col_value, dtype=np.float64)
        if _consistent(values, a, cost, row_lower, row_upper, integer, float(info.objective_function_value)):
            x = values[:n_x] > 0.5
    bound = _finite_or_nan(info.mip_dual_bound)
    if math.isnan(bound) or (not math.isnan(lp_bound) and (lp_bound < bound if sense_max else lp_bound > bound)):
        bound = lp_bound
    return _MipOutcome(name, x, float(info.objective_function_value), bound)


def _consistent(values: np.ndarray, a: sp.csc_matrix, cost: np.ndarray, row_lower: np.ndarray,
                row_upper: np.ndarray, integer: np.ndarray, claimed: float, tol: float = 1e-6) -> bool:
    """Whether a solver's vector is integral where asked, satisfies the rows and has the claimed objective."""
    ints = values[np.asarray(integer, dtype=bool)]
    if np.any(np.abs(ints - np.round(ints)) > tol):
        return False
    act = a @ values
    scale = 1.0 + np.abs(act)
    if np.any(act < np.asarray(row_lower) - tol * scale) or np.any(act > np.asarray(row_upper) + tol * scale):
        return False
    return abs(float(cost @ values) - claimed) <= tol * max(1.0, abs(claimed))


# --------------------------------------------------------------------------
# results and models
# --------------------------------------------------------------------------


@dataclass
class SolveResult:
    """Outcome of a siting model.

    Attributes
    ----------
    selected : numpy.ndarray
        ORIGINAL candidate indices of the new sites (forced ones included), sorted.
    objective : float
        LSCP: number of new sites.  MCLP: weight newly covered by the new sites.
    covered_weight : float
        Weight covered after opening ``selected`` (existing facilities included).
    covered_share : float
        ``covered_weight / total weight`` (1.0 when there is no weight at all).
    status : str
        ``"optimal"`` (proven), ``"time_limit"`` (HiGHS incumbent, gap below),
        ``"greedy"`` (greedy solution returned), or another HiGHS status name.
    gap : float
        Proven relative gap ``|objective - bound| / |objective|``; 0 when optimal.
    bound : float
        Best proven bound on ``objective`` (LSCP lower, MCLP upper); NaN if none.
    solve_seconds : float
        Wall time of ``solve`` (reduction done at construction excluded).
    n_demand_reduced, n_candidates_reduced : int
        Size of the model actually solved.
    unreachable_weight : float
        Uncovered weight that no candidate reaches.
    target_met : bool or None
        LSCP: whether ``target_share`` was reached; MCLP: None.
    achievable_share : float
        Largest share any choice of candidates could cover.
    message : str
        Plain-language notes (target not reachable, fallback used, ...).
    """

    selected: np.ndarray
    objective: float
    covered_weight: float
    covered_share: float
    status: str
    gap: float
    bound: float
    solve_seconds: float
    n_demand_reduced: int
    n_candidates_reduced: int
    unreachable_weight: float
    target_met: bool | None
    achievable_share: float = 1.0
    message: str = ""


def _check_solve_args(time_limit: float, mip_rel_gap: float, solver: str) -> None:
    if not (isinstance(time_limit, (int, float)) and time_limit > 0 and math.isfinite(time_limit)):
        raise ValueInputError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    if not (isinstance(mip_rel_gap, (int, float)) and 0 <= mip_rel_gap < 1):
        raise ValueInputError(f"mip_rel_gap must be in [0, 1), got {mip_rel_gap!r}")
    if solver not in ("highs", "greedy"):
        raise ValueInputError(f"solver must be 'highs' or 'greedy', got {solver!r}")


def _rel_gap(objective: float, bound: float) -> float:
    if math.isnan(bound):
        return math.inf
    diff = abs(objective - bound)
    if diff <= 1e-9 * max(1.0, abs(objective)):
        return 0.0
    return diff / abs(objective) if objective != 0 else math.inf


def _report_gap(status: str, objective: float, bound: float, mip_rel_gap: float) -> float:
    """Proven gap; exactly 0 for an optimum proven at zero tolerance."""
    if status == "optimal" and (mip_rel_gap == 0 or math.isnan(bound)):
        return 0.0
    return _rel_gap(objective, bound)


class _CoveringModel:
    """Shared input handling, evaluation and result assembly."""

    def __init__(
        self,
        reach: object,
        weights: object,
        covered_already: object | None = None,
        *,
        forced: Sequence[int] | np.ndarray | None = None,
        group_of_candidate: Sequence[int] | np.ndarray | None = None,
        group_min_new: Mapping[int, int] | None = None,
    ):
        self.reach = _as_reach(reach)
        self.weights = _as_weights(weights, self.reach.shape[0])
        self.covered_already = _as_mask(covered_already, self.reach.shape[0], "covered_already")
        self.problem = reduce_problem(
            self.reach,
            self.weights,
            self.covered_already,
            forced=forced,
            group_of_candidate=group_of_candidate,
            group_min_new=group_min_new,
        )
        self.result: SolveResult | None = None

    # evaluation always on the ORIGINAL data, independent of the reduction
    def _covered_weight(self, selected: np.ndarray) -> float:
        hit = self.covered_already.copy()
        if selected.size:
            hit |= np.asarray(self.reach[:, selected].sum(axis=1)).ravel() > 0
        return float(self.weights[hit].sum())

    def _to_original(self, chosen: Sequence[int]) -> np.ndarray:
        pr = self.problem
        sel = np.concatenate([pr.forced, pr.candidates[np.asarray(list(chosen), dtype=np.int64)]])
        return np.unique(sel).astype(np.int64)

    def _share(self, weight: float) -> float:
        total = self.problem.total_weight
        return weight / total if total > 0 else 1.0

    @property
    def _achievable_share(self) -> float:
        pr = self.problem
        return self._share(pr.total_weight - pr.unreachable_weight)

    def _finish(self, selected: np.ndarray, objective: float, covered: float, status: str, bound: float,
                mip_rel_gap: float, t0: float, target_met: bool | None, notes: list[str]) -> SolveResult:
        """Report the gap, store and return the result (the same for both models)."""
        gap = _report_gap(status, objective, bound, mip_rel_gap)
        if gap == 0.0:
            status = "optimal"
        pr = self.problem
        self.result = SolveResult(
            selected=selected,
            objective=objective,
            covered_weight=covered,
            covered_share=self._share(covered),
            status=status,
            gap=gap,
            bound=bound,
            solve_seconds=time.perf_counter() - t0,
            n_demand_reduced=pr.n_demand_reduced,
            n_candidates_reduced=pr.n_candidates_reduced,
            unreachable_weight=pr.unreachable_weight,
            target_met=target_met,
            achievable_share=self._achievable_share,
            message="; ".join(notes),
        )
        return self.result


class SetCovering(_CoveringModel):
    """Location set covering (LSCP): fewest new sites reaching a coverage target.

    The target is ``target_share`` of the TOTAL weight (existing coverage and
    unreachable demand included).  With ``target_share`` 1 (and all demand
    reachable) every demand row must be covered; below 1 it is a partial
    covering model (continuous ``y_i`` for covered demand, ``sum w_i y_i >=
    required``).  If unreachable demand makes the target impossible, all
    reachable demand is covered and ``target_met`` is False.

    Ties between minimum-count solutions are broken lexicographically: a second
    MIP fixes the count at the optimum and maximises covered weight.  An epsilon
    weight in one objective was rejected: it makes the objective fractional (HiGHS
    can no longer round its bound up to the next integer, which is what closes
    set-covering gaps) and below ~1e-6 it drowns in solver tolerances.

    Parameters
    ----------
    reach, weights, covered_already, forced, group_of_candidate, group_min_new
        See :func:`reduce_problem`.
    target_share : float, default 1.0
        Share of total weight to cover, in [0, 1].
    """

    def __init__(
        self,
        reach: object,
        weights: object,
        covered_already: object | None = None,
        *,
        target_share: float = 1.0,
        forced: Sequence[int] | np.ndarray | None = None,
        group_of_candidate: Sequence[int] | np.ndarray | None = None,
        group_min_new: Mapping[int, int] | None = None,
    ):
        if not (isinstance(target_share, (int, float)) and 0.0 <= target_share <= 1.0):
            raise ValueInputError(f"target_share must be between 0 and 1, got {target_share!r}")
        self.target_share = float(target_share)
        super().__init__(
            reach,
            weights,
            covered_already,
            forced=forced,
            group_of_candidate=group_of_candidate,
            group_min_new=group_min_new,
        )

    def _requirement(self) -> tuple[float, bool, bool]:
        """(weight the reduced model must cover, full cover?, target reachable?)."""
        pr = self.problem
        tol = 1e-9 * max(pr.total_weight, 1.0)
        need_new = self.target_share * pr.total_weight - pr.existing_weight - pr.forced_weight
        if need_new <= tol:
            return 0.0, False, True
        if need_new > pr.reachable_weight + tol:
            return pr.reachable_weight, True, False
        if need_new >= pr.reachable_weight - tol:
            return pr.reachable_weight, True, True
        return need_new, False, True

    def solve(self, time_limit: float = 60, mip_rel_gap: float = 0.0, solver: str = "highs") -> SolveResult:
        """Solve the model.

        Parameters
        ----------
        time_limit : float, default 60
            Seconds for the whole solve (both lexicographic stages).
        mip_rel_gap : float, default 0.0
            Relative gap at which HiGHS may stop.
        solver : {"highs", "greedy"}
            ``"greedy"`` skips the MIP.

        Returns
        -------
        SolveResult
        """
        _check_solve_args(time_limit, mip_rel_gap, solver)
        t0 = time.perf_counter()
        pr = self.problem
        b, w, groups, need = pr.reach, pr.weights, pr.group_of_candidate, pr.group_need
        required, full, reachable = self._requirement()
        notes: list[str] = []
        if not reachable:
            notes.append(
                f"target {self.target_share:.1%} cannot be met: {pr.unreachable_weight:g} people are "
                f"out of reach of every candidate; all reachable demand is covered instead"
            )
        trivial = required <= 0 and not need
        if trivial or (b.shape[0] == 0 and not need):
            chosen: list[int] = []
            status, bound = "optimal", 0.0
        else:
            raw, n_raw = _greedy(b, w, groups, need, max_sites=None, required=required, full_cover=full)
            greedy_sel = _prune(b, w, groups, need, raw, None if full else required)
            cheap = self._cheap_bound(required, full, n_raw)
            if solver == "greedy":
                chosen, status, bound = greedy_sel, "greedy", cheap
            else:
                chosen, status, bound = self._mip(
                    required, full, greedy_sel, cheap, t0 + time_limit, mip_rel_gap, notes
                )
                if status == "greedy":
                    notes.append("HiGHS found no better solution in time; greedy solution returned")
        if full and status != "optimal":
            # unproven full cover: residents with pairwise disjoint candidate sets each need a site
            bound = max(bound, float(_packing_bound(b)))
        n_forced = pr.forced.size
        selected = self._to_original(chosen)
        objective = float(selected.size)
        bound = bound + n_forced if not math.isnan(bound) else bound
        covered = self._covered_weight(selected)
        target_met = covered >= self.target_share * pr.total_weight - 1e-6 * max(pr.total_weight, 1.0)
        return self._finish(selected, objective, covered, status, bound, mip_rel_gap, t0, bool(target_met), notes)

    def _cheap_bound(self, required: float, full: bool, n_raw_greedy: int) -> float:
        """Lower bound on the site count without an LP.

        Any k sites cover at most the k largest column weights; group minimums
        add up; without groups, full-cover greedy is within H(max column size).
        """
        pr = self.problem
        b, w = pr.reach, pr.weights
        bound = float(sum(pr.group_need.values()))
        if required > 0 and b.shape[1]:
            colw = np.sort(np.asarray(b.tocsc().T @ w).ravel())[::-1]
            k = int(np.searchsorted(np.cumsum(colw), required - 1e-9 * max(required, 1.0))) + 1
            bound = max(bound, float(min(k, b.shape[1])))
            if full and not pr.group_need:
                d = int(np.diff(b.tocsc().indptr).max())
                harmonic = float(np.sum(1.0 / np.arange(1, d + 1)))
                bound = max(bound, float(math.ceil(n_raw_greedy / harmonic - 1e-9)))
        return bound

    def _mip(
        self,
        required: float,
        full: bool,
        greedy_sel: list[int],
        cheap: float,
        deadline: float,
        mip_rel_gap: float,
        notes: list[str],
    ) -> tuple[list[int], str, float]:
        pr = self.problem
        b, w, groups, need = pr.reach, pr.weights, pr.group_of_candidate, pr.group_need
        with_y = not full
        # full cover: a row whose candidate set contains another row's set is covered whenever that
        # row is; dropping such rows leaves the same feasible sites and a much smaller MIP
        cover = _drop_superset_rows(b) if full else b
        m, n = cover.shape
        n_var = n + (m if with_y else 0)
        gmat, gneed = _group_rows(groups, need, n_var)
        blocks = [_cover_rows(cover, with_y), gmat]
        lower = [np.full(m, 0.0 if with_y else 1.0), gneed]
        upper = [np.full(m, np.inf), np.full(gneed.size, np.inf)]
        if with_y and required > 0:
            blocks.append(sp.csr_matrix(np.concatenate([np.zeros(n), w])[None, :]))
            lower.append(np.array([required]))
            upper.append(np.array([np.inf]))
        rows = sp.vstack(blocks, format="csr")
        bound = cheap
        # a full cover this big: HiGHS's interior point LP does not finish in its share of the time
        # (97k × 49k, 5.4M entries: not in 120 s); the Lagrangian bound reached 895 in 5 s and 900.5 in
        # 9 s there (the LP value is at least 911.9, where 86 s of the same ascent got)
        big = full and cover.nnz > _LAGRANGE_NNZ
        if big:
            lag = _lagrangian_bound(cover, len(greedy_sel), time.perf_counter() + (deadline - time.perf_counter()) / 4)
            bound = max(bound, float(math.ceil(lag - 1e-6)))
            if len(greedy_sel) <= bound:
                return greedy_sel, "optimal", bound
        out = _run_highs(
            sense_max=False,
            cost=np.concatenate([np.ones(n), np.zeros(n_var - n)]),
            upper=np.ones(n_var),
            integer=np.concatenate([np.ones(n), np.zeros(n_var - n)]),
            rows=rows,
            row_lower=np.concatenate(lower),
            row_upper=np.concatenate(upper),
            n_x=n,
            time_limit=deadline - time.perf_counter(),
            mip_rel_gap=mip_rel_gap,
            lp_first=not big,
        )
        if not math.isnan(out.bound):
            bound = max(bound, float(math.ceil(out.bound - 1e-6)))
        fallback = "optimal" if len(greedy_sel) <= bound else "greedy"
        if out.x is None:
            return greedy_sel, fallback, bound
        chosen = _prune(b, w, groups, need, list(np.flatnonzero(out.x)), None if full else required)
        status = out.status
        if status != "optimal" and len(chosen) >= len(greedy_sel):
            # no incumbent better than greedy: report greedy
            return greedy_sel, fallback, bound
        if with_y and chosen and status == "optimal":
            # stage 2: same count, most covered weight (tie-break, best effort in the time left)
            left = deadline - time.perf_counter()
            tie_note = "tie-break on covered population not proven optimal (time limit)"
            if left > 0.01:
                better, out2 = _mclp_mip(b, w, groups, need, len(chosen), left, mip_rel_gap)
                if better is not None and _weight_of(b, w, better) > _weight_of(b, w, chosen):
                    chosen = _prune(b, w, groups, need, better, None)
                if out2.status != "optimal":
                    notes.append(tie_note)
            else:
                notes.append(tie_note)
        return chosen, status, bound


def _packing_bound(b: sp.csr_matrix) -> int:
    """Size of a set of rows with pairwise disjoint candidate sets: a lower bound on any full cover.

    Rows are taken greedily, fewest candidates first (on a line of villages this
    finds the optimum). Linear in the matrix size; used when the MIP did not
    prove its answer, to report an honest gap.
    """
    b = sp.csr_matrix(b)
    used = np.zeros(b.shape[1], dtype=bool)
    count = 0
    for i in np.argsort(np.diff(b.indptr), kind="stable"):
        cols = b.indices[b.indptr[i]:b.indptr[i + 1]]
        if cols.size and not used[cols].any():
            used[cols] = True
            count += 1
    return count


def _lagrangian_bound(b: sp.csr_matrix, target: float, deadline: float, max_iter: int = 5000) -> float:
    """Lower bound on the size of any full cover of ``b``, by Lagrangian relaxation of its rows.

    For prices ``u >= 0`` on the rows, ``L(u) = sum(u) + sum_j min(0, 1 - (Bᵀu)_j)``
    is at most the optimum (a cover pays 1 per site and earns at least ``sum(u)``).
    The start ``u_i = min over the row's candidates of 1 / |column|`` is dual
    feasible, so ``L = sum(u)``; subgradient steps (Polyak's rule aimed at
    ``target``, the step halved after 20 without progress) climb towards the LP
    bound. Anytime: the best ``L`` reached by ``deadline``, after ``max_iter`` steps,
    or once it proves ``target`` optimal. Two sparse products per step, so it
    bounds covers too large for the LP relaxation to finish in time.
    """
    b = sp.csr_matrix(b, dtype=np.float64, copy=True)
    b.data[:] = 1.0
    if b.shape[0] == 0:
        return 0.0
    if np.any(np.diff(b.indptr) == 0):
        raise ValueError("a row without candidates has no cover (reduce_problem removes such rows)")
    bt = b.T.tocsr()
    inv = 1.0 / np.maximum(np.diff(bt.indptr), 1)
    u = np.minimum.reduceat(inv[b.indices], b.indptr[:-1])
    best = float(u.sum())
    step, stall = 2.0, 0
    for _ in range(max_iter):
        if time.perf_counter() > deadline or math.ceil(best - 1e-6) >= target or step < 1e-3:
            break
        reduced = 1.0 - bt @ u
        take = reduced < 0  # the relaxation opens every site with a negative reduced cost
        value = float(u.sum() + reduced[take].sum())
        if value > best + 1e-9 * max(1.0, abs(best)):
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 20:
                step, stall = step / 2, 0
        g = 1.0 - b @ take.astype(np.float64)  # rows left uncovered (> 0) or covered twice (< 0)
        g[(u <= 0) & (g < 0)] = 0.0
        norm = float(g @ g)
        if norm == 0.0:
            break  # the relaxed sites cover every row exactly once: L(u) is the optimum
        u = np.maximum(u + step * (target - value) / norm * g, 0.0)
    return best


def _drop_superset_rows(b: sp.csr_matrix, max_work: float = 5e7) -> sp.csr_matrix:
    """Rows of a covering matrix that do not strictly contain another row's candidate set.

    Identical rows were merged by :func:`reduce_problem`, so only strict
    supersets are dropped. The pairwise overlaps ``B Bᵀ`` are computed in row
    chunks; when their total size would exceed ``max_work`` entries the matrix
    is returned unchanged (the reduction is an optimisation, never required).
    """
    b = b.tocsr().astype(np.int32)
    b.data[:] = 1
    colcount = np.diff(b.tocsc().indptr).astype(np.float64)
    if float((colcount ** 2).sum()) > max_work or b.shape[0] < 2:
        return b
    bt = b.T.tocsr()
    sizes = np.diff(b.indptr)
    drop = np.zeros(b.shape[0], dtype=bool)
    chunk = 4096
    for start in range(0, b.shape[0], chunk):
        g = (b[start:start + chunk] @ bt).tocoo()
        i = g.row + start
        j = g.col
        # S_j ⊂ S_i strictly  <=>  |S_i ∩ S_j| == |S_j| < |S_i|
        hit = (g.data == sizes[j]) & (sizes[j] < sizes[i])
        drop[i[hit]] = True
    return b[~drop]


def _mclp_mip(
    b: sp.csr_matrix,
    w: np.ndarray,
    groups: np.ndarray,
    need: Mapping[int, int],
    p: int,
    time_limit: float,
    mip_rel_gap: float,
) -> tuple[list[int] | None, _MipOutcome]:
    """Max covered weight with at most ``p`` sites (group minimums kept).

    Returns the chosen reduced columns (None without an incumbent) and the outcome.
    """
    m, n = b.shape
    gmat, gneed = _group_rows(groups, need, n + m)
    card = sp.csr_matrix(np.concatenate([np.ones(n), np.zeros(m)])[None, :])
    rows = sp.vstack([_cover_rows(b, True), gmat, card], format="csr")
    out = _run_highs(
        sense_max=True,
        cost=np.concatenate([np.zeros(n), w]),
        upper=np.ones(n + m),
        integer=np.concatenate([np.ones(n), np.zeros(m)]),
        rows=rows,
        row_lower=np.concatenate([np.zeros(m), gneed, [-np.inf]]),
        row_upper=np.concatenate([np.full(m, np.inf), np.full(gneed.size, np.inf), [float(p)]]),
        n_x=n,
        time_limit=time_limit,
        mip_rel_gap=mip_rel_gap,
    )
    chosen = None if out.x is None else [int(j) for j in np.flatnonzero(out.x)]
    return chosen, out


class MaximalCovering(_CoveringModel):
    """Maximal covering location (MCLP): at most ``p`` new sites, most weight covered.

    Among solutions with the best coverage, sites that add nothing are dropped
    afterwards (unless needed for a group minimum), so fewer than ``p`` sites may
    be returned.

    Parameters
    ----------
    reach, weights, covered_already, forced, group_of_candidate, group_min_new
        See :func:`reduce_problem`.
    p : int
        Maximum number of new sites, forced ones included.
    """

    def __init__(
        self,
        reach: object,
        weights: object,
        covered_already: object | None = None,
        *,
        p: int,
        forced: Sequence[int] | np.ndarray | None = None,
        group_of_candidate: Sequence[int] | np.ndarray | None = None,
        group_min_new: Mapping[int, int] | None = None,
    ):
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 0:
            raise ValueInputError(f"p (number of new sites) must be an integer >= 0, got {p!r}")
        self.p = int(p)
        super().__init__(
            reach,
            weights,
            covered_already,
            forced=forced,
            group_of_candidate=group_of_candidate,
            group_min_new=group_min_new,
        )
        pr = self.problem
        least = pr.forced.size + sum(pr.group_need.values())
        if least > self.p:
            raise ValueInputError(
                f"p = {self.p} new sites is too few: forced sites and group minimums already "
                f"need {least}; raise p or lower the minimums"
            )

    def solve(self, time_limit: float = 60, mip_rel_gap: float = 0.0, solver: str = "highs") -> SolveResult:
        """Solve the model.

        Parameters
        ----------
        time_limit : float, default 60
            Seconds for HiGHS.
        mip_rel_gap : float, default 0.0
            Relative gap at which HiGHS may stop.
        solver : {"highs", "greedy"}
            ``"greedy"`` skips the MIP.

        Returns
        -------
        SolveResult
        """
        _check_solve_args(time_limit, mip_rel_gap, solver)
        t0 = time.perf_counter()
        pr = self.problem
        b, w, groups, need = pr.reach, pr.weights, pr.group_of_candidate, pr.group_need
        p_new = self.p - pr.forced.size
        notes: list[str] = []
        if p_new >= b.shape[1]:
            # every remaining candidate fits: all reachable demand is covered
            chosen = _prune(b, w, groups, need, list(range(b.shape[1])), None)
            status, bound_new = "optimal", pr.reachable_weight
        else:
            raw, n_raw = _greedy(b, w, groups, need, max_sites=p_new, required=None, full_cover=False)
            greedy_sel = _prune(b, w, groups, need, raw, None)
            greedy_val = _weight_of(b, w, greedy_sel)
            cheap = self._cheap_bound(greedy_val, n_raw, p_new)
            if solver == "greedy" or b.shape[0] == 0:
                chosen, status, bound_new = greedy_sel, "greedy", cheap
                if b.shape[0] == 0 or greedy_val >= pr.reachable_weight - 1e-9 * max(pr.total_weight, 1):
                    status = "optimal"
            else:
                sel, out = _mclp_mip(
                    b,
                    w,
                    groups,
                    need,
                    p_new,
                    t0 + time_limit - time.perf_counter(),
                    mip_rel_gap,
                )
                bound_new = cheap if math.isnan(out.bound) else min(cheap, out.bound)
                mip_val = -1.0 if sel is None else _weight_of(b, w, sel)
                if sel is None or (mip_val <= greedy_val and out.status != "optimal"):
                    chosen, status = greedy_sel, "greedy"
                    notes.append("HiGHS found no better solution in time; greedy solution returned")
                else:
                    chosen, status = _prune(b, w, groups, need, sel, None), out.status
                    # an interrupted incumbent may leave slots: fill them greedily
                    if status != "optimal" and len(chosen) < p_new:
                        chosen, _ = _greedy(
                            b, w, groups, need, max_sites=p_new, required=None, full_cover=False, initial=chosen
                        )
        selected = self._to_original(chosen)
        covered = self._covered_weight(selected)
        objective = covered - pr.existing_weight
        bound = bound_new + pr.forced_weight
        return self._finish(selected, objective, covered, status, bound, mip_rel_gap, t0, None, notes)

    def _cheap_bound(self, greedy_val: float, n_raw: int, p_new: int) -> float:
        """Upper bound on newly covered reduced weight without an LP.

        The p largest column weights, all reachable weight, and, with no group
        minimums, greedy / (1 - 1/e) (the greedy guarantee for max coverage).
        """
        pr = self.problem
        b, w = pr.reach, pr.weights
        colw = np.sort(np.asarray(b.tocsc().T @ w).ravel())[::-1]
        bound = min(pr.reachable_weight, float(colw[:p_new].sum()))
        if not pr.group_need:
            bound = min(bound, greedy_val / (1.0 - 1.0 / math.e))
        return max(bound, greedy_val)


# --------------------------------------------------------------------------
# ranking
# --------------------------------------------------------------------------


def rank_by_marginal_gain(
    selected: Sequence[int] | np.ndarray,
    reach: object,
    weights: object,
    covered_already: object | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Order chosen sites by the weight each adds, greedily.

    The first site is the one covering most not-yet-covered weight, the next the
    one adding most on top of it, and so on; ties keep the order of ``selected``.

    Parameters
    ----------
    selected : array-like of int
        Original candidate indices of the chosen sites.
    reach, weights, covered_already
        As for :func:`reduce_problem`.

    Returns
    -------
    order : numpy.ndarray
        ``selected`` in rank order (rank 1 first).
    gain : numpy.ndarray
        Weight newly covered by each site in that order; sums to the total weight
        the chosen sites add to ``covered_already``.
    """
    a = _as_reach(reach)
    w = _as_weights(weights, a.shape[0])
    done = _as_mask(covered_already, a.shape[0], "covered_already")
    sel = np.asarray(selected, dtype=np.int64).ravel()
    if np.unique(_as_forced(sel, a.shape[1])).size != sel.size:
        raise ValueInputError("selected lists the same candidate twice")
    rows = np.flatnonzero(~done & (w > 0))
    sub = sp.csr_matrix(a[rows][:, sel])
    st = _Greedy(sub, w[rows], w[rows])
    order: list[int] = []
    gain: list[float] = []
    for _ in range(sel.size):
        j, _g = st.best()
        before = st.covered_weight
        st.add(j)
        order.append(int(sel[j]))
        gain.append(st.covered_weight - before)
    return np.asarray(order, dtype=np.int64), np.asarray(gain, dtype=np.float64)
