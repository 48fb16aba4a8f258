"""Capacitated siting (issue 19): brute force on random small instances, and the village line."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
import shapely
from capcity import line_network, line_study, points
from scipy import sparse

from coverage.errors import ValueInputError
from coverage.network.snap import snap_points
from coverage.siting.capacitated import capacitated_siting


def _max_served(reach, w, C, open_sites, old_i, old_j, old_cap) -> float:
    """Residents served within capacity with these sites open: a max-flow (networkx), the brute-force oracle."""
    g = nx.DiGraph()
    for i in range(len(w)):
        g.add_edge("s", ("d", i), capacity=float(w[i]))
    coo = reach.tocoo()
    for i, k in zip(coo.row, coo.col):
        if k in open_sites:
            g.add_edge(("d", int(i)), ("n", int(k)))
    for k in open_sites:
        g.add_edge(("n", int(k)), "t", capacity=float(C))
    for i, j in zip(old_i, old_j):
        g.add_edge(("d", int(i)), ("o", int(j)))
    for j, c in enumerate(old_cap):
        g.add_edge(("o", j), "t", **({} if np.isnan(c) else {"capacity": float(c)}))
    if not g.has_node("t"):
        return 0.0
    return nx.maximum_flow_value(g, "s", "t")


def _instance(seed: int):
    rng = np.random.default_rng(seed)
    n_dem, K, n_old = int(rng.integers(6, 12)), int(rng.integers(4, 8)), int(rng.integers(0, 3))
    reach = sparse.csr_matrix(rng.random((n_dem, K)) < 0.35)
    w = rng.integers(1, 40, n_dem).astype(float)
    pairs = np.argwhere(rng.random((n_dem, n_old)) < 0.3)
    old_cap = rng.integers(5, 60, n_old).astype(float)
    if n_old and rng.random() < 0.3:
        old_cap[0] = np.nan
    C = float(rng.integers(15, 80))
    return reach, w, C, pairs[:, 0], pairs[:, 1], old_cap


@pytest.mark.parametrize("seed", range(12))
def test_auto_equals_brute_force(seed):
    reach, w, C, oi, oj, oc = _instance(seed)
    share = [1.0, 0.8, 0.6][seed % 3]
    r = capacitated_siting(reach, w, C, oi, oj, oc, sites="auto", target_share=share)
    K = reach.shape[1]
    best_all = _max_served(reach, w, C, set(range(K)), oi, oj, oc)
    assert r.achievable == pytest.approx(best_all, abs=1e-6)
    need = min(share * w.sum(), best_all)
    fewest = next(n for n in range(K + 1) for s in itertools.combinations(range(K), n)
                  if _max_served(reach, w, C, set(s), oi, oj, oc) >= need - 1e-6)
    assert r.status == "optimal"
    assert len(r.selected) == fewest
    assert _max_served(reach, w, C, set(r.selected.tolist()), oi, oj, oc) >= need - 1e-5
    assert (r.message != "") == (share * w.sum() > best_all + 1e-6)


@pytest.mark.parametrize("seed", range(12, 22))
def test_budget_equals_brute_force(seed):
    reach, w, C, oi, oj, oc = _instance(seed)
    K = reach.shape[1]
    N = 1 + seed % 3
    r = capacitated_siting(reach, w, C, oi, oj, oc, sites=N)
    best = max(_max_served(reach, w, C, set(s), oi, oj, oc)
               for n in range(min(N, K) + 1) for s in itertools.combinations(range(K), n))
    assert r.status == "optimal"
    assert r.served == pytest.approx(best, abs=1e-5)
    assert len(r.selected) <= N
    assert _max_served(reach, w, C, set(r.selected.tolist()), oi, oj, oc) == pytest.approx(best, abs=1e-5)
    assert r.gap <= 1e-6


def test_village_line_capacity_forces_k_plus_one():
    """Six villages of 1,000 every 400 m; a station reaches its own and the neighbouring villages (500 m).

    Without capacity two stations (at villages 2 and 5) cover everyone; capacity 3,000 still
    allows two; capacity 2,500 forces exactly three (6,000 / 2,500 rounds up to 3, and three suffice).
    """
    from coverage.siting.candidates import layer_candidates
    from coverage.siting.reach import reach_matrix

    net = line_network(2400.0)
    xs = np.arange(6) * 400.0 + 200.0
    dem = points(np.column_stack([xs, np.zeros(6)]), population=np.full(6, 1000.0))
    dsnap = snap_points(net, shapely.get_coordinates(dem.geometry.values))
    cands, _ = layer_candidates(net, points(np.column_stack([xs, np.zeros(6)]), name=[f"v{i}" for i in range(6)]),
                                300.0)
    reach = reach_matrix(net, dsnap, cands, 500.0)
    assert reach.sum(axis=0).A1.tolist() == [2, 3, 3, 3, 3, 2]
    w = dem["population"].to_numpy()
    free = capacitated_siting(reach, w, 1e9)
    assert len(free.selected) == 2
    assert len(capacitated_siting(reach, w, 3000.0).selected) == 2
    tight = capacitated_siting(reach, w, 2500.0)
    assert tight.status == "optimal" and len(tight.selected) == 3
    assert tight.served == pytest.approx(6000.0)
    assert tight.served_new.max() <= 2500.0 + 1e-6
    assert tight.bound == pytest.approx(3.0)


def test_existing_overloaded_facility_is_relieved():
    """An existing facility of capacity 500 reaches 1,500 residents; one new site of 1,000 takes the rest."""
    reach = sparse.csr_matrix(np.array([[1], [1], [1]], dtype=bool))
    w = np.array([500.0, 500.0, 500.0])
    r = capacitated_siting(reach, w, 1000.0, np.array([0, 1, 2]), np.array([0, 0, 0]), np.array([500.0]))
    assert len(r.selected) == 1 and r.served == pytest.approx(1500.0) and r.served_new[0] == pytest.approx(1000.0)


def test_bad_arguments():
    reach = sparse.csr_matrix(np.ones((1, 1), dtype=bool))
    with pytest.raises(ValueInputError, match="--station-capacity"):
        capacitated_siting(reach, np.ones(1), 0)
    with pytest.raises(ValueInputError, match="sites"):
        capacitated_siting(reach, np.ones(1), 10, sites=-1)


def test_proposal_takes_over_from_an_overloaded_station():
    """2,000 residents next to a station of capacity 1,000: one new station of 1,000 takes over 1,000."""
    from coverage.capacity import measure_capacity
    from coverage.params import CoverageParams
    from coverage.pipeline import run_plan
    from coverage.siting.capacitated import propose_capacitated

    study = line_study([{"name": "A", "x": 400.0, "capacity": 1000}], [(200.0, 2000)])
    res = run_plan(study, CoverageParams(), isochrone_minutes=(5,))
    cov = res.coverage
    cap = measure_capacity(study.network, cov.facilities, cov.demand, cov.demand_snap, 500, res.params.walk_m, 300)
    assert cap.table()["overloaded"].tolist() == [True]
    sr = propose_capacitated(res, cap, "auto", station_capacity=1000.0)
    assert len(sr.proposals) == 1 and sr.info["status"] == "optimal"
    rec = sr.records()[0]
    assert rec["serves_population"] == pytest.approx(1000.0)
    assert rec["takes_over_population"] == pytest.approx(1000.0)
    assert sr.info["capacity_before"]["nearest"]["population"] == pytest.approx(1000.0)
    assert sr.info["capacity_after"]["capacitated"]["population"] == pytest.approx(2000.0)
    assert sr.info["target_met"] is True
    t = sr.table(False)
    assert {"capacity", "serves_population", "takes_over_population"} <= set(t.columns)
    # with room at A, a second cluster reached only by a new site needs one site and takes over nothing
    study = line_study([{"name": "A", "x": 400.0, "capacity": 5000}], [(200.0, 2000), (1700.0, 500)])
    res = run_plan(study, CoverageParams(), isochrone_minutes=(5,))
    cov = res.coverage
    cap = measure_capacity(study.network, cov.facilities, cov.demand, cov.demand_snap, 500, res.params.walk_m, 300)
    sr = propose_capacitated(res, cap, "auto", station_capacity=1000.0)
    assert len(sr.proposals) == 1
    assert sr.records()[0]["takes_over_population"] == pytest.approx(0.0)
    assert sr.records()[0]["serves_population"] == pytest.approx(500.0)


def test_run_plan_and_cli_route_station_capacity(tmp_path, capsys):
    """run_plan(siting={..., station_capacity}) proposes capacitated sites; the CLI refuses it without --sites."""
    from coverage.capacity import CapacityRule
    from coverage.cli import main
    from coverage.outputs.files import write_outputs
    from coverage.params import CoverageParams
    from coverage.pipeline import run_plan

    study = line_study([{"name": "A", "x": 400.0, "capacity": 1000}], [(200.0, 2000)])
    res = run_plan(study, CoverageParams(), isochrone_minutes=(5,), siting={"sites": "auto", "station_capacity": 1000},
                   capacity={"rule": CapacityRule(), "assign": "capacitated"})
    assert res.siting.info["mode"] == "capacitated_set_covering" and len(res.siting.proposals) == 1
    files = write_outputs(res, tmp_path, report=True)
    s = __import__("json").loads(files["summary.json"].read_text(encoding="utf-8"))
    assert s["capacity"]["assign"] == "capacitated" and s["proposals"][0]["takes_over_population"] == 1000.0
    assert s["subdistricts"][0]["capacity_rule"] is True  # capacitated: A serves its 1,000 and no more
    html = files["report.html"].read_text(encoding="utf-8")
    assert "loadchart" in html and "承接超负荷机构人口" in html
    assert main(["plan", "--out", str(tmp_path / "x"), "--station-capacity", "500", "-q"]) == 2
    assert "--station-capacity needs --sites" in capsys.readouterr().err


@pytest.mark.parametrize("seed", range(30, 36))
def test_greedy_fallback_is_feasible_and_bounded(seed):
    """The no-incumbent fallback: a real allocation (checked by max-flow) and a valid bound vs brute force."""
    from coverage.siting.capacitated import _greedy

    reach, w, C, oi, oj, oc = _instance(seed)
    K = reach.shape[1]
    best_all = _max_served(reach, w, C, set(range(K)), oi, oj, oc)
    target = min(0.8 * w.sum(), best_all)
    opened, flow, served, bound = _greedy(reach.tocsr(), w, oi, oj, oc, C, "auto", target, 10.0)
    assert _max_served(reach, w, C, set(np.flatnonzero(opened).tolist()), oi, oj, oc) >= served - 1e-6
    assert np.all(flow <= C + 1e-9)
    fewest = next(n for n in range(K + 1) for s in itertools.combinations(range(K), n)
                  if _max_served(reach, w, C, set(s), oi, oj, oc) >= target - 1e-6)
    assert bound <= fewest
    if served >= target - 1e-9:
        assert opened.sum() >= fewest


@pytest.mark.parametrize("seed", range(40, 52))
def test_engine_path_at_scale_is_feasible_and_its_bound_holds(seed, monkeypatch):
    """Models too big for the MIP: the engine's cover topped up for capacity, checked against brute force.

    The path is forced by setting the column threshold to 0. The answer serves the target within
    capacity (checked by max-flow), never uses fewer sites than the optimum, and its bound (the
    uncapacitated cover's, or the capacity bound) never exceeds the optimum.
    """
    import coverage.siting.capacitated as capmod

    monkeypatch.setattr(capmod, "CAP_MIP_COLUMNS", 0)
    reach, w, C, oi, oj, oc = _instance(seed)
    share = [1.0, 0.8, 0.6][seed % 3]
    r = capacitated_siting(reach, w, C, oi, oj, oc, sites="auto", target_share=share, time_limit=5.0)
    K = reach.shape[1]
    need = min(share * w.sum(), _max_served(reach, w, C, set(range(K)), oi, oj, oc))
    fewest = next(n for n in range(K + 1) for s in itertools.combinations(range(K), n)
                  if _max_served(reach, w, C, set(s), oi, oj, oc) >= need - 1e-6)
    assert r.status != "optimal" and "columns" in r.message
    assert _max_served(reach, w, C, set(r.selected.tolist()), oi, oj, oc) >= need - 1e-5
    assert len(r.selected) >= fewest
    assert r.bound <= fewest
    assert np.all(r.served_new <= C + 1e-6)


def _existing(res):
    from coverage.pipeline import add_capacity

    cap = add_capacity(res)
    r = cap.reach.within(500.0)
    return r.demand, r.facility, cap.facilities["capacity"].to_numpy(float)


@pytest.mark.parametrize("seed", range(60, 68))
@pytest.mark.parametrize("big", [False, True])
def test_rule_minimums_equal_brute_force(seed, big, monkeypatch):
    """``--rules`` with capacity: a forced centre column and a group minimum, exact (MIP) or at scale (engine)."""
    import coverage.siting.capacitated as capmod
    from coverage.siting.capacitated import Minimums

    if big:
        monkeypatch.setattr(capmod, "CAP_MIP_COLUMNS", 0)
    reach, w, C, oi, oj, oc = _instance(seed)
    K = reach.shape[1]
    groups = np.array([0 if j % 2 else 1 for j in range(K)])
    mins = Minimums(forced=np.array([0]), groups=groups, need={0: min(2, int((groups == 0).sum()))})
    r = capacitated_siting(reach, w, C, oi, oj, oc, sites="auto", target_share=0.7, time_limit=5.0, minimums=mins)
    need = min(0.7 * w.sum(), _max_served(reach, w, C, set(range(K)), oi, oj, oc))

    def ok(s):
        return 0 in s and sum(1 for j in s if groups[j] == 0) >= mins.need[0] and \
            _max_served(reach, w, C, set(s), oi, oj, oc) >= need - 1e-6

    fewest = next(n for n in range(K + 1) for s in itertools.combinations(range(K), n) if ok(s))
    chosen = r.selected.tolist()
    assert ok(chosen)
    assert r.bound <= fewest <= len(chosen)
    if not big:
        assert r.status == "optimal" and len(chosen) == fewest


def test_rules_with_station_capacity_propose_the_missing_centre(tmp_path, capsys):
    """The toy city's 乙街道 has no centre: with --rules the capacitated siting proposes one there."""
    import json

    import geopandas as gpd
    from toycity import make_toy

    from coverage.cli import main

    folder = make_toy(tmp_path / "toy")
    runs = {}
    for extra in ((), ("--rules",)):
        out = tmp_path / ("rules" if extra else "plain")
        assert main(["plan", str(folder), "--out", str(out), "--sites", "auto", "--station-capacity", "2000",
                     "--target-share", "0.9", "--isochrone-minutes", "15", *extra]) == 0
        runs[bool(extra)] = (json.loads((out / "summary.json").read_text(encoding="utf-8"))["siting"],
                             gpd.read_file(out / "proposals.geojson"))
    (plain, p_plain), (ruled, p_ruled) = runs[False], runs[True]
    assert plain["rules"] is False and ruled["rules"] is True
    assert p_ruled.loc[p_ruled["kind"] == "centre", "subdistrict"].tolist() == ["乙街道"]
    assert (p_plain["kind"] == "station").all()
    assert ruled["target_met"] and plain["target_met"]
    assert (p_ruled["serves_population"] <= 2000 + 1e-6).all()
    capsys.readouterr()
