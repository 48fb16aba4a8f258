"""Population models (issue 9) on toy towns where every answer follows from the construction.

The town: a 200 m street grid x = 0…1000, y = 0…400 (local metres near Wuhai),
one subdistrict 甲街道 (-100…1100 × -100…500), two communities split at x = 500,
and a community health centre at (0, 0).
"""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from toycity import ORIGIN, UTM, lonlat, points, polygons, write_osm

from coverage.demand import MODELS, auto_model, build_demand
from coverage.demand.buildings import DEFAULT_LEVELS, demand_from_buildings
from coverage.demand.compounds import NATIONAL_HOUSEHOLD_SIZE, demand_from_compounds
from coverage.demand.raster import demand_from_raster
from coverage.errors import CoverageInputError, MissingColumnError, ValueInputError
from coverage.geo.areas import assign_areas, first_containing
from coverage.network.osmxml import read_osm_xml
from coverage.pipeline import run_plan
from coverage.read.osmareas import buildings_from_osm, landuse_from_osm
from coverage.study import build_study_area

SUBDISTRICTS = [{"name": "甲街道", "code": "150302001", "bounds": (-100, -100, 1100, 500)}]
FACILITIES = [{"x": 0, "y": 0, "name": "甲街道社区卫生服务中心", "kind": "社区卫生服务中心"}]


def grid_osm(path, extra_nodes=None, extra_ways=None, xs=range(0, 1001, 200), ys=range(0, 401, 200)):
    """Grid streets, plus any extra nodes/ways (buildings...) in the same file."""
    nodes, ways, ids = {}, [], {}
    nid = 1
    for x in xs:
        for y in ys:
            nodes[nid] = (x, y)
            ids[(x, y)] = nid
            nid += 1
    for y in ys:
        ways.append(([ids[(x, y)] for x in xs], {"highway": "residential"}))
    for x in xs:
        if len(ys) > 1:
            ways.append(([ids[(x, y)] for y in ys], {"highway": "residential"}))
    nodes.update(extra_nodes or {})
    ways += extra_ways or []
    return write_osm(path, nodes, ways)


def make_study(tmp_path, communities, *, buildings=None, compounds=None, meta=None, osm=None, sources=None):
    osm = osm or grid_osm(tmp_path / "streets.osm")
    net = read_osm_xml(osm, crs=UTM)
    return build_study_area(net, polygons(SUBDISTRICTS), polygons(communities), points(FACILITIES),
                            buildings=buildings, compounds=compounds, crs=UTM, meta=meta,
                            sources={"streets": str(osm), **(sources or {})})


def comms(pop1=400.0, pop2=800.0):
    return [{"name": "甲一社区", "population": pop1, "bounds": (-100, -100, 500, 500)},
            {"name": "甲二社区", "population": pop2, "bounds": (500, -100, 1100, 500)}]


def local_xy(gdf):
    xy = shapely.get_coordinates(gdf.geometry.values)
    return xy - np.array(ORIGIN)


def by_community(demand):
    return demand.points.groupby("community")["population"].sum().to_dict()


def assert_totals_preserved(demand, study):
    """Population in = population out for every community with a given total (the invariant)."""
    out = by_community(demand)
    for name, given in zip(study.communities["name"], study.communities["population"]):
        if not math.isnan(given):
            assert out.get(name, 0.0) == pytest.approx(given, abs=1e-6), name
    rows = {r["name"]: r for r in demand.details["communities"]}
    for name, r in rows.items():
        assert r["population_out"] == pytest.approx(out.get(name, 0.0), abs=1e-6)
        if r["population_in"] is not None:
            assert r["population_out"] == pytest.approx(r["population_in"], abs=1e-6)
    assert demand.details["demand_points"] == len(demand.points)


def house(x, y, size=20, **tags):
    """A square footprint with lower-left corner (x, y) metres, as a polygons() row."""
    return {**tags, "bounds": (x, y, x + size, y + size)}


# --------------------------------------------------------------------------- buildings


