"""Approximate community areas from points (coverage.geo.boundaries)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from coverage.errors import CRSError, GeometryError, ValueInputError
from coverage.geo.boundaries import APPROXIMATE_NOTE, communities_from_points

UTM = 32648


def _subs(*rows):
    return gpd.GeoDataFrame({"name": [r[0] for r in rows]}, geometry=[shapely.box(*r[1]) for r in rows], crs=UTM)


def _pts(rows, crs=UTM):
    return gpd.GeoDataFrame({"name": [r[0] for r in rows], "population": [r[3] for r in rows]},
                            geometry=[shapely.Point(r[1], r[2]) for r in rows], crs=crs)


def test_three_points_tile_a_square_subdistrict():
    subs = _subs(("海北街道", (655000, 4392000, 656000, 4393000)))
    pts = _pts([("青山社区", 655200, 4392200, 3000), ("黄河社区", 655800, 4392300, 2500),
                ("狮城社区", 655500, 4392800, 4100)])
    cells = communities_from_points(pts, subs)
    assert len(cells) == 3
    assert cells.crs.equals(pts.crs)
    assert cells["approximate"].all()
    assert cells.attrs["note"] == APPROXIMATE_NOTE
    # attributes carried, subdistrict linked
    assert cells["name"].tolist() == ["青山社区", "黄河社区", "狮城社区"]
    assert cells["population"].tolist() == [3000, 2500, 4100]
    assert set(cells["subdistrict"]) == {"海北街道"}
    # tile exactly: areas add up to the square, union is the square, no overlaps
    square = subs.geometry.iloc[0]
    assert cells.area.sum() == pytest.approx(square.area, rel=1e-9)
    assert shapely.union_all(cells.geometry.values).symmetric_difference(square).area < 1e-6
    g = cells.geometry.values
    for i in range(3):
        for j in range(i + 1, 3):
            assert shapely.intersection(g[i], g[j]).area < 1e-6
    # each cell holds its own point and is nearer to it than to the others (Voronoi property)
    assert shapely.contains(g, pts.geometry.values).all()
    probe = shapely.point_on_surface(g)
    d = np.array([[shapely.distance(p, q) for q in pts.geometry.values] for p in probe])
    assert (d.argmin(axis=1) == np.arange(3)).all()


def test_cells_never_cross_subdistrict_borders():
    subs = _subs(("西", (0, 0, 1000, 1000)), ("东", (1000, 0, 2000, 1000)))
    # the nearest point to much of the west square's east half lies in the east square
    pts = _pts([("a", 100, 500, 1), ("b", 300, 900, 1), ("c", 1050, 500, 1), ("d", 1900, 100, 1)])
    cells = communities_from_points(pts, subs)
    west, east = subs.geometry.values
    assert cells["subdistrict"].tolist() == ["西", "西", "东", "东"]
    for geom, sub in zip(cells.geometry.values, cells["subdistrict"]):
        inside = west if sub == "西" else east
        assert geom.difference(inside).area < 1e-6
    assert cells.area.sum() == pytest.approx(2_000_000)
    assert cells.loc[cells.subdistrict == "西"].area.sum() == pytest.approx(1_000_000)


def test_single_point_gets_whole_subdistrict_and_empty_subdistrict_is_listed():
    subs = _subs(("有", (0, 0, 500, 500)), ("无", (500, 0, 1000, 500)))
    cells = communities_from_points(_pts([("only", 250, 250, 10)]), subs)
    assert cells.geometry.iloc[0].equals(subs.geometry.iloc[0])
    assert cells.attrs["subdistricts_without_points"] == ["无"]


def test_geographic_input_is_computed_in_metres_and_returned_in_its_crs():
    subs = _subs(("海北街道", (655000, 4392000, 656000, 4393000))).to_crs(4326)
    pts = _pts([("a", 655200, 4392200, 1), ("b", 655800, 4392300, 1)]).to_crs(4326)
    cells = communities_from_points(pts, subs)
    assert cells.crs.to_epsg() == 4326
    metric = cells.to_crs(UTM)
    assert metric.area.sum() == pytest.approx(1_000_000, rel=1e-3)
    assert shapely.contains(cells.geometry.values, pts.geometry.values).all()


def test_bad_points_raise_naming_the_row():
    subs = _subs(("s", (0, 0, 100, 100)))
    with pytest.raises(GeometryError, match="outside every subdistrict.*far"):
        communities_from_points(_pts([("ok", 50, 50, 1), ("far", 500, 500, 1)]), subs)
    with pytest.raises(ValueInputError, match="share one position"):
        communities_from_points(_pts([("a", 50, 50, 1), ("b", 50, 50, 1)]), subs)
    with pytest.raises(CRSError):
        communities_from_points(_pts([("a", 50, 50, 1)]).set_crs(None, allow_override=True), subs)
    poly = gpd.GeoDataFrame({"name": ["p"]}, geometry=[shapely.box(1, 1, 2, 2)], crs=UTM)
    with pytest.raises(GeometryError, match="single points"):
        communities_from_points(poly, subs)
