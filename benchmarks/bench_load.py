"""Loading an OSM street file: the project's pyosmium reader against the osmnx path (issue 22).

The synthetic Wuhai of ``bench_big.py`` (OSM XML streets, one way per street
segment) is generated at each size, and each reader loads it in a fresh
process, so that the peak RSS (``ru_maxrss``) belongs to that one load:

    osmnx    ``coverage.network.read_osm_xml``: ``osmnx.graph_from_xml(simplify=False)``,
             the walk filter, ``osmnx.simplify_graph``, the network tables (the peer)
    read_osm ``coverage.network.osmread.read_osm``: libosmium decodes the file and
             writes the highway ways as OPL text, numpy parses it, filters and
             contracts the degree-2 chains

``read_osm`` also reads the same city converted to ``.osm.pbf``. Every row
prints the network it gave (nodes, edges, total length); the readers must agree.
Times are wall seconds of the read alone (imports excluded), the minimum over
``--repeat`` runs; memory is the peak RSS of the run and its growth over the
RSS after the imports.

Run::

    python benchmarks/bench_load.py                          # 25k and 150k nodes
    python benchmarks/bench_load.py --sizes 150000 --repeat 3 --keep /tmp/wuhai
    python benchmarks/bench_load.py --no-peer                # read_osm only (osmnx takes minutes at 150k)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, no install
sys.path.insert(0, str(ROOT / "benchmarks"))

READERS = {
    "osmnx": "osmnx path (`read_osm_xml`: `graph_from_xml`, walk filter, `simplify_graph`)",
    "read_osm": "pyosmium + numpy (`read_osm`)",
}


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def run_one(reader: str, path: Path) -> dict:
    """Load ``path`` with ``reader`` in this (fresh) process; time, memory and the network's size."""
    from coverage.network import read_osm_xml
    from coverage.network.filter import osmnx_with_walk_tags
    from coverage.network.osmread import read_osm

    if reader == "osmnx":
        osmnx_with_walk_tags()  # the import (~1 s) is not part of the load
    base = _rss_mb()
    t = time.perf_counter()
    net = read_osm_xml(path) if reader == "osmnx" else read_osm(path)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
            "base_rss_mb": base, "nodes": net.n_nodes, "edges": len(net.edges),
            "length_m": round(float(net.edges["length"].sum()), 2)}


def _to_pbf(xml: Path) -> Path:
    import osmium

    pbf = xml.with_suffix(".osm.pbf")
    if not pbf.exists():
        with osmium.SimpleWriter(str(pbf)) as writer:
            for obj in osmium.FileProcessor(str(xml)):
                writer.add(obj)
    return pbf


def _measure(reader: str, path: Path, repeat: int) -> dict:
    """Minimum time over ``repeat`` fresh processes; memory of the fastest run (the runs agree within noise)."""
    runs = []
    for _ in range(repeat):
        cmd = [sys.executable, __file__, "--one", reader, str(path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # fixed argv, no shell
        if proc.returncode:
            sys.stderr.write(proc.stderr)
            raise SystemExit(proc.returncode)
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["seconds"])
    best["all_s"] = [r["seconds"] for r in runs]
    best["peak_rss_max_mb"] = max(r["peak_rss_mb"] for r in runs)
    return best


def _table(rows: list[dict]) -> str:
    head = ["nodes asked", "file", "reader", "nodes", "edges", "total length m", "load s (min)", "runs s",
            "peak RSS MB", "RSS − base MB", "speed-up"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    peer = {r["size"]: r["seconds"] for r in rows if r["reader"] == "osmnx"}
    for r in rows:
        up = f"{peer[r['size']] / r['seconds']:.0f}×" if r["size"] in peer and r["reader"] != "osmnx" else "—"
        cells = [f"{r['size']:,}", r["file"], READERS[r["reader"]], f"{r['nodes']:,}", f"{r['edges']:,}",
                 f"{r['length_m']:,.2f}", f"**{r['seconds']:.1f}**", " / ".join(f"{s:.1f}" for s in r["all_s"]),
                 f"{r['peak_rss_mb']:,.0f}", f"{r['peak_rss_mb'] - r['base_rss_mb']:,.0f}", up]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="25000,150000", help="street nodes asked of bench_big.generate, comma-separated")
    p.add_argument("--repeat", type=int, default=2, help="fresh-process runs per reader and file (minimum reported)")
    p.add_argument("--no-peer", action="store_true", help="skip the osmnx path")
    p.add_argument("--keep", metavar="DIR", help="write the data folders here, keep them and reuse them")
    p.add_argument("--one", nargs=2, metavar=("READER", "FILE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one[0], Path(args.one[1]))))
        return 0
    from bench_big import generate

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        for n in [int(s) for s in args.sizes.split(",") if s.strip()]:
            xml = root / f"wuhai_{n}" / "streets.osm"
            if not xml.exists():
                generate(xml.parent, n)
            pbf = _to_pbf(xml)
            jobs = [] if args.no_peer else [("osmnx", xml)]
            jobs += [("read_osm", xml), ("read_osm", pbf)]
            for reader, path in jobs:
                r = _measure(reader, path, args.repeat)
                r.update(size=n, reader=reader, file=f"{path.name} ({path.stat().st_size / 1e6:.1f} MB)")
                rows.append(r)
                print(f"{n:,}: {reader} {path.name} {r['seconds']:.1f} s, {r['nodes']:,} nodes, "
                      f"{r['edges']:,} edges, {r['length_m']:,.2f} m, peak RSS {r['peak_rss_mb']:,.0f} MB",
                      flush=True)
    print()
    print(_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
