"""Walking distances on street networks where the answer is known by construction."""

from __future__ import annotations

import numpy as np
import pytest
from toycity import ORIGIN, UTM, points, write_osm

from coverage.access import euclidean_distance, measure_coverage, network_distance
from coverage.errors import CoverageInputError, NetworkError, UnsafeInputError
from coverage.network import walk_graph
from coverage.network.filter import walk_mask
from coverage.network.osmxml import read_osm_xml
from coverage.network.snap import snap_points
from coverage.params import CoverageParams

TOL = 0.05  # metres: lon/lat round trips through 9 decimals


def metric_xy(gdf):
    g = gdf.to_crs(UTM)
    return np.column_stack([g.geometry.x - ORIGIN[0], g.geometry.y - ORIGIN[1]])


def straight_street(tmp_path, extra_ways=(), extra_nodes=None):
    """One residential street along y=0 from x=0 to x=1000 with a node every 200 m."""
    nodes = {i + 1: (200.0 * i, 0.0) for i in range(6)}
    nodes.update(extra_nodes or {})
    ways = [([1, 2, 3, 4, 5, 6], {"highway": "residential", "name": "海北大街"})] + list(extra_ways)
    return write_osm(tmp_path / "streets.osm", nodes, ways)


def to_abs(xy):
    return np.asarray(xy, dtype=float) + np.array(ORIGIN)


def test_snapping_counts_offset_and_along_edge_legs(tmp_path):
    net = read_osm_xml(straight_street(tmp_path), crs=UTM)
    src = snap_points(net, to_abs([[100, 10]]))       # mid-edge, 10 m off the street
    dst = snap_points(net, to_abs([[700, -20]]))      # mid-edge, 20 m off
    assert src.offset[0] == pytest.approx(10, abs=TOL)
    d, nearest = network_distance(net, src, dst)
    # 10 m to the street + 600 m along it + 20 m to the door
    assert d[0] == pytest.approx(630, abs=TOL)
    assert nearest[0] == 0
    # snapping to the nearest *node* would have said 10+100 .. wrong; and crow flies is shorter
    e, _ = euclidean_distance(to_abs([[100, 10]]), to_abs([[700, -20]]))
    assert e[0] == pytest.approx(np.hypot(600, 30), abs=1e-6)


def test_many_point_snapping_equals_the_geos_nearest_edge(tmp_path, monkeypatch):
    """The sample-index path (many points) gives GEOS's distances exactly; edges differ only at ties."""
    from toycity import street_grid

    import coverage.network.snap as netmod

    nodes, ways = street_grid(width=1600, height=1200)
    nodes.update({9001: (300.0, 310.0), 9002: (420.0, 370.0), 9003: (390.0, 500.0)})  # a bent footway
    ways = list(ways) + [([9001, 9002, 9003], {"highway": "footway"})]
    net = read_osm_xml(write_osm(tmp_path / "g.osm", nodes, ways), crs=UTM)
    rng = np.random.default_rng(4)
    xy = np.vstack([rng.uniform(-50, 1650, (3000, 2)),                      # near the grid
                    rng.uniform(-2000, 3600, (300, 2)),                     # far outside it
                    np.column_stack([rng.uniform(0, 1600, 200), np.full(200, 400.0)])])  # on a street
    xy = to_abs(xy)
    monkeypatch.setattr(netmod, "SNAP_KDTREE_FROM", 10**9)
    geos = snap_points(net, xy)
    monkeypatch.setattr(netmod, "SNAP_KDTREE_FROM", 1)
    fast = snap_points(net, xy)
    assert netmod._snap_by_samples(net, xy)[3].mean() > 0.5          # the sample path does the bulk
    np.testing.assert_allclose(fast.offset, geos.offset, atol=1e-6)
    same = fast.edge == geos.edge
    assert same.mean() > 0.95
    for f in ("along", "x", "y"):
        np.testing.assert_allclose(getattr(fast, f)[same], getattr(geos, f)[same], atol=1e-6)
    # at a tie the other edge is just as near: the snapped point is the same place
    np.testing.assert_allclose(np.c_[fast.x, fast.y][~same], np.c_[geos.x, geos.y][~same], atol=1e-6)
    assert (fast.u == net.edges["u"].to_numpy()[fast.edge]).all()


