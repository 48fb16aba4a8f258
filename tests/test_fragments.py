"""Residents and facilities on small street fragments (issue 16, item 2): known-answer city.

A 400 m grid of 100 m blocks with a facility at its corner (0, 0), and a 20 m
footway fragment at y = 120 m (x 140–160) inside a block, 20 m from the grid's
y = 100 street. A resident at (150, 125) is 5 m from the fragment and 25 m from
the grid. Within the tolerance it walks from the grid: 25 + 150 + 100 = 275 m.
Past it, it is reported as ``on_network_island`` with its people.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from coverage.access import measure_coverage
from coverage.network.fragments import component_length_m
from coverage.network.graph import network_from_edges
from coverage.params import DEFAULT_ISLAND_SNAP_M, CoverageParams

CRS = 32648


def grid_with_fragment() -> object:
    xy, lines, uv = [], [], []
    idx = {}
    for i in range(5):
        for j in range(5):
            idx[i, j] = len(xy)
            xy.append((i * 100.0, j * 100.0))
    for (i, j), a in idx.items():
        for b in (idx.get((i + 1, j)), idx.get((i, j + 1))):
            if b is not None:
                uv.append((a, b))
                lines.append(shapely.LineString([xy[a], xy[b]]))
    a = len(xy)
    xy += [(140.0, 120.0), (160.0, 120.0)]
    uv.append((a, a + 1))
    lines.append(shapely.LineString([xy[a], xy[a + 1]]))
    e = gpd.GeoDataFrame({"u": [p[0] for p in uv], "v": [p[1] for p in uv], "highway": "footway"},
                         geometry=lines, crs=CRS)
    return network_from_edges(e, np.array(xy))


def layers(fac_xy=(0.0, 0.0)):
    fac = gpd.GeoDataFrame({"name": ["clinic"], "counted": [True]}, geometry=[shapely.Point(fac_xy)], crs=CRS)
    dem = gpd.GeoDataFrame({"population": [40.0, 10.0], "community": "c", "subdistrict": "s"},
                           geometry=[shapely.Point(150, 125), shapely.Point(300, 310)], crs=CRS)
    return fac, dem


def test_fragment_size_is_metres_of_street():
    net = grid_with_fragment()
    lengths = component_length_m(net)
    assert lengths.round(6).tolist() == [4000.0, 20.0]  # 40 grid edges of 100 m, the 20 m footway


def test_resident_within_tolerance_snaps_to_the_main_network():
    net = grid_with_fragment()
    fac, dem = layers()
    assert DEFAULT_ISLAND_SNAP_M >= 25
    cov = measure_coverage(net, fac, dem, CoverageParams())
    d = cov.demand
    assert d["dist_network"].tolist() == pytest.approx([275.0, 10.0 + 300 + 300])
    assert d["snap_offset_m"].iloc[0] == pytest.approx(25.0)
    assert not d["on_island"].any()
    assert not [s for s in cov.skipped if s.reason == "on_network_island"]


def test_resident_past_tolerance_is_reported_with_its_people():
    net = grid_with_fragment()
    fac, dem = layers()
    cov = measure_coverage(net, fac, dem, CoverageParams(island_snap_m=20))
    d = cov.demand
    assert np.isinf(d["dist_network"].iloc[0]) and not d["covered_walk"].iloc[0]
    assert d["on_island"].tolist() == [True, False]
    rec = [s for s in cov.skipped if s.reason == "on_network_island"]
    assert len(rec) == 1 and rec[0].layer == "population" and rec[0].count == 1 and rec[0].population == 40.0
    assert rec[0].action == "kept"


def test_fragment_bigger_than_the_threshold_is_not_a_fragment():
    net = grid_with_fragment()
    fac, dem = layers()
    cov = measure_coverage(net, fac, dem, CoverageParams(fragment_m=10))  # the 20 m piece is now a network
    assert np.isinf(cov.demand["dist_network"].iloc[0])
    assert not cov.demand["on_island"].any()


def test_facility_on_the_fragment_moves_to_the_grid_within_tolerance():
    net = grid_with_fragment()
    fac, dem = layers(fac_xy=(150.0, 121.0))  # 1 m from the fragment, 21 m from the grid
    cov = measure_coverage(net, fac, dem, CoverageParams())
    assert not cov.facilities["island"].any()
    # resident at (150,125) snaps (fragment reaches no facility) to (150,100); facility at (150,100): 25 + 21
    assert cov.demand["dist_network"].iloc[0] == pytest.approx(46.0)
    far = measure_coverage(net, fac, dem, CoverageParams(island_snap_m=10))
    assert far.facilities["island"].tolist() == [True]
    assert [s.count for s in far.skipped if s.reason == "on_network_island" and s.layer == "facilities"] == [1]
    # the fragment now reaches the facility: the resident stays on it (5 + 0 along, facility 1 m off)
    assert far.demand["dist_network"].iloc[0] == pytest.approx(6.0)
