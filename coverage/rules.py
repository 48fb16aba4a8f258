"""The rules of the 一刻钟健康医疗圈, checked per subdistrict.

- 每个街道1所社区卫生服务中心: at least one centre in each subdistrict;
- 每2个社区1个社区卫生服务站: at least ceil(communities / 2) stations;
- residents within the radius and within the walk time: the target share
  (100 % by default) in each subdistrict.

A facility belongs to the subdistrict whose polygon contains it. The rules themselves are the
default rule set (:data:`coverage.rulesets.DEFAULT_RULE_SET`, a TOML preset); this module gives
its verdicts the per-subdistrict columns every table and test reads.
"""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd

from coverage.params import DEFAULT_MINUTES, DEFAULT_RADIUS_M, DEFAULT_TARGET_SHARE
from coverage.rulesets import DEFAULT_RULE_SET, RuleData, RuleSet, check_rule_sets, load_rule_set

__all__ = ["RULE_KEYS", "check_rules", "rule_names", "stations_required"]

#: The rules, in the order every table lists them.
RULE_KEYS = ("centre_rule", "station_rule", "radius_rule", "walk_rule")


def _default_set():
    return load_rule_set(DEFAULT_RULE_SET)


def rule_names(radius_m: float = DEFAULT_RADIUS_M, minutes: float = DEFAULT_MINUTES) -> dict[str, tuple[str, str]]:
    """Rule key → (中文, English) wording, formatted from the thresholds actually checked.

    >>> rule_names(300, 5)["walk_rule"]
    ('居民5分钟步行可达', 'residents within a 5-minute walk')
    """
    return {r.id: r.names(radius_m, minutes, DEFAULT_TARGET_SHARE) for r in _default_set().rules}


def stations_required(communities: int) -> int:
    """Stations a subdistrict needs: one per two communities (the default set's ``per``), rounded up."""
    per = next(r.params["per"] for r in _default_set().rules if r.id == "station_rule")
    return math.ceil(communities / per)


def check_rules(subdistricts: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
                by_subdistrict: pd.DataFrame, target_share: float = 1.0, rule_set: RuleSet | None = None
                ) -> pd.DataFrame:
    """Rule verdicts per subdistrict.

    Parameters
    ----------
    subdistricts : GeoDataFrame
        ``name``, ``code``.
    communities : GeoDataFrame
        ``name``, ``subdistrict``.
    facilities : GeoDataFrame
        ``kind`` (``centre``/``station``), ``subdistrict`` (containing polygon).
    by_subdistrict : DataFrame
        Coverage shares per subdistrict (from :func:`coverage.access.shares_by`).
    target_share : float
        Share of residents that must be covered (1.0 = everyone).
    rule_set : RuleSet, optional
        The default set with its thresholds edited (the app's inputs); default the preset's file.

    Returns
    -------
    DataFrame
        One row per subdistrict, in the layer's order: ``name``, ``code``, ``communities``,
        ``centres``, ``stations``, ``stations_required``, ``centre_rule``, ``station_rule``,
        ``population``, ``radius_share``, ``radius_euclidean_share``, ``walk_share``,
        ``radius_rule``, ``walk_rule``, ``passes`` (all rules).
    """
    # the distances are the plan's own (``distance = "radius" | "walk"``), read from by_subdistrict
    data = RuleData(subdistricts, communities, facilities, DEFAULT_RADIUS_M, DEFAULT_MINUTES, target_share,
                    by_subdistrict=by_subdistrict)
    checks = check_rule_sets((rule_set or _default_set(),), data)
    by = {k: g.set_index("unit") for k, g in checks.groupby("rule")}
    n_comm = communities.groupby("subdistrict").size()
    rows = []
    for name, code in zip(subdistricts["name"], subdistricts["code"]):
        cov = by_subdistrict.loc[name] if name in by_subdistrict.index else None

        def share(col: str, cov: pd.Series | None = cov) -> float | None:
            if cov is None or pd.isna(cov[col]):
                return None
            return float(cov[col])

        row = {
            "name": name, "code": code, "communities": int(n_comm.get(name, 0)),
            "centres": int(by["centre_rule"].loc[name, "value"]), "stations": int(by["station_rule"].loc[name, "value"]),
            "stations_required": int(by["station_rule"].loc[name, "required"]),
            "centre_rule": bool(by["centre_rule"].loc[name, "passes"]),
            "station_rule": bool(by["station_rule"].loc[name, "passes"]),
            "population": float(cov["population"]) if cov is not None else 0.0, "radius_share": share("radius_share"),
            "radius_euclidean_share": share("radius_euclidean_share"), "walk_share": share("walk_share"),
            "radius_rule": bool(by["radius_rule"].loc[name, "passes"]),
            "walk_rule": bool(by["walk_rule"].loc[name, "passes"]),
        }
        row["passes"] = all(row[k] for k in RULE_KEYS)
        rows.append(row)
    return pd.DataFrame(rows)
