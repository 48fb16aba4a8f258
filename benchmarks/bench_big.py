"""Big input: a whole city at realistic density, end to end, at several sizes (up to Beijing's).

A synthetic city is generated around Wuhai (UTM 48N, centred near Haibowan,
stretched north–south along the Yellow River like the real urban area): a
jittered street grid (~90 m blocks, 8 % of links removed, some streets bent, a
few motorways and private service roads the walk filter must drop). Its units
scale with its size like Beijing's (issue 22): 340 subdistricts (街道/乡镇),
3,400 communities (2 × 5 per subdistrict) and 21.9 million declared residents
per million walkable nodes, never fewer than Wuhai's 20 subdistricts. Residents
are 2 population points for every 3 nodes beside the streets, each community's
declared population split at random over the points inside it. Existing
facilities: a 社区卫生服务中心 in every subdistrict, a 社区卫生服务站 for every
two communities except 15 % of the pairs (the gaps), and hospitals, clinics and
pharmacies that are listed, not counted; plus a candidates layer.

It is written as a real data folder — streets as OSM XML (default) or a
GeoPackage centre-line layer, every other layer as GeoPackage or CSV in WGS84
— so that the readers, the walk filter and the validation run as they do for
a planner. Then, per size:

1. (unless ``--skip-steps``) in a fresh process (so peak RSS belongs to that size alone), it times

    load   load_study_area(folder): readers, walk graph, validation, partition check
    demand population model (population points)
    coverage  network distances for every demand point
    isochrones  5/10/15-minute isochrones of every counted facility
    rules  rules, per-community table, summary.json content
    siting (--siting)  propose_sites over the candidates layer

   and reports wall time per step, the process's peak RSS (ru_maxrss) against its
   RSS after the imports, and with --tracemalloc the largest tracemalloc peak of
   any step (Python and numpy allocations; slows the run 2-3x);

2. (unless ``--skip-plan``) the real command line, ``python -m coverage plan FOLDER --out OUT``, in a
   subprocess: wall time per step from its progress lines (imports, load, demand, coverage,
   isochrones, rules, capacity, outputs = the files and report.html), its CPU time and peak RSS
   (``os.wait4``, as ``/usr/bin/time -v``), the size of report.html, and (unless ``--skip-browser``)
   the seconds headless Chromium (Playwright, /usr/bin/chromium) takes to open the report: until
   the load event, and until the map is drawn.

Run::

    python benchmarks/bench_big.py                       # 25k, 75k, 150k nodes
    python benchmarks/bench_big.py --sizes 1000000 --skip-steps --keep /tmp/big   # Beijing-sized plan
    python benchmarks/bench_big.py --sizes 1000000 --skip-steps --keep /tmp/big --reuse  # again, same data
    python benchmarks/bench_big.py --sizes 150000 --siting --skip-plan
    python benchmarks/bench_big.py --streets gpkg        # centre-line layer instead of OSM XML

The default sizes finish in under 15 minutes on 2 cores; 1,000,000 nodes needs ~1 GB of disk and
about 10 minutes (generation ~2-3 min, plan ≤ 5 min).
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
WALKABLE = 0.95       # walkable nodes per grid node after the walk filter, clipping and contraction (0.956 measured)
#: Beijing per million walkable nodes (the issue's target city): 340 街道/乡镇, 3,400 社区, 21.9 M residents.
SUBDISTRICTS_PER_M, COMMUNITIES_PER_SUB, PEOPLE_PER_M = 340, (2, 5), 21_900_000
MIN_SUBDISTRICTS = 20  # Wuhai's count: smaller cities keep it
STATION_GAP = 0.15     # share of community pairs left without a station (the gaps the rules should find)


# ----------------------------------------------------------------------------- generation

def _units(box: tuple[float, float, float, float], n_sub: int, rng: np.random.Generator, people: int):
    """Subdistricts in columns tiling ``box``, each cut into 2 × 5 communities with declared populations."""
    import shapely

    x0, y0, x1, y1 = box
    sx = max(1, round(math.sqrt(n_sub * (x1 - x0) / (y1 - y0))))  # about square subdistricts
    per_col = [n_sub // sx + (i < n_sub % sx) for i in range(sx)]
    cx, cy = COMMUNITIES_PER_SUB
    weights = rng.uniform(0.4, 1.6, n_sub * cx * cy)
    declared = np.floor(weights / weights.sum() * people).astype(np.int64)
    declared[: people - int(declared.sum())] += 1          # the declared total is exactly ``people``
    subs, comms = [], []
    for i, rows in enumerate(per_col):
        for j in range(rows):
            a0, a1 = x0 + (x1 - x0) * i / sx, x0 + (x1 - x0) * (i + 1) / sx
            b0, b1 = y0 + (y1 - y0) * j / rows, y0 + (y1 - y0) * (j + 1) / rows
            k = len(subs) + 1
            name = f"第{k}街道"
            subs.append({"name": name, "code": f"150302{k:03d}" if k < 1000 else f"15{k:07d}",
                         "geometry": shapely.segmentize(shapely.box(a0, b0, a1, b1), 200)})
            for q in range(cy):
                for p in range(cx):
                    comms.append({"name": f"{name}{q * cx + p + 1}社区", "subdistrict": name,
                                  "code": subs[-1]["code"] + f"{q * cx + p + 1:03d}",
                                  "population": int(declared[len(comms)]),
                                  "geometry": shapely.segmentize(shapely.box(
                                      a0 + (a1 - a0) * p / cx, b0 + (b1 - b0) * q / cy,
                                      a0 + (a1 - a0) * (p + 1) / cx, b0 + (b1 - b0) * (q + 1) / cy), 200)})
    return subs, comms


def _residents(pxy: np.ndarray, comms, rng: np.random.Generator) -> np.ndarray:
    """Each community's declared population split at random over the points inside it."""
    import shapely

    tree = shapely.STRtree(comms.geometry.values)
    pts, owner = tree.query(shapely.points(pxy), predicate="intersects")
    first = np.full(len(pxy), -1)
    first[pts[::-1]] = owner[::-1]                         # a point on a border: its first community
    pop = np.zeros(len(pxy))
    order = np.argsort(first, kind="stable")
    bounds = np.searchsorted(first[order], np.arange(len(comms) + 1))
    for c, declared in enumerate(comms["population"].to_numpy()):
        members = order[bounds[c]:bounds[c + 1]]
        if len(members):
            pop[members] = rng.multinomial(int(declared), rng.dirichlet(np.full(len(members), 2.0)))
    return pop


