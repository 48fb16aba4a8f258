"""The whole job as one library call: demand → coverage → isochrones → rules → (siting).

:func:`run_plan` is what the command line, the Streamlit app and the notebooks
all call. It returns a :class:`PlanResult` whose :meth:`PlanResult.summary` is
the content of ``summary.json``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.access import CoverageResult, measure_coverage
from coverage.capacity import CapacityResult, CapacityRule, Decay, access_by, capacity_rule, measure_capacity
from coverage.demand import build_demand
from coverage.demand.base import Demand
from coverage.errors import ValueInputError
from coverage.groups import ELDERLY_GROUP_PROFILE, AgeData, age_data, group_rows, older_residents
from coverage.isochrones import DEFAULT_MINUTES, isochrones
from coverage.network.graph import WalkNetwork
from coverage.network.offset import check_offset
from coverage.network.profiles import get_profile, prefer_factors, profile_network
from coverage.network.slope import EdgeTimes, edge_times
from coverage.params import (
    DEFAULT_ASSIGN,
    DEFAULT_E2SFCA_DECAY,
    DEFAULT_PROFILE,
    DEFAULT_TIME_LIMIT_S,
    DEM_SPACING_M,
    CoverageParams,
    check_isochrone_minutes,
)
from coverage.result import PlanResult, plan_figures
from coverage.rules import check_rules
from coverage.rulesets import (
    DEFAULT_RULE_SET,
    RuleData,
    RuleSet,
    check_capacity_columns,
    check_rule_sets,
    load_rule_sets,
)
from coverage.rulesets.check import absent_kinds, check_group_data, rule_kinds
from coverage.scenario import Scenario, apply_scenario, describe_scenario
from coverage.siting.capacitated import propose_capacitated
from coverage.siting.propose import propose_sites
from coverage.skipped import Skipped
from coverage.study import StudyArea

__all__ = ["GroupPass", "PlanResult", "Progress", "add_capacity", "coverage", "group_coverage", "group_pass",
           "run_plan"]

#: ``progress(message, fraction)``: fraction in [0, 1] of the whole job.
Progress = Callable[[str, float], None]


#: Stands for a missing subdistrict in the (community, subdistrict) key, so that missing matches missing.
_NO_SUBDISTRICT = "\0no subdistrict"


def community_table(study: StudyArea, cov: CoverageResult) -> pd.DataFrame:
    """Per-community population and shares, every community listed (also those without demand).

    Demand is keyed by (community name, subdistrict): names may repeat across subdistricts. One
    group-by over the demand points, so 3,400 communities and 600,000 points take a second.
    """
    c, d = study.communities, cov.demand
    pop = d["population"].to_numpy(dtype=float)
    dist = d["dist_network"].to_numpy(dtype=float)
    fin = np.isfinite(dist)
    parts = pd.DataFrame({"pop": pop, "n_fin": fin, "pop_fin": np.where(fin, pop, 0.0),
                          "dist": np.where(fin, pop * np.where(fin, dist, 0.0), 0.0)})
    for col in ("covered_radius", "covered_radius_euclidean", "covered_walk"):
        parts[col] = pop * d[col].to_numpy(dtype=float)
    keys = [d["community"].to_numpy(dtype=object), d["subdistrict"].fillna(_NO_SUBDISTRICT).to_numpy(dtype=object)]
    sums = parts.groupby(keys, dropna=False, sort=False).sum()
    wanted = pd.MultiIndex.from_arrays([c["name"].to_numpy(dtype=object),
                                        c["subdistrict"].fillna(_NO_SUBDISTRICT).to_numpy(dtype=object)])
    g = sums.reindex(wanted).fillna(0.0)
    total = g["pop"].to_numpy()

    def share(values: np.ndarray, weight: np.ndarray, ok: np.ndarray) -> list[float | None]:
        return [float(v / w) if k else None for v, w, k in zip(values, weight, ok)]

    has = total > 0
    out = pd.DataFrame({"name": c["name"].to_numpy(), "code": c["code"].to_numpy(),
                        "subdistrict": c["subdistrict"].to_numpy(), "population": total.astype(float),
                        "population_declared": [None if pd.isna(v) else float(v) for v in c["population"]]})
    out["radius_share"] = share(g["covered_radius"].to_numpy(), total, has)
    out["radius_euclidean_share"] = share(g["covered_radius_euclidean"].to_numpy(), total, has)
    out["walk_share"] = share(g["covered_walk"].to_numpy(), total, has)
    out["mean_distance_m"] = share(g["dist"].to_numpy(), g["pop_fin"].to_numpy(),
                                   (g["n_fin"].to_numpy() > 0) & (g["pop_fin"].to_numpy() > 0))
    return out


def coverage(study: StudyArea, params: CoverageParams = CoverageParams(), demand: Demand | None = None,
             facilities: gpd.GeoDataFrame | None = None) -> CoverageResult:
    """Coverage of the study's demand by its counted facilities (or another facility layer).

    Parameters
    ----------
    study : StudyArea
    params : CoverageParams
    demand : Demand, optional
        Default: :func:`coverage.demand.build_demand` with the ``auto`` model.
    facilities : GeoDataFrame, optional
        Default: the study's facilities; pass another for a scenario.

    Returns
    -------
    CoverageResult
    """
    demand = demand if demand is not None else build_demand(study)
    fac = study.facilities if facilities is None else facilities
    return measure_coverage(study.network, fac, demand.points, params)


def offset_warnings(study: StudyArea) -> list[Skipped]:
    """Warn when facilities whose datum was not declared look like GCJ-02/BD-09 (a few hundred metres off).

    Chinese POI lists (高德, 腾讯, 百度) are shifted by about 400 m in Wuhai — as much
    as the coverage radius — so an undeclared shift would silently falsify every figure.
    """
    if "facilities" in (study.meta.get("declared_coordinate_systems") or {}) or len(study.facilities) < 3:
        return []

    diag = check_offset(study.facilities, study.network)
    if diag is None:
        return []
    zh, _, en = diag.message.partition(" / ")
    details = {"likely_system": diag.likely_system, "shift_m": round(diag.shift_m, 1),
               "shift_bearing_deg": round(diag.shift_bearing_deg, 1), "direction_zh": diag.direction[0],
               "direction_en": diag.direction[1],
               "median_before_m": round(diag.median_before_m, 1), "median_after_m": round(diag.median_after_m, 1)}
    return [Skipped("facilities", "possible_coordinate_offset", len(study.facilities), action="listed",
                    message=en or diag.message, message_zh=zh, details=details)]


def walking_setup(network: WalkNetwork, profile: str, speed_kmh: float, dem: str | Path | None = None
                  ) -> tuple[WalkNetwork, EdgeTimes | None, dict | None]:
    """The network a profile walks on, its edge times, and what ``summary.json`` says of them.

    The flat adult walk (no DEM, nothing refused, no preference) returns the network as is and
    no times: the symmetric metres pass, unchanged. Otherwise every edge gets seconds both ways.
    """
    prof = get_profile(profile, speed_kmh)
    net, refused = profile_network(network, prof)
    if dem is None and net is network and prof.prefer_factor == 1.0 and prof.name == DEFAULT_PROFILE:
        return network, None, None
    times = edge_times(net, prof.speed_kmh, dem=dem, factors=prefer_factors(net, prof))
    info = {"profile": prof.name, "speed_kmh": prof.speed_kmh, "source": prof.source,
            "prefer_factor_not_wheelchair_yes": prof.prefer_factor, **refused,
            "slope_model": times.model, "dem": None if dem is None else Path(dem).name,
            "dem_spacing_m": DEM_SPACING_M if dem is not None else None,
            "length_without_elevation_m": round(times.no_elevation_m, 1) if dem is not None else None,
            "direction": "home → facility (coverage); isochrones: flat at the profile's speed on its network",
            "time_unit": "seconds (demand column time_walk_s)"}
    return net, times, info


def group_coverage(study: StudyArea, demand: Demand, cov: CoverageResult, params: CoverageParams,
                   profile: str = DEFAULT_PROFILE, dem: str | Path | None = None,
                   age_table: pd.DataFrame | None = None) -> list[dict]:
    """``summary.json`` → ``groups``: all residents, 65+ (walk at the elderly profile), under 65.

    The 65+ walk is a second home → facility pass with the elderly profile (same DEM, same
    minutes) unless the plan already walked at it. Without age data the 65+ row says what
    to add (:func:`coverage.groups.missing_age_note`).

    Parameters
    ----------
    study, demand, cov, params
        The plan's study area, demand, coverage and thresholds.
    profile : str
        The plan's walking profile (``params.speed_kmh`` is its speed).
    dem : path, optional
    age_table : DataFrame, optional
        ``code`` or ``name`` and a 65+ count or share column, instead of the communities layer's.
    """
    return group_pass(study, demand, cov, params, profile, dem, age_table).rows


@dataclass
class GroupPass:
    """What :func:`group_pass` computed: the ``groups`` rows, the age data, and the 65+ walk per demand point.

    ``elderly_walk`` (each point's walk verdict at the elderly profile, the plan's minutes and
    counted facilities; None without age data) is reused by the rules naming
    ``profile = "elderly"`` (:func:`rule_data`).
    """

    rows: list[dict]
    age: AgeData | None
    elderly_walk: np.ndarray | None


def group_pass(study: StudyArea, demand: Demand, cov: CoverageResult, params: CoverageParams,
               profile: str = DEFAULT_PROFILE, dem: str | Path | None = None,
               age_table: pd.DataFrame | None = None) -> GroupPass:
    """:func:`group_coverage`, keeping the age data and the elderly walk for the rules."""
    plan, elderly = get_profile(profile, params.speed_kmh), get_profile(ELDERLY_GROUP_PROFILE)
    age = age_data(study.communities, age_table)
    older, walk = None, None
    if age is not None:
        older = older_residents(cov.demand, age)
        if plan.name == elderly.name and plan.speed_kmh == elderly.speed_kmh:
            walk = cov.demand["covered_walk"].to_numpy(bool)
        else:
            net, times, _ = walking_setup(study.network, elderly.name, elderly.speed_kmh, dem)
            e_cov = measure_coverage(net, study.facilities, demand.points, replace(params, speed_kmh=elderly.speed_kmh),
                                     times=times)
            walk = e_cov.demand["covered_walk"].to_numpy(bool)
    rows = group_rows(cov.demand, older, params.minutes, plan.name, plan.speed_kmh, walk, elderly.speed_kmh, age)
    return GroupPass(rows, age, walk)


def rule_data(study: StudyArea, params: CoverageParams, cov: CoverageResult, demand: Demand, net: WalkNetwork,
              times: EdgeTimes | None, groups: GroupPass | None = None, profile: str = DEFAULT_PROFILE,
              dem: str | Path | None = None) -> RuleData:
    """What the rule sets check: the plan's coverage, and a cached re-measure for other kinds, distances, profiles.

    A rule walking at another profile than the plan's (``profile = "elderly"``) walks that
    profile's network and speed (same DEM); at the elderly profile, the plan's minutes and
    counted facilities it reuses the walk of :func:`group_pass` instead of measuring again.
    """
    cache: dict = {}
    kinds = rule_kinds(study.facilities)
    plan = get_profile(profile, params.speed_kmh)

    def measure(rule_kinds_: tuple, what: str, x: float, rule_profile: str | None = None) -> pd.DataFrame:
        prof = plan if rule_profile is None else get_profile(rule_profile)
        own = prof.name == plan.name and prof.speed_kmh == plan.speed_kmh
        key = (rule_kinds_, what, x, prof.name, prof.speed_kmh)
        plan_walk = rule_kinds_ == ("counted",) and what == "walk" and x == params.minutes
        if key in cache:
            return cache[key]
        if own and rule_kinds_ == ("counted",) and x == (params.radius_m if what == "radius" else params.minutes):
            return cov.demand
        if plan_walk and groups is not None and groups.elderly_walk is not None and prof.name == ELDERLY_GROUP_PROFILE:
            cache[key] = cov.demand.assign(covered_walk=groups.elderly_walk)
            return cache[key]
        n, t = (net, times) if own else walking_setup(study.network, prof.name, prof.speed_kmh, dem)[:2]
        fac = study.facilities.copy()
        fac["counted"] = np.isin(kinds, rule_kinds_) | (fac["counted"].to_numpy(bool) & ("counted" in rule_kinds_))
        p = replace(params, speed_kmh=prof.speed_kmh, **({"radius_m": x} if what == "radius" else {"minutes": x}))
        cache[key] = measure_coverage(n, fac, demand.points, p, times=t).demand
        return cache[key]

    return RuleData(study.subdistricts, study.communities, study.facilities, params.radius_m, params.minutes,
                    params.target_share, demand=cov.demand, measure=measure,
                    age=None if groups is None else groups.age)


def _check_keys(what: str, given: dict | None, *funcs: Callable) -> None:
    """Refuse keys of an options dict that none of the functions it is passed to takes."""
    if given is None:
        return
    if not isinstance(given, dict):
        raise ValueInputError(f"{what} must be a dict of options or None, got {type(given).__name__}")
    allowed = {n for f in funcs for n in inspect.signature(f).parameters} - {"result", "capacity", "progress"}
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ValueInputError(f"{what}: unknown option {', '.join(map(repr, unknown))}; "
                              f"use {', '.join(sorted(allowed))}")


def _check_arguments(params: object, siting: dict | None, capacity: dict | None, scenario: object = None,
                     baseline: object = None) -> None:
    """Refuse wrong :func:`run_plan` arguments before any slow work."""
    if not isinstance(params, CoverageParams):
        raise ValueInputError(f"params must be a CoverageParams, got {type(params).__name__}; "
                              "build one with CoverageParams(radius_m=..., minutes=...)")
    _check_keys("siting", siting, propose_sites, propose_capacitated)
    _check_keys("capacity", capacity, add_capacity)
    if scenario is not None and not isinstance(scenario, Scenario):
        raise ValueInputError(f"scenario must be a coverage.scenario.Scenario, got {type(scenario).__name__}; "
                              "build one with Scenario(added=((name, lon, lat),), removed=(index label,))")
    if baseline is not None and not isinstance(baseline, PlanResult):
        raise ValueInputError(f"baseline must be the PlanResult of the study without the scenario, "
                              f"got {type(baseline).__name__}")


def run_plan(
    study: StudyArea,
    params: CoverageParams = CoverageParams(),
    *,
    isochrone_minutes: Sequence[float] = DEFAULT_MINUTES,
    population_model: str = "auto",
    population_options: dict | None = None,
    demand: Demand | None = None,
    siting: dict | None = None,
    capacity: dict | None = None,
    progress: Progress | None = None,
    profile: str = DEFAULT_PROFILE,
    dem: str | Path | None = None,
    age_table: pd.DataFrame | None = None,
    rule_sets: Sequence[str | Path | RuleSet] | None = None,
    scenario: Scenario | None = None,
    baseline: PlanResult | None = None,
) -> PlanResult:
    """Run the whole compliance check (and, if asked, the siting).

    Parameters
    ----------
    study : StudyArea
        From :func:`coverage.study.load_study_area`.
    params : CoverageParams
        Radius, minutes, speed, snapping tolerance, target share.
    isochrone_minutes : sequence of float
        Isochrone times (default 5, 10, 15).
    population_model : str
        See :func:`coverage.demand.build_demand`.
    population_options : dict, optional
        Options of the population model.
    demand : Demand, optional
        Precomputed demand (skips the population model).
    siting : dict, optional
        Keyword arguments of :func:`coverage.siting.propose.propose_sites` (e.g.
        ``{"sites": "auto"}``); no siting when None. With ``station_capacity``, of
        :func:`coverage.siting.capacitated.propose_capacitated` instead.
    capacity : dict, optional
        Keyword arguments of :func:`add_capacity` (``rule``, ``assign``, ``decay``);
        the capacity diagnosis always runs, with the defaults when None.
    progress : callable, optional
        ``progress(message, fraction)``.
    profile : str
        Walking profile (``adult``, ``elderly``, ``wheelchair``; :data:`coverage.params.PROFILES`);
        ``params.speed_kmh`` is its speed. Anything but the flat adult walk times every edge
        home → facility (:func:`walking_setup`).
    dem : path, optional
        DEM GeoTIFF (any CRS): slope-dependent, direction-dependent walking times.
    age_table : DataFrame, optional
        65+ head counts or shares by community ``code``/``name`` (default: the communities
        layer's own columns); see :func:`group_coverage`.
    rule_sets : sequence, optional
        Preset names, TOML paths or :class:`coverage.rulesets.RuleSet` objects checked together
        (default: :data:`coverage.rulesets.DEFAULT_RULE_SET`); rows in ``result.rule_checks``.
    scenario : Scenario, optional
        Facility edits (:class:`coverage.scenario.Scenario`) applied to ``study`` before the plan;
        ``result.scenario`` then records the added and removed facilities and the baseline
        figures (coverage of ``study`` as it is), and every output labels itself a scenario.
    baseline : PlanResult, optional
        The plan of ``study`` without the edits, if already run (its figures are the baseline;
        otherwise one more coverage pass measures them).

    Returns
    -------
    PlanResult
    """
    def step(msg: str, frac: float) -> None:
        if progress is not None:
            progress(msg, frac)

    isochrone_minutes = check_isochrone_minutes(isochrone_minutes, "isochrone_minutes")
    _check_arguments(params, siting, capacity, scenario, baseline)
    base_study = study
    edited = scenario is not None and not scenario.empty
    if edited:
        study = apply_scenario(study, scenario)  # refuses unknown removals before the slow work
    sets = load_rule_sets(rule_sets)  # bad rule files fail before the slow work
    check_capacity_columns(sets, study.facilities)
    check_group_data(sets, age_data(study.communities, age_table))
    step("population model / 人口模型", 0.05)
    if demand is None:
        demand = build_demand(study, population_model, **(population_options or {}))
    step("network distances / 网络距离", 0.15)
    net, times, walking = walking_setup(study.network, profile, params.speed_kmh, dem)
    cov = measure_coverage(net, study.facilities, demand.points, params, times=times)
    extra = offset_warnings(study) + absent_kinds(sets, study.facilities)
    step("isochrones / 等时圈", 0.35)
    counted = study.facilities[study.facilities["counted"]]
    iso = isochrones(net, counted, isochrone_minutes, params,
                     progress=lambda d, t: step(f"isochrones / 等时圈 {d}/{t}", 0.35 + 0.3 * d / max(t, 1)))
    gp = group_pass(study, demand, cov, params, profile, dem, age_table)
    groups = gp.rows
    step("rules / 规则", 0.7)
    default_set = next((s for s in sets if s.id == DEFAULT_RULE_SET), None)  # with the planner's edits, if any
    rules = check_rules(study.subdistricts, study.communities, study.facilities, cov.by("subdistrict"),
                        params.target_share, default_set)
    checks = check_rule_sets(sets, rule_data(study, params, cov, demand, net, times, gp, profile, dem))
    comm = community_table(study, cov)
    result = PlanResult(study, params, demand, cov, iso, rules, comm, isochrone_minutes=tuple(isochrone_minutes),
                        counted_kinds=tuple(sorted(set(study.facilities.loc[study.facilities["counted"], "kind"]))),
                        extra_skipped=extra, walking=walking, groups=groups, rule_sets=sets,
                        rule_checks=checks)
    if edited:
        result.scenario = {**describe_scenario(base_study, scenario, study),
                           "baseline": _baseline_figures(base_study, params, demand, net, times, baseline,
                                                         default_set)}
    step("capacity / 服务能力", 0.72)
    add_capacity(result, **(capacity or {}))
    if siting is not None:
        step("siting / 选址", 0.75)
        siting = {"progress": lambda m, f: step(m, 0.75 + 0.25 * f), **siting}
        if siting.get("station_capacity") is not None:
            result.siting = propose_capacitated(result, result.capacity, **siting)
        else:
            siting.pop("station_capacity", None)
            result.siting = propose_sites(result, **siting)
    step("done / 完成", 1.0)
    return result


def _baseline_figures(study: StudyArea, params: CoverageParams, demand: Demand, net: WalkNetwork,
                      times: EdgeTimes | None, baseline: PlanResult | None, default_set: RuleSet | None = None
                      ) -> dict:
    """Figures of the study without a scenario's edits: from its plan if given, else one coverage pass."""
    if baseline is not None:
        return plan_figures(baseline.coverage, baseline.rules)
    cov = measure_coverage(net, study.facilities, demand.points, params, times=times)
    rules = check_rules(study.subdistricts, study.communities, study.facilities, cov.by("subdistrict"),
                        params.target_share, default_set)
    return plan_figures(cov, rules)


def add_capacity(result: PlanResult, rule: CapacityRule = CapacityRule(), assign: str = DEFAULT_ASSIGN,
                 decay: str = DEFAULT_E2SFCA_DECAY, time_limit: float = DEFAULT_TIME_LIMIT_S) -> CapacityResult:
    """Measure capacities, loads and E2SFCA for a plan and attach them to it.

    Sets ``result.capacity``, adds ``access_e2sfca`` to ``result.communities``, the
    capacity rule to ``result.rules`` (only when some capacity is known) and the
    ``capacity_unknown`` record to the skipped list.

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
    """
    cov, params = result.coverage, result.params
    cap = measure_capacity(result.study.network, cov.facilities, cov.demand, cov.demand_snap, params.radius_m,
                           params.walk_m, params.max_snap_m, rule, assign, Decay.named(decay, params.walk_m),
                           time_limit, fragment_m=params.fragment_m, island_snap_m=params.island_snap_m)
    result.capacity = cap
    comm = result.communities.drop(columns=["access_e2sfca"], errors="ignore")
    by = access_by(cov.demand, cap.access, ["community", "subdistrict"]).rename(columns={"community": "name"})
    result.communities = comm.merge(by, on=["name", "subdistrict"], how="left")
    result.rules = capacity_rule(result.rules, cap)
    result.extra_skipped = [s for s in result.extra_skipped if s.reason != "capacity_unknown"] + list(cap.skipped)
    return cap
