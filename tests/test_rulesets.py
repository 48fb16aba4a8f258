"""Policy rule sets (issue 20): known answers on the toy city, the default set against today's rules."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from toycity import FACILITIES, make_toy

from coverage.pipeline import run_plan
from coverage.rules import RULE_KEYS, rule_names
from coverage.rulesets import DEFAULT_RULE_SET, load_rule_set, preset_names
from coverage.rulesets.schema import parse_rule_set
from coverage.study import load_study_area

README = Path(__file__).resolve().parents[1] / "README.md"
# parks every 400 m along y = 200 and y = 800: every grid node is within 400 m (Manhattan) of one
PARKS = [{"x": x, "y": y, "name": f"公园{x}-{y}", "kind": "公园"} for x in range(0, 2001, 400) for y in (200, 800)]


def _plan(folder: Path, sets: list) -> object:
    return run_plan(load_study_area(folder), isochrone_minutes=(15,), rule_sets=sets)


def _rows(result, set_id: str):
    return result.rule_checks[result.rule_checks["set"] == set_id]


def test_presets_ship_and_cite_a_document():
    assert set(preset_names()) >= {"wuhai-2022-health", "wuhai-2022-childcare", "beijing-2021-health", "national-chs"}
    for name in preset_names():
        rs = load_rule_set(name)
        assert rs.document and rs.id == name
    assert "not found" in load_rule_set("wuhai-2022-health").document  # said honestly, not invented


@pytest.mark.parametrize("radius, minutes", [(500, 15), (300, 5)])
def test_default_names_are_todays(radius, minutes):
    rs = load_rule_set(DEFAULT_RULE_SET)
    assert {r.id: r.names(radius, minutes, 1.0) for r in rs.rules} == rule_names(radius, minutes)


def test_default_set_reproduces_todays_verdicts(tmp_path):
    res = _plan(make_toy(tmp_path / "toy"), None)
    rows = _rows(res, DEFAULT_RULE_SET)
    legacy = res.rules.set_index("name")
    for key in RULE_KEYS:
        got = rows[rows["rule"] == key].set_index("unit")["passes"]
        assert got.to_dict() == legacy[key].astype(bool).to_dict(), key
    st = rows[rows["rule"] == "station_rule"].set_index("unit")
    assert st["required"].to_dict() == legacy["stations_required"].astype(float).to_dict()


def test_beijing_fails_only_on_its_emergency_station_rule(tmp_path):
    fac = FACILITIES + PARKS + [
        {"x": 1800, "y": 400, "name": "乙街道社区卫生服务中心", "kind": "社区卫生服务中心"},
        {"x": 400, "y": 400, "name": "甲街道急救工作站", "kind": "急救工作站"}]
    res = _plan(make_toy(tmp_path / "toy", facilities=fac), ["beijing-2021-health"])
    rows = _rows(res, "beijing-2021-health")
    failing = rows[~rows["passes"]]
    assert failing[["rule", "unit"]].values.tolist() == [["emergency_station", "乙街道"]]
    park = rows[rows["rule"] == "park_500m"]
    assert park["value"].tolist() == pytest.approx([1.0, 1.0]) and park["required"].tolist() == [0.9, 0.9]


def test_childcare_places_per_1000_pass_in_one_subdistrict_fail_in_another(tmp_path):
    # 甲 2,000 residents and 10 places = 5 / 1,000; 乙 3,500 residents and 7 places = 2 / 1,000
    fac = FACILITIES + [{"x": 200, "y": 400, "name": "甲托育园", "kind": "托育机构", "capacity": 10},
                        {"x": 1400, "y": 400, "name": "乙托儿所", "kind": "托儿所", "capacity": 7}]
    res = _plan(make_toy(tmp_path / "toy", facilities=fac), ["wuhai-2022-childcare"])
    rows = _rows(res, "wuhai-2022-childcare")
    city = rows[rows["rule"] == "childcare_city_2024"].set_index("unit")
    assert city["value"].to_dict() == pytest.approx({"甲街道": 5.0, "乙街道": 2.0})
    assert city["passes"].to_dict() == {"甲街道": True, "乙街道": False}
    # the default set is checked only when named: here only the childcare set is active
    assert set(res.rule_checks["set"]) == {"wuhai-2022-childcare"}


def test_pilot_units_rule_applies_only_to_the_named_communities(tmp_path):
    f = tmp_path / "pilot.toml"
    f.write_text('id = "pilot"\n[[rules]]\nid = "childcare_pilots"\ntype = "every_unit_served"\n'
                 'kinds = ["childcare"]\nunit = "community"\nunits = ["甲一社区", "乙二社区"]\n', encoding="utf-8")
    fac = FACILITIES + [{"x": 200, "y": 400, "name": "甲托育园", "kind": "托育机构"}]
    res = _plan(make_toy(tmp_path / "toy", facilities=fac), [DEFAULT_RULE_SET, f])
    rows = _rows(res, "pilot").set_index("unit")
    assert rows["passes"].to_dict() == {"甲一社区": True, "乙二社区": False}
    summary = res.summary()
    assert {r["set"] for r in summary["rules"]} == {DEFAULT_RULE_SET, "pilot"}
    assert [s["id"] for s in summary["rule_sets"]] == [DEFAULT_RULE_SET, "pilot"]


def test_national_centres_by_population(tmp_path):
    # 乙街道 3,500 residents: ceil(3500 / 100000) = 1 centre required, and it has none
    res = _plan(make_toy(tmp_path / "toy"), ["national-chs"])
    pop = _rows(res, "national-chs").query("rule == 'centre_per_population'").set_index("unit")
    assert pop["required"].to_dict() == {"甲街道": 1.0, "乙街道": 1.0}
    assert pop["passes"].to_dict() == {"甲街道": True, "乙街道": False}


def test_a_threshold_written_into_a_name_is_refused():
    from coverage.errors import RuleSetError
    text = ('[[rules]]\nid = "r"\ntype = "share_within_distance"\nkinds = ["park"]\nradius_m = 500\n'
            'name_zh = "公园500米覆盖"\n')
    with pytest.raises(RuleSetError, match="name_zh"):
        parse_rule_set(text, "x.toml")


def test_readme_example_rule_sets_run(tmp_path):
    from toycity import COMMUNITIES

    section = README.read_text(encoding="utf-8").split("自定义规则集")[1].split("\n## ")[0]
    blocks = re.findall(r"```toml\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 2
    sets = []
    for i, text in enumerate(blocks):
        f = tmp_path / f"mine{i}.toml"
        f.write_text(text, encoding="utf-8")
        sets.append(load_rule_set(f))
    fac = FACILITIES + [{"x": 200, "y": 400, "name": "甲托育园", "kind": "托育机构", "capacity": 10}]
    comms = [{**c, "population_65plus": c["population"] // 4} for c in COMMUNITIES]
    res = _plan(make_toy(tmp_path / "toy", facilities=fac, communities=comms), sets)
    for rs in sets:
        rows = _rows(res, rs.id)
        assert len(rows) and set(rows["rule"]) == {r.id for r in rs.rules}
    assert _rows(res, "elderly-walk-mine")["value"].between(0, 1).all()


def test_compliance_and_report_get_one_column_per_rule(tmp_path):
    from coverage.outputs.report import _rules_section
    from coverage.outputs.tables import compliance_table

    fac = FACILITIES + [{"x": 400, "y": 400, "name": "甲街道急救工作站", "kind": "急救工作站"}]
    res = _plan(make_toy(tmp_path / "toy", facilities=fac), [DEFAULT_RULE_SET, "beijing-2021-health"])
    t = compliance_table(res, bilingual_headers=False).set_index("name")
    assert t["beijing-2021-health:emergency_station"].to_dict() == {"甲街道": True, "乙街道": False}
    assert t["beijing-2021-health:centre_per_subdistrict"].tolist() == t["centre_rule"].tolist()
    html = "".join(_rules_section(res.summary()))
    assert "每个街道至少1个标准化急救工作站" in html and "京政发〔2021〕38号" in html


def test_siting_rules_honour_the_station_counts_of_every_active_set(tmp_path):
    from coverage.siting.propose import propose_sites

    f = tmp_path / "three.toml"
    f.write_text('id = "three"\n[[rules]]\nid = "three_stations"\ntype = "count_per_unit"\nkinds = ["station"]\n'
                 'min = 3\n', encoding="utf-8")
    folder = make_toy(tmp_path / "toy")
    # nothing to cover (target 0): only the rules ask for sites. Default set alone: 甲街道 has its one
    # station for two communities, so --rules adds none there
    base = propose_sites(_plan(folder, None), sites="auto", rules=True, target_share=0.0).proposals
    assert ((base["subdistrict"] == "甲街道") & (base["kind"] == "station")).sum() == 0
    # with a set asking 3 stations per subdistrict, each (1 station now) gets at least 2 new ones
    p = propose_sites(_plan(folder, [DEFAULT_RULE_SET, f]), sites="auto", rules=True, target_share=0.0).proposals
    st = p[p["kind"] == "station"].groupby("subdistrict").size()
    assert st.get("甲街道", 0) >= 2 and st.get("乙街道", 0) >= 2


def test_a_kind_absent_from_the_data_is_listed(tmp_path):
    res = _plan(make_toy(tmp_path / "toy"), ["beijing-2021-health"])
    hits = [s for s in res.skipped if s.reason == "rule_kind_absent"]
    assert len(hits) == 1 and hits[0].items == ["beijing-2021-health:emergency_station (emergency_station)",
                                                "beijing-2021-health:park_500m (park)"]
    assert not _rows(res, "beijing-2021-health").query("rule == 'emergency_station'")["passes"].any()


def _assert_rows_are_todays(result) -> None:
    """summary.json → rules: the default set's rows carry check_rules' verdicts and fields, subdistrict by subdistrict."""
    from coverage.rules import check_rules

    study, p = result.study, result.params
    legacy = check_rules(study.subdistricts, study.communities, study.facilities, result.coverage.by("subdistrict"),
                         p.target_share).set_index("name")
    rows = [r for r in result.summary()["rules"] if r["set"] == DEFAULT_RULE_SET]
    assert len(rows) == len(RULE_KEYS) * len(legacy)
    for r in rows:
        assert {"set", "rule", "unit", "value", "required", "passes", "name_zh", "name_en", "source"} <= set(r)
        want = legacy.loc[r["unit"]]
        assert r["passes"] == bool(want[r["rule"]]), (r["rule"], r["unit"])
        assert r[r["rule"]] == bool(want[r["rule"]]) and r["all_rules_pass"] == bool(want["passes"])
        for k in ("communities", "centres", "stations", "stations_required"):
            assert r[k] == int(want[k]), k
        assert r["walk_share"] == pytest.approx(want["walk_share"], abs=1e-6)
    counts = {r["unit"]: r["value"] for r in rows if r["rule"] == "centre_rule"}
    assert counts == {n: float(v) for n, v in legacy["centres"].items()}


def test_summary_rules_are_rows_and_the_default_set_keeps_todays_fields(tmp_path):
    fac = FACILITIES + [{"x": 400, "y": 400, "name": "甲街道急救工作站", "kind": "急救工作站"}]
    res = _plan(make_toy(tmp_path / "toy", facilities=fac), [DEFAULT_RULE_SET, "beijing-2021-health"])
    _assert_rows_are_todays(res)
    rows = res.summary()["rules"]
    bj = [r for r in rows if r["set"] == "beijing-2021-health"]
    assert bj and all("centres" not in r and "京政发〔2021〕38号" in r["source"] for r in bj)
    assert "rule_checks" not in res.summary()  # one place for the rows


def test_the_default_set_reproduces_todays_verdicts_on_the_demo():
    from coverage.demo import default_data_dir

    folder = default_data_dir()
    if not (folder / "streets.osm").exists():
        pytest.skip("demo data missing")
    res = _plan(folder, None)
    _assert_rows_are_todays(res)
    assert not res.rules["passes"].all() and res.rules["centre_rule"].any()  # the demo has both verdicts


def test_siting_rules_place_the_centres_a_population_rule_asks_for(tmp_path):
    from toycity import COMMUNITIES

    from coverage.siting.propose import propose_sites

    # 乙街道 153,500 residents: national-chs asks ceil(153500 / 100000) = 2 centres, and it has none;
    # 甲街道 2,000 residents and its one centre: nothing to add
    comms = [{**c, "population": 150_000} if c["name"] == "乙一社区" else c for c in COMMUNITIES]
    folder = make_toy(tmp_path / "toy", communities=comms)
    res = _plan(folder, [DEFAULT_RULE_SET, "national-chs"])
    need = _rows(res, "national-chs").query("rule == 'centre_per_population'").set_index("unit")
    assert need["required"].to_dict() == {"甲街道": 1.0, "乙街道": 2.0}
    p = propose_sites(res, sites="auto", rules=True, target_share=0.0).proposals
    centres = p[p["kind"] == "centre"]
    assert centres["subdistrict"].tolist() == ["乙街道", "乙街道"]
    assert centres.geometry.distance(centres.geometry.iloc[0]).iloc[1] > 0  # two distinct sites
    assert all("centre_rule" in s for s in centres["serves"])
    # the default set alone asks one centre where there is none
    base = propose_sites(_plan(folder, None), sites="auto", rules=True, target_share=0.0).proposals
    assert base.loc[base["kind"] == "centre", "subdistrict"].tolist() == ["乙街道"]
    # the first centre is the default set's own (exact 1-median), the second comes on top
    assert centres.geometry.iloc[0].equals(base.loc[base["kind"] == "centre"].geometry.iloc[0]) or \
        centres.geometry.iloc[1].equals(base.loc[base["kind"] == "centre"].geometry.iloc[0])


ELDERLY_RULE = ('id = "old"\n[[rules]]\nid = "old_walk"\ntype = "share_within_distance"\nkinds = ["counted"]\n'
                'distance = "walk"\ngroup = "65plus"\nprofile = "elderly"\nshare = 0.8\n'
                'name_zh = "{group}按{profile}{walk}可达不低于{share}"\n'
                'name_en = "at least {share} of {group} within a {walk} at {profile}"\n')


def _local_xy(gdf):
    from toycity import ORIGIN, UTM
    g = gdf.geometry.to_crs(UTM)
    return g.x.to_numpy() - ORIGIN[0], g.y.to_numpy() - ORIGIN[1]


def test_a_group_rule_checks_the_65plus_at_elderly_speed(tmp_path, monkeypatch):
    from toycity import COMMUNITIES

    import coverage.pipeline as pl
    from coverage.access import measure_coverage as real_measure

    # 65+: half of 甲一社区, all of 乙一社区, none elsewhere; elderly walk 15 min at 3 km/h = 750 m, adults 1000 m
    older = {"甲一社区": 500, "甲二社区": 0, "乙一社区": 3000, "乙二社区": 0}
    comms = [{**c, "population_65plus": older[c["name"]]} for c in COMMUNITIES]
    f = tmp_path / "old.toml"
    f.write_text(ELDERLY_RULE, encoding="utf-8")
    calls = []
    monkeypatch.setattr(pl, "measure_coverage", lambda *a, **k: calls.append(1) or real_measure(*a, **k))
    folder = make_toy(tmp_path / "toy", communities=comms)
    _plan(folder, None)
    n_plain = len(calls)
    res = _plan(folder, [DEFAULT_RULE_SET, f])
    assert len(calls) == 2 * n_plain  # the rule reused the 65+ walk of the groups pass
    rows = _rows(res, "old").set_index("unit")
    # known answer: on the grid the walk is the Manhattan distance to the nearest counted facility
    d = res.coverage.demand
    x, y = _local_xy(d)
    fac = [(0, 0), (1000, 1000), (1400, 600)]
    near = np.min([np.abs(x - fx) + np.abs(y - fy) for fx, fy in fac], axis=0)
    for sub, comm in (("甲街道", "甲一社区"), ("乙街道", "乙一社区")):
        m = (d["community"] == comm).to_numpy()
        want = float((d["population"][m] * (near[m] <= 750 + 1e-6)).sum() / d["population"][m].sum())
        assert rows.loc[sub, "value"] == pytest.approx(want), sub
        assert rows.loc[sub, "passes"] == (want >= 0.8)
    assert 0 < rows.loc["甲街道", "value"] < 1  # the 750 m walk splits 甲一社区: the profile mattered
    # the same walk as the 65+ row of summary.json → groups (reused, not measured again)
    g = next(g for g in res.groups if g["group"] == "65+")
    pop65 = {"甲街道": 500, "乙街道": 3000}
    assert sum(rows.loc[s, "value"] * p for s, p in pop65.items()) / 3500 == pytest.approx(g["profile_walk_share"])
    name = res.summary()["rules"][-1]
    assert name["name_en"] == "at least 80% of residents aged 65+ within a 15-minute walk at elderly speed (3 km/h)"


def test_a_group_rule_without_age_data_is_refused(tmp_path):
    from coverage.errors import RuleSetError

    f = tmp_path / "old.toml"
    f.write_text(ELDERLY_RULE, encoding="utf-8")
    with pytest.raises(RuleSetError, match=r"old\.toml.*old_walk.*group.*population_65plus"):
        _plan(make_toy(tmp_path / "toy"), [f])


def test_requires_python_matches_tomllib():
    import tomllib

    root = Path(__file__).resolve().parents[1]
    spec = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    assert spec == ">=3.11"  # the rule sets are read with tomllib (3.11+), without a tomli fallback
    assert "3.11" in README.read_text(encoding="utf-8").split("## Quick start")[1][:400]


def test_a_profile_rule_walks_at_that_profiles_speed(tmp_path):
    # no group, no age data: all residents, 10 minutes at the elderly 3 km/h = 500 m (a measure of its own)
    f = tmp_path / "slow.toml"
    f.write_text('id = "slow"\n[[rules]]\nid = "slow_walk"\ntype = "share_within_distance"\nkinds = ["counted"]\n'
                 'minutes = 10\nprofile = "elderly"\n', encoding="utf-8")
    res = _plan(make_toy(tmp_path / "toy"), [f])
    rows = _rows(res, "slow").set_index("unit")
    d = res.coverage.demand
    x, y = _local_xy(d)
    near = np.min([np.abs(x - fx) + np.abs(y - fy) for fx, fy in [(0, 0), (1000, 1000), (1400, 600)]], axis=0)
    pop = d["population"].to_numpy(float)
    for sub in ("甲街道", "乙街道"):
        m = (d["subdistrict"] == sub).to_numpy()
        assert rows.loc[sub, "value"] == pytest.approx(float((pop[m] * (near[m] <= 500 + 1e-6)).sum() / pop[m].sum()))
