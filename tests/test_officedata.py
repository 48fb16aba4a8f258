"""Data as planning offices hold it: GBK Shapefiles, Excel lists, population tables, codes, offsets."""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from openpyxl import Workbook

from coverage.errors import MissingColumnError, ValueInputError
from coverage.geo.chinese_crs import gauss_kruger_zone_crs, gcj02_to_wgs84, wgs84_to_gcj02
from coverage.network.lines import network_from_lines
from coverage.network.offset import check_offset
from coverage.read.cells import code_text, population_numbers
from coverage.read.layers import read_layer
from coverage.read.officedata import check_against_reference, join_population_table, name_key

UTM = pyproj.CRS.from_epsg(32648)
X0, Y0 = 655_000.0, 4_392_000.0  # near Haibowan, UTM 48N


def _xlsx(path, header, rows, title=None):
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(header)
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


# --- Shapefiles with GBK attributes and no .cpg --------------------------------------------------------------


def _gbk_shapefile(folder, columns):
    folder.mkdir()
    n = len(next(iter(columns.values())))
    gdf = gpd.GeoDataFrame(columns, geometry=[shapely.box(i, 0, i + 1, 1) for i in range(n)], crs=4490)
    shp = folder / "subdistricts.shp"
    gdf.to_file(shp, encoding="gbk", engine="pyogrio")
    assert (folder / "subdistricts.cpg").exists()
    os.remove(folder / "subdistricts.cpg")
    raw = (folder / "subdistricts.dbf").read_bytes()
    assert "凤凰岭街道".encode("gbk") in raw or "代码".encode("gbk") in raw  # really GBK on disk
    return shp


def test_gbk_shapefile_without_cpg_reads_correct_names(tmp_path):
    shp = _gbk_shapefile(tmp_path / "shp", {"名称": ["凤凰岭街道", "海北街道", "千里山镇"],
                                            "代码": ["150302001", "150302002", "150302101"]})
    gdf = read_layer(shp, kind="subdistricts")
    assert gdf["name"].tolist() == ["凤凰岭街道", "海北街道", "千里山镇"]
    assert gdf["code"].tolist() == ["150302001", "150302002", "150302101"]
    assert gdf.crs.to_epsg() == 4490


def test_gbk_field_names_with_ascii_values(tmp_path):
    shp = _gbk_shapefile(tmp_path / "shp", {"代码": ["150302001", "150302002"]})
    assert read_layer(shp, kind="subdistricts").columns.tolist() == ["code", "geometry"]


# --- Excel facility lists --------------------------------------------------------------------------------------


def test_excel_facility_list_in_gcj02_is_converted(tmp_path):
    wgs = np.array([[106.8123, 39.6712], [106.8301, 39.6555], [106.7950, 39.6901]])
    gcj = np.column_stack(wgs84_to_gcj02(wgs[:, 0], wgs[:, 1]))
    rows = [("海北街道社区卫生服务中心", "社区卫生服务中心", "海勃湾区黄河东街", *gcj[0]),
            ("狮城社区卫生服务站", "社区卫生服务站", "狮城小区", *gcj[1]),
            ("千里山镇卫生院", "卫生院", "千里山镇", *gcj[2])]
    path = _xlsx(tmp_path / "facilities.xlsx", ["名称", "类型", "地址", "经度", "纬度"], rows)
    gdf = read_layer(path, kind="facilities", coordinate_system="gcj02")
    assert gdf.crs.to_epsg() == 4326
    assert gdf["name"].tolist()[0] == "海北街道社区卫生服务中心"
    assert {"kind", "address"} <= set(gdf.columns)
    got = shapely.get_coordinates(gdf.geometry.values)
    expect = np.column_stack(gcj02_to_wgs84(gcj[:, 0], gcj[:, 1]))
    np.testing.assert_allclose(got, expect, atol=1e-9)
    # and that is the true WGS84 position, ~420 m from where the raw numbers point
    geod = pyproj.Geod(ellps="WGS84")
    assert np.all(geod.inv(got[:, 0], got[:, 1], wgs[:, 0], wgs[:, 1])[2] < 0.01)
    assert np.all(geod.inv(gcj[:, 0], gcj[:, 1], wgs[:, 0], wgs[:, 1])[2] > 300)


