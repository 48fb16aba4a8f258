"""Evaluate rule sets per unit: one row ``{set, rule, unit, value, required, passes}`` per rule and unit."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coverage.capacity import CAPACITY_COLUMNS
from coverage.errors import RuleSetError, ValueInputError
from coverage.groups import AgeData, older_residents
from coverage.read.agetable import AGE_COUNT_COLUMNS, AGE_SHARE_COLUMNS
from coverage.read.cells import population_numbers
from coverage.rulesets.schema import Rule, RuleSet
from coverage.skipped import Skipped

__all__ = ["COUNT_TYPES", "ROW_COLUMNS", "RuleData", "centre_need", "check_capacity_columns", "check_group_data", "check_rule_sets",
           "count_need", "rule_kinds", "station_need", "unenforced_counts"]

ROW_COLUMNS = ["set", "rule", "type", "kinds", "unit_type", "unit", "subdistrict", "value", "required", "passes"]
#: Kinds beyond :func:`coverage.read.cells.classify_kind`'s, recognised from the raw kind or the name.
EXTRA_KIND_PATTERNS = [("emergency_station", r"急救|emergency"), ("childcare", r"托育|托儿|幼儿照护|childcare|nursery"),
                       ("park", r"公园|绿地|\bpark\b")]
PLACES_COLUMNS = ("places", "托位", "托位数") + CAPACITY_COLUMNS


def rule_kinds(fac: pd.DataFrame) -> np.ndarray:
    """Each facility's kind for the rules: its normalised kind, or an extra kind matched in kind_raw / name."""
    out = fac["kind"].astype(object).to_numpy(copy=True) if "kind" in fac.columns else np.full(len(fac), None)
    # str() of each cell: blanks may be None, NaN or pd.NA depending on the reader
    texts = [[str(v).lower() for v in fac[c].tolist()] for c in ("kind_raw", "kind", "name") if c in fac.columns]
    for i in range(len(fac)):
        if out[i] in ("centre", "station"):
            continue
        for label, pattern in EXTRA_KIND_PATTERNS:
            if any(re.search(pattern, t[i]) for t in texts):
                out[i] = label
                break
    return out


@dataclass
class RuleData:
    """What the rules look at.

    ``demand`` holds demand points (``population``, ``subdistrict``, ``community``,
    ``covered_radius``, ``covered_walk``) of the plan's counted facilities; ``measure(kinds,
    what, x, profile)`` returns demand points covered by other kinds, distances or walking
    profiles (``profile`` None: the plan's); ``by_subdistrict`` (shares per subdistrict) serves
    when no demand points are given; ``age`` (:class:`coverage.groups.AgeData`) weighs rules
    naming ``group = "65plus"``.
    """

    subdistricts: pd.DataFrame
    communities: pd.DataFrame
    facilities: pd.DataFrame
    radius_m: float
    minutes: float
    target_share: float
    demand: pd.DataFrame | None = None
    by_subdistrict: pd.DataFrame | None = None
    measure: Callable[[tuple, str, float, str | None], pd.DataFrame] | None = None
    age: AgeData | None = None


def _key(sub: object, name: object) -> str:
    return f"{sub}\x1f{name}"


def _units(data: RuleData, rule: Rule) -> pd.DataFrame:
    if rule.unit == "subdistrict":
        u = pd.DataFrame({"unit": data.subdistricts["name"].to_numpy(), "subdistrict": data.subdistricts["name"]
                          .to_numpy()})
        u["key"] = u["unit"]
        n = data.communities.groupby("subdistrict").size()
        u["communities"] = [int(n.get(s, 0)) for s in u["unit"]]
    else:
        u = pd.DataFrame({"unit": data.communities["name"].to_numpy(),
                          "subdistrict": data.communities["subdistrict"].to_numpy()})
        u["key"] = [_key(s, c) for s, c in zip(u["subdistrict"], u["unit"])]
        u["communities"] = 1
    if rule.units is not None:  # a pilot list: only the named units
        u = u[u["unit"].isin(rule.units)]
    return u.reset_index(drop=True)


