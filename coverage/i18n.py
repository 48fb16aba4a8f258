"""Interface strings in Chinese and English.

``t(key, lang)`` returns the string in ``lang`` (``zh`` or ``en``), formatted with
the keyword arguments; ``both(key)`` gives ``中文 / English`` for headers that
must read in both languages at once (report tables, CSV headers).
"""

from __future__ import annotations

__all__ = ["LANGS", "STRINGS", "both", "lookup", "t"]

LANGS = ("zh", "en")

STRINGS: dict[str, tuple[str, str]] = {
    "app_title": ("一刻钟健康医疗圈规划", "15-minute health circle planner"),
    "report_title": ("一刻钟健康医疗圈 覆盖与达标报告", "15-minute health circle: coverage and compliance report"),
    "synthetic": ("合成演示数据：街道、边界、建筑与设施位置为程序生成，仅供演示。",
                  "Synthetic demo data: streets, boundaries, buildings and facility locations are generated, for "
                  "demonstration only."),
    "legend": ("图例", "Legend"),
    "layer_streets": ("步行路网", "Walkable streets"),
    "layer_subdistricts": ("街道/乡镇（达标情况）", "Subdistricts (rule verdict)"),
    "layer_communities": ("社区（覆盖率）", "Communities (coverage)"),
    "layer_isochrone": ("{m:g}分钟步行等时圈", "{m:g}-minute walk isochrone"),
    "simplified_m": ("（轮廓简化 {m:g} 米）", " (outline simplified to {m:g} m)"),
    "layer_facilities": ("医疗卫生设施", "Health facilities"),
    "layer_uncovered": ("未覆盖人口", "Uncovered population"),
    "layer_proposals": ("建议新增服务站", "Proposed stations"),
    "layer_proposal_isochrones": ("建议站点等时圈", "Isochrones of proposed stations"),
    "community": ("社区", "Community"),
    "subdistrict": ("街道/乡镇", "Subdistrict"),
    "population": ("人口", "Population"),
    "radius_share": ("{r:g}米网络覆盖率", "Within {r:g} m (network)"),
    "radius_euclidean_share": ("{r:g}米直线覆盖率", "Within {r:g} m (crow flies)"),
    "walk_share": ("{m:g}分钟步行覆盖率", "Within {m:g} min walk"),
    "mean_distance_m": ("平均步行距离(米)", "Mean walk (m)"),
    "pass": ("达标", "pass"),
    "fail": ("未达标", "fail"),
    "all_rules": ("全部规则", "All rules"),
    "centres": ("社区卫生服务中心", "Centres"),
    "stations": ("社区卫生服务站", "Stations"),
    "stations_vs_required": ("服务站 现有/应有", "Stations have/need"),
    "stations_required": ("应设服务站", "Stations required"),
    "communities": ("社区数", "Communities"),
    "centre_rule": ("每街道1所中心", "One centre per subdistrict"),
    "station_rule": ("每2社区1站", "One station per two communities"),
    "radius_rule": ("{r:g}米全覆盖", "{r:g} m target"),
    "walk_rule": ("{m:g}分钟全覆盖", "{m:g}-minute walk target"),
    "uncovered": ("未覆盖人口", "Uncovered population"),
    "kind_centre": ("社区卫生服务中心", "Community health service centre"),
    "kind_station": ("社区卫生服务站", "Community health service station"),
    "kind_hospital": ("医院（不计入）", "Hospital (not counted)"),
    "kind_clinic": ("诊所（不计入）", "Clinic (not counted)"),
    "kind_village_clinic": ("村卫生室（不计入）", "Village clinic (not counted)"),
    "kind_other": ("其他机构（不计入）", "Other (not counted)"),
    "not_counted": ("不计入覆盖", "not counted for coverage"),
    "scenario_station": ("假设新增服务站", "Hypothetical station"),
    "overall": ("总体覆盖", "Overall coverage"),
    "parameters": ("参数", "Parameters"),
    "rules_table": ("各街道/乡镇达标情况", "Rules by subdistrict"),
    "communities_table": ("各社区覆盖率（最差在前）", "Coverage by community (worst first)"),
    "proposals_table": ("建议新增站点", "Proposed new sites"),
    "before_after": ("新增前后对比", "Before and after"),
    "skipped_table": ("修复或排除的数据", "Data repaired or left out"),
    "method": ("方法说明", "Method"),
    "before": ("现状", "Before"),
    "scenario_title": ("情景方案", "Scenario"),
    "scenario_banner": ("情景方案：新增 {n} 处、移除 {m} 处（假设，非现状）",
                        "Scenario: {n} added, {m} removed (hypothetical, not the current state)"),
    "scenario_figures": ("现状、情景与建议对比", "Baseline, scenario and proposals"),
    "baseline": ("现状", "Baseline"),
    "scenario_col": ("情景", "Scenario"),
    "after_proposals": ("加建议站点后", "After proposals"),
    "scenario_facilities": ("情景中新增与移除的设施", "Facilities added and removed in the scenario"),
    "change": ("变更", "Change"),
    "change_added": ("新增（假设）", "Added (hypothetical)"),
    "change_removed": ("移除", "Removed"),
    "layer_scenario": ("情景：新增/移除的设施", "Scenario: added / removed facilities"),
    "subdistricts_passing": ("全部达标的街道", "Subdistricts passing every rule"),
    "covered_population": ("覆盖人口", "population covered"),
    "after": ("新增后", "After"),
    "rank": ("序号", "Rank"),
    "adds_population": ("新增覆盖人口", "Population newly covered"),
    "serves": ("服务规则", "Serves"),
    "nearest_street": ("最近道路", "Nearest street"),
    "layer": ("图层", "Layer"),
    "reason": ("原因", "Reason"),
    "count": ("数量", "Count"),
    "action": ("处理", "Action"),
    "crs": ("坐标系", "CRS"),
    "data_set": ("数据集", "Data set"),
    "date": ("日期", "Date"),
    "sources": ("数据来源", "Sources"),
    "population_model": ("人口模型", "Population model"),
    "population_source": ("人口来源", "source"),
}


def t(key: str, lang: str = "zh", default: str | None = None, **fmt: object) -> str:
    """Translate a key.

    Parameters
    ----------
    key : str
        A key of :data:`STRINGS`.
    lang : {"zh", "en"}
    default : str, optional
        Returned (formatted) when the key is unknown; else the key itself.
    **fmt
        Format arguments (``r`` radius, ``m`` minutes).

    Returns
    -------
    str
    """
    return lookup(STRINGS, key, lang, default, **fmt)


def lookup(table: dict[str, tuple[str, str]], key: str, lang: str = "zh", default: str | None = None,
           **fmt: object) -> str:
    """Translate ``key`` from a ``{key: (中文, English)}`` table (what :func:`t` does with :data:`STRINGS`).

    Unknown keys give ``default`` (or the key itself); a template whose
    placeholders the arguments do not fill is returned unformatted.
    """
    pair = table.get(key)
    if pair is None:
        text = default if default is not None else key
    else:
        text = pair[0] if lang == "zh" else pair[1]
    try:
        return text.format(**fmt) if fmt else text
    except (KeyError, ValueError, IndexError):
        return text


def both(key: str, **fmt: object) -> str:
    """``中文 / English`` for a key."""
    return f"{t(key, 'zh', **fmt)} / {t(key, 'en', **fmt)}"