def test_cgcs2000_gauss_kruger_geopackage_reprojects_to_metric(tmp_path):
    gk = gauss_kruger_zone_crs(106.8)
    assert gk.to_epsg() == 4545
    lonlat = np.array([[106.80, 39.67], [106.82, 39.66], [106.79, 39.70]])
    to_gk = pyproj.Transformer.from_crs(4490, 4545, always_xy=True)
    x, y = to_gk.transform(lonlat[:, 0], lonlat[:, 1])
    gpd.GeoDataFrame({"名称": ["甲", "乙", "丙"], "类型": ["社区卫生服务站"] * 3},
                     geometry=shapely.points(x, y), crs=4545).to_file(tmp_path / "facilities.gpkg")
    gdf = read_layer(tmp_path / "facilities.gpkg", kind="facilities")
    assert gdf.crs.to_epsg() == 4545 and gdf["name"].tolist() == ["甲", "乙", "丙"]
    got = shapely.get_coordinates(gdf.to_crs(UTM).geometry.values)
    ex, ey = pyproj.Transformer.from_crs(4545, UTM, always_xy=True).transform(x, y)
    np.testing.assert_allclose(got, np.column_stack([ex, ey]), atol=1e-6)
    # CGCS2000 and WGS84 agree to well under a metre at city scale
    ux, uy = pyproj.Transformer.from_crs(4326, UTM, always_xy=True).transform(lonlat[:, 0], lonlat[:, 1])
    assert np.hypot(got[:, 0] - ux, got[:, 1] - uy).max() < 1.0


# --- population tables -----------------------------------------------------------------------------------------


def _communities(codes=True):
    rows = [("和平社区居委会", "150302001002", "凤凰岭街道"), ("公园社区居委会", "150302001003", "凤凰岭街道"),
            ("长青社区居委会", "150302001004", "凤凰岭街道"), ("青山社区居委会", "150302002001", "海北街道"),
            ("新地村委会", "150302101201", "千里山镇")]
    gdf = gpd.GeoDataFrame({"name": [r[0] for r in rows], "subdistrict": [r[2] for r in rows]},
                           geometry=[shapely.box(i, 0, i + 1, 1) for i in range(len(rows))], crs=UTM)
    if codes:
        gdf["code"] = [r[1] for r in rows]
    return gdf


def test_name_key_drops_committee_suffixes_and_fullwidth_spaces():
    assert name_key("和平社区居委会") == name_key("和平社区居民委员会") == name_key("和平\u3000社区") == "和平社区"
    assert name_key("新地村委会") == name_key("新地村民委员会") == "新地村"
    assert name_key("ＡＢ社区") == "AB社区"


def test_join_by_code_from_excel_with_title_row_and_total(tmp_path):
    rows = [("150302001002", "和平社区", "3,210"), ("150302001003", "公园社区", 4100),
            ("150302001004", "长青社区", 2890), ("150302002001", "青山社区", 5000),
            ("150302101201", "新地村", 800), (None, "合计", 16000)]
    path = _xlsx(tmp_path / "pop.xlsx", ["社区代码", "社区名称", "常住人口"], rows,
                 title="2023年海勃湾区各社区常住人口")
    joined, rep = join_population_table(_communities(), path)
    assert rep.by == "code+name" and rep.matched == 5 and rep.matched_by == {"code": 5}
    assert joined["population"].tolist() == [3210, 4100, 2890, 5000, 800]
    assert rep.table_total == rep.joined_total == 16000
    assert rep.total_rows == ["8:合计"]  # spreadsheet row 8: title, header, 5 units, total
    assert rep.ok


