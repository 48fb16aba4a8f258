"""The rules of the 一刻钟健康医疗圈, checked per subdistrict.

- 每个街道1所社区卫生服务中心: at least one centre in each subdistrict;
- 每2个社区1个社区卫生服务站: at least ceil(communities / 2) stations;
- residents within the radius and within the walk time: the target share
  (100 % by default) in each subdistrict.

A facility belongs to the subdistrict whose polygon contains it.
"""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd

from coverage.params import DEFAULT_MINUTES, DEFAULT_RADIUS_M, radius_label, walk_label

__all__ = ["RULE_KEYS", "rule_names", "check_rules", "stations_required"]

#: The rules, in the order every table lists them.
RULE_KEYS = ("centre_rule", "station_rule", "radius_rule", "walk_rule")


def rule_names(radius_m: float = DEFAULT_RADIUS_M, minutes: float = DEFAULT_MINUTES) -> dict[str, tuple[str, str]]:
    """Rule key → (中文, English) wording, formatted from the thresholds actually checked.

    >>> rule_names(300, 5)["walk_rule"]
    ('居民5分钟步行可达', 'residents within a 5-minute walk')
    """
    r_zh, r_en = radius_label(radius_m)
    w_zh, w_en = walk_label(minutes)
    return {
        "centre_rule": ("每个街道1所社区卫生服务中心", "one community health service centre per subdistrict"),
        "station_rule": ("每2个社区至少1个社区卫生服务站", "at least one station per two communities"),
        "radius_rule": (f"居民{r_zh}内覆盖", f"residents covered within {r_en}"),
        "walk_rule": (f"居民{w_zh}可达", f"residents within a {w_en}"),
    }


def stations_required(communities: int) -> int:
    """Stations a subdistrict needs: one per two communities, rounded up."""
    return int(math.ceil(communities / 2))


def check_rules(subdistricts: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
                by_subdistrict: pd.DataFrame, target_share: float = 1.0) -> pd.DataFrame:
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

    Returns
    -------
    DataFrame
        One row per subdistrict, in the layer's order: ``name``, ``code``, ``communities``,
        ``centres``, ``stations``, ``stations_required``, ``centre_rule``, ``station_rule``,
        ``population``, ``radius_share``, ``radius_euclidean_share``, ``walk_share``,
        ``radius_rule``, ``walk_rule``, ``passes`` (all rules).
    """
    n_comm = communities.groupby("subdistrict").size()
    kinds = facilities.groupby(["subdistrict", "kind"]).size().unstack(fill_value=0) if len(facilities) else \
        pd.DataFrame()
    rows = []
    for name, code in zip(subdistricts["name"], subdistricts["code"]):
        c = int(n_comm.get(name, 0))
        centres = int(kinds.loc[name, "centre"]) if name in kinds.index and "centre" in kinds.columns else 0
        stations = int(kinds.loc[name, "station"]) if name in kinds.index and "station" in kinds.columns else 0
        req = stations_required(c)
        cov = by_subdistrict.loc[name] if name in by_subdistrict.index else None
        pop = float(cov["population"]) if cov is not None else 0.0

        def share(col: str) -> float | None:
            if cov is None or pd.isna(cov[col]):
                return None
            return float(cov[col])

        r, re_, w = share("radius_share"), share("radius_euclidean_share"), share("walk_share")
        # a subdistrict without residents has nothing to cover: the coverage rules hold trivially
        radius_rule = True if r is None else bool(r >= target_share - 1e-9)
        walk_rule = True if w is None else bool(w >= target_share - 1e-9)
        row = {
            "name": name, "code": code, "communities": c, "centres": centres, "stations": stations,
            "stations_required": req, "centre_rule": centres >= 1, "station_rule": stations >= req,
            "population": pop, "radius_share": r, "radius_euclidean_share": re_, "walk_share": w,
            "radius_rule": radius_rule, "walk_rule": walk_rule,
        }
        row["passes"] = bool(row["centre_rule"] and row["station_rule"] and radius_rule and walk_rule)
        rows.append(row)
    return pd.DataFrame(rows)
