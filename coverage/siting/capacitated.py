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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from coverage.access import CoverageResult
from coverage.capacity import CapacityResult, measure_capacity
from coverage.errors import ValueInputError
from coverage.highs import load_model
from coverage.params import DEFAULT_TIME_LIMIT_S
from coverage.result import PlanResult
from coverage.siting.bigcover import solve_set_covering
from coverage.siting.candidates import SitingSetup, check_siting_args, siting_setup
from coverage.siting.propose import (
    PROPOSAL_COLUMNS,
    SitingResult,
    _proposal_frame,
    _recheck,
    _rule_minimums,
    _site_isochrones,
    _with_centre_columns,
)
from coverage.siting.reach import reach_matrix
from coverage.siting.solvers import SetCovering, _merge_identical_rows

__all__ = ["CapSitingResult", "CapacitatedSitingResult", "capacitated_siting", "propose_capacitated"]


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


def _check(sites: object, site_for: str, station_capacity: float, target_share: float, time_limit: float) -> None:
    check_siting_args(sites, site_for, target_share, time_limit)
    if isinstance(station_capacity, bool) or not isinstance(station_capacity, (int, float)) \
            or not math.isfinite(station_capacity) or station_capacity <= 0:
        raise ValueInputError(f"station capacity (--station-capacity) must be a positive number of residents, "
                              f"got {station_capacity!r}")


@dataclass
class Minimums:
    """What the rules require of the new sites (``--rules``), in the model's own columns.

    Attributes
    ----------
    forced : ndarray of int
        Columns that must open (proposed centres).
    groups : ndarray of int, optional
        Group (subdistrict) of every column, -1 for none.
    need : dict
        ``{group: k}``: at least ``k`` open columns of that group.
    """

    forced: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    groups: np.ndarray | None = None
    need: dict = field(default_factory=dict)

    def on(self, used: np.ndarray) -> Minimums:
        """The same minimums on the kept columns ``used`` (original column of each)."""
        pos = np.full(int(used.max()) + 1 if used.size else 0, -1)
        pos[used] = np.arange(used.size)
        forced = pos[self.forced[self.forced < pos.size]] if self.forced.size else self.forced
        return Minimums(forced[forced >= 0], None if self.groups is None else self.groups[used], dict(self.need))

    def rows(self, K: int, n_col: int) -> tuple[sparse.csr_matrix, np.ndarray]:
        """Group rows ``sum of y over the group >= k`` of the MIP (sites are its first ``K`` columns)."""
        keys = [g for g in self.need if self.groups is not None and (self.groups == g).any()]
        cols = [np.flatnonzero(self.groups == g) for g in keys]
        r = np.concatenate([np.full(c.size, i) for i, c in enumerate(cols)]) if cols else np.zeros(0, np.int64)
        c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
        return (sparse.csr_matrix((np.ones(c.size), (r, c)), shape=(len(keys), n_col)),
                np.array([float(self.need[g]) for g in keys]))


#: Capacitated models with more columns than this skip the exact MIP (HiGHS finds no incumbent in a minute
#: at 25k nodes, 98k columns) and go to the engine's cover topped up for capacity.
CAP_MIP_COLUMNS = 50_000
#: Share of the time the uncapacitated engine gets on that path (the rest: transportation LPs),
#: and the most top-up rounds (transportation LP, then sites where residents are left unserved).
ENGINE_SHARE, TOP_UPS = 0.6, 30


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


