"""The whole job as one library call: demand → coverage → isochrones → rules → (siting).

:func:`run_plan` is what the command line, the Streamlit app and the notebooks
all call. It returns a :class:`PlanResult` whose :meth:`PlanResult.summary` is
the content of ``summary.json``.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from . import __version__
from .access import CoverageParams, CoverageResult, measure_coverage
from .crs import describe_crs
from .io import Skipped
from .isochrones import DEFAULT_MINUTES, isochrones
from .population import Demand, build_demand
from .rules import RULES, check_rules
from .study import StudyArea

__all__ = ["PlanResult", "run_plan", "coverage", "Progress", "build_summary", "jsonable", "population_check"]

#: ``progress(message, fraction)``: fraction in [0, 1] of the whole job.
Progress = Callable[[str, float], None]


@dataclass
class PlanResult:
    """Everything a plan computed.

    Attributes
    ----------
    study : StudyArea
    params : CoverageParams
    demand : Demand
    coverage : CoverageResult
    isochrones : GeoDataFrame
    rules : DataFrame
        Per-subdistrict verdicts (:func:`coverage.rules.check_rules`).
    communities : DataFrame
        Per-community coverage.
    siting : object, optional
        :class:`coverage.siting.SitingResult` when sites were proposed.
    isochrone_minutes : tuple
    """

    study: StudyArea
    params: CoverageParams
    demand: Demand
    coverage: CoverageResult
    isochrones: gpd.GeoDataFrame
    rules: pd.DataFrame
    communities: pd.DataFrame
    siting: object | None = None
    isochrone_minutes: tuple = DEFAULT_MINUTES
    counted_kinds: tuple = ("centre", "station")
    extra_skipped: list[Skipped] = field(default_factory=list)

    @property
    def skipped(self) -> list[Skipped]:
        """Everything repaired or left out, from loading to coverage."""
        return list(self.study.skipped) + list(self.demand.skipped) + list(self.coverage.skipped) + \
            list(self.extra_skipped)

    def summary(self) -> dict:
        """The content of ``summary.json``."""
        return build_summary(self)


def _num(x: object, nd: int = 6) -> float | None:
    if x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(f):
        return None
    return round(f, nd)


def community_table(study: StudyArea, cov: CoverageResult) -> pd.DataFrame:
    """Per-community population and shares, every community listed (also those without demand)."""
    c = study.communities
    rows = []
    for name, code, sub, declared in zip(c["name"], c["code"], c["subdistrict"], c["population"]):
        # names may repeat across subdistricts; demand is keyed by name, so split by subdistrict too
        same_sub = (cov.demand["subdistrict"] == sub) | (cov.demand["subdistrict"].isna() & pd.isna(sub))
        d = cov.demand[(cov.demand["community"] == name) & same_sub]
        pop = float(d["population"].sum())

        def sh(col: str) -> float | None:
            return float((d["population"] * d[col]).sum() / pop) if pop > 0 else None
        fin = np.isfinite(d["dist_network"])
        mean = float((d["population"][fin] * d["dist_network"][fin]).sum() / d["population"][fin].sum()) \
            if fin.any() and d["population"][fin].sum() > 0 else None
        rows.append({"name": name, "code": code, "subdistrict": sub, "population": pop,
                     "population_declared": None if pd.isna(declared) else float(declared),
                     "radius_share": sh("covered_radius"), "radius_euclidean_share": sh("covered_radius_euclidean"),
                     "walk_share": sh("covered_walk"), "mean_distance_m": mean})
    return pd.DataFrame(rows)


def coverage(study: StudyArea, params: CoverageParams = CoverageParams(), demand: Demand | None = None,
             facilities: gpd.GeoDataFrame | None = None) -> CoverageResult:
    """Coverage of the study's demand by its counted facilities (or another facility layer).

    Parameters
    ----------
    study : StudyArea
    params : CoverageParams
    demand : Demand, optional
        Default: :func:`coverage.population.build_demand` with the ``auto`` model.
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
    from .officedata import check_offset

    diag = check_offset(study.facilities, study.network)
    if diag is None:
        return []
    return [Skipped("facilities", "possible_coordinate_offset", int(len(study.facilities)), action="listed",
                    message=diag.message)]