def test_join_by_name_reports_unmatched_duplicates_and_totals(tmp_path):
    table = pd.DataFrame({
        "社区名称": ["和平社区", "公园社区居民委员会", "长 青 社 区", "青山\u3000社区", "青山社区", "新地",
                     "五湖社区"],
        "常住人口": [3000, 4000, 2000, 1000, 1100, 700, 999],
    })
    path = tmp_path / "pop.csv"
    table.to_csv(path, index=False, encoding="gbk")
    joined, rep = join_population_table(_communities(codes=False), path, by="name")
    by_name = dict(zip(joined["name"], joined["population"]))
    assert by_name["和平社区居委会"] == 3000 and by_name["公园社区居委会"] == 4000 and by_name["长青社区居委会"] == 2000
    assert by_name["新地村委会"] == 700  # loose pass: 新地 ~ 新地村
    assert np.isnan(by_name["青山社区居委会"])  # table has 青山社区 twice: ambiguous, not joined
    assert "青山社区" in rep.duplicates_table
    assert rep.unmatched_communities == ["青山社区居委会"]
    rows = {u["name"]: u for u in rep.unmatched_table}
    assert set(rows) == {"青山\u3000社区", "青山社区", "五湖社区"}
    assert rows["五湖社区"]["row"] == 8
    assert rows["青山社区"]["suggestions"][0] == "青山社区居委会"
    assert rep.table_total == 12799 and rep.joined_total == 9700
    assert rep.matched_by == {"name": 3, "loose_name": 1}
    msg = rep.message()
    assert "五湖社区" in msg and "matched no community" in msg and "未匹配" in msg and "12,799" in msg
    assert not rep.ok


def test_join_auto_falls_back_to_names_and_reports_unknown_codes():
    table = pd.DataFrame({"社区代码": ["150302001002", "150302001999", None],
                          "社区名称": ["和平社区", "公园社区", "长青社区"], "人口": [10, 20, 30]})
    joined, rep = join_population_table(_communities(), table)
    assert joined["population_match"].tolist()[:3] == ["code", "name", "name"]
    assert rep.codes_not_found == ["150302001999"]
    assert sorted(rep.unmatched_communities) == ["新地村委会", "青山社区居委会"]


def test_join_refuses_bad_population_naming_the_row(tmp_path):
    table = pd.DataFrame({"社区名称": ["和平社区", "公园社区"], "常住人口": ["3000", "约四千"]})
    path = tmp_path / "pop.csv"
    table.to_csv(path, index=False)
    with pytest.raises(ValueInputError, match=r"pop.csv, row 3: population '约四千'"):
        join_population_table(_communities(), path)
    with pytest.raises(MissingColumnError, match="no population column"):
        join_population_table(_communities(), pd.DataFrame({"社区名称": ["和平社区"], "户数": [1]}))


# --- official codes ----------------------------------------------------------------------------------------------


def _reference():
    rows = [
        ("subdistrict", "150302001", "凤凰岭街道", "150302", "凤凰岭街道"),
        ("subdistrict", "150302002", "海北街道", "150302", "海北街道"),
        ("subdistrict", "150303001", "拉僧仲街道", "150303", "拉僧仲街道"),
        ("community", "150302001002", "和平社区居委会", "150302", "和平社区"),
        ("community", "150302001003", "公园社区居委会", "150302", "公园社区"),
        ("community", "150302002001", "青山社区居委会", "150302", "青山社区"),
        ("community", "150303001001", "西山社区居委会", "150303", "西山社区"),
    ]
    return pd.DataFrame(rows, columns=["level", "code", "name", "district_code", "name_short"])


def test_check_against_reference_finds_missing_unknown_and_misnamed():
    subs = gpd.GeoDataFrame({"name": ["凤凰岭街道", "海北"], "code": ["150302001", None]},
                            geometry=[shapely.box(0, 0, 1, 1)] * 2, crs=UTM)
    comms = gpd.GeoDataFrame({"name": ["和平社区", "公园", "青山新村"],
                              "code": ["150302001002", "150302001003", "150302002099"]},
                             geometry=[shapely.box(0, 0, 1, 1)] * 3, crs=UTM)
    rep = check_against_reference(subs, comms, reference=_reference())
    assert rep.district_code == "150302"  # inferred from the codes: 拉僧仲街道 (海南区) is not expected
    assert rep.code_suggested == [{"level": "subdistrict", "name": "海北", "code": "150302002"}]
    assert rep.misnamed == [{"level": "community", "code": "150302001003", "name": "公园",
                             "official_name": "公园社区居委会"}]
    assert [u["code"] for u in rep.unknown] == ["150302002099"]
    assert rep.unknown[0]["suggestions"][0]["name"] == "青山社区居委会"
    assert rep.missing == [{"level": "community", "code": "150302002001", "name": "青山社区居委会"}]
    assert not rep.ok
    assert "青山社区居委会" in rep.message() and "Missing community" in rep.message()
    assert check_against_reference(subs, None, district_code="150303", reference=_reference()).missing[0][
        "name"] == "拉僧仲街道"
    with pytest.raises(ValueInputError, match="150399"):
        check_against_reference(subs, comms, district_code="150399", reference=_reference())


