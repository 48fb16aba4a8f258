"""Slope benchmark: the directed, slope-aware walk pass against the flat pass (issue 21).

On the 51k-node synthetic city of :mod:`synthetic_city` (the one ``bench_isochrones.py``
and ``bench_siting.py`` use), with a generated DEM GeoTIFF of hills over it (30 m cells,
UTM 48N, up to ~12 % grades), every pass starting from the same snapped facilities and
residents (snapping untimed, shared):

* **flat** — :func:`coverage.access.network_distance`: the symmetric metres pass (one
  multi-source Dijkstra over the undirected matrix), what a plan without ``--dem`` or a
  profile runs;
* **directed, flat** — :func:`coverage.network.slope.edge_times` without a DEM +
  :func:`coverage.access.walk_time` (home → facility seconds, reversed directed matrix);
* **directed, slope** — ``edge_times`` with the DEM (samples every 10 m, bilinear, Tobler)
  + ``walk_time``; also shown split into its two parts.

and the whole :func:`coverage.access.measure_coverage` call without and with the slope
times (the latter also runs the metres pass for the 500 m verdict). Each is timed
``--repeat`` times; the table shows the fastest. The peer is our own flat pass: no peer
library computes direction-dependent slope walks on a vector network (AccessMod does it on
rasters only).

Run: ``python benchmarks/bench_slope.py [--nodes 50000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
import shapely
from rasterio.transform import from_origin

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synthetic_city import UTM48N, synthetic_city

from coverage.access import measure_coverage, network_distance, walk_time
from coverage.network.slope import edge_times
from coverage.network.snap import snap_points
from coverage.params import CoverageParams


def write_dem(path: Path, bounds: np.ndarray, cell: float = 30.0) -> Path:
    """Rolling hills (±40 m over ~2 km) plus a 1 % tilt, covering ``bounds`` with a 300 m margin."""
    x0, y0, x1, y1 = bounds[0] - 300, bounds[1] - 300, bounds[2] + 300, bounds[3] + 300
    w, h = int(np.ceil((x1 - x0) / cell)), int(np.ceil((y1 - y0) / cell))
    xs, ys = x0 + cell * (np.arange(w) + 0.5), y1 - cell * (np.arange(h) + 0.5)
    gx, gy = np.meshgrid(xs, ys)
    z = 1100 + 0.01 * (gx - x0) + 40 * np.sin((gx - x0) / 700) * np.cos((gy - y0) / 900)
    with rasterio.open(path, "w", driver="GTiff", height=h, width=w, count=1, dtype="float32", crs=UTM48N.to_wkt(),
                       transform=from_origin(x0, y1, cell, cell), nodata=-9999.0) as dst:
        dst.write(z.astype("float32"), 1)
    return path


def best(fn, repeat: int) -> tuple[float, object]:
    """Fastest of ``repeat`` runs (seconds) and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nodes", type=int, default=50_000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    city = synthetic_city(args.nodes, 10)
    net, params = city.network, CoverageParams()
    print(city.describe())
    with tempfile.TemporaryDirectory() as tmp:
        dem = write_dem(Path(tmp) / "dem.tif", np.array([net.node_x.min(), net.node_y.min(), net.node_x.max(),
                                                         net.node_y.max()]))
        fac = city.facilities.assign(counted=True)
        src = snap_points(net, shapely.get_coordinates(fac.geometry.values))
        dst = snap_points(net, shapely.get_coordinates(city.demand.geometry.values))
        _ = net.edge_arrays, net.components  # cached tables: built once per network, as in a plan
        limit_s = params.minutes * 60.0 * 4  # what measure_coverage uses
        rows = []
        t_flat, (d, _) = best(lambda: network_distance(net, src, dst), args.repeat)
        rows.append(("flat: network_distance (metres, undirected)", t_flat))
        t_et0, flat_times = best(lambda: edge_times(net, params.speed_kmh), args.repeat)
        t_wt0, (t0, _) = best(lambda: walk_time(net, flat_times, src, dst, limit_s), args.repeat)
        rows.append(("directed, flat: edge_times (no DEM) + walk_time", t_et0 + t_wt0))
        t_et, times = best(lambda: edge_times(net, params.speed_kmh, dem=dem), args.repeat)
        t_wt, (t1, _) = best(lambda: walk_time(net, times, src, dst, limit_s), args.repeat)
        rows.append(("directed, slope: edge_times (DEM) + walk_time", t_et + t_wt))
        rows.append(("  of which edge_times with the DEM (sampling + Tobler)", t_et))
        rows.append(("  of which walk_time (directed Dijkstra + legs)", t_wt))
        t_mc0, _ = best(lambda: measure_coverage(net, fac, city.demand, params), args.repeat)
        rows.append(("measure_coverage, flat", t_mc0))
        t_mc1, _ = best(lambda: measure_coverage(net, fac, city.demand, params,
                                                 times=edge_times(net, params.speed_kmh, dem=dem)), args.repeat)
        rows.append(("measure_coverage, slope (edge_times inside)", t_mc1))
    fin = np.isfinite(d) & np.isfinite(t0) & (d < params.walk_m * 4)
    check = float(np.max(np.abs(t0[fin] * flat_times.speed_ms - d[fin]))) if fin.any() else float("nan")
    print(f"\n{args.nodes:,} nodes asked: {net.n_nodes:,} nodes, {len(net.edges):,} edges, {len(dst):,} residents, "
          f"{len(src)} facilities; DEM samples: {len(times.pos):,}; street without elevation "
          f"{times.no_elevation_m:.0f} m; check |flat seconds × speed − metres| max {check:.2e} m\n")
    print(f"| pass | seconds (best of {args.repeat}) | × flat |")
    print("| --- | ---: | ---: |")
    for name, sec in rows:
        base = t_mc0 if name.startswith("measure_coverage") else t_flat
        print(f"| {name} | {sec:.3f} | {sec / base:.2f} |")
    slower = float(np.mean(t1[np.isfinite(t1)] > t0[np.isfinite(t1)]))
    print(f"\nshare of residents whose walk takes longer with the hills than flat: {slower:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
