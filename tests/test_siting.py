"""Station siting on toy cities whose optimal answers follow from their construction.

Networks are built directly in UTM 48N metres (no simplification), so every
street node stays a candidate and network distances are known: along a
straight street they are differences of x, on a complete grid with residents
and sites on nodes they are Manhattan distances. Each optimum is also checked
by brute force over the candidates with such an oracle, independent of the
implementation.
"""

from __future__ import annotations

import itertools
import json

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from toycity import ORIGIN, UTM, points, polygons, street_grid, write_osm

from coverage.access import network_distance
from coverage.cli import main
from coverage.errors import ValueInputError
from coverage.network.graph import network_from_edges
from coverage.network.snap import snap_points
from coverage.outputs.files import write_proposals
from coverage.outputs.mapview import add_proposals_to_map
from coverage.params import CoverageParams
from coverage.pipeline import run_plan
from coverage.siting.candidates import CandidateSet, layer_candidates, node_candidates
from coverage.siting.centres import best_centre
from coverage.siting.propose import propose_sites
from coverage.siting.reach import _distances_from, reach_matrix
from coverage.study import build_study_area

ORIGIN_XY = np.array(ORIGIN)


# --------------------------------------------------------------------------
# builders
# --------------------------------------------------------------------------


def network(node_xy, edges, names=None):
    """A WalkNetwork from local node coordinates and (a, b) node pairs (straight edges)."""
    xy = np.asarray(node_xy, dtype=float) + ORIGIN_XY
    e = np.asarray(edges)
    geoms = [shapely.LineString([xy[a], xy[b]]) for a, b in e]
    gdf = gpd.GeoDataFrame({"u": e[:, 0], "v": e[:, 1],
                            "name": names if names is not None else [f"路{i}" for i in range(len(e))]},
                           geometry=geoms, crs=UTM)
    return network_from_edges(gdf, xy, source="test")


def line_network(length=3000, step=100):
    xs = np.arange(0, length + 1, step)
    return network(np.column_stack([xs, np.zeros_like(xs)]), [(i, i + 1) for i in range(len(xs) - 1)],
                   names=["海北大街"] * (len(xs) - 1)), xs


def grid_network(nx_, ny_, step=100):
    xy = [(i * step, j * step) for j in range(ny_) for i in range(nx_)]
    edges = [(j * nx_ + i, j * nx_ + i + 1) for j in range(ny_) for i in range(nx_ - 1)]
    edges += [(j * nx_ + i, (j + 1) * nx_ + i) for j in range(ny_ - 1) for i in range(nx_)]
    return network(xy, edges), np.asarray(xy, dtype=float)


def study_of(net, pop_rows, subdistricts, communities, facilities=None, candidates=None, exclusions=None):
    facilities = facilities or [{"x": -150, "y": -150, "name": "乌海市人民医院", "kind": "医院"}]  # listed, not counted
    return build_study_area(
        net, polygons(subdistricts), polygons(communities), points(facilities), points(pop_rows),
        candidates=points(candidates) if candidates else None,
        exclusions=polygons(exclusions) if exclusions else None, crs=UTM)


def plan(study, **params):
    return run_plan(study, CoverageParams(**params), isochrone_minutes=(15,))


def local_xy(proposals):
    g = proposals.to_crs(UTM)
    return np.column_stack([g.geometry.x - ORIGIN_XY[0], g.geometry.y - ORIGIN_XY[1]])


# the line of villages: a street from x=0 to 3000 with a node every 100 m, a village every 100 m at
# x = 50, 150, ..., 2950, 10 m off the street. Radius 430 m: a station at node X reaches villages with
# 10 + |x - X| <= 430, i.e. exactly 8 villages, so 30 villages need ceil(30 / 8) = 4 stations.
LINE_R = 430.0
VILLAGE_X = np.arange(50, 3000, 100, dtype=float)


def line_study(pops=None, extra_pop=(), exclusions=None):
    net, xs = line_network()
    pops = np.full(len(VILLAGE_X), 100.0) if pops is None else pops
    rows = [{"x": x, "y": 10, "population": float(p)} for x, p in zip(VILLAGE_X, pops)] + list(extra_pop)
    subs = [{"name": "海北街道", "code": "150302001", "bounds": (-200, -1200, 3200, 1200)}]
    comms = [{"name": "东社区", "subdistrict": "海北街道", "bounds": (-200, -1200, 1500, 1200)},
             {"name": "西社区", "subdistrict": "海北街道", "bounds": (1500, -1200, 3200, 1200)}]
    return study_of(net, rows, subs, comms, exclusions=exclusions), xs


