"""Bad input: one clear error naming the file and the fix, or a counted repair — never a lie, never a crash.

Every case goes through the command line (``python -m coverage plan`` via
:func:`coverage.cli.main`) on a copy of the toy city, and checks either the
exit status 2 with its one-line message, or exit status 0 with the repair or
listing recorded in ``summary.json`` ``skipped``. A second table checks that
population always reconciles: declared = modelled + dropped.
"""

from __future__ import annotations

import json
import random
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from toycity import lonlat, make_toy, points, polygons, street_grid, write_osm

from coverage.cli import main


@pytest.fixture
def toy(tmp_path):
    return make_toy(tmp_path / "toy")


def plan(folder: Path, out: Path, capsys, *extra: str) -> tuple[int, str, dict | None]:
    """Run the CLI; return (exit status, stderr, summary or None)."""
    code = main(["plan", str(folder), "--out", str(out), "-q", "--no-report", "--isochrone-minutes", "15", *extra])
    err = capsys.readouterr().err.strip()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8")) if code == 0 else None
    return code, err, summary


def skipped(summary: dict, reason: str) -> dict:
    hits = [s for s in summary["skipped"] if s["reason"] == reason]
    assert len(hits) == 1, f"expected one {reason!r} record, got {summary['skipped']}"
    return hits[0]


# ---------------------------------------------------------------- breakages

def _read(folder, layer):
    return gpd.read_file(folder / f"{layer}.geojson")


def empty_layer(f):
    _read(f, "communities").iloc[:0].to_file(f / "communities.geojson")


def empty_file(f):
    (f / "communities.geojson").write_bytes(b"")


def shapefile_without_prj(f):
    g = _read(f, "subdistricts")
    (f / "subdistricts.geojson").unlink()
    g.to_file(f / "subdistricts.shp", encoding="utf-8")
    (f / "subdistricts.prj").unlink()


def shapefile_without_shx(f):
    g = _read(f, "subdistricts")
    (f / "subdistricts.geojson").unlink()
    g.to_file(f / "subdistricts.shp", encoding="utf-8")
    (f / "subdistricts.shx").unlink()


def csv_lonlat_swapped(f):
    g = _read(f, "facilities")
    (f / "facilities.geojson").unlink()
    pd.DataFrame({"name": g["name"], "kind": g["kind"], "lon": g.geometry.y, "lat": g.geometry.x}).to_csv(
        f / "facilities.csv", index=False)


def csv_lonlat_missing(f):
    g = _read(f, "facilities")
    (f / "facilities.geojson").unlink()
    df = pd.DataFrame({"name": g["name"], "kind": g["kind"], "lon": g.geometry.x, "lat": g.geometry.y})
    df.loc[1, "lon"] = None
    df.to_csv(f / "facilities.csv", index=False)


def vector_points_swapped(f):
    g = _read(f, "facilities")
    g.geometry = shapely.points(g.geometry.y, g.geometry.x)
    g.to_file(f / "facilities.geojson")


def vector_polygons_swapped(f):
    g = _read(f, "communities")
    g.geometry = shapely.transform(g.geometry.values, lambda c: c[:, ::-1])
    g.to_file(f / "communities.geojson")


def self_intersecting(f):
    g = _read(f, "communities")
    # a bow-tie over 甲一社区's box: two triangles meeting at the centre
    ring = [lonlat(-100, -100), lonlat(500, 1100), lonlat(500, -100), lonlat(-100, 1100)]
    g.loc[0, "geometry"] = shapely.Polygon(ring)
    g.to_file(f / "communities.geojson")


def zero_area_polygon(f):
    g = _read(f, "communities")
    g.loc[0, "geometry"] = shapely.Polygon([lonlat(0, 0), lonlat(400, 800), lonlat(0, 0)])
    g.to_file(f / "communities.geojson")


def overlaps_and_gaps(f):
    polygons([{"name": "甲一社区", "population": 1000, "bounds": (-100, -100, 600, 1100)},   # 100 m into 甲二
              {"name": "甲二社区", "population": 1000, "bounds": (500, -100, 1100, 1000)},   # leaves 1000–1100 free
              {"name": "乙一社区", "population": 3000, "bounds": (1100, -100, 2100, 1100)}]
             ).to_file(f / "communities.geojson")