def test_check_against_the_shipped_wuhai_list():
    pytest.importorskip("coverage.reference")
    from coverage.reference import load_reference_units

    try:
        ref = load_reference_units("subdistrict")
    except FileNotFoundError:
        pytest.skip("coverage/reference/wuhai_units_2023.csv not there yet")
    hb = ref[ref["district_code"] == "150302"]
    subs = gpd.GeoDataFrame({"name": hb["name"].tolist(), "code": hb["code"].tolist()},
                            geometry=[shapely.box(0, 0, 1, 1)] * len(hb), crs=UTM)
    rep = check_against_reference(subs, None)
    assert rep.ok and rep.district_code == "150302" and rep.checked == {"subdistrict": len(hb)}


# --- undeclared GCJ-02 ---------------------------------------------------------------------------------------------


def _street_network():
    # three long east-west streets 1 km apart
    lines = [shapely.LineString([(X0 - 2000, Y0 + k * 1000), (X0 + 4000, Y0 + k * 1000)]) for k in range(3)]
    return network_from_lines(gpd.GeoDataFrame({"highway": ["residential"] * 3}, geometry=lines, crs=UTM), crs=UTM)


def test_check_offset_flags_gcj02_facilities_and_passes_true_ones():
    net = _street_network()
    xy = np.array([(X0 + 300 * i, Y0 + (i % 3) * 1000 + 8) for i in range(8)])  # 8 m off the street
    lon, lat = pyproj.Transformer.from_crs(UTM, 4326, always_xy=True).transform(xy[:, 0], xy[:, 1])
    true = gpd.GeoDataFrame(geometry=shapely.points(lon, lat), crs=4326)
    assert check_offset(true, net) is None
    glon, glat = wgs84_to_gcj02(lon, lat)
    shifted = gpd.GeoDataFrame(geometry=shapely.points(glon, glat), crs=4326)
    diag = check_offset(shifted, net)
    assert diag is not None and diag.likely_system == "gcj02"
    assert diag.median_after_m == pytest.approx(8, abs=0.5)
    assert diag.median_before_m > 80 and 350 < diag.shift_m < 500
    assert "gcj02" in diag.message
    # works from a metric-CRS layer too
    assert check_offset(shifted.to_crs(UTM), net).likely_system == "gcj02"


@pytest.mark.parametrize("raw, text", [
    (150302001002.0, "150302001002"), ("150302001002.0", "150302001002"), ("１５０３０２００１", "150302001"),
    (" 150302 001 ", "150302001"), (150302001, "150302001"), ("0150", "0150"), ("", None), (None, None),
    (float("nan"), None), (pd.NA, None)])
def test_code_text_repairs_spreadsheet_codes(raw, text):
    assert code_text(raw) == text


def test_population_numbers_read_cells_as_people_type_them():
    raw = pd.Series(["12,345", "１２，３４５人", "12 345", 5, None, "", "abc", "-3", "1,2", 7.5, pd.NA, "1,234,567"],
                    dtype=object)
    values, not_number = population_numbers(raw)
    expect = [12345, 12345, 12345, 5, np.nan, np.nan, np.nan, -3, np.nan, 7.5, np.nan, 1234567]
    np.testing.assert_array_equal(values, np.array(expect, dtype=float))
    # "abc" and "1,2" (a comma that separates no thousands) are not numbers; blanks are just unknown
    assert np.flatnonzero(not_number).tolist() == [6, 8]