def village_reach(node_x):
    """Oracle: (villages × nodes) reach along the straight street."""
    return 10 + np.abs(VILLAGE_X[:, None] - np.asarray(node_x, float)[None, :]) <= LINE_R


def brute_min_cover(R):
    for k in range(1, R.shape[1] + 1):
        for combo in itertools.combinations(range(R.shape[1]), k):
            if R[:, combo].any(axis=1).all():
                return k, combo
    return None, None


# --------------------------------------------------------------------------
# set covering, maximal covering, exclusions, unreachable demand
# --------------------------------------------------------------------------


def test_line_of_villages_needs_exactly_k_stations():
    study, xs = line_study()
    result = plan(study, radius_m=LINE_R)
    assert result.coverage.totals()["radius"]["share"] == 0  # the hospital does not count
    k, _ = brute_min_cover(village_reach(xs))
    assert k == 4
    s = propose_sites(result, sites="auto")
    assert len(s.proposals) == k
    assert s.solve.status == "optimal" and s.info["gap"] == 0
    assert set(s.proposals["kind"]) == {"station"} and set(s.proposals["source"]) == {"node"}
    # the chosen nodes cover every village by the oracle, too
    chosen_x = local_xy(s.proposals)[:, 0]
    assert village_reach(chosen_x).any(axis=1).all()
    # ranks are by marginal gain and add up to everybody
    adds = s.proposals["adds_population"].to_numpy()
    assert list(s.proposals["rank"]) == [1, 2, 3, 4]
    assert np.all(np.diff(adds) <= 1e-9) and adds.sum() == pytest.approx(3000)
    assert s.after["radius"]["share"] == pytest.approx(1.0) and s.info["target_met"] is True
    assert all(p["serves"] == ["radius_coverage"] for p in s.summary_fields()["proposals"])
    assert s.summary_fields()["proposals"][0]["nearest_street"] == "海北大街"
    assert len(s.isochrones) == k


def test_maximal_covering_with_one_site_picks_the_best_node():
    rng = np.random.default_rng(7)
    pops = rng.integers(50, 400, len(VILLAGE_X)).astype(float)
    study, xs = line_study(pops)
    result = plan(study, radius_m=LINE_R)
    gain = pops @ village_reach(xs)
    order = np.argsort(-gain)
    assert gain[order[0]] > gain[order[1]]  # the best node is unique
    s = propose_sites(result, sites=1)
    assert len(s.proposals) == 1 and s.info["mode"] == "maximal_covering"
    assert local_xy(s.proposals)[0, 0] == pytest.approx(xs[order[0]], abs=0.01)
    assert s.proposals["node_id"].iloc[0] == order[0]  # node ids are positions here
    assert s.proposals["adds_population"].iloc[0] == pytest.approx(gain[order[0]])
    assert s.after["radius"]["population"] == pytest.approx(gain[order[0]])


def test_exclusion_polygons_remove_candidates():
    # a park over x = 1150..1850 holds the 7 nodes 1200..1800
    study, xs = line_study(exclusions=[{"name": "人民公园", "bounds": (1150, -50, 1850, 50)}])
    result = plan(study, radius_m=LINE_R)
    s = propose_sites(result, sites="auto", candidates="nodes")
    assert s.info["candidates_excluded"] == 7 and s.info["candidates"] == len(xs) - 7
    x = local_xy(s.proposals)[:, 0]
    assert not np.any((x > 1150) & (x < 1850))
    allowed = xs[(xs < 1150) | (xs > 1850)]
    k, _ = brute_min_cover(village_reach(allowed))
    assert len(s.proposals) == k and s.after["radius"]["share"] == pytest.approx(1.0)
    # an explicit exclusions layer replaces the study's
    s2 = propose_sites(result, sites="auto", exclusions=polygons([{"bounds": (-50, -50, 650, 50)}]))
    assert s2.info["candidates_excluded"] == 7
    assert not np.any(local_xy(s2.proposals)[:, 0] < 650)