def duplicate_subdistricts(f):
    g = _read(f, "subdistricts")
    g["name"] = ["甲街道", "甲街道"]
    g.to_file(f / "subdistricts.geojson")


def duplicate_communities(f):
    g = _read(f, "communities")
    g.loc[1, "name"] = "甲一社区"
    g.to_file(f / "communities.geojson")


def same_name_other_subdistrict(f):
    g = _read(f, "communities")
    g.loc[2, "name"] = "甲一社区"          # in 乙街道: allowed
    g.to_file(f / "communities.geojson")


def facility_outside(f):
    g = _read(f, "facilities")
    g.loc[len(g)] = {"name": "远郊服务站", "kind": "station", "geometry": shapely.Point(lonlat(2600, 500))}
    g.to_file(f / "facilities.geojson")


def unknown_kinds(f):
    g = _read(f, "facilities")
    for i in range(3):
        g.loc[len(g)] = {"name": f"大药房{i}", "kind": "药店", "geometry": shapely.Point(lonlat(100 + 200 * i, 50))}
    g.loc[len(g)] = {"name": "无类型", "kind": None, "geometry": shapely.Point(lonlat(700, 50))}
    g.to_file(f / "facilities.geojson")


def population_blank(f):
    g = _read(f, "communities")
    g["population"] = g["population"].astype(float)
    g.loc[1, "population"] = None
    g.to_file(f / "communities.geojson")


def population_negative(f):
    g = _read(f, "communities")
    g.loc[1, "population"] = -5
    g.to_file(f / "communities.geojson")


def population_text(f):
    g = _read(f, "communities")
    g["population"] = g["population"].astype(str)
    g.loc[2, "population"] = "约三千"
    g.to_file(f / "communities.geojson")


def population_infinite(f):
    g = _read(f, "communities")
    g["population"] = g["population"].astype(str)
    g.loc[2, "population"] = "inf"
    g.to_file(f / "communities.geojson")


def population_thousands(f):
    g = _read(f, "communities")
    g["population"] = ["1,000", "1000", "3 000", "500"]
    g.to_file(f / "communities.geojson")


def population_layer_negative(f):
    points([{"x": 100, "y": 100, "population": 5.0}, {"x": 300, "y": 100, "population": -3.0}]
           ).to_file(f / "population.geojson")


def population_layer_without_column(f):
    points([{"x": 100, "y": 100, "residents_est": 5.0}]).to_file(f / "population.geojson")


def network_island(f):
    # a footpath north of the grid, joined to nothing, with a station on it
    nodes, ways = street_grid({9001: (1500, 1300), 9002: (1900, 1300)},
                              [([9001, 9002], {"highway": "footway"})])
    write_osm(f / "streets.osm", nodes, ways)
    g = _read(f, "facilities")
    g.loc[len(g)] = {"name": "岛上服务站", "kind": "station", "geometry": shapely.Point(lonlat(1700, 1300))}
    g.to_file(f / "facilities.geojson")


def geojson_holding_csv(f):
    (f / "communities.geojson").write_text("name,population\n甲一社区,1000\n", encoding="utf-8")


def gpkg_random_bytes(f):
    (f / "communities.geojson").unlink()
    (f / "communities.gpkg").write_bytes(random.Random(8).randbytes(4000))


def geojson_html_page(f):
    (f / "facilities.geojson").write_text("<!DOCTYPE html><html><body>502 Bad Gateway</body></html>")


def csv_that_is_xlsx(f):
    g = _read(f, "facilities")
    (f / "facilities.geojson").unlink()
    import io as _io
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    (f / "facilities.csv").write_bytes(buf.getvalue())
    del g


def osm_holding_json(f):
    (f / "streets.osm").write_text(json.dumps({"type": "FeatureCollection", "features": []}))


