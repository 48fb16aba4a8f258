"""The app's rule-set threshold inputs (issue 20): editing a threshold changes the verdict, as in the library."""

from __future__ import annotations

from pathlib import Path

from coverage.params import CoverageParams
from coverage.pipeline import run_plan
from coverage.rulesets import DEFAULT_RULE_SET, load_rule_set, with_thresholds
from coverage.study import load_study_area
from coverage.webapp.ruleedit import edited_rule_sets, threshold_fields, threshold_key

APP = Path(__file__).resolve().parents[1] / "app.py"
KEY = threshold_key(DEFAULT_RULE_SET, "centre_rule", "min")


def _app(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("COVERAGE_APP_DATA", raising=False)
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.session_state["p_layers"] = ["subdistricts", "facilities"]  # a light map
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _centre_row(at) -> tuple[int, int]:
    table = next(d.value for d in at.dataframe if "出处" in d.value.columns)
    row = table[table["规则"].str.contains("社区卫生服务中心")].iloc[0]
    return int(row["达标"]), int(row["未达标"])


def test_fields_are_keyed_by_rule_not_language():
    zh = {f.key: f for _, fs in threshold_fields([DEFAULT_RULE_SET, "national-chs"], "zh") for f in fs}
    en = {f.key: f for _, fs in threshold_fields([DEFAULT_RULE_SET, "national-chs"], "en") for f in fs}
    assert zh.keys() == en.keys() and KEY in zh
    assert zh[KEY].label != en[KEY].label and "原值 1" in zh[KEY].help
    assert "rt@national-chs@centre_per_population@per_population@1" in zh
    sets = edited_rule_sets([DEFAULT_RULE_SET], {KEY: 2.0})
    assert sets[0].rules[0].params["min"] == 2 and sets[0].describe()["edited"] == ["centre_rule.min: 1 → 2"]


def test_editing_a_threshold_changes_the_verdict(monkeypatch):
    at = _app(monkeypatch)
    box = at.number_input(key=KEY)
    assert box.value == 1
    before = _centre_row(at)
    box.set_value(2.0).run()
    assert not at.exception, [e.value for e in at.exception]
    after = _centre_row(at)
    # the library on the same data with the same edit: the app shows exactly its counts
    edited = with_thresholds(load_rule_set(DEFAULT_RULE_SET), {("centre_rule", "min"): 2.0})
    res = run_plan(load_study_area(), CoverageParams(), rule_sets=[edited])
    centres = res.rules["centres"]
    assert after == (int((centres >= 2).sum()), int((centres < 2).sum()))
    assert after != before and before == (int((centres >= 1).sum()), int((centres < 1).sum()))
    assert not res.rules["centre_rule"].equals(centres >= 1)  # the per-subdistrict columns follow the edit too
    assert any("centre_rule.min: 1 → 2" in c.value.replace("\\", "") for c in at.caption)
    # a language switch keeps the planner's value (the key does not depend on the label)
    at.sidebar.radio[0].set_value("en").run()
    assert at.number_input(key=KEY).value == 2.0