def test_same_edge_walks_directly_not_via_junctions(tmp_path):
    net = read_osm_xml(straight_street(tmp_path), crs=UTM)
    src = snap_points(net, to_abs([[50, 0]]))
    dst = snap_points(net, to_abs([[150, 5]]))   # same edge 0–200
    d, _ = network_distance(net, src, dst)
    assert d[0] == pytest.approx(105, abs=TOL)


def test_limit_and_multi_source_nearest(tmp_path):
    net = read_osm_xml(straight_street(tmp_path), crs=UTM)
    src = snap_points(net, to_abs([[0, 0], [1000, 0]]))
    dst = snap_points(net, to_abs([[300, 0], [900, 0], [500, 0]]))
    d, nearest = network_distance(net, src, dst)
    assert d == pytest.approx([300, 100, 500], abs=TOL)
    assert list(nearest[:2]) == [0, 1]
    d2, n2 = network_distance(net, src, dst, limit=400)
    assert np.isinf(d2[2]) and n2[2] == -1
    assert d2[:2] == pytest.approx([300, 100], abs=TOL)


def test_motorway_shortcut_is_not_walkable(tmp_path):
    # two streets 400 m apart joined by a residential detour at x=1000 and a motorway at x=0
    nodes = {1: (0, 0), 2: (1000, 0), 3: (0, 400), 4: (1000, 400)}
    ways = [([1, 2], {"highway": "residential"}), ([3, 4], {"highway": "residential"}),
            ([2, 4], {"highway": "residential"}), ([1, 3], {"highway": "motorway", "name": "京藏高速"})]
    net = read_osm_xml(write_osm(tmp_path / "s.osm", nodes, ways), crs=UTM)
    assert net.excluded == {"highway=motorway": 1}
    src = snap_points(net, to_abs([[0, 0]]))
    dst = snap_points(net, to_abs([[0, 400]]))
    d, _ = network_distance(net, src, dst)
    assert d[0] == pytest.approx(1000 + 400 + 1000, abs=TOL)


@pytest.mark.parametrize("tags", [{"highway": "service", "access": "private"}, {"highway": "footway", "foot": "no"},
                                  {"highway": "service", "service": "private"}, {"highway": "cycleway"},
                                  {"highway": "pedestrian", "area": "yes"}, {"highway": "motorway_link"}])
def test_walk_filter_excludes(tags):
    import pandas as pd

    keep, excluded = walk_mask(pd.DataFrame([tags, {"highway": "residential"}]))
    assert list(keep) == [False, True]
    assert sum(excluded.values()) == 1


def test_walk_filter_keeps_footways_and_steps():
    import pandas as pd

    keep, _ = walk_mask(pd.DataFrame([{"highway": h} for h in ("footway", "steps", "path", "pedestrian", "track",
                                                                  "living_street", "primary", "service")]))
    assert keep.all()


def test_one_way_street_is_walkable_both_ways(tmp_path):
    nodes = {1: (0, 0), 2: (500, 0)}
    ways = [([1, 2], {"highway": "residential", "oneway": "yes"})]
    net = read_osm_xml(write_osm(tmp_path / "s.osm", nodes, ways), crs=UTM)
    a = snap_points(net, to_abs([[500, 0]]))
    b = snap_points(net, to_abs([[0, 0]]))
    d_ab, _ = network_distance(net, a, b)   # against the one-way direction
    d_ba, _ = network_distance(net, b, a)
    assert d_ab[0] == pytest.approx(500, abs=TOL) and d_ba[0] == pytest.approx(500, abs=TOL)


def test_barrier_makes_network_longer_than_crow_flies(tmp_path):
    # a river between x=400 and x=600, one bridge at y=1000
    nodes, ways, nid = {}, [], 1
    for x0 in (0, 600):
        ids = []
        for y in range(0, 1001, 100):
            nodes[nid] = (x0 + (400 if x0 == 0 else 0), y)
            ids.append(nid)
            nid += 1
        ways.append((ids, {"highway": "residential"}))
    ways.append(([11, 22], {"highway": "primary", "name": "黄河大桥", "bridge": "yes"}))
    net = read_osm_xml(write_osm(tmp_path / "s.osm", nodes, ways), crs=UTM)
    src = snap_points(net, to_abs([[400, 0]]))
    dst = snap_points(net, to_abs([[600, 0]]))
    d, _ = network_distance(net, src, dst)
    assert d[0] == pytest.approx(1000 + 200 + 1000, abs=TOL)
    e, _ = euclidean_distance(to_abs([[400, 0]]), to_abs([[600, 0]]))
    assert e[0] == pytest.approx(200)