def test_buildings_floor_area_shares_defaults_and_non_residential(tmp_path):
    b = polygons([
        house(100, 100, building="apartments", **{"building:levels": 1}),
        house(300, 100, building="apartments", **{"building:levels": 3}),
        house(100, 300, building="school", **{"building:levels": 5}),         # nobody
        house(300, 300, building="commercial", **{"building:levels": 9}),     # nobody
        house(700, 100, building="apartments"),                               # no levels: default 6
        house(900, 100, building="house", **{"building:levels": 2}),
    ])
    study = make_study(tmp_path, comms(400, 800), buildings=b)
    d = demand_from_buildings(study)
    assert d.model == "buildings"
    assert len(d.points) == 4                       # one point per residential building
    xy = local_xy(d.points)
    pop = dict(zip(map(tuple, np.round(xy).astype(int)), d.points["population"]))
    assert pop[(110, 110)] == pytest.approx(100, abs=1e-6)
    assert pop[(310, 110)] == pytest.approx(300, abs=1e-6)
    # 800 over 20×20×6 (default) and 20×20×2 → 600 / 200
    assert DEFAULT_LEVELS["apartments"] == 6
    assert pop[(710, 110)] == pytest.approx(600, abs=1e-6)
    assert pop[(910, 110)] == pytest.approx(200, abs=1e-6)
    assert not any(abs(x - 110) < 1 and abs(y - 310) < 1 for x, y in xy)   # school
    assert d.details["buildings"]["non_residential"] == 2
    assert d.details["buildings"]["levels_defaulted"] == 1
    assert_totals_preserved(d, study)
    json.dumps(d.details)


def test_buildings_default_levels_by_kind_and_override(tmp_path):
    b = polygons([house(100, 100, building="dormitory"), house(300, 100, building="house"),
                  house(700, 100, building="house"), house(900, 100, building="house")])
    study = make_study(tmp_path, comms(600, 300), buildings=b)
    d = demand_from_buildings(study)
    pops = sorted(d.points.loc[d.points["community"] == "甲一社区", "population"])
    assert pops == pytest.approx([600 * 2 / 6, 600 * 4 / 6])   # dormitory 4, house 2
    d2 = demand_from_buildings(study, default_levels={"house": 4})
    pops2 = sorted(d2.points.loc[d2.points["community"] == "甲一社区", "population"])
    assert pops2 == pytest.approx([300, 300])
    assert d2.details["default_levels"]["house"] == 4


def test_building_yes_rule_with_and_without_landuse(tmp_path):
    b = polygons([house(100, 100, building="yes", **{"building:levels": 1}),
                  house(300, 300, building="yes", **{"building:levels": 1}),
                  house(700, 100, building="residential")])
    study = make_study(tmp_path, comms(400, 800), buildings=b)
    loose = demand_from_buildings(study)
    assert sorted(loose.points.loc[loose.points["community"] == "甲一社区", "population"]) == \
        pytest.approx([200, 200])
    assert "no residential land-use" in loose.details["yes_rule"]
    landuse = polygons([{"landuse": "residential", "bounds": (50, 50, 200, 200)},
                        {"landuse": "industrial", "bounds": (250, 250, 400, 400)}])
    strict = demand_from_buildings(study, landuse=landuse)
    p = strict.points[strict.points["community"] == "甲一社区"]
    assert len(p) == 1 and p["population"].iloc[0] == pytest.approx(400)
    assert np.allclose(local_xy(p), [[110, 110]], atol=0.5)
    assert strict.details["buildings"]["yes_counted"] == 1
    assert_totals_preserved(strict, study)