def _fac_keys(data: RuleData, unit: str) -> np.ndarray:
    f = data.facilities
    sub = f["subdistrict"].to_numpy(dtype=object) if "subdistrict" in f.columns else np.full(len(f), None)
    if unit == "subdistrict":
        return sub
    com = f["community"].to_numpy(dtype=object) if "community" in f.columns else np.full(len(f), None)
    return np.array([_key(s, c) for s, c in zip(sub, com)], dtype=object)


def _demand_keys(d: pd.DataFrame, unit: str) -> np.ndarray:
    if unit == "subdistrict":
        return d["subdistrict"].to_numpy(dtype=object)
    return np.array([_key(s, c) for s, c in zip(d["subdistrict"], d["community"])], dtype=object)


def _population(data: RuleData, u: pd.DataFrame, unit: str) -> np.ndarray:
    if data.demand is not None:
        pop = pd.Series(data.demand["population"].to_numpy(float)).groupby(_demand_keys(data.demand, unit)).sum()
        return np.array([float(pop.get(k, 0.0)) for k in u["key"]])
    b = data.by_subdistrict
    return np.array([float(b.loc[k, "population"]) if b is not None and k in b.index else 0.0 for k in u["key"]])


def _weights(data: RuleData, rule: Rule, d: pd.DataFrame) -> np.ndarray:
    """Residents of each demand point the rule counts: all, or its group's (65+: unknown age counts 0)."""
    if "group" not in rule.params:
        return d["population"].to_numpy(float)
    if data.age is None:
        raise _no_age(rule)
    older = older_residents(d, data.age)
    return np.where(np.isfinite(older), older, 0.0)


def _no_age(rule: Rule) -> RuleSetError:
    return RuleSetError(f"weighs the group {rule.params['group']!r} and the communities have no age data; add a "
                        f"{AGE_COUNT_COLUMNS[0]} (65+ head count) or {AGE_SHARE_COLUMNS[0]} column, or drop this "
                        "rule", rule.path, rule.id, "group")


def _shares(data: RuleData, rule: Rule, u: pd.DataFrame) -> np.ndarray:
    what, x = rule.distance(data.radius_m, data.minutes)
    plan_x = data.radius_m if what == "radius" else data.minutes
    profile = rule.params.get("profile")
    d = data.demand
    if profile is not None or not (rule.kinds == ("counted",) and x == plan_x):
        if data.measure is None:
            raise RuleSetError("needs a re-measure of coverage; check it through coverage.pipeline.run_plan",
                               rule.path, rule.id, "type")
        d = data.measure(rule.kinds, what, x, profile)
    if d is None:  # per-subdistrict shares only
        if "group" in rule.params:
            raise _no_age(rule)
        b = data.by_subdistrict
        col = f"{what}_share"
        return np.array([float(b.loc[k, col]) if k in b.index and pd.notna(b.loc[k, col]) else np.nan
                         for k in u["key"]])
    keys = _demand_keys(d, rule.unit)
    pop = _weights(data, rule, d)
    covered = pd.Series(pop * d[f"covered_{what}"].to_numpy(float)).groupby(keys).sum()
    total = pd.Series(pop).groupby(keys).sum()
    return np.array([covered.get(k, 0.0) / total[k] if total.get(k, 0.0) > 0 else np.nan for k in u["key"]])


