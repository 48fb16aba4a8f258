"""``compliance.csv``: the per-subdistrict rule table, with bilingual headers that name the plan's thresholds."""

from __future__ import annotations

import pandas as pd

from coverage.params import CoverageParams, radius_label
from coverage.result import PlanResult
from coverage.rulesets import DEFAULT_RULE_SET, subdistrict_verdicts
from coverage.scenario import scenario_counts

__all__ = ["COMPLIANCE_COLUMNS", "SCENARIO_COLUMNS", "compliance_columns", "compliance_table", "scenario_table"]

#: compliance.csv columns: (key, 中文, English), headers for the default thresholds; a plan's own are
#: :func:`compliance_columns` of its parameters.
COMPLIANCE_COLUMNS = [
    ("name", "街道/乡镇", "subdistrict"),
    ("code", "区划代码", "code"),
    ("communities", "社区数", "communities"),
    ("centres", "社区卫生服务中心", "centres"),
    ("stations", "社区卫生服务站", "stations"),
    ("stations_required", "应设服务站", "stations required"),
    ("centre_rule", "中心达标", "centre rule"),
    ("station_rule", "服务站达标", "station rule"),
    ("population", "人口", "population"),
    ("radius_share", "500米覆盖率", "radius share"),
    ("radius_euclidean_share", "500米直线覆盖率", "radius share (crow flies)"),
    ("walk_share", "15分钟步行覆盖率", "walk share"),
    ("radius_rule", "500米覆盖达标", "radius rule"),
    ("walk_rule", "15分钟覆盖达标", "walk rule"),
    ("passes", "全部达标", "all rules pass"),
]


def compliance_columns(params: CoverageParams) -> list[tuple[str, str, str]]:
    """compliance.csv columns with headers that name the plan's own radius and walking time.

    >>> [zh for key, zh, en in compliance_columns(CoverageParams(radius_m=300, minutes=5)) if "share" in key]
    ['300米覆盖率', '300米直线覆盖率', '5分钟步行覆盖率']
    """
    # the Chinese headers name the thresholds; the English ones stay threshold-neutral, so that the
    # default headers (a contract for scripts) are unchanged
    r_zh, _ = radius_label(params.radius_m)
    m = f"{params.minutes:g}分钟"
    named = {
        "radius_share": (f"{r_zh}覆盖率", "radius share"),
        "radius_euclidean_share": (f"{r_zh}直线覆盖率", "radius share (crow flies)"),
        "walk_share": (f"{m}步行覆盖率", "walk share"),
        "radius_rule": (f"{r_zh}覆盖达标", "radius rule"),
        "walk_rule": (f"{m}覆盖达标", "walk rule"),
    }
    return [(key, *named.get(key, (zh, en))) for key, zh, en in COMPLIANCE_COLUMNS]


def compliance_table(result: PlanResult, bilingual_headers: bool = True) -> pd.DataFrame:
    """The per-subdistrict rule table, with ``中文 / English`` headers.

    Parameters
    ----------
    result : PlanResult
    bilingual_headers : bool
        Headers like ``社区数 / communities``; else the JSON keys.

    Returns
    -------
    DataFrame
    """
    cols = compliance_columns(result.params)
    if "capacity_rule" in result.rules.columns:  # only when some capacity is known
        cols = cols + [("capacity_rule", "服务能力达标", "capacity rule")]
    r = result.rules[[k for k, _, _ in cols]].copy()
    for col in ("radius_share", "radius_euclidean_share", "walk_share"):
        r[col] = r[col].astype(float).round(4)
    r["population"] = r["population"].round(1)
    cols = cols + _rule_set_columns(result, r)
    if result.scenario is not None:  # a scenario's table says so in every row, wherever it is pasted
        zh, en = scenario_counts(result.scenario)
        r.insert(0, "plan", f"情景：{zh} / Scenario: {en}")
        cols = [("plan", "方案", "plan")] + cols
    if bilingual_headers:
        r.columns = [f"{zh} / {en}" for _, zh, en in cols]
    return r


def _rule_set_columns(result: PlanResult, r: pd.DataFrame) -> list[tuple[str, str, str]]:
    """One column per rule of each active set beyond the default (whose rules have columns above), added to ``r``."""
    if result.rule_checks is None:
        return []
    p = result.params
    verdicts = subdistrict_verdicts(result.rule_checks.to_dict("records"), skip_set=DEFAULT_RULE_SET)
    cols = []
    for rs in result.rule_sets:
        for rule in rs.rules:
            if (rs.id, rule.id) not in verdicts:
                continue
            zh, en = rule.names(p.radius_m, p.minutes, p.target_share)
            key = f"{rs.id}:{rule.id}"
            r[key] = [verdicts[(rs.id, rule.id)].get(n) for n in r["name"]]
            cols.append((key, f"{zh}（{rs.id}）", f"{en} ({rs.id})"))
    return cols


#: scenario.csv columns: (key, 中文, English).
SCENARIO_COLUMNS = [
    ("change", "变更", "change"),
    ("name", "名称", "name"),
    ("kind", "类型", "kind"),
    ("subdistrict", "街道/乡镇", "subdistrict"),
    ("community", "社区", "community"),
    ("lon", "经度", "lon"),
    ("lat", "纬度", "lat"),
    ("x", "X（米）", "x (m)"),
    ("y", "Y（米）", "y (m)"),
]


def scenario_table(result: PlanResult, bilingual_headers: bool = True) -> pd.DataFrame:
    """``scenario.csv``: the facilities a scenario added (hypothetical) and removed, one row each.

    Parameters
    ----------
    result : PlanResult
        A plan run with a scenario (``result.scenario``); an empty table otherwise.
    bilingual_headers : bool
        Headers like ``变更 / change``; else the JSON keys.
    """
    sc = result.scenario or {"added": [], "removed": []}
    rows = sc["added"] + sc["removed"]
    r = pd.DataFrame(rows, columns=[k for k, _, _ in SCENARIO_COLUMNS])
    r["change"] = r["change"].map({"added": "新增（假设）/ added (hypothetical)", "removed": "移除 / removed"})
    if bilingual_headers:
        r.columns = [f"{zh} / {en}" for _, zh, en in SCENARIO_COLUMNS]
    return r
