"""Walking profiles, slope and direction-dependent times (issue 21): known answers by construction."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from coverage.access import measure_coverage, network_distance, walk_time
from coverage.network.graph import network_from_edges
from coverage.network.profiles import get_profile, prefer_factors, profile_network
from coverage.network.slope import edge_times, tobler_factor
from coverage.network.snap import snap_points

UTM = pyproj.CRS("EPSG:32648")
X0, Y0 = 500_000.0, 4_390_000.0  # near Wuhai


def _net(lines: list[list[tuple[float, float]]], tags: list[dict] | None = None):
    geoms = [shapely.LineString([(X0 + x, Y0 + y) for x, y in c]) for c in lines]
    ends = sorted({c for g in geoms for c in (g.coords[0], g.coords[-1])})
    pos = {c: i for i, c in enumerate(ends)}
    rows = [{"u": pos[g.coords[0]], "v": pos[g.coords[-1]], **(tags[i] if tags else {})} for i, g in enumerate(geoms)]
    edges = gpd.GeoDataFrame(rows, geometry=geoms, crs=UTM)
    return network_from_edges(edges, np.array(ends))


def _dem(path, grade: float = 0.05, crs=UTM, hole: tuple[float, float] | None = None, cell: float = 10.0):
    """A plane z = 100 + grade * (x - X0) over the street, written as a GeoTIFF in ``crs``."""
    if pyproj.CRS(crs) == UTM:
        xs = X0 - 100 + cell * (np.arange(140) + 0.5)
        ys = Y0 + 200 - cell * (np.arange(40) + 0.5)
        gx, _ = np.meshgrid(xs, ys)
        transform, ux = from_origin(X0 - 100, Y0 + 200, cell, cell), gx
    else:  # a lon/lat raster: each pixel centre's plane height computed in UTM
        to_ll = pyproj.Transformer.from_crs(UTM, crs, always_xy=True)
        lon0, lat1 = to_ll.transform(X0 - 100, Y0 + 200)
        d = 0.0001
        lons, lats = lon0 + d * (np.arange(160) + 0.5), lat1 - d * (np.arange(40) + 0.5)
        gl, ga = np.meshgrid(lons, lats)
        ux, _ = pyproj.Transformer.from_crs(crs, UTM, always_xy=True).transform(gl, ga)
        transform = from_origin(lon0, lat1, d, d)
    z = 100 + grade * (ux - X0)
    if hole is not None:
        z = np.where((ux - X0 >= hole[0]) & (ux - X0 < hole[1]), -9999.0, z)
    with rasterio.open(path, "w", driver="GTiff", height=z.shape[0], width=z.shape[1], count=1, dtype="float64",
                       crs=pyproj.CRS(crs).to_wkt(), transform=transform, nodata=-9999.0) as dst:
        dst.write(z, 1)
    return path


def test_tobler_ratio_on_a_constant_grade(tmp_path):
    net = _net([[(0, 0), (1000, 0)]])
    t = edge_times(net, 4.0, dem=_dem(tmp_path / "dem.tif"))
    v = 4.0 / 3.6
    assert t.forward[0] == pytest.approx(1000 / (v * tobler_factor(np.array([0.05]))[0]), rel=1e-9)
    assert t.backward[0] == pytest.approx(1000 / (v * tobler_factor(np.array([-0.05]))[0]), rel=1e-9)
    assert t.forward[0] / t.backward[0] == pytest.approx(np.exp(0.35), rel=1e-9)  # Tobler: exp(3.5·0.1)
    assert t.no_elevation_m == 0.0
    flat = edge_times(net, 4.0)
    assert flat.forward[0] == pytest.approx(900.0) and flat.backward[0] == pytest.approx(900.0)


def test_facility_at_the_top_covers_fewer_homes(tmp_path):
    net = _net([[(0, 0), (1000, 0)]])
    times = edge_times(net, 4.0, dem=_dem(tmp_path / "dem.tif"))
    homes = snap_points(net, np.column_stack([X0 + np.arange(0, 1001, 10.0), np.full(101, Y0)]))
    top, bottom = (snap_points(net, np.array([[X0 + x, Y0]])) for x in (1000.0, 0.0))
    t_top, _ = walk_time(net, times, top, homes)
    t_bottom, _ = walk_time(net, times, bottom, homes)
    up, down = 4.0 / 3.6 * tobler_factor(np.array([0.05]))[0], 4.0 / 3.6 * tobler_factor(np.array([-0.05]))[0]
    x = np.arange(0, 1001, 10.0)
    np.testing.assert_allclose(t_top, (1000 - x) / up, rtol=1e-9, atol=1e-9)  # homes walk uphill to the top
    np.testing.assert_allclose(t_bottom, x / down, rtol=1e-9, atol=1e-9)
    covered_top, covered_bottom = int((t_top <= 900).sum()), int((t_bottom <= 900).sum())
    assert covered_top == int(((1000 - x) <= 900 * up).sum()) == 84  # within 839.5 m
    assert covered_bottom == 101 and covered_top < covered_bottom


def test_dem_in_another_crs_gives_the_same_times(tmp_path):
    net = _net([[(0, 0), (400, 0), (1000, 0)], [(400, 0), (400, 150)]])
    a = edge_times(net, 3.0, dem=_dem(tmp_path / "utm.tif"))
    b = edge_times(net, 3.0, dem=_dem(tmp_path / "ll.tif", crs="EPSG:4326"))
    np.testing.assert_allclose(b.forward, a.forward, rtol=2e-3)
    np.testing.assert_allclose(b.backward, a.backward, rtol=2e-3)
    assert a.forward[0] > a.backward[0]  # uphill u → v


def test_nodata_hole_is_walked_flat_and_reported(tmp_path):
    net = _net([[(0, 0), (1000, 0)]])
    t = edge_times(net, 4.0, dem=_dem(tmp_path / "hole.tif", hole=(400, 600)))
    # nodata pixel centres 405..595: samples 400..600 have a nodata neighbour, so the 22 pieces
    # 390-400 ... 600-610 lack elevation (220 m), walked flat; the other 780 m at 5 %
    assert t.no_elevation_m == pytest.approx(220.0)
    v = 4.0 / 3.6
    expect = 220 / v + 780 / (v * tobler_factor(np.array([0.05]))[0])
    assert t.forward[0] == pytest.approx(expect, rel=1e-9)


def test_steps_shortcut_adult_uses_it_wheelchair_takes_the_ramp():
    lines = [[(0, 0), (100, 0)], [(0, 0), (0, 150), (100, 150), (100, 0)]]  # 100 m of steps, 400 m ramp
    net = _net(lines, tags=[{"highway": "steps"}, {"highway": "footway", "wheelchair": "yes"}])
    home, fac = np.array([[X0, Y0 - 5]]), np.array([[X0 + 100, Y0 - 5]])
    adult = get_profile("adult")
    t_a, _ = walk_time(net, edge_times(net, adult.speed_kmh), snap_points(net, fac), snap_points(net, home))
    assert t_a[0] == pytest.approx((5 + 100 + 5) / (4 / 3.6))
    wc = get_profile("wheelchair")
    sub, report = profile_network(net, wc)
    assert report["refused_edges"] == {"highway=steps": 1} and len(sub.edges) == 1
    times = edge_times(sub, wc.speed_kmh, factors=prefer_factors(sub, wc))
    t_w, _ = walk_time(sub, times, snap_points(sub, fac), snap_points(sub, home))
    assert t_w[0] == pytest.approx((5 + 400 + 5) / (3 / 3.6))  # the ramp is wheelchair=yes: no penalty


def test_wheelchair_prefers_tagged_ways_and_refuses_wheelchair_no():
    lines = [[(0, 0), (100, 0)], [(0, 0), (0, 5), (100, 5), (100, 0)], [(0, 0), (0, -3), (100, -3), (100, 0)]]
    net = _net(lines, tags=[{"wheelchair": "no"}, {"wheelchair": "yes"}, {}])
    wc = get_profile("wheelchair")
    sub, report = profile_network(net, wc)
    assert report["refused_edges"] == {"wheelchair=no": 1}
    times = edge_times(sub, wc.speed_kmh, factors=prefer_factors(sub, wc))
    t, _ = walk_time(sub, times, snap_points(sub, np.array([[X0 + 100, Y0]])), snap_points(sub, np.array([[X0, Y0]])))
    # tagged way 110 m vs untagged 106 m × 1.1 = 116.6 m: the tagged one is taken
    assert t[0] == pytest.approx(110 / (3 / 3.6))


def test_elderly_at_3_kmh_covers_exactly_the_homes_within_750_m():
    rng = np.random.default_rng(3)
    lines = [[(x, y), (x + 100, y)] for x in range(0, 1500, 100) for y in range(0, 1600, 100)]
    lines += [[(x, y), (x, y + 100)] for x in range(0, 1600, 100) for y in range(0, 1500, 100)]
    net = _net(lines)
    homes = gpd.GeoDataFrame({"population": rng.integers(1, 50, 2000).astype(float)},
                             geometry=shapely.points(X0 + rng.uniform(0, 1500, 2000), Y0 + rng.uniform(0, 1500, 2000)),
                             crs=UTM)
    fac = gpd.GeoDataFrame({"name": ["a", "b"], "counted": [True, True]},
                           geometry=shapely.points([X0 + 333, X0 + 1200], [Y0 + 420, Y0 + 1111]), crs=UTM)
    from coverage.params import CoverageParams
    eld = get_profile("elderly")
    params = CoverageParams(speed_kmh=eld.speed_kmh)
    cov = measure_coverage(net, fac, homes, params, times=edge_times(net, eld.speed_kmh))
    d = cov.demand
    assert params.walk_m == pytest.approx(750.0)
    np.testing.assert_allclose(d["time_walk_s"], d["dist_network"] / (3 / 3.6), rtol=1e-9)
    assert (d["covered_walk"] == (d["dist_network"] <= 750.0)).all()
    assert 0 < d["covered_walk"].sum() < len(d)


def test_flat_adult_times_match_the_distance_pass():
    lines = [[(0, 0), (300, 0)], [(300, 0), (300, 300)], [(0, 0), (0, 300), (300, 300)]]
    net = _net(lines)
    pts = snap_points(net, np.array([[X0 + 10, Y0 + 5], [X0 + 290, Y0 + 200], [X0 + 150, Y0 + 310]]))
    src = snap_points(net, np.array([[X0 + 200, Y0 - 2]]))
    d, n_d = network_distance(net, src, pts)
    t, n_t = walk_time(net, edge_times(net, 4.0), src, pts)
    np.testing.assert_allclose(t, d / (4 / 3.6), rtol=1e-9)
    assert (n_d == n_t).all()


def test_unknown_profile_is_refused():
    from coverage.errors import ValueInputError
    with pytest.raises(ValueInputError, match="adult, elderly, wheelchair"):
        get_profile("runner")
    assert get_profile("elderly", 2.5).speed_kmh == 2.5


def test_edge_samples_match_geos_and_lookups_match_a_full_search(tmp_path):
    rng = np.random.default_rng(5)
    lines = [[(0, 0), (37, 12), (60, -20), (205, 3)], [(205, 3), (205, 3.5)], [(205, 3), (300, 90), (300, 200)],
             [(0, 0), (0, 0)], [(0, 0), (-120, 40)]]
    net = _net(lines)
    from coverage.network.slope import EdgeTimes, edge_samples
    edge, s, xy = edge_samples(net, 10.0)
    geos = shapely.get_coordinates(shapely.line_interpolate_point(np.asarray(net.edges.geometry.values)[edge], s))
    np.testing.assert_allclose(xy, geos, atol=1e-6)  # peer: GEOS, point by point
    t = edge_times(net, 4.0, dem=_dem(tmp_path / "dem.tif"))
    slow = EdgeTimes(**{**t.__dict__, "first": None, "last": None})  # the whole-axis np.interp lookup
    e = rng.integers(0, len(net.edges), 500)
    along = rng.uniform(0, 1, 500) * net.edges["length"].to_numpy()[e]
    np.testing.assert_allclose(t.from_u(e, along), slow.from_u(e, along), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(t.to_u(e, along), slow.to_u(e, along), rtol=1e-9, atol=1e-9)


def test_plan_with_a_holed_dem_reports_the_street_without_elevation(tmp_path):
    """summary.json names the slope model and the length walked flat where the DEM has nodata."""
    from toycity import ORIGIN, make_toy

    from coverage.pipeline import run_plan
    from coverage.study import load_study_area

    study = load_study_area(make_toy(tmp_path / "toy"))
    # a 5 % plane in x over the toy city (x 0–2000, y 0–1000), nodata for x in [900, 1100)
    cell, x0, y1 = 10.0, ORIGIN[0] - 200, ORIGIN[1] + 1200
    xs = x0 + cell * (np.arange(260) + 0.5)
    z = np.tile(100 + 0.05 * (xs - ORIGIN[0]), (160, 1))
    z[:, (xs - ORIGIN[0] >= 900) & (xs - ORIGIN[0] < 1100)] = -9999.0
    path = tmp_path / "dem.tif"
    with rasterio.open(path, "w", driver="GTiff", height=160, width=260, count=1, dtype="float64",
                       crs=UTM.to_wkt(), transform=from_origin(x0, y1, cell, cell), nodata=-9999.0) as dst:
        dst.write(z, 1)
    times = edge_times(study.network, 4.0, dem=path)
    wp = run_plan(study, dem=path).summary()["walking_profile"]
    assert wp["dem"] == "dem.tif" and wp["slope_model"].startswith("Tobler")
    assert wp["length_without_elevation_m"] == pytest.approx(round(times.no_elevation_m, 1))
    # the north–south street at x = 1000 lies in the hole (5 edges × 200 m), and each of the six east–west
    # streets loses the hole's 200 m plus one 10 m piece each side (samples with a nodata neighbour): 6 × 220 m
    assert times.no_elevation_m == pytest.approx(1000 + 6 * 220, rel=0.01)
