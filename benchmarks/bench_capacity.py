"""Capacity on the 25k-node synthetic Wuhai: load, E2SFCA vs PySAL access, capacitated siting.

The city is :func:`bench_big.generate` (a data folder with ~25,000 street nodes,
~16,700 population points, 20 centres and 90 stations counted, a candidates
layer). Its synthetic residents are few (about 6 per point), so capacities are
set where they bind: ``--capacity-station`` / ``--capacity-centre`` residents
per existing station / centre, ``--station-capacity`` per new station.

Timed, in one process, on the same inputs:

    reach      facility_reach: (point, facility, metres) pairs within the walk
    nearest    nearest assignment within the radius
    transport  capacitated assignment (two HiGHS LPs)
    e2sfca     ours vs PySAL ``access`` (enhanced_two_stage_fca, same cost table, same decay)
    siting     capacitated ``--sites auto`` (HiGHS MIP, time limit, proven gap) vs the
               uncapacitated set cover on the same candidates (``propose_sites``)

Run::

    python benchmarks/bench_capacity.py                   # 25,000 nodes
    python benchmarks/bench_capacity.py --nodes 10000 --time-limit 60
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np


def _peer_e2sfca(reach, w, cap, decay):
    import pandas as pd
    from access import Access, weights

    fn = (weights.step_fn(dict(zip(decay.breaks_m, decay.weights))) if decay.name == "step"
          else weights.gaussian(decay.sigma_m))
    a = Access(demand_df=pd.DataFrame({"geoid": np.arange(len(w)), "pop": w}), demand_index="geoid",
               demand_value="pop", supply_df=pd.DataFrame({"geoid": np.arange(len(cap)), "cap": cap}),
               supply_index="geoid", supply_value="cap", cost_df=reach.frame(), cost_origin="origin",
               cost_dest="dest", cost_name="cost")
    return a.enhanced_two_stage_fca(name="e", max_cost=decay.catchment_m, weight_fn=fn)["e_cap"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nodes", type=int, default=25_000)
    p.add_argument("--capacity-station", type=float, default=600.0)
    p.add_argument("--capacity-centre", type=float, default=1_500.0)
    p.add_argument("--station-capacity", type=float, default=600.0)
    p.add_argument("--target-share", type=float, default=0.95)
    p.add_argument("--time-limit", type=float, default=120.0)
    args = p.parse_args(argv)

    from bench_big import generate

    from coverage.capacity import CapacityRule, Decay, e2sfca, measure_capacity
    from coverage.params import CoverageParams
    from coverage.pipeline import run_plan
    from coverage.siting.capacitated import propose_capacitated
    from coverage.siting.propose import propose_sites
    from coverage.study import load_study_area

    class Rows(list):
        def append(self, row):  # print as we go: a long step should not hide the others
            super().append(row)
            print(" | ".join(row), flush=True)

    rows: list[tuple[str, str, str]] = Rows()
    with tempfile.TemporaryDirectory(prefix="bench_capacity_") as tmp:
        folder = Path(tmp) / "wuhai"
        info = generate(folder, args.nodes)
        t = time.perf_counter()
        study = load_study_area(folder)
        result = run_plan(study, CoverageParams(), isochrone_minutes=(15,))
        print(f"city: {info['grid']} grid, {study.network.n_nodes:,} nodes, {len(result.demand.points):,} demand "
              f"points, {result.coverage.totals()['population']:,.0f} residents, "
              f"{int(study.facilities['counted'].sum())} counted facilities; loaded and planned in "
              f"{time.perf_counter() - t:.1f} s")
        cov, params = result.coverage, result.params
        rule = CapacityRule(capacity_station=args.capacity_station, capacity_centre=args.capacity_centre)
        t = time.perf_counter()
        cap = measure_capacity(study.network, cov.facilities, cov.demand, cov.demand_snap, params.radius_m,
                               params.walk_m, params.max_snap_m, rule, "capacitated", time_limit=args.time_limit)
        t_all = time.perf_counter() - t
        s = cap.summary()
        rows.append(("capacity (reach + nearest + transport LP + E2SFCA)", f"{t_all:.2f} s",
                     f"{len(cap.reach):,} pairs within {cap.reach.limit:.0f} m; overloaded (nearest) "
                     f"{s['nearest']['overloaded_count']}; within capacity: nearest "
                     f"{s['nearest']['covered_within_capacity']['population']:,.0f}, capacitated "
                     f"{s['capacitated']['covered_within_capacity']['population']:,.0f} ({cap.capacitated.status})"))
        from coverage.capacity import capacitated_assignment, nearest_assignment

        radius = cap.reach.within(params.radius_m)
        w = cov.demand["population"].to_numpy(float)
        c = cap.facilities["capacity"].to_numpy(float)
        t = time.perf_counter()
        nearest_assignment(radius, w, c)
        rows.append(("nearest assignment", f"{time.perf_counter() - t:.3f} s", f"{len(radius):,} pairs"))
        t = time.perf_counter()
        capacitated_assignment(radius, w, c)
        rows.append(("capacitated assignment (HiGHS, 2 LPs)", f"{time.perf_counter() - t:.2f} s",
                     f"{len(radius):,} variables"))
        decay = Decay.luo_qi(params.walk_m)
        t = time.perf_counter()
        ours, _ = e2sfca(cap.reach, w, c, decay)
        t_ours = time.perf_counter() - t
        try:
            t = time.perf_counter()
            peer = _peer_e2sfca(cap.reach, w, c, decay).dropna()
            t_peer = time.perf_counter() - t
            diff = float(np.max(np.abs(ours[peer.index.to_numpy()] - peer.to_numpy())))
            rows.append(("E2SFCA (Luo & Qi step), ours vs PySAL access", f"{t_ours:.3f} s vs {t_peer:.2f} s",
                         f"{len(peer):,} points compared, max |difference| {diff:.1e}, "
                         f"{t_peer / max(t_ours, 1e-9):.0f}x"))
        except ImportError:
            rows.append(("E2SFCA", f"{t_ours:.3f} s", "PySAL access not installed: no peer"))

        t = time.perf_counter()
        unc = propose_sites(result, sites="auto", target_share=args.target_share, candidates="layer",
                            time_limit=args.time_limit)
        t_unc = time.perf_counter() - t
        rows.append((f"uncapacitated set cover, target {args.target_share:.0%} (propose_sites)", f"{t_unc:.1f} s",
                     f"{len(unc.proposals)} stations, status {unc.info['status']}, gap {unc.info['gap']}"))
        t = time.perf_counter()
        capd = propose_capacitated(result, cap, sites="auto", station_capacity=args.station_capacity,
                                   target_share=args.target_share, candidates="layer", time_limit=args.time_limit)
        t_cap = time.perf_counter() - t
        i = capd.info
        gap = "—" if i["gap"] is None or not np.isfinite(i["gap"]) else f"{i['gap']:.4f}"
        rows.append((f"capacitated, target {args.target_share:.0%} within capacity, C = {args.station_capacity:g}",
                     f"{t_cap:.1f} s (solver {i['solve_seconds']:.1f} s)",
                     f"{len(capd.proposals)} stations (+{len(capd.proposals) - len(unc.proposals)} over "
                     f"uncapacitated), status {i['status']}, bound {i['bound']:.2f}, gap {gap}; model "
                     f"{i['model_size']['columns']:,} columns × {i['model_size']['rows']:,} rows; within capacity "
                     f"{i['capacity_before']['capacitated']['population']:,.0f} → "
                     f"{i['capacity_after']['capacitated']['population']:,.0f}; taken over from overloaded "
                     f"{i['taken_over_population']:,.0f}; target met {i['target_met']}"))
    print()
    print("| step | time | result |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
