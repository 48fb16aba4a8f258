"""The issue-17 siting instances, captured as the exact ``SetCovering`` inputs ``propose_sites`` builds.

Each instance is generated the way the issue measured it (``bench_big.py``'s
synthetic Wuhai data folders read through the real loaders, or
``synthetic_city``), planned with :func:`coverage.pipeline.run_plan`, and the
arguments ``propose_sites`` hands to :class:`coverage.siting.solvers.SetCovering` are
saved to ``<cache>/<name>.npz`` (the capture runs the greedy, so it is quick).
Later runs load the file instead of rebuilding the city.

Run: ``python benchmarks/siting_instances.py [--cache DIR] [--only NAME ...]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

DEFAULT_CACHE = Path(os.environ.get("SITING_CACHE", Path(tempfile.gettempdir()) / "siting_instances"))

#: name -> (source, size, candidates, target share, description)
INSTANCES: dict[str, tuple[str, int, str, float, str]] = {
    "wuhai25k_layer95": ("wuhai", 25_000, "layer", 0.95, "25k-node Wuhai, 3.3k layer candidates, 95 %"),
    "wuhai150k_layer95": ("wuhai", 150_000, "layer", 0.95, "146k-node Wuhai, 20k layer candidates, 95 %"),
    "grid51k_nodes100": ("grid", 50_000, "nodes", 1.0, "51k-node grid city, every node a candidate, 100 %"),
    "grid3k_nodes100": ("grid", 3_000, "nodes", 1.0, "3k-node street grid, every node a candidate, 100 %"),
    "wuhai3k_nodes100": ("wuhai", 3_000, "nodes", 1.0, "3k-node Wuhai street grid, every node a candidate, 100 %"),
    "wuhai25k_nodes95": ("wuhai", 25_000, "nodes", 0.95, "24k-node Wuhai, every node a candidate, 95 %"),
}


def _plan(source: str, size: int, folder: Path):
    from coverage.access import CoverageParams
    from coverage.pipeline import run_plan

    if source == "wuhai":
        from bench_big import generate

        from coverage.study import load_study_area

        generate(folder, size)
        study = load_study_area(folder)
    else:
        from synthetic_city import synthetic_city

        study = synthetic_city(size, min(5_000, size // 10)).study()
    return study, CoverageParams(), run_plan


def capture(name: str, cache: Path = DEFAULT_CACHE) -> Path:
    """Build instance ``name`` and save its ``SetCovering`` inputs; return the file."""
    import coverage.siting.propose as siting

    source, size, cands, target, _ = INSTANCES[name]
    out = cache / f"{name}.npz"
    cache.mkdir(parents=True, exist_ok=True)
    saved: dict = {}

    class Capture(siting.SetCovering):
        def __init__(self, reach, weights, covered=None, **kw):
            r = sp.csr_matrix(reach)
            saved.update(indptr=r.indptr, indices=r.indices, shape=np.array(r.shape), weights=np.asarray(weights),
                         covered=np.asarray(covered, dtype=bool), target=kw.get("target_share", 1.0))
            super().__init__(reach, weights, covered, **kw)

    real = siting.SetCovering
    siting.SetCovering = Capture
    try:
        with tempfile.TemporaryDirectory(prefix="siting_inst_") as tmp:
            study, params, run_plan = _plan(source, size, Path(tmp) / name)
            t = time.perf_counter()
            run_plan(study, params, siting={"sites": "auto", "target_share": target, "candidates": cands,
                                            "solver": "greedy", "max_isochrones": 0})
            print(f"{name}: planned in {time.perf_counter() - t:.1f} s, {study.network.n_nodes:,} nodes", flush=True)
    finally:
        siting.SetCovering = real
    np.savez_compressed(out, **saved)
    return out


def load(name: str, cache: Path = DEFAULT_CACHE) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, float]:
    """``(reach, weights, covered, target_share)`` of instance ``name`` (captured first if missing)."""
    path = cache / f"{name}.npz"
    if not path.exists():
        capture(name, cache)
    z = np.load(path)
    shape = tuple(int(v) for v in z["shape"])
    reach = sp.csr_matrix((np.ones(z["indices"].size, bool), z["indices"], z["indptr"]), shape=shape)
    return reach, z["weights"], z["covered"], float(z["target"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--only", nargs="*", choices=sorted(INSTANCES), default=None)
    args = ap.parse_args()
    for name in args.only or INSTANCES:
        if (args.cache / f"{name}.npz").exists():
            print(f"{name}: cached", flush=True)
            continue
        print(f"{name}: saved {capture(name, args.cache)}", flush=True)


if __name__ == "__main__":
    main()
