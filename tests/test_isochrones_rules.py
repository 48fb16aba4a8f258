"""Isochrones from reached edges, and rule verdicts, on constructed cases."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from toycity import ORIGIN, UTM, points, street_grid, write_osm

from coverage.errors import ValueInputError
from coverage.isochrones import isochrones, reached_lines
from coverage.network.osmxml import read_osm_xml
from coverage.params import CoverageParams
from coverage.rules import check_rules, stations_required


def test_isochrone_cuts_partial_edges_at_the_limit(tmp_path):
    nodes = {i + 1: (200.0 * i, 0.0) for i in range(6)}   # 0..1000 m
    nodes[7] = (500.0, 600.0)                                # a side street north from x=500? no: from node at 400
    ways = [([1, 2, 3, 4, 5, 6], {"highway": "residential"}), ([3, 7], {"highway": "footway"})]
    net = read_osm_xml(write_osm(tmp_path / "s.osm", nodes, ways), crs=UTM)
    fac = points([{"x": 500, "y": 0, "name": "站", "kind": "station"}], crs=UTM)
    params = CoverageParams(speed_kmh=4.0)
    iso = isochrones(net, fac, minutes=[5], params=params, buffer_m=20, fill_holes_m2=0, method="vector")
    poly = iso.geometry.iloc[0]
    lim = 5 * 4000 / 60   # 333.33 m
    def at(x, y):
        return shapely.Point(ORIGIN[0] + x, ORIGIN[1] + y)
    assert poly.contains(at(500 + lim - 5, 0)) and poly.contains(at(500 - lim + 5, 0))
    assert not poly.contains(at(500 + lim + 25, 0)) and not poly.contains(at(500 - lim - 25, 0))
    # the footway starts at x=400 (100 m walked): 233 m of it are reached, along a slanted line
    side = shapely.LineString([(ORIGIN[0] + 400, ORIGIN[1]), (ORIGIN[0] + 500, ORIGIN[1] + 600)])
    inside = shapely.intersection(side, poly).length
    assert inside == pytest.approx(lim - 100 + 20 / np.sin(np.arctan2(600, 100)), abs=2.0)
    assert iso["minutes"].tolist() == [5] and iso["distance_m"].iloc[0] == pytest.approx(lim, abs=1e-3)


def test_isochrone_is_not_a_convex_hull(tmp_path):
    # an L-shaped street: the hull would cover the empty corner
    nodes = {1: (0, 0), 2: (400, 0), 3: (400, 400)}
    net = read_osm_xml(write_osm(tmp_path / "s.osm", nodes, [([1, 2, 3], {"highway": "residential"})]), crs=UTM)
    fac = points([{"x": 400, "y": 0, "name": "站", "kind": "station"}], crs=UTM)
    for method in ("vector", "raster"):
        iso = isochrones(net, fac, minutes=[15], buffer_m=30, fill_holes_m2=0, method=method)
        poly = iso.geometry.iloc[0]
        assert not poly.contains(shapely.Point(ORIGIN[0] + 100, ORIGIN[1] + 300))
        assert poly.area < 0.5 * poly.convex_hull.area


@pytest.mark.parametrize("cell", [5.0, 12.5])
def test_raster_outline_matches_the_exact_buffer(tmp_path, cell):
    """The contoured outline is the exact buffer of the reached lines, to within a cell (~1 m on average)."""
    nodes, ways = street_grid(width=1600, height=1600)
    net = read_osm_xml(write_osm(tmp_path / "g.osm", nodes, ways), crs=UTM)
    fac = points([{"x": 730, "y": 800, "name": "站", "kind": "station"}], crs=UTM)   # mid-edge
    exact = isochrones(net, fac, buffer_m=40, fill_holes_m2=0, method="vector")
    traced = isochrones(net, fac, buffer_m=40, fill_holes_m2=0, method="raster", cell_m=cell)
    for a, b in zip(exact.geometry, traced.geometry):
        assert b.is_valid
        assert a.hausdorff_distance(b) <= cell          # no point of either outline is a cell off the other
        assert abs(a.area - b.area) / a.area < 0.015
        assert a.symmetric_difference(b).area / a.length < 1.0   # mean offset along the outline, metres
    # reached node 200 m east along the same street (5-min = 333 m from x=730): inside; 400 m: outside
    def at(x, y):
        return shapely.Point(ORIGIN[0] + x, ORIGIN[1] + y)
    five = traced.geometry.iloc[0]
    assert five.contains(at(1000, 800)) and not five.contains(at(1200, 860))


def test_threads_draw_the_same_polygons(tmp_path):
    nodes, ways = street_grid(width=1200, height=1200)
    net = read_osm_xml(write_osm(tmp_path / "g.osm", nodes, ways), crs=UTM)
    fac = points([{"x": 130 + 200 * i, "y": 500, "name": f"站{i}", "kind": "station"} for i in range(5)], crs=UTM)
    one = isochrones(net, fac, workers=1)
    three = isochrones(net, fac, workers=3, batch=2)   # batches and threads interleave
    assert one.drop(columns="geometry").equals(three.drop(columns="geometry"))
    assert all(a.equals(b) for a, b in zip(one.geometry, three.geometry))
    with pytest.raises(ValueInputError, match="workers"):
        isochrones(net, fac, workers=0)


def test_raster_outline_of_one_oblique_street_is_the_capsule():
    """The field is the exact distance to the street piece: only marching squares' interpolation is left."""
    from coverage.isoraster import trace_polygon

    traced = trace_polygon(np.array([[0.0, 0.0, 300.0, 170.0]]), 40, 0, 12.5)
    capsule = shapely.LineString([(0, 0), (300, 170)]).buffer(40, quad_segs=64)
    assert traced.area == pytest.approx(capsule.area, rel=0.005)
    assert traced.hausdorff_distance(capsule) < 1.0                          # < a tenth of a cell
    assert traced.symmetric_difference(capsule).area / capsule.length < 0.2  # mean offset, metres