def test_community_without_buildings_falls_back_to_street_nodes(tmp_path):
    b = polygons([house(100, 100, building="apartments", **{"building:levels": 6})])
    study = make_study(tmp_path, comms(400, 900), buildings=b)
    d = demand_from_buildings(study)
    fb = d.points[d.points["community"] == "甲二社区"]
    # 甲二社区 (x > 500) holds the street nodes the simplified grid keeps there; 900 spread evenly
    nx_ = study.network.node_x - ORIGIN[0]
    k = int((nx_ > 500).sum())
    assert k >= 5 and len(fb) == k
    assert fb["population"].to_numpy() == pytest.approx(np.full(k, 900 / k))
    assert sorted(map(tuple, np.round(local_xy(fb)))) == sorted(
        (x, y) for x, y in zip(np.round(nx_), np.round(study.network.node_y - ORIGIN[1])) if x > 500)
    assert set(fb["origin"]) == {"street_node"}
    sk = [s for s in d.skipped if s.reason == "no_buildings_inside"]
    assert sk and sk[0].items == ["甲二社区"] and sk[0].population == pytest.approx(900)
    rows = {r["name"]: r for r in d.details["communities"]}
    assert rows["甲二社区"]["method"] == "street_nodes_fallback"
    assert_totals_preserved(d, study)


def test_community_without_total_is_estimated_from_calibrated_floor_area(tmp_path):
    # 甲一: 400 people on 20×20×5 = 2000 m² → 5 m² per person; 甲二 has 1000 m² and no total → 200
    b = polygons([house(100, 100, building="apartments", **{"building:levels": 5}),
                  house(700, 100, building="apartments", **{"building:levels": 2.5})])
    study = make_study(tmp_path, comms(400, float("nan")), buildings=b)
    d = demand_from_buildings(study)
    assert by_community(d)["甲二社区"] == pytest.approx(200, rel=1e-6)
    assert d.details["floor_area_per_person_m2"] == pytest.approx(5.0, rel=1e-6)
    assert d.details["communities_estimated"] == ["甲二社区"]
    rows = {r["name"]: r for r in d.details["communities"]}
    assert rows["甲二社区"]["population_in"] is None and rows["甲二社区"]["method"] == "estimated"
    assert_totals_preserved(d, study)


def test_building_bad_levels_raise_and_text_levels_parse(tmp_path):
    b = polygons([house(100, 100, building="apartments", **{"building:levels": "3;4"}),
                  house(300, 100, building="apartments", **{"building:levels": "1"})])
    study = make_study(tmp_path, comms(400, float("nan")), buildings=b)
    assert sorted(demand_from_buildings(study).points["population"]) == pytest.approx([100, 300])
    bad = polygons([house(100, 100, building="apartments", **{"building:levels": 330})])
    with pytest.raises(ValueInputError, match="330 levels"):
        demand_from_buildings(make_study(tmp_path, comms(), buildings=bad))
    none = polygons([house(100, 100, building="school")])
    with pytest.raises(ValueInputError, match="no residential building"):
        demand_from_buildings(make_study(tmp_path, comms(), buildings=none))


# --------------------------------------------------------------------------- OSM buildings


def test_buildings_from_osm_reads_closed_building_ways_only(tmp_path):
    sq = {101: (100, 100), 102: (120, 100), 103: (120, 120), 104: (100, 120),
          111: (300, 100), 112: (330, 100), 113: (330, 130), 114: (300, 130),
          121: (700, 100), 122: (720, 100), 123: (720, 120),
          131: (600, 250), 132: (700, 250), 133: (700, 350), 134: (600, 350),
          141: (620, 270), 142: (640, 270), 143: (640, 290), 144: (620, 290)}
    extra = [([101, 102, 103, 104, 101], {"building": "apartments", "building:levels": "3", "name": "1号楼"}),
             ([111, 112, 113, 114, 111], {"building": "school"}),
             ([121, 122, 123], {"building": "house"}),                             # not closed
             ([101, 111, 121], {"highway": "footway"}),                             # a street
             ([131, 132, 133, 134, 131], {"landuse": "residential"}),
             ([131, 132, 133, 134, 131], {}),                                       # relation outer
             ([141, 142, 143, 144, 141], {})]                                       # relation inner
    osm = grid_osm(tmp_path / "city.osm", sq, extra)
    n_ways = sum(1 for line in osm.read_text(encoding="utf-8").splitlines() if "<way " in line)
    rel = (f'  <relation id="9"><member type="way" ref="{n_ways - 1}" role="outer"/>'
           f'<member type="way" ref="{n_ways}" role="inner"/><tag k="type" v="multipolygon"/>'
           '<tag k="building" v="residential"/></relation>\n</osm>')
    osm.write_text(osm.read_text(encoding="utf-8").replace("</osm>", rel), encoding="utf-8")
    b = buildings_from_osm(osm)
    assert b.crs.to_epsg() == 4326
    assert sorted(b["building"]) == ["apartments", "residential", "school"]
    apt = b[b["building"] == "apartments"].iloc[0]
    assert apt["building:levels"] == "3" and apt["name"] == "1号楼"
    areas = dict(zip(b["building"], b.to_crs(UTM).area))
    assert areas["apartments"] == pytest.approx(400, rel=1e-3)
    assert areas["residential"] == pytest.approx(100 * 100 - 20 * 20, rel=1e-3)   # courtyard cut out
    assert [(s.reason, s.count) for s in b.attrs["skipped"]] == [("unclosed_way", 1)]
    lu = landuse_from_osm(osm)
    assert list(lu["landuse"]) == ["residential"]


