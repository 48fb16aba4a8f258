"""Tiny networks in metres for the capacity tests: a street line, a jittered grid."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from coverage.network import WalkNetwork, network_from_edges

UTM = pyproj.CRS.from_epsg(32648)
X0, Y0 = 655_000.0, 4_392_000.0


def line_network(length_m: float, step_m: float = 50.0) -> WalkNetwork:
    """A straight street from x=0 to x=length_m (local metres), a node every ``step_m``."""
    xs = np.arange(0.0, length_m + 1e-9, step_m)
    xy = np.column_stack([X0 + xs, np.full(xs.size, Y0)])
    u = np.arange(xs.size - 1)
    geoms = shapely.linestrings(np.stack([xy[u], xy[u + 1]], axis=1))
    e = gpd.GeoDataFrame({"u": u, "v": u + 1, "highway": "residential", "name": "主街"}, geometry=geoms, crs=UTM)
    return network_from_edges(e, xy, source="test line")


def grid_network(side: int, spacing: float = 100.0, seed: int = 0, drop: float = 0.08) -> WalkNetwork:
    """A jittered grid with some links removed (walks detour)."""
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(side) * spacing, np.arange(side) * spacing)
    xy = np.column_stack([(gx + rng.uniform(-spacing / 4, spacing / 4, gx.shape)).ravel() + X0,
                          (gy + rng.uniform(-spacing / 4, spacing / 4, gy.shape)).ravel() + Y0])
    idx = np.arange(side * side).reshape(side, side)
    edges = np.vstack([np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),
                       np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()])])
    edges = edges[rng.random(len(edges)) > drop]
    geoms = shapely.linestrings(np.stack([xy[edges[:, 0]], xy[edges[:, 1]]], axis=1))
    e = gpd.GeoDataFrame({"u": edges[:, 0], "v": edges[:, 1], "highway": "residential"}, geometry=geoms, crs=UTM)
    return network_from_edges(e, xy, source="test grid")


def points(xy: np.ndarray, **cols) -> gpd.GeoDataFrame:
    """Points at local metres ``xy`` (n, 2) with extra columns."""
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame(cols, geometry=shapely.points(xy[:, 0] + X0, xy[:, 1] + Y0), crs=UTM)


def line_study(fac_rows: list[dict], clusters: list[tuple[float, float]], length: float = 2000.0):
    """A street line with residents in clusters (x, residents) and facilities (x, capacity)."""
    from coverage.study import build_study_area

    net = line_network(length)
    box = shapely.box(X0 - 100, Y0 - 200, X0 + length + 100, Y0 + 200)
    import geopandas as gpd

    subs = gpd.GeoDataFrame({"name": ["街道"]}, geometry=[box], crs=UTM)
    comms = gpd.GeoDataFrame({"name": ["社区"], "subdistrict": ["街道"], "population": [sum(p for _, p in clusters)]},
                             geometry=[box], crs=UTM)
    pop = points(np.array([[x, 20.0] for x, _ in clusters]), population=[float(p) for _, p in clusters])
    fac = points(np.array([[r["x"], 10.0] for r in fac_rows]), name=[r["name"] for r in fac_rows],
                 kind=[r.get("kind", "station") for r in fac_rows], capacity=[r["capacity"] for r in fac_rows])
    return build_study_area(net, subs, comms, fac, pop, crs=UTM, meta={"title": "line", "synthetic": True})
