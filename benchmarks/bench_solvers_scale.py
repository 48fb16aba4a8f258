"""Scale check for :mod:`coverage.siting.solvers` (timings printed, nothing asserted).

A city-district instance (``district``: 20,000 x 2,000, same geometry as below)
and two synthetic instances of 100,000 demand points x 20,000 candidate sites
with about 50 candidates reaching each demand point:

* ``geometric``: points and candidates uniform in a 10 km square, reach = within
  a radius giving ~50 candidates per point (what a 500 m walk looks like), 30 %
  of demand already served by existing facilities;
* ``uniform``: every demand row picks 50 candidates at random (no spatial
  structure: nothing to reduce, and a hard MIP, so it shows the time limit and
  greedy paths).

Run: ``python benchmarks/bench_solvers_scale.py [--time-limit 30] [--only geometric]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install

from coverage.siting.solvers import MaximalCovering, SetCovering, reduce_problem

N_DEMAND, N_CAND, PER_ROW = 100_000, 20_000, 50


def geometric(
    seed: int = 1, n_demand: int = N_DEMAND, n_cand: int = N_CAND, side: float = 10_000.0, n_existing: int = 60
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Spatial instance: reach = Euclidean radius (~PER_ROW candidates per point)."""
    rng = np.random.default_rng(seed)
    dem = rng.uniform(0, side, (n_demand, 2))
    cand = rng.uniform(0, side, (n_cand, 2))
    radius = np.sqrt(PER_ROW * side**2 / (np.pi * n_cand))
    lists = cKDTree(cand).query_ball_point(dem, radius)
    lens = np.fromiter((len(x) for x in lists), dtype=np.int64, count=n_demand)
    indptr = np.concatenate([[0], np.cumsum(lens)])
    indices = np.fromiter((j for x in lists for j in x), dtype=np.int32, count=int(lens.sum()))
    reach = sp.csr_matrix((np.ones(indices.size, bool), indices, indptr), shape=(n_demand, n_cand))
    reach.sort_indices()
    existing = rng.uniform(0, side, (n_existing, 2))
    served = np.isfinite(cKDTree(existing).query(dem, distance_upper_bound=radius * 1.5)[0])
    weights = rng.integers(1, 31, n_demand).astype(float)
    return reach, weights, served


def district(seed: int = 3) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """City-district size (20,000 x 2,000 in 4.5 km square, 10 existing): what a Wuhai run looks like."""
    return geometric(seed, n_demand=20_000, n_cand=2_000, side=4_500.0, n_existing=10)


def uniform(seed: int = 2) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Unstructured instance: 50 random candidates per demand row."""
    rng = np.random.default_rng(seed)
    cols = rng.integers(0, N_CAND, (N_DEMAND, PER_ROW))
    rows = np.repeat(np.arange(N_DEMAND), PER_ROW)
    reach = sp.csr_matrix((np.ones(rows.size, bool), (rows, cols.ravel())), shape=(N_DEMAND, N_CAND))
    reach.sum_duplicates()
    weights = rng.integers(1, 31, N_DEMAND).astype(float)
    return reach, weights, np.zeros(N_DEMAND, bool)


def _row(name: str, model: str, res, setup: float) -> str:
    return (
        f"{name:<10} {model:<22} {setup:7.2f} {res.solve_seconds:7.2f} {res.status:<11} "
        f"{res.objective:12.1f} {res.bound:12.1f} {res.gap:8.4f} {res.covered_share:7.4f} "
        f"{res.n_demand_reduced:>7d} {res.n_candidates_reduced:>6d}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--only", choices=["district", "geometric", "uniform"], default=None)
    parser.add_argument("--p", type=int, default=None, help="MCLP sites (default 40 district, 300 others)")
    args = parser.parse_args()
    makers = {"district": district, "geometric": geometric, "uniform": uniform}
    if args.only:
        makers = {args.only: makers[args.only]}
    print(
        f"{'instance':<10} {'model':<22} {'setup_s':>7} {'solve_s':>7} {'status':<11} "
        f"{'objective':>12} {'bound':>12} {'gap':>8} {'share':>7} {'dem_red':>7} {'cand_r':>6}"
    )
    for name, make in makers.items():
        t = time.perf_counter()
        reach, w, served = make()
        gen = time.perf_counter() - t
        t = time.perf_counter()
        red = reduce_problem(reach, w, served)
        t_red = time.perf_counter() - t
        s = red.summary()
        print(
            f"# {name}: generated {reach.shape[0]}x{reach.shape[1]} nnz={reach.nnz} in {gen:.1f}s; "
            f"reduce_problem {t_red:.2f}s -> demand {s['demand_uncovered_reachable']}->{s['demand_reduced']}, "
            f"candidates {s['candidates']}->{s['candidates_reduced']} ({s['candidates_dominated']} dominated)"
        )
        p = args.p if args.p is not None else (40 if name == "district" else 300)
        runs = [
            ("LSCP 100% greedy", SetCovering, {}, "greedy"),
            ("LSCP 100% highs", SetCovering, {}, "highs"),
            ("LSCP 90% highs", SetCovering, {"target_share": 0.9}, "highs"),
            (f"MCLP p={p} greedy", MaximalCovering, {"p": p}, "greedy"),
            (f"MCLP p={p} highs", MaximalCovering, {"p": p}, "highs"),
        ]
        for label, cls, kwargs, solver in runs:
            t = time.perf_counter()
            model = cls(reach, w, served, **kwargs)
            setup = time.perf_counter() - t
            res = model.solve(time_limit=args.time_limit, solver=solver)
            print(_row(name, label, res, setup), flush=True)


if __name__ == "__main__":
    main()