def test_buildings_model_reads_the_streets_osm_when_no_layer(tmp_path):
    sq = {101: (100, 100), 102: (120, 100), 103: (120, 120), 104: (100, 120),
          111: (300, 100), 112: (320, 100), 113: (320, 120), 114: (300, 120),
          131: (50, 50), 132: (200, 50), 133: (200, 200), 134: (50, 200)}
    extra = [([101, 102, 103, 104, 101], {"building": "yes"}),
             ([111, 112, 113, 114, 111], {"building": "yes"}),              # outside residential landuse
             ([131, 132, 133, 134, 131], {"landuse": "residential"})]
    osm = grid_osm(tmp_path / "streets.osm", sq, extra)
    study = make_study(tmp_path, comms(400, 300), osm=osm)
    d = demand_from_buildings(study)
    one = d.points[d.points["community"] == "甲一社区"]
    assert len(one) == 1 and np.allclose(local_xy(one), [[110, 110]], atol=0.5)
    assert "residential land-use polygons" in d.details["yes_rule"]
    assert d.details["source"] == "streets.osm (buildings)"
    assert_totals_preserved(d, study)


# --------------------------------------------------------------------------- compounds


def test_compound_households_times_size(tmp_path):
    c = polygons([{"name": "阳光小区", "households": 100, "bounds": (100, 100, 300, 300)}])
    study = make_study(tmp_path, comms(float("nan"), float("nan")), compounds=c)
    d = demand_from_compounds(study, household_size=2.5)
    assert d.total == pytest.approx(250)
    assert by_community(d) == {"甲一社区": pytest.approx(250)}
    # without the option: the national default, or the district's census figure
    assert demand_from_compounds(study).total == pytest.approx(100 * NATIONAL_HOUSEHOLD_SIZE)
    c2 = polygons([{"name": "阳光小区", "户数": 100, "district": "海南区", "bounds": (100, 100, 300, 300)}])
    assert demand_from_compounds(make_study(tmp_path, comms(float("nan"), float("nan")), compounds=c2)
                                 ).total == pytest.approx(214)
    s3 = make_study(tmp_path, comms(float("nan"), float("nan")), compounds=c, meta={"district": "乌达区"})
    d3 = demand_from_compounds(s3)
    assert d3.total == pytest.approx(223)
    assert list(d3.details["household_size"].values()) == [2.23]