def test_coverage_shares_and_off_network_facility(tmp_path):
    net = read_osm_xml(straight_street(tmp_path), crs=UTM)
    fac = points([{"x": 0, "y": 10, "name": "站A", "kind": "station"},
                  {"x": 500, "y": 900, "name": "远站", "kind": "station"}], crs=UTM)  # 900 m from the street
    fac["counted"] = True
    dem = points([{"x": 300, "y": 0, "population": 100.0}, {"x": 800, "y": 0, "population": 300.0},
                  {"x": 450, "y": -150, "population": 50.0}], crs=UTM)
    dem["community"] = "c"
    dem["subdistrict"] = "s"
    res = measure_coverage(net, fac, dem, CoverageParams(radius_m=500, minutes=15, speed_kmh=4.0, max_snap_m=300))
    d = res.demand
    assert d["dist_network"].to_numpy() == pytest.approx([310, 810, 10 + 450 + 150], abs=TOL)
    assert list(d["covered_radius"]) == [True, False, False]
    assert list(d["covered_walk"]) == [True, True, True]
    # crow flies counts the far station: (450, -150) is ~ 1056 m from it, (300,0) is 300 m from A
    t = res.totals()
    assert t["population"] == 450
    assert t["radius"] == {"population": 100, "share": pytest.approx(100 / 450, abs=1e-6)}
    assert t["walk"]["share"] == 1.0
    reasons = {s.reason: s for s in res.skipped}
    assert reasons["off_network"].count == 1 and "远站" in reasons["off_network"].items[0]
    assert bool(res.facilities["off_network"].iloc[1])


def test_off_network_demand_is_counted_uncovered(tmp_path):
    net = read_osm_xml(straight_street(tmp_path), crs=UTM)
    fac = points([{"x": 500, "y": 0, "name": "A", "kind": "station"}], crs=UTM)
    fac["counted"] = True
    dem = points([{"x": 500, "y": 400, "population": 10.0}, {"x": 500, "y": 5, "population": 30.0}], crs=UTM)
    dem["community"] = "c"
    dem["subdistrict"] = "s"
    res = measure_coverage(net, fac, dem, CoverageParams(max_snap_m=300))
    assert list(res.demand["off_network"]) == [True, False]
    assert list(res.demand["covered_walk"]) == [False, True]
    assert res.totals()["walk"]["population"] == 30
    assert res.totals()["population"] == 40   # nothing dropped from the denominator
    sk = next(s for s in res.skipped if s.layer == "population")
    assert sk.population == 10 and sk.action == "kept"


def test_island_facility_reported(tmp_path):
    nodes = {1: (0, 0), 2: (1000, 0), 3: (0, 2000), 4: (300, 2000)}
    ways = [([1, 2], {"highway": "residential"}), ([3, 4], {"highway": "residential"})]
    net = read_osm_xml(write_osm(tmp_path / "s.osm", nodes, ways), crs=UTM)
    assert net.summary()["components"] == 2
    fac = points([{"x": 100, "y": 2000, "name": "岛上站", "kind": "station"}], crs=UTM)
    fac["counted"] = True
    dem = points([{"x": 200, "y": 0, "population": 5.0}, {"x": 200, "y": 2000, "population": 7.0}], crs=UTM)
    dem["community"] = "c"
    dem["subdistrict"] = "s"
    res = measure_coverage(net, fac, dem)
    assert np.isinf(res.demand["dist_network"].iloc[0])
    assert res.demand["dist_network"].iloc[1] == pytest.approx(100, abs=TOL)
    assert any(s.reason == "on_network_island" for s in res.skipped)


def test_unreadable_and_hostile_osm(tmp_path):
    bad = tmp_path / "streets.osm"
    bad.write_text("this is not xml", encoding="utf-8")
    with pytest.raises(CoverageInputError, match="streets.osm"):
        walk_graph(bad)
    bomb = tmp_path / "bomb.osm"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE osm [<!ENTITY a "aaaa">]><osm>&a;</osm>', encoding="utf-8")
    with pytest.raises(UnsafeInputError):
        walk_graph(bomb)
    only_motorway = write_osm(tmp_path / "m.osm", {1: (0, 0), 2: (100, 0)}, [([1, 2], {"highway": "motorway"})])
    with pytest.raises(NetworkError, match="walk filter"):
        walk_graph(only_motorway)
