"""Siting at whole-city scale (issue 17): greedy, HiGHS alone and the large-scale engine, one table.

For each instance of ``siting_instances.py`` (the exact ``SetCovering`` inputs
``propose_sites`` builds on the issue's cities) it solves the same model three
ways with the same time limit and prints sites, proven bound, gap and time:

* ``greedy``: ``SetCovering.solve(solver="greedy")``;
* ``HiGHS alone``: ``SetCovering.solve(time_limit=T)`` (today's path);
* ``engine``: :func:`coverage.siting.bigcover.solve_set_covering` (Lagrangian bound,
  decomposition, warm-started HiGHS on the reduced-cost-fixed model, window search).

With ``--lp`` the LP relaxation is solved too (HiGHS, no time limit) on the
models small enough for it, to show the engine's bound against it.

Run: ``python benchmarks/bench_siting_scale.py [--only NAME ...] [--lp] [--engine-only]``
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from siting_instances import INSTANCES, load

from coverage.siting.bigcover import solve_set_covering
from coverage.siting.solvers import SetCovering

#: Solver time limits of the issue's table (seconds).
LIMITS = {"wuhai25k_layer95": 30.0, "wuhai150k_layer95": 90.0, "grid51k_nodes100": 60.0,
          "grid3k_nodes100": 3.0, "wuhai3k_nodes100": 3.0, "wuhai25k_nodes95": 30.0}
LP_NNZ = 400_000


def lp_bound(model: SetCovering) -> float:
    """The LP relaxation of the reduced model, by HiGHS (plus forced sites)."""
    from scipy.optimize import linprog

    pr = model.problem
    required, full, _ = model._requirement()
    b = sp.csr_matrix(pr.reach, dtype=float)
    m, n = b.shape
    if full:
        res = linprog(np.ones(n), A_ub=-b, b_ub=-np.ones(m), bounds=(0, 1), method="highs")
    else:
        a = sp.vstack([sp.hstack([-b, sp.identity(m)]),
                       sp.csr_matrix(np.concatenate([np.zeros(n), -pr.weights])[None, :])], format="csr")
        res = linprog(np.concatenate([np.ones(n), np.zeros(m)]), A_ub=a,
                      b_ub=np.concatenate([np.zeros(m), [-required]]), bounds=(0, 1), method="highs")
    return float(res.fun) + pr.forced.size if res.status == 0 else math.nan


def _row(name: str, how: str, sites: float, bound: float, gap: float, seconds: float, method: str) -> str:
    return f"| {name} | {how} | {sites:,.0f} | {bound:,.1f} | {gap:.3f} | {seconds:.1f} | {method} |"


def run(name: str, args: argparse.Namespace) -> list[str]:
    reach, w, covered, target = load(name, args.cache) if args.cache else load(name)
    limit = args.time_limit or LIMITS.get(name, 60.0)
    rows = []
    if not args.engine_only:
        g = SetCovering(reach, w, covered, target_share=target).solve(solver="greedy")
        rows.append(_row(name, "greedy", g.objective, g.bound, g.gap, g.solve_seconds, "greedy"))
        h = SetCovering(reach, w, covered, target_share=target).solve(time_limit=limit)
        rows.append(_row(name, f"HiGHS alone ({limit:g} s)", h.objective, h.bound, h.gap, h.solve_seconds, h.status))
        print(rows[-2], rows[-1], sep="\n", flush=True)
    model = SetCovering(reach, w, covered, target_share=target)
    e = solve_set_covering(model, time_limit=limit)
    r = e.result
    rows.append(_row(name, f"engine ({limit:g} s)", r.objective, r.bound, r.gap, r.solve_seconds, e.method))
    print(rows[-1], flush=True)
    steps = [(round(s, 1), k) for s, k, _ in e.history]
    firsts = {}
    for s, k in steps:
        firsts.setdefault(k, s)
    print(f"#   {name}: engine incumbent by time: {sorted(firsts.items(), key=lambda x: x[1])[-8:]}; "
          f"Lagrangian {e.lagrangian:,.1f}", flush=True)
    if args.lp and model.problem.reach.nnz <= LP_NNZ:
        t = time.perf_counter()
        lp = lp_bound(model)
        print(f"#   {name}: LP relaxation {lp:,.2f} in {time.perf_counter() - t:.1f} s; engine bound "
              f"{r.bound:,.1f} {'>=' if r.bound >= lp - 1e-6 else '<'} LP", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", choices=sorted(INSTANCES), default=None)
    ap.add_argument("--time-limit", type=float, default=None, help="one limit for all (default: the issue's)")
    ap.add_argument("--lp", action="store_true", help="also solve the LP relaxation where small enough")
    ap.add_argument("--engine-only", action="store_true")
    ap.add_argument("--cache", type=Path, default=None)
    args = ap.parse_args()
    names = args.only or ["grid3k_nodes100", "wuhai3k_nodes100", "wuhai25k_layer95", "wuhai25k_nodes95",
                          "grid51k_nodes100", "wuhai150k_layer95"]
    table = ["| instance | solver | sites | bound | gap | s | method / status |", "|---|---|---|---|---|---|---|"]
    for name in names:
        print(f"# {name}: {INSTANCES[name][4]}", flush=True)
        table += run(name, args)
    print("\n".join(table))


if __name__ == "__main__":
    main()