def _facility_nodes(units, n_pick, shape, origin, rng) -> np.ndarray:
    """``n_pick[k]`` grid nodes at random inside each of ``units`` (rectangles), as flat node indices."""
    nx_, ny_ = shape
    b = np.repeat(np.asarray([g.bounds for g in units.geometry.values]), n_pick, axis=0)
    x = rng.uniform(b[:, 0] + 60, b[:, 2] - 60)
    y = rng.uniform(b[:, 1] + 60, b[:, 3] - 60)
    i = np.clip(np.round((x - origin[0]) / SPACING), 0, nx_ - 1).astype(int)
    j = np.clip(np.round((y - origin[1]) / SPACING), 0, ny_ - 1).astype(int)
    return i * ny_ + j


def generate(folder: Path, n_nodes: int, seed: int = 0, streets: str = "osm") -> dict:
    """Write a synthetic city data folder with about ``n_nodes`` walkable street nodes; return its sizes.

    Subdistricts, communities and people scale with the size like Beijing (340 / 3,400 / 21.9 M per
    million nodes; never fewer than Wuhai's 20 subdistricts); 2 residents' points for every 3 nodes.
    """
    import geopandas as gpd
    import pandas as pd
    import pyproj
    import shapely

    rng = np.random.default_rng(seed)
    utm = pyproj.CRS.from_epsg(32648)
    nx_ = math.ceil(math.sqrt(n_nodes / ASPECT / WALKABLE))
    ny_ = math.ceil(nx_ * ASPECT)
    gx, gy = np.meshgrid(np.arange(nx_), np.arange(ny_), indexing="ij")
    origin = (CENTRE[0] - nx_ * SPACING / 2, CENTRE[1] - ny_ * SPACING / 2)
    xy = np.column_stack([gx.ravel(), gy.ravel()]).astype(float) * SPACING
    xy += rng.uniform(-SPACING / 4, SPACING / 4, xy.shape)
    xy += origin
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
    n_sub = max(MIN_SUBDISTRICTS, round(SUBDISTRICTS_PER_M * n_nodes / 1e6))
    people = round(PEOPLE_PER_M * n_nodes / 1e6)
    subs, comms = _units((x0, y0, x1, y1), n_sub, rng, people)
    subs = gpd.GeoDataFrame(subs, crs=utm)
    comms = gpd.GeoDataFrame(comms, crs=utm)

    # residents beside streets: 2 population points for every 3 nodes, the communities' declared people
    n_pop = round(n_nodes * 2 / 3)
    e = rng.integers(0, len(edges), n_pop)
    t = rng.uniform(0, 1, n_pop)
    a, b = xy[edges[e, 0]], xy[edges[e, 1]]
    d = b - a
    normal = np.column_stack([-d[:, 1], d[:, 0]]) / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
    pxy = a + d * t[:, None] + normal * (rng.uniform(5, 40, n_pop) * rng.choice([-1, 1], n_pop))[:, None]
    pop = gpd.GeoDataFrame({"population": _residents(pxy, comms, rng)}, geometry=shapely.points(pxy), crs=utm)
    pop.loc[rng.random(n_pop) < 0.001, "population"] = np.nan        # a few unknown: dropped and counted

    # existing facilities near grid nodes: a centre in every subdistrict, a station for every two
    # communities except STATION_GAP of them, and hospitals, clinics and pharmacies (listed, not counted)
    n_cs = len(comms)
    pairs = rng.random(n_cs // 2) > STATION_GAP
    pair_of = np.arange(n_cs // 2)[pairs] * 2 + rng.integers(0, 2, int(pairs.sum()))   # one of the two
    at = np.r_[_facility_nodes(subs, np.ones(len(subs), int), (nx_, ny_), origin, rng),
               _facility_nodes(comms.iloc[pair_of], np.ones(len(pair_of), int), (nx_, ny_), origin, rng),
               rng.choice(len(xy), len(subs) // 4 + len(subs) + len(subs) // 2, replace=False)]
    kinds = (["社区卫生服务中心"] * len(subs) + ["社区卫生服务站"] * len(pair_of)
             + ["医院"] * (len(subs) // 4) + ["诊所"] * len(subs) + ["药店"] * (len(subs) // 2))
    n_fac = len(kinds)
    n_stations = len(pair_of)
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
            "facilities": n_fac, "centres": len(subs), "stations": n_stations, "people": people,
            "communities": len(comms), "subdistricts": len(subs),
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


#: Progress lines of ``python -m coverage plan`` (stderr, not a terminal) → step names of the tables.
CLI_STEPS = {"loading layers": "load", "population model": "demand", "network distances": "coverage",
             "isochrones": "isochrones", "rules": "rules", "capacity": "capacity", "siting": "siting",
             "done": "outputs"}
CHROMIUM = "/usr/bin/chromium"


def run_cli_plan(folder: Path, out: Path) -> dict:
    """``python -m coverage plan FOLDER --out OUT`` in a subprocess: wall time per step and peak RSS.

    Each progress line is stamped when it arrives; a step lasts until the next line, ``imports`` is the
    time before the first line and ``outputs`` the time after ``done`` (files and report.html written).
    Peak RSS and CPU time are the child's own (``os.wait4``: what ``/usr/bin/time -v`` reports).
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "coverage", "plan", str(folder), "--out", str(out)]
    stamps: list[tuple[str, float]] = []
    with tempfile.TemporaryFile("w+", encoding="utf-8") as stdout:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
        err = []
        for line in proc.stderr:  # fixed argv, no shell
            err.append(line)
            key = line.split("] ", 1)[-1].split(" /")[0]
            if key in CLI_STEPS:
                stamps.append((CLI_STEPS[key], time.perf_counter() - t0))
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        printed = stdout.read()
    if proc.returncode:
        raise RuntimeError(f"plan failed ({proc.returncode}):\n{''.join(err)[-3000:]}")
    ends = [t for _, t in stamps[1:]] + [wall]
    steps = {"imports": stamps[0][1] if stamps else wall}
    steps.update({name: end - t for (name, t), end in zip(stamps, ends)})
    report = out / "report.html"
    return {"wall_s": wall, "steps": steps, "peak_rss_mb": usage.ru_maxrss / 1e3,
            "cpu_s": usage.ru_utime + usage.ru_stime, "report_mb": report.stat().st_size / 1e6,
            "outputs_mb": sum(f.stat().st_size for f in out.iterdir()) / 1e6, "printed": printed.strip()}


def chromium_load(report: Path, timeout_s: float = 120.0) -> dict:
    """Seconds for headless Chromium to open ``report`` until its load event, and until the map is drawn.

    "Drawn": Leaflet's SVG paths are in the map, every image in it (the street image) is decoded, and
    two animation frames have passed (the page has painted). Browser start-up is not counted.
    """
    from playwright.sync_api import sync_playwright

    drawn = ("() => document.querySelectorAll('.leaflet-overlay-pane path').length > 0"
             " && [...document.querySelectorAll('.leaflet-pane img')].every(i => i.complete && i.naturalWidth > 0)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            t0 = time.perf_counter()
            page.goto(report.as_uri(), wait_until="load", timeout=timeout_s * 1e3)
            load = time.perf_counter() - t0
            page.wait_for_function(drawn, timeout=timeout_s * 1e3)
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            map_s = time.perf_counter() - t0
            paths = page.evaluate("() => document.querySelectorAll('.leaflet-overlay-pane path').length")
        finally:
            browser.close()
    return {"load_s": load, "map_s": map_s, "paths": paths, "errors": errors}


def _load_average() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _plan_table(rows: list[dict]) -> str:
    """The end-to-end ``plan`` table: one row per size."""
    order = ["imports", "load", "demand", "coverage", "isochrones", "rules", "capacity", "outputs"]
    head = (["nodes", "subdistricts", "communities", "demand pts", "people", "counted facilities"]
            + [f"{s} s" for s in order] + ["plan total s", "CPU s", "peak RSS MB", "report MB",
                                           "Chromium load s", "map drawn s", "load avg (1/5/15 min)"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        c, st = r["cli"], r["cli"]["steps"]
        cells = [f"{r['nodes']:,}", f"{r['info']['subdistricts']:,}", f"{r['info']['communities']:,}",
                 f"{r['demand']:,}", f"{r['population']:,.0f}", f"{r['info']['centres'] + r['info']['stations']:,}"]
        cells += [f"{st[s]:.1f}" if s in st else "—" for s in order]
        b = r.get("browser") or {}
        cells += [f"{c['wall_s']:.1f}", f"{c['cpu_s']:.1f}", f"{c['peak_rss_mb']:,.0f}", f"{c['report_mb']:.1f}",
                  f"{b['load_s']:.1f}" if b else "—", f"{b['map_s']:.1f}" if b else "—", r["load_avg"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


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


def _steps_run(folder: Path, args: argparse.Namespace, trace: bool) -> dict:
    """:func:`run_one` in a fresh process (its peak RSS belongs to this size alone)."""
    cmd = [sys.executable, __file__, "--one", str(folder), "--time-limit", str(args.time_limit)]
    cmd += ["--siting"] * args.siting + ["--tracemalloc"] * trace
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # fixed argv, no shell
    if proc.returncode:
        raise RuntimeError(f"steps run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _plan_run(folder: Path, out: Path, info: dict, skip_browser: bool) -> dict:
    """The CLI ``plan`` of one folder, then Chromium opening its report; prints one line."""
    load_avg = _load_average()
    cli = run_cli_plan(folder, out)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    browser = None if skip_browser else chromium_load(out / "report.html")
    r = {"nodes": summary["network"]["nodes"], "demand": summary["population_model"]["demand_points"],
         "population": summary["population"], "info": info, "cli": cli, "browser": browser,
         "load_avg": f"{load_avg} → {_load_average()}"}
    st = ", ".join(f"{k} {v:.1f}" for k, v in cli["steps"].items())
    print(f"  plan: {r['nodes']:,} nodes, {r['demand']:,} demand points, {r['population']:,.0f} people; "
          f"{cli['wall_s']:.1f} s ({st}); CPU {cli['cpu_s']:.1f} s; peak RSS {cli['peak_rss_mb']:,.0f} MB; "
          f"report.html {cli['report_mb']:.1f} MB (all outputs {cli['outputs_mb']:.1f} MB)"
          + (f"; Chromium load {browser['load_s']:.1f} s, map drawn {browser['map_s']:.1f} s "
             f"({browser['paths']} paths, page errors {browser['errors'] or 'none'})" if browser else "")
          + f"; load average {r['load_avg']}", flush=True)
    print("  " + cli["printed"].replace("\n", "\n  "), flush=True)
    return r


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="25000,75000,150000", help="street nodes, comma-separated")
    p.add_argument("--streets", choices=("osm", "gpkg"), default="osm")
    p.add_argument("--siting", action="store_true", help="also time propose_sites over the candidates layer")
    p.add_argument("--time-limit", type=float, default=120.0, help="siting solver time limit (s)")
    p.add_argument("--tracemalloc", action="store_true",
                   help="also report the tracemalloc peak of each step (slows the run 2-3x)")
    p.add_argument("--keep", metavar="DIR", help="write the data folders (and plan outputs) here and keep them")
    p.add_argument("--reuse", action="store_true", help="with --keep: reuse data folders generated by an earlier run")
    p.add_argument("--skip-steps", action="store_true", help="skip the in-process run timed step by step")
    p.add_argument("--skip-plan", action="store_true", help="skip the end-to-end `python -m coverage plan` run")
    p.add_argument("--skip-browser", action="store_true", help="do not time Chromium opening report.html")
    p.add_argument("--json", metavar="FILE", help="also write every measurement to this JSON file")
    p.add_argument("--one", metavar="FOLDER", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    trace = args.tracemalloc
    if args.one:
        print(json.dumps(run_one(Path(args.one), args.siting, trace, args.time_limit), ensure_ascii=False))
        return 0
    rows, plans = [], []
    with tempfile.TemporaryDirectory(prefix="bench_big_") as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        for n in [int(s) for s in args.sizes.split(",") if s.strip()]:
            folder = root / f"wuhai_{n}"
            saved = root / f"wuhai_{n}_{args.streets}.json"
            t = time.perf_counter()
            if args.reuse and saved.exists():  # generated earlier by this script, same size and seed
                info = json.loads(saved.read_text(encoding="utf-8"))
            else:
                info = generate(folder, n, streets=args.streets)
                info["generate_s"] = time.perf_counter() - t
                saved.write_text(json.dumps(info), encoding="utf-8")
            gen_s = info.get("generate_s", time.perf_counter() - t)
            print(f"{n:,} nodes asked: grid {info['grid']}, {info['subdistricts']} subdistricts, "
                  f"{info['communities']:,} communities, {info['people']:,} people, {info['centres']} centres, "
                  f"{info['stations']:,} stations; {info['size_mb']} MB of files written in {gen_s:.0f} s", flush=True)
            if not args.skip_steps:
                r = _steps_run(folder, args, trace)
                r["generate_s"] = gen_s
                rows.append(r)
                print(f"  steps run: population {r['population']:,.0f}, radius {r['radius_share']:.1%}, "
                      f"walk {r['walk_share']:.1%}; skipped {r['skipped']}; excluded {r['excluded_ways']}"
                      + (f"; {r['siting']}" if "siting" in r else ""), flush=True)
            if not args.skip_plan:
                plans.append(_plan_run(folder, root / f"out_{n}", info, args.skip_browser))
        print()
        if rows:
            print(_table(rows, args.siting, trace))
            print()
        if plans:
            print(_plan_table(plans))
    if args.json:
        Path(args.json).write_text(json.dumps({"steps": rows, "plans": plans}, ensure_ascii=False, indent=1),
                                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
