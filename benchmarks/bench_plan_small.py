"""A whole ``plan --sites auto`` run on a 3,000-node street grid, as a planner runs it (issue 17).

``synthetic_city(3000)`` (the ``grid3k_nodes100`` city of ``siting_instances.py``) is written
as a data folder (GeoPackage streets and layers), then ``python -m coverage plan FOLDER --out OUT
--sites auto --candidate-source nodes --time-limit T`` runs in a fresh process, ``--repeat``
times. Printed: wall seconds of the whole process, the solver's own seconds, seconds outside
the solver, sites, bound and method from ``summary.json``.

    python benchmarks/bench_plan_small.py [--nodes 3000] [--time-limit 3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from synthetic_city import synthetic_city


def write_folder(folder: Path, nodes: int) -> str:
    """The synthetic grid city as a data folder; returns its one-line description."""
    city = synthetic_city(nodes, min(5_000, nodes // 10))
    folder.mkdir(parents=True, exist_ok=True)
    city.network.edges[["highway", "name", "geometry"]].to_file(folder / "streets.gpkg")
    for name, layer in (("subdistricts", city.subdistricts), ("communities", city.communities),
                        ("facilities", city.facilities), ("population", city.demand)):
        layer.to_file(folder / f"{name}.gpkg")
    return city.describe()


def run_once(folder: Path, out: Path, time_limit: float) -> dict:
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "coverage", "plan", str(folder), "--out", str(out), "--sites", "auto",
                           "--candidate-source", "nodes", "--time-limit", f"{time_limit:g}", "-q"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if done.returncode:
        raise SystemExit(done.stderr)
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))["siting"]
    return {"wall": wall, "solve": float(s["solve_seconds"]), "sites": s["objective"], "bound": s["bound"],
            "method": s.get("method", s["status"])}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=3_000)
    p.add_argument("--time-limit", type=float, default=3.0)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "grid"
        print(write_folder(folder, args.nodes))
        print("| run | whole run s | solver s | outside the solver s | sites | bound | method |")
        print("|---|---|---|---|---|---|---|")
        for k in range(args.repeat):
            r = run_once(folder, Path(tmp) / f"out{k}", args.time_limit)
            print(f"| {k + 1} | {r['wall']:.1f} | {r['solve']:.1f} | {r['wall'] - r['solve']:.1f} | {r['sites']:.0f} "
                  f"| {r['bound']:.0f} | {r['method']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
