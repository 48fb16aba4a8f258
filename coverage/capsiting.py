"""Capacitated siting: new stations so that residents are covered within the radius *and* within capacity.

The model (a capacitated covering location problem, solved exactly by HiGHS):

- ``y_k ∈ {0, 1}``: open candidate site ``k`` as a station of capacity ``C``;
- ``x_ik ≥ 0`` / ``x_ij ≥ 0``: residents of demand point ``i`` served by a new site
  ``k`` / an existing facility ``j`` within the radius (the sparse reach pairs);
- each point sends at most its residents: ``Σ_k x_ik + Σ_j x_ij ≤ w_i``;
- existing facilities keep their capacities: ``Σ_i x_ij ≤ C_j`` (unknown: not limited);
- a new site serves only if open and up to ``C``: ``Σ_i x_ik ≤ C y_k`` and, to tighten
  the LP relaxation, ``x_ik ≤ w_i y_k``;
- ``sites="auto"``: minimise ``Σ y`` subject to ``Σ x ≥ target × population``;
  ``sites=N``: maximise ``Σ x`` subject to ``Σ y ≤ N``.

Every answer carries HiGHS's status, objective, dual bound and relative gap.
When the target cannot be reached even with every candidate open (residents no
candidate reaches, or too little capacity), the target is lowered to the most
that can be served, which is computed exactly first (an LP: all sites open),
and the result says so.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .errors import ValueInputError

__all__ = ["CapSitingResult", "capacitated_siting"]


@dataclass
class CapSitingResult:
    """Outcome of :func:`capacitated_siting`.

    Attributes
    ----------
    selected : ndarray of int
        Candidate columns opened.
    served_new : ndarray of float
        Residents each selected site serves in the solution.
    served : float
        Residents served within capacity (existing + new) in the solution.
    target : float
        Residents the model had to serve (``auto``; after lowering to ``achievable``).
    achievable : float
        Most residents servable with every candidate open.
    status : str
        ``optimal``, ``time_limit``, … (HiGHS model status).
    objective, bound, gap : float
        Sites (``auto``) or residents (``N``); the proven bound; relative gap.
    solve_seconds : float
    message : str
    size : dict
        Columns, rows and non-zeros of the MIP.
    """

    selected: np.ndarray
    served_new: np.ndarray
    served: float
    target: float
    achievable: float
    status: str
    objective: float
    bound: float
    gap: float
    solve_seconds: float
    message: str = ""
    size: dict | None = None


def _check(sites: object, station_capacity: float, target_share: float, time_limit: float) -> None:
    if not (sites == "auto" or (isinstance(sites, (int, np.integer)) and not isinstance(sites, bool) and sites >= 0)):
        raise ValueInputError(f"sites must be 'auto' or a number of new stations >= 0, got {sites!r}")
    if isinstance(station_capacity, bool) or not isinstance(station_capacity, (int, float)) \
            or not math.isfinite(station_capacity) or station_capacity <= 0:
        raise ValueInputError(f"station capacity (--station-capacity) must be a positive number of residents, "
                              f"got {station_capacity!r}")
    if not (0 <= target_share <= 1):
        raise ValueInputError(f"target_share must be between 0 and 1, got {target_share!r}")
    if not (math.isfinite(time_limit) and time_limit > 0):
        raise ValueInputError(f"time_limit must be a positive number of seconds, got {time_limit!r}")


def _model(cand: sparse.csr_matrix, old_i: np.ndarray, old_j: np.ndarray, old_cap: np.ndarray, w: np.ndarray,
           C: float) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray, dict]:
    """Rows shared by both objectives: demand, existing capacity, site capacity, linking (y first)."""
    K = cand.shape[1]
    coo = cand.tocoo()
    ni, nk = coo.row.astype(np.int64), coo.col.astype(np.int64)
    m_new, m_old = ni.size, old_i.size
    n_col = K + m_new + m_old
    xn = K + np.arange(m_new)
    xo = K + m_new + np.arange(m_old)
    lim = np.flatnonzero(np.isfinite(old_cap))
    fac_row = np.full(old_cap.size, -1)
    fac_row[lim] = np.arange(lim.size)
    n_dem = w.size
    r_dem = np.concatenate([ni, old_i])
    c_dem = np.concatenate([xn, xo])
    sel = fac_row[old_j] >= 0
    base = n_dem
    parts = [(r_dem, c_dem, np.ones(r_dem.size)),
             (base + fac_row[old_j[sel]], xo[sel], np.ones(int(sel.sum())))]
    base += lim.size
    parts += [(base + nk, xn, np.ones(m_new)), (base + np.arange(K), np.arange(K), np.full(K, -float(C)))]
    base += K
    parts += [(base + np.arange(m_new), xn, np.ones(m_new)), (base + np.arange(m_new), nk, -w[ni])]
    base += m_new
    rows = np.concatenate([p[0] for p in parts])
    cols = np.concatenate([p[1] for p in parts])
    vals = np.concatenate([p[2] for p in parts])
    a = sparse.csr_matrix((vals, (rows, cols)), shape=(base, n_col))
    row_up = np.concatenate([w, old_cap[lim], np.zeros(K), np.zeros(m_new)])
    upper = np.concatenate([np.ones(K), w[ni], w[old_i]])
    info = {"ni": ni, "nk": nk, "xn": xn, "xo": xo}
    return a, row_up, upper, info


def capacitated_siting(
    cand_reach: sparse.spmatrix,
    population: np.ndarray,
    station_capacity: float,
    existing_demand: np.ndarray | None = None,
    existing_facility: np.ndarray | None = None,
    existing_capacity: np.ndarray | None = None,
    sites: str | int = "auto",
    target_share: float = 1.0,
    total_population: float | None = None,
    time_limit: float = 60.0,
    mip_rel_gap: float = 0.0,
) -> CapSitingResult:
    """Fewest (or best ``N``) new stations of capacity ``C``, existing facilities kept with theirs.

    Parameters
    ----------
    cand_reach : sparse matrix of bool, (n_demand, n_candidates)
        Candidate ``k`` reaches demand point ``i`` within the radius.
    population : ndarray of float
        Residents per demand point.
    station_capacity : float
        Residents one new station serves (``--station-capacity``).
    existing_demand, existing_facility : ndarray of int, optional
        Pairs (demand point, existing facility) within the radius.
    existing_capacity : ndarray of float, optional
        Per existing facility; NaN = unknown, not limited.
    sites : "auto" or int
    target_share : float
        ``auto``: share of ``total_population`` to serve within capacity.
    total_population : float, optional
        Denominator of the share (default: the sum of ``population``).
    time_limit : float
        Seconds for HiGHS.
    mip_rel_gap : float
        0 = prove optimality.

    Returns
    -------
    CapSitingResult

    Examples
    --------
    Two villages of 1,000 reached by one candidate each and a third reaching both:
    with capacity 1,500, one site is not enough.

    >>> import numpy as np
    >>> from scipy import sparse
    >>> reach = sparse.csr_matrix(np.array([[1, 0, 1], [0, 1, 1]], dtype=bool))
    >>> r = capacitated_siting(reach, np.array([1000.0, 1000.0]), 1500.0)
    >>> len(r.selected), r.status
    (2, 'optimal')
    """
    import highspy

    from .highs import load_model

    _check(sites, station_capacity, target_share, time_limit)
    t0 = time.perf_counter()
    cand = sparse.csr_matrix(cand_reach, dtype=bool)
    w = np.asarray(population, dtype=float)
    old_i = np.zeros(0, np.int64) if existing_demand is None else np.asarray(existing_demand, np.int64)
    old_j = np.zeros(0, np.int64) if existing_facility is None else np.asarray(existing_facility, np.int64)
    old_cap = np.zeros(0) if existing_capacity is None else np.asarray(existing_capacity, dtype=float)
    total = float(w.sum()) if total_population is None else float(total_population)
    # only candidates that reach someone with residents
    cand = cand.multiply((w > 0)[:, None]).tocsc()
    used = np.flatnonzero(np.diff(cand.indptr) > 0)
    cand = cand[:, used].tocsr()
    K = used.size
    C = float(station_capacity)
    a, row_up, upper, info = _model(cand, old_i, old_j, old_cap, w, C)
    n_col = a.shape[1]
    serve = np.r_[np.zeros(K), np.ones(n_col - K)]
    # the most that can be served: every site open (an LP; its optimum is exact)
    lo = np.zeros(n_col)
    h = load_model(a, maximize=True, cost=serve, lower=np.r_[np.ones(K), np.zeros(n_col - K)], upper=upper,
                   row_lower=np.full(a.shape[0], -np.inf), row_upper=row_up, time_limit=time_limit)
    h.run()
    achievable = float(h.getInfo().objective_function_value) if K or n_col else 0.0
    message = ""
    if sites == "auto":
        want = target_share * total
        target = want
        if want > achievable + 1e-6:
            target = achievable
            message = (f"the target of {want:,.0f} residents within capacity cannot be reached with every candidate "
                       f"open (at most {achievable:,.0f}); the fewest sites serving that many are proposed")
        target = max(0.0, target - 1e-6)
        a2 = sparse.vstack([a, sparse.csr_matrix(serve[None, :])], format="csr")
        h = load_model(a2, maximize=False, cost=np.r_[np.ones(K), np.zeros(n_col - K)], lower=lo, upper=upper,
                       row_lower=np.r_[np.full(a.shape[0], -np.inf), target], row_upper=np.r_[row_up, np.inf],
                       integer=np.r_[np.ones(K), np.zeros(n_col - K)], time_limit=time_limit - (time.perf_counter() - t0))
    else:
        target = math.nan
        a2 = sparse.vstack([a, sparse.csr_matrix(np.r_[np.ones(K), np.zeros(n_col - K)][None, :])], format="csr")
        h = load_model(a2, maximize=True, cost=serve, lower=lo, upper=upper,
                       row_lower=np.full(a2.shape[0], -np.inf), row_upper=np.r_[row_up, float(sites)],
                       integer=np.r_[np.ones(K), np.zeros(n_col - K)], time_limit=time_limit - (time.perf_counter() - t0))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.run()
    ms = h.getModelStatus()
    status = {"kOptimal": "optimal", "kTimeLimit": "time_limit", "kInfeasible": "infeasible"}.get(
        ms.name, ms.name.removeprefix("k").lower())
    inf = h.getInfo()
    if inf.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
        raise RuntimeError(f"HiGHS found no capacitated siting solution ({status}) within {time_limit:g} s; "
                           "raise --time-limit")
    x = np.asarray(h.getSolution().col_value, dtype=float)
    y = x[:K] > 0.5
    flow_new = np.bincount(info["nk"], weights=x[info["xn"]], minlength=K)
    if sites != "auto":
        y &= flow_new > 1e-9  # an open site serving no one adds nothing
    obj = float(inf.objective_function_value)
    bound = float(inf.mip_dual_bound) if abs(inf.mip_dual_bound) < 1e30 else math.nan
    gap = abs(obj - bound) / max(abs(obj), 1e-9) if math.isfinite(bound) else math.nan
    return CapSitingResult(
        selected=used[np.flatnonzero(y)], served_new=flow_new[y], served=float(x[K:].sum()), target=target,
        achievable=achievable, status=status, objective=obj, bound=bound, gap=gap,
        solve_seconds=time.perf_counter() - t0, message=message,
        size={"columns": int(a2.shape[1]), "rows": int(a2.shape[0]), "nonzeros": int(a2.nnz), "candidates": int(K)})