def test_unreachable_demand_is_reported_not_infeasible():
    far = [{"x": 1500, "y": 1000, "population": 50.0}]  # 1 km from the only street: beyond max_snap_m
    study, _ = line_study(extra_pop=far)
    result = plan(study, radius_m=LINE_R)
    s = propose_sites(result, sites="auto")
    assert s.info["unreachable_population"] == pytest.approx(50)
    assert s.info["target_met"] is False
    assert "cannot be met" in s.info["note"]
    assert len(s.proposals) == 4
    assert s.after["radius"]["population"] == pytest.approx(3000)
    assert s.after["radius"]["share"] == pytest.approx(3000 / 3050, abs=1e-6)


# --------------------------------------------------------------------------
# grid cities
# --------------------------------------------------------------------------

GRID_SUBS = [{"name": "甲街道", "code": "150302001", "bounds": (-100, -100, 650, 700)},
             {"name": "乙街道", "code": "150302002", "bounds": (650, -100, 1300, 700)}]
GRID_COMMS = [{"name": "甲一社区", "subdistrict": "甲街道", "bounds": (-100, -100, 650, 300)},
              {"name": "甲二社区", "subdistrict": "甲街道", "bounds": (-100, 300, 650, 700)},
              {"name": "乙一社区", "subdistrict": "乙街道", "bounds": (650, -100, 1300, 150)},
              {"name": "乙二社区", "subdistrict": "乙街道", "bounds": (650, 150, 1300, 300)},
              {"name": "乙三社区", "subdistrict": "乙街道", "bounds": (650, 300, 1300, 450)},
              {"name": "乙四社区", "subdistrict": "乙街道", "bounds": (650, 450, 1300, 700)}]


def test_two_dominant_candidates_on_a_grid():
    net, _ = grid_network(13, 7)
    # two clusters of five homes (3 m up the streets from the nodes) around (300, 300) and (900, 300)
    rows = [{"x": cx + dx, "y": 300 + dy + 3, "population": p}
            for cx, p in ((300, 100.0), (900, 200.0)) for dx, dy in ((0, 0), (-100, 0), (100, 0), (0, -100), (0, 100))]
    cands = [{"x": 300, "y": 305, "name": "A"}, {"x": 900, "y": 305, "name": "B"},
             {"x": 600, "y": 305, "name": "C"}, {"x": 0, "y": 0, "name": "D"}, {"x": 1200, "y": 600, "name": "E"},
             {"x": 600, "y": 2000, "name": "F (too far)"}]
    study = study_of(net, rows, GRID_SUBS, GRID_COMMS, candidates=cands)
    result = plan(study, radius_m=250)
    s = propose_sites(result, sites="auto")  # the layer is the default source when the study has one
    assert s.info["candidate_source"] == "layer"
    assert s.info["candidates"] == 5 and s.info["candidates_off_network"] == 1
    # D and E reach nobody and drop out; C reaches one home of each cluster but is never needed
    assert s.info["candidates_reduced"] == 3
    assert sorted(s.proposals["name"]) == ["A", "B"]
    assert list(s.proposals["name"]) == ["B", "A"]  # B adds 1000 people, A 500
    assert list(s.proposals["adds_population"]) == pytest.approx([1000, 500])
    assert s.after["radius"]["share"] == pytest.approx(1.0)
    # both sources together: still two sites
    s2 = propose_sites(result, sites="auto", candidates="both")
    assert len(s2.proposals) == 2 and s2.info["candidates"] == 13 * 7 + 5


def manhattan_share(homes, pops, sites, radius):
    d = np.abs(homes[:, None, :] - sites[None, :, :]).sum(axis=2).min(axis=1)
    return float(pops[d <= radius].sum() / pops.sum())


