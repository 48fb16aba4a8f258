"""Street fragments: residents and facilities snapped onto a piece of street cut off from the rest.

The city is one straight street (y = 0, x 0-1000 m) and a 20 m footway fragment 40 m north of
it (x 600-620). Every distance below is known by construction: the off-network leg, the walk
along the street and the leg at the other end.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from toycity import ORIGIN, UTM, make_toy, points, street_grid, write_osm

from coverage.access import measure_coverage
from coverage.cli import main
from coverage.network.islands import component_street_m, main_components, snap_facility_points
from coverage.network.osmxml import read_osm_xml
from coverage.params import CoverageParams

TOL = 0.05  # metres: lon/lat round trips


@pytest.fixture
def street_and_fragment(tmp_path):
    nodes = {i + 1: (200.0 * i, 0.0) for i in range(6)}
    nodes.update({101: (600.0, 40.0), 102: (620.0, 40.0)})
    ways = [([1, 2, 3, 4, 5, 6], {"highway": "residential"}), ([101, 102], {"highway": "footway"})]
    return read_osm_xml(write_osm(tmp_path / "streets.osm", nodes, ways), crs=UTM)


def layer(rows):
    return points(rows).to_crs(UTM)


def run(net, facilities, demand, **params):
    fac = layer(facilities)
    fac["counted"] = True
    return measure_coverage(net, fac, layer(demand), CoverageParams(**params))


def test_fragment_size_is_street_metres(street_and_fragment):
    street = component_street_m(street_and_fragment)
    assert street.round(1).tolist() == pytest.approx([1000.0, 20.0], abs=0.1)
    assert main_components(street_and_fragment, 1000.0).tolist() == [True, False]
    assert main_components(street_and_fragment, 10.0).tolist() == [True, True]   # 20 m of street is enough
    assert main_components(street_and_fragment, 1000.0, with_facility=np.array([1])).tolist() == [True, True]


def test_resident_beside_a_fragment_moves_to_the_main_street_within_the_tolerance(street_and_fragment):
    fac = [{"x": 100, "y": 5, "name": "站", "kind": "station"}]
    home = [{"x": 610, "y": 45, "population": 30, "community": "甲"}]   # 5 m from the fragment, 45 m from the street
    cov = run(street_and_fragment, fac, home, island_snap_m=50)
    d = cov.demand.iloc[0]
    assert bool(d["moved_off_fragment"]) and not bool(d["on_network_island"])
    assert d["snap_offset_m"] == pytest.approx(45, abs=TOL)
    assert d["dist_network"] == pytest.approx(45 + 510 + 5, abs=TOL)
    moved = [s for s in cov.skipped if s.reason == "moved_off_fragment"]
    assert len(moved) == 1 and moved[0].layer == "population" and moved[0].population == pytest.approx(30)
    assert not [s for s in cov.skipped if s.reason == "on_network_island"]


def test_resident_past_the_tolerance_is_reported_on_network_island_with_its_people(street_and_fragment):
    fac = [{"x": 100, "y": 5, "name": "站", "kind": "station"}]
    home = [{"x": 610, "y": 45, "population": 30, "community": "甲"},
            {"x": 300, "y": -10, "population": 70, "community": "乙"}]
    cov = run(street_and_fragment, fac, home, island_snap_m=30)
    d = cov.demand
    assert d["on_network_island"].tolist() == [True, False]
    assert np.isinf(d["dist_network"].iloc[0]) and not d["covered_walk"].iloc[0]
    assert d["dist_network"].iloc[1] == pytest.approx(10 + 200 + 5, abs=TOL)
    isl = [s for s in cov.skipped if s.reason == "on_network_island"]
    assert len(isl) == 1 and isl[0].layer == "population"
    assert isl[0].count == 1 and isl[0].population == pytest.approx(30) and isl[0].items == ["甲"]
    # 20 m of street counts as main network when fragments are smaller: nothing moved, nothing reported
    cov = run(street_and_fragment, fac, home, island_snap_m=30, fragment_m=10)
    assert not cov.demand["on_network_island"].any() and not cov.skipped


def test_facility_on_a_fragment_moves_too_and_every_walk_starts_from_the_same_street(street_and_fragment):
    fac = [{"x": 610, "y": 43, "name": "站", "kind": "station"}]         # 3 m from the fragment, 43 m from the street
    home = [{"x": 900, "y": -10, "population": 50, "community": "甲"}]
    cov = run(street_and_fragment, fac, home, island_snap_m=50)
    assert bool(cov.facilities["moved_off_fragment"].iloc[0]) and not bool(cov.facilities["island"].iloc[0])
    assert cov.demand["dist_network"].iloc[0] == pytest.approx(43 + 290 + 10, abs=TOL)
    snap = snap_facility_points(street_and_fragment, np.array([[ORIGIN[0] + 610, ORIGIN[1] + 43]]), 1000, 50)
    assert snap.snap.offset[0] == pytest.approx(43, abs=TOL) and snap.moved.tolist() == [True]
    # past the tolerance it stays on its fragment (reported), and the fragment is then main network for homes
    cov = run(street_and_fragment, fac, home + [{"x": 605, "y": 45, "population": 5, "community": "乙"}],
              island_snap_m=30)
    assert bool(cov.facilities["island"].iloc[0])
    assert [s.layer for s in cov.skipped if s.reason == "on_network_island"] == ["facilities"]
    assert np.isinf(cov.demand["dist_network"].iloc[0])
    assert cov.demand["dist_network"].iloc[1] == pytest.approx(5 + 5 + 3, abs=TOL)


def test_plan_names_the_tolerance_and_reports_island_people_in_summary_and_report(tmp_path):
    """A 20 m footway inside a grid block, 90 m from the nearest grid street: its two nodes are homes."""
    folder = make_toy(tmp_path / "toy")
    nodes, ways = street_grid()
    nodes.update({9001: (1090.0, 500.0), 9002: (1110.0, 500.0)})
    write_osm(folder / "streets.osm", nodes, list(ways) + [([9001, 9002], {"highway": "footway"})])
    runs = {}
    for tol in (50, 120):
        out = tmp_path / f"out{tol}"
        assert main(["plan", str(folder), "--out", str(out), "--population-model", "street_nodes",
                     "--isochrone-minutes", "15", "--island-snap-m", str(tol)]) == 0
        runs[tol] = (json.loads((out / "summary.json").read_text(encoding="utf-8")),
                     (out / "report.html").read_text(encoding="utf-8"))
    summary, report = runs[50]
    assert summary["parameters"]["island_snap_m"] == 50 and summary["parameters"]["fragment_m"] == 1000
    isl = [s for s in summary["skipped"] if s["reason"] == "on_network_island"]
    assert len(isl) == 1 and isl[0]["layer"] == "population" and isl[0]["count"] == 2 and isl[0]["population"] > 0
    assert "on_network_island" in report or "孤立" in report
    summary, _ = runs[120]
    moved = [s for s in summary["skipped"] if s["reason"] == "moved_off_fragment"]
    assert [m["count"] for m in moved] == [2] and moved[0]["population"] == pytest.approx(isl[0]["population"])
    assert not [s for s in summary["skipped"] if s["reason"] == "on_network_island"]
    # once moved they are ~90 m + a few hundred metres from 乙一社区卫生服务站: all of them walk to it in time
    gained = summary["coverage"]["walk"]["population"] - runs[50][0]["coverage"]["walk"]["population"]
    assert gained == pytest.approx(isl[0]["population"], abs=0.01)