def _places(data: RuleData, rule: Rule, mask: np.ndarray) -> np.ndarray:
    f = data.facilities
    cols = (rule.params["column"],) if "column" in rule.params else PLACES_COLUMNS
    col = next((c for c in cols if c in f.columns), None)
    if col is None or not f.loc[mask, col].notna().any():
        raise RuleSetError(f"needs a capacity (places) column on the {', '.join(rule.kinds)} facilities, and the "
                           f"data has none; add a column {cols[0]!r} or drop this rule", rule.path, rule.id, "type")
    v, bad = population_numbers(f[col])
    bad = bad | (np.isfinite(v) & (v < 0))
    if (bad & mask).any():
        i = int(np.flatnonzero(bad & mask)[0])
        raise ValueInputError(f"{col} = {f[col].iloc[i]!r} is not a number >= 0; write the places or leave it "
                              "empty", path="facilities", row=i + 1)
    return np.where(np.isfinite(v), v, 0.0)


def _required(rule: Rule, u: pd.DataFrame, pop: np.ndarray) -> np.ndarray:
    p = rule.params
    if rule.type == "count_per_unit":
        return np.full(len(u), float(p.get("min", 1)))
    if rule.type == "count_per_subunits":
        return np.array([math.ceil(c / p["per"]) for c in u["communities"]], dtype=float)
    if rule.type == "count_per_population":
        v = p["per_population"]
        high = v[-1] if isinstance(v, list) else v  # a range: one per at most `high` residents
        return np.array([math.ceil(x / high - 1e-9) for x in pop], dtype=float)
    if rule.type == "capacity_per_1000":
        return np.full(len(u), float(p["per_1000"]))
    return np.full(len(u), 1.0)  # every_unit_served: at least one facility in the unit


def _check_rule(data: RuleData, rs: RuleSet, rule: Rule, kinds: np.ndarray) -> pd.DataFrame:
    u = _units(data, rule)
    fk = _fac_keys(data, rule.unit)
    mask = np.isin(kinds, rule.kinds)
    if "counted" in rule.kinds and "counted" in data.facilities.columns:
        mask |= data.facilities["counted"].to_numpy(bool)
    pop = _population(data, u, rule.unit)
    req = _required(rule, u, pop)
    if rule.type == "share_within_distance":
        value = _shares(data, rule, u)
        req = np.full(len(u), float(rule.params.get("share", data.target_share)))
        # a unit without residents has nothing to cover: the rule holds trivially
        ok = np.isnan(value) | (value >= req - 1e-9)
    elif rule.type == "capacity_per_1000":
        places = pd.Series(_places(data, rule, mask)[mask]).groupby(fk[mask]).sum()
        value = np.array([1000 * places.get(k, 0.0) / p if p > 0 else np.nan for k, p in zip(u["key"], pop)])
        ok = np.isnan(value) | (value >= req - 1e-9)
    else:
        n = pd.Series(1, index=range(int(mask.sum()))).groupby(fk[mask]).sum() if mask.any() else pd.Series()
        value = np.array([float(n.get(k, 0)) for k in u["key"]])
        ok = value >= req
    return pd.DataFrame({"set": rs.id, "rule": rule.id, "type": rule.type, "kinds": ",".join(rule.kinds), "unit_type": rule.unit,
                         "unit": u["unit"], "subdistrict": u["subdistrict"], "value": value, "required": req,
                         "passes": ok.astype(bool)})


def check_capacity_columns(sets: tuple[RuleSet, ...], facilities: pd.DataFrame) -> None:
    """Refuse, before the slow work, a capacity rule on data without a capacity column."""
    kinds = rule_kinds(facilities)
    for rs in sets:
        for rule in rs.rules:
            if rule.type == "capacity_per_1000":
                _places(RuleData(pd.DataFrame(), pd.DataFrame(), facilities, 0, 0, 0), rule,
                        np.isin(kinds, rule.kinds))


def check_group_data(sets: tuple[RuleSet, ...], age: AgeData | None) -> None:
    """Refuse, before the slow work, a rule weighing an age group on data without age columns."""
    for rs in sets:
        for rule in rs.rules:
            if "group" in rule.params and age is None:
                raise _no_age(rule)