def run_plan(
    study: StudyArea,
    params: CoverageParams = CoverageParams(),
    *,
    isochrone_minutes: Sequence[float] = DEFAULT_MINUTES,
    population_model: str = "auto",
    population_options: dict | None = None,
    demand: Demand | None = None,
    siting: dict | None = None,
    progress: Progress | None = None,
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
        See :func:`coverage.population.build_demand`.
    population_options : dict, optional
        Options of the population model.
    demand : Demand, optional
        Precomputed demand (skips the population model).
    siting : dict, optional
        Keyword arguments of :func:`coverage.siting.propose_sites` (e.g.
        ``{"sites": "auto"}``); no siting when None.
    progress : callable, optional
        ``progress(message, fraction)``.

    Returns
    -------
    PlanResult
    """
    def step(msg: str, frac: float) -> None:
        if progress is not None:
            progress(msg, frac)

    step("population model / 人口模型", 0.05)
    if demand is None:
        demand = build_demand(study, population_model, **(population_options or {}))
    step("network distances / 网络距离", 0.15)
    cov = measure_coverage(study.network, study.facilities, demand.points, params)
    extra = offset_warnings(study)
    step("isochrones / 等时圈", 0.35)
    counted = study.facilities[study.facilities["counted"]]
    iso = isochrones(study.network, counted, isochrone_minutes, params,
                     progress=lambda d, t: step(f"isochrones / 等时圈 {d}/{t}", 0.35 + 0.3 * d / max(t, 1)))
    step("rules / 规则", 0.7)
    rules = check_rules(study.subdistricts, study.communities, study.facilities, cov.by("subdistrict"),
                        params.target_share)
    comm = community_table(study, cov)
    result = PlanResult(study, params, demand, cov, iso, rules, comm, isochrone_minutes=tuple(isochrone_minutes),
                        counted_kinds=tuple(sorted(set(study.facilities.loc[study.facilities["counted"], "kind"]))),
                        extra_skipped=extra)
    if siting is not None:
        step("siting / 选址", 0.75)
        from .siting import propose_sites
        siting = {"progress": lambda m, f: step(m, 0.75 + 0.25 * f), **siting}
        result.siting = propose_sites(result, **siting)
    step("done / 完成", 1.0)
    return result


def _lonlat(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    g = gdf.geometry.to_crs(4326)
    return g.x.to_numpy(), g.y.to_numpy()


def jsonable(obj: object) -> object:
    """Replace NaN/inf/NA by None and numpy scalars by Python ones, recursively (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj


def population_check(result: PlanResult) -> dict:
    """Does the population reconcile? declared (+ estimated) = modelled + dropped.

    ``declared`` is the population layer's total when the model used one, else the
    community totals; ``estimated`` is what a model gave communities without a
    total (e.g. from floor area); ``dropped`` is the population of skipped records
    whose action is ``dropped``.
    """
    modelled = float(result.demand.points["population"].sum())
    dropped = float(sum(s.population for s in result.skipped if s.action == "dropped" and s.layer != "facilities"))
    estimated = 0.0
    per_comm = result.demand.details.get("communities") if isinstance(result.demand.details, dict) else None
    if result.demand.model in ("points", "polygons") and result.study.population is not None:
        declared = float(result.study.population["population"].fillna(0).sum())
    elif per_comm:
        declared = float(sum(c["population_in"] for c in per_comm if c.get("population_in") is not None))
        estimated = float(sum(c["population_out"] for c in per_comm if c.get("population_in") is None))
        # the per-community figures count only what reached a community; the rest lies outside all of them
        outside = float(result.demand.points.loc[result.demand.points["community"].isna(), "population"].sum())
        estimated += outside
    else:
        declared = float(result.study.communities["population"].fillna(0).sum())
    # features dropped while loading are no longer in the layers but were declared in the files
    declared += float(sum(s.population for s in result.study.skipped if s.action == "dropped"
                          and s.layer in ("communities", "population")))
    gap = declared + estimated - (modelled + dropped)
    return {"declared": round(declared, 3), "estimated": round(estimated, 3), "modelled": round(modelled, 3),
            "dropped": round(dropped, 3), "difference": round(gap, 6),
            "reconciles": bool(abs(gap) <= 1e-6 * max(1.0, declared))}


def build_summary(result: PlanResult) -> dict:
    """Assemble ``summary.json`` from a :class:`PlanResult`."""
    study, params, cov = result.study, result.params, result.coverage
    totals = cov.totals()
    subs = []
    name_en = dict(zip(study.subdistricts["name"], study.subdistricts.get("name_en", pd.Series(dtype=object))))
    for r in result.rules.to_dict("records"):
        subs.append({
            "name": r["name"], "name_en": name_en.get(r["name"]), "code": r["code"],
            "communities": int(r["communities"]), "centres": int(r["centres"]), "stations": int(r["stations"]),
            "stations_required": int(r["stations_required"]), "centre_rule": bool(r["centre_rule"]),
            "station_rule": bool(r["station_rule"]), "population": _num(r["population"], 3),
            "radius_share": _num(r["radius_share"]), "radius_euclidean_share": _num(r["radius_euclidean_share"]),
            "walk_share": _num(r["walk_share"]), "radius_rule": bool(r["radius_rule"]),
            "walk_rule": bool(r["walk_rule"]), "passes": bool(r["passes"]),
        })
    comms = []
    for r in result.communities.to_dict("records"):
        comms.append({
            "name": r["name"], "code": r["code"], "subdistrict": r["subdistrict"],
            "population": _num(r["population"], 3), "radius_share": _num(r["radius_share"]),
            "radius_euclidean_share": _num(r["radius_euclidean_share"]), "walk_share": _num(r["walk_share"]),
            "mean_distance_m": _num(r["mean_distance_m"], 1),
        })
    fac = study.facilities
    lon, lat = _lonlat(fac)
    snapinfo = cov.facilities[["snap_offset_m", "off_network", "island"]]
    facilities = []
    for i, (idx, r) in enumerate(fac.iterrows()):
        s = snapinfo.loc[idx] if idx in snapinfo.index else None
        facilities.append({
            "name": r["name"], "kind": r["kind"], "kind_raw": None if pd.isna(r.get("kind_raw")) else str(r["kind_raw"]),
            "counted": bool(r["counted"]), "subdistrict": r["subdistrict"], "community": r["community"],
            "lon": round(float(lon[i]), 7), "lat": round(float(lat[i]), 7),
            "snap_offset_m": None if s is None else _num(s["snap_offset_m"], 1),
            "off_network": None if s is None else bool(s["off_network"]),
            "on_island": None if s is None else bool(s["island"]),
        })
    rules_overview = {}
    for key, (zh, en) in RULES.items():
        col = result.rules[key]
        rules_overview[key] = {"zh": zh, "en": en, "pass": int(col.sum()), "fail": int((~col).sum())}
    meta = study.meta
    summary = {
        "tool": {"name": "coverage — 15-minute health circle planner", "version": __version__},
        "generated": _dt.date.today().isoformat(),
        "dataset": {
            "title": meta.get("title"), "title_en": meta.get("title_en"), "synthetic": study.synthetic,
            "notice": meta.get("notice"), "notice_zh": meta.get("notice_zh"), "sources": meta.get("sources", []),
            "files": dict(study.sources),
        },
        "population": totals["population"],
        "population_check": population_check(result),
        "population_model": {"model": result.demand.model, "note_zh": result.demand.note_zh,
                             "note_en": result.demand.note_en, "demand_points": int(len(result.demand.points)),
                             **result.demand.details},
        "coverage": {k: totals[k] for k in ("radius", "radius_euclidean", "walk")},
        "rules": rules_overview,
        "subdistricts": subs,
        "communities": comms,
        "facilities": facilities,
        "parameters": {
            **params.to_dict(),
            "crs": describe_crs(study.crs),
            "isochrone_minutes": list(result.isochrone_minutes),
            "counted_kinds": list(result.counted_kinds),
            "distance": "network walking distance in metres: off-network leg + along-edge offset + shortest path",
        },
        "network": study.network.summary(),
        "skipped": [s.to_dict() for s in result.skipped],
    }
    if result.siting is not None:
        summary.update(result.siting.summary_fields())
    return jsonable(summary)