def test_compound_entrances_split_equally(tmp_path):
    c = polygons([{"name": "阳光小区", "households": 100, "bounds": (100, 100, 300, 300)},
                  {"name": "和平小区", "population": 90, "bounds": (700, 100, 900, 300)}])
    study = make_study(tmp_path, comms(float("nan"), float("nan")), compounds=c)
    ent = points([{"x": 200, "y": 100, "小区": "阳光小区"}, {"x": 300, "y": 200, "小区": "阳光小区"}])
    d = demand_from_compounds(study, household_size=2.5, entrances=ent)
    e = d.points[d.points["origin"] == "entrance"]
    assert sorted(map(tuple, np.round(local_xy(e)).astype(int))) == [(200, 100), (300, 200)]
    assert e["population"].to_numpy() == pytest.approx([125, 125])
    other = d.points[d.points["origin"] == "compound"]
    assert len(other) == 1 and other["population"].iloc[0] == pytest.approx(90)
    # unlinked entrances go to the nearest compound within 30 m; farther ones are counted and dropped
    ent2 = points([{"x": 200, "y": 95}, {"x": 895, "y": 200}, {"x": 500, "y": 450}])
    d2 = demand_from_compounds(study, household_size=2.5, entrances=ent2)
    assert sorted(d2.points["population"]) == pytest.approx([90, 250])
    assert [s.count for s in d2.skipped if s.reason == "no_compound_nearby"] == [1]
    # entrances as a column of "lon,lat; lon,lat"
    lon1, lat1 = lonlat(100, 200)
    lon2, lat2 = lonlat(300, 200)
    c3 = c.assign(entrances=[f"{lon1},{lat1}; {lon2},{lat2}", None])
    d3 = demand_from_compounds(make_study(tmp_path, comms(float("nan"), float("nan")), compounds=c3),
                               household_size=2.5)
    e3 = d3.points[d3.points["origin"] == "entrance"]
    assert sorted(map(tuple, np.round(local_xy(e3)).astype(int))) == [(100, 200), (300, 200)]
    with pytest.raises(ValueInputError, match="not in the compounds layer"):
        demand_from_compounds(study, entrances=points([{"x": 0, "y": 0, "小区": "阳关小区"}]))


def test_compounds_rescaled_to_community_totals(tmp_path):
    c = polygons([{"name": "A", "population": 300, "bounds": (100, 100, 200, 200)},
                  {"name": "B", "population": 200, "bounds": (300, 100, 400, 200)},
                  {"name": "C", "population": 70, "bounds": (700, 100, 800, 200)}])
    study = make_study(tmp_path, comms(1000, float("nan")), compounds=c)
    d = demand_from_compounds(study)
    pops = dict(zip(d.points["label"], d.points["population"]))
    assert pops == {"A": pytest.approx(600), "B": pytest.approx(400), "C": pytest.approx(70)}
    assert d.details["scale_factors"] == [{"name": "甲一社区", "subdistrict": "甲街道",
                                           "compounds_population": pytest.approx(500), "scale": pytest.approx(2.0)}]
    assert_totals_preserved(d, study)


def test_compound_bad_input(tmp_path):
    c = polygons([{"name": "A", "households": "一百", "bounds": (100, 100, 200, 200)}])
    with pytest.raises(ValueInputError, match="not a number") as e:
        demand_from_compounds(make_study(tmp_path, comms(), compounds=c))
    assert e.value.row == 0
    c2 = polygons([{"name": "A", "bounds": (100, 100, 200, 200)}])
    with pytest.raises(MissingColumnError, match="households"):
        demand_from_compounds(make_study(tmp_path, comms(), compounds=c2))


# --------------------------------------------------------------------------- raster


def write_raster(path, values, x0, y0, cell, crs="EPSG:32648", nodata=None):
    """A GeoTIFF whose top-left corner is local (x0, y0) metres (UTM), or lon/lat degrees for EPSG:4326."""
    import rasterio
    from rasterio.transform import from_origin

    if crs == "EPSG:32648":
        x0, y0 = ORIGIN[0] + x0, ORIGIN[1] + y0
    with rasterio.open(path, "w", driver="GTiff", height=values.shape[0], width=values.shape[1], count=1,
                       dtype="float32", crs=crs, transform=from_origin(x0, y0, cell, cell), nodata=nodata) as dst:
        dst.write(values.astype("float32"), 1)
    return path