def test_after_really_reaches_the_target_when_rechecked():
    net, xy = grid_network(7, 5)  # residents on every node of a complete 600 x 400 m grid
    rng = np.random.default_rng(3)
    pops = rng.integers(10, 100, len(xy)).astype(float)
    rows = [{"x": x, "y": y, "population": p} for (x, y), p in zip(xy, pops)]
    fac = [{"x": 0, "y": 0, "name": "甲街道社区卫生服务中心", "kind": "社区卫生服务中心"}]
    study = study_of(net, rows, GRID_SUBS, GRID_COMMS, facilities=fac)
    result = plan(study, radius_m=250, target_share=0.8)
    before = result.coverage.totals()["radius"]["share"]
    assert before == pytest.approx(manhattan_share(xy, pops, np.array([[0.0, 0.0]]), 250), abs=1e-6)
    assert before < 0.8
    s = propose_sites(result, sites="auto")
    sites = np.vstack([[0.0, 0.0], np.round(local_xy(s.proposals), 3)])
    oracle = manhattan_share(xy, pops, sites, 250)
    assert s.after["radius"]["share"] == pytest.approx(oracle, abs=1e-6)
    assert oracle >= 0.8 and s.info["target_met"] is True
    # and it is the fewest: no smaller set of nodes reaches 80 % (brute force over the oracle)
    d = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2) <= 250
    have = np.abs(xy - [0, 0]).sum(axis=1) <= 250
    k = len(s.proposals)
    assert k >= 2
    best = max(pops[have | d[:, list(c)].any(axis=1)].sum() for c in itertools.combinations(range(len(xy)), k - 1))
    assert best / pops.sum() < 0.8
    # site_for="walk" with target_share given here: within 15 min at 4 km/h = 1000 m everybody is reachable
    s_walk = propose_sites(result, sites="auto", site_for="walk", target_share=1.0)
    assert s_walk.after["walk"]["share"] == pytest.approx(1.0) and s_walk.info["threshold_m"] == 1000


def test_rules_add_stations_and_a_centre_where_missing():
    net, xy = grid_network(13, 7)
    pops = np.full(len(xy), 10.0)
    heavy = (xy[:, 0] == 1000) & (xy[:, 1] == 400)
    pops[heavy] = 2000.0
    rows = [{"x": x, "y": y, "population": p} for (x, y), p in zip(xy, pops)]
    fac = [{"x": 300, "y": 300, "name": "甲街道社区卫生服务中心", "kind": "社区卫生服务中心"},
           {"x": 100, "y": 500, "name": "甲一社区卫生服务站", "kind": "社区卫生服务站"}]
    study = study_of(net, rows, GRID_SUBS, GRID_COMMS, facilities=fac)
    result = plan(study, radius_m=250, target_share=0.0)
    r = result.rules.set_index("name")
    assert r.loc["乙街道", "centres"] == 0 and r.loc["乙街道", "stations_required"] == 2
    assert r.loc["甲街道", "station_rule"] and r.loc["甲街道", "centre_rule"]
    s = propose_sites(result, sites="auto", rules=True)
    p = s.proposals
    assert set(p["subdistrict"]) == {"乙街道"}
    centre = p[p["kind"] == "centre"]
    stations = p[p["kind"] == "station"]
    assert len(centre) == 1 and "centre_rule" in centre["serves"].iloc[0]
    assert len(stations) == 2 and all("station_rule" in x for x in stations["serves"])
    # the centre: population-weighted 1-median of 乙街道's residents over its nodes (Manhattan oracle)
    east = xy[:, 0] > 650
    cost = np.abs(xy[east][:, None, :] - xy[east][None, :, :]).sum(axis=2).T @ pops[east]
    order = np.argsort(cost)
    assert cost[order[0]] < cost[order[1]]
    assert local_xy(centre)[0] == pytest.approx(xy[east][order[0]], abs=0.01)
    assert "centre for 乙街道" in s.info["note"]
    # with the rules in maximal covering, N counts stations only; too few is refused
    s2 = propose_sites(result, sites=3, rules=True)
    assert (s2.proposals["kind"] == "station").sum() <= 3 and (s2.proposals["kind"] == "centre").sum() == 1
    with pytest.raises(ValueInputError, match="fewer than the 2 new station"):
        propose_sites(result, sites=1, rules=True)


# --------------------------------------------------------------------------
# the reach matrix and the centre search against brute force
# --------------------------------------------------------------------------


def jittered_grid(n=14, step=100.0, seed=3, drop=0.15):
    rng = np.random.default_rng(seed)
    xy = np.array([(i * step + rng.uniform(-step / 4, step / 4), j * step + rng.uniform(-step / 4, step / 4))
                   for j in range(n) for i in range(n)])
    e = [(j * n + i, j * n + i + 1) for j in range(n) for i in range(n - 1)]
    e += [(j * n + i, (j + 1) * n + i) for j in range(n - 1) for i in range(n)]
    e = np.array(e)
    e = e[rng.random(len(e)) > drop]  # removed links: detours and a few islands
    xy_abs = xy + ORIGIN_XY
    geoms = [shapely.LineString([xy_abs[a], (xy_abs[a] + xy_abs[b]) / 2 + rng.uniform(-6, 6, 2), xy_abs[b]])
             for a, b in e]
    gdf = gpd.GeoDataFrame({"u": e[:, 0], "v": e[:, 1]}, geometry=geoms, crs=UTM)
    return network_from_edges(gdf, xy_abs), rng


