"""Where to put new stations: candidate sites, the reach matrix, proposals.

:func:`propose_sites` turns a finished plan into a list of proposed new
社区卫生服务站 (and, with the rules, 社区卫生服务中心), each explaining itself:

1. **Candidates** — every walkable street node (deduplicated) and/or the user's
   ``candidates`` layer snapped onto the streets like facilities (points farther
   than ``max_snap_m`` are skipped and counted), minus those inside ``exclusions``
   polygons (parks, water, industrial land; counted).
2. **Reach matrix** — boolean CSR ``(n_demand, n_candidates)``: candidate ``j``
   reaches demand ``i`` when their network distance is within the radius (or the
   walk distance), with exactly the distance of :mod:`coverage.access`
   (off-network leg + along-edge leg + shortest path + the legs at the other
   end; the direct walk along a shared edge; demand beyond ``max_snap_m``
   unreachable). It is computed from the candidate side with bounded
   :func:`scipy.sparse.csgraph.dijkstra` searches, batched over spatial tiles,
   each on the sub-network that can possibly hold a path of that length (see
   :func:`reach_matrix`), so time and memory grow with the number of
   (candidate, reached node) pairs, never with all pairs.
3. **Model** — existing counted facilities stay and the demand they cover counts
   as covered. ``sites="auto"``: fewest new stations reaching the target share
   (:class:`coverage.siting.solvers.SetCovering`); ``sites=N``: at most ``N`` stations
   covering most people (:class:`coverage.siting.solvers.MaximalCovering`). With
   ``rules=True`` each subdistrict gets the new stations and centres every count
   rule of the active rule sets asks for (at least ``stations_required -
   stations`` stations, and a centre where it has none; a population rule such
   as ``national-chs`` may ask for several centres). The first centre goes to the
   candidate minimising the population-weighted walking distance to the
   subdistrict's residents (:func:`best_centre`, exact), further ones greedily
   (:func:`next_centres`).
4. **Explanation and re-check** — sites are ranked by the population each adds
   (:func:`coverage.siting.solvers.rank_by_marginal_gain`); coverage *after* building
   them is recomputed from scratch by :func:`coverage.access.measure_coverage`,
   and their isochrones are drawn.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from coverage.access import CoverageResult, measure_coverage
from coverage.errors import ValueInputError
from coverage.geo.areas import first_containing
from coverage.isochrones import isochrones as make_isochrones
from coverage.network.graph import WalkNetwork, edge_names
from coverage.network.snap import Snap
from coverage.params import DEFAULT_TIME_LIMIT_S, CoverageParams
from coverage.plain import _plain
from coverage.result import PlanResult
from coverage.rulesets import centre_need, station_need, unenforced_counts
from coverage.siting.bigcover import progress_text, solve_set_covering
from coverage.siting.bigmax import people_progress_text, solve_maximal_covering
from coverage.siting.candidates import CandidateSet, check_siting_args, siting_setup
from coverage.siting.centres import best_centre, next_centres
from coverage.siting.reach import reach_matrix
from coverage.siting.solvers import MaximalCovering, SetCovering, SolveResult, rank_by_marginal_gain
from coverage.study import StudyArea

__all__ = ["PROPOSAL_COLUMNS", "SitingResult", "propose_sites"]

#: proposals.csv columns: (key, 中文, English)
PROPOSAL_COLUMNS = [
    ("rank", "序号", "rank"),
    ("kind", "类型", "kind"),
    ("name", "名称", "name"),
    ("subdistrict", "街道/乡镇", "subdistrict"),
    ("community", "社区", "community"),
    ("nearest_street", "最近道路", "nearest street"),
    ("lon", "经度", "lon"),
    ("lat", "纬度", "lat"),
    ("adds_population", "新增覆盖人口", "population newly covered"),
    ("serves", "服务规则", "serves"),
    ("source", "候选来源", "candidate source"),
    ("node_id", "路网节点", "street node id"),
]

SERVES_I18N = {"radius_coverage": "radius_rule", "walk_coverage": "walk_rule", "station_rule": "station_rule",
                "centre_rule": "centre_rule"}


@dataclass
class SitingResult:
    """Proposed sites, the coverage after building them, and how the model was solved.

    Attributes
    ----------
    proposals : GeoDataFrame
        Metric CRS, one row per proposed site in rank order: ``rank``, ``kind``
        (``station``/``centre``), ``name``, ``subdistrict``, ``community``,
        ``nearest_street``, ``adds_population``, ``serves`` (list of rule keys),
        ``source`` (``node``/``layer``), ``node_id``, ``lon``, ``lat``.
    after : dict
        Coverage with the proposals built, shaped like ``summary["coverage"]``.
    before : dict
        The same figures before (``summary["coverage"]``).
    isochrones : GeoDataFrame
        Isochrones of the proposed sites (:func:`coverage.isochrones.isochrones`).
    solve : SolveResult
    info : dict
        The ``siting`` block of ``summary.json``.
    after_coverage : CoverageResult
        The full re-check (per demand point), for maps and scenarios.
    reach : scipy.sparse.csr_matrix
        The reach matrix used (columns: candidates, then proposed centres).
    candidates : CandidateSet
        The candidates considered (after exclusions).
    timings : dict
        Seconds per step.
    """

    proposals: gpd.GeoDataFrame
    after: dict
    before: dict
    isochrones: gpd.GeoDataFrame
    solve: SolveResult
    info: dict
    after_coverage: CoverageResult | None = None
    reach: sparse.csr_matrix | None = None
    candidates: CandidateSet | None = None
    timings: dict = field(default_factory=dict)

    def records(self) -> list[dict]:
        """``summary["proposals"]``: one dict per site, in rank order."""
        out = []
        for r in self.proposals.to_dict("records"):
            out.append({
                "rank": int(r["rank"]), "kind": r["kind"], "name": r["name"],
                "lon": round(float(r["lon"]), 7), "lat": round(float(r["lat"]), 7),
                "subdistrict": r["subdistrict"], "community": r["community"],
                "nearest_street": r["nearest_street"], "adds_population": round(float(r["adds_population"]), 3),
                "serves": list(r["serves"]), "source": r["source"],
                "node_id": None if r["node_id"] is None or pd.isna(r["node_id"]) else _plain(r["node_id"]),
            })
        return out

    def summary_fields(self) -> dict:
        """``{"proposals", "after", "siting"}``, merged into ``summary.json``."""
        return {"proposals": self.records(), "after": self.after, "siting": dict(self.info)}

    def table(self, bilingual_headers: bool = True) -> pd.DataFrame:
        """``proposals.csv`` as a DataFrame (``serves`` joined with ``;``)."""
        rows = self.records()
        df = pd.DataFrame(rows, columns=[k for k, _, _ in PROPOSAL_COLUMNS])
        df["serves"] = [";".join(s) for s in df["serves"]] if len(df) else df["serves"]
        if bilingual_headers:
            df.columns = [f"{zh} / {en}" for _, zh, en in PROPOSAL_COLUMNS]
        return df

    def one_line(self) -> str:
        """A bilingual console line: what is proposed and what it achieves."""
        kinds = self.proposals["kind"].value_counts() if len(self.proposals) else pd.Series(dtype=int)
        n_st, n_ce = int(kinds.get("station", 0)), int(kinds.get("centre", 0))
        key = self.info["site_for"]
        d = self.info["threshold_m"]
        label = f"within {d:g} m 网络{d:g}米内" if key == "radius" else f"within a {d:g} m walk 步行{d:g}米内"
        before = self.before.get(key, {}).get("share") or 0.0
        after = self.after.get(key, {}).get("share") or 0.0
        parts = [f"proposed 建议新增: {n_st} station(s) 服务站"]
        if n_ce:
            parts[0] += f" + {n_ce} centre(s) 中心"
        met = self.info.get("target_met")
        parts.append(f"{label}: {before:.1%} → {after:.1%} (target 目标 {self.info['target_share']:.0%}, "
                     f"{'met 达到' if met else 'not met 未达到'}; solver 求解 {self.info['status']})")
        return "; ".join(parts)


def _nearest_street(network: WalkNetwork, cands: CandidateSet, idx: np.ndarray, radius: float = 150.0
                    ) -> list[str | None]:
    """A street name for each site: its own edge (or a node's edges), else the nearest named edge nearby."""
    e = network.edges
    names = edge_names(network, range(len(e))) if "name" in e.columns else [None] * len(e)
    named = np.array([n is not None for n in names], dtype=bool)
    out: list[str | None] = []
    u, v = e["u"].to_numpy(), e["v"].to_numpy()
    tree = shapely.STRtree(e.geometry.values[named]) if named.any() else None
    named_idx = np.flatnonzero(named)
    for j in idx:
        if cands.edge[j] >= 0:
            own = [int(cands.edge[j])]
        else:
            own = list(np.flatnonzero((u == cands.node[j]) | (v == cands.node[j])))
        found = next((names[k] for k in own if names[k]), None)
        if found is None and tree is not None:
            p = shapely.Point(cands.x[j], cands.y[j])
            hit = tree.query_nearest(p, max_distance=radius, all_matches=False)
            if len(hit):
                found = names[named_idx[int(hit[0])]]
        out.append(found)
    return out


def _check_args(sites: object, site_for: str, target_share: float | None, candidates: str | None,
                time_limit: float, solver: str) -> None:
    check_siting_args(sites, site_for, target_share, time_limit)
    if candidates not in (None, "nodes", "layer", "both"):
        raise ValueInputError(f"candidates must be 'nodes', 'layer' or 'both', got {candidates!r}")
    if solver not in ("highs", "greedy"):
        raise ValueInputError(f"solver must be 'highs' or 'greedy', got {solver!r}")


def propose_sites(
    result: PlanResult,
    sites: Literal["auto"] | int = "auto",
    site_for: Literal["radius", "walk"] = "radius",
    target_share: float | None = None,
    rules: bool = False,
    candidates: Literal["nodes", "layer", "both"] | None = None,
    exclusions: gpd.GeoDataFrame | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT_S,
    solver: str = "highs",
    progress: Callable[[str, float], None] | None = None,
    max_isochrones: int = 200,
) -> SitingResult:
    """Propose new community health stations for a plan.

    Parameters
    ----------
    result : PlanResult
        A finished plan (:func:`coverage.pipeline.run_plan`).
    sites : "auto" or int
        ``"auto"``: fewest new stations reaching ``target_share`` (set covering);
        ``N``: at most ``N`` new stations covering most residents (maximal covering).
        Centres proposed by ``rules`` come on top of ``N``.
    site_for : {"radius", "walk"}
        Cover within ``params.radius_m`` or within ``params.walk_m`` (walking time).
    target_share : float, optional
        Share of residents to cover; default ``result.params.target_share``.
    rules : bool
        Also give each subdistrict the new stations and centres the count rules of the
        active rule sets require (:func:`coverage.rulesets.check.count_need`): at least
        ``stations_required - stations`` stations, a centre where it has none.
    candidates : {"nodes", "layer", "both"}, optional
        Candidate sites: street nodes, the study's candidates layer, or both;
        default the layer if the study has one, else the nodes.
    exclusions : GeoDataFrame, optional
        Polygons where no site may go; default the study's exclusions layer.
    time_limit : float
        Seconds for the solver.
    solver : {"highs", "greedy"}
        ``"highs"``: set covering (``sites="auto"``) runs the large-scale engine of
        :mod:`coverage.siting.bigcover` (Lagrangian bound, decomposition, HiGHS,
        window search); maximal covering (``sites=N``) the one of :mod:`coverage.siting.bigmax`
        (Lagrangian or LP-dual bound, swap search, HiGHS on a core). ``"greedy"``: greedy only.
    progress : callable, optional
        ``progress(message, fraction)``; during the solve the message is the best count
        (set covering) or people covered (maximal covering) so far and how far it can
        still be from optimal.
    max_isochrones : int
        Isochrones (one per site, at the radius or walk distance) are drawn for
        the best-ranked this many sites; polygon building dominates the run
        time beyond a few hundred.

    Returns
    -------
    SitingResult

    Raises
    ------
    coverage.errors.ValueInputError
        Bad arguments; ``candidates="layer"`` without a candidates layer; ``sites``
        fewer than the stations the rules require.

    Notes
    -----
    Long because it is the siting step's script: each phase (candidates, reach, rules, solve,
    proposals, re-check, isochrones) is one helper call with its progress message and timing.
    """
    _check_args(sites, site_for, target_share, candidates, time_limit, solver)
    if isinstance(max_isochrones, bool) or not isinstance(max_isochrones, (int, np.integer)) or max_isochrones < 0:
        raise ValueInputError(f"max_isochrones must be an integer >= 0, got {max_isochrones!r}")

    def step(msg: str, frac: float) -> None:
        if progress is not None:
            progress(msg, frac)

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    study, params = result.study, result.params
    net = study.network
    notes: list[str] = []

    step("candidates / 候选点", 0.0)
    su = siting_setup(result, site_for, target_share, candidates, exclusions, notes)
    target, threshold, cands, group = su.target, su.threshold, su.cands, su.group
    source, n_excluded, off_network = su.source, su.n_excluded, su.off_network
    timings["candidates"] = time.perf_counter() - t0

    step("reach matrix / 可达矩阵", 0.1)
    t1 = time.perf_counter()
    w, covered, dsnap, on_net = _demand_state(result, site_for)
    reach = reach_matrix(net, dsnap, cands, threshold, active=on_net & ~covered & (w > 0))
    timings["reach"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    K = len(cands)
    centre_j: list[int] = []
    centre_info: dict[int, dict] = {}
    group_min: dict[int, int] = {}
    if rules:
        step("rules / 规则", 0.3)
        centre_j, centre_info, group_min = _rule_minimums(result, cands, group, dsnap, w, on_net, notes)
    reach_ext, groups, forced = _with_centre_columns(reach, centre_j, group, rules)
    C = len(centre_j)
    timings["rules"] = time.perf_counter() - t2

    step(f"solver, at most {time_limit:g} s / 求解（最多 {time_limit:g} 秒）", 0.4)
    t3 = time.perf_counter()
    if sites != "auto":
        _check_budget(int(sites), group_min, study)
    model = _covering_model(sites, reach_ext, w, covered, target, forced if C else None, groups, group_min)
    mode = "set_covering" if sites == "auto" else "maximal_covering"
    text = progress_text if sites == "auto" else people_progress_text
    sol, method = _solve(model, sites, solver, time_limit, _progress_lines(step, t3, time_limit, text=text))
    if sol.message:
        notes.append(sol.message)
    order, gain = rank_by_marginal_gain(sol.selected, reach_ext, w, covered)
    timings["solve"] = time.perf_counter() - t3

    step("proposals / 建议站点", 0.6)
    t4 = time.perf_counter()
    cj = np.array([centre_j[o - K] if o >= K else o for o in order], dtype=np.int64)
    proposals = _proposal_frame(result, net, cands, cj, order >= K, gain, group, group_min, site_for)
    after_cov, before, after = _recheck(result, proposals)
    reached = after[site_for]["share"] is not None and after[site_for]["share"] >= target - 1e-9
    if sol.target_met is True and not reached:
        notes.append("the re-check found the target not reached although the model did: please report this")
    timings["recheck"] = time.perf_counter() - t4

    step("isochrones / 等时圈", 0.8)
    t5 = time.perf_counter()
    iso = _site_isochrones(net, proposals, threshold, params, max_isochrones, notes)
    timings["isochrones"] = time.perf_counter() - t5
    proposals = proposals.drop(columns=["label"])
    notes += [f"centre for {study.subdistricts['name'].iloc[group[j]]} placed where residents walk least on "
              f"average ({c['mean_distance_m']:.0f} m)" for j, c in centre_info.items()
              if not np.isnan(c["mean_distance_m"])]

    info = {
        "mode": mode, "sites": sites if sites == "auto" else int(sites), "site_for": site_for,
        "threshold_m": round(float(threshold), 3), "radius_m": float(params.radius_m),
        "minutes": float(params.minutes), "target_share": target, "rules": bool(rules), "candidate_source": source,
        **_solve_fields(sol, method, K, n_excluded, len(off_network)), "new_population": round(float(gain.sum()), 3),
        "target_met": bool(reached), "note": "; ".join(notes),
    }
    timings["total"] = time.perf_counter() - t0
    step("siting done / 选址完成", 1.0)
    return SitingResult(proposals=proposals, after=after, before=before, isochrones=iso, solve=sol, info=info,
                        after_coverage=after_cov, reach=reach_ext, candidates=cands, timings=timings)


def _demand_state(result: PlanResult, site_for: str) -> tuple[np.ndarray, np.ndarray, Snap, np.ndarray]:
    """Residents' weights, who is covered already, their snaps (from the coverage pass) and who is on the network."""
    dem = result.coverage.demand
    w = dem["population"].to_numpy(dtype=float)
    covered = dem["covered_radius" if site_for == "radius" else "covered_walk"].to_numpy(dtype=bool)
    dsnap = result.coverage.demand_snap  # the coverage pass already snapped these very points
    return w, covered, dsnap, dsnap.offset <= result.params.max_snap_m


def _centre_sites(result: PlanResult, cands: CandidateSet, in_g: np.ndarray, g: int, k: int, dsnap: Snap,
                  w: np.ndarray, on_net: np.ndarray) -> list[tuple[int, float, float]]:
    """``k`` new centres among a subdistrict's candidates ``in_g``: (candidate, mean walk, unreachable population).

    The first minimises the population-weighted walk of the subdistrict's residents (exact,
    :func:`best_centre`); further ones (a population rule may ask for several) are added
    greedily (:func:`next_centres`).
    """
    study, net = result.study, result.study.network
    name = study.subdistricts["name"].iloc[g]
    sel = on_net & (result.coverage.demand["subdistrict"].to_numpy(dtype=object) == name) & (w > 0)
    pool = cands.subset(in_g)
    if not sel.any():  # no residents: the sites nearest the middle of the subdistrict
        p = shapely.point_on_surface(study.subdistricts.geometry.values[g])
        order = np.argsort(np.hypot(cands.x[in_g] - p.x, cands.y[in_g] - p.y), kind="stable")[:k]
        return [(int(in_g[j]), math.nan, 0.0) for j in order]
    targets, weights = dsnap.subset(sel), w[sel]
    j, mean, unreach = best_centre(net, targets, weights, pool)
    out = [(int(in_g[j]), mean, unreach)]
    out += [(int(in_g[x]), math.nan, math.nan) for x in next_centres(net, targets, weights, pool, [j], k - 1)]
    return out


def _rule_minimums(result: PlanResult, cands: CandidateSet, group: np.ndarray, dsnap: Snap, w: np.ndarray,
                   on_net: np.ndarray, notes: list[str]) -> tuple[list[int], dict[int, dict], dict[int, int]]:
    """The count rules of every active rule set, per subdistrict, as siting constraints.

    Centres: the largest shortfall of the centre count rules (one where a subdistrict has
    none; a population rule such as ``national-chs`` may ask for more), placed by
    :func:`_centre_sites`. Stations: the largest shortfall of the station count rules, as a
    minimum of new stations in the subdistrict.

    Returns
    -------
    centre_j : list of int
        Candidates chosen as new centres.
    centre_info : dict
        Candidate → ``mean_distance_m``, ``unreachable_population`` of its centre choice.
    group_min : dict
        Subdistrict row → new stations it needs at least (capped by its candidate sites).
    """
    rows = getattr(result, "rule_checks", None)
    by_name = {r["name"]: r for r in result.rules.to_dict("records")}
    centre_j: list[int] = []
    centre_info: dict[int, dict] = {}
    group_min: dict[int, int] = {}
    for g, name in enumerate(result.study.subdistricts["name"]):
        r = by_name.get(name)
        if r is None:
            continue
        in_g = np.flatnonzero(group == g)
        need = station_need(rows, name, max(0, int(r["stations_required"]) - int(r["stations"])))
        n_centres = centre_need(rows, name, 1 if int(r["centres"]) == 0 else 0)
        if n_centres > in_g.size:
            notes.append(f"{name} needs {n_centres} more centre(s) but only {in_g.size} candidate site(s) lie "
                         f"inside; proposing {in_g.size}")
            n_centres = int(in_g.size)
        if n_centres:
            for j, mean, unreach in _centre_sites(result, cands, in_g, g, n_centres, dsnap, w, on_net):
                centre_j.append(j)
                centre_info[j] = {"mean_distance_m": mean, "unreachable_population": unreach}
        # a centre site is not a station site: it leaves the station pool of its subdistrict
        avail = int(in_g.size) - sum(1 for j in centre_j if group[j] == g)
        if need > avail:
            notes.append(f"{name} needs {need} more station(s) but only {avail} candidate site(s) lie inside; "
                         f"proposing {avail}")
            need = avail
        if need > 0:
            group_min[g] = need
    notes += [f"{k}: a community count rule; the siting places stations and centres per subdistrict, so it is "
              "not enforced" for k in unenforced_counts(rows)]
    return centre_j, centre_info, group_min


def _with_centre_columns(reach: sparse.csr_matrix, centre_j: list[int], group: np.ndarray, rules: bool
                         ) -> tuple[sparse.csr_matrix, np.ndarray | None, np.ndarray]:
    """The reach matrix with one forced column per proposed centre; the groups and forced columns.

    A proposed centre is a column of its own (forced, in no group, so it does not count as a station);
    its candidate's own column is emptied so that the same spot is not proposed twice.
    """
    K, C = reach.shape[1], len(centre_j)
    if C:
        full = reach.tocsc()
        base = full.copy()
        for j in centre_j:
            base.data[base.indptr[j]:base.indptr[j + 1]] = False
        base.eliminate_zeros()
        reach = sparse.hstack([base, full[:, centre_j]], format="csr")
    groups = np.concatenate([np.where(np.isin(np.arange(K), centre_j), -1, group), np.full(C, -1)]) \
        if rules else None
    return reach, groups, np.arange(K, K + C)


def _covering_model(sites: Literal["auto"] | int, reach: sparse.csr_matrix, w: np.ndarray, covered: np.ndarray,
                    target: float, forced: np.ndarray | None, groups: np.ndarray | None, group_min: dict[int, int]
                    ) -> SetCovering | MaximalCovering:
    """``sites="auto"``: the fewest new stations reaching the target; ``N``: the best N (plus forced centres)."""
    kw = {"forced": forced, "group_of_candidate": groups, "group_min_new": group_min or None}
    if sites == "auto":
        return SetCovering(reach, w, covered, target_share=target, **kw)
    return MaximalCovering(reach, w, covered, p=int(sites) + (0 if forced is None else len(forced)), **kw)


def _check_budget(sites: int, group_min: dict[int, int], study: StudyArea) -> None:
    """Refuse a budget of new stations below what the rules require."""
    least = sum(group_min.values())
    if least > sites:
        names = study.subdistricts["name"].to_numpy(dtype=object)
        detail = ", ".join(f"{names[g]}: {k}" for g, k in group_min.items())
        raise ValueInputError(f"--sites {sites} is fewer than the {least} new station(s) the rules require "
                              f"({detail}); raise --sites or drop --rules")


def _recheck(result: PlanResult, proposals: gpd.GeoDataFrame) -> tuple[CoverageResult, dict, dict]:
    """Coverage recomputed from scratch with the proposals as counted stations: (coverage, before, after)."""
    study, net = result.study, result.study.network
    fac = study.facilities[["name", "kind", "counted", "geometry"]]
    new = gpd.GeoDataFrame({"name": proposals["label"], "kind": proposals["kind"], "counted": True},
                           geometry=proposals.geometry.values, crs=net.crs)
    after_cov = measure_coverage(net, pd.concat([fac, new], ignore_index=True), result.demand.points, result.params)
    tot, before_tot = after_cov.totals(), result.coverage.totals()
    keys = ("radius", "radius_euclidean", "walk")
    return after_cov, {k: before_tot[k] for k in keys}, {k: tot[k] for k in keys}


def _site_isochrones(net: WalkNetwork, proposals: gpd.GeoDataFrame, threshold: float, params: CoverageParams,
                     max_isochrones: int, notes: list[str]) -> gpd.GeoDataFrame:
    """One isochrone per site, at the distance the model covered (500 m = 7.5 min at 4 km/h): the area it serves."""
    iso_minutes = threshold / params.minutes_to_m(1.0)
    drawn = proposals.iloc[:max_isochrones]
    iso = make_isochrones(net, drawn.assign(name=drawn["label"])[["name", "kind", "geometry"]], (iso_minutes,),
                          params)
    if len(proposals) > max_isochrones:
        notes.append(f"isochrones drawn for the first {max_isochrones} of {len(proposals)} proposed sites")
    return iso


def _solve(model: SetCovering | MaximalCovering, sites: Literal["auto"] | int, solver: str, time_limit: float,
           progress: Callable[[int, float], None]) -> tuple[SolveResult, str]:
    """Solve; with ``solver="highs"`` both models go to the large-scale engines. Returns the result and its method."""
    if sites == "auto" and solver == "highs":
        engine = solve_set_covering(model, time_limit, progress=progress)
        return engine.result, engine.method
    if solver == "highs":
        engine = solve_maximal_covering(model, time_limit, progress=progress)
        return engine.result, engine.method
    sol = model.solve(time_limit=time_limit, solver=solver)
    return sol, "greedy" if sol.status == "greedy" or solver == "greedy" else "highs"


def _progress_lines(step: Callable[[str, float], None], t0: float, time_limit: float, every: float = 1.0,
                    text: Callable[[float, float], str] = progress_text) -> Callable[[float, float], None]:
    """The engine's ``(best, bound)`` reports as progress lines, at most one per ``every`` seconds unless proven.

    ``text`` words them: stations (set covering) or people (maximal covering).
    """
    last = {"t": -math.inf, "seen": None}

    def report(best: float, bound: float) -> None:
        now = time.perf_counter()
        # a lower bound on stations meets the count from below, an upper bound on people from above
        proven = bound >= best if text is progress_text else bound <= best + 1e-9 * max(1.0, abs(best))
        if (best, bound) == last["seen"] or (now - last["t"] < every and not proven):
            return
        last.update(t=now, seen=(best, bound))
        step(text(best, bound), 0.4 + 0.2 * min(1.0, (now - t0) / time_limit))

    return report


def _solve_fields(sol: SolveResult, method: str, n_candidates: int, n_excluded: int, n_off_network: int) -> dict:
    """The solver's part of ``summary.json`` → ``siting``: status, proven gap and bound, method, problem sizes."""
    return {
        "status": sol.status, "gap": sol.gap, "bound": sol.bound, "solve_seconds": round(float(sol.solve_seconds), 3),
        "seconds": round(float(sol.solve_seconds), 3), "method": method,
        "objective": sol.objective, "candidates": int(n_candidates), "candidates_excluded": n_excluded,
        "candidates_off_network": n_off_network, "demand_reduced": int(sol.n_demand_reduced),
        "candidates_reduced": int(sol.n_candidates_reduced),
        "unreachable_population": round(float(sol.unreachable_weight), 3),
    }


def _proposal_frame(result: PlanResult, net: WalkNetwork, cands: CandidateSet, cj: np.ndarray,
                    is_centre: np.ndarray, gain: np.ndarray, group: np.ndarray, group_min: dict[int, int],
                    site_for: str) -> gpd.GeoDataFrame:
    """One row per proposed site, in rank order, with everything that explains it."""
    study = result.study
    n = len(cj)
    kind = np.where(is_centre, "centre", "station") if n else np.zeros(0, dtype=object)
    serves: list[list[str]] = [[] for _ in range(n)]
    for i in range(n):
        if is_centre[i]:
            serves[i].append("centre_rule")
    # the stations of a subdistrict short of stations: those adding least are there for the count
    for g, need in group_min.items():
        mine = [i for i in range(n) if not is_centre[i] and group[cj[i]] == g]
        for i in sorted(mine, key=lambda i: (gain[i], -i))[:need]:
            serves[i].append("station_rule")
    for i in range(n):
        if gain[i] > 1e-9:
            serves[i].append(f"{site_for}_coverage")
    sub_names = study.subdistricts["name"].to_numpy(dtype=object)
    g = group[cj] if n else np.zeros(0, dtype=np.int64)
    comm = first_containing(shapely.points(cands.x[cj], cands.y[cj]), study.communities.geometry.values)
    comm_names = study.communities["name"].to_numpy(dtype=object)
    pts = shapely.points(cands.x[cj], cands.y[cj])
    ll = gpd.GeoSeries(pts, crs=net.crs).to_crs(4326)
    node_ids = [None if cands.node[j] < 0 else _plain(net.node_id[cands.node[j]]) for j in cj]
    labels = [f"建议{'中心' if k == 'centre' else '服务站'} {i + 1} / proposed {k} {i + 1}" for i, k in enumerate(kind)]
    return gpd.GeoDataFrame({
        "rank": np.arange(1, n + 1),
        "kind": kind,
        "name": [cands.name[j] for j in cj],
        "subdistrict": [sub_names[x] if x >= 0 else None for x in g],
        "community": [comm_names[x] if x >= 0 else None for x in comm],
        "nearest_street": _nearest_street(net, cands, cj),
        "adds_population": np.asarray(gain, dtype=float),
        "serves": serves,
        "source": [cands.source[j] for j in cj],
        "node_id": node_ids,
        "lon": ll.x.to_numpy() if n else np.zeros(0),
        "lat": ll.y.to_numpy() if n else np.zeros(0),
        "label": labels,
    }, geometry=pts, crs=net.crs)
