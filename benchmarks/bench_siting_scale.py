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

With ``--mclp NAME ...`` it runs maximal-covering instances instead (``plan --sites N``):
an instance's reach matrix and people with ``p`` new sites (``wuhai25k_layer_p400``:
``wuhai25k_layer95`` with p = 400), each solved by the greedy, HiGHS alone
(``MaximalCovering.solve``), and :func:`coverage.siting.bigmax.solve_maximal_covering`
whole and with ingredients switched off, at the same time limit; people covered,
proven upper bound, gap and time.

Run: ``python benchmarks/bench_siting_scale.py [--only NAME ...] [--lp] [--engine-only] [--mclp [NAME ...]]``
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
from coverage.siting.bigmax import solve_maximal_covering
from coverage.siting.solvers import MaximalCovering, SetCovering

#: Solver time limits of the issue's table (seconds).
LIMITS = {"wuhai25k_layer95": 30.0, "wuhai150k_layer95": 90.0, "grid51k_nodes100": 60.0,
          "grid3k_nodes100": 3.0, "wuhai3k_nodes100": 3.0, "wuhai25k_nodes95": 30.0}
LP_NNZ = 400_000
#: Maximal-covering instances: (set-cover instance whose reach and people are used, p, time limit in s).
MCLP = {"wuhai25k_layer_p400": ("wuhai25k_layer95", 400, 30.0),
        "wuhai150k_layer_p3000": ("wuhai150k_layer95", 3000, 90.0)}
#: Engine runs per instance: label and the ingredients switched off.
MCLP_RUNS = [("engine: bound only", {"swap": False, "window": False, "mip": False}),
             ("engine: bound + swap", {"window": False, "mip": False}),
             ("engine: bound + swap + window", {"mip": False}),
             ("engine: bound + swap + core MIP", {"window": False}),
             ("engine, Lagrangian bound only", {"lp": False}),
             ("engine", {})]


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


def _mclp_row(name: str, how: str, people: float, bound: float, gap: float, seconds: float, method: str) -> str:
    return f"| {name} | {how} | {people:,.0f} | {bound:,.0f} | {100 * gap:.2f} % | {seconds:.1f} | {method} |"


def run_mclp(name: str, args: argparse.Namespace) -> list[str]:
    """Greedy, HiGHS alone and the engine (whole and with parts off) on one maximal-covering instance."""
    base, p, limit = MCLP[name]
    reach, w, covered, _ = load(base, args.cache) if args.cache else load(base)
    limit = args.time_limit or limit

    def model() -> MaximalCovering:
        return MaximalCovering(reach, w, covered, p=p)

    g = model().solve(solver="greedy")
    rows = [_mclp_row(name, "greedy", g.objective, g.bound, g.gap, g.solve_seconds, "greedy")]
    print(rows[-1], flush=True)
    if not args.engine_only:
        h = model().solve(time_limit=limit)
        rows.append(_mclp_row(name, f"HiGHS alone ({limit:g} s)", h.objective, h.bound, h.gap, h.solve_seconds,
                              h.status))
        print(rows[-1], flush=True)
    small = model().problem.reach.nnz <= LP_NNZ
    for label, off in MCLP_RUNS:
        if "lp" in off and not small:
            continue  # large models get the Lagrangian bound anyway
        e = solve_maximal_covering(model(), time_limit=limit, **off)
        r = e.result
        rows.append(_mclp_row(name, f"{label} ({limit:g} s)", r.objective, r.bound, r.gap, r.solve_seconds,
                              e.method))
        print(rows[-1], f"(+{r.objective - g.objective:,.0f} people on the greedy)", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", choices=sorted(INSTANCES), default=None)
    ap.add_argument("--time-limit", type=float, default=None, help="one limit for all (default: the issue's)")
    ap.add_argument("--lp", action="store_true", help="also solve the LP relaxation where small enough")
    ap.add_argument("--engine-only", action="store_true")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--mclp", nargs="*", choices=sorted(MCLP), default=None,
                    help="maximal-covering instances instead (none named: all)")
    args = ap.parse_args()
    if args.mclp is not None:
        table = ["| instance | solver | people covered | bound | gap | s | method / status |",
                 "|---|---|---|---|---|---|---|"]
        for name in args.mclp or list(MCLP):
            print(f"# {name}: {MCLP[name][0]} with p = {MCLP[name][1]}", flush=True)
            table += run_mclp(name, args)
        print("\n".join(table))
        return
    names = args.only or ["grid3k_nodes100", "wuhai3k_nodes100", "wuhai25k_layer95", "wuhai25k_nodes95",
                          "grid51k_nodes100", "wuhai150k_layer95"]
    table = ["| instance | solver | sites | bound | gap | s | method / status |", "|---|---|---|---|---|---|---|"]
    for name in names:
        print(f"# {name}: {INSTANCES[name][4]}", flush=True)
        table += run(name, args)
    print("\n".join(table))


if __name__ == "__main__":
    main()
