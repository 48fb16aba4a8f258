"""The large-scale set-covering engine (coverage.siting.bigcover) against brute force and a decomposed city."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import dijkstra

from coverage.siting.bigcover import (
    components,
    lagrangian_bound,
    lp_dual_bound,
    progress_text,
    solve_big_cover,
    solve_set_covering,
)
from coverage.siting.solvers import SetCovering, reduce_problem


def _random_instance(seed: int, n_dem: int = 14, n_cand: int = 9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    reach = rng.random((n_dem, n_cand)) < rng.uniform(0.15, 0.45)
    reach[np.arange(n_dem), rng.integers(0, n_cand, n_dem)] = True  # every resident reachable
    weights = rng.integers(1, 20, n_dem).astype(float)
    covered = rng.random(n_dem) < 0.15
    return reach, weights, covered


def _brute_force(reach: np.ndarray, weights: np.ndarray, covered: np.ndarray, share: float,
                 groups: np.ndarray | None = None, need: dict | None = None) -> int:
    """Fewest columns reaching ``share`` of all weight (groups' minimums kept), by enumeration."""
    n = reach.shape[1]
    required = share * weights.sum() - 1e-9 * weights.sum()
    for k in range(n + 1):
        for cols in itertools.combinations(range(n), k):
            hit = covered | reach[:, list(cols)].any(axis=1)
            if weights[hit].sum() < required:
                continue
            if need and any(sum(groups[j] == g for j in cols) < m for g, m in need.items()):
                continue
            return k
    raise AssertionError("no feasible choice")


def _lp_value(reach: np.ndarray, weights: np.ndarray, covered: np.ndarray, share: float) -> float:
    """LP relaxation of the (partial) set cover, solved by scipy's HiGHS."""
    _m, n = reach.shape
    rows = np.flatnonzero(~covered & (weights > 0))
    need = share * weights.sum() - weights[covered].sum()
    a = reach[rows].astype(float)
    r = rows.size
    # variables x (n) and y (r): min sum x; y_i <= A_i x; w·y >= need; 0 <= x, y <= 1
    a_ub = np.vstack([np.hstack([-a, np.eye(r)]), np.concatenate([np.zeros(n), -weights[rows]])[None, :]])
    b_ub = np.concatenate([np.zeros(r), [-need]])
    res = linprog(np.concatenate([np.ones(n), np.zeros(r)]), A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs")
    assert res.status == 0
    return float(res.fun)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("share", [1.0, 0.8, 0.6])
def test_bound_below_optimum_and_answer_never_worse_than_greedy(seed: int, share: float) -> None:
    reach, weights, covered = _random_instance(seed)
    opt = _brute_force(reach, weights, covered, share)
    greedy = SetCovering(reach, weights, covered, target_share=share).solve(solver="greedy")
    eng = solve_set_covering(SetCovering(reach, weights, covered, target_share=share), time_limit=5)
    res = eng.result
    assert res.bound <= opt + 1e-9
    assert res.objective >= opt  # feasible: never below the optimum
    assert res.objective <= greedy.objective
    assert res.target_met
    # small instances are solved to a proof, so the bound is at least the LP relaxation
    assert res.objective == opt and res.status == "optimal"
    assert res.bound >= _lp_value(reach, weights, covered, share) - 1e-6
    fields = eng.siting_fields()
    assert set(fields) == {"objective", "bound", "gap", "method", "seconds"}
    assert fields["gap"] == 0.0


@pytest.mark.parametrize("seed", range(6))
def test_group_minimums_and_forced_sites_kept(seed: int) -> None:
    reach, weights, covered = _random_instance(100 + seed, n_dem=12, n_cand=8)
    groups = np.array([0, 0, 0, 1, 1, 1, -1, -1])
    need = {0: 2, 1: 1}
    opt = _brute_force(reach, weights, covered, 0.9, groups, need)
    eng = solve_set_covering(SetCovering(reach, weights, covered, target_share=0.9, group_of_candidate=groups,
                                         group_min_new=need), time_limit=5)
    sel = eng.result.selected
    assert eng.result.bound <= opt + 1e-9 and eng.result.objective == opt
    assert np.sum(groups[sel] == 0) >= 2 and np.sum(groups[sel] == 1) >= 1
    forced = solve_set_covering(SetCovering(reach, weights, covered, target_share=1.0, forced=[7]), 5).result
    assert 7 in forced.selected
    assert forced.bound <= forced.objective


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("share", [1.0, 0.7])
def test_lagrangian_bound_is_below_the_lp_and_the_optimum(seed: int, share: float) -> None:
    reach, weights, covered = _random_instance(200 + seed, n_dem=16, n_cand=10)
    opt = _brute_force(reach, weights, covered, share)
    lp = _lp_value(reach, weights, covered, share)
    pr = reduce_problem(reach, weights, covered)
    required = share * pr.total_weight - pr.existing_weight
    full = share >= 1.0
    value, u = lagrangian_bound(pr.reach, pr.weights, None if full else required, opt, deadline=math.inf)
    assert value <= lp + 1e-6 <= opt + 1e-6  # weak duality: a Lagrangian value never passes the LP
    assert np.all(u >= 0)
    assert value > 0


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("share", [1.0, 0.7])
def test_lp_dual_bound_equals_the_lp_and_stays_below_the_optimum(seed: int, share: float) -> None:
    # bigger than the brute-force instances so that the subgradient ascent alone stops short of the LP
    reach, weights, covered = _random_instance(300 + seed, n_dem=60, n_cand=40)
    lp = _lp_value(reach, weights, covered, share)
    pr = reduce_problem(reach, weights, covered)
    required = share * pr.total_weight - pr.existing_weight
    got = lp_dual_bound(pr.reach, pr.weights, None if share >= 1.0 else required, time_limit=10)
    assert got is not None
    value, u = got
    assert np.all(u >= 0)
    assert value == pytest.approx(lp, abs=1e-5)  # Lagrangian value at the LP duals is the LP value
    greedy = SetCovering(reach, weights, covered, target_share=share).solve(solver="greedy")
    assert value <= greedy.objective + 1e-9


def test_window_search_improves_a_poor_start_without_breaking_the_cover() -> None:
    """A 30 x 30 grid, radius two steps: window search alone, and the engine, beat a wasteful start."""
    import coverage.siting.bigcover as bc

    xy = np.array([(i, j) for i in range(30) for j in range(30)], dtype=float)
    d = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)
    reach = sp.csr_matrix(d <= 2)
    start = np.arange(reach.shape[1])[::2]  # every other cell: a wasteful cover
    got, _ = bc.window_search(reach, np.ones(900), None, start, time.perf_counter() + 3, np.full(900, -1), {},
                              lambda k: None)
    assert got.size < start.size
    assert reach[:, got].sum(axis=1).min() >= 1
    out = solve_big_cover(reach, np.ones(900), None, start, deadline=time.perf_counter() + 4)
    assert len(out.chosen) < start.size
    assert reach[:, out.chosen].sum(axis=1).min() >= 1
    assert out.bound <= len(out.chosen)


def _two_districts_and_a_bridge(bridge_nodes: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """Reach (500 m on the streets) of two 6 x 6 street grids (100 m blocks) joined by one bridge street.

    Residents and candidate sites stand on the district nodes; the bridge's nodes
    (100 m apart, over a river) have neither.
    """
    pts, edges = [], []

    def grid(x0: float) -> list[int]:
        ids = {}
        for i in range(6):
            for j in range(6):
                ids[i, j] = len(pts)
                pts.append((x0 + 100.0 * i, 100.0 * j))
        for (i, j), a in ids.items():
            for di, dj in ((1, 0), (0, 1)):
                if (i + di, j + dj) in ids:
                    edges.append((a, ids[i + di, j + dj]))
        return list(ids.values())

    left = grid(0.0)
    right = grid(500.0 + 100.0 * (bridge_nodes + 1))
    chain = [left[-6 + 2]]  # node (5, 2) of the left district
    for k in range(bridge_nodes):
        pts.append((500.0 + 100.0 * (k + 1), 200.0))
        chain.append(len(pts) - 1)
    chain.append(right[2])  # node (0, 2) of the right district
    edges += list(itertools.pairwise(chain))
    xy = np.array(pts)
    e = np.array(edges)
    length = np.hypot(*(xy[e[:, 0]] - xy[e[:, 1]]).T)
    n = len(pts)
    g = sp.coo_matrix((length, (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    people = np.array(left + right)
    dist = dijkstra(g, directed=False, indices=people, limit=500.0 + 1e-9)[:, people]
    return sp.csr_matrix(dist <= 500.0 + 1e-9), np.full(people.size, 10.0)


def test_partial_window_search_keeps_the_target_and_stops_at_a_local_optimum() -> None:
    """A 20 x 20 grid, 90 % of the cells' people: windows shrink a wasteful start and stop once none improves."""
    import coverage.siting.bigcover as bc

    xy = np.array([(i, j) for i in range(20) for j in range(20)], dtype=float)
    reach = sp.csr_matrix(np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2) <= 2)
    people = np.random.default_rng(3).integers(1, 30, 400).astype(float)
    required = 0.9 * people.sum()
    start = np.arange(400)[::2]
    t = time.perf_counter()
    got, improved = bc.window_search(reach, people, required, start, t + 120, np.full(400, -1), {}, lambda k: None)
    assert time.perf_counter() - t < 60  # it ended on its own: no window of the largest size improves
    assert improved > 0 and got.size < start.size
    hit = np.asarray(reach[:, got].sum(axis=1)).ravel() > 0
    assert people[hit].sum() >= required - 1e-6


@pytest.mark.parametrize("seed", range(6))
def test_cover_mip_cutoff_finds_only_smaller_covers_and_keeps_the_start_when_there_is_none(seed: int) -> None:
    import coverage.siting.bigcover as bc

    reach, weights, _ = _random_instance(700 + seed)
    none = np.zeros(reach.shape[0], dtype=bool)
    share = [1.0, 0.8][seed % 2]
    opt = _brute_force(reach, weights, none, share)
    required = None if share == 1.0 else share * weights.sum() - 1e-9 * weights.sum()
    b = sp.csr_matrix(reach)
    every = np.arange(reach.shape[1])
    best, _, _ = bc.cover_mip(b, weights, required, every, 5.0, warm=False)
    assert best.size == opt  # the plain MIP: the optimum
    same, _, _ = bc.cover_mip(b, weights, required, best, 5.0, warm=False, cutoff=best.size - 0.5)
    assert same is best  # nothing smaller exists: the start comes back
    got, _, _ = bc.cover_mip(b, weights, required, every, 5.0, warm=False, cutoff=every.size - 0.5)
    assert got.size == opt  # a cutoff above the optimum still finds it

def test_two_districts_joined_by_one_bridge_decompose_and_match_the_whole_solve() -> None:
    reach, weights = _two_districts_and_a_bridge(bridge_nodes=6)  # 700 m of bridge: no 500 m crosses it
    pr = reduce_problem(reach, weights)
    k, _, _ = components(pr.reach)
    assert k == 2
    whole = SetCovering(reach, weights).solve(time_limit=30)  # the existing exact HiGHS solve, one model
    assert whole.status == "optimal"
    eng = solve_set_covering(SetCovering(reach, weights), time_limit=30).result
    assert eng.status == "optimal" and eng.objective == whole.objective and eng.bound == whole.bound
    # each district alone: the decomposed optimum is their sum
    half = SetCovering(reach[:36][:, :36], weights[:36]).solve(time_limit=30)
    other = SetCovering(reach[36:][:, 36:], weights[36:]).solve(time_limit=30)
    assert half.objective + other.objective == eng.objective
    # and the same engine without decomposition agrees
    undecomposed = solve_big_cover(pr.reach, pr.weights, None, np.arange(pr.reach.shape[1]),
                                   deadline=time.perf_counter() + 30, decompose=False)
    assert len(undecomposed.chosen) == eng.objective


def test_short_bridge_joins_the_districts_into_one_component() -> None:
    reach, weights = _two_districts_and_a_bridge(bridge_nodes=1)  # 200 m: residents reach across
    assert components(reduce_problem(reach, weights).reach)[0] == 1
    eng = solve_set_covering(SetCovering(reach, weights), time_limit=30).result
    assert eng.objective == SetCovering(reach, weights).solve(time_limit=30).objective


def test_progress_text_states_the_proven_distance_to_optimal() -> None:
    assert progress_text(431, 427.6).startswith("best so far 431 stations, at most 0.8 % above optimal")
    assert "目前最好 431 个站点" in progress_text(431, 427.6)
    assert "proven optimal" in progress_text(40, 40.0)


def test_propose_sites_reports_the_engine_and_streams_its_progress() -> None:
    """The line of villages (4 stations by brute force): summary keys, method and progress lines."""
    from test_siting import LINE_R, brute_min_cover, line_study, plan, village_reach

    from coverage.siting.propose import propose_sites

    study, xs = line_study()
    result = plan(study, radius_m=LINE_R)
    k, _ = brute_min_cover(village_reach(xs))
    lines: list[str] = []
    s = propose_sites(result, sites="auto", progress=lambda msg, frac: lines.append(msg))
    fields = s.summary_fields()["siting"]
    assert fields["objective"] == k == len(s.proposals)
    assert fields["bound"] <= k and fields["gap"] == 0.0 and fields["status"] == "optimal"
    assert fields["method"] in {"greedy", "highs", "window", "greedy+highs", "highs+window"}
    assert fields["seconds"] >= 0
    assert any(m.startswith(f"best so far {k} stations, proven optimal / 目前最好 {k} 个站点") for m in lines)
    greedy = propose_sites(result, sites="auto", solver="greedy").summary_fields()["siting"]
    assert greedy["method"] == "greedy" and greedy["objective"] >= fields["objective"]


@pytest.mark.parametrize("seed", range(12))
def test_rwls_finds_a_valid_cover_no_larger_than_its_start_and_the_brute_force_optimum(seed: int) -> None:
    from coverage.siting.localsearch import rwls_cover

    reach, weights, covered = _random_instance(400 + seed)
    opt = _brute_force(reach, weights, covered, 1.0)
    pr = reduce_problem(reach, weights, covered)
    start = np.arange(pr.reach.shape[1])  # every candidate: a cover, far from the fewest
    got = rwls_cover(pr.reach, start, deadline=math.inf, max_steps=800)
    assert np.asarray(sp.csr_matrix(pr.reach)[:, got].sum(axis=1)).ravel().min() >= 1  # every row covered
    assert got.size <= start.size
    assert got.size == opt  # small instances: the search reaches the optimum (brute force)


def test_local_search_state_starts_with_each_columns_weight_and_tracks_moves() -> None:
    """Scores against brute force: gain (outside the cover) or loss (inside) of each column, in row weights."""
    from coverage.siting.localsearch import _Search

    rng = np.random.default_rng(9)
    a = rng.random((40, 12)) < 0.2  # more rows than columns: a per-row count would not even fit
    w = rng.integers(1, 9, 40).astype(float)
    s = _Search(sp.csr_matrix(a), w)
    assert np.allclose(s.score, a.T.astype(float) @ w)
    chosen = [1, 4, 7]
    for j in chosen:
        s.add(j)
    cnt = a[:, chosen].sum(axis=1)
    for j in range(12):
        expected = -(w[(cnt == 1) & a[:, j]].sum()) if j in chosen else w[(cnt == 0) & a[:, j]].sum()
        assert s.score[j] == pytest.approx(expected)


@pytest.mark.parametrize("share", [1.0, 0.9])
def test_windows_in_two_threads_keep_the_cover_feasible_and_improve_it(share: float) -> None:
    """Two workers on one incumbent: every answer is checked as it lands, so the cover stays feasible."""
    import coverage.siting.bigcover as bc

    xy = np.array([(i, j) for i in range(24) for j in range(24)], dtype=float)
    reach = sp.csr_matrix(np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2) <= 2)
    people = np.random.default_rng(5).integers(1, 30, reach.shape[0]).astype(float)
    required = None if share == 1.0 else share * people.sum()
    start = np.arange(reach.shape[1])[::2]
    seen: list[int] = []
    got, improved = bc.window_search(reach, people, required, start, time.perf_counter() + 20,
                                     np.full(reach.shape[1], -1), {}, seen.append, workers=2)
    hit = np.asarray(reach[:, got].sum(axis=1)).ravel() > 0
    assert hit.all() if required is None else people[hit].sum() >= required - 1e-6
    assert improved > 0 and got.size < start.size and np.unique(got).size == got.size
    assert seen == sorted(seen, reverse=True) and seen[-1] == got.size  # reported counts only go down
