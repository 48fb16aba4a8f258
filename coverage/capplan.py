"""The capacity diagnosis on a finished plan: what run_plan, write_outputs and the CLI call.

:func:`add_capacity` attaches a :class:`coverage.capacity.CapacityResult` to a
plan (``result.capacity``), adds ``access_e2sfca`` to ``result.communities`` and
the capacity rule to ``result.rules`` (only when some capacity is known);
:func:`write_capacity_files` writes ``facilities.csv``; :func:`add_arguments`
declares the command-line flags.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .capacity import RESIDENTS_PER_DOCTOR, CapacityResult, CapacityRule, Decay, access_by, capacity_rule, \
    measure_capacity

__all__ = ["add_capacity", "write_capacity_files", "add_arguments", "capacity_options"]


def add_capacity(result, rule: CapacityRule = CapacityRule(), assign: str = "nearest", decay: str = "step",
                 time_limit: float = 60.0) -> CapacityResult:
    """Measure capacities, loads and E2SFCA for a plan and attach them to it.

    Parameters
    ----------
    result : PlanResult
    rule : CapacityRule
    assign : {"nearest", "capacitated"}
    decay : {"step", "gaussian"}
        E2SFCA decay over the walk distance (:meth:`coverage.capacity.Decay.named`).
    time_limit : float

    Returns
    -------
    CapacityResult
        Also set as ``result.capacity``.
    """
    cov, params = result.coverage, result.params
    cap = measure_capacity(result.study.network, cov.facilities, cov.demand, cov.demand_snap, params.radius_m,
                           params.walk_m, params.max_snap_m, rule, assign, Decay.named(decay, params.walk_m),
                           time_limit)
    result.capacity = cap
    comm = result.communities.drop(columns=["access_e2sfca"], errors="ignore")
    by = access_by(cov.demand, cap.access, ["community", "subdistrict"]).rename(columns={"community": "name"})
    result.communities = comm.merge(by, on=["name", "subdistrict"], how="left")
    result.rules = capacity_rule(result.rules, cap)
    return cap


def write_capacity_files(result, out: str | Path) -> dict[str, Path]:
    """``facilities.csv`` (UTF-8 with BOM): ``name, kind, subdistrict, capacity, assigned_population, load_ratio, overloaded``."""
    cap = getattr(result, "capacity", None)
    if cap is None:
        return {}
    path = Path(out) / "facilities.csv"
    t = cap.table()
    t["load_ratio"] = t["load_ratio"].round(6)
    t.to_csv(path, index=False, encoding="utf-8-sig")
    return {"facilities.csv": path}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The capacity flags of ``python -m coverage plan``."""
    g = parser.add_argument_group("capacity (facility load, E2SFCA, capacitated siting)")
    g.add_argument("--residents-per-doctor", type=float, default=RESIDENTS_PER_DOCTOR,
                   help=f"residents one doctor/GP serves, for doctors/gps/全科医生数/staff columns (default "
                        f"{RESIDENTS_PER_DOCTOR:g}: 5 GPs per 10,000 residents, 国办发〔2018〕3号 target for 2030)")
    g.add_argument("--capacity-centre", type=float, help="residents a centre serves where the data has no "
                                                         "capacity (default: none, capacity unknown)")
    g.add_argument("--capacity-station", type=float, help="residents a station serves where the data has no "
                                                          "capacity (default: none, capacity unknown)")
    g.add_argument("--assign", choices=("nearest", "capacitated"), default="nearest",
                   help="residents go to the nearest facility (default) or, within the radius, to facilities with "
                        "room (exact transportation problem, HiGHS)")
    g.add_argument("--e2sfca-decay", choices=("step", "gaussian"), default="step",
                   help="E2SFCA distance decay over the walk: step (Luo & Qi 2009: 1, 0.68, 0.22; default) or gaussian")
    g.add_argument("--station-capacity", type=float,
                   help="with --sites: residents one new station serves; sites are then placed so that residents "
                        "are covered within the radius and within capacity")


def capacity_options(args: argparse.Namespace) -> dict:
    """Keyword arguments of :func:`add_capacity` from parsed flags."""
    return {"rule": CapacityRule(residents_per_doctor=args.residents_per_doctor,
                                 capacity_centre=args.capacity_centre, capacity_station=args.capacity_station),
            "assign": args.assign, "decay": args.e2sfca_decay}
