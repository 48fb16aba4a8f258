"""Big input: the whole of Wuhai at realistic density, end to end, at several sizes.

A synthetic Wuhai is generated around the real city (UTM 48N, centred near
Haibowan, stretched north–south along the Yellow River like the real urban
area): a jittered street grid (~90 m blocks, 8 % of links removed, some streets
bent, a few motorways and private service roads the walk filter must drop),
20 subdistricts cut into communities with declared populations, residents
placed beside the streets, centres and stations (plus hospitals, clinics and
pharmacies that are listed, not counted), and a candidates layer.

It is written as a real data folder — streets as OSM XML (default) or a
GeoPackage centre-line layer, every other layer as GeoPackage or CSV in WGS84
— so that the readers, the walk filter and the validation run as they do for
a planner. Then, in a fresh process per size (so peak RSS belongs to that size
alone), it times

    load   load_study_area(folder): readers, walk graph, validation, partition check
    demand population model (population points)
    coverage  network distances for every demand point
    isochrones  5/10/15-minute isochrones of every counted facility
    rules  rules, per-community table, summary.json content
    siting (--siting)  propose_sites over the candidates layer

and reports wall time per step, the process's peak RSS (ru_maxrss) against its
RSS after the imports, and with --tracemalloc the largest tracemalloc peak of
any step (Python and numpy allocations; slows the run 2-3x).

Run::

    python benchmarks/bench_big.py                       # 25k, 75k, 150k nodes
    python benchmarks/bench_big.py --sizes 150000 --siting
    python benchmarks/bench_big.py --streets gpkg        # centre-line layer instead of OSM XML

Must finish in under 15 minutes on 2 cores for the default sizes.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, no install

import numpy as np

#: Haibowan, Wuhai in UTM 48N (≈ 106.82 E, 39.67 N).
CENTRE = (655_000.0, 4_392_000.0)
SPACING = 90.0
ASPECT = 2.5          # north–south : east–west
SUBDISTRICTS = (4, 5)  # 20 subdistrict-level units, as in Wuhai
COMMUNITIES_PER_SUB = (3, 3)


# ----------------------------------------------------------------------------- generation

def generate(folder: Path, n_nodes: int, seed: int = 0, streets: str = "osm") -> dict:
    """Write a synthetic Wuhai data folder with about ``n_nodes`` street nodes; return its sizes."""
    import geopandas as gpd
    import pandas as pd
    import pyproj
    import shapely

    rng = np.random.default_rng(seed)
    utm = pyproj.CRS.from_epsg(32648)
    nx_ = math.ceil(math.sqrt(n_nodes / ASPECT / 0.99))
    ny_ = math.ceil(nx_ * ASPECT)
    gx, gy = np.meshgrid(np.arange(nx_), np.arange(ny_), indexing="ij")
    xy = np.column_stack([gx.ravel(), gy.ravel()]).astype(float) * SPACING
    xy += rng.uniform(-SPACING / 4, SPACING / 4, xy.shape)
    xy += (CENTRE[0] - nx_ * SPACING / 2, CENTRE[1] - ny_ * SPACING / 2)
    idx = np.arange(nx_ * ny_).reshape(nx_, ny_)
    edges = np.vstack([np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()]),    # east–west
                       np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()])])   # north–south
    horizontal = np.r_[np.ones((nx_ - 1) * ny_, bool), np.zeros(nx_ * (ny_ - 1), bool)]
    keep = rng.random(len(edges)) > 0.08
    edges, horizontal = edges[keep], horizontal[keep]
    line = np.where(horizontal, gy.ravel()[edges[:, 0]], gx.ravel()[edges[:, 0]])
    highway = np.where(line % 10 == 0, "primary", "residential").astype(object)
    highway[rng.random(len(edges)) < 0.01] = "footway"
    highway[(~horizontal) & (line == nx_ // 3)] = "motorway"              # one expressway: not walkable
    service = rng.random(len(edges)) < 0.005
    highway[service] = "service"
    bent = rng.random(len(edges)) < 0.2
    names = np.where(horizontal, "纬", "经")

    # layers in metres, then WGS84
    x0, y0 = xy.min(axis=0) - 300
    x1, y1 = xy.max(axis=0) + 300
    sx, sy = SUBDISTRICTS
    cx, cy = COMMUNITIES_PER_SUB
    subs, comms = [], []
    for j in range(sy):
        for i in range(sx):
            a0, b0 = x0 + (x1 - x0) * i / sx, y0 + (y1 - y0) * j / sy
            a1, b1 = x0 + (x1 - x0) * (i + 1) / sx, y0 + (y1 - y0) * (j + 1) / sy
            name = f"第{j * sx + i + 1}街道"
            subs.append({"name": name, "code": f"150302{j * sx + i + 1:03d}",
                         "geometry": shapely.segmentize(shapely.box(a0, b0, a1, b1), 200)})
            for q in range(cy):
                for p in range(cx):
                    comms.append({"name": f"{name}{q * cx + p + 1}社区", "subdistrict": name,
                                  "code": f"150302{j * sx + i + 1:03d}{q * cx + p + 1:03d}",
                                  "population": int(rng.integers(3_000, 12_000)),
                                  "geometry": shapely.segmentize(shapely.box(
                                      a0 + (a1 - a0) * p / cx, b0 + (b1 - b0) * q / cy,
                                      a0 + (a1 - a0) * (p + 1) / cx, b0 + (b1 - b0) * (q + 1) / cy), 200)})
    subs = gpd.GeoDataFrame(subs, crs=utm)
    comms = gpd.GeoDataFrame(comms, crs=utm)

    # residents beside streets: 2 population points for every 3 nodes
    n_pop = round(n_nodes * 2 / 3)
    e = rng.integers(0, len(edges), n_pop)
    t = rng.uniform(0, 1, n_pop)
    a, b = xy[edges[e, 0]], xy[edges[e, 1]]
    d = b - a
    normal = np.column_stack([-d[:, 1], d[:, 0]]) / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
    pxy = a + d * t[:, None] + normal * (rng.uniform(5, 40, n_pop) * rng.choice([-1, 1], n_pop))[:, None]
    pop = gpd.GeoDataFrame({"population": rng.integers(1, 12, n_pop)}, geometry=shapely.points(pxy), crs=utm)
    pop.loc[rng.random(n_pop) < 0.001, "population"] = np.nan        # a few unknown: dropped and counted

    # facilities on random nodes: a centre per subdistrict, a station per 2 communities, and others
    n_stations = max(len(comms) // 2, n_nodes // 1000)
    n_fac = len(subs) + n_stations + 40
    at = rng.choice(len(xy), n_fac, replace=False)
    kinds = (["社区卫生服务中心"] * len(subs) + ["社区卫生服务站"] * n_stations
             + ["医院"] * 10 + ["诊所"] * 15 + ["药店"] * 15)
    fxy = xy[at] + rng.uniform(-20, 20, (n_fac, 2))
    fac = gpd.GeoDataFrame({"name": [f"{k}{i + 1}" for i, k in enumerate(kinds)], "kind": kinds},
                           geometry=shapely.points(fxy), crs=utm).to_crs(4326)

    n_cand = round(n_nodes * 20_000 / 150_000)
    ce = rng.integers(0, len(edges), n_cand)
    cxy = xy[edges[ce, 0]] + (xy[edges[ce, 1]] - xy[edges[ce, 0]]) * rng.uniform(0, 1, n_cand)[:, None]
    cand = gpd.GeoDataFrame({"name": [f"候选点{i + 1}" for i in range(n_cand)]}, geometry=shapely.points(cxy), crs=utm)

    folder.mkdir(parents=True, exist_ok=True)
    subs.to_crs(4326).to_file(folder / "subdistricts.gpkg")
    comms.to_crs(4326).to_file(folder / "communities.gpkg")
    pop.to_crs(4326).to_file(folder / "population.gpkg")
    cand.to_crs(4326).to_file(folder / "candidates.gpkg")
    pd.DataFrame({"名称": fac["name"], "类型": fac["kind"], "经度": fac.geometry.x.round(7),
                  "纬度": fac.geometry.y.round(7)}).to_csv(folder / "facilities.csv", index=False, encoding="utf-8-sig")
    (folder / "meta.json").write_text(json.dumps({"title": "乌海市（合成，基准测试）", "title_en": "Wuhai (synthetic)",
                                                  "synthetic": True}, ensure_ascii=False), encoding="utf-8")

    to_ll = pyproj.Transformer.from_crs(utm, 4326, always_xy=True)
    if streets == "osm":
        lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
        mids = (xy[edges[bent, 0]] + xy[edges[bent, 1]]) / 2 + rng.uniform(-6, 6, (int(bent.sum()), 2))
        mlon, mlat = to_ll.transform(mids[:, 0], mids[:, 1])
        with open(folder / "streets.osm", "w", encoding="utf-8") as fh:
            fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="bench_big">\n')
            fh.writelines(f'<node id="{i + 1}" lat="{la:.7f}" lon="{lo:.7f}"/>\n' for i, (lo, la) in enumerate(zip(lon, lat)))
            base = len(xy) + 1
            fh.writelines(f'<node id="{base + k}" lat="{la:.7f}" lon="{lo:.7f}"/>\n'
                          for k, (lo, la) in enumerate(zip(mlon, mlat)))
            mid_id = np.full(len(edges), -1)
            mid_id[bent] = base + np.arange(int(bent.sum()))
            out = []
            for w, ((u, v), hw, nm, ln, m, svc) in enumerate(zip(edges, highway, names, line, mid_id, service)):
                refs = f'<nd ref="{u + 1}"/>' + (f'<nd ref="{m}"/>' if m > 0 else "") + f'<nd ref="{v + 1}"/>'
                tags = f'<tag k="highway" v="{hw}"/><tag k="name" v="{nm}{ln + 1}路"/>'
                if svc:
                    tags += '<tag k="access" v="private"/>'
                out.append(f'<way id="{w + 1}">{refs}{tags}</way>\n')
            fh.writelines(out)
            fh.write("</osm>\n")
    else:
        a, b = xy[edges[:, 0]], xy[edges[:, 1]]
        mid = (a + b) / 2 + np.where(bent[:, None], rng.uniform(-6, 6, (len(edges), 2)), 0)
        geoms = shapely.linestrings(np.stack([a, mid, b], 1).reshape(-1, 2), indices=np.repeat(np.arange(len(edges)), 3))
        gpd.GeoDataFrame({"highway": highway, "name": [f"{n}{k + 1}路" for n, k in zip(names, line)],
                          "access": np.where(service, "private", None)}, geometry=geoms, crs=utm
                         ).to_crs(4326).to_file(folder / "streets.gpkg")
    return {"grid": f"{nx_}x{ny_}", "edges": len(edges), "population_points": n_pop, "candidates": n_cand,
            "facilities": n_fac, "communities": len(comms), "subdistricts": len(subs),
            "size_mb": round(sum(p.stat().st_size for p in folder.iterdir()) / 1e6, 1)}


# ----------------------------------------------------------------------------- measuring

def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def run_one(folder: Path, siting: bool, trace: bool, time_limit: float) -> dict:
    """Load and plan one data folder, timing each step (run in a fresh process)."""
    from coverage.params import CoverageParams
    from coverage.pipeline import run_plan
    from coverage.study import load_study_area

    gc.collect()
    base_rss = _rss_mb()
    steps: dict[str, dict] = {}
    state = {"name": None, "t": 0.0}

    def close(now: float) -> None:
        if state["name"] is not None:
            peak = tracemalloc.get_traced_memory()[1] / 1e6 if trace else None
            steps[state["name"]] = {"s": now - state["t"], "peak_mb": peak, "rss_mb": _rss_mb()}

    def start(name: str) -> None:
        now = time.perf_counter()
        close(now)
        if trace:
            tracemalloc.reset_peak()
        state.update(name=name, t=time.perf_counter())

    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    start("load")
    study = load_study_area(folder)
    names = {"population model": "demand", "network distances": "coverage", "isochrones": "isochrones",
             "rules": "rules", "siting": "siting", "done": None}

    def progress(message: str, fraction: float) -> None:
        key = message.split(" /")[0]
        if key in names and names[key] != state["name"]:
            if names[key] is None:
                close(time.perf_counter())
                state["name"] = None
            else:
                start(names[key])

    params = CoverageParams()
    result = run_plan(study, params, progress=progress,
                      siting={"sites": "auto", "target_share": 0.95, "candidates": "layer",
                              "time_limit": time_limit} if siting else None)
    start("summary")
    summary = result.summary()
    close(time.perf_counter())
    total = time.perf_counter() - t0
    if trace:
        tracemalloc.stop()
    skipped = {s["reason"]: s["count"] for s in summary["skipped"]}
    out = {"nodes": study.network.n_nodes, "edges": len(study.network.edges),
           "demand": len(result.demand.points), "steps": steps, "total_s": total,
           "base_rss_mb": base_rss, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
           "population": summary["population"], "walk_share": summary["coverage"]["walk"]["share"],
           "radius_share": summary["coverage"]["radius"]["share"], "skipped": skipped,
           "excluded_ways": summary["network"]["excluded_ways"]}
    if siting and result.siting is not None:
        out["siting"] = result.siting.one_line()
    return out


def _table(rows: list[dict], siting: bool, trace: bool) -> str:
    order = ["load", "demand", "coverage", "isochrones", "rules", "summary"] + (["siting"] if siting else [])
    head = ["nodes", "edges", "demand pts"] + [f"{s} s" for s in order] + ["total s", "peak RSS MB",
                                                                            "RSS − base MB", "KB/node"]
    if trace:
        head.insert(3 + len(order), "max step tracemalloc MB")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        st = r["steps"]
        cells = [f"{r['nodes']:,}", f"{r['edges']:,}", f"{r['demand']:,}"]
        cells += [f"{st[s]['s']:.1f}" if s in st else "—" for s in order]
        if trace:
            cells.append(f"{max(v['peak_mb'] for v in st.values()):,.0f} ({max(st, key=lambda k: st[k]['peak_mb'])})")
        grow = r["peak_rss_mb"] - r["base_rss_mb"]
        cells += [f"{r['total_s']:.1f}", f"{r['peak_rss_mb']:,.0f}", f"{grow:,.0f}", f"{grow * 1e3 / r['nodes']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="25000,75000,150000", help="street nodes, comma-separated")
    p.add_argument("--streets", choices=("osm", "gpkg"), default="osm")
    p.add_argument("--siting", action="store_true", help="also time propose_sites over the candidates layer")
    p.add_argument("--time-limit", type=float, default=120.0, help="siting solver time limit (s)")
    p.add_argument("--tracemalloc", action="store_true",
                   help="also report the tracemalloc peak of each step (slows the run 2-3x)")
    p.add_argument("--keep", metavar="DIR", help="write the data folders here and keep them")
    p.add_argument("--one", metavar="FOLDER", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    trace = args.tracemalloc
    if args.one:
        print(json.dumps(run_one(Path(args.one), args.siting, trace, args.time_limit), ensure_ascii=False))
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_big_") as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        for n in [int(s) for s in args.sizes.split(",") if s.strip()]:
            folder = root / f"wuhai_{n}"
            t = time.perf_counter()
            info = generate(folder, n, streets=args.streets)
            gen_s = time.perf_counter() - t
            cmd = [sys.executable, __file__, "--one", str(folder), "--time-limit", str(args.time_limit)]
            cmd += ["--siting"] * args.siting + ["--tracemalloc"] * trace
            t = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # fixed argv, no shell
            if proc.returncode:
                sys.stderr.write(proc.stderr)
                return proc.returncode
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            r["generate_s"] = gen_s
            rows.append(r)
            print(f"{n:,} nodes asked: grid {info['grid']}, {info['size_mb']} MB of files written in {gen_s:.0f} s; "
                  f"run {time.perf_counter() - t:.0f} s; population {r['population']:,.0f}, "
                  f"radius {r['radius_share']:.1%}, walk {r['walk_share']:.1%}; skipped {r['skipped']}; "
                  f"excluded {r['excluded_ways']}" + (f"; {r['siting']}" if "siting" in r else ""), flush=True)
    print()
    print(_table(rows, args.siting, trace))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
