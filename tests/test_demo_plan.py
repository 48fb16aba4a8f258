"""The main job on the embedded demo: the command a planner runs first."""

from __future__ import annotations

import json

import pytest

from coverage.cli import main
from coverage.demo import default_data_dir


@pytest.fixture(scope="module")
def demo_summary(tmp_path_factory):
    if not (default_data_dir() / "streets.osm").exists():
        pytest.skip("demo data missing")
    out = tmp_path_factory.mktemp("demo_out")
    assert main(["plan", "--out", str(out), "-q"]) == 0
    return json.loads((out / "summary.json").read_text(encoding="utf-8")), out


SCHEMA = {
    "population": (int, float),
    "coverage": dict,
    "subdistricts": list,
    "communities": list,
    "parameters": dict,
    "skipped": list,
    "population_model": dict,
    "dataset": dict,
    "network": dict,
}
SUBDISTRICT_KEYS = {"name", "communities", "centres", "stations", "stations_required", "centre_rule", "station_rule",
                    "radius_share", "walk_share"}
COMMUNITY_KEYS = {"name", "subdistrict", "population", "radius_share", "walk_share"}


def test_summary_schema(demo_summary):
    s, _ = demo_summary
    for key, typ in SCHEMA.items():
        assert isinstance(s[key], typ), key
    for key in ("radius", "radius_euclidean", "walk"):
        assert set(s["coverage"][key]) == {"population", "share"}
    assert all(SUBDISTRICT_KEYS <= set(x) for x in s["subdistricts"])
    assert all(COMMUNITY_KEYS <= set(x) for x in s["communities"])
    p = s["parameters"]
    assert p["crs"]["epsg"] == 32648 and p["radius_m"] == 500 and p["walk_m"] == 1000
    assert {"layer", "reason", "count", "population", "action"} <= set(s["skipped"][0])


def test_demo_is_rich_enough(demo_summary):
    s, out = demo_summary
    assert s["dataset"]["synthetic"] is True
    assert s["population"] == pytest.approx(339_155, abs=0.5)
    assert len(s["subdistricts"]) == 8
    for key in ("radius", "radius_euclidean", "walk"):
        assert 0 < s["coverage"][key]["share"] < 1
    # network coverage cannot beat crow flies at the same radius
    assert s["coverage"]["radius"]["share"] <= s["coverage"]["radius_euclidean"]["share"]
    assert s["coverage"]["radius"]["share"] <= s["coverage"]["walk"]["share"]
    for rule in ("centre_rule", "station_rule"):
        verdicts = {x[rule] for x in s["subdistricts"]}
        assert verdicts == {True, False}, rule
    # per-community populations add up to the total
    assert sum(c["population"] for c in s["communities"]) == pytest.approx(s["population"], abs=1e-3)
    # the station 400 m from any street is reported, not silently dropped
    assert any(k["reason"] == "off_network" and k["layer"] == "facilities" for k in s["skipped"])
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "合成演示数据" in html and "Synthetic demo data" in html
    assert (out / "compliance.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_gcj02_facility_list_is_flagged_and_declaring_it_fixes_it(tmp_path):
    """A 高德 (GCJ-02) POI list read as WGS84 sits ~400 m off: the plan must say so."""
    import geopandas as gpd
    import shapely

    from coverage.geo.chinese_crs import wgs84_to_gcj02
    from coverage.pipeline import offset_warnings
    from coverage.study import load_study_area

    folder = default_data_dir()
    if not (folder / "streets.osm").exists():
        pytest.skip("demo data missing")
    fac = gpd.read_file(folder / "facilities.geojson")
    lon, lat = wgs84_to_gcj02(fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy())
    shifted = fac.set_geometry(shapely.points(lon, lat), crs=4326)
    path = tmp_path / "facilities_gcj02.geojson"
    shifted.to_file(path)
    study = load_study_area(folder, facilities=path)
    warn = offset_warnings(study)
    assert len(warn) == 1 and warn[0].reason == "possible_coordinate_offset"
    assert "GCJ" in warn[0].message or "gcj" in warn[0].message.lower()
    declared = load_study_area(folder, facilities=path, coordinate_systems={"facilities": "gcj02"})
    assert offset_warnings(declared) == []
    # the declared conversion puts the facilities back where they were (within centimetres)
    a = declared.facilities.geometry.reset_index(drop=True)
    b = fac.to_crs(declared.crs).geometry.reset_index(drop=True)
    assert float(a.distance(b).max()) < 0.05