def test_raster_cells_positions_totals_and_rescaling(tmp_path):
    # 100 m cells from (-300, 700) down to (1300, -300): 10 rows × 16 columns; value 1 everywhere
    v = np.ones((10, 16))
    v[6, 3] = 10          # centre (50, 50)
    v[5, 10] = -99999     # centre (750, 150): nodata
    tif = write_raster(tmp_path / "pop.tif", v, -300, 700, 100, nodata=-99999)
    study = make_study(tmp_path, comms(float("nan"), float("nan")))
    d = demand_from_raster(study, raster=tif)
    # centres inside the subdistrict (-100…1100 × -100…500): 12 × 6 = 72, minus the nodata cell
    assert len(d.points) == 71
    xy = local_xy(d.points)
    assert set(np.round(xy[:, 0]).astype(int)) == set(range(-50, 1100, 100))
    assert set(np.round(xy[:, 1]).astype(int)) == set(range(-50, 500, 100))
    assert np.allclose(xy, np.round(xy), atol=1e-6)           # exactly at the cell centres
    ten = d.points[d.points["population"] == 10]
    assert np.allclose(local_xy(ten), [[50, 50]], atol=1e-6)
    assert by_community(d) == {"甲一社区": pytest.approx(35 + 10), "甲二社区": pytest.approx(35)}
    assert d.details["rescaled"] is False
    # with a total, 甲一 is rescaled ×2; 甲二 (no total) keeps the raster's numbers
    s2 = make_study(tmp_path, comms(90, float("nan")))
    d2 = demand_from_raster(s2, raster=tif)
    assert d2.details["rescaled"] is True
    assert by_community(d2) == {"甲一社区": pytest.approx(90), "甲二社区": pytest.approx(35)}
    assert d2.points.loc[d2.points["population"].idxmax(), "population"] == pytest.approx(20)
    assert_totals_preserved(d2, s2)
    d3 = demand_from_raster(s2, raster=tif, rescale=False)
    assert by_community(d3)["甲一社区"] == pytest.approx(45)


def test_raster_in_lonlat(tmp_path):
    lon0, lat0 = lonlat(-300, 700)
    lon1, lat1 = lonlat(1300, -300)
    v = np.full((40, 60), 2.0)
    tif = write_raster(tmp_path / "ll.tif", v, lon0, lat0, max((lon1 - lon0) / 60, (lat0 - lat1) / 40),
                       crs="EPSG:4326")
    study = make_study(tmp_path, comms(500, 700))
    d = demand_from_raster(study, raster=tif)
    assert set(d.points["origin"]) == {"cell"}
    assert_totals_preserved(d, study)
    with pytest.raises(ValueInputError, match="does not cover"):
        far = write_raster(tmp_path / "far.tif", v, 100.0, 30.0, 0.01, crs="EPSG:4326")
        demand_from_raster(study, raster=far)


# --------------------------------------------------------------------------- registry, dispatch


def test_registry_auto_model_and_dispatch(tmp_path):
    assert set(MODELS) == {"buildings", "compounds", "raster", "street_nodes"}
    plain = make_study(tmp_path, comms())
    assert auto_model(plain) is None
    assert auto_model(plain, raster="pop.tif") == "raster"
    b = polygons([house(100, 100, building="apartments")])
    with_b = make_study(tmp_path, comms(), buildings=b)
    assert auto_model(with_b) == "buildings"
    only_school = make_study(tmp_path, comms(), buildings=polygons([house(100, 100, building="school")]))
    assert auto_model(only_school) is None
    c = polygons([{"name": "A", "population": 10, "bounds": (100, 100, 200, 200)}])
    assert auto_model(make_study(tmp_path, comms(), buildings=b, compounds=c)) == "compounds"
    d = build_demand(with_b)                     # auto → buildings, through coverage.demand
    assert d.model == "buildings"
    sn = build_demand(plain, "street_nodes")
    assert sn.model == "street_nodes"
    sn2 = MODELS["street_nodes"](plain, household_size=3.0)   # other models' options are ignored...
    assert sn2.details["communities"][0]["population_out"] == pytest.approx(400)
    assert_totals_preserved(sn2, plain)
    with pytest.raises(ValueInputError, match="unknown population model option"):
        MODELS["buildings"](with_b, levles=3)             # ...but typos are refused
    with pytest.raises(CoverageInputError, match="needs a"):
        demand_from_compounds(plain)
    with pytest.raises(CoverageInputError, match="--raster"):
        demand_from_raster(plain)


