"""``community_table``: per-community figures from the demand points, on a table whose answer is known."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from coverage.pipeline import community_table


def _case():
    # 甲 exists in two subdistricts; 丙 has no subdistrict; 丁 has no demand; one point is in no community
    communities = pd.DataFrame({"name": ["甲", "甲", "乙", "丙", "丁"], "code": ["1", "2", "3", "4", "5"],
                                "subdistrict": ["A", "B", "A", None, "B"],
                                "population": [100.0, np.nan, 50.0, 10.0, 0.0]})
    demand = pd.DataFrame({
        "community": ["甲", "甲", "甲", "乙", "乙", "丙", None],
        "subdistrict": ["A", "A", "B", "A", "A", None, "A"],
        "population": [30.0, 10.0, 5.0, 20.0, 20.0, 4.0, 99.0],
        "dist_network": [100.0, 300.0, np.inf, 200.0, 400.0, 50.0, 10.0],
        "covered_radius": [True, True, False, True, False, True, True],
        "covered_radius_euclidean": [True, True, True, True, True, True, True],
        "covered_walk": [True, False, False, False, False, True, True],
    })
    return SimpleNamespace(communities=communities), SimpleNamespace(demand=demand)


def test_each_community_gets_its_own_points_by_name_and_subdistrict():
    study, cov = _case()
    t = community_table(study, cov).set_index("code")
    assert list(t.index) == ["1", "2", "3", "4", "5"]  # every community, in layer order
    assert t["population"].tolist() == [40.0, 5.0, 40.0, 4.0, 0.0]
    assert t.loc["1", "radius_share"] == pytest.approx(1.0)
    assert t.loc["1", "walk_share"] == pytest.approx(30 / 40)
    assert t.loc["1", "mean_distance_m"] == pytest.approx((30 * 100 + 10 * 300) / 40)
    assert t.loc["2", "radius_share"] == 0.0 and t.loc["2", "radius_euclidean_share"] == 1.0
    assert pd.isna(t.loc["2", "mean_distance_m"])  # its only point is unreachable
    assert t.loc["3", "radius_share"] == pytest.approx(0.5)
    assert t.loc["3", "mean_distance_m"] == pytest.approx(300.0)
    assert t.loc["4", "walk_share"] == pytest.approx(1.0)  # missing subdistrict matches missing
    assert pd.isna(t.loc["5", "radius_share"]) and pd.isna(t.loc["5", "mean_distance_m"])
    assert pd.isna(t.loc["2", "population_declared"]) and t.loc["1", "population_declared"] == 100.0
    # the point in no community is in none of the rows
    assert t["population"].sum() == cov.demand["population"].sum() - 99.0
