"""Coverage by age group (issue 21): known answers on the toy city, brute-force counts, no invented ages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
import toycity

from coverage.errors import ValueInputError
from coverage.groups import AGE_COUNT_COLUMNS, age_data
from coverage.outputs.report import _groups_section
from coverage.pipeline import run_plan
from coverage.study import load_study_area

#: 65+ head counts per toy community (乙二社区 has none: its residents are of unknown age).
OLDER = {"甲一社区": 150, "甲二社区": 200, "乙一社区": 600, "乙二社区": None}
COUNTED = [(f["x"], f["y"]) for f in toycity.FACILITIES if f["kind"] != "医院"]


def _study(tmp_path, column: str = "population_65plus", as_share: bool = False):
    comms = []
    for c in toycity.COMMUNITIES:
        n = OLDER[c["name"]]
        value = None if n is None else (n / c["population"] if as_share else n)
        comms.append({**c, column: value})
    return load_study_area(toycity.make_toy(tmp_path / column, communities=comms))


def _brute(result) -> dict:
    """Manhattan distances on the complete 200 m grid (every facility on a node) and the community shares."""
    pts = result.demand.points
    xy = shapely.get_coordinates(pts.geometry.values) - np.array(toycity.ORIGIN)
    d = np.min([np.abs(xy[:, 0] - fx) + np.abs(xy[:, 1] - fy) for fx, fy in COUNTED], axis=0)
    pop = {c["name"]: c["population"] for c in toycity.COMMUNITIES}
    share = pts["community"].map(lambda n: np.nan if OLDER[n] is None else OLDER[n] / pop[n]).to_numpy(float)
    older = pts["population"].to_numpy() * share
    known = np.isfinite(older)
    return {"d": d, "older": older, "known": known,
            "older_walk_750": float(older[known & (d <= 750)].sum()),
            "older_radius_500": float(older[known & (d <= 500)].sum())}


def _rows(summary: dict) -> dict:
    return {g["group"]: g for g in summary["groups"]}


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    study = _study(tmp_path_factory.mktemp("groups"))
    result = run_plan(study)
    return result, result.summary()


def test_group_shares_sum_to_the_total(plan):
    _, summary = plan
    g = _rows(summary)
    assert list(g) == ["all", "65+", "under 65", "age unknown"]
    parts = [g["65+"], g["under 65"], g["age unknown"]]
    for key in ("population", "radius_population", "walk_population"):
        assert sum(p[key] for p in parts) == pytest.approx(g["all"][key], abs=1e-5)  # figures carry 6 decimals
    assert g["all"]["population"] == pytest.approx(summary["population"])
    assert g["all"]["walk_population"] == pytest.approx(summary["coverage"]["walk"]["population"])
    assert g["all"]["radius_population"] == pytest.approx(summary["coverage"]["radius"]["population"])
    # the model keeps each community's declared total, so the 65+ head counts come back exactly
    assert g["65+"]["population"] == pytest.approx(150 + 200 + 600)
    assert g["age unknown"]["population"] == pytest.approx(500)
    weighted = sum(p["population"] * p["walk_share"] for p in parts)
    assert weighted == pytest.approx(g["all"]["population"] * g["all"]["walk_share"], rel=1e-5)


def test_older_residents_at_elderly_speed_match_a_brute_force_count(plan):
    result, summary = plan
    b = _brute(result)
    g = _rows(summary)["65+"]
    assert g["profile"] == "elderly" and g["speed_kmh"] == 3.0
    assert g["profile_walk_population"] == pytest.approx(b["older_walk_750"], abs=1e-6)  # 15 min at 3 km/h = 750 m
    assert g["radius_population"] == pytest.approx(b["older_radius_500"], abs=1e-6)
    assert 0 < g["profile_walk_population"] < g["walk_population"]  # slower walkers reach less than at 4 km/h
    assert "15 minutes at elderly speed" in g["headline_en"] and g["assumption_en"]


def test_a_plan_at_the_elderly_profile_reuses_its_own_walk(tmp_path, plan):
    from coverage.params import CoverageParams

    result = run_plan(_study(tmp_path), CoverageParams(speed_kmh=3.0), profile="elderly")
    g = _rows(result.summary())
    assert g["65+"]["profile_walk_population"] == pytest.approx(_brute(result)["older_walk_750"], abs=1e-6)
    assert g["65+"]["profile_walk_population"] == pytest.approx(g["65+"]["walk_population"])
    assert g["65+"]["profile_walk_population"] == pytest.approx(_rows(plan[1])["65+"]["profile_walk_population"])


def test_shares_chinese_columns_and_a_table_give_the_same_groups(tmp_path, plan):
    want = _rows(plan[1])
    for study in (_study(tmp_path, "share_65plus", as_share=True), _study(tmp_path, "65岁及以上人口")):
        got = _rows(run_plan(study).summary())
        for key in ("population", "radius_population", "walk_population", "profile_walk_population"):
            assert got["65+"][key] == pytest.approx(want["65+"][key], abs=1e-6)
    table = pd.DataFrame({"name": ["甲一社区居委会", "甲二社区", "乙一 社区", "无此社区"],
                          "65岁及以上人口": [150, 200, 600, 9]})
    bare = load_study_area(toycity.make_toy(tmp_path / "bare"))
    got = _rows(run_plan(bare, age_table=table).summary())
    assert got["65+"]["population"] == pytest.approx(want["65+"]["population"])
    assert got["65+"]["profile_walk_population"] == pytest.approx(want["65+"]["profile_walk_population"], abs=1e-6)
    assert got["65+"]["unmatched_table_rows"] == ["无此社区"]


def test_without_age_data_nothing_is_invented(tmp_path):
    summary = run_plan(load_study_area(toycity.make_toy(tmp_path / "plain"))).summary()
    g = _rows(summary)
    assert list(g) == ["all", "65+"]
    assert g["65+"]["available"] is False and g["65+"]["population"] is None
    assert AGE_COUNT_COLUMNS[0] in g["65+"]["note_en"] and "65岁及以上人口" in g["65+"]["note_zh"]
    html = "".join(_groups_section(summary))
    assert AGE_COUNT_COLUMNS[0] in html and "Coverage by age group" in html


def test_report_section_states_the_headline_and_the_assumption(plan):
    html = "".join(_groups_section(plan[1]))
    g = _rows(plan[1])["65+"]
    assert g["headline_zh"] in html and g["assumption_en"].replace("'", "&#x27;") in html


def test_bad_age_values_are_refused_with_the_row():
    comms = pd.DataFrame({"name": ["a", "b"], "subdistrict": ["s", "s"], "code": [None, None],
                          "population": [100.0, 200.0]})
    with pytest.raises(ValueInputError, match="0.185"):
        age_data(comms.assign(share_65plus=[0.2, 18.5]))
    with pytest.raises(ValueInputError, match="exceeds its population"):
        age_data(comms.assign(population_65plus=[20, 250]))
    with pytest.raises(ValueInputError, match="not valid"):
        age_data(comms.assign(population_65plus=[20, "many"]))
    assert age_data(comms) is None
    a = age_data(comms.assign(population_65plus=["20人", None]))
    np.testing.assert_allclose(a.shares["share_65plus"].to_numpy(), [0.2, np.nan])
