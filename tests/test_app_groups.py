"""The app's group selector and age-table upload (issue 21), with streamlit.testing.v1.AppTest on the toy city.

The 65+ figures the app shows must be those of the library's plan (``PlanResult.groups``), whatever the
language; a data set without ages shows what to add; a bad age table is named and not used.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import toycity

from coverage.pipeline import run_plan
from coverage.read.agetable import read_age_table
from coverage.study import load_study_area
from coverage.webapp.groups import age_upload, group_result, gtr

APP = Path(__file__).resolve().parents[1] / "app.py"
LIGHT_LAYERS = ["subdistricts", "communities", "facilities"]
#: 65+ head counts per toy community (乙二社区: none, so its residents are of unknown age).
OLDER = {"甲一社区": 150, "甲二社区": 200, "乙一社区": 600}


def _toy(folder: Path, ages: bool) -> Path:
    comms = [{**c, "population_65plus": OLDER.get(c["name"])} for c in toycity.COMMUNITIES] if ages else \
        toycity.COMMUNITIES
    return toycity.make_toy(folder, communities=comms)


def _app(monkeypatch, folder: Path):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("COVERAGE_APP_DATA", str(folder))
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.session_state["p_layers"] = LIGHT_LAYERS
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _group_radio(at):
    found = [w for w in at.radio if w.key and w.key.split("@")[0] == "group"]
    assert len(found) == 1, [w.key for w in at.radio]
    return found[0]


def _plain(markdown: str) -> str:
    """Text without the app's markdown escapes (md_escape)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _expected(groups: list[dict], lang: str) -> dict[str, str]:
    """The headline the app must show for the 65+, formatted from the library's rows."""
    g = next(r for r in groups if r["group"] == "65+")
    plan = next(r for r in groups if r["group"] == "all")
    return {gtr("g_m_population", lang): f"{g['population']:,.0f}",
            gtr("g_m_radius", lang, r=500): f"{g['radius_share']:.1%}",
            gtr("g_m_walk", lang, m=15, v=plan["speed_kmh"]): f"{g['walk_share']:.1%}",
            gtr("g_m_elderly", lang, m=15, v=g["speed_kmh"]): f"{g['profile_walk_share']:.1%}",
            gtr("g_m_uncovered", lang): f"{g['population'] - g['profile_walk_population']:,.0f}"}


def test_selecting_65plus_shows_the_library_figures_in_both_languages(monkeypatch, tmp_path):
    folder = _toy(tmp_path / "aged", ages=True)
    groups = run_plan(load_study_area(folder)).groups
    at = _app(monkeypatch, folder)
    all_figures = _metrics(at)
    assert "人口" in all_figures and len(all_figures) == 6
    _group_radio(at).set_value("65+").run()
    assert not at.exception, [e.value for e in at.exception]
    assert _metrics(at) == _expected(groups, "zh")
    comm = next(d.value for d in at.dataframe if "社区" in d.value.columns and "平均步行距离(米)" in d.value.columns)
    shown = dict(zip(comm["社区"], comm["人口"]))
    assert {k: shown[k] for k in OLDER} == {k: f"{v:,.0f}" for k, v in OLDER.items()}  # 65+ head counts
    assert shown["乙二社区"] == "0"                                       # no age data: nothing invented
    n = at.session_state["computations"]
    at.sidebar.radio(key="lang").set_value("en").run()                  # a display setting: no recomputation
    assert at.session_state["group"] == "65+" and _group_radio(at).value == "65+"
    assert _metrics(at) == _expected(groups, "en")
    assert at.session_state["computations"] == n
    _group_radio(at).set_value("all").run()
    assert "Population" in _metrics(at) and len(_metrics(at)) == 6


def test_without_age_data_65plus_says_what_to_add(monkeypatch, tmp_path):
    at = _app(monkeypatch, _toy(tmp_path / "plain", ages=False))
    _group_radio(at).set_value("65+").run()
    notes = _plain(" ".join(i.value for i in at.info))
    assert "population_65plus" in notes and "65岁及以上人口" in notes and gtr("g_all_shown", "zh") in notes
    assert len(_metrics(at)) == 6                                        # all residents' figures, not invented ones


def test_uploaded_age_table_gives_the_library_figures(monkeypatch, tmp_path):
    folder = _toy(tmp_path / "plain", ages=False)
    table = pd.DataFrame({"社区名称": list(OLDER), "65岁及以上人口": list(OLDER.values())})
    table.to_excel(tmp_path / "老年人口.xlsx", index=False)
    data = (tmp_path / "老年人口.xlsx").read_bytes()
    groups = run_plan(load_study_area(folder), age_table=read_age_table(tmp_path / "老年人口.xlsx")).groups
    at = _app(monkeypatch, folder)
    at.sidebar.file_uploader(key="up_age").set_value(("老年人口.xlsx", data, "application/vnd.ms-excel"))
    _group_radio(at).set_value("65+").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _metrics(at) == _expected(groups, "zh")
    assert any("老年人口.xlsx（3 行）" in _plain(c.value) for c in at.sidebar.caption)


def test_bad_age_upload_is_named_and_not_used(monkeypatch, tmp_path):
    at = _app(monkeypatch, _toy(tmp_path / "plain", ages=False))
    bad = "name,share_65plus\n甲一社区,0.2\n甲二社区,18.5\n".encode()
    at.sidebar.file_uploader(key="up_age").set_value(("ages.csv", bad, "text/csv")).run()
    assert not at.exception
    errors = _plain(" ".join(e.value for e in at.sidebar.error))
    assert "ages.csv, row 3" in errors and "share_65plus" in errors and "0.185" in errors
    assert "coverage_age_" not in errors                                  # the upload's name, not a temp path
    assert at.session_state["age_table"] is None


def test_group_result_and_upload_helpers(tmp_path):
    folder = _toy(tmp_path / "aged", ages=True)
    study = load_study_area(folder)
    result = run_plan(study)
    assert group_result(result, "all") is result
    old = group_result(result, "65+").communities.set_index("name")
    assert old.loc["甲一社区", "population"] == pytest.approx(150)
    assert old.loc["甲一社区", "walk_share"] == pytest.approx(
        next(c for g in result.groups if g["group"] == "65+" for c in g["communities"]
             if c["name"] == "甲一社区")["profile_walk_share"])
    digest, table = age_upload("a.csv", "name,population_65plus\n甲一社区,150\n".encode(), study.communities)
    assert len(digest) == 16 and table.attrs["path"] == "a.csv" and list(table["population_65plus"]) == [150]