def osm_truncated(f):
    raw = (f / "streets.osm").read_bytes()
    (f / "streets.osm").write_bytes(raw[: len(raw) // 2])


def streets_elsewhere(f):
    (f / "streets.osm").unlink()
    gpd.GeoDataFrame({"name": ["长安街"], "highway": ["primary"]},
                     geometry=[shapely.LineString([(116.30, 39.90), (116.32, 39.90)])], crs=4326
                     ).to_file(f / "streets.geojson")


def communities_as_points(f):
    points([{"x": 100, "y": 100, "name": "甲一社区", "population": 3}]).to_file(f / "communities.geojson")


def _rules_toml(f, body: str, twice: bool = False) -> None:
    """A one-rule rule-set file (issue 20); ``kinds`` defaults to stations."""
    rule = '[[rules]]\nid = "r1"\n' + body + ("" if "kinds" in body else '\nkinds = ["station"]') + "\n"
    (f / "rules.toml").write_text('id = "bad"\n' + rule * (2 if twice else 1), encoding="utf-8")


def _age_table(f, rows: dict, name: str = "age.csv") -> None:
    """An age table (issue 21) beside the layers, for ``--age-table {folder}/<name>``."""
    table = pd.DataFrame(rows)
    if name.endswith(".xlsx"):
        table.to_excel(f / name, index=False)
    else:
        table.to_csv(f / name, index=False, encoding="utf-8")


# (id, breakage, extra CLI args, expected): expected is ("error", [substrings]) or ("skipped", reason, action, check)
ERRORS = [
    ("empty_layer", empty_layer, (), ["communities.geojson", "has no features", "export it again"]),
    ("empty_file", empty_file, (), ["communities.geojson", "empty (0 bytes)", "copy or export it again"]),
    ("shapefile_without_prj", shapefile_without_prj, (),
     ["subdistricts.shp", "no coordinate reference system", "subdistricts.prj is missing", "copy the .prj"]),
    ("shapefile_without_shx", shapefile_without_shx, (), ["subdistricts.shp", "subdistricts.shx is missing", "zip"]),
    ("csv_lonlat_swapped", csv_lonlat_swapped, (), ["facilities.csv", "row 2", "swapped", "swap the columns"]),
    ("csv_lonlat_missing", csv_lonlat_missing, (), ["facilities.csv", "row 3", "lon=(empty)", "delete the row"]),
    ("vector_points_swapped", vector_points_swapped, (),
     ["facilities.geojson", "甲街道社区卫生服务中心", "swapped", "swap"]),
    ("vector_polygons_swapped", vector_polygons_swapped, (), ["communities.geojson", "甲一社区", "swapped"]),
    ("duplicate_subdistricts", duplicate_subdistricts, (),
     ["subdistricts.geojson", "subdistrict names must be unique", "甲街道 (rows 0, 1)", "rename one"]),
    ("duplicate_communities", duplicate_communities, (),
     ["communities.geojson", "unique within a subdistrict", "甲一社区", "rename one"]),
    ("population_negative", population_negative, (),
     ["communities.geojson", "row 1", "-5", "甲二社区", "is negative", "correct it"]),
    ("population_text", population_text, (), ["communities.geojson", "'约三千'", "is not a number", "digits only"]),
    ("population_infinite", population_infinite, (), ["communities.geojson", "not a finite number"]),
    ("population_layer_negative", population_layer_negative, (), ["population.geojson", "row 1", "is negative"]),
    ("population_layer_without_column", population_layer_without_column, (),
     ["population.geojson", "needs a 'population' column"]),
    ("geojson_holding_csv", geojson_holding_csv, (),
     ["communities.geojson", "is not a .geojson file", "CSV", "rename it to communities.csv"]),
    ("gpkg_random_bytes", gpkg_random_bytes, (), ["communities.gpkg", "is not a .gpkg file", "export"]),
    ("geojson_html_page", geojson_html_page, (), ["facilities.geojson", "HTML web page", "download or export"]),
    ("csv_that_is_xlsx", csv_that_is_xlsx, (), ["facilities.csv", "Excel workbook", "rename it to facilities.xlsx"]),
    ("osm_holding_json", osm_holding_json, (), ["streets.osm", "is not XML", "GeoJSON", "export the streets"]),
    ("osm_truncated", osm_truncated, (), ["streets.osm", "cannot read as OSM XML", "export the streets"]),
    ("streets_elsewhere", streets_elsewhere, (), ["streets.geojson", "km from the subdistricts", "CRS"]),
    ("communities_as_points", communities_as_points, (),
     ["communities.geojson", "must be polygons", "1 Point", "export the boundary layer"]),
    ("bad_crs_option", lambda f: None, ("--crs", "EPSG:999999"), ["EPSG:999999", "give an EPSG code", "EPSG:32648"]),
    ("crs_in_degrees", lambda f: None, ("--crs", "EPSG:4326"),
     ["--crs EPSG:4326", "not a projected CRS in metres", "EPSG:32648 (WGS 84 / UTM zone 48N)", "EPSG:4545"]),
    ("crs_that_stretches", lambda f: None, ("--crs", "EPSG:3857"),
     ["--crs EPSG:3857", "stretches lengths by up to 29.", "more than 0.5 %", "EPSG:32648", "Gauss-Kruger CM 108E"]),
    ("radius_negative", lambda f: None, ("--radius-m", "-5"), ["--radius-m", "must be a positive number", "-5"]),
    ("minutes_inf", lambda f: None, ("--minutes", "inf"), ["--minutes", "must be a positive number", "inf"]),
    ("target_share_over_one", lambda f: None, ("--target-share", "1.5"), ["--target-share", "between 0 and 1"]),
    ("island_snap_zero", lambda f: None, ("--island-snap-m", "0"), ["--island-snap-m", "must be a positive number"]),
    ("fragment_negative", lambda f: None, ("--fragment-m", "-1"), ["--fragment-m", ">= 0"]),
    ("count_kinds_empty", lambda f: None, ("--count-kinds", ","), ["--count-kinds", "no facility kind given"]),
    ("count_kinds_absent", lambda f: None, ("--count-kinds", "pharmacy"),
     ["--count-kinds", "no facility has the kind 'pharmacy'", "station (2)", "centre (1)"]),
    ("time_limit_nan", lambda f: None, ("--sites", "2", "--time-limit", "nan"), ["time_limit", "positive number"]),
    ("rule_set_unknown_type", lambda f: _rules_toml(f, 'type = "count_per_street"\nmin = 1'),
     ("--rules-set", "{folder}/rules.toml"), ["rules.toml", "rule 'r1'", "field 'type'", "count_per_street"]),
    ("rule_set_unknown_kind", lambda f: _rules_toml(f, 'type = "count_per_unit"\nkinds = ["pharmacy"]'),
     ("--rules-set", "{folder}/rules.toml"), ["rules.toml", "rule 'r1'", "field 'kinds'", "'pharmacy'"]),
    ("rule_set_negative", lambda f: _rules_toml(f, 'type = "count_per_unit"\nmin = -1'),
     ("--rules-set", "{folder}/rules.toml"), ["rules.toml", "rule 'r1'", "field 'min'", "cannot be negative"]),
    ("rule_set_duplicate_id", lambda f: _rules_toml(f, 'type = "count_per_unit"', twice=True),
     ("--rules-set", "{folder}/rules.toml"), ["rules.toml", "rule 'r1'", "field 'id'", "duplicate"]),
    ("rule_set_needs_capacity", lambda f: None, ("--rules-set", "wuhai-2022-childcare"),
     ["wuhai-2022-childcare.toml", "rule 'childcare_pilot_2022'", "field 'type'", "no", "capacity"]),
    ("rule_set_unknown_group", lambda f: _rules_toml(f, 'type = "share_within_distance"\ndistance = "walk"\n'
                                                        'group = "children"'),
     ("--rules-set", "{folder}/rules.toml"), ["rules.toml", "rule 'r1'", "field 'group'", "'children'", "65plus"]),
    ("rule_set_group_without_age", lambda f: _rules_toml(f, 'type = "share_within_distance"\ndistance = "walk"\n'
                                                            'group = "65plus"'),
     ("--rules-set", "{folder}/rules.toml"), ["rules.toml", "rule 'r1'", "field 'group'", "population_65plus"]),
    ("age_table_without_age_column", lambda f: _age_table(f, {"社区名称": ["甲一社区"], "老人": [150]}),
     ("--age-table", "{folder}/age.csv"), ["age.csv", "no 65+ column", "population_65plus", "columns found"]),
    ("age_table_unknown_community",
     lambda f: _age_table(f, {"name": ["甲一社区", "丙三社区"], "population_65plus": [150, 20]}),
     ("--age-table", "{folder}/age.csv"), ["age.csv", "row 3", "丙三社区", "matches no community", "delete the row"]),
    ("age_table_negative_count",
     lambda f: _age_table(f, {"code": ["150302901001"], "65岁及以上人口": [-3]}),
     ("--age-table", "{folder}/age.csv"), ["age.csv", "row 2", "65岁及以上人口", "-3", "non-negative head count"]),
    ("age_table_count_over_population",
     lambda f: _age_table(f, {"name": ["甲一社区"], "population_65plus": [1200]}),
     ("--age-table", "{folder}/age.csv"), ["age.csv", "population_65plus = 1200", "甲一社区", "exceeds", "1000"]),
    ("age_table_share_over_one",
     lambda f: _age_table(f, {"name": ["甲一社区", "甲二社区"], "share_65plus": [0.15, 18.5]}, "age.xlsx"),
     ("--age-table", "{folder}/age.xlsx"), ["age.xlsx", "row 3", "share_65plus", "'18.5'", "0.185"]),
    ("isochrone_minutes_empty", lambda f: None, ("--isochrone-minutes", ""),
     ["--isochrone-minutes", "no walking time given", "5,10,15"]),
    ("isochrone_minutes_comma", lambda f: None, ("--isochrone-minutes", ","),
     ["--isochrone-minutes", "no walking time given", "5,10,15"]),
    ("isochrone_minutes_negative", lambda f: None, ("--isochrone-minutes", "-5"),
     ["--isochrone-minutes", "-5 is not a positive number of minutes"]),
    ("isochrone_minutes_nan", lambda f: None, ("--isochrone-minutes", "nan"),
     ["--isochrone-minutes", "nan is not a positive number of minutes"]),
    ("isochrone_minutes_inf", lambda f: None, ("--isochrone-minutes", "5,inf"),
     ["--isochrone-minutes", "inf is not a positive number of minutes"]),
    ("isochrone_minutes_text", lambda f: None, ("--isochrone-minutes", "5,ten"),
     ["--isochrone-minutes", "'ten' is not a number"]),
]


@pytest.mark.parametrize("breakage, extra, expected", [pytest.param(b, e, x, id=i) for i, b, e, x in ERRORS])
def test_bad_input_is_one_clear_error(toy, tmp_path, capsys, breakage, extra, expected):
    breakage(toy)
    extra = tuple(e.replace("{folder}", str(toy)) for e in extra)  # files a breakage wrote beside the layers
    code, err, _ = plan(toy, tmp_path / "out", capsys, *extra)
    assert code == 2, err
    assert len(err.splitlines()) == 1
    assert err.startswith("error 错误: ")
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"
    assert "Traceback" not in err and "np.float64" not in err


def _self_intersecting(s):
    r = skipped(s, "invalid_geometry_repaired")
    assert r["layer"] == "communities" and r["action"] == "repaired" and r["items"] == ["甲一社区"]
    # repaired, not dropped: its people are still counted
    assert s["population"] == pytest.approx(5500)


def _zero_area(s):
    r = skipped(s, "invalid_geometry_dropped")
    assert r["action"] == "dropped" and r["items"] == ["甲一社区"] and r["population"] == 1000
    assert s["population"] == pytest.approx(4500)


def _overlaps_and_gaps(s):
    o = skipped(s, "communities_overlap")
    assert o["action"] == "listed" and o["count"] == 1
    assert o["area_m2"] == pytest.approx(100 * 1100, rel=0.02)        # x 500–600, y -100–1100
    assert "甲一社区 ∩ 甲二社区" in o["items"][0]
    g = skipped(s, "communities_gap")
    assert g["action"] == "listed" and g["area_m2"] == pytest.approx(500 * 100, rel=0.02)
    assert g["items"][0].startswith("甲街道")
    assert "km²" in g["message"] and "Draw the missing communities" in g["message"]
    assert s["population"] == pytest.approx(5000)                     # nobody counted twice


def _same_name(s):
    names = [(c["subdistrict"], c["name"]) for c in s["communities"]]
    assert ("甲街道", "甲一社区") in names and ("乙街道", "甲一社区") in names


def _facility_outside(s):
    r = skipped(s, "outside_all_subdistricts")
    assert r["layer"] == "facilities" and r["action"] == "kept" and r["items"] == ["远郊服务站"]
    fac = {f["name"]: f for f in s["facilities"]}
    assert fac["远郊服务站"]["counted"] is True and fac["远郊服务站"]["subdistrict"] is None


def _unknown_kinds(s):
    r = skipped(s, "unknown_kind")
    assert r["action"] == "listed" and r["count"] == 4
    assert r["items"] == ["药店 ×3", "(no kind) ×1"]
    assert "药店 ×3" in r["message"] and "--count-kinds" in r["message"]
    # the hospital is a known kind: not listed as unknown
    assert not any("医院" in i or "hospital" in i for i in r["items"])


def _population_blank(s):
    r = skipped(s, "population_missing")
    assert r["action"] == "dropped" and r["items"] == ["甲二社区"]
    assert s["population"] == pytest.approx(4500)


def _population_thousands(s):
    assert s["population"] == pytest.approx(5500)


def _island(s):
    r = skipped(s, "on_network_island")
    assert r["action"] == "kept" and r["items"] == ["岛上服务站"]
    assert s["network"]["components"] == 2


REPAIRS = [
    ("self_intersecting", self_intersecting, _self_intersecting),
    ("zero_area_polygon", zero_area_polygon, _zero_area),
    ("overlaps_and_gaps", overlaps_and_gaps, _overlaps_and_gaps),
    ("same_name_other_subdistrict", same_name_other_subdistrict, _same_name),
    ("facility_outside", facility_outside, _facility_outside),
    ("unknown_kinds", unknown_kinds, _unknown_kinds),
    ("population_blank", population_blank, _population_blank),
    ("population_thousands", population_thousands, _population_thousands),
    ("network_island", network_island, _island),
]


@pytest.mark.parametrize("breakage, check", [pytest.param(b, c, id=i) for i, b, c in REPAIRS])
def test_repairs_and_listings_are_counted(toy, tmp_path, capsys, breakage, check):
    breakage(toy)
    code, err, s = plan(toy, tmp_path / "out", capsys)
    assert code == 0, err
    check(s)
    for rec in s["skipped"]:
        assert rec["action"] in ("dropped", "repaired", "kept", "listed")
        assert rec["message"], rec


def test_clean_toy_city_lists_no_partition_problem(toy, tmp_path, capsys):
    code, err, s = plan(toy, tmp_path / "out", capsys)
    assert code == 0, err
    reasons = {r["reason"] for r in s["skipped"]}
    assert not reasons & {"communities_overlap", "communities_gap", "unknown_kind", "invalid_geometry_repaired"}


def test_subdistrict_codes_resolve_in_any_spreadsheet_form(toy, tmp_path, capsys):
    """A community's subdistrict given by code, as Excel and WPS leave codes, resolves by the code.

    乙二社区 lies inside 乙街道 but names 甲街道's code: only the code lookup can put it there.
    """
    g = _read(toy, "communities")
    forms = {"甲一社区": "150302901.0", "甲二社区": "１５０３０２９０１", "乙一社区": 150302902.0, "乙二社区": "150302 901"}
    g["subdistrict"] = pd.Series([forms[n] for n in g["name"]], index=g.index, dtype=object)
    g.to_file(toy / "communities.geojson")
    code, err, s = plan(toy, tmp_path / "out", capsys)
    assert code == 0, err
    got = {c["name"]: c["subdistrict"] for c in s["communities"]}
    assert got == {"甲一社区": "甲街道", "甲二社区": "甲街道", "乙一社区": "乙街道", "乙二社区": "甲街道"}


def test_skipped_records_reach_the_report(toy, tmp_path, capsys):
    unknown_kinds(toy)
    overlaps_and_gaps(toy)
    out = tmp_path / "out"
    assert main(["plan", str(toy), "--out", str(out), "-q", "--isochrone-minutes", "15"]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "unknown_kind" in html and "药店 ×3" in html
    assert "communities_overlap" in html and "communities_gap" in html


# ------------------------------------------------------- population reconciles

def _declared(path: Path) -> float:
    g = gpd.read_file(path)
    return float(pd.to_numeric(g["population"], errors="coerce").fillna(0).sum())


def with_population_layer(f):
    """Points: some far off the streets, one without population, one outside every community, one empty."""
    rows = [{"x": 100, "y": 10, "population": 120.0}, {"x": 700, "y": 810, "population": 80.0},
            {"x": 1300, "y": 1080, "population": 40.0},           # 80 m off the grid: off-network at 50 m
            {"x": 2050, "y": 1050, "population": 30.0},           # off-network too
            {"x": 900, "y": 500, "population": None},              # dropped: unknown
            {"x": 2500, "y": 500, "population": 25.0}]             # outside every community: kept
    g = points(rows)
    g.loc[len(g)] = {"population": 60.0, "geometry": None}        # no geometry: dropped with its people
    g.to_file(f / "population.geojson")
    return f / "population.geojson"


def community_without_nodes(f):
    """A small community between streets (no street node inside) and one without population."""
    polygons([{"name": "甲一社区", "population": 1000, "bounds": (-100, -100, 500, 1100)},
              {"name": "甲二社区", "population": 1000, "bounds": (500, -100, 1100, 1100)},
              {"name": "乙一社区", "population": None, "bounds": (1100, -100, 1700, 1100)},
              {"name": "乙二社区", "population": 500, "bounds": (1700, -100, 2100, 1100)},
              {"name": "小区社区", "population": 77, "bounds": (2220, 220, 2380, 380)}]   # outside, no node
             ).to_file(f / "communities.geojson")
    return f / "communities.geojson"


RECONCILE = [
    ("toy_city", lambda f: f / "communities.geojson", ()),
    ("community_without_population_or_nodes", community_without_nodes, ()),
    ("zero_area_community", lambda f: (zero_area_polygon(f), f / "communities.geojson")[1], ()),
    ("off_network_demand", lambda f: (population_blank(f), f / "communities.geojson")[1], ("--max-snap-m", "1")),
    ("population_points", with_population_layer, ("--max-snap-m", "50")),
    ("island_and_overlaps", lambda f: (network_island(f), overlaps_and_gaps(f), f / "communities.geojson")[2], ()),
]


@pytest.mark.parametrize("prepare, extra", [pytest.param(p, e, id=i) for i, p, e in RECONCILE])
def test_population_reconciles(toy, tmp_path, capsys, prepare, extra):
    source = prepare(toy)
    declared = _declared(source)
    code, err, s = plan(toy, tmp_path / "out", capsys, *extra)
    assert code == 0, err
    dropped = sum(r["population"] for r in s["skipped"] if r["action"] == "dropped" and r["layer"] != "facilities")
    assert declared == pytest.approx(s["population"] + dropped, abs=1e-6), s["skipped"]
    # covered + uncovered = modelled, for every measure
    for key in ("radius", "radius_euclidean", "walk"):
        assert 0 <= s["coverage"][key]["population"] <= s["population"] + 1e-6
    assert s["population_check"]["reconciles"] is True, s["population_check"]


@pytest.mark.parametrize("prepare, extra", [
    pytest.param(p, e, id=i) for i, p, e in RECONCILE])
def test_community_table_adds_up(toy, tmp_path, capsys, prepare, extra):
    """Communities plus demand in no community add up to the total population."""
    prepare(toy)
    code, err, s = plan(toy, tmp_path / "out", capsys, *extra)
    assert code == 0, err
    in_communities = sum(c["population"] or 0 for c in s["communities"])
    outside = sum(r["population"] for r in s["skipped"] if r["reason"] == "outside_all_communities")
    assert in_communities + outside == pytest.approx(s["population"], abs=1e-6)


def test_off_network_demand_is_kept_and_counted_uncovered(toy, tmp_path, capsys):
    with_population_layer(toy)
    code, err, s = plan(toy, tmp_path / "out", capsys, "--max-snap-m", "50")
    assert code == 0, err
    off = skipped(s, "off_network")
    assert off["action"] == "kept" and off["population"] == pytest.approx(40.0 + 30.0 + 25.0)
    assert skipped(s, "population_missing")["action"] == "dropped"
    assert skipped(s, "empty_geometry")["population"] == pytest.approx(60.0)
    assert skipped(s, "outside_all_communities")["population"] == pytest.approx(25.0)
    assert s["coverage"]["walk"]["population"] <= s["population"] - 95.0 + 1e-6


def test_api_raises_the_same_errors(toy):
    """The library (and so the app) raises the family, with the file and row as attributes."""
    from coverage.errors import CoverageInputError, ValueInputError
    from coverage.study import load_study_area

    population_negative(toy)
    with pytest.raises(ValueInputError) as info:
        load_study_area(toy)
    assert isinstance(info.value, CoverageInputError)
    assert info.value.path.endswith("communities.geojson") and info.value.row == 1
    assert "is negative" in info.value.reason


def test_facility_rows_outside_degrees_in_csv_say_projected(toy, tmp_path, capsys):
    g = _read(toy, "facilities").to_crs(32648)
    (toy / "facilities.geojson").unlink()
    pd.DataFrame({"name": g["name"], "kind": g["kind"], "lon": g.geometry.x, "lat": g.geometry.y}).to_csv(
        toy / "facilities.csv", index=False)
    code, err, _ = plan(toy, tmp_path / "out", capsys)
    assert code == 2 and "not degrees" in err and "facilities.csv" in err


def _zip_communities(toy: Path, tmp_path: Path, drop_prj: bool = False, prefix: str = "",
                     junk: dict[str, bytes] | None = None) -> None:
    """Replace the communities layer by a zipped Shapefile (optionally without .prj, in a folder, with junk)."""
    g = _read(toy, "communities")
    (toy / "communities.geojson").unlink()
    shp = tmp_path / "shp"
    shp.mkdir()
    g.to_file(shp / "communities.shp", encoding="utf-8")
    if drop_prj:
        (shp / "communities.prj").unlink()
    with zipfile.ZipFile(toy / "communities.zip", "w") as z:
        for p in sorted(shp.iterdir()):
            z.write(p, prefix + p.name)
        for name, data in (junk or {}).items():
            z.writestr(name, data)


def test_zipped_shapefile_error_names_the_archive(toy, tmp_path, capsys):
    _zip_communities(toy, tmp_path, drop_prj=True)
    code, err, _ = plan(toy, tmp_path / "out", capsys)
    assert code == 2
    assert "communities.zip › communities.shp" in err and "communities.prj is missing" in err
    assert "coverage_zip_" not in err     # no temporary path leaks into the message


def test_zipped_shapefile_reads_and_leaves_nothing_behind(toy, tmp_path, capsys):
    import tempfile

    _zip_communities(toy, tmp_path, prefix="社区/", junk={"__MACOSX/社区/._communities.shp": b"junk"})
    before = set(Path(tempfile.gettempdir()).glob("coverage_zip_*"))
    code, err, s = plan(toy, tmp_path / "out", capsys)
    assert code == 0, err
    assert s["population"] == pytest.approx(5500)
    assert set(Path(tempfile.gettempdir()).glob("coverage_zip_*")) == before



@pytest.mark.parametrize("minutes", [(), [float("nan")], [0], [-5], ["x"]])
def test_run_plan_refuses_bad_isochrone_minutes(toy, minutes):
    """The library refuses what the CLI refuses (issue 16.4), before any slow work."""
    from coverage.errors import ValueInputError
    from coverage.pipeline import run_plan
    from coverage.study import load_study_area

    with pytest.raises(ValueInputError, match="isochrone_minutes"):
        run_plan(load_study_area(toy), isochrone_minutes=minutes)
