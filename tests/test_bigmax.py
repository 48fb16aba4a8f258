"""The large-scale maximal-covering engine (coverage.siting.bigmax) against brute force and known answers."""

from __future__ import annotations

import itertools
import json
import time

import numpy as np
import pytest
import scipy.sparse as sp

from coverage.siting.bigmax import (
    _lagrange,
    lagrangian_max_bound,
    lp_max_bound,
    people_progress_text,
    solve_maximal_covering,
    swap_search,
    window_search,
)
from coverage.siting.solvers import MaximalCovering


def _random_instance(seed: int, n_dem: int = 16, n_cand: int = 9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    reach = rng.random((n_dem, n_cand)) < rng.uniform(0.12, 0.35)
    weights = rng.integers(1, 30, n_dem).astype(float)
    covered = rng.random(n_dem) < 0.15
    return reach, weights, covered


def _brute_force(reach: np.ndarray, w: np.ndarray, covered: np.ndarray, p: int, forced: tuple = (),
                 groups: np.ndarray | None = None, need: dict | None = None) -> float:
    """Most people newly covered by at most ``p`` sites (``forced`` among them, group minimums kept)."""
    n = reach.shape[1]
    others = [j for j in range(n) if j not in forced]
    best = -1.0
    for k in range(p - len(forced) + 1):
        for cols in itertools.combinations(others, k):
            sel = list(forced) + list(cols)
            if need and any(sum(groups[j] == g for j in cols) < m for g, m in need.items()):
                continue
            hit = ~covered & reach[:, sel].any(axis=1)
            best = max(best, float(w[hit].sum()))
    assert best >= 0, "no feasible choice"
    return best


VARIANTS = {
    "plain": {},
    "forced": {"forced": (2,)},
    "groups": {"groups": True},
}


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("p", [1, 3])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_bound_above_optimum_above_answer_above_greedy(seed: int, p: int, variant: str) -> None:
    reach, w, covered = _random_instance(seed)
    spec = VARIANTS[variant]
    forced = spec.get("forced", ())
    groups = need = None
    if spec.get("groups"):
        groups = np.arange(reach.shape[1]) % 3 - 1  # groups -1 (none), 0, 1
        need = {0: 1}
    if len(forced) + (1 if need else 0) > p:
        pytest.skip("p too small for the forced sites and minimums")
    kw = {"forced": list(forced) or None, "group_of_candidate": groups, "group_min_new": need}
    opt = _brute_force(reach, w, covered, p, forced, groups, need)
    greedy = MaximalCovering(reach, w, covered, p=p, **kw).solve(solver="greedy")
    eng = solve_maximal_covering(MaximalCovering(reach, w, covered, p=p, **kw), time_limit=5)
    r = eng.result
    assert r.bound >= opt - 1e-9
    assert opt >= r.objective - 1e-9
    assert r.objective >= greedy.objective - 1e-9
    assert r.selected.size <= p and set(forced) <= set(r.selected.tolist())
    if need:
        assert sum(groups[j] == 0 for j in r.selected if j not in forced) >= 1
    # small instances are solved to a proof
    assert r.objective == pytest.approx(opt) and r.status == "optimal" and r.gap == 0.0
    assert r.bound >= r.objective - 1e-9  # never below a feasible value


@pytest.mark.parametrize("seed", range(6))
def test_lagrangian_and_lp_values_bound_the_optimum(seed: int) -> None:
    reach, w, _ = _random_instance(seed, 20, 10)
    reach[np.arange(20), np.arange(20) % 10] = True
    p = 3
    opt = _brute_force(reach, w, np.zeros(20, bool), p)
    b = sp.csr_matrix(reach, dtype=np.float64)
    groups = np.full(10, -1)
    rng = np.random.default_rng(seed)
    for _ in range(20):  # any prices in [0, w] give an upper bound
        u = rng.random(20) * w
        assert _lagrange(b, sp.csr_matrix(b.T), u, w, p, [])[0] >= opt - 1e-9
    lag, _ = lagrangian_max_bound(b, w, p, groups, {}, lambda: 0.0, time.perf_counter() + 2)
    lp = lp_max_bound(b, w, p, groups, {}, 5.0)
    assert lp is not None
    assert lag >= opt - 1e-9 and lp[0] >= opt - 1e-9
    assert lag <= float(np.sort(b.T @ w)[::-1][:p].sum()) + 1e-9  # never worse than its start, the p best columns


def test_known_answer_clusters_with_decoys() -> None:
    # five separate clusters of 4 rows; in each, one site reaches all 4 rows and decoys reach 2;
    # with p = 3 the answer is the three heaviest clusters' whole people
    blocks, weights = [], []
    for c in range(5):
        blocks.append(np.array([[1, 1, 0], [1, 1, 0], [1, 0, 1], [1, 0, 1]], bool))
        weights += [10.0 * (c + 1)] * 4
    reach = sp.block_diag(blocks, format="csr").astype(bool)
    eng = solve_maximal_covering(MaximalCovering(reach, np.array(weights), p=3), time_limit=5)
    r = eng.result
    assert r.objective == pytest.approx(4 * (30 + 40 + 50)) and r.status == "optimal"
    assert sorted(r.selected.tolist()) == [6, 9, 12]


def _district(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    reach = rng.random((30, 10)) < 0.2
    reach[np.arange(30), rng.integers(0, 10, 30)] = True
    return reach, rng.integers(1, 50, 30).astype(float)


def test_two_districts_answer_is_the_best_split_of_the_parts() -> None:
    (ra, wa), (rb, wb) = _district(1), _district(2)
    p = 5
    part_a = [_brute_force(ra, wa, np.zeros(30, bool), k) for k in range(p + 1)]
    part_b = [_brute_force(rb, wb, np.zeros(30, bool), k) for k in range(p + 1)]
    best_split = max(part_a[k] + part_b[p - k] for k in range(p + 1))
    reach = sp.block_diag([sp.csr_matrix(ra), sp.csr_matrix(rb)], format="csr").astype(bool)
    eng = solve_maximal_covering(MaximalCovering(reach, np.concatenate([wa, wb]), p=p), time_limit=10)
    assert eng.result.objective == pytest.approx(best_split)
    assert eng.result.bound >= best_split - 1e-9


def test_swap_search_improves_on_a_bad_start_and_keeps_group_minimums() -> None:
    reach, w = _district(3)
    b = sp.csr_matrix(reach)
    groups = np.array([0, 0, 1, 1, 1, 1, 1, 1, 1, 1])
    start = np.array([0, 1, 2])  # both of group 0's columns
    opt = _brute_force(reach, w, np.zeros(30, bool), 3, groups=groups, need={0: 2})
    got, val = swap_search(b, w, start, time.perf_counter() + 5, groups, {0: 2}, max_steps=500)
    assert got.size == 3 and {0, 1} <= set(got.tolist())
    assert val <= opt + 1e-9 and val >= float(w[reach[:, start].any(axis=1)].sum())
    free, val_free = swap_search(b, w, start, time.perf_counter() + 5, groups, {}, max_steps=500)
    assert val_free >= val and val_free == pytest.approx(float(w[reach[:, free].any(axis=1)].sum()))


@pytest.mark.parametrize("seed", range(4))
def test_window_search_never_loses_and_keeps_group_minimums(seed: int) -> None:
    reach, w = _district(10 + seed)
    b = sp.csr_matrix(reach)
    groups = np.array([0, 0, 0, 1, 1, 1, -1, -1, -1, -1])
    need = {0: 1, 1: 1}
    start = np.array([0, 3, 6, 7])  # a feasible, probably poor choice
    opt = _brute_force(reach, w, np.zeros(30, bool), 4, groups=groups, need=need)
    seen: list[float] = []
    got, _ = window_search(b, w, start, time.perf_counter() + 5, groups, need, seen.append, k=2, seed=seed)
    val = float(w[reach[:, got].any(axis=1)].sum())
    assert got.size == 4 and all(np.sum(groups[got] == g) >= k for g, k in need.items())
    assert float(w[reach[:, start].any(axis=1)].sum()) <= val <= opt + 1e-9
    assert seen == sorted(seen) and (not seen or seen[-1] == pytest.approx(val))


def test_every_candidate_fits_and_progress_reports() -> None:
    reach, w, covered = _random_instance(7)
    seen: list[tuple[float, float]] = []
    eng = solve_maximal_covering(MaximalCovering(reach, w, covered, p=9), time_limit=5)
    assert eng.result.status == "optimal"
    eng = solve_maximal_covering(MaximalCovering(reach, w, covered, p=2), time_limit=5,
                                 progress=lambda a, b: seen.append((a, b)))
    assert seen and all(a <= b + 1e-9 for a, b in seen)
    assert seen[-1][0] == pytest.approx(eng.result.objective)
    fields = eng.siting_fields()
    assert {"objective", "bound", "gap", "method", "seconds"} <= set(fields)


def test_progress_text() -> None:
    assert "proven optimal" in people_progress_text(100, 100)
    assert "no bound yet" in people_progress_text(100, float("inf"))
    assert "at most 9.1 % below optimal" in people_progress_text(100, 110)


def test_cli_sites_n_on_the_demo_reports_the_engine(tmp_path) -> None:
    from coverage.cli import main
    from coverage.demo import default_data_dir

    if not (default_data_dir() / "streets.osm").exists():
        pytest.skip("demo data missing")
    out = tmp_path / "out"
    assert main(["plan", "--out", str(out), "-q", "--sites", "3", "--no-report", "--time-limit", "10"]) == 0
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))["siting"]
    assert s["mode"] == "maximal_covering"
    assert {"method", "bound", "gap", "objective", "seconds"} <= set(s)
    assert s["bound"] >= s["objective"] - 1e-6 and s["gap"] >= 0
    assert set(s["method"].split("+")) <= {"greedy", "swap", "window", "highs"}