def test_reach_matrix_equals_brute_force_distances():
    net, rng = jittered_grid()
    assert net.summary()["components"] >= 1
    homes = snap_points(net, rng.uniform(-60, 1360, (300, 2)) + ORIGIN_XY)
    layer = gpd.GeoDataFrame({"name": [f"c{i}" for i in range(60)]},
                             geometry=shapely.points(rng.uniform(0, 1300, (60, 2)) + ORIGIN_XY), crs=UTM)
    lc, _ = layer_candidates(net, layer, 300)
    cands = CandidateSet.concat([node_candidates(net), lc])
    for threshold in (250.0, 430.0):
        # a tiny max_block forces many batches and sub-networks
        R = reach_matrix(net, homes, cands, threshold, max_block=2000).toarray()
        D = _distances_from(net, cands, homes)
        for j in range(len(cands)):
            d, _ = network_distance(net, snap_points(net, np.array([[cands.x[j], cands.y[j]]])), homes)
            assert np.array_equal(np.isfinite(d), np.isfinite(D[j]))
            assert np.allclose(d[np.isfinite(d)], D[j][np.isfinite(d)], atol=1e-6)
            assert np.array_equal(d <= threshold, R[:, j]), (threshold, j)
    active = np.arange(len(homes)) % 2 == 0
    Ra = reach_matrix(net, homes, cands, 430.0, active=active)
    assert Ra[~active].nnz == 0 and (Ra[active] != reach_matrix(net, homes, cands, 430.0)[active]).nnz == 0


@pytest.mark.parametrize("seed, chunk", [(11, 8), (12, 1), (13, 64)])
def test_best_centre_equals_brute_force(seed, chunk):
    net, rng = jittered_grid(seed=seed, drop=0.25)
    homes = snap_points(net, rng.uniform(0, 1300, (200, 2)) + ORIGIN_XY)
    w = rng.integers(1, 100, len(homes)).astype(float)
    layer = gpd.GeoDataFrame(geometry=shapely.points(rng.uniform(0, 1300, (30, 2)) + ORIGIN_XY), crs=UTM)
    cands = CandidateSet.concat([node_candidates(net), layer_candidates(net, layer, 300)[0]])
    j, mean, unreach = best_centre(net, homes, w, cands, chunk=chunk)
    D = _distances_from(net, cands, homes)
    unreach_all = np.where(np.isfinite(D), 0.0, 1.0) @ w
    total = np.where(np.isfinite(D), D, 0.0) @ w
    key = np.lexsort((total, unreach_all))
    assert j == key[0]
    assert unreach == pytest.approx(unreach_all[j])
    assert mean == pytest.approx(total[j] / (w.sum() - unreach_all[j]))


# --------------------------------------------------------------------------
# arguments, map, CLI
# --------------------------------------------------------------------------


def test_bad_arguments_say_what_is_wrong():
    study, _ = line_study()
    result = plan(study, radius_m=LINE_R)
    with pytest.raises(ValueInputError, match=r"sites \(--sites\) must be 'auto'"):
        propose_sites(result, sites="many")
    with pytest.raises(ValueInputError, match=r"sites \(--sites\) must be 'auto'"):
        propose_sites(result, sites=True)
    with pytest.raises(ValueInputError, match="site_for"):
        propose_sites(result, site_for="bus")
    with pytest.raises(ValueInputError, match="needs a candidates layer"):
        propose_sites(result, candidates="layer")
    with pytest.raises(ValueInputError, match="target_share"):
        propose_sites(result, target_share=1.5)