def _reduce(cand: sparse.csr_matrix, w: np.ndarray, old_i: np.ndarray, old_j: np.ndarray, n_old: int,
            keep_cols: np.ndarray | None = None
            ) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shrink the model without changing its optimum.

    - demand points without residents, or that no site and no existing facility
      reaches, are dropped;
    - demand points reached by exactly the same new sites and existing facilities
      are merged (their residents summed): flows split back pro rata satisfy every row;
    - candidates reaching no one are dropped. (A candidate whose reach is a subset
      of another's is *kept*: with capacities both may be needed; so are ``keep_cols``,
      which the rules open whatever they reach.)

    Returns
    -------
    cand, w, old_i, old_j
        The reduced matrix, residents and existing pairs (rows renumbered).
    used : ndarray of int
        Original candidate column of each kept column.
    """
    n_dem, K = cand.shape
    inc = sparse.csr_matrix((np.ones(old_i.size, dtype=bool), (old_i, old_j)), shape=(n_dem, n_old))
    both = sparse.hstack([cand, inc], format="csr")
    keep = (w > 0) & (np.diff(both.indptr) > 0)
    rows = np.flatnonzero(keep)
    both = both[rows]
    both.sort_indices()
    merged, w2, _ = _merge_identical_rows(both, w[rows]) if rows.size else (both, w[rows], rows)
    merged = merged.tocsc()
    cand2 = merged[:, :K].tocsr()
    oc = merged[:, K:].tocoo()
    reaches = np.diff(cand2.tocsc().indptr) > 0
    if keep_cols is not None:
        reaches[keep_cols] = True
    used = np.flatnonzero(reaches)
    return cand2.tocsc()[:, used].tocsr(), w2, oc.row.astype(np.int64), oc.col.astype(np.int64), used


def _greedy(cand: sparse.csr_matrix, w: np.ndarray, old_i: np.ndarray, old_j: np.ndarray, old_cap: np.ndarray,
            C: float, sites: str | int, target: float, time_limit: float, mins: Minimums | None = None
            ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """A feasible answer without the MIP, and a bound from capacities alone.

    Existing facilities serve what they can alone (an exact LP); then sites are
    opened one at a time where they serve most of the residents still unserved
    (at most ``C`` each), until the target is met (``auto``) or ``N`` are open.
    Every site's flow is a real allocation, so the answer is feasible. The bound:
    existing facilities never serve more than they can alone, so ``auto`` needs at
    least ``(target - that) / C`` sites and ``N`` sites serve at most ``that + N C``.

    Returns
    -------
    open, flow, served, bound
    """
    n, K = cand.shape
    a0, up0, upper0, info0 = _model(cand[:, :0], old_i, old_j, old_cap, w, C)
    s_old = np.zeros(n)
    if a0.shape[1]:
        h = load_model(a0, maximize=True, cost=np.ones(a0.shape[1]), lower=np.zeros(a0.shape[1]), upper=upper0,
                       row_lower=np.full(a0.shape[0], -np.inf), row_upper=up0, time_limit=time_limit)
        h.run()
        x0 = np.clip(np.asarray(h.getSolution().col_value, dtype=float), 0.0, upper0)
        s_old = np.minimum(np.bincount(old_i, weights=x0[info0["xo"]], minlength=n), w)
    f_old = float(s_old.sum())
    opened, flow = np.zeros(K, dtype=bool), np.zeros(K)
    r, served, mins = np.maximum(w - s_old, 0.0), f_old, mins or Minimums()
    for k in mins.forced:  # the rules' sites first: forced centres, then each group's minimum
        served = _greedy_add(cand, r, opened, flow, served, C, int(opened.sum()) + 1, math.inf,
                             allowed=np.arange(K) == k)
    for g, k in mins.need.items():
        served = _greedy_add(cand, r, opened, flow, served, C, int(opened.sum()) + int(k), math.inf,
                             allowed=(mins.groups == g) & ~opened)
    most = K if sites == "auto" else min(K, int(sites) + int(mins.forced.size))
    served = _greedy_add(cand, r, opened, flow, served, C, most, target if sites == "auto" else math.inf)
    bound = math.ceil((target - f_old) / C - 1e-9) if sites == "auto" else f_old + int(sites) * C
    if sites == "auto":
        bound = max(bound, int(mins.forced.size) + sum(int(k) for k in mins.need.values()))
    return opened, flow, served, float(max(bound, 0))


def _greedy_add(cand: sparse.csr_matrix, r: np.ndarray, opened: np.ndarray, flow: np.ndarray, served: float,
                C: float, most: int, target: float, allowed: np.ndarray | None = None) -> float:
    """Open sites one at a time where they serve most of the unserved residents ``r`` (at most ``C`` each).

    Only ``allowed`` columns, when given (a group the rules fill first), and then even where
    they serve no one. Updates ``r``, ``opened`` and ``flow`` in place until ``most`` sites are open or ``target``
    residents are served; every flow is a real allocation. Returns the residents served.
    """
    cc = cand.tocsc()
    ct = cand.T.tocsr().astype(float)
    while opened.sum() < most and served < target - 1e-9:
        gain = np.minimum(C, ct @ r)
        gain[opened] = -1.0
        if allowed is not None:
            gain[~allowed] = -1.0
        k = int(np.argmax(gain))
        if gain[k] < 0 or (allowed is None and gain[k] <= 1e-9):  # the rules open a site even if it adds nobody
            break
        rows = cc.indices[cc.indptr[k]:cc.indptr[k + 1]]
        rr = r[rows]
        take = np.clip(gain[k] - (np.cumsum(rr) - rr), 0.0, rr)
        r[rows] -= take
        opened[k], flow[k] = True, float(take.sum())
        served += flow[k]
    return served


def _serve_open(cand: sparse.csr_matrix, open_cols: np.ndarray, old_i: np.ndarray, old_j: np.ndarray,
                old_cap: np.ndarray, w: np.ndarray, C: float, time_limit: float
                ) -> tuple[float, np.ndarray, np.ndarray] | None:
    """Most residents served within capacity with exactly ``open_cols`` open (an LP), per site and per row.

    Returns ``(served, flow of each open site, served per demand row)``, or None if HiGHS did not
    finish in time.
    """
    import highspy

    sub = cand[:, open_cols]
    a, row_up, upper, info = _model(sub, old_i, old_j, old_cap, w, C)
    K, n_col = open_cols.size, a.shape[1]
    h = load_model(a, maximize=True, cost=np.r_[np.zeros(K), np.ones(n_col - K)],
                   lower=np.r_[np.ones(K), np.zeros(n_col - K)], upper=upper,
                   row_lower=np.full(a.shape[0], -np.inf), row_upper=row_up, time_limit=time_limit)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    x = np.clip(np.asarray(h.getSolution().col_value, dtype=float), 0.0, upper)
    per_row = np.bincount(np.r_[info["ni"], old_i], weights=x[K:], minlength=w.size)
    return float(x[K:].sum()), np.bincount(info["nk"], weights=x[info["xn"]], minlength=K), per_row


def _top_up(cand: sparse.csr_matrix, w: np.ndarray, per_row: np.ndarray, opened: np.ndarray, served: float,
            C: float, target: float) -> bool:
    """Open sites for residents left unserved by the exact allocation; False if none would help.

    First greedily where unserved residents are within reach; when every one of them is behind
    full sites, the closed site reaching most of the residents those open sites serve (it frees
    their capacity for the others).
    """
    before = int(opened.sum())
    _greedy_add(cand, np.maximum(w - per_row, 0.0), opened, np.zeros(opened.size), served, C, opened.size, target)
    if opened.sum() > before:
        return True
    unserved = np.flatnonzero(w - per_row > 1e-9)
    near = np.unique(cand[unserved][:, np.flatnonzero(opened)].tocoo().col)  # open sites the unserved reach
    busy = np.zeros(w.size)
    rows = cand[:, np.flatnonzero(opened)[near]].tocsr()
    busy[np.flatnonzero(np.diff(rows.indptr) > 0)] = per_row[np.diff(rows.indptr) > 0]
    relief = np.minimum(C, cand.T.tocsr().astype(float) @ busy)
    relief[opened] = -1.0
    k = int(np.argmax(relief)) if relief.size else -1
    if k < 0 or relief[k] <= 1e-9:
        return False
    opened[k] = True
    return True


def _engine_answer(cand: sparse.csr_matrix, w: np.ndarray, old_i: np.ndarray, old_j: np.ndarray,
                   old_cap: np.ndarray, C: float, target: float, deadline: float, mins: Minimums | None = None
                   ) -> tuple[np.ndarray, np.ndarray, float, float, str] | None:
    """Fewest sites for ``target`` at scale: the uncapacitated engine's cover, topped up where capacity binds.

    Residents served within capacity are within the radius of an open site or an existing
    facility, so the uncapacitated set cover of the same target is a relaxation: its proven
    bound holds here. Its sites, checked by the transportation LP, are topped up greedily
    where capacity leaves residents unserved, then checked again.

    Returns ``(open, flow, served, bound, method)`` or None when an LP did not finish in time.
    """
    n, K = cand.shape
    covered = np.zeros(n, dtype=bool)
    covered[old_i] = True
    share = min(1.0, target / max(float(w.sum()), 1e-9))
    mins = mins or Minimums()
    model = SetCovering(cand, w, covered, target_share=share, forced=mins.forced if mins.forced.size else None,
                        group_of_candidate=mins.groups, group_min_new=mins.need or None)
    eng = solve_set_covering(model,
                             time_limit=max(0.1, ENGINE_SHARE * (deadline - time.perf_counter())))
    opened = np.zeros(K, dtype=bool)
    opened[np.asarray(eng.result.selected, dtype=np.int64)] = True
    method = f"engine ({eng.method})"
    final, checked = None, None
    for _ in range(TOP_UPS + 1):
        checked = opened.copy()
        final = _serve_open(cand, np.flatnonzero(opened), old_i, old_j, old_cap, w, C,
                            max(1.0, deadline - time.perf_counter()))
        if final is None or final[0] >= target - 1e-6 or _ == TOP_UPS:
            break
        method = f"engine ({eng.method}) + capacity top-up"
        if not _top_up(cand, w, final[2], opened, final[0], C, target):
            break
    if final is None:
        return None
    flow = np.zeros(K)
    flow[np.flatnonzero(checked)] = final[1]
    opened = checked
    bound = float(math.ceil(eng.result.bound - 1e-6)) if math.isfinite(eng.result.bound) else math.nan
    return opened, flow, final[0], bound, method


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
    minimums: Minimums | None = None,
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
    minimums : Minimums, optional
        The rules' forced sites and per-group minimums (``--rules``), on ``cand_reach``'s columns.

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
    _check(sites, "radius", station_capacity, target_share, time_limit)  # the reach matrix is given: any radius
    t0 = time.perf_counter()
    cand = sparse.csr_matrix(cand_reach, dtype=bool)
    w = np.asarray(population, dtype=float)
    old_i = np.zeros(0, np.int64) if existing_demand is None else np.asarray(existing_demand, np.int64)
    old_j = np.zeros(0, np.int64) if existing_facility is None else np.asarray(existing_facility, np.int64)
    old_cap = np.zeros(0) if existing_capacity is None else np.asarray(existing_capacity, dtype=float)
    total = float(w.sum()) if total_population is None else float(total_population)
    # only candidates that reach someone with residents
    mins = minimums or Minimums()
    ruled = mins.forced if mins.groups is None else np.union1d(mins.forced,
                                                                np.flatnonzero(np.isin(mins.groups, list(mins.need))))
    cand, w, old_i, old_j, used = _reduce(cand, w, old_i, old_j, old_cap.size, ruled.astype(np.int64))
    mins = mins.on(used)
    K = used.size
    C = float(station_capacity)
    a, row_up, upper, info = _model(cand, old_i, old_j, old_cap, w, C)
    achievable, message = _most_servable(a, row_up, upper, K, w, time_limit)
    target = math.nan
    if sites == "auto":
        want = target_share * total
        target = want
        if want > achievable + 1e-6:
            target = achievable
            message = (f"the target of {want:,.0f} residents within capacity cannot be reached with every candidate "
                       f"open (at most {achievable:,.0f}); the fewest sites serving that many are proposed")
        target = max(0.0, target - 1e-6)
    deadline = t0 + time_limit
    big = sites == "auto" and a.shape[1] > CAP_MIP_COLUMNS
    a2, model = _final_model(a, row_up, upper, K, sites, target, mins)
    y, flow_new, served, obj, bound, status = None, None, math.nan, math.nan, math.nan, "skipped"
    if not big:  # district scale: the exact MIP
        h = load_model(a2, **model, time_limit=max(0.1, deadline - time.perf_counter()))
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        h.run()
        y, flow_new, served, obj, bound, status = _answer(h, info, K)
    if y is None:  # no incumbent in time, or too big: the greedy, and at scale the engine's cover topped up
        y, flow_new, served, cap_bound = _greedy(cand, w, old_i, old_j, old_cap, C, sites, target,
                                                 max(0.1, deadline - time.perf_counter()), mins)
        obj = float(y.sum()) if sites == "auto" else served
        bound = cap_bound if not math.isfinite(bound) else (max(bound, cap_bound) if sites == "auto"
                                                            else min(bound, cap_bound))
        status = "greedy"
        why = (f"the model has {a.shape[1]:,} columns (more than {CAP_MIP_COLUMNS:,})" if big else
               f"HiGHS found no integer solution within {time_limit:g} s")
        if sites == "auto":
            eng = _engine_answer(cand, w, old_i, old_j, old_cap, C, target, deadline, mins)
            if eng is not None:
                bound = max(bound, eng[3]) if math.isfinite(eng[3]) else bound
                # a feasible answer first, then the fewer sites (the greedy's allocation can fall short)
                if (eng[2] >= target - 1e-6, -eng[0].sum()) > (served >= target - 1e-6, -y.sum()):
                    y, flow_new, served, status = eng[0], eng[1], eng[2], eng[4]
                    obj = float(y.sum())
        message = "; ".join(m for m in (message, f"{why}: the {status} sites are proposed with the proven bound; "
                                        "raise --time-limit for a smaller gap") if m)
    if sites != "auto":  # an open site serving no one adds nothing, unless the rules ask for it
        ruled = np.zeros(K, dtype=bool)
        ruled[mins.forced] = True
        if mins.groups is not None:
            ruled |= np.isin(mins.groups, list(mins.need))
        y &= (flow_new > 1e-9) | ruled
    gap = abs(obj - bound) / max(abs(obj), 1e-9) if math.isfinite(bound) else math.nan
    return CapSitingResult(
        selected=used[np.flatnonzero(y)], served_new=flow_new[y], served=served, target=target,
        achievable=achievable, status=status, objective=obj, bound=bound, gap=gap,
        solve_seconds=time.perf_counter() - t0, message=message,
        size={"columns": int(a2.shape[1]), "rows": int(a2.shape[0]), "nonzeros": int(a2.nnz), "candidates": int(K)})


def _most_servable(a: sparse.csr_matrix, row_up: np.ndarray, upper: np.ndarray, K: int, w: np.ndarray,
                   time_limit: float) -> tuple[float, str]:
    """The most residents servable with every site open (an LP; its optimum is exact), and a note if not solved."""
    import highspy

    n_col = a.shape[1]
    serve = np.r_[np.zeros(K), np.ones(n_col - K)]
    h = load_model(a, maximize=True, cost=serve, lower=np.r_[np.ones(K), np.zeros(n_col - K)], upper=upper,
                   row_lower=np.full(a.shape[0], -np.inf), row_upper=row_up, time_limit=time_limit)
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kOptimal or not (K or n_col):
        return (float(h.getInfo().objective_function_value) if K or n_col else 0.0), ""
    # not solved in time: every resident some site or facility reaches (an upper bound)
    return float(w.sum()), f"the most servable with every site open was not solved within {time_limit:g} s"


def _final_model(a: sparse.csr_matrix, row_up: np.ndarray, upper: np.ndarray, K: int, sites: str | int,
                 target: float, mins: Minimums | None = None) -> tuple[sparse.csr_matrix, dict]:
    """The MIP: fewest sites serving ``target`` (``auto``), or most served by ``sites`` sites.

    The rules' minimums (``mins``) open their forced sites and add a row per group. Returns the
    matrix and the rest of :func:`coverage.highs.load_model`'s arguments, so that a model too big
    to solve is sized without being loaded.
    """
    mins = mins or Minimums()
    n_col = a.shape[1]
    serve = np.r_[np.zeros(K), np.ones(n_col - K)]
    is_site = np.r_[np.ones(K), np.zeros(n_col - K)]
    lo = np.zeros(n_col)
    lo[mins.forced] = 1.0
    g_rows, g_need = mins.rows(K, n_col)
    if sites == "auto":
        a2 = sparse.vstack([a, sparse.csr_matrix(serve[None, :]), g_rows], format="csr")
        return a2, {"maximize": False, "cost": is_site, "lower": lo, "upper": upper, "integer": is_site,
                    "row_lower": np.r_[np.full(a.shape[0], -np.inf), target, g_need],
                    "row_upper": np.r_[row_up, np.inf, np.full(g_need.size, np.inf)]}
    a2 = sparse.vstack([a, sparse.csr_matrix(is_site[None, :]), g_rows], format="csr")
    return a2, {"maximize": True, "cost": serve, "lower": lo, "upper": upper, "integer": is_site,
                "row_lower": np.r_[np.full(a.shape[0] + 1, -np.inf), g_need],
                "row_upper": np.r_[row_up, float(sites) + mins.forced.size, np.full(g_need.size, np.inf)]}


def _answer(h: Any, info: dict, K: int
            ) -> tuple[np.ndarray | None, np.ndarray | None, float, float, float, str]:
    """``(open, flow to each site, served, objective, dual bound, status)`` of a solved model.

    ``open`` is None when HiGHS has no feasible incumbent (the caller falls
    back to the greedy answer); the bound and status are read either way.
    """
    import highspy

    ms = h.getModelStatus()
    status = {"kOptimal": "optimal", "kTimeLimit": "time_limit", "kInfeasible": "infeasible"}.get(
        ms.name, ms.name.removeprefix("k").lower())
    inf = h.getInfo()
    bound = float(inf.mip_dual_bound) if abs(inf.mip_dual_bound) < 1e30 else math.nan
    if inf.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
        return None, None, math.nan, math.nan, bound, status
    x = np.asarray(h.getSolution().col_value, dtype=float)
    flow_new = np.bincount(info["nk"], weights=x[info["xn"]], minlength=K)
    return x[:K] > 0.5, flow_new, float(x[K:].sum()), float(inf.objective_function_value), bound, status


# --------------------------------------------------------------------------
# on a plan: candidates, reach, the model, the re-check, the explanation
# --------------------------------------------------------------------------

#: extra proposals.csv columns of capacitated proposals: (key, 中文, English)
CAPACITY_PROPOSAL_COLUMNS = [
    ("capacity", "服务能力（人）", "capacity (residents)"),
    ("serves_population", "服务人口", "residents served"),
    ("takes_over_population", "承接超负荷机构人口", "residents taken over from overloaded facilities"),
]


class CapacitatedSitingResult(SitingResult):
    """A :class:`coverage.siting.propose.SitingResult` whose proposals also say what they serve and take over."""

    def records(self) -> list[dict]:
        out = super().records()
        for rec, r in zip(out, self.proposals.to_dict("records")):
            for key, _, _ in CAPACITY_PROPOSAL_COLUMNS:
                rec[key] = round(float(r[key]), 3)
        return out

    def one_line(self) -> str:
        """The siting line, plus residents covered within capacity before and after."""
        b = self.info["capacity_before"]["capacitated"] or self.info["capacity_before"]["nearest"]
        a = self.info["capacity_after"]["capacitated"]
        return (super().one_line() + f"; within capacity 容量内: {b['share'] or 0:.1%} → {a['share'] or 0:.1%}, "
                f"taken over from overloaded 承接超负荷 {self.info['taken_over_population']:,.0f}")

    def table(self, bilingual_headers: bool = True) -> pd.DataFrame:
        cols = PROPOSAL_COLUMNS + CAPACITY_PROPOSAL_COLUMNS
        df = pd.DataFrame(self.records(), columns=[k for k, _, _ in cols])
        df["serves"] = [";".join(s) for s in df["serves"]] if len(df) else df["serves"]
        if bilingual_headers:
            df.columns = [f"{zh} / {en}" for _, zh, en in cols]
        return df


def _recheck_capacity(result: PlanResult, capacity: CapacityResult, after_cov: CoverageResult,
                      proposals: gpd.GeoDataFrame, station_capacity: float, time_limit: float) -> CapacityResult:
    """Capacity recomputed from scratch with the proposals built as stations of capacity ``C`` (capacitated)."""
    f = after_cov.facilities.reset_index(drop=True)
    f["capacity"] = np.r_[capacity.facilities["capacity"].to_numpy(float), np.full(len(proposals),
                                                                                   float(station_capacity))]
    f["subdistrict"] = np.r_[capacity.facilities["subdistrict"].to_numpy(object),
                             proposals["subdistrict"].to_numpy(object)]
    return measure_capacity(result.study.network, f, after_cov.demand, after_cov.demand_snap, capacity.threshold_m,
                            capacity.decay.catchment_m, result.params.max_snap_m, capacity.rule, "capacitated",
                            capacity.decay, time_limit, fragment_m=result.params.fragment_m,
                            island_snap_m=result.params.island_snap_m)


def _taken_over(capacity: CapacityResult, after_cap: CapacityResult, n_old: int) -> np.ndarray:
    """Residents each new station serves who were assigned (nearest) to an overloaded facility before."""
    near = capacity.nearest
    cap = capacity.facilities["capacity"].to_numpy(float)
    over = np.isfinite(cap) & (near.assigned > np.nan_to_num(cap) + 1e-9)
    from_over = np.zeros(near.flows.n_demand, dtype=bool)
    from_over[near.flows.demand[over[near.flows.facility]]] = True
    fl = after_cap.capacitated.flows
    new = fl.facility >= n_old
    return np.bincount(fl.facility[new] - n_old, weights=fl.distance[new] * from_over[fl.demand[new]],
                       minlength=len(after_cap.facilities) - n_old)


def propose_capacitated(result: PlanResult, capacity: CapacityResult, sites: str | int = "auto",
                        station_capacity: float = 0.0, site_for: str = "radius", target_share: float | None = None,
                        candidates: str | None = None, exclusions: gpd.GeoDataFrame | None = None,
                        time_limit: float = DEFAULT_TIME_LIMIT_S, progress: Callable | None = None,
                        max_isochrones: int = 200, rules: bool = False) -> CapacitatedSitingResult:
    """New stations of capacity ``station_capacity`` so that the target is covered within radius and capacity.

    Parameters
    ----------
    result : PlanResult
    capacity : coverage.capacity.CapacityResult
        The plan's capacity diagnosis (existing capacities, the radius pairs).
    sites : "auto" or int
        Fewest stations reaching ``target_share`` within capacity, or the best ``N``.
    station_capacity : float
        Residents one new station serves (``--station-capacity``).
    site_for, target_share, candidates, exclusions, time_limit, progress, max_isochrones, rules
        As :func:`coverage.siting.propose.propose_sites`: with ``rules`` the subdistricts without
        a centre get one (of capacity ``station_capacity`` too) and each gets the stations the
        active rule sets require, on top of what capacity needs.

    Returns
    -------
    CapacitatedSitingResult
        Proposals with ``capacity``, ``serves_population`` (in the re-checked
        capacitated assignment) and ``takes_over_population`` (of those, residents
        whose nearest facility was overloaded before); ``info`` adds
        ``station_capacity``, ``capacity_before`` and ``capacity_after``.
    """
    def step(msg: str, frac: float) -> None:
        if progress is not None:
            progress(msg, frac)

    _check(sites, site_for, station_capacity, target_share, time_limit)
    t0 = time.perf_counter()
    params, net = result.params, result.study.network
    notes: list[str] = []
    step("candidates / 候选点", 0.0)
    su = siting_setup(result, site_for, target_share, candidates, exclusions, notes)
    step("reach matrix / 可达矩阵", 0.1)
    w = result.coverage.demand["population"].to_numpy(dtype=float)
    dsnap = result.coverage.demand_snap
    reach = reach_matrix(net, dsnap, su.cands, su.threshold, active=(dsnap.offset <= params.max_snap_m) & (w > 0))
    old = capacity.reach.within(su.threshold)
    centre_j, group_min, mins = [], {}, None
    if rules:
        centre_j, _, group_min = _rule_minimums(result, su.cands, su.group, dsnap, w,
                                                dsnap.offset <= params.max_snap_m, notes)
        reach, groups, forced = _with_centre_columns(reach, centre_j, su.group, True)
        mins = Minimums(forced, groups, group_min)
    step(f"capacitated solver, at most {time_limit:g} s / 容量约束求解（最多 {time_limit:g} 秒）", 0.3)
    sol = capacitated_siting(reach, w, station_capacity, old.demand, old.facility,
                             capacity.facilities["capacity"].to_numpy(float), sites=sites, target_share=su.target,
                             total_population=capacity.population, time_limit=time_limit, minimums=mins)
    if sol.message:
        notes.append(sol.message)
    order = np.argsort(-sol.served_new, kind="stable")
    cj = sol.selected[order]
    n_cand = len(su.cands)
    is_centre = cj >= n_cand  # the rules' centre columns follow the candidates
    cj = np.where(is_centre, np.asarray(centre_j + [0], dtype=np.int64)[np.maximum(cj - n_cand, 0)], cj)
    proposals = _proposal_frame(result, net, su.cands, cj, is_centre, sol.served_new[order], su.group,
                                group_min, site_for)
    step("re-check / 复核", 0.6)
    after_cov, before, after = _recheck(result, proposals)
    after_cap = _recheck_capacity(result, capacity, after_cov, proposals, station_capacity, time_limit)
    n_old = len(capacity.facilities)
    proposals["capacity"] = float(station_capacity)
    proposals["serves_population"] = after_cap.capacitated.assigned[n_old:]
    proposals["takes_over_population"] = _taken_over(capacity, after_cap, n_old)
    step("isochrones / 等时圈", 0.8)
    iso = _site_isochrones(net, proposals, su.threshold, params, max_isochrones, notes)
    proposals = proposals.drop(columns=["label"])
    info = _capacitated_info(result, capacity, after_cap, su, sol, proposals, sites, site_for, station_capacity,
                             notes, rules=rules)
    step("siting done / 选址完成", 1.0)
    return CapacitatedSitingResult(proposals=proposals, after=after, before=before, isochrones=iso, solve=None,
                                   info=info, after_coverage=after_cov, reach=reach, candidates=su.cands,
                                   timings={"total": time.perf_counter() - t0})


def _capacitated_info(result: PlanResult, capacity: CapacityResult, after_cap: CapacityResult, su: SitingSetup,
                      sol: CapSitingResult, proposals: gpd.GeoDataFrame, sites: str | int, site_for: str,
                      station_capacity: float, notes: list[str], rules: bool = False) -> dict:
    """``SitingResult.info`` of a capacitated run: the solve, the candidates, capacity before and after."""
    params = result.params
    within_after = after_cap.covered(after_cap.capacitated)
    return {
        "mode": "capacitated_set_covering" if sites == "auto" else "capacitated_maximal_covering",
        "sites": sites if sites == "auto" else int(sites), "site_for": site_for,
        "threshold_m": round(float(su.threshold), 3), "radius_m": float(params.radius_m),
        "minutes": float(params.minutes), "target_share": su.target, "rules": bool(rules),
        "candidate_source": su.source, "station_capacity": float(station_capacity),
        "status": sol.status, "gap": sol.gap, "bound": sol.bound, "objective": sol.objective,
        "solve_seconds": round(float(sol.solve_seconds), 3), "candidates": len(su.cands),
        "candidates_excluded": su.n_excluded, "candidates_off_network": len(su.off_network), "model_size": sol.size,
        "target_population": round(sol.target, 3) if sites == "auto" else None,
        "achievable_population": round(sol.achievable, 3),
        "new_population": round(float(proposals["serves_population"].sum()), 3),
        "taken_over_population": round(float(proposals["takes_over_population"].sum()), 3),
        "capacity_before": {"nearest": capacity.covered(capacity.nearest),
                            "capacitated": capacity.covered(capacity.capacitated) if capacity.capacitated else None},
        "capacity_after": {"nearest": after_cap.covered(after_cap.nearest), "capacitated": within_after},
        # the model counts facilities of unknown capacity as unlimited: so does the verdict
        "target_met": bool(capacity.population > 0 and (within_after["population"]
                           + within_after["capacity_unknown_population"]) >= su.target * capacity.population - 1e-6),
        "note": "; ".join(notes),
    }