def check_rule_sets(sets: tuple[RuleSet, ...], data: RuleData) -> pd.DataFrame:
    """One row per (set, rule, unit): :data:`ROW_COLUMNS`."""
    kinds = rule_kinds(data.facilities)
    frames = [_check_rule(data, rs, rule, kinds) for rs in sets for rule in rs.rules]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ROW_COLUMNS)


#: Rule types whose ``required - value`` is a number of facilities the siting can add.
COUNT_TYPES = ("count_per_unit", "count_per_subunits", "count_per_population", "every_unit_served")


def count_need(rows: pd.DataFrame | None, subdistrict: str, kind: str, fallback: int) -> int:
    """New facilities of ``kind`` a subdistrict needs under every count rule of the active sets (siting ``--rules``).

    The largest shortfall ``required - value`` of the subdistrict-unit count rules counting
    exactly ``kind`` (``count_per_unit``, ``count_per_subunits``, ``count_per_population``,
    ``every_unit_served``), and at least ``fallback``.
    """
    if rows is None or not len(rows):
        return max(fallback, 0)
    sel = rows[(rows["unit_type"] == "subdistrict") & (rows["subdistrict"] == subdistrict)
               & rows["type"].isin(COUNT_TYPES) & (rows["kinds"] == kind)]
    need = [math.ceil(r - v - 1e-9) for r, v in zip(sel["required"], sel["value"])]
    return max([fallback, 0] + need)


def station_need(rows: pd.DataFrame | None, subdistrict: str, fallback: int) -> int:
    """New stations a subdistrict needs under every station count rule of the active sets (:func:`count_need`)."""
    return count_need(rows, subdistrict, "station", fallback)


def centre_need(rows: pd.DataFrame | None, subdistrict: str, fallback: int) -> int:
    """New centres a subdistrict needs under every centre count rule of the active sets (:func:`count_need`)."""
    return count_need(rows, subdistrict, "centre", fallback)


def unenforced_counts(rows: pd.DataFrame | None) -> list[str]:
    """Failing community-unit count rules of stations or centres: the siting places by subdistrict, not community."""
    if rows is None or not len(rows):
        return []
    sel = rows[(rows["unit_type"] == "community") & rows["type"].isin(COUNT_TYPES)
               & rows["kinds"].isin(["station", "centre"]) & ~rows["passes"].astype(bool)]
    return sorted({f"{s}:{r}" for s, r in zip(sel["set"], sel["rule"])})


def subdistrict_verdicts(rows: list[dict], skip_set: str | None = None) -> dict[tuple[str, str], dict]:
    """(set, rule) → subdistrict → verdict, for one column per rule in compliance.csv and the report.

    A community rule's verdict in a subdistrict is whether all its applicable communities pass;
    a subdistrict with none of them is absent (blank cell). ``skip_set`` (the default set) is left
    out: its rules already have their own columns.
    """
    out: dict[tuple[str, str], dict] = {}
    for r in rows:
        if r["set"] == skip_set:
            continue
        col = out.setdefault((r["set"], r["rule"]), {})
        col[r["subdistrict"]] = bool(col.get(r["subdistrict"], True) and r["passes"])
    return out


def absent_kinds(sets: tuple[RuleSet, ...], facilities: pd.DataFrame) -> list[Skipped]:
    """A ``listed`` record of rules whose facility kinds are nowhere in the data (they fail everywhere)."""
    present = set(rule_kinds(facilities)) | {"counted"}
    items = [f"{rs.id}:{r.id} ({', '.join(r.kinds)})" for rs in sets for r in rs.rules if not present & set(r.kinds)]
    if not items:
        return []
    return [Skipped("facilities", "rule_kind_absent", len(items), action="listed", items=items,
                    message="rules counting facility kinds that are not in the facilities layer: they fail in every "
                            "unit; add those facilities (e.g. kind 急救工作站, 托育机构, 公园) or drop the rule set")]