def test_map_layers_escape_names_and_console_line(tmp_path):
    net, _ = grid_network(13, 7)
    rows = [{"x": 300, "y": 303, "population": 100.0}]
    cands = [{"x": 300, "y": 305, "name": "<b>bold</b>"}]
    study = study_of(net, rows, GRID_SUBS, GRID_COMMS, candidates=cands)
    s = propose_sites(plan(study, radius_m=250), sites="auto")
    m = folium.Map()
    add_proposals_to_map(s, m, "en")
    folium.LayerControl().add_to(m)  # layer names show in the control
    page = m.get_root().render()
    assert "Proposed stations" in page and "Isochrones of proposed stations" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page
    line = s.one_line()
    assert "建议新增" in line and "1 station(s)" in line and "100.0%" in line
    files = write_proposals(s, tmp_path)
    fc = json.loads(files["proposals.geojson"].read_text(encoding="utf-8"))
    assert fc["features"][0]["properties"]["name"] == "<b>bold</b>"


@pytest.fixture
def toy_folder(tmp_path):
    """Two subdistricts on a 200 m grid; 乙街道 has four communities, no centre, one station."""
    folder = tmp_path / "toy"
    folder.mkdir()
    nodes, ways = street_grid()
    write_osm(folder / "streets.osm", nodes, ways)
    polygons([{"name": "甲街道", "code": "150302901", "bounds": (-100, -100, 1100, 1100)},
              {"name": "乙街道", "code": "150302902", "bounds": (1100, -100, 2100, 1100)}]
             ).to_file(folder / "subdistricts.geojson")
    polygons([{"name": "甲一社区", "subdistrict": "甲街道", "population": 1000, "bounds": (-100, -100, 1100, 1100)},
              {"name": "乙一社区", "subdistrict": "乙街道", "population": 3000, "bounds": (1100, -100, 1600, 500)},
              {"name": "乙二社区", "subdistrict": "乙街道", "population": 500, "bounds": (1600, -100, 2100, 500)},
              {"name": "乙三社区", "subdistrict": "乙街道", "population": 500, "bounds": (1100, 500, 1600, 1100)},
              {"name": "乙四社区", "subdistrict": "乙街道", "population": 500, "bounds": (1600, 500, 2100, 1100)}]
             ).to_file(folder / "communities.geojson")
    points([{"x": 0, "y": 0, "name": "甲街道社区卫生服务中心", "kind": "社区卫生服务中心"},
            {"x": 1400, "y": 600, "name": "乙一社区卫生服务站", "kind": "station"}]).to_file(folder / "facilities.geojson")
    return folder


def test_cli_writes_proposals(toy_folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["plan", str(toy_folder), "--out", str(out), "--sites", "auto", "--no-report"]) == 0
    assert "建议新增" in capsys.readouterr().out
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert {"proposals", "after", "siting"} <= set(s)
    assert s["siting"]["mode"] == "set_covering" and s["siting"]["target_met"] is True
    assert s["after"]["radius"]["share"] == pytest.approx(1.0)
    assert s["coverage"]["radius"]["share"] < 1
    assert sum(p["adds_population"] for p in s["proposals"]) == pytest.approx(
        s["after"]["radius"]["population"] - s["coverage"]["radius"]["population"], abs=1e-3)
    fc = json.loads((out / "proposals.geojson").read_text(encoding="utf-8"))
    assert len(fc["features"]) == len(s["proposals"]) > 0
    lon, lat = fc["features"][0]["geometry"]["coordinates"]
    assert 106 < lon < 107.5 and 39 < lat < 40.5  # WGS84 near Wuhai
    raw = (out / "proposals.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    csv = pd.read_csv(out / "proposals.csv", encoding="utf-8-sig")
    assert len(csv) == len(s["proposals"]) and csv.columns[0] == "序号 / rank"
    # with the rules: 乙街道 needs a centre and one more station (4 communities → 2 stations)
    out2 = tmp_path / "out2"
    assert main(["plan", str(toy_folder), "--out", str(out2), "--sites", "auto", "--rules", "-q", "--no-report"]) == 0
    s2 = json.loads((out2 / "summary.json").read_text(encoding="utf-8"))
    kinds = [(p["kind"], p["subdistrict"]) for p in s2["proposals"]]
    assert ("centre", "乙街道") in kinds
    assert any("station_rule" in p["serves"] and p["subdistrict"] == "乙街道" for p in s2["proposals"])
    # too few sites for the rules: one line, exit 2
    assert main(["plan", str(toy_folder), "--out", str(tmp_path / "o3"), "--sites", "0", "--rules", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "fewer than" in err
