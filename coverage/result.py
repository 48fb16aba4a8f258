"""What a plan computed, and its description as ``summary.json``.

:class:`PlanResult` holds every layer of a plan; :meth:`PlanResult.summary`
assembles the dictionary written to ``summary.json`` (figures, verdicts,
skipped records that reconcile every total). Serialising it is
:mod:`coverage.outputs`' job.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.access import CoverageResult
from coverage.demand import Demand
from coverage.geo.crs import describe_crs
from coverage.isochrones import DEFAULT_MINUTES
from coverage.params import CoverageParams
from coverage.plain import jsonable
from coverage.rulesets import DEFAULT_RULE_SET
from coverage.scenario import scenario_counts
from coverage.skipped import Skipped
from coverage.study import StudyArea
from coverage.version import __version__

__all__ = ["DEFAULT_ROW_FIELDS", "PlanResult", "build_summary", "plan_figures", "population_check", "rule_rows"]


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
        :class:`coverage.siting.propose.SitingResult` when sites were proposed.
    capacity : CapacityResult, optional
        Capacities, loads and E2SFCA (:func:`coverage.pipeline.add_capacity`).
    isochrone_minutes : tuple
    walking : dict, optional
        The walking profile and slope model, when not the flat adult walk.
    groups : list of dict, optional
        Coverage by age group (:func:`coverage.pipeline.group_coverage`).
    rule_sets : tuple of RuleSet
        The active rule sets (:mod:`coverage.rulesets`).
    rule_checks : DataFrame, optional
        One row per (set, rule, unit) (:func:`coverage.rulesets.check_rule_sets`).
    scenario : dict, optional
        When the plan is a what-if scenario: ``{"added": [...], "removed": [...], "baseline": {...}}``
        (:func:`coverage.scenario.describe_scenario`, :func:`plan_figures` of the study without the edits).
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
    capacity: object | None = None
    walking: dict | None = None
    groups: list | None = None
    rule_sets: tuple = ()
    rule_checks: pd.DataFrame | None = None
    scenario: dict | None = None

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


def _lonlat(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    g = gdf.geometry.to_crs(4326)
    return g.x.to_numpy(), g.y.to_numpy()


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


def plan_figures(coverage: CoverageResult, rules: pd.DataFrame) -> dict:
    """Headline figures of a plan: population, the three coverage totals, subdistricts passing every rule.

    The baseline of a scenario (``summary.json`` → ``scenario.baseline``) is this of the plan without its edits.
    """
    totals = coverage.totals()
    return {"population": totals["population"],
            "coverage": {k: totals[k] for k in ("radius", "radius_euclidean", "walk")},
            "subdistricts": len(rules), "subdistricts_passing": int(rules["passes"].sum())}


def _scenario_record(result: PlanResult) -> dict:
    """``summary.json`` → ``scenario``: the edits, their one-line label, the baseline and the scenario's own figures."""
    zh, en = scenario_counts(result.scenario)
    return {"label_zh": zh, "label_en": en, **result.scenario,
            "figures": plan_figures(result.coverage, result.rules)}


def _subdistrict_rows(result: PlanResult) -> list[dict]:
    """``summary.json`` → ``subdistricts``: one dict of verdicts and shares per subdistrict."""
    subs = result.study.subdistricts
    name_en = dict(zip(subs["name"], subs.get("name_en", pd.Series(dtype=object))))
    return [{
        "name": r["name"], "name_en": name_en.get(r["name"]), "code": r["code"],
        "communities": int(r["communities"]), "centres": int(r["centres"]), "stations": int(r["stations"]),
        "stations_required": int(r["stations_required"]), "centre_rule": bool(r["centre_rule"]),
        "station_rule": bool(r["station_rule"]), "population": _num(r["population"], 3),
        "radius_share": _num(r["radius_share"]), "radius_euclidean_share": _num(r["radius_euclidean_share"]),
        "walk_share": _num(r["walk_share"]), "radius_rule": bool(r["radius_rule"]),
        "walk_rule": bool(r["walk_rule"]), "passes": bool(r["passes"]),
        # staff matched to the population served: only when capacities are known (None: not judged)
        **({"capacity_rule": None if r["capacity_rule"] is None else bool(r["capacity_rule"])}
           if "capacity_rule" in r else {}),
    } for r in result.rules.to_dict("records")]


def _community_rows(result: PlanResult) -> list[dict]:
    """``summary.json`` → ``communities``: shares and mean distance per community."""
    return [{
        "name": r["name"], "code": r["code"], "subdistrict": r["subdistrict"],
        "population": _num(r["population"], 3), "radius_share": _num(r["radius_share"]),
        "radius_euclidean_share": _num(r["radius_euclidean_share"]), "walk_share": _num(r["walk_share"]),
        "mean_distance_m": _num(r["mean_distance_m"], 1),
    } for r in result.communities.to_dict("records")]


def _facility_rows(result: PlanResult) -> list[dict]:
    """``summary.json`` → ``facilities``: kind, place, lon/lat and how each snapped onto the streets.

    In a scenario each row also says whether it is hypothetical (``"scenario": "added"``, else None).
    """
    fac = result.study.facilities
    lon, lat = _lonlat(fac)
    snapinfo = result.coverage.facilities[["snap_offset_m", "off_network", "island"]]
    rows = []
    for i, (idx, r) in enumerate(fac.iterrows()):
        s = snapinfo.loc[idx] if idx in snapinfo.index else None
        rows.append({
            "name": r["name"], "kind": r["kind"], "kind_raw": None if pd.isna(r.get("kind_raw")) else str(r["kind_raw"]),
            "counted": bool(r["counted"]), "subdistrict": r["subdistrict"], "community": r["community"],
            "lon": round(float(lon[i]), 7), "lat": round(float(lat[i]), 7),
            "snap_offset_m": None if s is None else _num(s["snap_offset_m"], 1),
            "off_network": None if s is None else bool(s["off_network"]),
            "on_island": None if s is None else bool(s["island"]),
            **({"scenario": None if pd.isna(r.get("scenario")) else str(r.get("scenario"))}
               if result.scenario is not None else {}),
        })
    return rows