def test_raster_fills_small_holes_and_keeps_big_ones():
    """A ring of street around a 100 m block fills; around a 400 m block the hole stays."""
    from coverage.isoraster import trace_polygon

    def ring(side):  # four straight pieces x0, y0, x1, y1
        c = np.array([(0, 0), (side, 0), (side, side), (0, side), (0, 0)], dtype=float)
        return np.column_stack([c[:-1], c[1:]])

    small = trace_polygon(ring(100), 20, 40_000, 10)
    big = trace_polygon(ring(400), 20, 40_000, 10)
    assert len(small.interiors) == 0 and small.area == pytest.approx(140 * 140, rel=0.03)
    assert len(big.interiors) == 1
    hole = shapely.Polygon(big.interiors[0])
    assert hole.area == pytest.approx(360 * 360, rel=0.02)   # the block shrunk by the 20 m buffer
    assert trace_polygon(np.zeros((0, 4)), 20, 0, 10).is_empty


def test_reached_lines_total_length(tmp_path):
    # a single 1000 m edge after simplification; its ends reached at 100 m and 900 m
    nodes = {i + 1: (100.0 * i, 0.0) for i in range(11)}
    net = read_osm_xml(write_osm(tmp_path / "s.osm", nodes, [(list(nodes), {"highway": "residential"})]), crs=UTM)
    assert len(net.edges) == 1
    node_dist = np.where(net.node_x < ORIGIN[0] + 500, 100.0, 900.0)
    lines = reached_lines(net, node_dist, 250)
    assert sum(ln.length for ln in lines) == pytest.approx(150, abs=1e-6)
    assert sum(ln.length for ln in reached_lines(net, node_dist, 1000)) == pytest.approx(1000, abs=1e-6)
    assert sum(ln.length for ln in reached_lines(net, node_dist, 950)) == pytest.approx(850 + 50, abs=1e-6)


@pytest.mark.parametrize("n,req", [(0, 0), (1, 1), (2, 1), (3, 2), (8, 4), (9, 5)])
def test_stations_required(n, req):
    assert stations_required(n) == req


def test_rule_verdicts():
    subs = gpd.GeoDataFrame({"name": ["甲街道", "乙街道", "丙街道"], "code": ["1", "2", "3"]},
                            geometry=[shapely.box(0, 0, 1, 1)] * 3)
    comms = pd.DataFrame({"name": list("abcdefg"), "subdistrict": ["甲街道"] * 3 + ["乙街道"] * 4})
    fac = pd.DataFrame({"kind": ["centre", "station", "station", "station", "hospital", "station"],
                        "subdistrict": ["甲街道", "甲街道", "甲街道", "乙街道", "乙街道", None]})
    cov = pd.DataFrame({"population": [100.0, 50.0], "radius_share": [1.0, 0.5], "radius_euclidean_share": [1.0, 1.0],
                        "walk_share": [1.0, 1.0]}, index=["甲街道", "乙街道"])
    r = check_rules(subs, comms, fac, cov).set_index("name")
    assert r.loc["甲街道", ["centres", "stations", "stations_required"]].tolist() == [1, 2, 2]
    assert r.loc["甲街道", "centre_rule"] and r.loc["甲街道", "station_rule"] and r.loc["甲街道", "passes"]
    assert not r.loc["乙街道", "centre_rule"] and not r.loc["乙街道", "station_rule"]  # 1 station < 2 required
    assert not r.loc["乙街道", "radius_rule"] and r.loc["乙街道", "walk_rule"]
    # a subdistrict with no community and no residents: station rule holds (0 required), centre rule fails
    assert r.loc["丙街道", "stations_required"] == 0 and r.loc["丙街道", "station_rule"]
    assert not r.loc["丙街道", "centre_rule"] and pd.isna(r.loc["丙街道", "radius_share"])
    r90 = check_rules(subs, comms, fac, cov, target_share=0.5).set_index("name")
    assert r90.loc["乙街道", "radius_rule"]