# --------------------------------------------------------------------------- coverage moves the right way


def test_moving_people_into_a_tower_by_the_centre_raises_coverage(tmp_path):
    """One street y = 0 with nodes at x = 0, 400, 800, 1200 and the centre at x = 0.

    street_nodes: 1000 people, 250 per node; within 500 m: nodes 0 and 400 → 50 %;
    within 1000 m walk: also 800 → 75 %.
    buildings: a 30-storey tower by the centre (point 40 m off the street at
    x = 100: 140 m) and a 2-storey house by the park at x = 1150 (1190 m) share
    1000 as 937.5 / 62.5 → 93.75 % for both.
    """
    # side streets leave the community southwards so that x = 400 and 800 stay nodes
    osm = write_osm(tmp_path / "line.osm", {1: (0, 0), 2: (400, 0), 3: (800, 0), 4: (1200, 0),
                                            5: (400, -400), 6: (800, -400)},
                    [([1, 2, 3, 4], {"highway": "residential"}), ([2, 5], {"highway": "residential"}),
                     ([3, 6], {"highway": "residential"})])
    net = read_osm_xml(osm, crs=UTM)
    sub = polygons([{"name": "甲街道", "bounds": (-100, -500, 1300, 200)}])
    comm = polygons([{"name": "甲一社区", "population": 1000, "bounds": (-100, -100, 1300, 200)}])
    b = polygons([house(80, 20, 40, building="apartments", **{"building:levels": 30}),
                  house(1130, 20, 40, building="house", **{"building:levels": 2}),
                  house(600, 20, 40, building="school", **{"building:levels": 4})])
    study = build_study_area(net, sub, comm, points(FACILITIES), buildings=b, crs=UTM)
    s0 = run_plan(study, population_model="street_nodes", isochrone_minutes=(15,)).summary()
    s1 = run_plan(study, population_model="buildings", isochrone_minutes=(15,)).summary()
    assert s0["coverage"]["radius"]["share"] == pytest.approx(0.5)
    assert s0["coverage"]["walk"]["share"] == pytest.approx(0.75)
    assert s1["coverage"]["radius"]["share"] == pytest.approx(0.9375)
    assert s1["coverage"]["walk"]["share"] == pytest.approx(0.9375)
    assert s0["population"] == pytest.approx(1000) and s1["population"] == pytest.approx(1000)
    pm = s1["population_model"]
    assert pm["model"] == "buildings" and pm["demand_points"] == 2
    assert pm["communities"] == [{"name": "甲一社区", "subdistrict": "甲街道", "population_in": 1000.0,
                                  "population_out": 1000.0, "demand_points": 2, "method": "rescaled",
                                  "scale": pytest.approx(pm["communities"][0]["scale"])}]
    assert pm["note_zh"] and pm["note_en"]
    json.dumps(s1)


def test_points_go_to_the_first_area_in_layer_order():
    a, b = shapely.box(0, 0, 10, 10), shapely.box(5, 0, 20, 10)  # overlap x in [5, 10]
    pts = shapely.points([(2, 5), (7, 5), (10, 5), (15, 5), (30, 5)])  # in a, overlap, on b-inside border, b, none
    assert first_containing(pts, np.array([a, b])).tolist() == [0, 0, 0, 1, -1]
    assert first_containing(pts, np.array([b, a])).tolist() == [1, 0, 0, 0, -1]
    assert first_containing(pts[:0], np.array([a])).tolist() == []
    comms = gpd.GeoDataFrame({"name": ["甲", "乙"], "subdistrict": ["S", None]}, geometry=[b, a], crs="EPSG:3857")
    got = assign_areas(gpd.GeoDataFrame(geometry=pts, crs="EPSG:3857"), comms)
    assert got["community"].tolist() == ["乙", "甲", "甲", "甲", None]
    assert got["subdistrict"].tolist() == [None, "S", "S", "S", None]