def _rule_sets(result: PlanResult) -> list[dict]:
    """``summary.json`` → ``rule_sets``: each active set, its document, and its rules' names and pass counts."""
    p, rows = result.params, result.rule_checks
    out = []
    for rs in result.rule_sets:
        rules = []
        for r in rs.rules:
            zh, en = r.names(p.radius_m, p.minutes, p.target_share)
            sel = rows[(rows["set"] == rs.id) & (rows["rule"] == r.id)]
            rules.append({"id": r.id, "type": r.type, "kinds": list(r.kinds), "unit": r.unit,
                          "units": None if r.units is None else list(r.units), "params": r.params, "zh": zh,
                          "en": en, "pass": int(sel["passes"].sum()), "fail": int((~sel["passes"]).sum())})
        out.append({**rs.describe(), "rules": rules})
    return out


#: Per-subdistrict fields of :func:`coverage.rules.check_rules` that each default-set row keeps.
DEFAULT_ROW_FIELDS = ("code", "communities", "centres", "stations", "stations_required", "population",
                      "radius_share", "radius_euclidean_share", "walk_share", "centre_rule", "station_rule",
                      "radius_rule", "walk_rule")


def _legacy_value(key: str, v: object) -> object:
    if key.endswith("_rule"):
        return bool(v)
    if key in ("communities", "centres", "stations", "stations_required"):
        return int(v)
    if key.endswith("_share"):
        return _num(v)
    return _num(v, 3) if key == "population" else v


def _legacy_fields(result: PlanResult) -> dict[str, dict]:
    """Subdistrict → the default set's per-subdistrict fields (counts, shares, verdicts), JSON-ready."""
    return {r["name"]: {**{k: _legacy_value(k, r[k]) for k in DEFAULT_ROW_FIELDS}, "all_rules_pass": bool(r["passes"])}
            for r in result.rules.to_dict("records")}


def rule_rows(result: PlanResult) -> list[dict]:
    """``summary.json`` → ``rules``: ``{set, rule, unit, value, required, passes}`` per rule and unit.

    Each row also names its rule (``name_zh``, ``name_en``, from the thresholds), its type, unit
    type and subdistrict, and the document of its set (``source``). Rows of the default set
    (:data:`coverage.rulesets.DEFAULT_RULE_SET`) keep the per-subdistrict fields of
    :func:`coverage.rules.check_rules` (:data:`DEFAULT_ROW_FIELDS`, ``all_rules_pass``).
    """
    p = result.params
    names = {(rs.id, r.id): r.names(p.radius_m, p.minutes, p.target_share) for rs in result.rule_sets
             for r in rs.rules}
    source = {rs.id: rs.document for rs in result.rule_sets}
    legacy = _legacy_fields(result)
    rows = []
    for r in result.rule_checks.to_dict("records"):
        zh, en = names.get((r["set"], r["rule"]), (r["rule"], r["rule"]))
        row = {"set": r["set"], "rule": r["rule"], "unit": r["unit"], "value": _num(r["value"]),
               "required": _num(r["required"]), "passes": bool(r["passes"]), "type": r["type"],
               "unit_type": r["unit_type"], "subdistrict": r["subdistrict"], "name_zh": zh, "name_en": en,
               "source": source.get(r["set"], "")}
        if r["set"] == DEFAULT_RULE_SET and r["unit_type"] == "subdistrict":
            row.update(legacy.get(r["unit"], {}))
        rows.append(row)
    return rows


def build_summary(result: PlanResult) -> dict:
    """Assemble ``summary.json`` from a :class:`PlanResult`."""
    study, params = result.study, result.params
    totals = result.coverage.totals()
    meta = study.meta
    summary = {
        "tool": {"name": "coverage — 15-minute health circle planner", "version": __version__},
        "generated": _dt.date.today().isoformat(),
        "dataset": {
            "title": meta.get("title"), "title_en": meta.get("title_en"), "synthetic": study.synthetic,
            "notice": meta.get("notice"), "notice_zh": meta.get("notice_zh"), "sources": meta.get("sources", []),
            # file names only: a download must not reveal the server's folders
            "files": study.source_names(),
        },
        "population": totals["population"],
        "population_check": population_check(result),
        "population_model": {"model": result.demand.model, "note_zh": result.demand.note_zh,
                             "note_en": result.demand.note_en, "demand_points": len(result.demand.points),
                             **result.demand.details},
        "coverage": {k: totals[k] for k in ("radius", "radius_euclidean", "walk")},
        "rules": rule_rows(result) if result.rule_checks is not None else [],
        "subdistricts": _subdistrict_rows(result),
        "communities": _community_rows(result),
        "facilities": _facility_rows(result),
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
    if result.scenario is not None:
        summary["scenario"] = _scenario_record(result)
    if result.rule_checks is not None:
        summary["rule_sets"] = _rule_sets(result)
    if result.walking is not None:
        summary["walking_profile"] = result.walking
    if result.groups is not None:
        summary["groups"] = result.groups
    if result.siting is not None:
        summary.update(result.siting.summary_fields())
    if result.capacity is not None:
        summary["capacity"] = jsonable(result.capacity.summary())
    return jsonable(summary)
